"""After the card, two optional questions: favourite categories and the birthday.

The card never waits for the survey, every question can be skipped, and a command ends the
survey quietly. Answers are kept with their time and channel; the birthday fills the profile.
"""

from __future__ import annotations

import itertools
import random
from datetime import date

from crm_core.cards.numbers import format_card_number
from crm_core.catalogue.models import Category
from crm_core.catalogue.service import ensure_categories
from crm_core.clock import utcnow
from crm_core.customers.models import ChannelIdentity, Customer
from crm_core.profiles.models import Preference
from crm_core.profiles.preferences import current_answers
from tests.support.qr import decode_qr
from tests.support.telegram_chat import TelegramChat
from tests.support.texts import t
from tests.support.viber_chat import ViberChat
from tests.support.webchat_chat import WebChat, new_phone, typed_locally

_user_ids = itertools.count(random.randint(5 * 10**11, 6 * 10**11))
# Kyivstar +38098...: no other test module uses this operator code.
_subscribers = itertools.count(random.randint(1_000_000, 8_000_000))

MENU = ["/card", "/vouchers", "/language", "/stop", "/delete"]
CATEGORIES_QUESTION = "Which of our categories do you like? Tap one or more, then “Done”."
BIRTHDAY_QUESTION = (
    "When is your birthday? We would like to send you a birthday offer. "
    "Type the date, e.g. 31.12.1990, or tap “Skip”."
)
INTRO = "Optional: help us pick offers for you. You can skip any question."
THANKS = "Thank you! Send /card whenever you need your card."
SKIPPED = "All right. Send /card whenever you need your card."


def phone() -> str:
    return f"+38098{next(_subscribers):07d}"


async def a_catalogue() -> None:
    """Top-level categories to choose from (a subcategory is never offered)."""
    await ensure_categories(["Garden/Tools", "Pets/Cats", "Books"])


async def offered_categories() -> list[Category]:
    return await Category.filter(parent_id__isnull=True).order_by("name", "id").limit(8)


async def customer_of(channel: str, external_id: str) -> tuple[ChannelIdentity, Customer]:
    identity = await ChannelIdentity.get(channel=channel, external_id=external_id)
    return identity, await Customer.get(id=identity.customer_id)


def category_payloads(payloads: list[str]) -> list[str]:
    return [p for p in payloads if p.startswith("survey:cat:")]


# --- answering -----------------------------------------------------------------------------


async def test_after_the_card_the_customer_picks_categories_and_gives_a_birthday(stack):
    await a_catalogue()
    chat = TelegramChat(stack, next(_user_ids))
    before = utcnow()

    card, question = await chat.register("Мирослава", phone())

    assert decode_qr(card.photo).startswith("2710")  # the card first, never held back
    assert t("uk", INTRO) in question.text and t("uk", CATEGORIES_QUESTION) in question.text
    offered = await offered_categories()
    assert question.inline_labels() == [c.name for c in offered] + [
        t("uk", "Done"),
        t("uk", "Skip"),
    ]
    assert question.inline_payloads()[-2:] == ["survey:done", "survey:skip"]
    first, second = offered[0], offered[1]

    await chat.press(f"survey:cat:{first.id}")
    (chosen,) = await chat.press(f"survey:cat:{second.id}")

    assert chosen.text == t(
        "uk",
        "Chosen: {categories}. Tap more, or “Done”.",
        categories=f"{first.name}, {second.name}",
    )
    assert chosen.inline_labels()[:2] == [f"✓ {first.name}", f"✓ {second.name}"]

    (birthday_question,) = await chat.press("survey:done")
    assert birthday_question.text == t("uk", BIRTHDAY_QUESTION)
    assert birthday_question.inline_payloads() == ["survey:skip"]

    (thanks,) = await chat.text("31.12.1990")
    after = utcnow()

    assert thanks.text == t("uk", THANKS)
    identity, customer = await customer_of("telegram", str(chat.user_id))
    assert identity.state == "registered"
    assert customer.birth_date == date(1990, 12, 31)
    assert await current_answers(customer.id) == {
        "favourite_categories": [first.path, second.path],
        "birthday": "1990-12-31",
    }
    for answer in await Preference.filter(customer_id=customer.id):
        assert answer.channel == "telegram"
        assert before <= answer.answered_at <= after


async def test_a_category_tapped_twice_is_no_longer_chosen(stack):
    await a_catalogue()
    chat = WebChat(stack)
    _card, question = await chat.register("Юстина", typed_locally(new_phone()))
    first, second = category_payloads(question.buttons)[:2]

    await chat.send(first)
    await chat.send(second)
    (chosen,) = await chat.send(first)
    assert not chosen.labels[0].startswith("✓") and chosen.labels[1].startswith("✓")
    await chat.send("survey:done")
    await chat.send("survey:skip")

    customer = await chat.customer()
    second_category = await Category.get(id=int(second.removeprefix("survey:cat:")))
    assert await current_answers(customer.id) == {"favourite_categories": [second_category.path]}
    assert customer.birth_date is None


async def test_without_categories_in_the_catalogue_the_birthday_comes_first(stack, monkeypatch):
    async def an_empty_catalogue(limit: int) -> list[Category]:
        return []

    monkeypatch.setattr("bot.flows.survey.top_level_categories", an_empty_catalogue)
    chat = TelegramChat(stack, next(_user_ids))

    _card, question = await chat.register("Ліна", phone())

    assert question.text == t("uk", INTRO) + "\n" + t("uk", BIRTHDAY_QUESTION)
    assert question.inline_payloads() == ["survey:skip"]
    (thanks,) = await chat.text("1990-12-31")
    assert thanks.text == t("uk", THANKS)
    _identity, customer = await customer_of("telegram", str(chat.user_id))
    assert customer.birth_date == date(1990, 12, 31)


# --- skipping ------------------------------------------------------------------------------


async def test_skipping_both_questions_stores_nothing_and_brings_the_menu(stack):
    await a_catalogue()
    chat = ViberChat(stack)
    _text, _picture, question = await chat.register("Тарас", phone().removeprefix("+"))
    assert "survey:skip" in question.button_payloads()

    (birthday_question,) = await chat.press("survey:skip")
    assert birthday_question.text == t("uk", BIRTHDAY_QUESTION)
    (done,) = await chat.press("survey:skip")

    assert done.text == t("uk", SKIPPED)
    assert done.button_payloads() == MENU  # the keyboard is the menu again
    identity, customer = await customer_of("viber", chat.user_id)
    assert identity.state == "registered"
    assert customer.birth_date is None
    assert not await Preference.filter(customer_id=customer.id).exists()


async def test_done_without_a_category_is_the_same_as_skip(stack):
    await a_catalogue()
    chat = WebChat(stack)
    await chat.register("Ольга", typed_locally(new_phone()))

    (birthday_question,) = await chat.send("survey:done")

    assert birthday_question.text == t("uk", BIRTHDAY_QUESTION)
    assert not await Preference.filter(customer_id=(await chat.customer()).id).exists()


# --- a birthday that cannot be right -------------------------------------------------------


async def test_a_wrong_birthday_is_refused_politely_and_asked_again(stack):
    chat = WebChat(stack)
    replies = await chat.register("Зоряна", typed_locally(new_phone()))
    if "survey:done" in replies[-1].buttons:
        await chat.send("survey:skip")  # to the birthday question
    year = utcnow().year
    refusals = {
        "31.02.1990": t(
            "uk", "There is no such date. Please check the day and the month, e.g. 31.12.1990."
        ),
        f"01.06.{year - 5}": t(
            "uk",
            "Please check the year: I can note birthdays of people aged {youngest} to {oldest}.",
            youngest=14,
            oldest=110,
        ),
        f"01.06.{year - 120}": t(
            "uk",
            "Please check the year: I can note birthdays of people aged {youngest} to {oldest}.",
            youngest=14,
            oldest=110,
        ),
        "next spring": t(
            "uk",
            "Sorry, I could not read that date. Please type it like 31.12.1990, or tap “Skip”.",
        ),
    }

    for typed, refusal in refusals.items():
        (reply,) = await chat.send(typed)
        assert reply.text == refusal, typed
        assert reply.buttons == ["survey:skip"], typed  # skipping stays possible

    identity = await chat.identity()
    assert identity.state == "survey_birthday"
    (thanks,) = await chat.send("14/02/1988")
    assert thanks.text == t("uk", THANKS) and thanks.menu == MENU
    customer = await chat.customer()
    assert customer.birth_date == date(1988, 2, 14)
    answers = await Preference.filter(customer_id=customer.id, question="birthday")
    assert [a.answer for a in answers] == [{"value": "1988-02-14"}]  # the refused ones: none


# --- leaving the survey --------------------------------------------------------------------


async def test_a_command_mid_survey_is_answered_and_ends_the_survey_quietly(stack):
    await a_catalogue()
    chat = TelegramChat(stack, next(_user_ids))
    card, _question = await chat.register("Дана", phone())

    (again,) = await chat.text("/card")

    assert again.method == "sendPhoto"
    assert format_card_number(decode_qr(card.photo)) in again.text
    identity, customer = await customer_of("telegram", str(chat.user_id))
    assert identity.state == "registered"
    # A date typed now is no answer any more, and an old survey button changes nothing.
    await chat.text("31.12.1990")
    await chat.press("survey:done")
    assert (await Customer.get(id=customer.id)).birth_date is None
    assert not await Preference.filter(customer_id=customer.id).exists()


async def test_the_birthday_question_gives_way_to_a_command_too(stack):
    chat = ViberChat(stack)
    replies = await chat.register("Тарас", phone().removeprefix("+"))
    if "survey:done" in replies[-1].button_payloads():
        await chat.press("survey:skip")

    (vouchers,) = await chat.text("/vouchers")

    assert vouchers.text == t("uk", "You have no active vouchers right now.")
    identity, _customer = await customer_of("viber", chat.user_id)
    assert identity.state == "registered"


async def test_a_reopened_web_chat_shows_the_card_and_the_open_question(stack):
    await a_catalogue()
    chat = WebChat(stack)
    _card, question = await chat.register("Ірина", typed_locally(new_phone()))
    first = category_payloads(question.buttons)[0]
    await chat.send(first)

    card, open_question = await chat.open()

    assert card.image_url
    assert open_question.buttons == question.buttons
    assert open_question.labels[0].startswith("✓")  # the choice so far is kept
    assert (await chat.identity()).state == "survey_categories"


async def test_a_sticker_mid_survey_gets_the_question_again(stack):
    await a_catalogue()
    chat = TelegramChat(stack, next(_user_ids))
    _card, question = await chat.register("Ярина", phone())

    sorry, again = await chat.sticker()

    assert sorry.text == t("uk", "Sorry, I can only read text and buttons here.")
    assert again.inline_payloads() == question.inline_payloads()

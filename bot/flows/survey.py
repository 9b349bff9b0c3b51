"""The optional survey right after registration: favourite categories, then the birthday.

The card is in the chat before the first question, every question can be skipped, and any
command or other button ends the survey quietly. Answers go to the profile with their time.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.conversation import (
    REGISTERED,
    SURVEY_BIRTHDAY,
    SURVEY_CATEGORIES,
    SURVEY_CATEGORY_PREFIX,
    SURVEY_DONE,
    SURVEY_SKIP,
    SURVEY_STATES,
    Flow,
    Turn,
)
from bot.events import Button, Reply
from bot.i18n import N_
from crm_core.catalogue.models import Category
from crm_core.catalogue.service import top_level_categories
from crm_core.customers.service import save_state
from crm_core.customers.validation import (
    OLDEST_AGE,
    YOUNGEST_AGE,
    BirthDateProblem,
    InvalidBirthDate,
    parse_birth_date,
)
from crm_core.profiles.preferences import Question, record_answer

# Buttons for the first few top-level categories: a chat is no catalogue.
MAX_CATEGORIES_OFFERED = 8
CHOSEN_MARK = "✓ "

_BIRTHDAY_PROBLEMS = {
    BirthDateProblem.UNREADABLE: N_(
        "Sorry, I could not read that date. Please type it like 31.12.1990, or tap “Skip”."
    ),
    BirthDateProblem.NO_SUCH_DATE: N_(
        "There is no such date. Please check the day and the month, e.g. 31.12.1990."
    ),
    BirthDateProblem.AGE_OUT_OF_RANGE: N_(
        "Please check the year: I can note birthdays of people aged {youngest} to {oldest}."
    ),
}


class SurveyFlow(Flow):
    async def _offer_survey(self, turn: Turn) -> list[Reply]:
        """Right after a new card: the first question there is something to ask about."""
        categories = await top_level_categories(MAX_CATEGORIES_OFFERED)
        intro = turn._("Optional: help us pick offers for you. You can skip any question.")
        if categories:
            await save_state(turn.identity, SURVEY_CATEGORIES, {"chosen": []})
            question = self._ask_categories(turn, categories, [])
        else:
            await save_state(turn.identity, SURVEY_BIRTHDAY, {"answered": False})
            question = self._ask_birthday(turn)
        return [Reply(intro + "\n" + question.text, buttons=question.buttons)]

    def _ask_categories(self, turn: Turn, categories: list[Category], chosen: list[int]) -> Reply:
        names = [category.name for category in categories if category.id in chosen]
        if names:
            text = turn._("Chosen: {categories}. Tap more, or “Done”.", categories=", ".join(names))
        else:
            text = turn._("Which of our categories do you like? Tap one or more, then “Done”.")
        buttons = tuple(
            Button(
                (CHOSEN_MARK if category.id in chosen else "") + category.name,
                f"{SURVEY_CATEGORY_PREFIX}{category.id}",
            )
            for category in categories
        )
        return Reply(
            text,
            buttons=(
                *buttons,
                Button(turn._("Done"), SURVEY_DONE),
                Button(turn._("Skip"), SURVEY_SKIP),
            ),
        )

    def _ask_birthday(self, turn: Turn) -> Reply:
        if turn.customer is not None and not turn.customer.marketing_consent:
            # No offers were wanted: no birthday offer is promised.
            question = turn._(
                "When is your birthday? Type the date, e.g. 31.12.1990, or tap “Skip”."
            )
        else:
            question = turn._(
                "When is your birthday? We would like to send you a birthday offer. "
                "Type the date, e.g. 31.12.1990, or tap “Skip”."
            )
        return Reply(question, buttons=(Button(turn._("Skip"), SURVEY_SKIP),))

    async def _survey_prompt(self, turn: Turn) -> Reply:
        """The open survey question again (after a sticker, a reloaded web chat...)."""
        if turn.identity.state == SURVEY_CATEGORIES:
            categories = await top_level_categories(MAX_CATEGORIES_OFFERED)
            return self._ask_categories(turn, categories, self._chosen(turn))
        return self._ask_birthday(turn)

    def _chosen(self, turn: Turn) -> list[int]:
        return [int(i) for i in turn.identity.state_data.get("chosen", [])]

    async def _survey_category(self, turn: Turn, raw_id: str) -> list[Reply]:
        """A category tapped: chosen, or no longer chosen when tapped again."""
        if turn.customer is None or turn.identity.state != SURVEY_CATEGORIES:
            return await self._survey_closed(turn)
        categories = await top_level_categories(MAX_CATEGORIES_OFFERED)
        chosen = self._chosen(turn)
        category_id = int(raw_id) if raw_id.isascii() and raw_id.isdigit() else None
        if category_id in {category.id for category in categories}:
            if category_id in chosen:
                chosen.remove(category_id)
            else:
                chosen.append(category_id)
            await save_state(turn.identity, SURVEY_CATEGORIES, {"chosen": chosen})
        return [self._ask_categories(turn, categories, chosen)]

    async def _survey_done(self, turn: Turn) -> list[Reply]:
        """The categories chosen so far are the answer (none chosen is the same as Skip)."""
        if turn.customer is None or turn.identity.state != SURVEY_CATEGORIES:
            return await self._survey_closed(turn)
        chosen = self._chosen(turn)
        categories = await top_level_categories(MAX_CATEGORIES_OFFERED)
        paths = [category.path for category in categories if category.id in chosen]
        if paths:
            await record_answer(
                turn.customer.id,
                Question.FAVOURITE_CATEGORIES,
                paths,
                self.config.clock(),
                turn.inbound.channel,
            )
        await save_state(turn.identity, SURVEY_BIRTHDAY, {"answered": bool(paths)})
        return [self._ask_birthday(turn)]

    async def _survey_skip(self, turn: Turn) -> list[Reply]:
        if turn.customer is None:
            return await self._survey_closed(turn)
        if turn.identity.state == SURVEY_CATEGORIES:
            await save_state(turn.identity, SURVEY_BIRTHDAY, {"answered": False})
            return [self._ask_birthday(turn)]
        if turn.identity.state == SURVEY_BIRTHDAY:
            return await self._survey_finished(
                turn, answered=bool(turn.identity.state_data.get("answered"))
            )
        return await self._survey_closed(turn)

    async def _birthday(self, turn: Turn, text: str) -> list[Reply]:
        """A typed birthday: stored when it is a real date of someone of a plausible age."""
        if turn.customer is None:
            return await self._survey_closed(turn)
        now = self.config.clock()
        today = now.astimezone(ZoneInfo(turn.customer.timezone)).date()
        try:
            born = parse_birth_date(text, today)
        except InvalidBirthDate as error:
            return [
                Reply(
                    turn._(
                        _BIRTHDAY_PROBLEMS[error.problem], youngest=YOUNGEST_AGE, oldest=OLDEST_AGE
                    ),
                    buttons=(Button(turn._("Skip"), SURVEY_SKIP),),
                )
            ]
        await record_answer(turn.customer.id, Question.BIRTHDAY, born, now, turn.inbound.channel)
        return await self._survey_finished(turn, answered=True)

    async def _survey_finished(self, turn: Turn, answered: bool) -> list[Reply]:
        await save_state(turn.identity, REGISTERED, {})
        text = (
            turn._("Thank you! Send /card whenever you need your card.")
            if answered
            else turn._("All right. Send /card whenever you need your card.")
        )
        return [Reply(text, menu=await self._menu(turn))]

    async def _end_survey_quietly(self, turn: Turn) -> None:
        """Something else was asked for mid-survey: drop the survey, say nothing about it."""
        if turn.identity.state in SURVEY_STATES:
            await save_state(turn.identity, REGISTERED, {})

    async def _survey_closed(self, turn: Turn) -> list[Reply]:
        """A survey button from an old message, after the survey ended."""
        return await self._help_command(turn)

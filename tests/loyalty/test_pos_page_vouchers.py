"""/pos never shows a voucher as usable when the API would refuse it, and keeps one customer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crm_core.cards.numbers import format_card_number
from crm_core.clock import utcnow
from crm_core.vouchers.codes import format_voucher_code
from crm_core.vouchers.models import Voucher
from tests.support.browser import headless_chromium
from tests.support.staff import new_voucher
from tests.support.texts import t
from tests.support.till import customer_with_card, open_till

# Fourteen hours ahead of UTC: at noon UTC the store's calendar is on the next day.
STORE_ZONE = "Pacific/Kiritimati"

DAY = """(args) => new Date(args.iso).toLocaleDateString(
    "uk", {day: "numeric", month: "long", year: "numeric", timeZone: args.zone})"""


async def signed_in(browser, till, timezone_id: str = "UTC"):
    page = await browser.new_page(
        locale="uk-UA", timezone_id=timezone_id, viewport={"width": 1280, "height": 900}
    )
    await page.goto(f"{till.stack.server.base_url}/pos")
    await page.fill("#key", till.key)
    await page.press("#key", "Enter")
    await page.locator("#scan").wait_for()
    return page


async def test_vouchers_show_their_state_and_dates_in_the_stores_calendar(stack):
    till = await open_till(stack, timezone=STORE_ZONE)
    _chat, card = await customer_with_card(stack, name="Марта")
    now = utcnow()
    noon_in_three_days = datetime.combine(now.date() + timedelta(days=3), datetime.min.time())
    noon_in_three_days = noon_in_three_days.replace(hour=12, tzinfo=UTC)
    later = await new_voucher(card.customer_id, title="Пізніше", starts_in=noon_in_three_days - now)
    bearer = await new_voucher(None, title="Для всіх", value="25.00")
    await Voucher.filter(id=bearer.id).update(uses_count=1)  # used up

    async with headless_chromium() as browser:
        page = await signed_in(browser, till)
        await page.keyboard.type(card.number + "\n")
        item = page.locator(f'.voucher[data-code="{later.code}"]')
        await item.wait_for()

        # Not valid yet: why, from when (the store's day, not the browser's), nothing to press.
        await item.get_by_text(t("uk", "This voucher is not valid yet.")).wait_for()
        assert await item.get_by_role("button").count() == 0
        store_day = await page.evaluate(
            DAY, {"iso": later.valid_from.isoformat(), "zone": STORE_ZONE}
        )
        utc_day = await page.evaluate(DAY, {"iso": later.valid_from.isoformat(), "zone": "UTC"})
        assert store_day != utc_day
        store_end = await page.evaluate(
            DAY, {"iso": later.valid_until.isoformat(), "zone": STORE_ZONE}
        )
        validity = t("uk", "Valid from {start} until {end}", start=store_day, end=store_end)
        assert await item.locator(".voucher__valid").inner_text() == validity

        # A used voucher scanned by its code: shown as used, with nothing to press.
        await page.keyboard.type(format_voucher_code(bearer.code) + "\n")
        used = page.locator(f'.voucher[data-code="{bearer.code}"]')
        await used.get_by_text(t("uk", "This voucher has already been used.")).wait_for()
        assert await used.get_by_role("button").count() == 0


async def test_another_customers_voucher_keeps_the_first_customer_on_screen(stack):
    till = await open_till(stack)
    _chat, card = await customer_with_card(stack, name="Богдан")
    _other_chat, other_card = await customer_with_card(stack, name="Ярина")
    theirs = await new_voucher(other_card.customer_id, title="Ярині")

    async with headless_chromium() as browser:
        page = await signed_in(browser, till)
        await page.keyboard.type(card.number + "\n")
        await page.locator("#name").get_by_text("Богдан").wait_for()
        await page.fill("#total", "300")
        receipt = await page.input_value("#receipt")
        assert await page.locator("#currency").inner_text() == "грн"  # as Ukrainian writes it

        await page.locator("#scan").focus()
        await page.keyboard.type(theirs.code + "\n")
        item = page.locator(f'.voucher[data-code="{theirs.code}"]')
        await item.wait_for()
        other = "This voucher belongs to another customer, not to the card on this receipt."
        other = t("uk", other)
        await page.locator("#message.message--error").get_by_text(other).wait_for()
        await item.get_by_text(t("uk", "This voucher belongs to another customer.")).wait_for()
        assert await item.get_by_role("button").count() == 0
        # One customer on screen: the card's, with its number; never the voucher owner's name.
        assert await page.locator("#name").inner_text() == "Богдан"
        assert await page.locator("#card-number").inner_text() == format_card_number(card.number)
        assert "Ярина" not in await page.locator("#result").inner_text()
        assert await page.input_value("#total") == "300"
        assert await page.input_value("#receipt") == receipt

        # A mistyped voucher code: the explanation, and the basket stays.
        mistyped = theirs.code[:-1] + ("A" if theirs.code[-1] != "A" else "B")
        await page.keyboard.type(mistyped + "\n")
        wrong = t("uk", "This voucher code is probably mistyped: please check it.")
        await page.locator("#message.message--error").get_by_text(wrong).wait_for()
        assert await page.locator("#name").inner_text() == "Богдан"
        assert await page.input_value("#total") == "300"
        assert await page.input_value("#receipt") == receipt


async def test_a_slow_scanner_typing_into_the_total_still_scans(stack):
    """What was typed decides, not how fast: a busy till delivers a scanner's keys slowly."""
    till = await open_till(stack)
    _chat, card = await customer_with_card(stack, name="Остап")
    voucher = await new_voucher(card.customer_id, title="Кава")

    async with headless_chromium() as browser:
        page = await signed_in(browser, till)
        await page.focus("#total")
        await page.keyboard.type(card.number, delay=70)  # slower than any typing heuristic
        await page.keyboard.press("Enter")
        await page.locator("#name").get_by_text("Остап").wait_for()

        await page.fill("#total", "120,50")
        await page.focus("#total")
        await page.keyboard.type(format_voucher_code(voucher.code).lower(), delay=70)
        await page.keyboard.press("Enter")
        await page.locator("#vouchers-title").get_by_text(t("uk", "Voucher")).wait_for()
        assert await page.input_value("#total") == "120,50"
        # An amount typed and Enter is an amount, never a scan.
        await page.fill("#total", "")
        await page.keyboard.type("99", delay=70)
        await page.keyboard.press("Enter")
        assert await page.input_value("#total") == "99"
        assert await page.locator("#message").inner_text() == ""

"""/chat for keyboard and screen-reader users, and a log that always shows the newest reply."""

from __future__ import annotations

import os

from crm_core.cards.numbers import format_card_number
from tests.support.axe import SIZES, axe_violations, clipped, weak_focus_rings
from tests.support.browser import headless_chromium
from tests.support.qr import decode_qr
from tests.support.texts import t
from tests.support.webchat_chat import new_phone, typed_locally

# The newest message's bottom edge against the log's: fully in view means not below it.
NEWEST_IN_VIEW = """() => {
  const log = document.getElementById("log");
  const items = log.querySelectorAll(".msg");
  const last = items[items.length - 1].getBoundingClientRect();
  const cut = Math.round(last.bottom - log.getBoundingClientRect().bottom);
  return { cut: Math.max(0, cut), scrolls: log.scrollHeight > log.clientHeight };
}"""


async def bot_answers(page, action) -> None:
    shown = await page.locator(".msg--bot").count()
    await action()
    await page.wait_for_function(
        "n => document.querySelectorAll('.msg--bot').length > n", arg=shown
    )


async def type_answer(page, text: str) -> None:
    async def answer():
        await page.fill("#input", text)
        await page.press("#input", "Enter")

    await bot_answers(page, answer)


async def test_chat_passes_axe_and_describes_the_card_picture(stack, tmp_path):
    async with headless_chromium() as browser:
        for width, height in SIZES:
            page = await browser.new_page(
                locale="uk-UA",
                viewport={"width": width, "height": height},
                extra_http_headers={"Accept-Language": "uk"},
            )
            await page.goto(f"{stack.server.base_url}/chat")
            await page.wait_for_selector(".msg--bot")
            assert await axe_violations(page) == [], (width, "greeting")
            assert await page.locator("h1").inner_text() == t("uk", "Loyalty card")
            # Announced: the log, not the whole page; and a keyboard can reach it to scroll.
            assert await page.locator("main[aria-live]").count() == 0
            assert await page.locator("#log").get_attribute("aria-live") == "polite"
            assert await page.locator("#log").get_attribute("tabindex") == "0"

            await type_answer(page, "Олена")
            await type_answer(page, typed_locally(new_phone()))
            await bot_answers(
                page, page.get_by_role("button", name=t("uk", "Yes, send offers")).click
            )
            image = page.locator(".msg--bot img")
            await image.wait_for()
            await page.wait_for_function("() => document.querySelector('.msg--bot img').complete")
            png = await (await page.request.get(await image.evaluate("i => i.src"))).body()
            number = decode_qr(png)
            alt = t("uk", "QR code of card {number}", number=format_card_number(number))
            assert await image.get_attribute("alt") == alt
            assert await axe_violations(page) == [], (width, "with the card")
            # CHAT_SCREENSHOTS=dir keeps the pictures to look at.
            folder = os.environ.get("CHAT_SCREENSHOTS") or str(tmp_path)
            await page.screenshot(path=f"{folder}/chat-{width}.png")
            await page.close()


async def test_chat_focus_is_visible_and_nothing_is_clipped_at_360_px(stack):
    async with headless_chromium() as browser:
        page = await browser.new_page(
            locale="uk-UA",
            viewport={"width": 360, "height": 640},
            extra_http_headers={"Accept-Language": "uk"},
        )
        await page.goto(f"{stack.server.base_url}/chat")
        await page.wait_for_selector(".msg--bot")
        await type_answer(page, "Олена")
        await type_answer(page, typed_locally(new_phone()))
        await page.locator("#choices button").first.wait_for()
        assert await clipped(page) == []
        assert await weak_focus_rings(page, stops=8) == []


async def test_the_newest_reply_stays_in_view_and_the_phone_keypad_stays(stack):
    async with headless_chromium() as browser:
        # A short window: the conversation soon fills the log.
        page = await browser.new_page(
            locale="uk-UA",
            viewport={"width": 390, "height": 420},
            extra_http_headers={"Accept-Language": "uk"},
        )
        await page.goto(f"{stack.server.base_url}/chat")
        await page.wait_for_selector(".msg--bot")
        await type_answer(page, "Олена")
        assert await page.locator("#input").get_attribute("type") == "tel"
        # A mistyped number: the bot asks again, and the keypad is still the phone's.
        await type_answer(page, "12")
        assert await page.locator("#input").get_attribute("type") == "tel"
        assert await page.locator("#input").evaluate("i => i.inputMode") == "tel"
        await type_answer(page, "345")
        await type_answer(page, typed_locally(new_phone()))
        # The consent question came with its buttons, which took room below the log.
        await page.locator("#choices button").first.wait_for()
        assert await page.locator("#input").get_attribute("type") == "text"
        view = await page.evaluate(NEWEST_IN_VIEW)
        assert view["scrolls"], "the test needs a log longer than its window"
        assert view["cut"] == 0, view

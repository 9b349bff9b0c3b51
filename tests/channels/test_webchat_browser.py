"""A newcomer opens /chat in a browser, registers, and sees a card whose QR reads as its number."""

from __future__ import annotations

import random

from crm_core.cards.numbers import format_card_number
from tests.support.browser import headless_chromium
from tests.support.qr import decode_qr
from tests.support.texts import t


async def test_registering_in_the_browser_shows_a_scannable_card(stack):
    async with headless_chromium() as browser:
        page = await browser.new_page(locale="uk-UA", extra_http_headers={"Accept-Language": "uk"})
        await page.goto(f"{stack.server.base_url}/chat")
        assert await page.title() == t("uk", "Loyalty card")
        await page.wait_for_selector(".msg--bot")

        for answer in ["Олена", f"067 {random.randint(100, 999)} {random.randint(10, 99)} 12"]:
            shown = await page.locator(".msg--bot").count()
            await page.fill("#input", answer)
            await page.press("#input", "Enter")
            await page.wait_for_function(
                "n => document.querySelectorAll('.msg--bot').length > n", arg=shown
            )
        await page.get_by_role("button", name=t("uk", "Yes, send offers")).click()
        image = page.locator(".msg--bot img")
        await image.wait_for()

        card_text = await page.locator(".msg--bot", has=page.locator("img")).last.inner_text()
        source = await image.evaluate("img => img.src")
        png = await (await page.request.get(source)).body()
        number = decode_qr(png)
        assert format_card_number(number) in card_text
        assert await image.evaluate("img => img.complete && img.naturalWidth > 0")
        # The optional survey follows the card; skipping its questions brings the menu.
        skip = page.get_by_role("button", name=t("uk", "Skip"), exact=True)
        while await skip.count():
            shown = await page.locator(".msg--bot").count()
            await skip.click()
            await page.wait_for_function(
                "n => document.querySelectorAll('.msg--bot').length > n", arg=shown
            )
        menu = [await b.inner_text() for b in await page.locator("#choices button").all()]
        assert t("uk", "My card") in menu

        # Reloading the page keeps the conversation: the card is shown again, not re-issued.
        await page.reload()
        await page.locator(".msg--bot img").wait_for()
        again = await page.locator(".msg--bot").last.inner_text()
        assert format_card_number(number) in again

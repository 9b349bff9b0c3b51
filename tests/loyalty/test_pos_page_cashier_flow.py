"""The cashier's page /pos: self-hosted, and a cashier can scan, check and redeem in a browser."""

from __future__ import annotations

import re

from crm_core.cards.numbers import format_card_number
from crm_core.vouchers.models import Voucher
from tests.support.browser import headless_chromium
from tests.support.staff import new_voucher
from tests.support.texts import t
from tests.support.till import customer_with_card, open_till

EXTERNAL_URL = re.compile(r"https?://", re.IGNORECASE)


async def test_the_page_and_its_assets_are_self_hosted(stack):
    page = await stack.client.get("/pos", headers={"Accept-Language": "uk"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert f"<title>{t('uk', 'Till')}</title>" in page.text
    assert not EXTERNAL_URL.search(page.text)
    for name, kind in [("pos.js", "text/javascript"), ("pos.css", "text/css")]:
        asset = await stack.client.get(f"/pos/assets/{name}")
        assert asset.status_code == 200 and asset.headers["content-type"].startswith(kind)
        assert not EXTERNAL_URL.search(asset.text)
    assert (await stack.client.get("/pos/assets/../app.py")).status_code == 404
    assert (await stack.client.get("/pos/assets/secret.txt")).status_code == 404


async def test_a_cashier_scans_checks_and_redeems_a_voucher(stack, tmp_path):
    till = await open_till(stack)
    _chat, card = await customer_with_card(stack, name="Соломія")
    voucher = await new_voucher(card.customer_id, title="Знижка 50 грн", min_basket="200.00")

    async with headless_chromium() as browser:
        page = await browser.new_page(locale="uk-UA", extra_http_headers={"Accept-Language": "uk"})
        await page.goto(f"{stack.server.base_url}/pos")

        await page.fill("#key", "lk_wrong_key")
        await page.press("#key", "Enter")
        await (
            page.locator("#message")
            .get_by_text(t("uk", "This API key is unknown or revoked."))
            .wait_for()
        )

        await page.fill("#key", till.key)
        await page.press("#key", "Enter")
        await page.locator("#scan").wait_for()

        # A keyboard-wedge scanner types the digits and presses Enter.
        await page.locator("#scan").type(card.number)
        await page.keyboard.press("Enter")
        await page.locator("#name").get_by_text("Соломія").wait_for()
        assert format_card_number(card.number) in await page.locator("#meta").inner_text()
        item = page.locator(f'.voucher[data-code="{voucher.code}"]')
        await item.get_by_text("Знижка 50 грн").wait_for()

        await page.fill("#total", "150")
        await item.get_by_role("button", name=t("uk", "Check")).click()
        await page.locator("#message.message--error").wait_for()
        await page.fill("#total", "250.00")
        await item.get_by_role("button", name=t("uk", "Check")).click()
        await page.locator("#message.message--ok").wait_for()

        await item.get_by_role("button", name=t("uk", "Redeem")).click()
        await page.locator("#message.message--ok").get_by_text("50,00\xa0грн").wait_for()
        await item.wait_for(state="detached")

        # Scanning the card again: the voucher is gone for good.
        await page.locator("#scan").type(card.number + "\n")
        await page.locator(".empty").wait_for()
        assert await page.locator(".voucher").count() == 0

        # A mistyped number shows the API's own explanation.
        wrong = card.number[:-1] + str((int(card.number[-1]) + 1) % 10)
        await page.locator("#scan").type(wrong + "\n")
        mistyped = t("uk", "This card number is probably mistyped: please check the digits.")
        await page.locator("#message").get_by_text(mistyped).wait_for()
        await page.screenshot(path=str(tmp_path / "till.png"))

    assert (await Voucher.get(id=voucher.id)).uses_count == 1

"""/pos for keyboard and screen-reader users: axe-core finds nothing above minor at a phone's
and a till's size, focus is visible, nothing is clipped at 360 px, messages are announced."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest

from tests.support.axe import SIZES, axe_violations, clipped, weak_focus_rings
from tests.support.browser import headless_chromium
from tests.support.staff import new_voucher
from tests.support.texts import t
from tests.support.till import customer_with_card, line, open_till, receipt


async def till_with_a_customer(stack):
    till = await open_till(stack)
    seeded = receipt([line("MILK", "30.00", category=("Dairy", "Milk"))])
    assert (await till.post("/api/v1/pos/purchases", seeded)).status_code == 201
    _chat, card = await customer_with_card(stack, name="Антоніна")
    await new_voucher(card.customer_id, title="Знижка на все", value="50.00", min_basket="200")
    await new_voucher(card.customer_id, title="Пізніше", starts_in=timedelta(days=3))
    return till, card


async def test_pos_passes_axe_at_both_sizes_signed_out_and_with_a_customer(stack, tmp_path):
    till, card = await till_with_a_customer(stack)
    async with headless_chromium() as browser:
        for width, height in SIZES:
            page = await browser.new_page(
                locale="uk-UA", viewport={"width": width, "height": height}, bypass_csp=True
            )
            await page.goto(f"{stack.server.base_url}/pos")
            await page.locator("#key").wait_for()
            assert await axe_violations(page) == [], (width, "signed out")
            assert await page.locator("h1").count() == 1

            await page.fill("#key", till.key)
            await page.press("#key", "Enter")
            await page.locator("#scan").wait_for()
            await page.keyboard.type(card.number + "\n")
            await page.locator(".voucher").nth(1).wait_for()
            await page.fill("#total", "250")
            await page.locator(".voucher").first.get_by_role("button").first.click()
            await page.locator("#message.message--ok").wait_for()
            assert await axe_violations(page) == [], (width, "with a customer")
            assert await page.locator("h1").is_visible()
            # POS_SCREENSHOTS=dir keeps the pictures to look at.
            folder = os.environ.get("POS_SCREENSHOTS") or str(tmp_path)
            await page.screenshot(path=f"{folder}/pos-{width}.png", full_page=True)
            await page.close()


async def test_pos_focus_is_visible_and_nothing_is_clipped_at_360_px(stack):
    till, card = await till_with_a_customer(stack)
    async with headless_chromium() as browser:
        page = await browser.new_page(locale="uk-UA", viewport={"width": 360, "height": 740})
        await page.goto(f"{stack.server.base_url}/pos")
        assert await weak_focus_rings(page, stops=6) == []
        await page.fill("#key", till.key)
        await page.press("#key", "Enter")
        await page.locator("#scan").wait_for()
        await page.keyboard.type(card.number + "\n")
        await page.locator(".voucher").nth(1).wait_for()
        problems = await clipped(page)
        assert problems == [], problems
        await page.locator("#scan").focus()
        assert await weak_focus_rings(page) == []


@pytest.mark.parametrize("language", ["uk", "en"])
async def test_a_keyboard_cashier_scans_checks_and_redeems_without_hunting(stack, language):
    till, card = await till_with_a_customer(stack)
    async with headless_chromium() as browser:
        page = await browser.new_page(locale=language, viewport={"width": 1280, "height": 800})
        await page.goto(f"{stack.server.base_url}/pos")
        # The live region is there, visible to assistive technology, before anything is said.
        region = page.locator("#message")
        assert await region.get_attribute("role") == "status"
        assert await region.get_attribute("aria-live") == "polite"
        assert await region.evaluate("e => !e.hidden && getComputedStyle(e).display !== 'none'")
        # The scan field has a visible label of its own.
        await page.fill("#key", till.key)
        await page.press("#key", "Enter")
        await page.locator("#scan").wait_for()
        label = page.locator('label[for="scan"]')
        assert await label.is_visible()
        assert await label.inner_text() in {
            t(language, "Card or voucher code"),
            t(language, "Card or voucher code").upper(),
        }
        assert await page.get_by_label(t(language, "Card or voucher code")).count() == 1

        await page.keyboard.type(card.number + "\n")
        usable = page.locator(".voucher").filter(has=page.get_by_role("button")).first
        await usable.wait_for()
        await page.fill("#total", "250")
        # Into the voucher list by keyboard: Tab until its Check button, Enter, then one Tab
        # to Redeem and Enter.
        check = usable.get_by_role("button", name=t(language, "Check"))
        for _ in range(30):
            if await check.evaluate("b => b === document.activeElement"):
                break
            await page.keyboard.press("Tab")
        await page.keyboard.press("Enter")
        await page.locator("#message.message--ok").wait_for()
        assert await check.evaluate("b => b === document.activeElement")
        await page.keyboard.press("Tab")
        await page.keyboard.press("Enter")
        redeemed = t(language, "Redeemed: discount {discount}", discount="x").split("x")[0]
        await page.locator("#message.message--ok").get_by_text(redeemed).wait_for()
        # Back on the scan field, ready for the next customer.
        assert await page.evaluate("document.activeElement.id") == "scan"

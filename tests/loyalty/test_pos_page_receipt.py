"""/pos records a receipt (idempotently) and checks category-limited vouchers."""

from __future__ import annotations

from decimal import Decimal

from crm_core.purchases.models import Purchase
from crm_core.vouchers.models import VoucherKind, VoucherRedemption
from tests.support.browser import headless_chromium
from tests.support.staff import new_voucher
from tests.support.texts import t
from tests.support.till import customer_with_card, line, open_till, receipt


async def signed_in(browser, till):
    page = await browser.new_page(locale="uk-UA", viewport={"width": 1280, "height": 900})
    await page.goto(f"{till.stack.server.base_url}/pos")
    await page.fill("#key", till.key)
    await page.press("#key", "Enter")
    await page.locator("#scan").wait_for()
    return page


async def test_the_cashier_records_the_receipt_once_with_its_vouchers(stack):
    till = await open_till(stack)
    _chat, card = await customer_with_card(stack, name="Орест")
    voucher = await new_voucher(card.customer_id, title="Мінус 50", value="50.00")
    first = t("uk", "First purchase with the card: welcome them!")

    async with headless_chromium() as browser:
        page = await signed_in(browser, till)
        await page.keyboard.type(card.number + "\n")
        await page.locator("#hints").get_by_text(first).wait_for()
        await page.fill("#total", "250")
        await page.fill("#receipt", "R-PAGE-1")
        item = page.locator(f'.voucher[data-code="{voucher.code}"]')
        await item.get_by_role("button", name=t("uk", "Redeem")).click()
        await item.wait_for(state="detached")

        record = page.get_by_role("button", name=t("uk", "Record the receipt"))
        await record.click()
        recorded = t("uk", "Receipt {receipt} recorded: {total}.", receipt="R-PAGE-1", total="x")
        recorded = recorded.split("x")[0]
        await page.locator("#message.message--ok").get_by_text(recorded).wait_for()
        assert "250,00\xa0грн" in await page.locator("#message").inner_text()
        assert await page.evaluate("document.activeElement.id") == "record"

        # Pressed again (a retry): the same answer, still one receipt.
        await page.evaluate("document.getElementById('message').textContent = ''")
        await record.click()
        await page.locator("#message.message--ok").get_by_text(recorded).wait_for()

        # The next scan of the card: no more "first purchase".
        await page.keyboard.type(card.number + "\n")
        await page.locator("#name").get_by_text("Орест").wait_for()
        await page.locator("#message").wait_for(state="hidden")
        assert await page.locator("#hints").get_by_text(first).count() == 0

    (purchase,) = await Purchase.filter(store_id=till.store.id)
    assert purchase.receipt_id == "R-PAGE-1" and purchase.customer_id == card.customer_id
    assert Decimal(purchase.total) == Decimal("250.00")
    redemption = await VoucherRedemption.get(voucher_id=voucher.id)
    assert redemption.receipt_id == "R-PAGE-1" and redemption.cancelled_at is None


async def test_amounts_by_category_let_category_vouchers_be_checked(stack):
    till = await open_till(stack)
    # A till that sends lines has named the categories already.
    seeded = receipt([line("MILK", "30.00", category=("Dairy", "Milk")), line("BUN", "10.00",
                      category=("Bakery",))])  # fmt: skip
    assert (await till.post("/api/v1/pos/purchases", seeded)).status_code == 201
    dairy = await new_voucher(
        None, kind=VoucherKind.PERCENT, value="10", currency=None, allowed_categories=("Dairy",)
    )

    async with headless_chromium() as browser:
        page = await signed_in(browser, till)
        await page.keyboard.type(dairy.code + "\n")
        item = page.locator(f'.voucher[data-code="{dairy.code}"]')
        check = item.get_by_role("button", name=t("uk", "Check"))
        await page.fill("#total", "100")

        # No category given: the API says which is missing.
        await check.click()
        needed = t(
            "uk",
            "This voucher covers only some categories: say which categories are in the basket.",
        )
        await page.locator("#message.message--error").get_by_text(needed).wait_for()

        # 30 of the 100 in Dairy / Milk: 10% of 30.
        rows = page.locator(".category-row")
        await rows.nth(0).get_by_label(t("uk", "Category")).select_option(label="Dairy / Milk")
        await rows.nth(0).get_by_label(t("uk", "Amount in this category")).fill("30")
        await check.click()
        applies = t("uk", "Applies: discount {discount}", discount="3,00\xa0грн")
        await page.locator("#message.message--ok").get_by_text(applies).wait_for()

        # The whole amount in Bakery, in a second row: the voucher does not apply.
        await rows.nth(0).get_by_label(t("uk", "Remove")).click()
        await page.get_by_role("button", name=t("uk", "Add a category")).click()
        await rows.nth(1).get_by_label(t("uk", "Category")).select_option(label="Bakery")
        await check.click()
        excluded = t("uk", "No item in the basket is in a category this voucher covers.")
        await page.locator("#message.message--error").get_by_text(excluded).wait_for()

        # More by category than in total: said before asking the API.
        await rows.nth(1).get_by_label(t("uk", "Amount in this category")).fill("120")
        await check.click()
        too_much = t("uk", "The amounts by category add up to more than the basket total.")
        await page.locator("#message.message--error").get_by_text(too_much).wait_for()

"""The cashier's page /pos: self-hosted, translated, and a cashier can scan, check and redeem."""

from __future__ import annotations

import json
import os
import re

from crm_core.cards.numbers import format_card_number, luhn_check_digit
from crm_core.catalogue.service import TILL_AMOUNT_SKU
from crm_core.staff.models import Role
from crm_core.vouchers.codes import format_voucher_code
from crm_core.vouchers.models import Voucher, VoucherRedemption
from loyalty.pos_page import LABELS, json_island
from tests.support.browser import headless_chromium
from tests.support.staff import new_key, new_voucher
from tests.support.texts import t
from tests.support.till import customer_with_card, open_till

EXTERNAL_URL = re.compile(r"https?://", re.IGNORECASE)


def mistyped(number: str) -> str:
    """The same number with a wrong check digit."""
    return number[:-1] + str((int(number[-1]) + 1) % 10)


def labels_of(page_html: str) -> dict[str, str]:
    island = re.search(r'<script id="labels" type="application/json">(.*?)</script>', page_html)
    assert island, "the page has no labels island"
    return json.loads(island.group(1))


async def test_the_page_and_its_assets_are_self_hosted(stack):
    page = await stack.client.get("/pos", headers={"Accept-Language": "uk-UA,uk;q=0.9"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert f"<title>{t('uk', 'Till')}</title>" in page.text
    assert '<html lang="uk">' in page.text
    assert "{{" not in page.text and "}}" not in page.text
    assert not EXTERNAL_URL.search(page.text)
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    for source in re.findall(r'(?:src|href)="([^"]+)"', page.text):
        assert source.startswith("/pos/assets/"), source

    for name, kind in [("pos.js", "text/javascript"), ("pos.css", "text/css")]:
        asset = await stack.client.get(f"/pos/assets/{name}")
        assert asset.status_code == 200, name
        assert asset.headers["content-type"].startswith(kind), asset.headers["content-type"]
        assert not EXTERNAL_URL.search(asset.text), name
        assert "@import" not in asset.text and "url(" not in asset.text, name

    for name in ["pos.html", "secret.txt", "..%2Fpos_page.py", "../app.py", "POS.JS"]:
        assert (await stack.client.get(f"/pos/assets/{name}")).status_code == 404, name


async def test_the_labels_are_translated_on_the_server(stack):
    for language in ["uk", "en", "pl"]:
        page = await stack.client.get("/pos", headers={"Accept-Language": language})
        labels = labels_of(page.text)
        translated = {name: t(language, message) for name, message in LABELS.items()}
        # ...and the SKU the page's amount-only lines carry (never offered as a product).
        assert labels == {**translated, "till_amount_sku": TILL_AMOUNT_SKU}
        # The fixed labels are in the HTML itself, not only in the island.
        for name in ["api_key", "sign_in", "basket_total", "receipt", "camera"]:
            assert f">{labels[name]}<" in page.text.replace("&#x27;", "'"), (language, name)
    english = await stack.client.get("/pos", headers={"Accept-Language": "de-DE,en;q=0.8"})
    assert '<html lang="en">' in english.text


def test_the_labels_island_cannot_end_its_script():
    text = json_island({"a": "</script><script>alert(1)</script> & <!--"})
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == {"a": "</script><script>alert(1)</script> & <!--"}


async def test_a_cashier_scans_checks_and_redeems_a_voucher(stack, tmp_path):
    till = await open_till(stack)
    _chat, card = await customer_with_card(stack, name="Соломія")
    voucher = await new_voucher(card.customer_id, title="Знижка 50 грн", min_basket="200.00")
    receipt = f"R-PAGE-{voucher.id}"

    async with headless_chromium() as browser:
        page = await browser.new_page(locale="uk-UA", viewport={"width": 1280, "height": 860})
        languages: list[str] = []

        def note_language(request):
            if "/api/v1/pos/" in request.url:
                languages.append(request.headers.get("accept-language", ""))

        page.on("request", note_language)
        await page.goto(f"{stack.server.base_url}/pos")
        assert await page.title() == t("uk", "Till")

        # A wrong key: the API's reason, and the sign-in form stays.
        await page.fill("#key", "lk_wrong_key")
        await page.press("#key", "Enter")
        unknown = t("uk", "This API key is unknown or revoked.")
        await page.locator("#message").get_by_text(unknown).wait_for()
        assert await page.locator("#work").is_hidden()
        assert await page.evaluate("sessionStorage.length") == 0

        await page.fill("#key", till.key)
        await page.get_by_role("button", name=t("uk", "Sign in")).click()
        await page.locator("#scan").wait_for()
        assert await page.locator("#message").is_hidden()
        assert till.store.name in await page.locator("#store").inner_text()
        assert await page.evaluate("document.activeElement.id") == "scan"

        # A keyboard-wedge scanner types the digits and presses Enter.
        await page.keyboard.type(card.number)
        await page.keyboard.press("Enter")
        await page.locator("#name").get_by_text("Соломія").wait_for()
        assert await page.input_value("#scan") == ""
        assert await page.evaluate("document.activeElement.id") == "scan"
        assert await page.locator("#card-number").inner_text() == format_card_number(card.number)
        since = t("uk", "Customer since {date}").split("{date}")[0]
        assert (await page.locator("#since-line").inner_text()).startswith(since)
        item = page.locator(f'.voucher[data-code="{voucher.code}"]')
        await item.get_by_text("Знижка 50 грн").wait_for()
        assert format_voucher_code(voucher.code) in await item.inner_text()
        assert (await page.input_value("#receipt")).startswith("POS-")

        # Too small a basket: the API's reason. Enough: it applies, with its discount.
        await page.fill("#total", "150")
        await item.get_by_role("button", name=t("uk", "Check")).click()
        await page.locator("#message.message--error").wait_for()
        assert await item.evaluate("e => e.classList.contains('voucher--refused')")
        await page.fill("#total", "250,00")
        await item.get_by_role("button", name=t("uk", "Check")).click()
        applies = t("uk", "Applies: discount {discount}", discount="50,00\xa0грн")
        await page.locator("#message.message--ok").get_by_text(applies).wait_for()
        # The focus stays on the voucher just checked: one Tab to its Redeem button.
        assert await page.evaluate("document.activeElement.textContent") == t("uk", "Check")
        assert await item.evaluate("item => item.contains(document.activeElement)")
        assert await item.evaluate("e => e.classList.contains('voucher--applies')")
        # POS_SCREENSHOT=/tmp/pos.png keeps a picture of the till with a customer on it.
        screenshot = os.environ.get("POS_SCREENSHOT") or str(tmp_path / "pos.png")
        await page.screenshot(path=screenshot, full_page=True)

        await page.fill("#receipt", receipt)
        await item.get_by_role("button", name=t("uk", "Redeem")).click()
        redeemed = t("uk", "Redeemed: discount {discount}", discount="50,00\xa0грн")
        await page.locator("#message.message--ok").get_by_text(redeemed).wait_for()
        await item.wait_for(state="detached")
        await page.locator(".empty").get_by_text(t("uk", "No active vouchers")).wait_for()

        # Scanning the card again, as printed (with spaces): the voucher is gone for good.
        await page.keyboard.type(format_card_number(card.number))
        await page.keyboard.press("Enter")
        await page.locator("#message").wait_for(state="hidden")
        await page.locator(".empty").wait_for()
        assert await page.locator(".voucher").count() == 0
        assert await page.locator("#name").inner_text() == "Соломія"

        # A mistyped number shows the API's own explanation and changes nothing else: the
        # customer, the basket total and the receipt stay.
        await page.keyboard.type(mistyped(card.number) + "\n")
        wrong = t("uk", "This card number is probably mistyped: please check the digits.")
        await page.locator("#message.message--error").get_by_text(wrong).wait_for()
        assert await page.locator("#name").inner_text() == "Соломія"
        assert await page.input_value("#total") == "250,00"
        assert await page.input_value("#receipt") == receipt

        # The key lasts for the browser tab; signing out forgets it.
        await page.reload()
        await page.locator("#scan").wait_for()
        await page.get_by_role("button", name=t("uk", "Sign out")).click()
        await page.locator("#key").wait_for()
        assert await page.evaluate("sessionStorage.length") == 0

    assert languages and all(language.startswith("uk") for language in languages)
    assert (await Voucher.get(id=voucher.id)).uses_count == 1
    redemption = await VoucherRedemption.get(voucher_id=voucher.id)
    assert redemption.receipt_id == receipt
    assert redemption.store_id == till.store.id
    assert redemption.customer_id == card.customer_id


async def test_a_voucher_scanned_by_its_code(stack):
    till = await open_till(stack)
    _chat, card = await customer_with_card(stack, name="Тарас")
    personal = await new_voucher(card.customer_id, title="Кава в подарунок", value="40.00")
    bearer = await new_voucher(None, title="Для всіх", value="25.00")

    async with headless_chromium() as browser:
        page = await browser.new_page(locale="uk-UA")
        await page.goto(f"{stack.server.base_url}/pos")
        await page.fill("#key", till.key)
        await page.press("#key", "Enter")
        await page.locator("#scan").wait_for()

        # A personal voucher alone: whose it is, but it needs the card, and says so.
        await page.keyboard.type(format_voucher_code(personal.code) + "\n")
        item = page.locator(f'.voucher[data-code="{personal.code}"]')
        await item.wait_for()
        assert await page.locator("#name").inner_text() == "Тарас"
        assert await page.locator("#vouchers-title").text_content() == t("uk", "Voucher")
        assert await page.locator("#card-line").is_hidden()
        personal_text = t("uk", "This voucher is personal: scan the customer's card first.")
        await item.get_by_text(personal_text).wait_for()
        assert await item.get_by_role("button").count() == 0

        # The card, then the voucher: the card stays for the receipt, and the voucher applies.
        await page.keyboard.type(card.number + "\n")
        await page.locator("#card-number").get_by_text(format_card_number(card.number)).wait_for()
        await page.fill("#total", "100")
        # The scanner types where the focus is, the basket total here: the code still scans.
        await page.focus("#total")
        await page.keyboard.type(personal.code.lower() + "\n")
        await page.locator("#vouchers-title").get_by_text(t("uk", "Voucher")).wait_for()
        assert await page.locator("#card-line").is_visible()
        assert await page.input_value("#total") == "100"
        await item.get_by_role("button", name=t("uk", "Check")).click()
        applies = t("uk", "Applies: discount {discount}", discount="40,00\xa0грн")
        await page.locator("#message.message--ok").get_by_text(applies).wait_for()
        await item.get_by_role("button", name=t("uk", "Redeem")).click()
        redeemed = t("uk", "Redeemed: discount {discount}", discount="40,00\xa0грн")
        await page.locator("#message").get_by_text(redeemed).wait_for()

        # A new receipt forgets the customer; a bearer voucher needs no card.
        await page.get_by_role("button", name=t("uk", "New receipt")).click()
        await page.locator("#idle").wait_for()
        await page.keyboard.type(bearer.code + "\n")
        bearer_item = page.locator(f'.voucher[data-code="{bearer.code}"]')
        await bearer_item.wait_for()
        assert await page.locator("#name").inner_text() == t("uk", "Voucher")
        bearer_line = t("uk", "Anyone holding the code may use it")
        assert await page.locator("#bearer-line").inner_text() == bearer_line
        await page.fill("#total", "30")
        await bearer_item.get_by_role("button", name=t("uk", "Redeem")).click()
        redeemed = t("uk", "Redeemed: discount {discount}", discount="25,00\xa0грн")
        await page.locator("#message").get_by_text(redeemed).wait_for()

        # Once used, on the next receipt: the voucher is shown as used, with nothing to press.
        await page.get_by_role("button", name=t("uk", "New receipt")).click()
        await page.keyboard.type(bearer.code + "\n")
        await bearer_item.wait_for()
        used = t("uk", "This voucher has already been used.")
        await bearer_item.get_by_text(used).wait_for()
        assert await bearer_item.get_by_role("button").count() == 0

    assert (await Voucher.get(id=personal.id)).uses_count == 1
    assert (await Voucher.get(id=bearer.id)).uses_count == 1
    assert (await VoucherRedemption.get(voucher_id=personal.id)).customer_id == card.customer_id


async def test_errors_come_from_the_api_in_the_cashiers_language(stack):
    till = await open_till(stack)
    marketer = await new_key(Role.MARKETER)
    _chat, card = await customer_with_card(stack)

    async with headless_chromium() as browser:
        page = await browser.new_page(locale="pl-PL")
        await page.goto(f"{stack.server.base_url}/pos")
        assert await page.title() == t("pl", "Till")

        # The right key for another job: refused, and still on the sign-in form.
        await page.fill("#key", marketer)
        await page.press("#key", "Enter")
        forbidden = t("pl", "Your key's role may not do this.")
        await page.locator("#message").get_by_text(forbidden).wait_for()
        assert await page.locator("#work").is_hidden()

        await page.fill("#key", till.key)
        await page.press("#key", "Enter")
        await page.locator("#scan").wait_for()
        await page.keyboard.type(mistyped(card.number) + "\n")
        wrong = t("pl", "This card number is probably mistyped: please check the digits.")
        await page.locator("#message").get_by_text(wrong).wait_for()
        unknown = "9" * (len(card.number) - 1)
        await page.keyboard.type(unknown + luhn_check_digit(unknown) + "\n")
        await page.locator("#message").get_by_text(t("pl", "No card has this number.")).wait_for()
        await page.keyboard.type("HELLO!\n")
        unreadable = t("pl", "This is neither a card number nor a voucher code.")
        await page.locator("#message").get_by_text(unreadable).wait_for()

        # The key is revoked while the page is open: the next call brings back the sign-in.
        revoked = t("pl", "This API key is unknown or revoked.")

        async def revoked_key(route):
            body = json.dumps({"detail": revoked, "code": "key_invalid"})
            await route.fulfill(status=401, body=body, content_type="application/json")

        await page.route("**/api/v1/pos/cards/**", revoked_key)
        await page.keyboard.type(card.number + "\n")
        await page.locator("#message").get_by_text(revoked).wait_for()
        assert await page.locator("#work").is_hidden()
        assert await page.evaluate("sessionStorage.length") == 0


async def test_the_camera_reads_a_qr_code(stack):
    till = await open_till(stack)
    _chat, card = await customer_with_card(stack, name="Ірина")

    async with headless_chromium() as browser:
        # Without BarcodeDetector (Chromium on Linux), there is no camera button.
        page = await browser.new_page(locale="uk-UA")
        await page.goto(f"{stack.server.base_url}/pos")
        await page.fill("#key", till.key)
        await page.press("#key", "Enter")
        await page.locator("#scan").wait_for()
        has_detector = await page.evaluate("'BarcodeDetector' in window")
        assert await page.locator("#camera").is_visible() == has_detector
        await page.close()

        # A detector and a camera that see the customer's card QR code.
        page = await browser.new_page(locale="uk-UA")
        await page.add_init_script(
            """
            window.BarcodeDetector = class {
              constructor(options) { window.__formats = options.formats; }
              static async getSupportedFormats() { return ["qr_code", "ean_13"]; }
              async detect() { return window.__seen ? [{ rawValue: window.__seen }] : []; }
            };
            navigator.mediaDevices.getUserMedia = async () => {
              const canvas = document.createElement("canvas");
              window.__stream = canvas.captureStream(5);
              return window.__stream;
            };
            """
        )
        await page.goto(f"{stack.server.base_url}/pos")
        await page.fill("#key", till.key)
        await page.press("#key", "Enter")
        camera = page.get_by_role("button", name=t("uk", "Camera"))
        await camera.click()
        await page.locator("#camera-box").wait_for()
        assert await page.evaluate("window.__formats") == ["qr_code"]
        await page.evaluate("number => { window.__seen = number; }", card.number)
        await page.locator("#name").get_by_text("Ірина").wait_for()
        assert await page.locator("#camera-box").is_hidden()
        states = await page.evaluate("window.__stream.getTracks().map(t => t.readyState)")
        assert states and all(state == "ended" for state in states)

// The cashier's page: a thin client of /api/v1/pos. Its fixed texts come from the server
// (the JSON island "labels"); everything else the API says is already in the right language.
(function () {
  "use strict";

  const KEY_STORAGE = "loyalty.pos.key";
  const L = JSON.parse(document.getElementById("labels").textContent);
  const $ = (id) => document.getElementById(id);
  const say = (template, values) =>
    template.replace(/\{(\w+)\}/g, (all, name) => (values && name in values ? values[name] : all));
  const acceptLanguage = [...new Set([navigator.language, ...(navigator.languages || [])])]
    .filter(Boolean)
    .join(",");
  const dateLocale = document.documentElement.lang || navigator.language;
  const message = $("message");

  let apiKey = null;
  let currency = "";
  let storeZone;
  let categories = []; // [{path, name}]: what an amount can be put in
  let redeemed = []; // voucher codes redeemed on this receipt, recorded with it
  let receiptAt = null; // when this receipt began: the same on every retry of recording it // the store's time zone: dates are shown as the store's calendar has them
  let card = null; // the card scanned for this receipt: the API ties vouchers to its customer
  let shown = null; // what the result panel shows: {kind, customer, vouchers, hints}
  let scans = 0; // only the answer to the latest scan is shown
  let stream = null;

  // ---- talking to the API -------------------------------------------------------------------

  function detailOf(data, status) {
    if (data && typeof data.detail === "string") return data.detail;
    if (data && Array.isArray(data.detail)) {
      return data.detail.map((problem) => problem.msg).filter(Boolean).join("; ");
    }
    return status ? `${L.network_error} (${status})` : L.network_error;
  }

  async function api(method, path, body) {
    let response;
    try {
      response = await fetch(path, {
        method,
        cache: "no-store",
        headers: {
          Authorization: "Bearer " + apiKey,
          "Accept-Language": acceptLanguage,
          ...(body ? { "Content-Type": "application/json" } : {}),
        },
        body: body ? JSON.stringify(body) : undefined,
      });
    } catch (error) {
      return { ok: false, status: 0, detail: L.network_error, data: {} };
    }
    const data = await response.json().catch(() => ({}));
    const detail = response.ok ? "" : detailOf(data, response.status);
    if (response.status === 401) signOut(detail);
    return { ok: response.ok, status: response.status, detail, data };
  }

  // ---- messages -----------------------------------------------------------------------------

  // tone: "ok" or "error"; a big message is the outcome the cashier must not miss. The
  // region stays where it is and visible (empty, it takes no room), so it is announced.
  function showMessage(text, tone, big) {
    message.textContent = text || "";
    message.className = "message message--" + (tone || "error") + (big ? " message--big" : "");
  }

  const clearMessage = () => showMessage("", "ok");

  // ---- signing in and out -------------------------------------------------------------------

  function signOut(reason) {
    apiKey = null;
    sessionStorage.removeItem(KEY_STORAGE);
    stopCamera();
    forgetCustomer();
    $("work").hidden = true;
    $("scan-form").hidden = true;
    $("sign-out").hidden = true;
    $("store").textContent = "";
    $("sign-in").hidden = false;
    showMessage(reason, "error");
    $("key").focus();
  }

  async function signIn(key) {
    if (!key) return;
    apiKey = key;
    const button = $("sign-in-button");
    button.disabled = true;
    const { ok, status, detail, data } = await api("GET", "/api/v1/pos/me");
    button.disabled = false;
    if (status === 401) return; // api() is back on the sign-in form, with the reason
    if (!ok) {
      apiKey = null;
      sessionStorage.removeItem(KEY_STORAGE);
      showMessage(detail, "error");
      return;
    }
    sessionStorage.setItem(KEY_STORAGE, key);
    currency = data.store ? data.store.currency : "";
    storeZone = (data.store && data.store.timezone) || undefined;
    $("currency").textContent = currencySign();
    $("store").textContent = [data.store && data.store.name, data.till].filter(Boolean).join(" · ");
    const found = await api("GET", "/api/v1/pos/categories");
    categories = found.ok ? found.data.categories : [];
    $("categories").hidden = !categories.length;
    resetCategories();
    $("sign-in").hidden = true;
    $("work").hidden = false;
    $("scan-form").hidden = false;
    $("sign-out").hidden = false;
    clearMessage();
    showIdle();
    focusScan();
  }

  // ---- the receipt --------------------------------------------------------------------------

  function receiptNumber() {
    const stamp = new Date().toISOString().replace(/\D/g, "").slice(2, 14);
    const random = Math.floor(Math.random() * 46656).toString(36).toUpperCase().padStart(3, "0");
    return `POS-${stamp}-${random}`;
  }

  function newReceipt() {
    $("receipt").value = receiptNumber();
    $("total").value = "";
    $("total").classList.remove("is-invalid");
    receiptAt = new Date().toISOString();
    redeemed = [];
    showApplied();
    resetCategories();
  }

  // Money as whole cents, so amounts add up exactly.
  function cents(text) {
    const amount = (text || "").replace(/\s/g, "").replace(",", ".");
    if (!/^\d{1,10}(\.\d{1,2})?$/.test(amount)) return null;
    const [whole, fraction = ""] = amount.split(".");
    return Number(whole) * 100 + Number(fraction.padEnd(2, "0"));
  }

  const fromCents = (value) => `${Math.floor(value / 100)}.${String(value % 100).padStart(2, "0")}`;

  function basketTotal() {
    const value = cents($("total").value);
    return value === null ? null : fromCents(value);
  }

  // ---- amounts by category ------------------------------------------------------------------

  function resetCategories() {
    $("category-rows").replaceChildren();
    if (categories.length) addCategoryRow(false);
  }

  function addCategoryRow(focus) {
    const row = element("div", "category-row");
    const select = document.createElement("select");
    select.className = "field__input category-row__category";
    select.setAttribute("aria-label", L.category);
    select.append(
      new Option(L.no_category, ""),
      ...categories.map((c) => new Option(c.path.join(" / "), JSON.stringify(c.path))),
    );
    const amount = document.createElement("input");
    amount.className = "field__input category-row__amount";
    amount.inputMode = "decimal";
    amount.autocomplete = "off";
    amount.setAttribute("aria-label", L.category_amount);
    const remove = button("×", "button button--small category-row__remove");
    remove.setAttribute("aria-label", L.remove);
    remove.addEventListener("click", () => {
      row.remove();
      if (!$("category-rows").children.length) addCategoryRow(false);
      $("add-category").focus();
      unmarkVouchers();
    });
    for (const control of [select, amount]) control.addEventListener("input", unmarkVouchers);
    row.append(select, amount, remove);
    $("category-rows").append(row);
    if (focus) select.focus();
  }

  // The basket's lines: each amount in its category, an empty amount beside a category taking
  // the rest of the total, and whatever is left a line of no category.
  function basketLines(totalCents) {
    const rows = [...document.querySelectorAll(".category-row")].map((row) => {
      const chosen = row.querySelector("select").value;
      return { path: chosen ? JSON.parse(chosen) : [], text: row.querySelector("input").value.trim() };
    });
    let given = 0;
    for (const row of rows) {
      if (!row.text) continue;
      row.cents = cents(row.text);
      if (row.cents === null) return { problem: L.amount_unreadable };
      given += row.cents;
    }
    if (given > totalCents) return { problem: L.amounts_too_big };
    let rest = totalCents - given;
    const lines = [];
    for (const row of rows) {
      let value = row.text ? row.cents : 0;
      if (!row.text && rest > 0 && row.path.length) {
        value = rest;
        rest = 0;
      }
      if (value > 0) lines.push({ category_path: row.path, cents: value });
    }
    if (rest > 0 || !lines.length) lines.push({ category_path: [], cents: rest });
    return {
      lines: lines.map((line) => ({
        sku: L.till_amount_sku,
        category_path: line.category_path,
        quantity: "1",
        unit_price: fromCents(line.cents),
        line_total: fromCents(line.cents),
      })),
    };
  }

  function unmarkVouchers() {
    for (const item of document.querySelectorAll(".voucher")) mark(item, null);
  }

  const forReading = (code) => `${code.slice(0, 4)}-${code.slice(4, 8)}-${code.slice(8)}`;

  function showApplied() {
    $("applied").hidden = !redeemed.length;
    $("applied").textContent = redeemed.length
      ? say(L.applied, { codes: redeemed.map(forReading).join(", ") })
      : "";
  }

  // The till sends no product lines here: the basket is the total, by category when given.
  function basket() {
    const total = basketTotal();
    if (total === null) {
      $("total").classList.add("is-invalid");
      showMessage(L.enter_total, "error");
      $("total").focus();
      return null;
    }
    $("total").classList.remove("is-invalid");
    const { lines, problem } = basketLines(cents(total));
    if (problem) {
      showMessage(problem, "error");
      return null;
    }
    const body = { total, lines };
    if (card) body.card = card.number;
    return body;
  }

  // ---- recording the receipt ----------------------------------------------------------------

  // Recording again the same receipt (a retry, a second press) gets the same answer: the
  // receipt number and its moment stay the same until a new receipt.
  async function recordReceipt() {
    const body = basket();
    if (!body) return;
    if (!$("receipt").value.trim()) $("receipt").value = receiptNumber();
    if (!receiptAt) receiptAt = new Date().toISOString();
    const receipt = $("receipt").value.trim();
    const purchase = {
      receipt_id: receipt,
      purchased_at: receiptAt,
      total: body.total,
      lines: body.lines.map((line) => ({ ...line, name: L.till_amount, discount: "0.00" })),
      payments: [{ method: "till", amount: body.total }],
      vouchers: redeemed,
    };
    if (card) purchase.card = card.number;
    const control = $("record");
    control.disabled = true;
    const { ok, status, detail, data } = await api("POST", "/api/v1/pos/purchases", purchase);
    control.disabled = false;
    if (status === 401) return;
    if (!ok) {
      showMessage(detail, "error");
    } else {
      showMessage(say(L.recorded, { receipt, total: money(data.total) }), "ok", true);
    }
    control.focus();
  }

  // Amounts as the cashier's language writes them, always with the store's currency.
  function money(amount) {
    if (!currency) return amount;
    try {
      const format = new Intl.NumberFormat(dateLocale, { style: "currency", currency });
      return format.format(Number(amount)); // display only: two decimals fit a double exactly
    } catch (error) {
      return `${amount} ${currency}`;
    }
  }

  // The currency as the cashier's language writes it beside an amount: грн, zł, Kč.
  function currencySign() {
    if (!currency) return "";
    try {
      const parts = new Intl.NumberFormat(dateLocale, { style: "currency", currency }).formatToParts(0);
      return (parts.find((part) => part.type === "currency") || {}).value || currency;
    } catch (error) {
      return currency;
    }
  }

  // A day as the store's calendar has it, not the browser's.
  function formatDate(iso) {
    const date = new Date(iso);
    const options = { day: "numeric", month: "long", year: "numeric", timeZone: storeZone };
    try {
      return date.toLocaleDateString(dateLocale, options);
    } catch (error) {
      return date.toLocaleDateString();
    }
  }

  // ---- scanning -----------------------------------------------------------------------------

  function focusScan() {
    if (!$("work").hidden) $("scan").focus();
  }

  async function scan(raw) {
    const code = (raw || "").trim();
    $("scan").value = "";
    focusScan();
    if (!code) return;
    const ticket = ++scans;
    $("scan-form").setAttribute("aria-busy", "true");
    // The card on screen goes along: another customer's voucher then says so.
    const query = card ? "?card=" + encodeURIComponent(card.number) : "";
    const { ok, status, detail, data } = await api(
      "GET",
      "/api/v1/pos/cards/" + encodeURIComponent(code) + query,
    );
    if (ticket !== scans) return; // a newer scan is on its way
    $("scan-form").removeAttribute("aria-busy");
    if (status === 401) return;
    if (!ok) {
      // A misread scan changes nothing: the customer, the basket and the receipt stay.
      showMessage(detail, "error");
      return;
    }
    clearMessage();
    if (data.kind === "card") {
      if (!card || card.number !== data.card.number) newReceipt();
      card = data.card;
      shown = {
        kind: "card",
        customer: data.customer,
        vouchers: data.vouchers || [],
        hints: data.hints || [],
      };
      render();
      return;
    }
    if (!card && !$("receipt").value) newReceipt();
    const voucher = (data.vouchers || [])[0];
    // A voucher scanned after a card keeps that card and its customer on screen: one
    // customer per receipt. Another customer's voucher is shown as such, and said aloud.
    shown = {
      kind: "voucher",
      customer: card && shown ? shown.customer : data.customer,
      vouchers: data.vouchers || [],
      hints: card && shown ? shown.hints : [],
    };
    render();
    if (voucher && voucher.state === "not_this_customer") {
      showMessage(L.other_customer, "error", true);
    }
  }

  function forgetCustomer() {
    card = null;
    shown = null;
    $("receipt").value = "";
    $("total").value = "";
    receiptAt = null;
    redeemed = [];
    showApplied();
    resetCategories();
  }

  function showIdle() {
    $("result").hidden = true;
    $("idle").hidden = false;
  }

  // ---- the result panel ---------------------------------------------------------------------

  function render() {
    $("idle").hidden = true;
    $("result").hidden = false;
    const customer = shown.customer;
    $("name").textContent = customer ? customer.first_name || "—" : L.voucher;
    $("card-line").hidden = !card;
    $("card-number").textContent = card ? card.number_for_reading : "";
    $("since-line").hidden = !customer;
    $("since-line").textContent = customer
      ? say(L.customer_since, { date: formatDate(customer.customer_since) })
      : "";
    $("bearer-line").hidden = Boolean(customer) || shown.kind !== "voucher";
    $("hints").replaceChildren(
      ...shown.hints.map((hint) => element("li", "hint", hint.text)),
    );
    $("vouchers-title").textContent = shown.kind === "voucher" ? L.voucher : L.vouchers;
    renderVouchers();
  }

  function renderVouchers() {
    const list = $("vouchers");
    if (!shown.vouchers.length) {
      list.replaceChildren(element("li", "empty", L.no_vouchers));
      return;
    }
    list.replaceChildren(...shown.vouchers.map(voucherItem));
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function voucherItem(voucher) {
    const item = element("li", "voucher");
    item.dataset.code = voucher.code;
    const body = element("div", "voucher__body");
    const head = element("div", "voucher__head");
    head.append(
      element("span", "voucher__value", voucher.value_text),
      element("span", "voucher__code", voucher.code_for_reading),
    );
    body.append(
      head,
      element("div", "voucher__title", voucher.title),
      element("div", "voucher__valid", validity(voucher)),
    );
    if (voucher.conditions.length) {
      const conditions = element("ul", "voucher__conditions");
      conditions.append(...voucher.conditions.map((text) => element("li", "", text)));
      body.append(conditions);
    }
    if (voucher.state && voucher.state !== "usable") {
      // Used, not valid yet, someone else's...: why, and nothing to press.
      item.classList.add("voucher--unusable");
      item.dataset.state = voucher.state;
      body.append(element("p", "voucher__state", voucher.state_text));
      item.append(body);
      return item;
    }
    const actions = element("div", "voucher__actions");
    const check = button(L.check, "button");
    const redeem = button(L.redeem, "button button--primary");
    check.addEventListener("click", () => checkVoucher(voucher, item));
    redeem.addEventListener("click", () => redeemVoucher(voucher, item));
    actions.append(check, redeem);
    item.append(body, actions);
    return item;
  }

  function validity(voucher) {
    if (new Date(voucher.valid_from) > new Date()) {
      return say(L.valid_from_until, {
        start: formatDate(voucher.valid_from),
        end: formatDate(voucher.valid_until),
      });
    }
    return say(L.valid_until, { date: formatDate(voucher.valid_until) });
  }

  function button(label, className) {
    const node = element("button", className, label);
    node.type = "button";
    return node;
  }

  function setBusy(item, busy) {
    for (const control of item.querySelectorAll("button")) control.disabled = busy;
    item.classList.toggle("is-busy", busy);
  }

  function mark(item, verdict) {
    item.classList.remove("voucher--applies", "voucher--refused");
    if (verdict) item.classList.add("voucher--" + verdict);
  }

  async function checkVoucher(voucher, item) {
    const body = basket();
    if (!body) return;
    setBusy(item, true);
    const path = `/api/v1/pos/vouchers/${encodeURIComponent(voucher.code)}/validate`;
    const { ok, status, detail, data } = await api("POST", path, body);
    setBusy(item, false); // enabled again before the focus comes back to it
    if (status === 401) return;
    if (!ok) {
      mark(item, "refused");
      showMessage(detail, "error");
    } else if (data.applies) {
      mark(item, "applies");
      showMessage(say(L.applies, { discount: money(data.discount) }), "ok");
    } else {
      mark(item, "refused");
      showMessage(data.reason, "error");
    }
    // The focus stays on the voucher just checked: Tab reaches its Redeem button. A scanner
    // still works: keys typed outside a field go to the scan field.
    if (item.isConnected) item.querySelector("button").focus();
  }

  async function redeemVoucher(voucher, item) {
    const body = basket();
    if (!body) return;
    if (!$("receipt").value.trim()) $("receipt").value = receiptNumber();
    if (!receiptAt) receiptAt = new Date().toISOString();
    body.receipt_id = $("receipt").value.trim();
    setBusy(item, true);
    const path = `/api/v1/pos/vouchers/${encodeURIComponent(voucher.code)}/redeem`;
    const { ok, status, detail, data } = await api("POST", path, body);
    if (status === 401) return;
    if (!ok) {
      setBusy(item, false);
      mark(item, "refused");
      showMessage(detail, "error");
      focusScan();
      return;
    }
    showMessage(say(L.redeemed, { discount: money(data.discount) }), "ok", true);
    if (!redeemed.includes(voucher.code)) redeemed.push(voucher.code);
    showApplied();
    shown.vouchers = shown.vouchers.filter((v) => v.code !== voucher.code);
    renderVouchers();
    focusScan();
  }

  // ---- the camera ---------------------------------------------------------------------------

  function cameraPossible() {
    return (
      "BarcodeDetector" in window &&
      Boolean(navigator.mediaDevices) &&
      typeof navigator.mediaDevices.getUserMedia === "function"
    );
  }

  async function startCamera() {
    let detector;
    try {
      detector = new window.BarcodeDetector({ formats: ["qr_code"] });
      stream = await navigator.mediaDevices.getUserMedia({
        video: { facingMode: "environment" },
        audio: false,
      });
    } catch (error) {
      stopCamera();
      showMessage(L.camera_failed, "error");
      return;
    }
    const session = stream;
    const video = $("preview");
    video.srcObject = stream;
    video.play().catch(() => {});
    $("camera-box").hidden = false;
    $("camera").textContent = L.stop_camera;
    $("camera").setAttribute("aria-pressed", "true");
    const look = async () => {
      if (stream !== session) return;
      const codes = await detector.detect(video).catch(() => []);
      if (stream !== session) return;
      const found = codes.find((code) => code.rawValue);
      if (found) {
        stopCamera();
        scan(found.rawValue);
        return;
      }
      setTimeout(look, 150);
    };
    look();
  }

  function stopCamera() {
    if (stream) stream.getTracks().forEach((track) => track.stop());
    stream = null;
    $("preview").srcObject = null;
    $("camera-box").hidden = true;
    $("camera").textContent = L.camera;
    $("camera").setAttribute("aria-pressed", "false");
  }

  if (cameraPossible()) {
    $("camera").hidden = false;
    $("camera").addEventListener("click", () => (stream ? stopCamera() : startCamera()));
    if (typeof window.BarcodeDetector.getSupportedFormats === "function") {
      window.BarcodeDetector.getSupportedFormats()
        .then((formats) => {
          if (!formats.includes("qr_code")) $("camera").hidden = true;
        })
        .catch(() => {});
    }
    document.addEventListener("visibilitychange", () => {
      if (document.hidden) stopCamera();
    });
  }

  // ---- wiring -------------------------------------------------------------------------------

  $("sign-in").addEventListener("submit", (event) => {
    event.preventDefault();
    const key = $("key").value.trim();
    $("key").value = "";
    signIn(key);
  });
  $("sign-out").addEventListener("click", () => signOut(""));
  $("scan-form").addEventListener("submit", (event) => {
    event.preventDefault();
    scan($("scan").value);
  });
  $("new-receipt").addEventListener("click", () => {
    forgetCustomer();
    clearMessage();
    showIdle();
    focusScan();
  });
  $("total").addEventListener("input", () => {
    $("total").classList.remove("is-invalid");
    unmarkVouchers();
  });
  $("add-category").addEventListener("click", () => addCategoryRow(true));
  $("record").addEventListener("click", recordReceipt);

  // A keyboard-wedge scanner types wherever the focus is. In the basket total (never scanned
  // itself, unlike a receipt barcode), Enter after something that is no amount but ends in a
  // voucher code or a card number scans that code and leaves the amount typed before it. What
  // was typed is what decides, not how fast: a busy till may deliver a scanner's keys slowly.
  const VOUCHER_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
  const isAmount = (text) => /^\d{1,10}([.,]\d{1,2})?$/.test(text.replace(/\s/g, ""));

  function isVoucherCode(text) {
    const code = text.replace(/[\s-]/g, "").toUpperCase();
    if (code.length !== 9 || [...code].some((char) => !VOUCHER_ALPHABET.includes(char))) {
      return false;
    }
    // The check character: Luhn mod 32, as crm_core/vouchers/codes.py computes it.
    const base = VOUCHER_ALPHABET.length;
    let total = 0;
    let factor = 2;
    for (const char of [...code.slice(0, -1)].reverse()) {
      const addend = factor * VOUCHER_ALPHABET.indexOf(char);
      total += Math.floor(addend / base) + (addend % base);
      factor = factor === 2 ? 1 : 2;
    }
    return VOUCHER_ALPHABET[(base - (total % base)) % base] === code.slice(-1);
  }

  function isCardNumber(text) {
    const digits = text.replace(/[\s-]/g, "");
    if (!/^\d{11,19}$/.test(digits)) return false;
    let total = 0;
    [...digits].reverse().forEach((char, index) => {
      let value = Number(char);
      if (index % 2 === 1) value = value * 2 > 9 ? value * 2 - 9 : value * 2;
      total += value;
    });
    return total % 10 === 0;
  }

  // The code at the end of what the total field holds, and the amount before it.
  function scannedInto(value, burstStart) {
    if (isAmount(value)) return null;
    const splits = [burstStart, ...value.split("").map((_, index) => index)];
    for (const at of splits) {
      if (at === null || at < 0 || at > value.length) continue;
      const before = value.slice(0, at);
      const code = value.slice(at).trim();
      if (before.trim() && !isAmount(before)) continue;
      if (isVoucherCode(code) || isCardNumber(code)) return { before, code };
    }
    return null;
  }

  function watchForScanner(field) {
    let burstStart = null; // where the latest quick run of keys began: a hint for card digits
    let last = 0;
    field.addEventListener("keydown", (event) => {
      const now = performance.now();
      if (event.key === "Enter") {
        const found = scannedInto(field.value, burstStart);
        burstStart = null;
        if (found) {
          event.preventDefault();
          field.value = found.before;
          scan(found.code);
        }
        return;
      }
      if (event.key.length !== 1 || event.ctrlKey || event.metaKey || event.altKey) return;
      if (burstStart === null || now - last > 40) burstStart = field.selectionStart;
      last = now;
    });
  }
  watchForScanner($("total"));

  // When the focus is on no field (say, on a button just clicked), send keystrokes to the
  // scan field.
  document.addEventListener("keydown", (event) => {
    if ($("work").hidden || event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement) return;
    if (event.key.length === 1 && event.key !== " ") $("scan").focus();
  });

  const remembered = sessionStorage.getItem(KEY_STORAGE);
  if (remembered) signIn(remembered);
  else signOut("");
})();

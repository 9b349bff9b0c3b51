// The cashier's page: a thin client of /api/v1/pos. Texts come from the server.
(function () {
  "use strict";
  const KEY_STORAGE = "loyalty.pos.key";
  const L = JSON.parse(document.getElementById("labels").textContent);
  const $ = (id) => document.getElementById(id);
  const say = (template, values) =>
    template.replace(/\{(\w+)\}/g, (_, name) => (values && name in values ? values[name] : ""));
  const locale = navigator.language || "uk";
  let apiKey = sessionStorage.getItem(KEY_STORAGE);
  let current = null; // {card, vouchers}
  let stream = null;

  for (const [id, key] of [
    ["key-label", "api_key"], ["sign-in-button", "sign_in"], ["sign-out", "sign_out"],
    ["find", "find"], ["camera", "camera"], ["total-label", "basket_total"],
    ["receipt-label", "receipt"], ["vouchers-title", "vouchers"],
  ]) {
    $(id).textContent = L[key];
  }
  $("scan").placeholder = L.scan;
  $("scan").setAttribute("aria-label", L.scan);

  function showMessage(text, ok) {
    const box = $("message");
    box.textContent = text;
    box.className = "message " + (ok ? "message--ok" : "message--error");
    box.hidden = !text;
  }

  async function api(method, path, body) {
    let response;
    try {
      response = await fetch(path, {
        method,
        headers: {
          "Authorization": "Bearer " + apiKey,
          "Accept-Language": locale,
          ...(body ? { "Content-Type": "application/json" } : {}),
        },
        body: body ? JSON.stringify(body) : undefined,
      });
    } catch (error) {
      return { ok: false, status: 0, data: { detail: L.network_error } };
    }
    const data = await response.json().catch(() => ({}));
    if (response.status === 401) signOut(data.detail);
    return { ok: response.ok, status: response.status, data };
  }

  function signOut(reason) {
    apiKey = null;
    sessionStorage.removeItem(KEY_STORAGE);
    stopCamera();
    $("work").hidden = true;
    $("sign-out").hidden = true;
    $("store").textContent = "";
    $("sign-in").hidden = false;
    showMessage(reason || "", false);
    $("key").focus();
  }

  async function signIn(key) {
    apiKey = key;
    const { ok, data } = await api("GET", "/api/v1/pos/me");
    if (!ok) return;
    sessionStorage.setItem(KEY_STORAGE, key);
    $("store").textContent = data.store ? `${data.store.name} · ${data.till || ""}` : "";
    $("sign-in").hidden = true;
    $("work").hidden = false;
    $("sign-out").hidden = false;
    showMessage("", true);
    newReceipt();
    $("scan").focus();
  }

  function newReceipt() {
    const stamp = new Date().toISOString().replace(/\D/g, "").slice(0, 14);
    $("receipt").value = "POS-" + stamp + "-" + Math.floor(Math.random() * 1000);
  }

  function formatDate(iso) {
    return new Date(iso).toLocaleDateString(locale, { day: "numeric", month: "long", year: "numeric" });
  }

  function basket() {
    const total = $("total").value.trim().replace(",", ".");
    if (!/^\d+(\.\d{1,2})?$/.test(total)) return null;
    const body = {
      total,
      lines: [{ sku: "BASKET", category_path: [], quantity: "1", unit_price: total, line_total: total }],
    };
    if (current && current.card) body.card = current.card.number;
    return body;
  }

  function render(result) {
    current = { card: result.card, vouchers: result.vouchers };
    $("result").hidden = false;
    $("name").textContent = (result.customer && result.customer.first_name) || "—";
    const meta = [];
    if (result.card) meta.push(L.card + " " + result.card.number_for_reading);
    if (result.customer) meta.push(say(L.customer_since, { date: formatDate(result.customer.customer_since) }));
    $("meta").textContent = meta.join(" · ");
    $("hints").replaceChildren(...result.hints.map((hint) => {
      const item = document.createElement("li");
      item.textContent = hint.text;
      return item;
    }));
    renderVouchers();
  }

  function renderVouchers() {
    const list = $("vouchers");
    if (!current.vouchers.length) {
      const empty = document.createElement("li");
      empty.className = "empty";
      empty.textContent = L.no_vouchers;
      list.replaceChildren(empty);
      return;
    }
    list.replaceChildren(...current.vouchers.map(voucherItem));
  }

  function voucherItem(voucher) {
    const item = document.createElement("li");
    item.className = "voucher";
    item.dataset.code = voucher.code;
    const text = document.createElement("div");
    const title = document.createElement("div");
    title.className = "voucher__title";
    title.textContent = voucher.title;
    const value = document.createElement("div");
    value.className = "voucher__value";
    value.textContent = voucher.value_text + " · " + voucher.code_for_reading;
    const meta = document.createElement("div");
    meta.className = "voucher__meta";
    meta.textContent = [say(L.valid_until, { date: formatDate(voucher.valid_until) }), ...voucher.conditions].join(" · ");
    text.append(title, value, meta);
    const actions = document.createElement("div");
    actions.className = "voucher__actions";
    const check = button(L.check, () => checkVoucher(voucher));
    const redeem = button(L.redeem, () => redeemVoucher(voucher, redeem));
    redeem.classList.add("button--primary");
    actions.append(check, redeem);
    item.append(text, actions);
    return item;
  }

  function button(label, action) {
    const element = document.createElement("button");
    element.type = "button";
    element.className = "button";
    element.textContent = label;
    element.addEventListener("click", action);
    return element;
  }

  async function checkVoucher(voucher) {
    const body = basket();
    if (!body) return showMessage(L.enter_total, false), $("total").focus();
    const { ok, data } = await api("POST", `/api/v1/pos/vouchers/${voucher.code}/validate`, body);
    if (!ok) return showMessage(data.detail, false);
    showMessage(data.applies ? say(L.applies, { discount: data.discount }) : data.reason, data.applies);
  }

  async function redeemVoucher(voucher, control) {
    const body = basket();
    if (!body) return showMessage(L.enter_total, false), $("total").focus();
    body.receipt_id = $("receipt").value.trim();
    control.disabled = true;
    const { ok, data } = await api("POST", `/api/v1/pos/vouchers/${voucher.code}/redeem`, body);
    control.disabled = false;
    if (!ok) return showMessage(data.detail, false);
    showMessage(say(L.redeemed, { discount: data.discount }), true);
    current.vouchers = current.vouchers.filter((v) => v.code !== voucher.code);
    renderVouchers();
    $("scan").focus();
  }

  async function scan(code) {
    const cleaned = code.trim();
    if (!cleaned) return;
    $("scan").value = "";
    $("scan").focus();
    const { ok, data } = await api("GET", "/api/v1/pos/cards/" + encodeURIComponent(cleaned));
    if (!ok) {
      $("result").hidden = true;
      current = null;
      return showMessage(data.detail, false);
    }
    showMessage("", true);
    newReceipt();
    render(data);
  }

  async function startCamera() {
    if (stream) return stopCamera();
    const detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
    const video = $("preview");
    video.srcObject = stream;
    video.hidden = false;
    $("camera").textContent = L.stop_camera;
    await video.play();
    const tick = async () => {
      if (!stream) return;
      const codes = await detector.detect(video).catch(() => []);
      if (codes.length) {
        stopCamera();
        return scan(codes[0].rawValue);
      }
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  }

  function stopCamera() {
    if (stream) stream.getTracks().forEach((track) => track.stop());
    stream = null;
    $("preview").hidden = true;
    $("camera").textContent = L.camera;
  }

  $("sign-in").addEventListener("submit", (event) => {
    event.preventDefault();
    signIn($("key").value.trim());
    $("key").value = "";
  });
  $("sign-out").addEventListener("click", () => signOut(""));
  $("scan-form").addEventListener("submit", (event) => {
    event.preventDefault();
    scan($("scan").value);
  });
  if ("BarcodeDetector" in window && navigator.mediaDevices) {
    $("camera").hidden = false;
    $("camera").addEventListener("click", () => startCamera().catch((error) => showMessage(String(error), false)));
  }

  if (apiKey) signIn(apiKey);
  else signOut("");
})();

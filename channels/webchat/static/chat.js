// The built-in web chat: a thin client of /api/v1/webchat; all wording comes from the server.
(function () {
  "use strict";
  const STORAGE_KEY = "loyalty.webchat.session";
  const L = JSON.parse(document.getElementById("labels").textContent);
  const log = document.getElementById("log");
  const messages = document.getElementById("messages");
  const choices = document.getElementById("choices");
  const form = document.getElementById("composer");
  const input = document.getElementById("input");
  const sendButton = document.getElementById("send");
  let sessionId = localStorage.getItem(STORAGE_KEY);
  let busy = false;

  const say = (template, values) =>
    template.replace(/\{(\w+)\}/g, (all, name) => (name in values ? values[name] : all));

  // The newest message fully in view: after each message, when the quick replies below the
  // log take their room, when a picture arrives and when the window changes size.
  function scrollToEnd() {
    log.scrollTop = log.scrollHeight;
  }

  function describe(reply) {
    if (reply.image_kind === "card") return say(L.qr_card, { number: reply.image_code });
    if (reply.image_kind === "voucher") return say(L.qr_voucher, { code: reply.image_code });
    return "";
  }

  function addMessage(kind, text, reply) {
    const item = document.createElement("li");
    item.className = "msg msg--" + kind;
    item.textContent = text;
    if (reply && reply.image_url) {
      const image = document.createElement("img");
      image.src = reply.image_url;
      image.alt = describe(reply);
      image.width = 220;
      image.height = 220;
      image.addEventListener("load", scrollToEnd);
      item.appendChild(image);
    }
    messages.appendChild(item);
    scrollToEnd();
  }

  function showChoices(buttons) {
    choices.replaceChildren();
    for (const button of buttons) {
      if (button.url) {
        // "Open in Telegram": a link that leaves the page, not a message.
        const link = document.createElement("a");
        link.href = button.url;
        link.target = "_blank";
        link.rel = "noopener";
        link.textContent = button.label;
        choices.appendChild(link);
        continue;
      }
      const element = document.createElement("button");
      element.type = "button";
      element.textContent = button.label;
      element.addEventListener("click", () => send(button.payload, button.label));
      choices.appendChild(element);
    }
    scrollToEnd(); // the buttons made the log shorter
  }

  // The phone keypad while the bot waits for a phone number, also after a mistyped one.
  function expectPhone(yes) {
    input.type = yes ? "tel" : "text";
    input.inputMode = yes ? "tel" : "text";
    input.autocomplete = yes ? "tel" : "off";
  }

  function render(replies) {
    let buttons = [];
    let phone = false;
    for (const reply of replies) {
      addMessage("bot", reply.text, reply);
      buttons = reply.buttons.length ? reply.buttons : reply.menu;
      phone = reply.expects_phone;
    }
    expectPhone(phone);
    showChoices(buttons);
    input.focus();
  }

  async function post(path, body) {
    const response = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    const data = await response.json().catch(() => ({}));
    return { status: response.status, data };
  }

  async function openSession(existing) {
    const { status, data } = await post("/api/v1/webchat/sessions", {
      session_id: existing || null,
      language: navigator.language || null,
    });
    if (status !== 200) {
      addMessage("error", (data && data.detail) || "Error " + status);
      return;
    }
    sessionId = data.session_id;
    localStorage.setItem(STORAGE_KEY, sessionId);
    render(data.replies);
  }

  async function send(text, shown) {
    if (busy || !text) return;
    busy = true;
    sendButton.disabled = true;
    addMessage("me", shown || text);
    choices.replaceChildren();
    try {
      const { status, data } = await post("/api/v1/webchat/messages", { session_id: sessionId, text });
      if (status === 404) {
        localStorage.removeItem(STORAGE_KEY);
        await openSession(null);
      } else if (status !== 200) {
        addMessage("error", typeof data.detail === "string" ? data.detail : "Error " + status);
      } else {
        render(data.replies);
      }
    } catch (error) {
      addMessage("error", String(error));
    } finally {
      busy = false;
      sendButton.disabled = false;
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    input.value = "";
    send(text);
  });
  window.addEventListener("resize", scrollToEnd);

  openSession(sessionId);
})();

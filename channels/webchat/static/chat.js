// The built-in web chat: a thin client of /api/v1/webchat; all wording comes from the server.
(function () {
  "use strict";
  const STORAGE_KEY = "loyalty.webchat.session";
  const log = document.getElementById("log");
  const choices = document.getElementById("choices");
  const form = document.getElementById("composer");
  const input = document.getElementById("input");
  const sendButton = document.getElementById("send");
  let sessionId = localStorage.getItem(STORAGE_KEY);
  let busy = false;

  function addMessage(kind, text, imageUrl) {
    const item = document.createElement("li");
    item.className = "msg msg--" + kind;
    item.textContent = text;
    if (imageUrl) {
      const image = document.createElement("img");
      image.src = imageUrl;
      image.alt = "QR";
      image.addEventListener("load", () => { log.scrollTop = log.scrollHeight; });
      item.appendChild(image);
    }
    log.appendChild(item);
    log.scrollTop = log.scrollHeight;
  }

  function showChoices(buttons) {
    choices.replaceChildren();
    for (const button of buttons) {
      const element = document.createElement("button");
      element.type = "button";
      element.textContent = button.label;
      element.addEventListener("click", () => send(button.payload, button.label));
      choices.appendChild(element);
    }
  }

  function render(replies) {
    let buttons = [];
    for (const reply of replies) {
      addMessage("bot", reply.text, reply.image_url);
      buttons = reply.buttons.length ? reply.buttons : reply.menu;
      input.type = reply.expects_phone ? "tel" : "text";
    }
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

  openSession(sessionId);
})();

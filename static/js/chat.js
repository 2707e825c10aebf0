// Qwen Team Chat: the little the page needs beyond htmx.
// htmx owns the socket and swaps HTML; this file applies streamed reply
// frames (JSON), keeps sends idempotent, and handles keys, copy and scroll.
(function () {
  "use strict";

  function newClientId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, function (b) { return b.toString(16).padStart(2, "0"); }).join("");
  }

  function chat() { return document.querySelector("main.chat"); }
  function messagesBox() { return document.getElementById("messages"); }
  function composer() { return document.querySelector('form[data-testid="composer"]'); }

  // --- scrolling: follow the reply unless the reader scrolled away ----------
  var following = true;
  function nearBottom(box) { return box.scrollHeight - box.scrollTop - box.clientHeight < 80; }
  function follow() {
    var box = messagesBox();
    if (box && following) box.scrollTop = box.scrollHeight;
  }
  document.addEventListener("scroll", function (evt) {
    var box = messagesBox();
    if (evt.target === box) following = nearBottom(box);
  }, true);

  // --- the composer ------------------------------------------------------------
  var socket = null;
  var lastSentId = null;

  function prepareClientId(form) {
    var input = form.querySelector('input[name="client_id"]');
    if (input && !input.value) input.value = newClientId();
    return input;
  }

  document.addEventListener("keydown", function (evt) {
    var area = evt.target;
    if (!(area instanceof HTMLTextAreaElement) || area.name !== "message") return;
    // isComposing: Enter also confirms an IME candidate (Chinese, Japanese).
    if (evt.key === "Enter" && !evt.shiftKey && !evt.isComposing && evt.keyCode !== 229) {
      evt.preventDefault();
      var form = area.form;
      if (area.value.trim() && form) form.requestSubmit();
    }
  });

  document.addEventListener("submit", function (evt) {
    var form = evt.target;
    if (form.matches('form[data-testid="composer"]')) prepareClientId(form);
  }, true);

  document.addEventListener("htmx:wsConfigSend", function (evt) {
    var form = evt.target;
    if (!(form instanceof HTMLFormElement) || !form.matches('[data-testid="composer"]')) return;
    var input = prepareClientId(form);
    evt.detail.parameters.client_id = input.value;
    lastSentId = input.value;
    following = true;
  });

  // The draft is cleared only when the server shows the stored message, so a
  // refused send (too long, a reply in progress) keeps what was typed.
  function clearDraftIfStored() {
    if (!lastSentId) return;
    var stored = document.querySelector('[data-client-id="' + CSS.escape(lastSentId) + '"]');
    var form = composer();
    if (!stored || !form) return;
    form.querySelector('textarea[name="message"]').value = "";
    form.querySelector('input[name="client_id"]').value = newClientId();
    lastSentId = null;
  }

  // --- streamed frames -----------------------------------------------------------
  var syncPending = false;
  function requestSync() {
    if (!socket || syncPending) return;
    syncPending = true;
    var ids = Array.from(document.querySelectorAll("#messages [data-testid=message]"));
    // A reply shown as streaming may have finished before this socket joined
    // the thread's group (a fast reply, a reconnect): its final frame was never
    // received. "after" only fetches newer messages, so ask for the whole path.
    var stale = document.querySelector("#messages [data-testid=message][data-status=streaming]");
    var last = ids.length && !stale ? ids[ids.length - 1].dataset.id : "";
    socket.send(JSON.stringify({ action: "sync", after: last }));
    setTimeout(function () { syncPending = false; }, 500);
  }

  function applyFrame(frame) {
    var el = document.getElementById("msg-" + frame.id);
    if (!el || el.dataset.status !== "streaming") return;
    if (frame.seq <= Number(el.dataset.seq || 0)) return;
    var stable = el.querySelector(".md-stable");
    var tail = el.querySelector(".md-tail");
    if (frame.t === "snap") {
      stable.innerHTML = frame.stable;
      el.dataset.stableN = frame.n;
    } else {
      if (frame.at !== Number(el.dataset.stableN || 0)) { requestSync(); return; }
      if (frame.add) {
        stable.insertAdjacentHTML("beforeend", frame.add);
        el.dataset.stableN = frame.at + 1;
      }
    }
    tail.innerHTML = frame.tail;
    el.dataset.seq = frame.seq;
    el.classList.add("has-text");
    follow();
  }

  document.addEventListener("htmx:wsOpen", function (evt) {
    socket = evt.detail.socketWrapper;
    syncPending = false;
    document.body.classList.remove("is-offline");
    requestSync();
  });
  document.addEventListener("htmx:wsClose", function () {
    document.body.classList.add("is-offline");
  });

  document.addEventListener("htmx:wsBeforeMessage", function (evt) {
    var text = evt.detail.message;
    if (typeof text !== "string" || text.charAt(0) !== "{") return;
    evt.preventDefault();
    try { applyFrame(JSON.parse(text)); } catch (err) { requestSync(); }
  });

  document.addEventListener("htmx:wsAfterMessage", function () {
    clearDraftIfStored();
    follow();
    var done = document.querySelector("#messages [data-role=assistant][data-status]:not([data-status=streaming]):not([data-announced])");
    if (done) {
      document.querySelectorAll("#messages [data-role=assistant]:not([data-announced])").forEach(function (m) {
        if (m.dataset.status !== "streaming") m.dataset.announced = "1";
      });
      var announcer = document.getElementById("announcer");
      if (announcer) announcer.textContent = "Reply " + done.dataset.status + ".";
    }
  });

  // --- copy buttons ------------------------------------------------------------------
  document.addEventListener("click", function (evt) {
    var button = evt.target.closest("[data-copy], [data-copy-message]");
    if (!button) return;
    var source = button.hasAttribute("data-copy")
      ? button.closest(".codeblock").querySelector("pre")
      : button.closest("[data-testid=message]").querySelector("[data-testid=message-body]");
    if (!source || !navigator.clipboard) return;
    navigator.clipboard.writeText(source.innerText).then(function () {
      var label = button.textContent;
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = label; }, 1200);
    });
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("#messages [data-role=assistant]").forEach(function (m) {
      if (m.dataset.status !== "streaming") m.dataset.announced = "1";
    });
    var box = messagesBox();
    if (box) box.scrollTop = box.scrollHeight;
    var form = composer();
    if (form) prepareClientId(form);
  });
})();

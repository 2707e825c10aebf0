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
  function jumpButton() { return document.querySelector("[data-testid=jump-latest]"); }
  function follow() {
    var box = messagesBox();
    if (!box) return;
    if (following) box.scrollTop = box.scrollHeight;
    // Scrolled away while something arrived: offer the way back down.
    var jump = jumpButton();
    if (jump) jump.hidden = following || nearBottom(box);
  }
  document.addEventListener("scroll", function (evt) {
    var box = messagesBox();
    if (evt.target !== box) return;
    following = nearBottom(box);
    var jump = jumpButton();
    if (jump && following) jump.hidden = true;
  }, true);
  // Scrolling up by wheel or touch means "stop following" at once: the scroll
  // event comes a frame later, and a frame arriving in between would scroll
  // the reader back down.
  function scrollAway(evt) {
    var box = messagesBox();
    if (!box || !box.contains(evt.target)) return;
    if (evt.type === "wheel" && evt.deltaY >= 0) return;
    following = false;
  }
  document.addEventListener("wheel", scrollAway, { passive: true });
  document.addEventListener("touchmove", scrollAway, { passive: true });
  document.addEventListener("click", function (evt) {
    if (!evt.target.closest("[data-testid=jump-latest]")) return;
    following = true;
    follow();
    var area = document.querySelector('form[data-testid="composer"] textarea');
    if (area) area.focus({ preventScroll: true });
  });

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

  var SENDING_FORMS = 'form[data-testid="composer"], form[data-testid="edit-form"]';

  document.addEventListener("submit", function (evt) {
    var form = evt.target;
    if (form.matches(SENDING_FORMS)) prepareClientId(form);
  }, true);

  document.addEventListener("htmx:wsConfigSend", function (evt) {
    var form = evt.target;
    if (!(form instanceof HTMLFormElement) || !form.matches(SENDING_FORMS)) return;
    var input = prepareClientId(form);
    evt.detail.parameters.client_id = input.value;
    following = true;
    // Only the composer's draft waits for the stored message; an edit form
    // is replaced by the new branch.
    if (form.matches('[data-testid="composer"]')) lastSentId = input.value;
  });

  // --- editing a sent message: a form in place, sent as a new branch ----------
  function toggleEdit(message, open) {
    var form = message.querySelector("form.edit-form");
    var toggle = message.querySelector("[data-edit-toggle]");
    if (!form) return;
    form.hidden = !open;
    message.classList.toggle("is-editing", open);
    if (toggle) toggle.setAttribute("aria-expanded", String(open));
    if (open) {
      var area = form.querySelector("textarea");
      area.focus();
      area.setSelectionRange(area.value.length, area.value.length);
    } else if (toggle) {
      toggle.focus();
    }
  }
  document.addEventListener("click", function (evt) {
    var toggle = evt.target.closest("[data-edit-toggle], [data-edit-cancel]");
    if (!toggle) return;
    toggleEdit(toggle.closest("[data-testid=message]"), toggle.hasAttribute("data-edit-toggle"));
  });
  document.addEventListener("keydown", function (evt) {
    if (evt.key !== "Escape") return;
    var form = evt.target.closest && evt.target.closest("form.edit-form");
    if (form) toggleEdit(form.closest("[data-testid=message]"), false);
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
    // The answer starts: fold the thinking and tool cards (issue #5).
    if (!el.classList.contains("has-text")) {
      el.querySelectorAll(".tool-calls details[open]").forEach(function (d) { d.open = false; });
    }
    el.classList.add("has-text");
    follow();
  }

  // A reply shown as streaming with no frame for a while may have ended while
  // one of its frames was lost (a restarting channel layer): ask the server.
  var lastFrameAt = Date.now();
  setInterval(function () {
    var streaming = document.querySelector("#messages [data-testid=message][data-status=streaming]");
    if (streaming && Date.now() - lastFrameAt > 10000) {
      lastFrameAt = Date.now();
      requestSync();
    }
  }, 5000);
  document.addEventListener("htmx:wsBeforeMessage", function () { lastFrameAt = Date.now(); });

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
    // A message or card appended by a broadcast that a resync's markup already
    // holds (Redis can deliver it late): keep the first, which is in its place
    // on the path and at least as new.
    var seenMessages = {};
    document.querySelectorAll("#messages > [data-testid=message]").forEach(function (el) {
      if (seenMessages[el.id]) el.remove(); else seenMessages[el.id] = true;
    });
    document.querySelectorAll("#messages .tool-calls").forEach(function (box) {
      var seen = {};
      Array.from(box.children).forEach(function (card) {
        if (seen[card.id]) card.remove(); else seen[card.id] = true;
      });
    });
    clearDraftIfStored();
    follow();
    var done = document.querySelector("#messages [data-role=assistant][data-status]:not([data-status=streaming]):not([data-announced])");
    if (done) {
      document.querySelectorAll("#messages [data-role=assistant]:not([data-announced])").forEach(function (m) {
        if (m.dataset.status !== "streaming") m.dataset.announced = "1";
      });
      var announcer = document.getElementById("announcer");
      // The page says it in its own language (data-<status> on the region).
      if (announcer) announcer.textContent = announcer.dataset[done.dataset.status] || ("Reply " + done.dataset.status + ".");
    }
  });

  // --- shortcuts, theme, sidebar ----------------------------------------------------
  function composerArea() { return document.querySelector('form[data-testid="composer"] textarea'); }
  function showShortcuts() {
    var dialog = document.getElementById("shortcuts-dialog");
    if (dialog && !dialog.open) dialog.showModal();
  }
  document.addEventListener("keydown", function (evt) {
    var mod = evt.ctrlKey || evt.metaKey;
    var key = evt.key.toLowerCase();
    if (mod && evt.shiftKey && key === "o") {
      evt.preventDefault();
      var newThread = document.querySelector("[data-testid=new-thread]");
      if (newThread) window.location.href = newThread.href;
    } else if (evt.shiftKey && evt.key === "Escape") {
      evt.preventDefault();
      var area = composerArea();
      if (area) area.focus();
    } else if (mod && key === "k") {
      evt.preventDefault();
      var search = document.querySelector("[data-testid=search]");
      if (search) { search.focus(); search.select(); }
    } else if (mod && evt.key === "/") {
      evt.preventDefault();
      showShortcuts();
    } else if (evt.key === "Escape" && evt.target === composerArea()) {
      var stop = document.querySelector("#messages [data-testid=stop]");
      if (stop) { evt.preventDefault(); stop.click(); }
    }
  });
  document.addEventListener("click", function (evt) {
    if (evt.target.closest("[data-testid=shortcuts]")) showShortcuts();
    var toggle = evt.target.closest("[data-testid=sidebar-toggle]");
    var layout = document.querySelector(".layout");
    if (toggle && layout) {
      var open = layout.classList.toggle("sidebar-open");
      toggle.setAttribute("aria-expanded", String(open));
    } else if (layout && layout.classList.contains("sidebar-open") && !evt.target.closest(".sidebar")) {
      layout.classList.remove("sidebar-open");
    }
  });
  document.addEventListener("change", function (evt) {
    if (!evt.target.matches("[data-testid=theme]")) return;
    var theme = evt.target.value;
    try {
      if (theme === "system") localStorage.removeItem("theme");
      else localStorage.setItem("theme", theme);
    } catch (err) { /* storage blocked: the choice lasts for this page */ }
    if (theme === "system") delete document.documentElement.dataset.theme;
    else document.documentElement.dataset.theme = theme;
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
      button.textContent = button.dataset.copiedLabel || "Copied";
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
    var themeSwitch = document.querySelector("[data-testid=theme]");
    if (themeSwitch) themeSwitch.value = document.documentElement.dataset.theme || "system";
  });
})();

// --- long threads and links to one message (issue #10) ------------------------
(function () {
  "use strict";
  // Older messages are inserted above what the reader is looking at: keep
  // the distance from the bottom, so the view does not jump.
  var fromBottom = null;
  document.addEventListener("htmx:beforeSwap", function (evt) {
    var box = document.getElementById("messages");
    if (box && evt.detail.target && evt.detail.target.matches(".load-older")) {
      fromBottom = box.scrollHeight - box.scrollTop;
    }
  });
  document.addEventListener("htmx:afterSwap", function () {
    var box = document.getElementById("messages");
    if (box && fromBottom !== null) {
      box.scrollTop = box.scrollHeight - fromBottom;
      fromBottom = null;
    }
  });

  // A search result links to thread#msg-<id>: show that message, not the end.
  function showLinkedMessage() {
    var match = /^#msg-(\d+)$/.exec(window.location.hash);
    var target = match && document.getElementById("msg-" + match[1]);
    if (!target) return;
    target.classList.add("is-linked");
    target.setAttribute("tabindex", "-1");
    target.scrollIntoView({ block: "center" });
    target.focus({ preventScroll: true });
  }
  document.addEventListener("DOMContentLoaded", function () {
    // After chat.js's own handler has scrolled to the newest message.
    setTimeout(showLinkedMessage, 0);
  });
  window.addEventListener("hashchange", showLinkedMessage);
})();

// --- the language switch posts itself (no inline handlers under the CSP) -------
document.addEventListener("change", function (evt) {
  if (evt.target.matches && evt.target.matches("[data-testid=language]")) {
    evt.target.form.requestSubmit();
  }
});

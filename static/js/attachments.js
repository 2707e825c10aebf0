// Attachments in the composer (issue #11): file picker, drag and drop, paste.
// Each file is uploaded at once (the server checks type and size and answers
// with a clear error); the ids of the uploads ride along with the next send.
(function () {
  "use strict";

  function box() { return document.querySelector("[data-attach]"); }
  // The page's language: the template puts translated texts on the attach box.
  function text(key, fallback) {
    var attach = box();
    return (attach && attach.getAttribute("data-text-" + key)) || fallback;
  }
  function list() { return document.querySelector('[data-testid="attachment-list"]'); }
  function showError(text) {
    var error = document.getElementById("composer-error");
    if (error) error.textContent = text;
  }

  function syncIds() {
    var attach = box();
    if (!attach) return;
    var ids = Array.from(list().querySelectorAll("li[data-id]"), function (li) { return li.dataset.id; });
    attach.querySelector('input[name="attachments"]').value = ids.join(",");
  }

  function chip(name) {
    var li = document.createElement("li");
    li.className = "attach-chip";
    li.setAttribute("data-testid", "pending-attachment");
    var label = document.createElement("span");
    label.textContent = name + " " + text("uploading", "(uploading…)");
    li.appendChild(label);
    list().appendChild(li);
    return li;
  }

  function upload(file) {
    var attach = box();
    if (!attach) return;
    var li = chip(file.name || "pasted image");
    var data = new FormData();
    data.append("file", file, file.name || "pasted.png");
    var token = attach.querySelector('input[name="csrfmiddlewaretoken"]').value;
    fetch(attach.dataset.uploadUrl, {
      method: "POST", body: data, credentials: "same-origin", headers: { "X-CSRFToken": token },
    }).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, body: body }; });
    }).then(function (result) {
      if (!result.ok) {
        li.remove();
        showError(result.body.error || text("refused", "That file could not be attached."));
        return;
      }
      showError("");
      li.dataset.id = String(result.body.id);
      li.dataset.kind = result.body.kind;
      li.firstChild.textContent = (result.body.kind === "image" ? text("image", "Image:") : text("document", "Document:")) + " " + result.body.name;
      var remove = document.createElement("button");
      remove.type = "button";
      remove.className = "button button--quiet";
      remove.setAttribute("aria-label", text("remove", "Remove") + " " + result.body.name);
      remove.textContent = "×";
      remove.addEventListener("click", function () { li.remove(); syncIds(); });
      li.appendChild(remove);
      syncIds();
    }).catch(function () {
      li.remove();
      showError(text("offline", "The upload failed: check the connection and try again."));
    });
  }

  function uploadAll(files) { Array.from(files || []).forEach(upload); }

  document.addEventListener("change", function (evt) {
    if (evt.target.matches('[data-testid="attach-input"]')) {
      uploadAll(evt.target.files);
      evt.target.value = "";
    }
  });

  document.addEventListener("dragover", function (evt) {
    if (box() && evt.target.closest && evt.target.closest('form[data-testid="composer"]')) {
      evt.preventDefault();
    }
  });
  document.addEventListener("drop", function (evt) {
    if (!box() || !evt.target.closest || !evt.target.closest('form[data-testid="composer"]')) return;
    if (evt.dataTransfer && evt.dataTransfer.files.length) {
      evt.preventDefault();
      uploadAll(evt.dataTransfer.files);
    }
  });
  document.addEventListener("paste", function (evt) {
    if (!box() || !evt.target.closest || !evt.target.closest('form[data-testid="composer"]')) return;
    var files = evt.clipboardData && evt.clipboardData.files;
    if (files && files.length) {
      evt.preventDefault();
      uploadAll(files);
    }
  });

  // The ids are in the form's hidden input when htmx builds the message; the
  // chips go once it is sent (a refused send leaves the uploads unclaimed).
  document.addEventListener("htmx:wsConfigSend", function (evt) {
    var form = evt.target;
    if (!(form instanceof HTMLFormElement) || !form.matches('[data-testid="composer"]') || !box()) return;
    evt.detail.parameters.attachments = box().querySelector('input[name="attachments"]').value;
    delete evt.detail.parameters.csrfmiddlewaretoken;
    list().innerHTML = "";
    syncIds();
  });
})();

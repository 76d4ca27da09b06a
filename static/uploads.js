// Uploads in the ask, reply and edit forms: a file chosen in the form's file
// field, dropped on the text or pasted into it is sent at once to POST /uploads
// and its Markdown (an image, or a link to a log or PDF) put where the cursor
// is. Without this script the file field is sent with the post instead.
(function () {
  "use strict";

  function label(box, name, filename) {
    return (box.dataset[name] || "").replace("%(name)s", filename);
  }

  function insertAtCursor(area, text) {
    var start = area.selectionStart || 0;
    var end = area.selectionEnd || 0;
    var before = area.value.slice(0, start);
    var after = area.value.slice(end);
    var lead = before && !/\n\n$/.test(before) ? (/\n$/.test(before) ? "\n" : "\n\n") : "";
    var trail = after && !/^\n/.test(after) ? "\n\n" : "";
    area.value = before + lead + text + trail + after;
    var cursor = (before + lead + text).length;
    area.setSelectionRange(cursor, cursor);
    area.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function upload(box, area, token, file) {
    var status = box.querySelector(".attach-status");
    var name = file.name || "image.png";
    status.textContent = label(box, "labelUploading", name);
    status.classList.remove("attach-error");
    box.classList.add("attach-busy");
    var data = new FormData();
    data.append("csrf_token", token);
    data.append("file", file, name);
    return fetch("/uploads", {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) throw new Error(body.error || label(box, "labelFailed", name));
          insertAtCursor(area, body.markdown);
          status.textContent = label(box, "labelDone", name);
        });
      })
      .catch(function (error) {
        status.textContent = error && error.message ? error.message : label(box, "labelFailed", name);
        status.classList.add("attach-error");
      })
      .then(function () {
        box.classList.remove("attach-busy");
      });
  }

  function setUp(box) {
    var area = document.getElementById(box.dataset.uploadFor);
    var form = box.closest("form");
    var input = box.querySelector("input[type=file]");
    var tokenField = form && form.querySelector("input[name=csrf_token]");
    if (!area || !form || !input || !tokenField || !window.fetch || !window.FormData) return;
    var token = tokenField.value;
    var hint = box.querySelector(".attach-hint");
    if (hint) hint.hidden = false;

    input.addEventListener("change", function () {
      var files = Array.prototype.slice.call(input.files || []);
      // Sent now: not sent again with the post.
      input.value = "";
      files.reduce(function (chain, file) {
        return chain.then(function () {
          return upload(box, area, token, file);
        });
      }, Promise.resolve());
    });
    area.addEventListener("dragover", function (event) {
      if (event.dataTransfer && Array.prototype.indexOf.call(event.dataTransfer.types, "Files") >= 0) {
        event.preventDefault();
        area.classList.add("attach-drop");
      }
    });
    area.addEventListener("dragleave", function () {
      area.classList.remove("attach-drop");
    });
    area.addEventListener("drop", function (event) {
      area.classList.remove("attach-drop");
      var files = event.dataTransfer ? Array.prototype.slice.call(event.dataTransfer.files) : [];
      if (!files.length) return;
      event.preventDefault();
      files.reduce(function (chain, file) {
        return chain.then(function () {
          return upload(box, area, token, file);
        });
      }, Promise.resolve());
    });
    area.addEventListener("paste", function (event) {
      var items = event.clipboardData ? Array.prototype.slice.call(event.clipboardData.items || []) : [];
      var files = items
        .filter(function (item) {
          return item.kind === "file";
        })
        .map(function (item) {
          return item.getAsFile();
        })
        .filter(Boolean);
      if (!files.length) return;
      event.preventDefault();
      files.forEach(function (file) {
        upload(box, area, token, file);
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-upload-for]"), setUp);
  });
})();

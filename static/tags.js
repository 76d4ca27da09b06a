// The tags field of the ask and edit forms: as a tag is typed, suggest
// existing tags (GET /api/tags?q=). Without this script the field is a plain
// comma-separated text input and the server checks every name.
(function () {
  "use strict";
  var DELAY = 200;

  function currentPart(input) {
    var before = input.value.slice(0, input.selectionStart == null ? input.value.length : input.selectionStart);
    var start = Math.max(before.lastIndexOf(","), before.lastIndexOf("\uff0c")) + 1;
    return { start: start, text: before.slice(start).trim() };
  }

  function chosen(input) {
    return input.value.split(/[,\uff0c]/).map(function (s) { return s.trim().toLowerCase(); });
  }

  function setup(input) {
    var wrap = document.createElement("div");
    wrap.className = "tag-input-wrap";
    input.parentNode.insertBefore(wrap, input);
    wrap.appendChild(input);
    var list = document.createElement("ul");
    list.className = "tag-suggestions";
    list.id = input.id + "-suggestions";
    list.setAttribute("role", "listbox");
    list.hidden = true;
    wrap.appendChild(list);
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-controls", list.id);
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("autocomplete", "off");
    var timer = null, controller = null, active = -1, items = [];

    function close() {
      list.hidden = true;
      list.textContent = "";
      items = [];
      active = -1;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    }

    function pick(name) {
      var end = input.selectionStart == null ? input.value.length : input.selectionStart;
      var part = currentPart(input);
      var rest = input.value.slice(end).replace(/^[^,\uff0c]*/, "");
      var head = input.value.slice(0, part.start);
      input.value = (head ? head.replace(/\s*$/, " ") : "") + name + ", " + rest.replace(/^[,\uff0c]\s*/, "");
      var caret = (head ? head.replace(/\s*$/, " ") : "").length + name.length + 2;
      input.setSelectionRange(caret, caret);
      close();
      input.focus();
    }

    function highlight(i) {
      items.forEach(function (li, n) { li.setAttribute("aria-selected", n === i ? "true" : "false"); });
      active = i;
      if (i >= 0) input.setAttribute("aria-activedescendant", items[i].id);
    }

    function show(results) {
      var taken = chosen(input);
      results = results.filter(function (r) { return taken.indexOf(r.name) < 0; });
      close();
      results.forEach(function (r, n) {
        var li = document.createElement("li");
        li.id = list.id + "-" + n;
        li.setAttribute("role", "option");
        li.dataset.name = r.name;
        var label = document.createElement("span");
        label.textContent = r.label === r.name ? r.name : r.label + " (" + r.name + ")";
        var count = document.createElement("span");
        count.className = "muted";
        count.textContent = String(r.thread_count);
        li.appendChild(label);
        li.appendChild(count);
        li.addEventListener("mousedown", function (e) { e.preventDefault(); pick(r.name); });
        list.appendChild(li);
        items.push(li);
      });
      if (items.length) {
        list.hidden = false;
        input.setAttribute("aria-expanded", "true");
      }
    }

    function lookup() {
      var part = currentPart(input);
      if (!part.text) { close(); return; }
      if (controller) controller.abort();
      controller = window.AbortController ? new AbortController() : null;
      fetch("/api/tags?q=" + encodeURIComponent(part.text), {
        headers: { accept: "application/json" },
        credentials: "same-origin",
        signal: controller ? controller.signal : undefined
      }).then(function (r) { return r.ok ? r.json() : { results: [] }; })
        .then(function (data) { show(data.results || []); })
        .catch(function () {});
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(lookup, DELAY);
    });
    input.addEventListener("keydown", function (e) {
      if (list.hidden) return;
      if (e.key === "ArrowDown") { e.preventDefault(); highlight((active + 1) % items.length); }
      else if (e.key === "ArrowUp") { e.preventDefault(); highlight((active - 1 + items.length) % items.length); }
      else if (e.key === "Enter" && active >= 0) { e.preventDefault(); pick(items[active].dataset.name); }
      else if (e.key === "Escape") { close(); }
    });
    input.addEventListener("blur", function () { setTimeout(close, 100); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!window.fetch) return;
    Array.prototype.forEach.call(document.querySelectorAll("input[data-tag-input]"), setup);
  });
})();

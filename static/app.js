// Small progressive enhancements. Every page works without this file.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    // The language menu submits itself when a language is picked with the mouse
    // or a finger. From the keyboard, arrow keys only move through the choices
    // (they fire "change" too): Enter, or the button shown again, sends it.
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      var form = select.form;
      var button = form && form.querySelector("button[type=submit]");
      var initial = select.value;
      var keyboard = false;
      if (button) button.hidden = true;
      select.addEventListener("keydown", function (event) {
        if (event.key === "Enter") {
          if (select.value !== initial) { event.preventDefault(); form.submit(); }
          return;
        }
        if (event.key !== "Tab") keyboard = true;
      });
      select.addEventListener("pointerdown", function () { keyboard = false; });
      select.addEventListener("change", function () {
        if (!keyboard) { form.submit(); return; }
        if (button) button.hidden = false;
      });
    });

    shortcuts();
  });

  // Keyboard shortcuts (the list: "?"). None fires while typing in a field or
  // with Ctrl, Alt or Meta held.
  function shortcuts() {
    var ROWS = ".thread-list .thread-row, article.post, .support-table tr.sla-row, .queue-item";
    var current = -1;
    var pendingG = false;
    var dialog = document.getElementById("shortcuts");

    function typing(target) {
      if (!target || !target.tagName) return false;
      var tag = target.tagName.toLowerCase();
      return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
    }
    function rows() { return Array.prototype.slice.call(document.querySelectorAll(ROWS)); }
    function choose(step) {
      var all = rows();
      if (!all.length) return;
      if (current >= 0 && all[current]) all[current].classList.remove("kbd-current");
      current = Math.max(0, Math.min(all.length - 1, current + step));
      var row = all[current];
      row.classList.add("kbd-current");
      row.scrollIntoView({ block: "nearest" });
    }
    function chosen() { var all = rows(); return current >= 0 ? all[current] : null; }
    function go(url) { window.location.assign(url); }

    document.addEventListener("keydown", function (event) {
      if (event.ctrlKey || event.altKey || event.metaKey || typing(event.target)) return;
      if (dialog && dialog.open) return;
      var key = event.key;
      if (pendingG) {
        pendingG = false;
        if (key === "h") { event.preventDefault(); go("/"); }
        else if (key === "q") { event.preventDefault(); go("/support/queues/unanswered"); }
        return;
      }
      var row;
      switch (key) {
        case "?":
          if (dialog && dialog.showModal) { event.preventDefault(); dialog.showModal(); }
          break;
        case "/":
          var search = document.getElementById("site-search-q");
          if (search) { event.preventDefault(); search.focus(); }
          break;
        case "j": event.preventDefault(); choose(1); break;
        case "k": event.preventDefault(); choose(-1); break;
        case "o":
        case "Enter":
          row = chosen();
          var link = row && row.querySelector("a.thread-title, a[href^='/t/']");
          if (link && (key === "o" || event.target === document.body)) { event.preventDefault(); go(link.href); }
          break;
        case "r":
          var reply = document.getElementById("reply-body");
          if (reply) { event.preventDefault(); reply.focus(); }
          break;
        case "a": event.preventDefault(); go("/ask"); break;
        case "f":
          row = chosen();
          var flag = row && row.querySelector("a[href$='/flag']");
          if (flag) { event.preventDefault(); go(flag.href); }
          break;
        case "g": pendingG = true; break;
      }
    });
  }
})();

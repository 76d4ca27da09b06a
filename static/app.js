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
  });
})();

// Small progressive enhancements. Every page works without this file.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    // The language menu submits itself when changed; its button is then redundant.
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      var form = select.form;
      var button = form && form.querySelector("button[type=submit]");
      if (button) button.hidden = true;
      select.addEventListener("change", function () { form.submit(); });
    });
  });
})();

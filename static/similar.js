// The ask page: as the title is typed, show up to five similar solved
// questions and articles (GET /api/similar). Without this script the form's
// "Check for similar questions" button does the same on the server.
(function () {
  "use strict";
  var DELAY = 350;
  var MIN_CHARS = 4;

  function render(box, results) {
    var list = box.querySelector("ul");
    list.textContent = "";
    results.forEach(function (r) {
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = r.url;
      a.textContent = r.title;
      a.target = "_blank";
      a.rel = "noopener";
      li.appendChild(a);
      var badge = document.createElement("span");
      badge.className = r.type === "article" ? "badge badge-official" : "badge badge-solved";
      badge.textContent = " " + (r.type === "article" ? box.dataset.labelArticle : box.dataset.labelSolved);
      li.appendChild(document.createTextNode(" "));
      li.appendChild(badge);
      list.appendChild(li);
    });
    box.hidden = results.length === 0;
  }

  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("similar-questions");
    var title = document.getElementById("title");
    if (!box || !title || !window.fetch) return;
    var check = document.getElementById("similar-check");
    if (check) check.hidden = true;
    var timer = null;
    var last = "";
    var controller = null;

    function lookup() {
      var q = title.value.trim();
      if (q === last) return;
      last = q;
      if (q.length < MIN_CHARS) {
        render(box, []);
        return;
      }
      if (controller) controller.abort();
      controller = window.AbortController ? new AbortController() : null;
      var url = box.dataset.similarUrl + "?limit=5&solved=1&q=" + encodeURIComponent(q);
      fetch(url, { credentials: "same-origin", signal: controller ? controller.signal : undefined })
        .then(function (response) { return response.ok ? response.json() : { results: [] }; })
        .then(function (data) { if (q === last) render(box, data.results || []); })
        .catch(function () { /* offline or aborted: keep what is shown */ });
    }

    title.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(lookup, DELAY);
    });
    if (title.value.trim().length >= MIN_CHARS) lookup();
  });
})();

// Community (issue 17): "@ab…" in a post's textarea offers usernames
// (GET /api/users?q=ab), and closing a banner hides it without a reload.
// Both are progressive: the forms work without this file.
(function () {
  "use strict";

  // ------------------------------------------------------------ banners
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form[data-banner-dismiss]") || !window.fetch) return;
    event.preventDefault();
    var banner = form.closest("[data-banner]");
    fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    }).then(function (response) {
      if (response.ok && banner) banner.hidden = true;
      else form.submit();
    }, function () { form.submit(); });
  });

  // ------------------------------------------------------------ mentions
  var MENTION = /(^|[^\w@./-])@([0-9A-Za-z_\u3131-\uD79D][0-9A-Za-z_.\u3131-\uD79D-]{0,29})$/;
  var menu = null, field = null, items = [], chosen = -1, timer = null, lastQuery = "";

  function closeMenu() {
    if (menu) menu.remove();
    menu = null; items = []; chosen = -1;
  }

  function currentWord(textarea) {
    var before = textarea.value.slice(0, textarea.selectionStart);
    var match = MENTION.exec(before);
    return match ? match[2] : null;
  }

  function pick(index) {
    var item = items[index];
    if (!item || !field) return;
    var pos = field.selectionStart;
    var before = field.value.slice(0, pos).replace(/@[^@\s]*$/, "@" + item.username + " ");
    field.value = before + field.value.slice(pos);
    field.selectionStart = field.selectionEnd = before.length;
    field.focus();
    closeMenu();
  }

  function show(textarea, results) {
    closeMenu();
    if (!results.length) return;
    field = textarea; items = results; chosen = 0;
    menu = document.createElement("ul");
    menu.className = "mention-menu";
    menu.setAttribute("role", "listbox");
    results.forEach(function (user, i) {
      var li = document.createElement("li");
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", i === 0 ? "true" : "false");
      li.textContent = "@" + user.username;
      if (user.display_name && user.display_name !== user.username) {
        var name = document.createElement("span");
        name.className = "muted";
        name.textContent = user.display_name;
        li.appendChild(name);
      }
      li.addEventListener("mousedown", function (e) { e.preventDefault(); pick(i); });
      menu.appendChild(li);
    });
    var rect = textarea.getBoundingClientRect();
    menu.style.left = (window.scrollX + rect.left) + "px";
    menu.style.top = (window.scrollY + rect.bottom + 2) + "px";
    document.body.appendChild(menu);
  }

  function highlight(index) {
    if (!menu) return;
    chosen = (index + items.length) % items.length;
    Array.prototype.forEach.call(menu.children, function (li, i) {
      li.setAttribute("aria-selected", i === chosen ? "true" : "false");
    });
  }

  document.addEventListener("input", function (event) {
    var textarea = event.target;
    if (!textarea.matches || !textarea.matches("textarea[name=body]") || !window.fetch) return;
    var word = currentWord(textarea);
    clearTimeout(timer);
    if (!word) { closeMenu(); return; }
    timer = setTimeout(function () {
      if (word === lastQuery && menu) return;
      lastQuery = word;
      fetch("/api/users?q=" + encodeURIComponent(word), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : { results: [] }; })
        .then(function (data) { if (currentWord(textarea) === word) show(textarea, data.results || []); })
        .catch(closeMenu);
    }, 150);
  });

  document.addEventListener("keydown", function (event) {
    if (!menu || event.target !== field) return;
    if (event.key === "ArrowDown") { event.preventDefault(); highlight(chosen + 1); }
    else if (event.key === "ArrowUp") { event.preventDefault(); highlight(chosen - 1); }
    else if (event.key === "Enter" || event.key === "Tab") { event.preventDefault(); pick(chosen); }
    else if (event.key === "Escape") { closeMenu(); }
  });

  document.addEventListener("focusout", function (event) {
    if (event.target === field) setTimeout(closeMenu, 100);
  });
})();

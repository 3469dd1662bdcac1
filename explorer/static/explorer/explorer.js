// The explorer's pages: the Welsh-name toggle. Every element with data-name-cy shows that name
// (marked lang="cy") while the toggle is pressed; the choice is remembered in this browser.
(function () {
  "use strict";
  var KEY = "levelup-names";
  var button = document.getElementById("welsh-toggle");
  if (!button) return;

  function stored() {
    try { return window.localStorage.getItem(KEY) === "cy"; } catch (e) { return false; }
  }

  function remember(welsh) {
    try { window.localStorage.setItem(KEY, welsh ? "cy" : "en"); } catch (e) { /* private mode: not kept */ }
  }

  function show(welsh) {
    var named = document.querySelectorAll("[data-name-cy]");
    for (var i = 0; i < named.length; i++) {
      var el = named[i];
      if (!el.hasAttribute("data-name-en")) el.setAttribute("data-name-en", el.textContent);
      el.textContent = welsh ? el.getAttribute("data-name-cy") : el.getAttribute("data-name-en");
      if (welsh) el.setAttribute("lang", "cy"); else el.removeAttribute("lang");
    }
    button.setAttribute("aria-pressed", welsh ? "true" : "false");
    document.documentElement.setAttribute("data-names", welsh ? "cy" : "en");
  }

  button.hidden = false;
  button.addEventListener("click", function () {
    var welsh = button.getAttribute("aria-pressed") !== "true";
    remember(welsh);
    show(welsh);
  });
  if (stored()) show(true);
})();

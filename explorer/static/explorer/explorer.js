// For the pages' maps (area-map.js, explore.js; this file is loaded first on every page): the
// [[west, south], [east, north]] box of a GeoJSON feature, for MapLibre's fitBounds.
window.levelupBounds = function (feature) {
  "use strict";
  var box = [Infinity, Infinity, -Infinity, -Infinity];
  (function walk(c) {
    if (typeof c[0] === "number") {
      box[0] = Math.min(box[0], c[0]); box[1] = Math.min(box[1], c[1]);
      box[2] = Math.max(box[2], c[0]); box[3] = Math.max(box[3], c[1]);
    } else { for (var i = 0; i < c.length; i++) walk(c[i]); }
  })(feature.geometry.coordinates);
  return [[box[0], box[1]], [box[2], box[3]]];
};

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

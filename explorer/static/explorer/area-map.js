// The area page's map: the area's boundary, and the areas below it outlined, from the API's GeoJSON
// (data-boundary, data-children on #area-map), drawn by MapLibre GL JS (vendored, served from here;
// its CSP build, whose worker is a file of this origin). No base map: nothing from another origin.
(function () {
  "use strict";
  var container = document.getElementById("area-map");
  var script = document.getElementById("area-map-script");
  if (!container || !window.maplibregl) return;
  maplibregl.setWorkerUrl(script.getAttribute("data-worker"));

  var bounds = window.levelupBounds;  // explorer.js

  function get(url) {
    return fetch(url, { headers: { Accept: "application/geo+json, application/json" } }).then(function (r) {
      if (!r.ok) throw new Error(url + ": " + r.status);
      return r.json();
    });
  }

  var boundary = get(container.getAttribute("data-boundary"));
  var childrenUrl = container.getAttribute("data-children");
  var children = childrenUrl ? get(childrenUrl) : Promise.resolve(null);

  boundary.then(function (area) {
    container.textContent = "";
    var map = new maplibregl.Map({
      container: container,
      style: { version: 8, sources: {}, layers: [
        { id: "background", type: "background", paint: { "background-color": "#f3f2f1" } }] },
      bounds: bounds(area),
      fitBoundsOptions: { padding: 24 },
      attributionControl: { compact: false, customAttribution: "Boundaries: ONS, contains OS data © Crown copyright" },
      cooperativeGestures: true,
    });
    window.levelupMap = map;
    map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
    map.on("load", function () {
      map.addSource("area", { type: "geojson", data: area });
      map.addLayer({ id: "area-fill", type: "fill", source: "area", paint: { "fill-color": "#1d70b8", "fill-opacity": 0.12 } });
      map.addLayer({ id: "area-line", type: "line", source: "area", paint: { "line-color": "#0b0c0c", "line-width": 2.5 } });
      children.then(function (collection) {
        if (collection) {
          map.addSource("children", { type: "geojson", data: collection });
          map.addLayer({ id: "children-line", type: "line", source: "children",
                         paint: { "line-color": "#1d70b8", "line-width": 1, "line-opacity": 0.9 } }, "area-line");
        }
        map.once("idle", function () { container.setAttribute("data-state", "ready"); });
      });
    });
  }).catch(function (error) {
    container.setAttribute("data-state", "failed");
    container.insertAdjacentHTML("beforeend", '<p class="map__error">The boundary could not be loaded.</p>');
    throw error;
  });
})();

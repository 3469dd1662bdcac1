// The map explorer (/explore/): MapLibre GL JS (vendored, its CSP build with its worker served from
// here) drawing the API's vector tiles of one vintage coloured by the tiles' `class`, with outlines
// of the larger areas from the plain tiles of their vintages; no base map, nothing from another
// origin. The page's state is its query string: a picker's change fetches this page's own HTML for
// the new state and swaps in its parts marked data-swap (legend, heading, tables, notices), the
// pickers' options and the map's configuration (data-config), so the numbers shown are always the
// server's. Colours are read from the legend's swatches (explorer.css is their one definition).
(function () {
  "use strict";
  var container = document.getElementById("explore-map");
  var script = document.getElementById("explore-script");
  var form = document.getElementById("explore-form");
  var statusLine = document.getElementById("explore-status");
  if (!container || !form || !window.maplibregl) return;
  maplibregl.setWorkerUrl(script.getAttribute("data-worker"));

  var ORIGIN = window.location.origin;
  var PAGE = form.getAttribute("action");
  var REDUCED = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  var FILLS = ["areas-fill", "areas-none"];
  var ATTRIBUTION = "Boundaries: ONS, contains OS data © Crown copyright and database right";
  var cfg = JSON.parse(container.getAttribute("data-config"));
  var codes = withinCodes(container);

  function withinCodes(el) {
    return (el.getAttribute("data-within-codes") || "").split(" ").filter(Boolean);
  }

  // -- numbers as served: the JSON's digits, grouped in thousands (explorer.formatting.served) --
  function served(v) {
    if (v === undefined || v === null) return "";
    var s = String(v);
    if (/e/i.test(s)) return s;
    var sign = s.charAt(0) === "-" ? "-" : "";
    var parts = (sign ? s.slice(1) : s).split(".");
    return sign + parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, ",") + (parts[1] ? "." + parts[1] : "");
  }

  function withUnit(v) {
    var text = served(v), symbol = cfg.unit_symbol || "";
    if (symbol === "£" || symbol === "$" || symbol === "€") return symbol + text;
    return symbol ? text + (symbol === "%" ? "%" : " " + symbol) : text;
  }

  // -- the colours: each class's swatch in the legend, as explorer.css paints it --
  function colours() {
    var out = {};
    var items = document.querySelectorAll("#explore-legend [data-class]");
    for (var i = 0; i < items.length; i++) {
      var swatch = items[i].querySelector(".swatch");
      if (swatch) out[items[i].getAttribute("data-class")] = window.getComputedStyle(swatch).backgroundColor;
    }
    return out;
  }

  // No value: a hatch (grey lines on the page's light grey), drawn here as a MapLibre pattern; the
  // legend's swatch is the same hatch in CSS (.map-class--none).
  function hatch() {
    var size = 8, data = new Uint8Array(size * size * 4);
    for (var y = 0; y < size; y++) {
      for (var x = 0; x < size; x++) {
        var line = (x + y) % size < 2, o = (y * size + x) * 4;
        data[o] = line ? 0x6f : 0xf3; data[o + 1] = line ? 0x77 : 0xf2; data[o + 2] = line ? 0x7b : 0xf1; data[o + 3] = 255;
      }
    }
    return { width: size, height: size, data: data };
  }

  function styleFor(c, inside, col) {
    var only = inside.length ? ["match", ["get", "code"], inside, true, false] : true;
    var fill = ["match", ["get", "class"]];
    for (var n = 1; n <= c.classes; n++) fill.push(n, col[String(n)] || "#000000");
    fill.push(col.none || "#f3f2f1");
    var sources = {
      areas: { type: "vector", tiles: [ORIGIN + c.tiles], minzoom: 0, maxzoom: c.maxzoom, promoteId: "code" },
    };
    var layers = [
      { id: "background", type: "background", paint: { "background-color": "#ffffff" } },
      { id: "areas-fill", type: "fill", source: "areas", "source-layer": "areas",
        filter: ["all", ["has", "value"], only], paint: { "fill-color": fill } },
      { id: "areas-none", type: "fill", source: "areas", "source-layer": "areas",
        filter: ["all", ["!", ["has", "value"]], only], paint: { "fill-pattern": "nodata" } },
      // Edges of the small areas only where they are more than a few pixels across: at zoom 6 an
      // LSOA is a pixel or two, and 17,000 rings of hairlines only grey the map (and cost the
      // worker about a tenth of a second).
      { id: "areas-line", type: "line", source: "areas", "source-layer": "areas", filter: only,
        minzoom: c.type === "LSOA" ? 8 : c.type === "MSOA" ? 7 : 0,
        paint: { "line-color": "#ffffff", "line-opacity": 0.8,
                 "line-width": ["interpolate", ["linear"], ["zoom"], 4, 0.1, 8, 0.45, 12, 1.2] } },
    ];
    c.outlines.forEach(function (o) {
      var id = "outline-" + o.type.toLowerCase();
      sources[id] = { type: "vector", tiles: [ORIGIN + o.tiles], minzoom: 0, maxzoom: o.maxzoom };
      if (o.type === "LAD") {
        layers.push({ id: id, type: "line", source: id, "source-layer": "areas", minzoom: 5,
                      paint: { "line-color": "#0b0c0c", "line-opacity": 0.6,
                               "line-width": ["interpolate", ["linear"], ["zoom"], 5, 0.3, 10, 1.2] } });
      } else {
        var wide = o.type === "CTRY" ? 1.8 : 1.3;
        layers.push({ id: id + "-casing", type: "line", source: id, "source-layer": "areas",
                      paint: { "line-color": "#ffffff", "line-opacity": 0.85, "line-width": wide + 2 } });
        layers.push({ id: id, type: "line", source: id, "source-layer": "areas",
                      paint: { "line-color": "#0b0c0c", "line-width": wide } });
      }
    });
    if (c.within) {
      sources.within = { type: "geojson", data: ORIGIN + c.within.boundary };
      layers.push({ id: "within-casing", type: "line", source: "within", paint: { "line-color": "#ffffff", "line-width": 5 } });
      layers.push({ id: "within-line", type: "line", source: "within", paint: { "line-color": "#0b0c0c", "line-width": 2.5 } });
    }
    layers.push({ id: "hover-casing", type: "line", source: "areas", "source-layer": "areas",
                  filter: ["==", ["get", "code"], ""], paint: { "line-color": "#ffffff", "line-width": 5 } });
    layers.push({ id: "hover-line", type: "line", source: "areas", "source-layer": "areas",
                  filter: ["==", ["get", "code"], ""], paint: { "line-color": "#0b0c0c", "line-width": 2.5 } });
    return { version: 8, sources: sources, layers: layers };
  }

  // -- the map --
  container.textContent = "";
  var options = {
    container: container, style: styleFor(cfg, codes, colours()), minZoom: 2, maxZoom: 16,
    attributionControl: { compact: false, customAttribution: ATTRIBUTION },
    locale: { "Map.Title": cfg.label }, dragRotate: false, pitchWithRotate: false, touchPitch: false,
    renderWorldCopies: false,
  };
  if (cfg.view) {
    var b = cfg.bounds;
    options.zoom = cfg.view[0];
    options.center = [cfg.view[2] !== null ? cfg.view[2] : (b[0] + b[2]) / 2, cfg.view[1] !== null ? cfg.view[1] : (b[1] + b[3]) / 2];
  } else {
    options.bounds = [[cfg.bounds[0], cfg.bounds[1]], [cfg.bounds[2], cfg.bounds[3]]];
    options.fitBoundsOptions = { padding: 16 };
  }
  var map = new maplibregl.Map(options);
  window.levelupMap = map;
  map.touchZoomRotate.disableRotation();
  map.keyboard.disableRotation();
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
  map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-left");
  map.on("styleimagemissing", function (e) {
    if (e.id === "nodata" && !map.hasImage("nodata")) map.addImage("nodata", hatch());
  });

  var tip = document.createElement("div");
  tip.className = "explore-tip";
  tip.setAttribute("aria-hidden", "true");
  tip.hidden = true;
  container.appendChild(tip);
  var hint = document.createElement("p");
  hint.className = "explore-hint";
  hint.hidden = true;
  container.parentNode.insertBefore(hint, statusLine.nextSibling);

  function ready() {
    container.setAttribute("data-state", "ready");
    container.removeAttribute("aria-busy");
    if (window.levelupMapIdleAt === undefined) window.levelupMapIdleAt = performance.now();
  }
  container.setAttribute("data-state", "loading");
  map.once("load", function () { map.once("idle", ready); });

  var quotaTimer = null;
  map.on("error", function (e) {
    var error = e && e.error;
    if (error && error.status === 429) {  // the anonymous quota (per address) is spent: retry soon
      say("The API's request quota for your address is used up for a moment; the map fills in again shortly.");
      if (!quotaTimer) {
        quotaTimer = setTimeout(function () {
          quotaTimer = null;
          ["areas"].concat(cfg.outlines.map(function (o) { return "outline-" + o.type.toLowerCase(); }))
            .forEach(function (id) { if (map.getSource(id)) map.refreshTiles(id); });
        }, 20000);
      }
      return;
    }
    console.error(error || e);
  });

  // -- hover, click, keyboard --
  function featureAt(point) {
    var found = map.queryRenderedFeatures(point, { layers: FILLS });
    return found.length ? found[0] : null;
  }

  function classWord(n) {
    if (n === 1) return cfg.polarity === "neutral" ? " (lowest)" : " (worst)";
    if (n === cfg.classes) return cfg.polarity === "neutral" ? " (highest)" : " (best)";
    return "";
  }

  function facts(p) {
    var lines = [];
    if (p.value === undefined) return ["No value"];
    lines.push(withUnit(p.value));
    if (p.lci !== undefined && p.uci !== undefined) lines.push("95% CI " + served(p.lci) + " to " + served(p.uci));
    if (p.rank !== undefined) lines.push("Rank " + served(p.rank) + (p.rank_of !== undefined ? " of " + served(p.rank_of) : ""));
    if (p["class"] !== undefined) {
      lines.push((cfg.method === "deciles" ? "Decile " : "Quintile ") + p["class"] + " of " + cfg.classes + classWord(p["class"]));
    }
    return lines;
  }

  function sentence(p) {
    return p.name + " (" + p.code + "): " + facts(p).join("; ") + ".";
  }

  var hovered = null;
  function highlight(code) {
    var filter = ["==", ["get", "code"], code || ""];
    map.setFilter("hover-casing", filter);
    map.setFilter("hover-line", filter);
  }

  function say(text) {
    if (statusLine.textContent !== text) statusLine.textContent = text;
  }

  function showTip(f, point) {
    var p = f.properties;
    tip.textContent = "";
    var head = document.createElement("p");
    head.className = "explore-tip__name";
    head.textContent = p.name + " ";
    var code = document.createElement("span");
    code.className = "code";
    code.textContent = p.code;
    head.appendChild(code);
    tip.appendChild(head);
    facts(p).forEach(function (line, n) {
      var el = document.createElement("p");
      el.className = n === 0 ? "explore-tip__value" : "explore-tip__fact";
      el.textContent = line;
      tip.appendChild(el);
    });
    tip.hidden = false;
    var width = container.clientWidth, tw = tip.offsetWidth, th = tip.offsetHeight;
    var x = point.x + 16 + tw > width ? point.x - 16 - tw : point.x + 16;
    var y = Math.max(4, Math.min(point.y - th / 2, container.clientHeight - th - 4));
    tip.style.transform = "translate(" + Math.round(Math.max(4, x)) + "px, " + Math.round(y) + "px)";
  }

  function leave() {
    tip.hidden = true;
    map.getCanvas().style.cursor = "";
    if (hovered !== null) { hovered = null; highlight(null); }
  }

  map.on("mousemove", function (e) {
    var f = featureAt(e.point);
    if (!f) { leave(); return; }
    map.getCanvas().style.cursor = "pointer";
    showTip(f, e.point);
    if (hovered !== f.properties.code) {
      hovered = f.properties.code;
      highlight(hovered);
      say(sentence(f.properties));
    }
  });
  map.getCanvas().addEventListener("mouseleave", leave);

  function open(f) {
    window.location.assign("/areas/" + encodeURIComponent(f.properties.code) + "/");
  }
  map.on("click", function (e) {
    var f = featureAt(e.point);
    if (f) open(f);
  });

  function centre() {
    var c = map.getCanvas();
    return featureAt([c.clientWidth / 2, c.clientHeight / 2]);
  }
  function announceCentre() {
    var f = centre();
    highlight(f ? f.properties.code : null);
    say(f ? "At the centre: " + sentence(f.properties) + " Press Enter to open its page."
          : "No area at the centre of the map.");
  }
  var canvas = map.getCanvas();
  canvas.addEventListener("focus", function () {
    container.classList.add("map--keyboard");
    if (map.loaded()) announceCentre();
  });
  canvas.addEventListener("blur", function () { container.classList.remove("map--keyboard"); highlight(null); });
  canvas.addEventListener("keydown", function (e) {
    if (e.key === "Enter") {
      var f = centre();
      if (f) { e.preventDefault(); open(f); }
    }
  });

  // -- the view in the address: z, lat, lon --
  function viewQuery() {
    var c = map.getCenter();
    return "z=" + map.getZoom().toFixed(2) + "&lat=" + c.lat.toFixed(4) + "&lon=" + c.lng.toFixed(4);
  }
  function address() {
    return cfg.url + (cfg.url.indexOf("?") === cfg.url.length - 1 ? "" : "&") + viewQuery();
  }
  map.on("moveend", function () {
    if (container.getAttribute("data-state") === "ready") window.history.replaceState({ explore: true }, "", address());
    if (document.activeElement === canvas) announceCentre();
    smallAreas();
  });
  map.once("load", smallAreas);

  function smallAreas() {  // the tiles leave out areas under half a pixel (docs/tiles.md)
    var small = (cfg.type === "LSOA" || cfg.type === "MSOA") && map.getZoom() < 7.5;
    hint.hidden = !small;
    hint.textContent = small ? "At this zoom the smallest " + cfg.plural + " (in towns and cities) are too small to " +
      "draw and are left white: zoom in to see every one." : "";
  }

  // -- a new state: this page's HTML for it, swapped in --
  var pending = null;
  function sameOptions(a, b) {
    if (a.options.length !== b.options.length) return false;
    for (var i = 0; i < a.options.length; i++) {
      if (a.options[i].value !== b.options[i].value || a.options[i].text !== b.options[i].text) return false;
    }
    return true;
  }

  function apply(doc, how, requested) {
    var swapped = document.querySelectorAll("[data-swap]");
    for (var i = 0; i < swapped.length; i++) {
      var next = doc.getElementById(swapped[i].id);
      if (next) swapped[i].replaceWith(document.importNode(next, true));
    }
    ["explore-vintage", "explore-indicator", "explore-period"].forEach(function (id) {
      var mine = document.getElementById(id), theirs = doc.getElementById(id);
      if (!mine || !theirs) return;
      if (!sameOptions(mine, theirs)) mine.innerHTML = theirs.innerHTML;
      mine.value = theirs.value;
    });
    var hintNow = document.getElementById("explore-indicator-hint"), hintNext = doc.getElementById("explore-indicator-hint");
    if (hintNow && hintNext) hintNow.textContent = hintNext.textContent;
    document.title = doc.title;
    var nextMap = doc.getElementById("explore-map");
    if (!nextMap) {  // a 400 or 404: the notice says why; the map stays as it was
      if (how === "push") window.history.pushState({ explore: true }, "", requested);
      ready();
      return;
    }
    var next = JSON.parse(nextMap.getAttribute("data-config"));
    var withinChanged = (next.within && next.within.code) !== (cfg.within && cfg.within.code);
    cfg = next;
    codes = withinCodes(nextMap);
    container.setAttribute("data-config", nextMap.getAttribute("data-config"));
    container.setAttribute("data-within-codes", nextMap.getAttribute("data-within-codes"));
    canvas.setAttribute("aria-label", cfg.label);
    container.setAttribute("data-state", "loading");
    leave();
    map.setStyle(styleFor(cfg, codes, colours()));
    try { outlineFound(null); } catch (e) { map.once("style.load", function () { outlineFound(null); }); }
    if (withinChanged) {
      map.fitBounds([[cfg.bounds[0], cfg.bounds[1]], [cfg.bounds[2], cfg.bounds[3]]], { padding: 16, duration: REDUCED ? 0 : 800 });
    } else if (how === "pop" && cfg.view && cfg.view[1] !== null && cfg.view[2] !== null) {
      map.jumpTo({ zoom: cfg.view[0], center: [cfg.view[2], cfg.view[1]] });
    }
    map.once("idle", ready);
    smallAreas();
    var url = withinChanged ? cfg.url : address();
    if (how === "push") window.history.pushState({ explore: true }, "", url);
    else if (how !== "pop") window.history.replaceState({ explore: true }, "", url);
    say("Showing " + cfg.title + ", " + cfg.period + ", for " + cfg.plural + (cfg.within ? " in " + cfg.within.name : "") + ".");
  }

  function go(query, how) {
    if (pending) pending.abort();
    var controller = pending = new AbortController();
    var requested = PAGE + "?" + query;
    container.setAttribute("aria-busy", "true");
    container.setAttribute("data-state", "loading");  // until the new state's map is idle
    fetch(requested, { headers: { Accept: "text/html" }, signal: controller.signal, credentials: "same-origin" })
      .then(function (r) { return r.text(); })
      .then(function (html) {
        if (pending === controller) pending = null;
        apply(new DOMParser().parseFromString(html, "text/html"), how, requested);
      })
      .catch(function (error) {
        if (error.name === "AbortError") return;
        ready();
        say("The map could not be updated: " + error.message);
        console.error(error);
      });
  }

  function formQuery() {
    var params = new URLSearchParams();
    new FormData(form).forEach(function (value, name) { if (value) params.append(name, value); });
    return params.toString();
  }

  var timer = null;
  form.addEventListener("change", function (e) {
    if (e.target.id === "explore-indicator" || e.target.id === "explore-vintage") {
      document.getElementById("explore-period").value = "";  // the latest of the new choice
    }
    clearTimeout(timer);
    timer = setTimeout(function () { go(formQuery(), "push"); }, 300);
  });
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    clearTimeout(timer);
    go(formQuery(), "push");
  });
  document.getElementById("explore-submit").hidden = true;  // a change applies at once

  document.addEventListener("click", function (e) {
    var link = e.target.closest && e.target.closest("a[data-explore-link]");
    if (!link || e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
    e.preventDefault();
    go(link.search.replace(/^\?/, ""), "push");
  });
  window.addEventListener("popstate", function () {
    go(window.location.search.replace(/^\?/, ""), "pop");
  });

  // -- the search box: /api/v1/areas/?q=, best matches first; the map flies to the chosen area --
  var input = document.getElementById("explore-q");
  var list = document.getElementById("explore-q-options");
  var searchStatus = document.getElementById("explore-q-status");
  var types = JSON.parse(input.getAttribute("data-types") || "{}");
  var matches = [], matchedFor = "", active = -1, searchTimer = null, searching = null, chooseFirst = false;

  function close() {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  }

  function typeName(code) {
    return (types[code] && types[code].name) || code;
  }

  function ended(a) {
    if (a.status !== "terminated") return "";
    var by = (a.successors || []).map(function (s) { return s.name + " (" + s.code + ")"; });
    return by.length ? "ended; replaced by " + by.join(", ") : "ended";
  }

  function render(results) {
    matches = results;
    list.textContent = "";
    results.forEach(function (a, n) {
      var li = document.createElement("li");
      li.id = "explore-q-option-" + n;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", "false");
      li.className = "combo__option";
      var name = document.createElement("span");
      name.className = "combo__name";
      name.textContent = a.name;
      var meta = document.createElement("span");
      meta.className = "combo__meta";
      meta.textContent = typeName(a.type) + " · " + a.code;
      li.appendChild(name);
      li.appendChild(meta);
      var gone = ended(a);
      if (gone) {
        var note = document.createElement("span");
        note.className = "combo__ended";
        note.textContent = gone;
        li.appendChild(note);
      }
      li.addEventListener("mousedown", function (e) { e.preventDefault(); });  // keep the input's focus
      li.addEventListener("click", function () { choose(a); });
      list.appendChild(li);
    });
    list.hidden = results.length === 0;
    input.setAttribute("aria-expanded", results.length ? "true" : "false");
    searchStatus.textContent = results.length
      ? results.length + " area" + (results.length === 1 ? "" : "s") + " found; up and down arrows to choose, Enter to go there."
      : "No area found.";
  }

  function mark(n) {
    var items = list.querySelectorAll("[role=option]");
    for (var i = 0; i < items.length; i++) items[i].setAttribute("aria-selected", i === n ? "true" : "false");
    active = n;
    if (n >= 0 && items[n]) {
      input.setAttribute("aria-activedescendant", items[n].id);
      items[n].scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }

  function search() {
    var q = input.value.trim();
    if (q.length < 2) { close(); matches = []; return; }
    if (searching) searching.abort();
    var controller = searching = new AbortController();
    fetch(input.getAttribute("data-api") + "?" + new URLSearchParams({ q: q, page_size: "8" }).toString(),
          { headers: { Accept: "application/json" }, signal: controller.signal })
      .then(function (r) { if (!r.ok) throw new Error("search: " + r.status); return r.json(); })
      .then(function (body) {
        if (searching !== controller) return;
        matchedFor = q;
        render(body.results || []);
        if (chooseFirst && matches.length) choose(matches[0]);
        chooseFirst = false;
      })
      .catch(function (error) {
        if (error.name === "AbortError") return;
        searchStatus.textContent = "The search failed: " + error.message;
        console.error(error);
      });
  }

  var bounds = window.levelupBounds;  // explorer.js

  // The area found, outlined dashed: its source is added when a search finds one (an empty GeoJSON
  // source would cost the worker a job per tile of every map), and again after a new style.
  var foundArea = null;
  function outlineFound(feature) {
    foundArea = feature || foundArea;
    if (!foundArea) return;
    if (map.getSource("found")) { map.getSource("found").setData(foundArea); return; }
    map.addSource("found", { type: "geojson", data: foundArea });
    map.addLayer({ id: "found-casing", type: "line", source: "found", paint: { "line-color": "#ffffff", "line-width": 6 } },
                 "hover-casing");
    map.addLayer({ id: "found-line", type: "line", source: "found",
                   paint: { "line-color": "#0b0c0c", "line-width": 3, "line-dasharray": [2, 1] } }, "hover-casing");
  }

  function foundNote(a, shown) {
    var note = document.getElementById("explore-found");
    if (!note) {
      note = document.createElement("p");
      note.id = "explore-found";
      note.className = "explore-found";
      document.getElementById("explore-search").appendChild(note);
    }
    note.textContent = "";
    var link = document.createElement("a");
    link.href = "/areas/" + encodeURIComponent(shown.code) + "/";
    link.textContent = shown.name;
    note.appendChild(document.createTextNode(shown === a ? "On the map: " : a.name + " (" + ended(a) + "). On the map: "));
    note.appendChild(link);
    var level = types[shown.type] && types[shown.type].level;
    if (level && level > cfg.level) {
      var params = new URLSearchParams(cfg.url.split("?")[1] || "");
      params.set("within", shown.code);
      var within = document.createElement("a");
      within.href = PAGE + "?" + params.toString();
      within.setAttribute("data-explore-link", "");
      within.textContent = "show only its " + cfg.plural;
      note.appendChild(document.createTextNode(" · "));
      note.appendChild(within);
    }
  }

  function flyTo(a, shown) {
    shown = shown || a;
    fetch("/api/v1/areas/" + encodeURIComponent(shown.code) + "/boundary/?simplify=0.001",
          { headers: { Accept: "application/geo+json, application/json" } })
      .then(function (r) {
        if (r.status === 404) return null;
        if (!r.ok) throw new Error("boundary: " + r.status);
        return r.json();
      })
      .then(function (feature) {
        if (!feature) {
          var next = (a.successors || [])[0];
          if (next && shown === a) { flyTo(a, { code: next.code, name: next.name, type: a.type }); return; }
          say("No boundary is held for " + shown.name + " (" + shown.code + ").");
          return;
        }
        outlineFound(feature);
        map.fitBounds(bounds(feature), { padding: 40, maxZoom: 13, duration: REDUCED ? 0 : 1200 });
        foundNote(a, shown);
        say("Moved to " + shown.name + (shown === a ? "" : ", which replaced " + a.name) + ".");
      })
      .catch(function (error) { say("Could not move to " + shown.name + ": " + error.message); console.error(error); });
  }

  function choose(a) {
    input.value = a.name;
    close();
    flyTo(a);
  }

  input.addEventListener("input", function () {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(search, 200);
  });
  input.addEventListener("keydown", function (e) {
    var open = !list.hidden && matches.length;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      if (!open) { if (matches.length) { list.hidden = false; input.setAttribute("aria-expanded", "true"); } return; }
      e.preventDefault();
      var n = e.key === "ArrowDown" ? active + 1 : active - 1;
      mark(n >= matches.length ? 0 : n < 0 ? matches.length - 1 : n);
    } else if (e.key === "Enter") {
      if (!input.value.trim()) return;
      e.preventDefault();
      if (matchedFor === input.value.trim() && matches.length) {
        choose(matches[active >= 0 ? active : 0]);
      } else {  // typed faster than the search: go to its first match when it answers
        clearTimeout(searchTimer);
        chooseFirst = true;
        search();
      }
    } else if (e.key === "Escape") {
      if (open) { e.preventDefault(); close(); } else { input.value = ""; matches = []; }
    }
  });
  input.addEventListener("blur", function () { setTimeout(close, 150); });
  document.getElementById("explore-search").addEventListener("submit", function (e) {
    e.preventDefault();  // with JavaScript the box searches as it is typed in
    search();
  });
})();

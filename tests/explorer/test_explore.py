"""The map explorer, /explore/: through Django's test client (the page's CSP, its text alternative
equal to the API's observations, its legend equal to legend.json, a fixed number of statements,
friendly 400 and 404 pages), then in Debian's chromium (the national district map renders its
districts from the vector tiles, a click opens the area's page, Manchester's 295 LSOAs, hover,
keyboard and search, no console error, nothing from another host, axe-core). The browser tests
come last: while Playwright runs, Django refuses ORM calls in this thread (conftest.py)."""

from __future__ import annotations

import json
import re
import urllib.request
from html import unescape
from pathlib import Path
from urllib.parse import urlencode

import pytest

from explorer.formatting import served as served_text
from tests.builders import levelup

from .conftest import axe_violations

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PAY = "gross-median-weekly-pay"  # higher is better; every UK district of LAD24
IMD = "iod2025-imd-score"  # lower is better; England's LSOAs
MANCHESTER = "E08000003"
BLACKPOOL = "E06000009"
MANCHESTER_LSOAS = f"/explore/?vintage=LSOA21&within={MANCHESTER}&indicator={IMD}"
NATIONAL_STATEMENTS = 3  # vintages, the type's indicators with their periods, the 10 at each end
WITHIN_STATEMENTS = 5  # and the area, its LSOAs' codes with the box to fit


@pytest.fixture
def warm(db):
    """The database (for the Django client's tests only: the browser's must not open a transaction
    under Playwright's event loop) as served: the data version not re-read during a test (so the
    tiles' classes, kept per data version in the process, stay kept), and derived documents kept."""
    with levelup(PROFILE_CACHE=True, DATA_VERSION_SECONDS=3600):
        yield


def page(client, path: str, status: int = 200) -> str:
    response = client.get(path, HTTP_ACCEPT="text/html")
    assert response.status_code == status, (path, response.status_code, response.content[:800])
    assert response["Content-Type"].startswith("text/html")
    return response.content.decode()


def config(html: str) -> dict:
    return json.loads(unescape(re.search(r'data-config="([^"]+)"', html)[1]))


def table(html: str, key: str) -> list[dict]:
    """The rows of the text alternative's table `key` (worst, best, lowest, highest or all)."""
    body = re.search(rf'<table class="data-table explore-table" id="explore-table-{key}">(.*?)</table>', html, re.S)[1]
    out = []
    for code, row in re.findall(r'<tr data-code="(\w+)">(.*?)</tr>', body, re.S):
        fields = dict(re.findall(r'data-field="(\w+)">([^<]*)<', row))
        out.append({"code": code, **{k: v.strip() for k, v in fields.items()}})
    return out


def number(text: str) -> float:
    return float(text.replace(",", ""))


def observations(api, **query) -> list[dict]:
    body = api.get("/api/v1/observations/", {**query, "page_size": 50000}).json()
    assert body["next"] is None
    return [r for r in body["results"] if r["value"] is not None]


# -- Django's test client (each test takes `warm`, and so the database) ------------------------------
def test_the_page_has_a_strict_csp_and_loads_only_its_own_files(client, warm):
    response = client.get("/explore/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    assert not re.search(r"https?:|\*|blob:|unsafe", policy), policy
    directives = {d.split()[0]: d.split()[1:] for d in policy.split(";") if d.strip()}
    assert directives["default-src"] == ["'self'"] and directives["connect-src"] == ["'self'"]
    assert "worker-src" not in directives  # MapLibre's worker is a file of this origin: default-src 'self'
    html = response.content.decode()
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert len(scripts) == 3 and all(re.search(r'src="/static/[^"]+"', tag) for tag in scripts), scripts
    assert 'data-worker="/static/explorer/vendor/maplibre-gl/maplibre-gl-csp-worker.js"' in html
    assert not re.search(r"\sstyle=", html)
    for attr in re.findall(r'(?:src|href)="([^"]+)"', html):
        assert attr.startswith(("/", "#")), attr


def test_the_default_map_is_the_newest_districts_with_outlines_of_regions_and_countries(client, warm):
    html = page(client, "/explore/")
    map_config = config(html)
    assert map_config["vintage"] == "LAD24" and map_config["type"] == "LAD"
    assert map_config["tiles"].startswith("/api/v1/tiles/LAD24/{z}/{x}/{y}.mvt?indicator=" + PAY + "&period=")
    assert [(o["type"], o["tiles"]) for o in map_config["outlines"]] == [
        ("RGN", "/api/v1/tiles/RGN/{z}/{x}/{y}.mvt"), ("CTRY", "/api/v1/tiles/CTRY/{z}/{x}/{y}.mvt")]
    assert map_config["within"] is None and map_config["view"] is None
    # the pickers: the vintage chosen, the indicators with district values, the latest period
    assert re.search(r'<option value="LAD24" selected>', html)
    assert re.search(rf'<option value="{PAY}" selected>Gross median weekly pay</option>', html)
    assert '<option value="MSOA21"' not in html  # boundaries, but no values for MSOAs
    assert '<option value="iod2019-imd-rank"' not in html  # LSOA values only
    for code in ("CTRY", "RGN", "UTLA23", "LSOA21"):
        assert f'<option value="{code}"' in html


def test_the_legend_is_legend_json(client, api, warm):
    html = page(client, f"/explore/?indicator={IMD}&vintage=LSOA21")
    legend = api.get("/api/v1/tiles/LSOA21/legend.json", {"indicator": IMD}).json()
    assert legend["method"] == "deciles" and legend["polarity"] == "lower_is_better"
    shown = re.findall(r'<li data-class="(\d+)">.*?map-class--(\w+)-\d+".*?explore-legend__range">(.*?)</span>\s*'
                       r'<span class="explore-legend__count">([\d,]+)</span>', html, re.S)
    assert len(shown) == 10
    for (number_, palette, text, count), served in zip(shown, legend["classes"], strict=True):
        assert int(number_) == served["class"] and number(count) == served["areas"] and palette == "v10"
        values = [number(v) for v in re.findall(r'<span class="num">([^<]+)</span>', text)]
        assert values == [served["min"], served["max"]], (number_, values, served)
    assert "Class 1 = worst." in html and "class 1 holds the highest values" in html
    assert config(html)["tiles"] == legend["tiles"].removeprefix("http://testserver")
    # a neutral indicator: blues, lowest first
    neutral = page(client, "/explore/?indicator=iod2025-imd-rank&vintage=LSOA21")
    assert "Class 1 = lowest." in neutral and "map-class--b10-1" in neutral and "map-class--v10" not in neutral


def test_the_text_alternative_is_the_apis_observations_for_the_districts(client, api, warm):
    html = page(client, f"/explore/?indicator={PAY}")
    period = config(html)["tiles"].split("period=")[1]
    rows = observations(api, indicator=PAY, vintage="LAD24", period=period)
    assert len(rows) > 300
    ordered = sorted(rows, key=lambda r: (r["value"], r["area_code"]))
    highest = sorted(rows, key=lambda r: (-r["value"], r["area_code"]))
    worst, best = table(html, "worst"), table(html, "best")  # higher is better: the lowest pay is the worst
    assert [r["code"] for r in worst] == [r["area_code"] for r in ordered[:10]]
    assert [r["code"] for r in best] == [r["area_code"] for r in highest[:10]]
    by_code = {r["area_code"]: r for r in rows}
    for shown in worst + best:
        served = by_code[shown["code"]]
        assert number(shown["value"]) == served["value"]
        assert shown["value"] == served_text(served["value"])  # the served digits
        if served["lci"] is not None:
            assert (number(shown["lci"]), number(shown["uci"])) == (served["lci"], served["uci"])
    assert [r["class"] for r in worst][:1] == ["1"] and [r["class"] for r in best][:1] == ["10"]
    assert f"{len(rows)} local authority districts have a value" in html
    csv = f'/api/v1/observations/?indicator={PAY}&amp;vintage=LAD24&amp;period={period.replace("/", "%2F")}&amp;format=csv'
    assert f'href="{csv}"' in html
    download = api.get(unescape(csv))
    assert download.status_code == 200 and download["Content-Type"].startswith("text/csv")
    assert len(b"".join(download.streaming_content).decode().strip().splitlines()) - 1 >= len(rows)


def test_the_text_alternative_within_manchester_is_its_lsoas_observations(client, api, warm):
    html = page(client, MANCHESTER_LSOAS)
    map_config = config(html)
    assert map_config["within"]["code"] == MANCHESTER and map_config["vintage"] == "LSOA21"
    codes = re.search(r'data-within-codes="([^"]*)"', html)[1].split()
    assert len(codes) == 295 and all(c.startswith("E01") for c in codes)
    west, south, east, north = map_config["bounds"]
    assert -2.35 < west < east < -2.1 and 53.33 < south < north < 53.56  # Manchester's own box
    assert [o["type"] for o in map_config["outlines"]] == ["LAD", "RGN", "CTRY"]
    rows = observations(api, indicator=IMD, vintage="LSOA21", parent=MANCHESTER,
                        period=map_config["tiles"].split("period=")[1])
    assert {r["area_code"] for r in rows} == set(codes)
    worst = table(html, "worst")  # lower is better: the highest scores first
    assert [(r["code"], number(r["value"])) for r in worst] == [
        (r["area_code"], r["value"]) for r in sorted(rows, key=lambda r: (-r["value"], r["area_code"]))[:10]]
    best = table(html, "best")
    assert [(r["code"], number(r["value"])) for r in best] == [
        (r["area_code"], r["value"]) for r in sorted(rows, key=lambda r: (r["value"], r["area_code"]))[:10]]
    assert "Only the 295 LSOAs in" in html and f"parent={MANCHESTER}" in html


def test_a_small_set_of_areas_is_listed_whole(client, api, warm):
    html = page(client, f"/explore/?vintage=RGN&indicator={PAY}")
    rows = observations(api, indicator=PAY, vintage="RGN", period=config(html)["tiles"].split("period=")[1])
    listed = table(html, "all")
    assert len(listed) == len(rows) == 9
    assert [r["code"] for r in listed] == [r["area_code"] for r in sorted(rows, key=lambda r: (r["value"], r["area_code"]))]
    assert config(html)["classes"] == 5 and "Quintile" in html


def test_the_page_costs_a_fixed_number_of_statements(client, warm, django_assert_max_num_queries):
    paths = [f"/explore/?indicator={PAY}", f"/explore/?indicator={IMD}&vintage=LSOA21", MANCHESTER_LSOAS]
    for path in paths:
        page(client, path)  # the tiles' classes and the vintage, kept per data version in the process
    for path in paths[:2]:
        with django_assert_max_num_queries(NATIONAL_STATEMENTS):
            page(client, path)
    with django_assert_max_num_queries(WITHIN_STATEMENTS):
        page(client, MANCHESTER_LSOAS)


@pytest.mark.parametrize(("path", "status", "says"), [
    ("/explore/?indicator=no-such-indicator", 404, "No indicator &#x27;no-such-indicator&#x27;"),
    ("/explore/?vintage=LAD99", 404, "No vintage &#x27;LAD99&#x27; with boundaries"),
    ("/explore/?vintage=MSOA21", 400, "No indicator has values for MSOAs yet"),
    ("/explore/?within=E0800000X", 404, "No area with code &#x27;E0800000X&#x27;"),
    ("/explore/?z=abc", 400, "z=&#x27;abc&#x27; is not a number"),
    ("/explore/?lat=123", 400, "lat=&#x27;123&#x27; is out of range"),
    ("/explore/?z=nan", 400, "is out of range"),
])
def test_bad_parameters_are_a_friendly_html_page_with_the_pickers(client, warm, path, status, says):
    html = page(client, path, status)
    assert "This map cannot be shown" in html and says in html, html[:3000]
    assert 'id="explore-vintage"' in html and 'id="explore-indicator"' in html  # choose again from here
    assert 'data-config=' not in html  # no map


def test_a_choice_that_does_not_fit_falls_back_with_a_notice(client, warm):
    html = page(client, f"/explore/?indicator={PAY}&vintage=LSOA21")  # pay is published for districts
    assert "Gross median weekly pay has no values for LSOAs: showing" in html
    assert config(html)["tiles"].startswith(f"/api/v1/tiles/LSOA21/{{z}}/{{x}}/{{y}}.mvt?indicator={IMD}")
    html = page(client, f"/explore/?indicator={PAY}&period=1066")
    assert "in &#x27;1066&#x27;: showing its latest period" in html
    html = page(client, f"/explore/?vintage=RGN&within={MANCHESTER}")
    assert "Manchester holds no regions of RGN: showing them all." in html and config(html)["within"] is None


def test_the_view_in_the_address_is_the_maps_opening_view(client, warm):
    map_config = config(page(client, "/explore/?vintage=LSOA21&indicator=iod2025-imd-score&z=8&lat=53.65&lon=-1.8"))
    assert map_config["view"] == [8.0, 53.65, -1.8]
    assert map_config["url"] == "/explore/?indicator=iod2025-imd-score&vintage=LSOA21"


def test_the_search_works_without_javascript_and_names_what_replaced_an_ended_code(client, warm):
    html = page(client, "/explore/?q=allerdale")
    results = html.split('id="search-results-heading"')[1].split("</section>")[0]
    assert '<a href="/areas/E07000026/">Allerdale</a>' in results
    assert "ended; replaced by Cumberland (E06000063)" in results
    html = page(client, "/explore/?q=manchester&vintage=LSOA21&indicator=" + IMD)
    first = re.search(r'<li><a href="/areas/(\w+)/">', html.split('id="search-results-heading"')[1])[1]
    assert first == MANCHESTER  # the API's ranking: the district first
    assert f'href="/explore/?{urlencode({"indicator": IMD, "vintage": "LSOA21", "within": MANCHESTER})}"'.replace(
        "&", "&amp;") in html


# -- in the browser -----------------------------------------------------------------------------
FEATURES = """(layers) => {
    const map = window.levelupMap;
    const codes = new Set(map.queryRenderedFeatures({layers}).map(f => f.properties.code));
    return [...codes];
}"""


def api_json(base: str, path: str) -> dict:
    with urllib.request.urlopen(base + path, timeout=60) as response:
        return json.loads(response.read())


def open_map(visit, path: str):
    visit.open(path)
    visit.page.wait_for_selector("#explore-map[data-state=ready]", timeout=60_000)
    return visit.page


def test_the_national_district_map_renders_its_districts(visit):
    page = open_map(visit, f"/explore/?indicator={PAY}&vintage=LAD24")
    codes = page.evaluate(FEATURES, ["areas-fill", "areas-none"])
    assert len(codes) > 300 and all(c[:1] in "ESWN" for c in codes)
    assert page.evaluate("() => window.levelupMap.getStyle().layers.map(l => l.id)")[:4] == [
        "background", "areas-fill", "areas-none", "areas-line"]
    # the map's colours are the legend's swatches
    fill = page.evaluate("() => window.levelupMap.getPaintProperty('areas-fill', 'fill-color')")
    swatch = page.evaluate("() => getComputedStyle(document.querySelector('[data-class=\"1\"] .swatch')).backgroundColor")
    assert fill[2:4] == [1, swatch] and swatch == "rgb(68, 1, 84)"  # viridis' darkest: the worst tenth
    assert page.locator("canvas.maplibregl-canvas").get_attribute("aria-label").startswith(
        "Map of Gross median weekly pay")
    paths = [u.removeprefix(visit.base) for u in visit.requests if u.startswith(visit.base)]
    assert any(p.startswith("/api/v1/tiles/LAD24/") and f"indicator={PAY}" in p for p in paths)
    assert any(p.startswith("/api/v1/tiles/RGN/") for p in paths) and any(p.startswith("/api/v1/tiles/CTRY/") for p in paths)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "explore-lad.png"))
    assert axe_violations(page) == []
    visit.assert_clean()


def test_hovering_shows_the_value_and_clicking_blackpool_opens_its_page(visit):
    page = open_map(visit, f"/explore/?indicator={PAY}&vintage=LAD24&z=9&lat=53.815&lon=-3.03")
    query = urlencode({"indicator": PAY, "vintage": "LAD24", "area": BLACKPOOL, "period": "latest"})
    served = api_json(visit.base, f"/api/v1/observations/?{query}")["results"][0]
    # a pixel over Blackpool's rendered feature: its projected point, checked by a query there
    point = page.evaluate("""(code) => {
        const map = window.levelupMap, canvas = map.getCanvas();
        const f = map.queryRenderedFeatures({layers: ['areas-fill']}).find(f => f.properties.code === code);
        const ring = f.geometry.type === 'Polygon' ? f.geometry.coordinates[0] : f.geometry.coordinates[0][0];
        const centre = ring.reduce((a, c) => [a[0] + c[0] / ring.length, a[1] + c[1] / ring.length], [0, 0]);
        const p = map.project(centre);
        const hit = map.queryRenderedFeatures([p.x, p.y], {layers: ['areas-fill']})[0];
        return hit && hit.properties.code === code ? [p.x, p.y] : null;
    }""", BLACKPOOL)
    assert point is not None
    box = page.locator("canvas.maplibregl-canvas").bounding_box()
    page.mouse.move(box["x"] + point[0], box["y"] + point[1])
    status = page.locator("#explore-status")
    status.filter(has_text="Blackpool").wait_for(timeout=10_000)
    assert status.get_attribute("aria-live") == "polite"
    text = status.inner_text()
    assert f"Blackpool ({BLACKPOOL}): £{served_text(served['value'])}" in text, text
    tip = page.locator(".explore-tip")
    assert tip.is_visible() and "Blackpool" in tip.inner_text() and "Decile" in tip.inner_text()
    page.mouse.click(box["x"] + point[0], box["y"] + point[1])
    page.wait_for_url(f"**/areas/{BLACKPOOL}/", timeout=30_000)
    assert page.locator("h1").inner_text() == "Blackpool"


def test_the_manchester_lsoa_map_renders_its_295_areas(visit):
    page = open_map(visit, MANCHESTER_LSOAS)
    codes = page.evaluate(FEATURES, ["areas-fill", "areas-none"])
    assert len(codes) == 295 and all(c.startswith("E01") for c in codes)
    expected = set(page.get_attribute("#explore-map", "data-within-codes").split())
    assert set(codes) == expected
    # the district's outline, from its boundary, and the table from the API
    assert page.evaluate("() => window.levelupMap.getSource('within') !== undefined")
    query = urlencode({"indicator": IMD, "vintage": "LSOA21", "parent": MANCHESTER, "page_size": 1000})
    rows = api_json(visit.base, f"/api/v1/observations/?{query}")["results"]
    worst = sorted((r for r in rows if r["value"] is not None), key=lambda r: (-r["value"], r["area_code"]))[:10]
    shown = page.eval_on_selector_all("#explore-table-worst tbody tr", "rows => rows.map(r => [r.dataset.code, "
                                      "parseFloat(r.querySelector('[data-field=value]').textContent.replace(/,/g, ''))])")
    assert shown == [[r["area_code"], r["value"]] for r in worst]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "explore-manchester-lsoa.png"))
    assert axe_violations(page) == []
    visit.assert_clean()


def test_the_pickers_work_from_the_keyboard_and_keep_the_state_in_the_address(visit):
    page = open_map(visit, f"/explore/?indicator={PAY}&vintage=LAD24")
    select = page.locator("#explore-indicator")
    select.focus()
    assert page.evaluate("() => getComputedStyle(document.activeElement).outlineColor") == "rgb(255, 221, 0)"
    before = select.input_value()
    page.keyboard.press("ArrowDown")  # a closed select changes on the arrow keys: the map follows
    page.wait_for_function("(before) => !location.search.includes('indicator=' + before)", arg=before, timeout=30_000)
    page.wait_for_selector("#explore-map[data-state=ready]", timeout=60_000)
    chosen = select.input_value()
    assert chosen != before and f"indicator={chosen}" in page.url
    assert page.evaluate("() => document.activeElement.id") == "explore-indicator"  # focus stays
    tiles = page.evaluate("() => window.levelupMap.getStyle().sources.areas.tiles[0]")
    assert f"indicator={chosen}" in tiles
    legend = api_json(visit.base, f"/api/v1/tiles/LAD24/legend.json?indicator={chosen}")
    assert legend["title"] in page.locator("#explore-legend").inner_text()
    # the areas picker: LSOAs, the indicator kept if it has LSOA values, else the default with a notice
    page.locator("#explore-vintage").select_option("LSOA21")
    page.wait_for_function("() => location.search.includes('vintage=LSOA21')", timeout=30_000)
    page.wait_for_selector("#explore-map[data-state=ready]", timeout=60_000)
    assert page.evaluate("() => window.levelupMap.getStyle().sources.areas.tiles[0]").split("/api/v1/")[1].startswith(
        "tiles/LSOA21/")
    page.go_back()
    page.wait_for_function("() => !location.search.includes('vintage=LSOA21')", timeout=30_000)
    page.wait_for_selector("#explore-map[data-state=ready]", timeout=60_000)
    assert "tiles/LAD24/" in page.evaluate("() => window.levelupMap.getStyle().sources.areas.tiles[0]")
    visit.assert_clean()


def test_the_search_box_flies_to_an_area_and_names_what_replaced_an_ended_code(visit):
    # With reduced motion the map jumps: an animated flight asks for the tiles of every zoom it passes
    # and MapLibre cancels those it no longer needs, which the fixture would count as failures.
    visit.page.emulate_media(reduced_motion="reduce")
    page = open_map(visit, f"/explore/?indicator={PAY}&vintage=LAD24")
    box = page.locator("#explore-q")
    box.focus()
    page.keyboard.type("allerdale")
    option = page.locator("#explore-q-options [role=option]").first
    option.wait_for(timeout=15_000)
    assert box.get_attribute("aria-expanded") == "true"
    assert "Allerdale" in option.inner_text() and "ended; replaced by Cumberland (E06000063)" in option.inner_text()
    page.keyboard.press("ArrowDown")
    assert box.get_attribute("aria-activedescendant") == "explore-q-option-0"
    assert option.get_attribute("aria-selected") == "true"
    page.keyboard.press("Enter")
    page.locator("#explore-found").wait_for(timeout=15_000)
    page.wait_for_function("() => !window.levelupMap.isMoving()", timeout=15_000)
    centre = page.evaluate("() => window.levelupMap.getCenter().toArray()")
    assert -3.7 < centre[0] < -2.9 and 54.4 < centre[1] < 54.9, centre  # Allerdale, west Cumbria
    assert "Allerdale" in page.locator("#explore-found").inner_text()
    page.wait_for_selector("#explore-map[data-state=ready]")
    page.wait_for_function("() => window.levelupMap.areTilesLoaded()", timeout=30_000)
    visit.assert_clean()


def test_the_map_from_the_keyboard_announces_the_area_at_the_centre_and_enter_opens_it(visit):
    page = open_map(visit, f"/explore/?indicator={PAY}&vintage=LAD24&z=10&lat=53.815&lon=-3.03")
    page.locator("canvas.maplibregl-canvas").focus()
    status = page.locator("#explore-status")
    status.filter(has_text="At the centre: Blackpool").wait_for(timeout=10_000)
    assert "Press Enter to open its page." in status.inner_text()
    assert "map--keyboard" in page.get_attribute("#explore-map", "class")  # the crosshair
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/areas/{BLACKPOOL}/", timeout=30_000)


def test_a_search_result_can_limit_the_map_to_its_areas(visit):
    visit.page.emulate_media(reduced_motion="reduce")
    page = open_map(visit, f"/explore/?indicator={IMD}&vintage=LSOA21&z=9&lat=53.47&lon=-2.24")
    page.locator("#explore-q").focus()
    page.keyboard.type("manchester")
    page.locator("#explore-q-options [role=option]").first.wait_for(timeout=15_000)
    page.keyboard.press("Enter")  # the first match: the district
    link = page.get_by_role("link", name="show only its LSOAs")
    link.wait_for(timeout=15_000)
    page.wait_for_function("() => window.levelupMap.loaded()", timeout=30_000)
    link.click()
    page.wait_for_function(f"() => location.search.includes('within={MANCHESTER}')", timeout=30_000)
    page.wait_for_selector("#explore-map[data-state=ready]", timeout=60_000)
    assert len(page.evaluate(FEATURES, ["areas-fill", "areas-none"])) == 295
    assert "Only the 295 LSOAs in" in page.locator("#explore-heading").inner_text()
    codes = set(page.get_attribute("#explore-map", "data-within-codes").split())
    shown = page.eval_on_selector_all("#explore-table-worst tbody tr", "rows => rows.map(r => r.dataset.code)")
    assert len(shown) == 10 and set(shown) <= codes  # the tables were swapped in for Manchester
    visit.assert_clean()

"""The explorer's pages in a real browser (Debian's chromium through Playwright) served by the
session's gunicorn on the test database: no console error and no request off the app's host, the
spine charts' numbers equal to the API's profile, the map drawn by MapLibre, the Welsh-name toggle,
and no serious or critical accessibility violation (axe-core). Saves the screenshots in docs/."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

from .conftest import axe_violations

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
BLACKPOOL = "E06000009"


def api_json(base: str, path: str) -> dict:
    with urllib.request.urlopen(base + path, timeout=60) as response:
        return json.loads(response.read())


@pytest.fixture
def blackpool(visit):
    visit.open(f"/areas/{BLACKPOOL}/")
    visit.page.wait_for_selector("#area-map[data-state]", timeout=30_000)
    return visit


def test_the_home_page_loads_cleanly_and_passes_axe(visit):
    visit.open("/")
    assert visit.page.title().startswith("Home")
    assert visit.page.get_by_role("link", name="An area: Blackpool").get_attribute("href") == f"/areas/{BLACKPOOL}/"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    visit.page.screenshot(path=str(SCREENSHOTS / "home.png"))
    assert axe_violations(visit.page) == []
    visit.assert_clean()


def test_the_area_page_loads_with_nothing_from_another_host_and_no_console_error(blackpool):
    assert blackpool.page.locator("h1").inner_text() == "Blackpool"
    blackpool.assert_clean()
    paths = [u.removeprefix(blackpool.base) for u in blackpool.requests if u.startswith(blackpool.base)]
    assert f"/areas/{BLACKPOOL}/" in paths
    assert any(p.startswith("/static/explorer/vendor/maplibre-gl/maplibre-gl-csp.js") for p in paths)
    assert any(p.startswith(f"/api/v1/areas/{BLACKPOOL}/boundary/") for p in paths)  # the map's GeoJSON, from here
    assert any(p.startswith("/api/v1/boundaries/?vintage=MSOA21") for p in paths)


def test_the_spine_charts_show_the_apis_profile(blackpool):
    served = {r["indicator"]: r for r in api_json(blackpool.base, f"/api/v1/areas/{BLACKPOOL}/profile/")["indicators"]}
    spines = blackpool.page.eval_on_selector_all("svg.spine", """nodes => nodes.map(n => ({
        indicator: n.dataset.indicator, value: parseFloat(n.dataset.value),
        national: n.dataset.national === '' ? null : parseFloat(n.dataset.national),
        region: n.dataset.region === '' ? null : parseFloat(n.dataset.region),
        marker: n.querySelector('circle').getAttribute('class'),
        shown: n.closest('tr').querySelector('[data-field=value]').textContent}))""")
    assert len(spines) > 50
    for spine in spines:
        row = served[spine["indicator"]]
        assert (spine["value"], spine["national"], spine["region"]) == (row["value"], row["national_value"],
                                                                        row["region_value"]), spine
        assert float(spine["shown"].replace(",", "")) == row["value"]
    worse = [s for s in spines if served[s["indicator"]]["national_comparison"] == "worse"]
    assert worse and all(s["marker"] == "marker marker--worse" for s in worse)


def test_the_small_map_renders_the_boundary(blackpool):
    page = blackpool.page
    assert page.get_attribute("#area-map", "data-state") == "ready"
    assert page.locator("#area-map canvas.maplibregl-canvas").count() == 1
    assert page.evaluate("() => window.levelupMap.loaded()") is True
    layers = page.evaluate("() => window.levelupMap.getStyle().layers.map(l => l.id)")
    assert layers == ["background", "area-fill", "children-line", "area-line"]
    features = page.evaluate("() => window.levelupMap.querySourceFeatures('children').map(f => f.properties.code)")
    assert features and all(code.startswith("E02") for code in features)  # Blackpool's MSOAs
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "area-blackpool.png"))
    blackpool.assert_clean()


def test_the_area_page_has_no_serious_accessibility_violation(blackpool):
    assert axe_violations(blackpool.page) == []
    blackpool.assert_clean()


def test_the_welsh_names_toggle(visit):
    visit.open("/areas/W06000015/")
    page = visit.page
    toggle = page.locator("#welsh-toggle")
    assert toggle.is_visible() and toggle.get_attribute("aria-pressed") == "false"
    toggle.click()
    heading = page.locator("h1")
    assert heading.inner_text() == "Caerdydd" and heading.get_attribute("lang") == "cy"
    assert toggle.get_attribute("aria-pressed") == "true"
    page.reload(wait_until="networkidle")  # remembered in this browser
    assert page.locator("h1").inner_text() == "Caerdydd"
    page.locator("#welsh-toggle").click()
    assert page.locator("h1").inner_text() == "Cardiff" and page.locator("h1").get_attribute("lang") is None
    visit.assert_clean()


def test_the_skip_link_and_focus_are_visible(visit):
    visit.open(f"/areas/{BLACKPOOL}/")
    page = visit.page
    page.keyboard.press("Tab")
    focused = page.evaluate("() => [document.activeElement.className, getComputedStyle(document.activeElement).left,"
                            " getComputedStyle(document.activeElement).backgroundColor]")
    assert focused == ["skip-link", "0px", "rgb(255, 221, 0)"]
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"
    page.keyboard.press("Tab")  # the first link in the page: the breadcrumbs' Home, with the yellow focus
    assert page.evaluate("() => getComputedStyle(document.activeElement).backgroundColor") == "rgb(255, 221, 0)"


GAP_MISSION = 7


def test_the_missions_page_loads_cleanly_and_passes_axe(visit):
    visit.open("/missions/")
    page = visit.page
    assert page.locator("h1").inner_text() == "The 12 Levelling Up missions"
    served = api_json(visit.base, "/api/v1/missions/")
    cards = page.eval_on_selector_all("li.mission-card", """nodes => nodes.map(n => ({
        number: +n.dataset.mission, statement: n.querySelector('[data-field=statement]').textContent.trim(),
        link: n.querySelector('h3 a').getAttribute('href')}))""")
    assert cards == [{"number": m["number"], "statement": m["statement"], "link": f"/missions/{m['number']}/"}
                     for m in served]
    assert page.get_by_role("link", name="Missions", exact=True).get_attribute("aria-current") == "page"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "missions.png"))
    assert axe_violations(page) == []
    visit.assert_clean()


@pytest.fixture
def gap_mission(visit):
    visit.open(f"/missions/{GAP_MISSION}/")
    return visit


def test_a_mission_page_loads_with_nothing_from_another_host_and_passes_axe(gap_mission):
    page = gap_mission.page
    assert page.locator("h1").inner_text().endswith("Health")
    paths = [u.removeprefix(gap_mission.base) for u in gap_mission.requests if u.startswith(gap_mission.base)]
    assert paths[0] == f"/missions/{GAP_MISSION}/" and not any(p.startswith("/api/") for p in paths)  # drawn here
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"mission-{GAP_MISSION}.png"))
    assert axe_violations(page) == []
    gap_mission.assert_clean()


def test_the_small_multiples_draw_every_district(gap_mission):
    page = gap_mission.page
    progress = api_json(gap_mission.base, f"/api/v1/missions/{GAP_MISSION}/progress/?area_type=LAD")
    headline = [m for m in progress["metrics"] if m["headline"]]
    maps = page.eval_on_selector_all("figure.small-map", """nodes => nodes.map(n => {
        const svg = n.querySelector('svg.choropleth'), box = svg.getBoundingClientRect();
        const paths = [...svg.querySelectorAll('path.area')];
        return {indicator: n.dataset.indicator, width: box.width, height: box.height, paths: paths.length,
                coloured: paths.filter(p => !p.classList.contains('area--none')).length,
                fills: [...new Set(paths.map(p => getComputedStyle(p).fill))].length,
                drawn: paths.filter(p => p.getBBox().width > 0).length,
                legend: [...n.querySelectorAll('.map-legend li')].map(li => li.dataset['class'])};
    })""")
    assert [m["indicator"] for m in maps] == [m["indicator"] for m in headline]
    for shown, metric in zip(maps, headline, strict=True):
        assert shown["paths"] >= 300 and shown["drawn"] == shown["paths"]
        assert shown["coloured"] == metric["areas"]["with_values_latest"]
        assert shown["fills"] == 6  # five fifths and "no value"
        assert shown["legend"] == ["q1", "q2", "q3", "q4", "q5", "none"]
        assert 300 <= shown["width"] <= 340 and shown["height"] > shown["width"]  # the UK is taller than wide
    # the maps' section, for the docs
    page.evaluate("() => window.scrollTo(0, document.getElementById('gap-heading').offsetTop - 10)")
    page.screenshot(path=str(SCREENSHOTS / f"mission-{GAP_MISSION}-gap.png"))
    page.evaluate("() => window.scrollTo(0, document.getElementById('maps-heading').offsetTop - 10)")
    page.screenshot(path=str(SCREENSHOTS / f"mission-{GAP_MISSION}-maps.png"))
    gap_mission.assert_clean()


def test_the_gap_tables_and_charts_show_the_apis_gap_series(gap_mission):
    progress = api_json(gap_mission.base, f"/api/v1/missions/{GAP_MISSION}/progress/?area_type=LAD")
    served = [(m["indicator"], [g["gap"] for g in t["gap_series"]]) for m in progress["metrics"]
              for t in m["targets"] if "gap_series" in t]
    shown = gap_mission.page.eval_on_selector_all("figure.gap-chart", """nodes => nodes.map(n => [n.dataset.indicator,
        [...n.querySelectorAll('.gap-table tbody td')].map(td => parseFloat(td.textContent.replace(/,/g, ''))),
        n.querySelectorAll('svg.line-chart circle.line-chart__dot').length])""")
    assert [(slug, gaps) for slug, gaps, _ in shown] == served
    assert [dots for *_, dots in shown] == [len([g for g in gaps if g is not None]) for _, gaps in served]


def test_an_unknown_mission_is_a_clean_404_page(visit):
    response = visit.page.goto(visit.base + "/missions/13/", wait_until="networkidle")
    assert response.status == 404 and visit.page.locator("h1").inner_text() == "No mission 13"
    assert axe_violations(visit.page) == []
    # chromium logs the page's own status; nothing else may fail
    assert visit.errors == ["Failed to load resource: the server responded with a status of 404 (Not Found)"]
    visit.errors.clear()
    visit.assert_clean()

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

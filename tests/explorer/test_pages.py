"""The explorer's pages through Django's test client: the area page shows the area and the very
numbers of the API's profile, in a fixed number of statements; an unknown code is a 404 page; the
pages' Content-Security-Policy allows no other origin and they load nothing from one."""

from __future__ import annotations

import gzip
import re
from html import escape
from unittest.mock import patch

import pytest
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext

from explorer.formatting import served as served_text
from tests.builders import levelup

from .html_table import number, profile_table, rows

pytestmark = pytest.mark.django_db

BLACKPOOL = "E06000009"
PROFILE_NUMBERS = ("value", "lci", "uci", "region_value", "national_value")
PROFILE_TEXTS = ("national_comparison", "trend", "period")
WHITE_PAPER = "https://www.gov.uk/government/publications/levelling-up-the-united-kingdom"


@pytest.fixture
def warm():
    """The profile cache on, as served (the deprivation summaries' peers are kept per data version),
    and the data version not re-read during a test, so statement counts do not depend on the clock."""
    with levelup(PROFILE_CACHE=True, DATA_VERSION_SECONDS=3600):
        yield


def page(client, path: str, status: int = 200):
    response = client.get(path, HTTP_ACCEPT="text/html")
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("text/html")
    return response.content.decode()


def test_the_area_page_shows_blackpool_and_the_apis_profile_to_the_digit(client, api, warm):
    html = page(client, f"/areas/{BLACKPOOL}/")
    assert re.search(r'<h1 id="area-name"[^>]*>Blackpool</h1>', html)
    assert "Local authority district (lower tier)" in html and ">Live<" in html
    assert 'href="/areas/E12000002/"' in html  # North West, in the breadcrumbs
    served = api.get(f"/api/v1/areas/{BLACKPOOL}/profile/").json()["indicators"]
    table = profile_table(html)
    assert set(table.rows) == {r["indicator"] for r in served} and len(served) > 50
    for row in served:
        shown = table.rows[row["indicator"]]
        for name in PROFILE_NUMBERS:
            if row[name] is None:
                assert name not in shown, (row["indicator"], name)
            else:
                assert number(shown[name]) == row[name], (row["indicator"], name, shown[name], row[name])
        for name in PROFILE_TEXTS:
            assert shown[name].strip() == row[name], (row["indicator"], name)
    pay = table.rows["gross-median-weekly-pay"]
    assert number(pay["value"]) == next(r["value"] for r in served if r["indicator"] == "gross-median-weekly-pay")


def test_each_spine_chart_carries_the_served_numbers_and_spans_its_peers(client, api, warm):
    html = page(client, f"/areas/{BLACKPOOL}/")
    served = {r["indicator"]: r for r in api.get(f"/api/v1/areas/{BLACKPOOL}/profile/").json()["indicators"]}
    spines = profile_table(html).spines
    assert len(spines) > 50
    for slug, spine in spines.items():
        row = served[slug]
        assert float(spine["value"]) == row["value"]
        assert (float(spine["national"]) if spine["national"] else None) == row["national_value"]
        assert (float(spine["region"]) if spine["region"] else None) == row["region_value"]
        low, q1, q3, high = (float(spine[k]) for k in ("low", "q1", "q3", "high"))
        assert low <= q1 <= q3 <= high and low <= row["value"] <= high, slug
    # The range is over England's 296 districts (of 361 in the UK) for a district value of 2023.
    pay = api.get("/api/v1/observations/", {"indicator": "gross-median-weekly-pay", "type": "LAD",
                                             "period": served["gross-median-weekly-pay"]["period_iso"]}).json()
    english = [r["value"] for r in pay["results"] if r["area_code"].startswith("E") and r["value"] is not None]
    spine = spines["gross-median-weekly-pay"]
    assert (float(spine["low"]), float(spine["high"]), int(spine["areas"])) == (min(english), max(english),
                                                                                 len(english))


def test_the_area_page_costs_a_fixed_small_number_of_statements(client, warm):
    page(client, f"/areas/{BLACKPOOL}/")  # the deprivation summaries' peers, once per data version
    page(client, "/areas/E08000003/")
    counts = {}
    for code in (BLACKPOOL, "E08000003"):  # Blackpool, Manchester: 121 and more indicators each
        caches["profiles"].clear()  # the kept pages: this counts a page rendered afresh
        with CaptureQueriesContext(connection) as queries:
            page(client, f"/areas/{code}/")
        counts[code] = len(queries)
    assert counts[BLACKPOOL] == counts["E08000003"] <= 22, counts


def test_the_statement_budget_holds_with_django_assert_max_num_queries(client, warm, django_assert_max_num_queries):
    page(client, f"/areas/{BLACKPOOL}/")
    caches["profiles"].clear()
    with django_assert_max_num_queries(22):
        page(client, f"/areas/{BLACKPOOL}/")


def test_a_page_is_rendered_once_per_data_version_and_then_costs_no_statement(client, warm,
                                                                            django_assert_num_queries):
    caches["profiles"].clear()
    first = page(client, f"/areas/{BLACKPOOL}/")
    with django_assert_num_queries(0):
        again = client.get(f"/areas/{BLACKPOOL}/", HTTP_ACCEPT="text/html", HTTP_ACCEPT_ENCODING="gzip")
    assert again["Content-Type"] == "text/html; charset=utf-8" and again["Content-Encoding"] == "gzip"
    assert gzip.decompress(again.content).decode() == first
    assert "Content-Security-Policy" in again  # the headers are the middleware's, on every answer
    # A new data version (a load or an edit) renders it afresh, once.
    with patch("levelup_api.core.caching.data_version", return_value=-1.0), \
            CaptureQueriesContext(connection) as queries:
        assert page(client, f"/areas/{BLACKPOOL}/") == first
    assert len(queries) > 5
    # What is not the page is never kept: the redirect and the 404 answer afresh.
    with CaptureQueriesContext(connection) as queries:
        assert client.get(f"/areas/{BLACKPOOL.lower()}/").status_code == 301
        page(client, "/areas/E06999999/", 404)
    with CaptureQueriesContext(connection) as again_queries:
        assert client.get(f"/areas/{BLACKPOOL.lower()}/").status_code == 301
        page(client, "/areas/E06999999/", 404)
    assert len(again_queries) == len(queries) > 0


def test_the_sections_link_to_the_api_calls_behind_them(client, warm):
    html = page(client, f"/areas/{BLACKPOOL}/")
    for href in (f"/api/v1/areas/{BLACKPOOL}/", f"/api/v1/areas/{BLACKPOOL}/profile/",
                 f"/api/v1/areas/{BLACKPOOL}/profile/?format=csv", f"/api/v1/areas/{BLACKPOOL}/missions/",
                 f"/api/v1/areas/{BLACKPOOL}/similar/", f"/api/v1/areas/{BLACKPOOL}/profile/?summaries=true",
                 f"/api/v1/areas/{BLACKPOOL}/children/",
                 f"/api/v1/profiles/?parent={BLACKPOOL}&amp;type=LSOA&amp;vintage=LSOA21&amp;format=csv",
                 f"/api/v1/profiles/?parent={BLACKPOOL}&amp;type=LSOA&amp;vintage=LSOA21"):
        assert f'href="{href}"' in html, href
    assert f'data-boundary="/api/v1/areas/{BLACKPOOL}/boundary/?simplify=0.0003"' in html
    assert f'data-children="/api/v1/boundaries/?vintage=MSOA21&amp;parent={BLACKPOOL}&amp;simplify=0.0003"' in html


def test_the_scorecard_similar_areas_and_deprivation_are_the_apis(client, api, warm):
    html = page(client, f"/areas/{BLACKPOOL}/")
    scorecard = api.get(f"/api/v1/areas/{BLACKPOOL}/missions/").json()["missions"]
    living = next(m for m in scorecard if m["mission"] == 1)
    pay = next(x for x in living["metrics"] if x["indicator"] == "gross-median-weekly-pay")
    row = re.search(r'<tr data-mission="1" data-indicator="gross-median-weekly-pay">(.*?)</tr>', html, re.S)[1]
    assert [number(n) for n in re.findall(r'<span class="num">([^<]+)</span>', row)] == [
        pay["baseline_value"], pay["latest_value"], pay["change"], pay["national"]["value"]]
    similar = api.get(f"/api/v1/areas/{BLACKPOOL}/similar/").json()["similar"]
    listed = re.findall(r'<li><a href="/areas/(\w+)/">', html.split('id="similar-heading"')[1].split("</ol>")[0])
    assert listed == [s["area_code"] for s in similar] and len(listed) == 10
    summaries = api.get(f"/api/v1/areas/{BLACKPOOL}/profile/", {"summaries": "true"}).json()["deprivation_summaries"]
    section = html.split('id="deprivation-heading"')[1].split("</table>")[0]
    shown = re.findall(r'<tr data-indicator="([\w-]+)" data-method="(\w+)">.*?<td class="num-col"><span class="num">'
                       r'([^<]+)</span>', section, re.S)
    assert [(i, m, number(v)) for i, m, v in shown] == [(s["indicator"], s["method"], s["value"]) for s in summaries]
    assert len(shown) >= 5


def test_an_ended_code_says_so_and_links_its_successor(client, warm):
    html = page(client, "/areas/E07000026/")  # Allerdale, merged into Cumberland in April 2023
    assert "Allerdale" in html and "This code ended on 31 March 2023" in html
    assert '<a href="/areas/E06000063/">Cumberland</a>' in html


def test_welsh_names_are_there_for_the_toggle(client, warm):
    html = page(client, "/areas/W06000015/")
    assert re.search(r'<h1 id="area-name" data-name="Cardiff" data-name-cy="Caerdydd">Cardiff</h1>', html)
    assert '<span lang="cy">Caerdydd</span>' in html
    assert 'id="welsh-toggle" aria-pressed="false" hidden' in html  # shown by explorer.js


def test_an_unknown_code_is_a_404_page(client):
    for accept in ("text/html", "*/*"):
        response = client.get("/areas/E0600000X/", HTTP_ACCEPT=accept)
        assert response.status_code == 404 and response["Content-Type"].startswith("text/html")
        assert "No area with code <code>E0600000X</code>" in response.content.decode()
    assert "GSS codes have nine characters" in page(client, "/areas/E06/", 404)


def test_a_code_in_lower_case_redirects_to_the_page(client):
    response = client.get("/areas/e06000009/")
    assert response.status_code == 301 and response["Location"] == f"/areas/{BLACKPOOL}/"


@pytest.mark.parametrize("path", ["/", f"/areas/{BLACKPOOL}/", "/areas/E0600000X/", "/missions/", "/missions/7/",
                                  "/missions/13/"])
def test_the_pages_csp_allows_no_other_origin_and_nothing_comes_from_one(client, warm, path):
    response = client.get(path, HTTP_ACCEPT="text/html")
    policy = response["Content-Security-Policy"]
    assert not re.search(r"https?:|\*", policy), policy
    directives = {d.split()[0]: d.split()[1:] for d in policy.split(";") if d.strip()}
    assert directives["default-src"] == ["'self'"] and directives["object-src"] == ["'none'"]
    assert directives["connect-src"] == ["'self'"]  # the map's GeoJSON comes from this API
    html = response.content.decode()
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert all(re.search(r'src="/static/[^"]+"', tag) for tag in scripts), scripts  # files only, no inline code
    assert not re.search(r"\sstyle=", html)  # no inline styles either (style-src has no 'unsafe-inline')
    for attr in re.findall(r'(?:src|href)="([^"]+)"', html):
        # links out only to the OGL and the White Paper (a mission's source_url)
        assert attr.startswith(("/", "#", WHITE_PAPER)), attr


def test_the_home_page_is_the_explorers_landing_page(client):
    html = page(client, "/")
    for href in ("/explore/", "/missions/", f"/areas/{BLACKPOOL}/", "/api/docs/", "/graphql", "/api/v1/",
                 "/api/schema/"):
        assert f'href="{href}"' in html, href
    assert 'class="skip-link" href="#main"' in html and '<main id="main"' in html


# -- the mission pages ------------------------------------------------------------------------
GAP_MISSION = 7  # healthy life expectancy: two gap_narrows targets with twelve periods each
MISSIONS_PAGE_STATEMENTS = 4
MISSION_PAGE_STATEMENTS = 11


def _text(row: dict, name: str) -> str:
    return " ".join(row["fields"][name].split())


def test_the_missions_page_lists_the_12_missions_with_the_apis_statements_and_values(client, api, warm):
    html = page(client, "/missions/")
    served = api.get("/api/v1/missions/").json()
    cards = rows(html, "data-mission")
    assert [int(c["attrs"]["data-mission"]) for c in cards] == [m["number"] for m in served] == list(range(1, 13))
    for card, mission in zip(cards, served, strict=True):
        assert _text(card, "statement") == mission["statement"]
        assert card["attrs"]["data-status"] == _text(card, "data_status") == mission["data_status"]
        assert f'href="/missions/{mission["number"]}/"' in html and f'href="/api/v1/missions/{mission["number"]}/"' in html
        shown = {h["attrs"]["data-indicator"]: h for h in rows(html, "data-indicator", ("data-mission",
                                                                                          str(mission["number"])))}
        targets = [t for t in rows(html, "data-kind", ("data-mission", str(mission["number"])))]
        assert [(t["attrs"]["data-kind"], _text(t, "description"), t["attrs"]["data-status"]) for t in targets] == [
            (t["kind"], t["description"], t["data_status"]) for t in mission["targets"]]
        for metric in mission["metrics"]:
            if not metric["headline"]:
                assert metric["indicator"] not in shown
            elif metric["national_latest"] is None:
                assert "national_value" not in shown[metric["indicator"]]["fields"]
            else:
                assert number(shown[metric["indicator"]]["fields"]["national_value"]) == \
                    metric["national_latest"]["value"]
    objectives = re.findall(r'<h2 id="objective-(\d)"><span class="objective__number">Objective \d</span> ([^<]+)</h2>', html)
    assert [(int(n), name) for n, name in objectives] == sorted({(m["objective"]["number"], m["objective"]["name"])
                                                                 for m in served})
    assert 'href="/api/v1/missions/"' in html


def test_a_mission_pages_gap_tables_are_the_apis_gap_series(client, api, warm):
    html = page(client, f"/missions/{GAP_MISSION}/")
    progress = api.get(f"/api/v1/missions/{GAP_MISSION}/progress/", {"area_type": "LAD"}).json()
    gaps = [(m["indicator"], t) for m in progress["metrics"] for t in m["targets"] if "gap_series" in t]
    assert len(gaps) == 2 and all(len(t["gap_series"]) >= 10 for _, t in gaps)
    tables = re.findall(r'<table class="data-table gap-table" data-indicator="([\w-]+)">(.*?)</table>', html, re.S)
    assert [slug for slug, _ in tables] == [slug for slug, _ in gaps]
    for (slug, body), (_, target) in zip(tables, gaps, strict=True):
        shown = re.findall(r'<tr data-period="([^"]+)"><th scope="row">([^<]+)</th><td class="num-col">'
                           r'<span class="num">([^<]+)</span>', body)
        assert [(iso, label, number(gap)) for iso, label, gap in shown] == [
            (g["period_iso"], g["period"], g["gap"]) for g in target["gap_series"]], slug
    figures = re.findall(r'<figure class="gap-chart" data-indicator="([\w-]+)">(.*?)</figure>', html, re.S)
    for (slug, figure), (_, target) in zip(figures, gaps, strict=True):
        assert figure.count('class="line-chart__dot"') == len([g for g in target["gap_series"] if g["gap"] is not None])
        assert f'data-field="gap_status">{target["status"]}<' in figure
        last = target["gap_series"][-1]["gap"]
        assert re.search(rf'class="line-chart__label"[^>]*>{re.escape(served_text(last))}</text>', figure), slug
    assert f'href="/api/v1/missions/{GAP_MISSION}/progress/?area_type=LAD&amp;format=csv"' in html


@pytest.mark.parametrize("number_", range(1, 13))
def test_a_mission_pages_targets_progress_and_metrics_are_the_apis(client, api, warm, number_):
    html = page(client, f"/missions/{number_}/")
    mission = api.get(f"/api/v1/missions/{number_}/").json()
    progress = api.get(f"/api/v1/missions/{number_}/progress/", {"area_type": "LAD"}).json()
    assert f'<p class="lead" id="mission-statement">{escape(mission["statement"])}</p>' in html
    assert f'data-field="data_status">{mission["data_status"]}<' in html
    statuses = {(m["indicator"], t["kind"], t["description"]): t["status"] for m in progress["metrics"]
                for t in m["targets"]}
    shown = rows(html, "data-kind", ("id", "targets-table"))
    assert len(shown) == len(mission["targets"]) >= 1
    for row, target in zip(shown, mission["targets"], strict=True):
        assert row["attrs"]["data-kind"] == _text(row, "kind") == target["kind"]
        assert _text(row, "description") == target["description"]
        assert int(_text(row, "target_year")) == target["target_year"]
        assert _text(row, "data_status") == target["data_status"]
        if target["data_note"]:
            assert _text(row, "data_note") == target["data_note"]
        else:
            assert "data_note" not in row["fields"]
        status = statuses.get((target["indicator"], target["kind"], target["description"]))
        assert (_text(row, "status") if "status" in row["fields"] else None) == status
    table = {r["attrs"]["data-indicator"]: r["fields"] for r in rows(html, "data-indicator", ("id", "progress-table"))}
    assert list(table) == [m["indicator"] for m in progress["metrics"]]
    for m in progress["metrics"]:
        fields = table[m["indicator"]]
        areas = m["areas"] if m["areas"] and m["areas"]["improving"] is not None else {}
        expected = {
            "baseline": m["baseline"] and m["baseline"]["national_value"],
            "latest": m["latest"] and m["latest"]["national_value"],
            "national_change": m["national_change"],
            "improving": areas.get("improving"), "compared": areas.get("compared"),
            "share_improving": areas.get("share_improving"),
        }
        for name, value in expected.items():
            if value is None:
                assert name not in fields, (m["indicator"], name)
            else:
                assert number(fields[name]) == value, (m["indicator"], name)
        assert (fields["national_direction"] if m["national_direction"] else None) == m["national_direction"]
    metrics = {r["attrs"]["data-indicator"]: r["fields"] for r in rows(html, "data-indicator", ("id", "metrics-table"))}
    assert list(metrics) == [x["indicator"] for x in mission["metrics"]]
    for x in mission["metrics"]:
        shown_value = metrics[x["indicator"]].get("national_value")
        assert (number(shown_value) if shown_value else None) == (x["national_latest"] and x["national_latest"]["value"])
    for href in (f"/api/v1/missions/{number_}/", f"/api/v1/missions/{number_}/progress/?area_type=LAD", "/missions/"):
        assert f'href="{href}"' in html, href


def test_a_mission_pages_small_multiples_are_the_latest_district_values(client, api, warm):
    html = page(client, f"/missions/{GAP_MISSION}/")
    progress = api.get(f"/api/v1/missions/{GAP_MISSION}/progress/", {"area_type": "LAD"}).json()
    headline = [m for m in progress["metrics"] if m["headline"]]
    maps = re.findall(r'<figure class="small-map" data-indicator="([\w-]+)" data-period="([^"]+)">(.*?)</figure>',
                      html, re.S)
    assert [(slug, iso) for slug, iso, _ in maps] == [(m["indicator"], m["latest"]["period_iso"]) for m in headline]
    for (slug, iso, figure), metric in zip(maps, headline, strict=True):
        paths = re.findall(r'<path class="area area--(\w+)" d="M[^"]+" data-code="(\w+)"><title>([^<]*)</title>', figure)
        assert len(paths) >= 300 and len({code for _, code, _ in paths}) == len(paths)
        coloured = [p for p in paths if p[0] != "none"]
        assert len(coloured) == metric["areas"]["with_values_latest"]
        served = {}
        query = {"indicator": slug, "vintage": progress["vintage"], "period": iso, "page_size": 1000}
        for row in api.get("/api/v1/observations/", query).json()["results"]:
            if row["value"] is not None:
                served[row["area_code"]] = row["value"]
        listed = re.findall(r'<tr data-code="(\w+)"><th scope="row"><a href="/areas/\w+/">[^<]+</a></th>'
                            r'<td class="num-col"><span class="num">([^<]+)</span>', figure)
        assert {code: number(v) for code, v in listed} == served
        assert [number(v) for _, v in listed] == sorted(served.values(), reverse=True)
        # Each fifth's breaks are served values, the fifths in order, best first, and the counts add up.
        legend = re.findall(r'<li data-class="(q\d)">.*?data-field="low">([^<]+)</span> to <span class="num" '
                            r'data-field="high">([^<]+)</span>.*?(\d+) districts?</span>', figure, re.S)
        assert [c for c, *_ in legend] == sorted(c for c, *_ in legend) and len(legend) == 5
        assert sum(int(n) for *_, n in legend) == len(served)
        breaks = [(number(lo), number(hi)) for _, lo, hi, _ in legend]
        assert all(lo in served.values() and hi in served.values() for lo, hi in breaks)
        assert breaks == sorted(breaks, reverse=True) and breaks[0][1] == max(served.values())
        by_class = {c: (number(lo), number(hi)) for c, lo, hi, _ in legend}
        for css, code, title in paths:
            if css == "none":
                assert code not in served and title.endswith(": no value")
            else:
                lo, hi = by_class[css]
                assert lo <= served[code] <= hi and title.endswith(f": {served_text(served[code])}")
        assert f'href="/api/v1/observations/?indicator={slug}&amp;vintage={progress["vintage"]}&amp;period=' in figure
        assert "format=csv" in figure


def test_an_unknown_mission_is_a_404_page(client):
    for accept in ("text/html", "*/*"):
        response = client.get("/missions/13/", HTTP_ACCEPT=accept)
        assert response.status_code == 404 and response["Content-Type"].startswith("text/html")
        html = response.content.decode()
        assert "<h1>No mission 13</h1>" in html and 'href="/missions/"' in html
    assert "<h1>No mission 0</h1>" in page(client, "/missions/0/", 404)


def test_the_mission_pages_cost_a_fixed_small_number_of_statements(client, warm, django_assert_max_num_queries):
    """/missions/: the missions with their objectives, metrics and targets (3) and England's latest
    values (1). /missions/{n}/: the mission (3), England's latest (1), the vintage (2), the progress
    (4) and the maps (1: every map's outlines and values), the last only when a headline metric has
    district values, whatever the number of maps (mission 1 has one, mission 7 two)."""
    page(client, "/missions/")
    with django_assert_max_num_queries(MISSIONS_PAGE_STATEMENTS):
        page(client, "/missions/")
    counts, maps = {}, {}
    for n in (1, GAP_MISSION, 11, 12):  # one map, two maps, no district values (homicides, devolution)
        page(client, f"/missions/{n}/")
        with django_assert_max_num_queries(MISSION_PAGE_STATEMENTS):
            with CaptureQueriesContext(connection) as queries:
                page(client, f"/missions/{n}/")
        counts[n] = len(queries)
        maps[n] = sum("ST_AsSVG" in q["sql"] for q in queries.captured_queries)
    assert counts == {1: MISSION_PAGE_STATEMENTS, GAP_MISSION: MISSION_PAGE_STATEMENTS,
                      11: MISSION_PAGE_STATEMENTS - 1, 12: MISSION_PAGE_STATEMENTS - 1}, counts
    assert maps == {1: 1, GAP_MISSION: 1, 11: 0, 12: 0}


def test_the_header_links_to_the_map_and_the_missions(client, warm):
    for path in ("/", "/missions/", f"/areas/{BLACKPOOL}/"):
        nav = page(client, path).split('<nav class="site-nav"')[1].split("</nav>")[0]
        assert re.search(r'<a href="/explore/"[^>]*>Explore map</a>', nav)
        assert re.search(r'<a href="/missions/"( aria-current="page")?>Missions</a>', nav)
    assert '<a href="/missions/" aria-current="page">Missions</a>' in page(client, "/missions/7/")

"""The explorer's pages through Django's test client: the area page shows the area and the very
numbers of the API's profile, in a fixed number of statements; an unknown code is a 404 page; the
pages' Content-Security-Policy allows no other origin and they load nothing from one."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.builders import levelup

from .html_table import number, profile_table

pytestmark = pytest.mark.django_db

BLACKPOOL = "E06000009"
PROFILE_NUMBERS = ("value", "lci", "uci", "region_value", "national_value")
PROFILE_TEXTS = ("national_comparison", "trend", "period")


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
        with CaptureQueriesContext(connection) as queries:
            page(client, f"/areas/{code}/")
        counts[code] = len(queries)
    assert counts[BLACKPOOL] == counts["E08000003"] <= 22, counts


def test_the_statement_budget_holds_with_django_assert_max_num_queries(client, warm, django_assert_max_num_queries):
    page(client, f"/areas/{BLACKPOOL}/")
    with django_assert_max_num_queries(22):
        page(client, f"/areas/{BLACKPOOL}/")


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


@pytest.mark.parametrize("path", ["/", f"/areas/{BLACKPOOL}/", "/areas/E0600000X/"])
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
        assert attr.startswith(("/", "#", "https://www.nationalarchives.gov.uk/")), attr  # links out only to the OGL


def test_the_home_page_is_the_explorers_landing_page(client):
    html = page(client, "/")
    for href in ("/map/", "/missions/", f"/areas/{BLACKPOOL}/", "/api/docs/", "/graphql", "/api/v1/",
                 "/api/schema/"):
        assert f'href="{href}"' in html, href
    assert 'class="skip-link" href="#main"' in html and '<main id="main"' in html

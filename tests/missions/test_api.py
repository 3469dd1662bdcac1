"""Missions, progress and area profiles over REST: the published figures a user checks and fixed
query counts."""

import csv
import io
import math

import orjson
import pytest
from django.core.cache import caches

import levelup_api.core.caching
import missions.statistics
from geographies.models import Area
from indicators.models import Indicator, Observation
from missions import selectors
from missions.profile_facts import profile_facts_rebuild
from missions.selectors import PROFILE_COLUMNS

pytestmark = pytest.mark.django_db


def test_twelve_missions_under_four_objectives(api):
    missions = api.get("/api/v1/missions/").json()
    assert [m["number"] for m in missions] == list(range(1, 13))
    assert {m["objective"]["number"] for m in missions} == {1, 2, 3, 4}
    digital = {(t["indicator"], t["value"]) for t in missions[3]["targets"]}
    assert {("gigabit-broadband", 100.0), ("5g-coverage", 50.0), ("4g-coverage", 100.0)} <= digital
    assert missions[6]["target_year"] == 2035  # healthy life expectancy +5 years by 2035
    leadership = missions[11]
    assert leadership["metrics"][0]["indicator"] == "population-under-devolution-deal-in-england-snapshot-2024-09"
    assert {t["kind"] for t in leadership["targets"]} == {"coverage_share"}
    covered = leadership["metrics"][0]["national_latest"]
    assert covered["code"] == "E92000001" and 40 < covered["value"] < 42  # % of England's population
    # Targets without data say so rather than vanish.
    housing = next(t for t in missions[9]["targets"] if t["kind"] == "group_relative_change")
    assert housing["data_status"] == "none" and "non-decent" in housing["data_note"]
    assert api.get("/api/v1/missions/13/").status_code == 404


def test_mission_12_reports_the_population_covered_by_devolution_deals(api):
    progress = api.get("/api/v1/missions/12/progress/", {"area_type": "RGN"}).json()
    latest = progress["metrics"][0]["latest"]
    england = api.get("/api/v1/observations/", {"indicator": "population-under-devolution-deal-in-england-snapshot-2024-09",
                                                "area": "E92000001"}).json()["results"][0]["value"]
    assert latest["national_code"] == "E92000001" and latest["national_value"] == england


def test_blackpool_profile_compares_with_region_and_england(api):
    body = api.get("/api/v1/areas/E06000009/profile/").json()
    rows = {r["indicator"]: r for r in body["indicators"]}
    hle = rows["healthy-life-expectancy-male"]
    assert (hle["period"], hle["value"], hle["lci"], hle["uci"]) == ("2022-2024", 50.9, 47.3, 54.4)
    assert (hle["region_code"], hle["region_value"], hle["region_comparison"]) == ("E12000002", 58.3, "worse")
    assert (hle["national_code"], hle["national_value"], hle["national_comparison"]) == ("E92000001", 60.9, "worse")
    assert hle["missions"] == [7] and hle["rank"] == hle["rank_of"] and hle["decile"] == 10
    pay = rows["gross-median-weekly-pay"]
    assert (pay["value"], pay["region_value"], pay["national_value"]) == (539.9, 615.9, 648.4)
    assert pay["region_comparison"] == pay["national_comparison"] == "worse"
    assert pay["region_difference"] == pytest.approx(539.9 - 615.9)


def test_mission_7_gap_is_highest_minus_lowest_district_over_the_same_districts(api):
    progress = api.get("/api/v1/missions/7/progress/", {"area_type": "LAD", "vintage": "LAD23"}).json()
    metric = next(m for m in progress["metrics"] if m["indicator"] == "healthy-life-expectancy-male")
    base, last = metric["baseline"]["national_value"], metric["latest"]["national_value"]
    assert metric["national_change"] == pytest.approx(last - base)
    assert metric["national_direction"] == ("better" if last > base else "worse" if last < base else "no change")
    gap = next(t for t in metric["targets"] if t["kind"] == "gap_narrows")
    assert gap["gap_definition"] == "highest area minus lowest"
    # Recompute from the published values: districts of LAD23 with a value in every period.
    rows = api.get("/api/v1/observations/", {"indicator": "healthy-life-expectancy-male", "vintage": "LAD23",
                                             "page_size": 100000}).json()["results"]
    by_period: dict[str, dict[str, float]] = {}
    for r in rows:
        if r["value"] is not None:
            by_period.setdefault(r["period_iso"], {})[r["area_code"]] = r["value"]
    common = set.intersection(*(set(v) for v in by_period.values()))
    assert gap["gap_areas"] == len(common) > 150
    expected = {p: max(v[a] for a in common) - min(v[a] for a in common) for p, v in by_period.items()}
    assert {g["period_iso"]: g["gap"] for g in gap["gap_series"]} == pytest.approx(expected)
    assert [g["period"] for g in gap["gap_series"]][:2] == ["2011-2013", "2012-2014"]
    assert gap["status"] == ("narrowing" if expected[max(expected)] < expected[min(expected)] else "widening")


def test_profiles_for_every_north_west_district_in_one_csv(api):
    response = api.get("/api/v1/profiles/", {"parent": "E12000002", "type": "LAD", "vintage": "LAD23", "format": "csv"})
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len({r["area_code"] for r in rows}) == 35
    blackpool = next(r for r in rows if r["area_code"] == "E06000009" and r["indicator"] == "gross-median-weekly-pay")
    assert blackpool["value"] == "539.9" and blackpool["national_comparison"] == "worse"
    assert api.get("/api/v1/profiles/", {"type": "LAD"}).json()["parameter"] == "parent"


def test_query_counts_are_fixed(api, django_assert_num_queries):
    # The area and its profile facts with codes, names, titles and missions, written as JSON by
    # PostgreSQL: one statement.
    for code in ("E06000009", "E08000003", "E01005061"):
        with django_assert_num_queries(1):
            api.get(f"/api/v1/areas/{code}/profile/")
    for number in (7, 1):
        with django_assert_num_queries(8):
            api.get(f"/api/v1/missions/{number}/progress/", {"area_type": "LAD", "vintage": "LAD23"})


def test_the_profile_document_postgresql_writes_is_the_profile_rows_document():
    """An area's profile is written as JSON by PostgreSQL: for LSOAs, districts, a region and the
    nation, at both levels, it holds exactly what the rows read as tuples hold (numbers included:
    a whole float is written without ".0", which parses to the same number), keys in the same order."""
    codes = ["E01005061", "E01000001", "W01000001", "E06000009", "E08000003", "E07000026", "E12000002", "E92000001"]
    for area in Area.objects.filter(code__in=codes):
        for level in (95.0, 99.8):
            written = orjson.loads(selectors.area_profile_document(code=area.code.lower() + " ", level=level))
            assert written == {"area": {"code": area.code, "name": area.name},
                               "indicators": selectors.area_profile(area=area, level=level)}
            assert all(list(row) == PROFILE_COLUMNS for row in written["indicators"])
    assert len(orjson.loads(selectors.area_profile_document(code="E06000009"))["indicators"]) == 121
    assert selectors.area_profile_document(code="E99999999") is None


def test_a_profile_is_rendered_once_per_data_version_and_follows_its_facts(api, django_assert_num_queries,
                                                                           monkeypatch, settings):
    uncached = api.get("/api/v1/areas/E06000009/profile/").json()
    settings.LEVELUP = {**settings.LEVELUP, "PROFILE_CACHE": True}
    caches["profiles"].clear()
    version = [1.0]
    monkeypatch.setattr(levelup_api.core.caching, "data_version", lambda: version[0])
    with django_assert_num_queries(1):
        assert api.get("/api/v1/areas/E06000009/profile/").json() == uncached
    with django_assert_num_queries(0):  # the rendered document comes from the cache
        assert api.get("/api/v1/areas/E06000009/profile/").json() == uncached
    with django_assert_num_queries(1):  # the area; then the rows are one COPY (which Django does not count)
        assert api.get("/api/v1/areas/E06000009/profile/", {"format": "csv"}).status_code == 200
    with django_assert_num_queries(1):  # another level is another document, from the same facts
        at998 = api.get("/api/v1/areas/E06000009/profile/", {"level": "99.8"}).json()
    assert at998 != uncached and {r["indicator"] for r in at998["indicators"]} == {
        r["indicator"] for r in uncached["indicators"]}
    with django_assert_num_queries(5):  # parent, area type, vintage, areas, and their facts
        rows = api.get("/api/v1/profiles/", {"parent": "E12000002", "type": "LAD"}).json()["rows"]
    assert [r for r in rows if r["area_code"] == "E06000009"] == uncached["indicators"]

    def pay() -> float:
        rows = api.get("/api/v1/areas/E06000009/profile/").json()["indicators"]
        return next(r["value"] for r in rows if r["indicator"] == "gross-median-weekly-pay")

    pay_id = Indicator.objects.get(slug="gross-median-weekly-pay").id
    Observation.objects.filter(area__code="E06000009", indicator_id=pay_id, release__is_current=True,
                               value=539.9).update(value=123.4, lci=None, uci=None)
    profile_facts_rebuild(indicator_ids=[pay_id])  # as the load or edit that changed it does
    assert pay() == 539.9  # same data version: the rendered document
    version[0] = 2.0  # the load or edit finished
    assert pay() == 123.4
    assert api.get("/api/v1/areas/E99999999/profile/").status_code == 404  # errors are not cached
    assert api.get("/api/v1/areas/E99999999/profile/").status_code == 404


def test_area_scorecard_across_missions(api):
    body = api.get("/api/v1/areas/E06000009/missions/").json()
    assert [m["mission"] for m in body["missions"]] == list(range(1, 13))
    pay = next(x for x in body["missions"][0]["metrics"] if x["indicator"] == "gross-median-weekly-pay")
    assert pay["latest_value"] == 539.9 and pay["latest_period"] == "2025-04-30"
    assert pay["national"] == {"code": "E92000001", "period": "2025-04-30", "value": 648.4}
    assert pay["change"] == pytest.approx(pay["latest_value"] - pay["baseline_value"])
    assert pay["direction"] == ("better" if pay["change"] > 0 else "worse")
    assert body["missions"][1]["data"] == "none for this area"  # R&D is published for regions only


def test_similar_areas_are_nearest_on_standardised_values(api):
    slugs = "iod2025-imd-score,iod2025-income-score"
    body = api.get("/api/v1/areas/E01005061/similar/", {"indicators": slugs, "n": 3}).json()
    assert body["indicators"] == slugs.split(",") and len(body["similar"]) == 3
    distances = [s["distance"] for s in body["similar"]]
    assert distances == sorted(distances) and "E01005061" not in {s["area_code"] for s in body["similar"]}
    mine = api.get("/api/v1/observations/", {"indicator": slugs, "area": "E01005061"}).json()["results"]
    me = {r["indicator"]: r["value"] for r in mine}
    nearest = body["similar"][0]["values"]
    assert abs(nearest["iod2025-imd-score"] - me["iod2025-imd-score"]) < 1
    assert api.get("/api/v1/areas/E01005061/similar/", {"n": "0"}).json()["parameter"] == "n"
    assert api.get("/api/v1/areas/E01005061/similar/", {"indicators": "nope"}).json()["parameter"] == "indicators"


def test_profile_rank_and_decile_agree_with_the_published_values(api):
    # Blackpool's pay rank among districts: 1 + the districts paid more (ties share a rank).
    rows = api.get("/api/v1/observations/", {"indicator": "gross-median-weekly-pay", "period": "2025-04-30",
                                             "area_type": "LAD", "page_size": 1000}).json()["results"]
    values = [r["value"] for r in rows if r["value"] is not None]
    pay = next(r for r in api.get("/api/v1/areas/E06000009/profile/").json()["indicators"]
               if r["indicator"] == "gross-median-weekly-pay")
    assert pay["rank"] == 1 + sum(v > 539.9 for v in values) == 353
    assert pay["rank_of"] == len(values) == 359
    assert pay["decile"] == 10  # ceil(10 x 353 / 359)


# -- ranks, comparisons, computed comparators, levels (issue 12) ---------------------------------
COMPARED = {"better", "similar", "worse", "higher", "lower"}
QUINTILES = {f"{q} quintile" for q in ("best", "second-best", "middle", "second-worst", "worst", "highest",
                                       "second-highest", "second-lowest", "lowest")}
METHODS = {"confidence_interval", "wilson", "byar", "poisson_exact", "quintile"}


def profile(api, code: str, **params) -> dict[str, dict]:
    response = api.get(f"/api/v1/areas/{code}/profile/", params)
    assert response.status_code == 200, response.content
    return {r["indicator"]: r for r in response.json()["indicators"]}


def test_manchester_018a_shows_its_published_ranks_and_deciles(api):
    rows = profile(api, "E01005061")  # Manchester 018A
    barriers = rows["iod2019-barriers-rank"]
    assert (barriers["value"], barriers["rank"], barriers["rank_of"], barriers["decile"]) == (4421, 4421, 32844, 2)
    decile = rows["iod2019-barriers-decile"]
    assert (decile["value"], decile["rank"], decile["rank_of"], decile["decile"]) == (2, None, 32844, 2)
    # Every rank row shows the published rank, and the decile it implies is the one published.
    ranks = [r for r in rows.values() if r["measure"] == "rank"]
    assert len(ranks) == 18
    for r in ranks:
        assert r["rank"] == r["value"] and r["rank_of"] == (32844 if r["indicator"].startswith("iod2019") else 33755)
        published = rows[r["indicator"].removesuffix("-rank") + "-decile"]
        assert r["decile"] == published["decile"] == published["value"] == math.ceil(10 * r["value"] / r["rank_of"])
        # A rank has no region value to compare with; its decile says where the area stands.
        assert r["region_value"] is None and r["comparison_method"] is None


def test_blackpool_profile_compares_every_row_that_has_a_comparator(api):
    rows = profile(api, "E06000009")
    assert len(rows) == 121
    compared = 0
    for r in rows.values():
        with_comparator = [k for k in ("region", "national") if r[f"{k}_value"] is not None]
        for key in ("region", "national"):
            source, outcome = r[f"{key}_comparator_source"], r[f"{key}_comparison"]
            if r[f"{key}_value"] is None:
                assert source is None and outcome.startswith("no comparator value"), (r["indicator"], key, outcome)
                continue
            assert source in ("published", "computed")
            if r["measure"] in ("rank", "decile"):
                continue
            if r["comparison_method"] == "quintile":
                assert outcome in QUINTILES and outcome == missions.statistics.quintile_placement(
                    r["rank"], r["rank_of"], r["polarity"])
            else:
                assert outcome in COMPARED and r["comparison_level"] == 95
        if with_comparator and r["measure"] not in ("rank", "decile"):
            compared += 1
            assert r["comparison_method"] in METHODS, r["indicator"]
            # Published intervals first; without one (and for totals), the quintile among all districts.
            totals = r["measure"] == "count" or r["indicator"].startswith("population")
            assert r["comparison_method"] == ("confidence_interval" if r["lci"] is not None and not totals
                                              else "quintile"), r["indicator"]
        else:
            assert r["comparison_method"] is None
    assert compared == 82
    assert not any("no confidence interval" in r["region_comparison"] + r["national_comparison"]
                   for r in rows.values())
    pay = rows["gross-median-weekly-pay"]  # CI method: as before
    assert (pay["comparison_method"], pay["region_comparison"], pay["national_comparison"]) == (
        "confidence_interval", "worse", "worse")
    gdhi = rows["gdhi-per-head"]  # no CI: 336th of 361 districts, ceil(5 x 336 / 361) = 5
    assert (gdhi["rank"], gdhi["rank_of"], gdhi["comparison_method"], gdhi["region_comparison"]) == (
        336, 361, "quintile", "worst quintile")
    assert rows["population-mid-2022"]["national_comparison"] == "middle quintile"  # 192 of 361, neutral


def test_blackpool_iod_2025_rows_have_computed_north_west_and_england_values(api):
    rows = profile(api, "E06000009")
    iod = {slug: r for slug, r in rows.items() if slug.startswith("iod2025-imd-lad-")}
    computed = {slug for slug, r in iod.items()
                if r["region_comparator_source"] == r["national_comparator_source"] == "computed"}
    assert computed == {"iod2025-imd-lad-average-score", "iod2025-imd-lad-share-decile-1",
                        "iod2025-imd-lad-average-rank", "iod2025-imd-lad-extent",
                        "iod2025-imd-lad-local-concentration"}
    # The rank of the average score is a rank among districts: a region has none.
    assert iod["iod2025-imd-lad-rank-of-average-score"]["region_value"] is None
    for r in iod.values():
        assert (r["region_code"], r["national_code"]) == ("E12000002", "E92000001")
        if r["indicator"] in computed:
            assert r["region_coverage"] == r["national_coverage"] == 1.0
    # The numbers are the aggregate endpoint's, from the LSOAs by the same summaries.

    def aggregated(slug: str, to: str, code: str, **extra) -> float:
        body = api.get(f"/api/v1/indicators/{slug}/aggregate/", {"from_vintage": "LSOA21", "to_vintage": to, **extra})
        assert body.status_code == 200, body.content
        return next(r["value"] for r in body.json()["results"] if r["area_code"] == code)

    score, share = iod["iod2025-imd-lad-average-score"], iod["iod2025-imd-lad-share-decile-1"]
    # The same summary (average score, to the scores' 3 places) gives the same number on both surfaces.
    assert score["region_value"] == aggregated("iod2025-imd-score", "RGN", "E12000002", method="average_score")
    assert score["national_value"] == aggregated("iod2025-imd-score", "CTRY", "E92000001", method="average_score")
    assert share["region_value"] == pytest.approx(aggregated("iod2025-imd-decile", "RGN", "E12000002"))
    assert share["national_value"] == pytest.approx(0.1, abs=1e-4)  # a tenth of England's LSOAs are in decile 1
    rank = iod["iod2025-imd-lad-average-rank"]
    assert rank["region_value"] == pytest.approx(
        aggregated("iod2025-imd-rank", "RGN", "E12000002", method="average_rank"), rel=1e-9)
    # England's average of the reversed ranks, population-weighted, is near the middle rank.
    assert abs(rank["national_value"] - 33756 / 2) < 500
    # Blackpool is worse than both: 43.467 against the North West's 27.1 and England's 21.8 (quintile: worst).
    assert (score["value"], score["comparison_method"], score["region_comparison"]) == (
        43.467, "quintile", "worst quintile")


def test_level_998_changes_comparisons_where_the_intervals_differ(api):
    at95, at998 = profile(api, "E06000009"), profile(api, "E06000009", level="99.8")
    pay95, pay998 = at95["gross-median-weekly-pay"], at998["gross-median-weekly-pay"]
    # 539.9 + (590.693792 - 539.9) x 3.090232 / 1.959964 = 619.99: the North West's 615.9 is inside
    # the 99.8% interval, England's 648.4 is not.
    assert (pay95["region_comparison"], pay998["region_comparison"]) == ("worse", "similar")
    assert (pay95["national_comparison"], pay998["national_comparison"]) == ("worse", "worse")
    assert (pay95["comparison_level"], pay998["comparison_level"]) == (95, 99.8)
    changed = [(slug, key) for slug in at95 for key in ("region", "national")
               if at95[slug][f"{key}_comparison"] != at998[slug][f"{key}_comparison"]]
    assert len(changed) >= 5
    for slug, key in changed:  # only interval comparisons move, and only towards similar
        assert at95[slug]["comparison_method"] == "confidence_interval"
        assert at95[slug][f"{key}_comparison"] in ("better", "worse") and at998[slug][f"{key}_comparison"] == "similar"
    quintiles = [s for s, r in at95.items() if r["comparison_method"] == "quintile"]
    assert quintiles and all(at998[s]["region_comparison"] == at95[s]["region_comparison"] for s in quintiles)
    listed = api.get("/api/v1/profiles/", {"parent": "E12000002", "type": "LAD", "level": "99.8"}).json()
    blackpool = next(r for r in listed["rows"] if r["area_code"] == "E06000009"
                     and r["indicator"] == "gross-median-weekly-pay")
    assert blackpool["region_comparison"] == "similar"


@pytest.mark.parametrize("query", ["level=90", "level=abc", "level=", "level=99.8&level=95", "level=95%25"])
def test_a_bad_level_is_a_400_naming_it(api, query):
    for url in ("/api/v1/areas/E06000009/profile/?", "/api/v1/profiles/?parent=E12000002&type=LAD&"):
        response = api.get(url + query)
        if query == "level=":  # an empty value is the parameter left out
            assert response.status_code == 200
            continue
        assert response.status_code == 400, (url, query)
        assert response.json()["parameter"] == "level"


def test_profile_csv_has_the_profile_columns_with_methods_and_sources(api):
    response = api.get("/api/v1/areas/E06000009/profile/", {"format": "csv", "level": "99.8"})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert list(rows[0]) == PROFILE_COLUMNS
    score = next(r for r in rows if r["indicator"] == "iod2025-imd-lad-average-score")
    assert (score["region_comparator_source"], score["national_comparator_source"]) == ("computed", "computed")
    pay = next(r for r in rows if r["indicator"] == "gross-median-weekly-pay")
    assert (pay["comparison_method"], pay["comparison_level"], pay["region_comparison"]) == (
        "confidence_interval", "99.8", "similar")
    assert pay["trend_method"] == "confidence_interval_overlap"  # intervals at both ends of its five points
    gdhi = next(r for r in rows if r["indicator"] == "gdhi-per-head")  # no intervals: every step the same way
    assert (gdhi["trend"], gdhi["trend_method"], gdhi["trend_points"]) == ("increasing, getting better", "monotonic", "5")
    single = next(r for r in rows if r["indicator"] == "iod2025-imd-lad-average-score")
    assert (single["trend"], single["trend_method"]) == ("not enough data", "")


def test_progress_changes_and_gaps_are_rounded_by_the_documented_rule(api):
    """Derived numbers carry at most the indicator's decimal places plus two (docs/indicators.md)."""
    from decimal import Decimal

    places = {i["slug"]: i["decimal_places"] for i in api.get("/api/v1/indicators/").json()}
    seen = 0
    for number in range(1, 13):
        body = api.get(f"/api/v1/missions/{number}/progress/", {"type": "LAD", "vintage": "LAD23"}).json()
        for metric in body["metrics"]:
            numbers = [metric.get("national_change")] + [g["gap"] for t in metric["targets"]
                                                          for g in t.get("gap_series", [])]
            for x in numbers:
                if x is None:
                    continue
                seen += 1
                assert -Decimal(repr(x)).as_tuple().exponent <= places[metric["indicator"]] + 2, (metric["indicator"], x)
    assert seen > 20
    scorecard = api.get("/api/v1/areas/E06000009/missions/").json()["missions"]
    changes = [(m["indicator"], m["change"]) for s in scorecard for m in s.get("metrics", []) if m.get("change") is not None]
    assert changes and all(-Decimal(repr(c)).as_tuple().exponent <= places[i] + 2 for i, c in changes)


def test_profiles_of_more_areas_than_a_json_list_holds_point_to_the_csv(api):
    refused = api.get("/api/v1/profiles/", {"parent": "E12000002", "type": "LSOA", "vintage": "LSOA21"})
    assert refused.status_code == 400 and refused.json()["parameter"] == "parent"
    assert "4,567 LSOA21 areas below E12000002" in refused.json()["message"] and "format=csv" in refused.json()["message"]
    streamed = api.get("/api/v1/profiles/", {"parent": "E06000009", "type": "LSOA", "vintage": "LSOA21",
                                             "format": "csv"})
    rows = list(csv.DictReader(io.StringIO(b"".join(streamed.streaming_content).decode())))
    assert {r["area_code"][:3] for r in rows} == {"E01"} and len({r["area_code"] for r in rows}) == 94

"""Missions, progress and area profiles over REST: the published figures a user checks and fixed
query counts."""

import csv
import io

import pytest
from django.core.cache import caches

import levelup_api.core.caching
import missions.selectors
from indicators.models import Observation

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
    for code in ("E06000009", "E08000003"):
        with django_assert_num_queries(6):
            api.get(f"/api/v1/areas/{code}/profile/")
    for number in (7, 1):
        with django_assert_num_queries(8):
            api.get(f"/api/v1/missions/{number}/progress/", {"area_type": "LAD", "vintage": "LAD23"})


def test_profile_cache_serves_a_computed_profile_until_the_data_version_changes(api, django_assert_num_queries,
                                                                               monkeypatch, settings):
    uncached = api.get("/api/v1/areas/E06000009/profile/").json()
    uncached_list = api.get("/api/v1/profiles/", {"parent": "E12000002", "type": "LAD"}).json()
    settings.LEVELUP = {**settings.LEVELUP, "PROFILE_CACHE": True}
    caches["profiles"].clear()
    version = [1.0]
    for module in (missions.selectors, levelup_api.core.caching):
        monkeypatch.setattr(module, "data_version", lambda: version[0])
    with django_assert_num_queries(6):
        assert api.get("/api/v1/areas/E06000009/profile/").json() == uncached
    with django_assert_num_queries(0):  # the rendered document comes from the cache
        assert api.get("/api/v1/areas/E06000009/profile/").json() == uncached
    with django_assert_num_queries(1):  # the same rows as CSV: only the area is read
        assert api.get("/api/v1/areas/E06000009/profile/", {"format": "csv"}).status_code == 200
    # Blackpool is cached; the region's other districts are computed in one batch, and cached too.
    assert api.get("/api/v1/profiles/", {"parent": "E12000002", "type": "LAD"}).json() == uncached_list
    with django_assert_num_queries(4):  # parent, area type, vintage, areas: no observation is read
        assert api.get("/api/v1/profiles/", {"parent": "E12000002", "type": "LAD"}).json() == uncached_list

    def pay() -> float:
        rows = api.get("/api/v1/areas/E06000009/profile/").json()["indicators"]
        return next(r["value"] for r in rows if r["indicator"] == "gross-median-weekly-pay")

    Observation.objects.filter(area__code="E06000009", indicator__slug="gross-median-weekly-pay",
                               is_current=True).update(value=123.4, lci=None, uci=None)
    assert pay() == 539.9  # same data version: the cached profile
    version[0] = 2.0  # a load or an edit finished
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

"""Values expressed on one boundary vintage: published ones pass through, merged districts get a
value converted from their predecessors, flagged, with the inputs on request. Checked against the
published inputs, not against numbers this code computed."""

import csv
import io

import pytest

pytestmark = pytest.mark.django_db

OBS = "/api/v1/observations/"
LIFE = "wellbeing-life-satisfaction"
FY2022 = "2022-04-01/P1Y"
CUMBRIA = {"E07000026": "Allerdale", "E07000028": "Carlisle", "E07000029": "Copeland"}


def values(api, indicator, areas, period=None) -> dict[str, float]:
    params = {"indicator": indicator, "area": ",".join(areas)}
    if period:
        params["period"] = period
    return {r["area_code"]: r["value"] for r in api.get(OBS, params).json()["results"]}


def test_cumberland_life_satisfaction_is_the_population_weighted_mean_of_its_predecessors(api):
    published = values(api, LIFE, CUMBRIA, FY2022)
    assert published == {"E07000026": 7.18, "E07000028": 7.97, "E07000029": 8.23}
    population = values(api, "population-census-2021-ltla", CUMBRIA)
    expected = sum(published[c] * population[c] for c in CUMBRIA) / sum(population.values())
    body = api.get(OBS, {"indicator": LIFE, "area": "E06000063", "vintage": "LAD23", "harmonise": "true",
                         "explain": "true", "period": FY2022}).json()
    [row] = body["results"]
    # A converted value is rounded to decimal_places + 2 (docs/indicators.md, "Precision").
    assert row["value"] == round(expected, 3) == 7.756
    assert (row["flag"], row["method"], row["weight_indicator"]) == ("converted", "weighted_mean",
                                                                     "population-census-2021-ltla")
    assert [(i["area_code"], i["value"], i["weight"]) for i in row["inputs"]] == [
        (code, published[code], population[code]) for code in sorted(CUMBRIA)]


def test_published_values_pass_through_and_missing_inputs_say_so(api):
    rows = api.get(OBS, {"indicator": LIFE, "area": "E08000003,E06000065", "vintage": "LAD23", "harmonise": "true",
                         "period": FY2022}).json()["results"]
    by_area = {r["area_code"]: r for r in rows}
    manchester = by_area["E08000003"]
    assert (manchester["flag"], manchester["reason"]) == ("published", None)
    assert manchester["value"] == values(api, LIFE, ["E08000003"], FY2022)["E08000003"]
    assert manchester["lci"] is not None
    # North Yorkshire's predecessors include Richmondshire, which has no 2022/23 figure.
    north_yorkshire = by_area["E06000065"]
    assert north_yorkshire["value"] is None and "E07000166" in north_yorkshire["reason"]


def test_harmonise_needs_a_vintage_and_refuses_as_of(api):
    body = api.get(OBS, {"indicator": LIFE, "harmonise": "true"}).json()
    assert body["status"] == 400 and body["parameter"] == "harmonise"
    body = api.get(OBS, {"indicator": LIFE, "harmonise": "true", "vintage": "LAD23", "as_of": "2024-01-01"}).json()
    assert body["parameter"] == "as_of"


def test_harmonised_csv(api):
    response = api.get(OBS, {"indicator": LIFE, "area": "E06000063", "vintage": "LAD23", "harmonise": "true",
                             "format": "csv"})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows and all(r["flag"] == "converted" for r in rows)
    assert {"flag", "method", "weight_indicator", "reason"} <= set(rows[0])


def test_fixed_number_of_queries(api, django_assert_num_queries):
    for areas in ("E06000063,E08000003", "E06000063,E06000064,E06000066,E08000001"):
        with django_assert_num_queries(15):
            api.get(OBS, {"indicator": LIFE, "area": areas, "vintage": "LAD23", "harmonise": "true"})


def test_a_series_takes_a_fixed_number_of_statements_whatever_the_vintages_that_hold_the_area(
        api, django_assert_num_queries):
    # Blackpool is in 13 vintages; the default one is found in one statement, not one per vintage.
    for code in ("E06000009", "E08000003"):
        with django_assert_num_queries(8):
            body = api.get(f"/api/v1/areas/{code}/series/", {"indicator": "gross-median-weekly-pay"}).json()
        assert body["vintage"].startswith("LAD") and len(body["series"]) >= 10


def test_series_reaches_back_before_the_merger(api):
    body = api.get("/api/v1/areas/E06000063/series/", {"indicator": LIFE, "vintage": "LAD23"}).json()
    assert (body["area"]["code"], body["vintage"]) == ("E06000063", "LAD23")
    periods = [p["period_iso"] for p in body["series"]]
    assert periods == sorted(periods) and FY2022 in periods and periods[0] == "2011-04-01/P1Y"
    assert all(p["flag"] == "converted" for p in body["series"])
    assert next(p for p in body["series"] if p["period_iso"] == FY2022)["value"] == 7.756  # 7.7558 to 3 places
    wrong = api.get("/api/v1/areas/E07000026/series/", {"indicator": LIFE, "vintage": "LAD23"}).json()
    assert wrong["parameter"] == "vintage" and "LAD22" in wrong["message"]
    assert api.get("/api/v1/areas/E99999999/series/", {"indicator": LIFE}).status_code == 404


def test_lsoa_2011_split_shares_counts_by_population_and_keeps_rates(api):
    # ONS's change lookup: LSOA 2011 E01005062 (Manchester 018B) split into E01034115 and E01034116.
    whole = values(api, "population-mid-2020-lsoa11", ["E01005062"])["E01005062"]
    parts = values(api, "population-census-2021", ["E01034115", "E01034116"])
    decile = values(api, "iod2019-imd-decile", ["E01005062"])["E01005062"]
    rows = api.get(OBS, {"indicator": "population-mid-2020-lsoa11,iod2019-imd-decile", "area": "E01034115,E01034116",
                         "vintage": "LSOA21", "harmonise": "true", "explain": "true"}).json()["results"]
    got = {(r["area_code"], r["indicator"]): r for r in rows}
    for code in parts:
        count = got[code, "population-mid-2020-lsoa11"]
        assert count["flag"] == "apportioned" and count["weight_indicator"] == "population-census-2021"
        assert count["value"] == pytest.approx(whole * parts[code] / sum(parts.values()))
        assert count["inputs"] == [{"area_code": "E01005062", "area_name": "Manchester 018B", "value": whole,
                                    "weight": parts[code]}]
        assert (got[code, "iod2019-imd-decile"]["value"], got[code, "iod2019-imd-decile"]["flag"]) == (decile,
                                                                                                       "apportioned")


def test_lsoa_2011_merge_sums_counts(api):
    # E01028040 and E01028041 (LSOA 2011) merged into E01033769 (LSOA 2021).
    inputs = values(api, "population-mid-2020-lsoa11", ["E01028040", "E01028041"])
    [row] = api.get(OBS, {"indicator": "population-mid-2020-lsoa11", "area": "E01033769", "vintage": "LSOA21",
                          "harmonise": "true"}).json()["results"]
    assert (row["flag"], row["method"], row["value"]) == ("converted", "sum", sum(inputs.values()))

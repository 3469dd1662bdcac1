"""Aggregation up the hierarchy, proved against figures the publisher computed itself: MHCLG's
IoD 2025 district summaries (loaded from their own file) against our aggregation of the LSOA values
from another file. Plus coverage, withheld values, refusals and query counts."""

import csv
import io

import pytest

from tests.clients import gql

pytestmark = pytest.mark.django_db

AGG = "/api/v1/indicators/{}/aggregate/"


def published(api, slug: str) -> dict[str, float]:
    rows = api.get("/api/v1/observations/", {"indicator": slug, "area_type": "LAD", "page_size": 1000}).json()
    return {r["area_code"]: r["value"] for r in rows["results"]}


def aggregated(api, slug: str, **params) -> dict:
    response = api.get(AGG.format(slug), {"from_vintage": "LSOA21", "to_vintage": "LAD24", **params})
    assert response.status_code == 200, response.content
    return response.json()


def test_share_of_lsoas_in_decile_1_reproduces_every_published_district_summary(api):
    body = aggregated(api, "iod2025-imd-decile")
    assert (body["method"], body["category_values"]) == ("share_in_category", [1.0])
    ours = {r["area_code"]: r for r in body["results"]}
    theirs = published(api, "iod2025-imd-lad-share-decile-1")
    assert len(theirs) == 296
    # To the published precision (4 decimal places), for every district in England.
    assert all(round(ours[code]["value"], 4) == value for code, value in theirs.items())
    blackpool, manchester = ours["E06000009"], ours["E08000003"]
    assert round(blackpool["value"], 4) == 0.4043 and round(manchester["value"], 4) == 0.4068
    assert (blackpool["children_used"], blackpool["children_expected"], blackpool["coverage"]) == (94, 94, 1.0)
    assert (manchester["children_used"], manchester["flag"], manchester["reason"]) == (295, "aggregated", None)


def test_population_weighted_imd_score_is_within_half_a_point_of_every_published_average(api):
    body = aggregated(api, "iod2025-imd-score")
    assert body["weight"] == {"indicator": "population-census-2021", "period": "2021-03-21"}
    ours = {r["area_code"]: r for r in body["results"]}
    theirs = published(api, "iod2025-imd-lad-average-score")
    # MHCLG weights by its own mid-year populations, we by Census 2021: close, not identical.
    assert max(abs(ours[code]["value"] - value) for code, value in theirs.items()) < 0.5
    blackpool = ours["E06000009"]
    assert theirs["E06000009"] == 43.467 and abs(blackpool["value"] - 43.467) < 0.5
    assert (blackpool["weight_indicator"], blackpool["coverage"]) == ("population-census-2021", 1.0)


def test_missing_inputs_lower_coverage_and_withhold_values_below_the_threshold(api):
    # IoD 2025 covers England only: the UK's LSOAs (England and Wales) are 94.6% covered; Wales's
    # not at all.
    args = {"from_type": "LSOA", "to_type": "CTRY"}
    rows = {r["area_code"]: r for r in api.get(AGG.format("iod2025-imd-decile"), args).json()["results"]}
    england, wales = rows["E92000001"], rows["W92000004"]
    assert england["coverage"] == 1.0 and england["value"] is not None
    assert wales["value"] is None and wales["children_used"] == 0 and "none of the" in wales["reason"]
    ew = api.get(AGG.format("iod2025-imd-decile"), {"from_type": "LSOA", "to_type": "UK"}).json()["results"][0]
    assert ew["children_used"] == 33755 and ew["children_expected"] == 35672
    assert ew["coverage"] == pytest.approx(33755 / 35672, abs=1e-6) and ew["value"] is not None
    strict = api.get(AGG.format("iod2025-imd-decile"), {"from_type": "LSOA", "to_type": "UK", "min_coverage": "0.95"})
    row = strict.json()["results"][0]
    assert row["value"] is None and "below 0.95" in row["reason"]


def test_parent_and_csv(api):
    response = api.get(AGG.format("iod2025-imd-score"), {"from_type": "LSOA", "to_type": "LAD",
                                                         "parent": "E12000002", "format": "csv"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 35  # the North West's districts in LAD24 (39 before the 2023 Cumbria mergers)
    manchester = next(r for r in rows if r["area_code"] == "E08000003")
    assert manchester["method"] == "weighted_mean" and manchester["weight_indicator"] == "population-census-2021"


@pytest.mark.parametrize(("slug", "params", "parameter", "says"), [
    ("iod2025-imd-rank", {"method": "sum"}, "method", "ranks of small areas cannot be summed"),
    ("iod2025-imd-rank", {}, "indicator", "marked not aggregatable"),
    ("iod2025-imd-score", {"method": "sum"}, "method", "sum does not apply to a score"),
    ("iod2025-imd-decile", {"method": "weighted_mean"}, "method", "deciles are categories"),
    ("iod2025-imd-decile", {"weight": "population-census-2021"}, "weight", "takes no weight"),
    ("iod2025-imd-score", {"to_vintage": "LAD99"}, "to_vintage", "unknown vintage LAD99"),
    ("iod2025-imd-score", {"to_vintage": "MSOA21", "to_type": "LAD"}, "to_vintage", "not LAD"),
    ("iod2025-imd-score", {"to_vintage": "LAD19"}, "to_vintage", "not linked to LAD19"),
    ("iod2025-imd-score", {"period": "1999"}, "period", "no period"),
    ("iod2025-imd-score", {"weight": "no-such-indicator"}, "weight", "unknown indicator"),
    ("iod2025-imd-score", {"min_coverage": "2"}, "min_coverage", "must be between 0 and 1, got 2"),
])
def test_refusals_are_400s_that_say_why(api, slug, params, parameter, says):
    response = api.get(AGG.format(slug), {"from_type": "LSOA", "to_type": "LAD", **params})
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["parameter"] == parameter and says in body["message"], body


def test_unknown_indicator_is_404(api):
    assert api.get(AGG.format("no-such-indicator"), {"from_type": "LSOA", "to_type": "LAD"}).status_code == 404


def test_fixed_number_of_queries(api, django_assert_num_queries):
    for parent in ("E12000002", "E12000007"):  # 35 and 33 districts: the same count
        with django_assert_num_queries(11):
            api.get(AGG.format("iod2025-imd-score"), {"from_type": "LSOA", "to_type": "LAD", "parent": parent})


def test_graphql_gives_the_same_numbers(api, client):
    rest = aggregated(api, "iod2025-imd-decile", parent="E06000009")["results"][0]
    body = gql(client, """{ aggregate(indicator: "iod2025-imd-decile", fromVintage: "LSOA21", toVintage: "LAD24",
        parent: "E06000009") { method fromVintage toVintage rows { areaCode value childrenUsed coverage flag } } }""")
    agg = body["data"]["aggregate"]
    assert (agg["method"], agg["fromVintage"], agg["toVintage"]) == ("share_in_category", "LSOA21", "LAD24")
    assert agg["rows"] == [{"areaCode": "E06000009", "value": rest["value"], "childrenUsed": 94, "coverage": 1.0,
                            "flag": "aggregated"}]
    error = gql(client, '{ aggregate(indicator: "iod2025-imd-rank", fromType: "LSOA", toType: "LAD") { method } }')
    assert error["errors"][0]["extensions"]["parameter"] == "indicator"

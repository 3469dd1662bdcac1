"""Missions, profiles, scorecards and similar areas over GraphQL: the same documents as REST."""

import pytest

from missions.selectors import PROFILE_COLUMNS

pytestmark = pytest.mark.django_db


def test_graphql_missions_profile_scorecard_and_similar(client, api):
    from tests.clients import gql

    body = gql(client, """{ missions { number objective { number } targets { kind indicator value } }
        mission(number: 7) { shortName progress(areaType: "LAD", vintage: "LAD23") } }""")
    assert len(body["data"]["missions"]) == 12
    rest = api.get("/api/v1/missions/7/progress/", {"area_type": "LAD", "vintage": "LAD23"}).json()
    assert body["data"]["mission"]["progress"] == rest
    body = gql(client, """{ area(code: "E06000009") { profile { indicator value regionComparison nationalValue missions }
        missions similar(indicators: "gross-median-weekly-pay,gva-per-hour-worked", n: 2) } }""")
    area = body["data"]["area"]
    pay = next(r for r in area["profile"] if r["indicator"] == "gross-median-weekly-pay")
    assert pay == {"indicator": "gross-median-weekly-pay", "value": 539.9, "regionComparison": "worse",
                   "nationalValue": 648.4, "missions": [1]}
    assert [m["mission"] for m in area["missions"]] == list(range(1, 13))
    assert len(area["similar"]["similar"]) == 2


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


def test_graphql_profile_rows_are_the_rest_rows_at_either_level(client, api):
    from tests.clients import gql

    fields = " ".join(_camel(c) for c in PROFILE_COLUMNS)
    for level in ("95", "99.8"):
        body = gql(client, f'{{ area(code: "E06000009") {{ profile(level: "{level}") {{ {fields} }} }} }}')
        rows = body["data"]["area"]["profile"]
        rest = api.get("/api/v1/areas/E06000009/profile/", {"level": level}).json()["indicators"]
        assert rows == [{_camel(k): v for k, v in r.items()} for r in rest]
    score = next(r for r in rows if r["indicator"] == "iod2025-imd-lad-average-score")
    assert (score["regionComparatorSource"], score["regionCoverage"], score["comparisonMethod"]) == (
        "computed", 1.0, "quintile")
    pay = next(r for r in rows if r["indicator"] == "gross-median-weekly-pay")
    assert (pay["comparisonLevel"], pay["regionComparison"], pay["trendMethod"]) == (
        99.8, "similar", "confidence_interval_overlap")
    # Types: the methods and sources are strings, the coverage and level numbers.
    schema = gql(client, '{ __type(name: "ProfileRow") { fields { name type { name } } } }')
    types = {f["name"]: f["type"]["name"] for f in schema["data"]["__type"]["fields"]}
    assert {types[k] for k in ("comparisonMethod", "trendMethod", "regionComparatorSource",
                               "nationalComparatorSource", "measure")} == {"String"}
    assert {types[k] for k in ("regionCoverage", "nationalCoverage", "comparisonLevel")} == {"Float"}
    assert types["rankOf"] == "Int"
    bad = gql(client, '{ area(code: "E06000009") { profile(level: "90") { indicator } } }')
    assert bad["errors"][0]["extensions"]["parameter"] == "level"

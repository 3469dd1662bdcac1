"""Missions, profiles, scorecards and similar areas over GraphQL: the same documents as REST."""

import pytest

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

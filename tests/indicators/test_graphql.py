"""GraphQL indicator queries: the same numbers as REST, and fixed query counts."""

import pytest

from tests.clients import REQUEST_OVERHEAD, gql

pytestmark = pytest.mark.django_db

CHILD_VALUES = """query($code: String!) { area(code: $code) { children(type: "LSOA") { code
  observations(indicator: "iod2025-imd-score,iod2025-imd-decile,population-census-2021", period: "latest") {
    indicatorSlug value period { label } } } } }"""


def test_latest_values_of_three_indicators_for_all_children_in_fixed_queries(client, django_assert_num_queries):
    with django_assert_num_queries(7 + REQUEST_OVERHEAD):  # graphql-core
        manchester = gql(client, CHILD_VALUES, {"code": "E08000003"}, path="resolved")["data"]["area"]["children"]
    with django_assert_num_queries(1 + REQUEST_OVERHEAD):  # compiled: one statement
        bolton = gql(client, CHILD_VALUES, {"code": "E08000001"})["data"]["area"]["children"]
    assert len(manchester) == 295 and len(bolton) > 100
    first = {o["indicatorSlug"]: o["value"] for o in manchester[0]["observations"]}
    assert manchester[0]["code"] == "E01005061"
    assert first == {"iod2025-imd-decile": 1.0, "iod2025-imd-score": 54.054, "population-census-2021": 1791.0}


def test_observations_connection_uses_the_filterset(client):
    body = gql(client, '{ observations(indicator: "iod2019-imd-rank", area: "E01000001") { totalCount '
                       'edges { node { areaCode indicatorSlug value period { iso } } } } }')
    assert body["data"]["observations"]["totalCount"] == 1
    assert body["data"]["observations"]["edges"][0]["node"]["value"] == 29199


def test_indicator_metadata_and_errors(client):
    ind = gql(client, '{ indicator(slug: "iod2025-imd-score") { title unit source licence } }')["data"]["indicator"]
    assert ind["source"] == ["Ministry of Housing, Communities and Local Government"]
    err = gql(client, '{ observations(indicator: "nope") { totalCount } }')["errors"][0]
    assert err["extensions"]["parameter"] == "indicator"
    err = gql(client, '{ area(code: "E08000003") { observations(indicator: "nope") { value } } }')["errors"][0]
    assert err["extensions"]["parameter"] == "indicator"


def test_area_series_and_custom_area(client, api):
    body = gql(client, """{ area(code: "E06000063") { series(indicator: "wellbeing-life-satisfaction", vintage: "LAD23")
        { periodIso value flag inputs { areaCode weight } } } }""")
    point = next(p for p in body["data"]["area"]["series"] if p["periodIso"] == "2022-04-01/P1Y")
    assert point["flag"] == "converted" and round(point["value"], 2) == 7.76
    assert [i["areaCode"] for i in point["inputs"]] == ["E07000026", "E07000028", "E07000029"]
    from django.contrib.auth.models import User

    from geographies.models import Area, CustomArea, CustomAreaMember, Vintage

    custom = CustomArea.objects.create(name="Two", method="codes", vintage=Vintage.objects.get(code="LSOA21"),
                                       created_by=User.objects.create_user("u"))
    CustomAreaMember.objects.bulk_create(CustomAreaMember(custom_area=custom, area=a, weight=1.0)
                                         for a in Area.objects.filter(code__in=["E01005061", "E01005063"]))
    body = gql(client, """query($id: ID!) { customArea(id: $id) { name vintage members { code weight }
        observations(indicator: "population-census-2021") { value childrenUsed flag } } }""", {"id": str(custom.id)})
    got = body["data"]["customArea"]
    rest = api.get("/api/v1/observations/", {"indicator": "population-census-2021",
                                             "area": "E01005061,E01005063"}).json()["results"]
    assert got["vintage"] == "LSOA21" and [m["code"] for m in got["members"]] == ["E01005061", "E01005063"]
    assert got["observations"] == [{"value": sum(r["value"] for r in rest), "childrenUsed": 2, "flag": "aggregated"}]

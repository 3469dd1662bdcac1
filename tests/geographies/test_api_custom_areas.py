"""Custom areas: made of small areas by code or by a drawn polygon, created with a token, public to
read, and profiled by the same aggregation rules as the hierarchy."""

import pytest
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token

from geographies.models import CustomArea

pytestmark = pytest.mark.django_db

CENTRE = {"type": "Polygon", "coordinates": [[[-2.26, 53.47], [-2.22, 53.47], [-2.22, 53.49], [-2.26, 53.49],
                                              [-2.26, 53.47]]]}


@pytest.fixture
def author(api):
    user = User.objects.create_user("partner", password="x")
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return api


def manchester_lsoas(api) -> list[str]:
    body = api.get("/api/v1/areas/E08000003/children/", {"type": "LSOA", "page_size": 1000}).json()
    return [a["code"] for a in body.get("results", body)]


def test_the_295_manchester_lsoas_profile_as_manchester_does(author, api):
    codes = manchester_lsoas(api)
    assert len(codes) == 295
    created = author.post("/api/v1/custom-areas/", {"name": "Manchester, by LSOA", "codes": codes}, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["member_count"], body["vintage"], body["method"]) == (295, "LSOA21", "codes")
    assert {m["weight"] for m in body["members"]} == {1.0}
    api.credentials()  # reading is public
    detail = api.get(f"/api/v1/custom-areas/{body['id']}/").json()
    assert detail["name"] == "Manchester, by LSOA" and len(detail["members"]) == 295
    mine = api.get(f"/api/v1/custom-areas/{body['id']}/observations/",
                   {"indicator": "iod2025-imd-decile,iod2025-imd-score"}).json()["results"]
    district = api.get("/api/v1/indicators/iod2025-imd-decile/aggregate/",
                       {"from_vintage": "LSOA21", "to_vintage": "LAD24", "parent": "E08000003"}).json()["results"][0]
    share = next(r for r in mine if r["indicator"] == "iod2025-imd-decile")
    assert share["value"] == district["value"] and round(share["value"], 4) == 0.4068
    assert (share["children_used"], share["coverage"], share["flag"]) == (295, 1.0, "aggregated")
    score = next(r for r in mine if r["indicator"] == "iod2025-imd-score")
    assert score["weight_indicator"] == "population-census-2021" and abs(score["value"] - 38.677) < 0.5


def test_polygon_by_centroid_and_by_overlap(author):
    centroid = author.post("/api/v1/custom-areas/", {"name": "Centre", "geometry": CENTRE, "method": "centroid"},
                           format="json").json()
    overlap = author.post("/api/v1/custom-areas/", {"name": "Centre", "geometry": CENTRE, "method": "overlap"},
                          format="json").json()
    inside = {m["code"] for m in centroid["members"]}
    touched = {m["code"]: m["weight"] for m in overlap["members"]}
    assert inside and inside <= set(touched) and len(touched) > len(inside)
    assert all(0 < w <= 1 for w in touched.values()) and any(w < 0.5 for w in touched.values())
    assert centroid["geometry"]["type"] == "MultiPolygon"
    # Overlap apportions counts: the population is the members' populations times their shares.
    rows = author.get(f"/api/v1/custom-areas/{overlap['id']}/observations/",
                      {"indicator": "population-census-2021"}).json()["results"]
    populations = {r["area_code"]: r["value"] for r in author.get(
        "/api/v1/observations/", {"indicator": "population-census-2021", "area": ",".join(touched)}).json()["results"]}
    assert rows[0]["value"] == pytest.approx(sum(populations[c] * w for c, w in touched.items()))


def test_creating_needs_a_token(api):
    response = api.post("/api/v1/custom-areas/", {"name": "x", "codes": ["E01005061"]}, format="json")
    assert response.status_code == 401 and CustomArea.objects.count() == 0


@pytest.mark.parametrize(("body", "parameter", "says"), [
    ({"name": "x", "codes": ["E01005061", "E99999999"]}, "codes", "unknown code(s): E99999999"),
    ({"name": "x", "codes": ["E01005061", "E08000003"]}, "codes", "LSOA or MSOA of one vintage"),
    ({"name": "x", "codes": []}, "codes", "non-empty list"),
    ({"name": "", "codes": ["E01005061"]}, "name", "1 to 200 characters"),
    ({"name": "x"}, "codes", "either `codes`"),
    ({"name": "x", "geometry": CENTRE}, "method", "centroid or overlap"),
    ({"name": "x", "method": "centroid", "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0],
                                                                                         [0, 1], [0, 0]]]}},
     "geometry", "Self-intersection"),
    ({"name": "x", "method": "centroid", "geometry": {"type": "Point", "coordinates": [0, 0]}}, "geometry",
     "not Point"),
    ({"name": "x", "method": "centroid", "geometry": {"type": "Polygon", "coordinates": [[[-3, 52], [0, 52], [0, 54],
                                                                                         [-3, 54], [-3, 52]]]}},
     "geometry", "larger than"),
    ({"name": "x", "method": "centroid", "geometry": {"type": "Polygon", "coordinates": [[[10, 10], [11, 10],
                                                                                         [11, 11], [10, 10]]]}},
     "geometry", "no LSOA21 area"),
])
def test_bad_input_is_a_400_and_creates_nothing(author, body, parameter, says):
    response = author.post("/api/v1/custom-areas/", body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["parameter"] == parameter and says in response.json()["message"]
    assert CustomArea.objects.count() == 0


def test_unknown_ids_and_unaggregatable_indicators(author, api):
    assert api.get("/api/v1/custom-areas/00000000-0000-0000-0000-000000000000/").status_code == 404
    created = author.post("/api/v1/custom-areas/", {"name": "x", "codes": ["E01005061"]}, format="json").json()
    refused = api.get(f"/api/v1/custom-areas/{created['id']}/observations/", {"indicator": "iod2025-imd-rank"})
    assert refused.status_code == 400 and "not aggregatable" in refused.json()["message"]

"""The body of POST /api/v1/custom-areas/: whatever a client sends, a wrong field is a 400 that
names it in our words (never GEOS's or PostgreSQL's), and nothing is created."""

import json

import pytest
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token

from geographies.models import CustomArea

pytestmark = pytest.mark.django_db

RING = [[-2.26, 53.47], [-2.22, 53.47], [-2.22, 53.49], [-2.26, 53.49], [-2.26, 53.47]]
# Words that would mean an internal message leaked through.
INTERNALS = ("GEOS", "geos", "psycopg", "PostgreSQL", "postgres", "ERROR:", "LINE ", "Traceback", "ctypes", "OGR")


@pytest.fixture
def author(api):
    user = User.objects.create_user("drawer", password="x")
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return api


def polygon(coordinates, kind="Polygon") -> dict:
    return {"name": "x", "method": "overlap", "geometry": {"type": kind, "coordinates": coordinates}}


@pytest.mark.parametrize(("body", "parameter", "says"), [
    ({"name": 42, "codes": ["E01005061"]}, "name", "must be a string"),
    ({"name": ["a", "b"], "codes": ["E01005061"]}, "name", "must be a string"),
    ({"name": None, "codes": ["E01005061"]}, "name", "null"),
    ({"name": "x" * 201, "codes": ["E01005061"]}, "name", "1 to 200 characters"),
    ({"name": "   ", "codes": ["E01005061"]}, "name", "1 to 200 characters"),
    ({"name": "a\x00b", "codes": ["E01005061"]}, "name", "Null characters"),
    ({"name": "x", "codes": ["E01005061\x00"]}, "codes[0]", "Null characters"),
    ({"name": "x", "codes": ["E01005061", 7]}, "codes[1]", "must be a string"),
    ({"name": "x", "codes": "E01005061"}, "codes", "non-empty list"),
    ({"name": "x", "codes": ["E01005061"], "vintage": 21}, "vintage", "must be a string"),
    ({"name": "x", "codes": ["E01005061"], "vintage": "LSOA\x0021"}, "vintage", "Null characters"),
    ({**polygon([RING]), "method": 3}, "method", "centroid or overlap"),
    ({**polygon([RING]), "method": "middle"}, "method", "centroid or overlap"),
    ({"name": "x", "method": "overlap", "geometry": "POLYGON((0 0, 1 0, 1 1, 0 0))"}, "geometry", "GeoJSON object"),
    ({"name": "x", "method": "overlap", "geometry": None}, "geometry", "null"),
    (polygon([RING], kind="Circle"), "geometry", "a Polygon or MultiPolygon, not Circle"),
    (polygon([RING], kind=None), "geometry", "not None"),
    (polygon([RING], kind="Feature"), "geometry", "not Feature"),
    (polygon([]), "geometry", "coordinates: a polygon is a non-empty list of linear rings"),
    (polygon(None), "geometry", "coordinates: a polygon is a non-empty list of linear rings"),
    (polygon([], kind="MultiPolygon"), "geometry", "a MultiPolygon is a non-empty list of polygons"),
    (polygon([[]]), "geometry", "at least 4 positions"),
    (polygon([[[], [], [], []]]), "geometry", "coordinates[0][0]: a position is [longitude, latitude]"),
    (polygon([[["a", "b"], [1, 0], [1, 1], ["a", "b"]]]), "geometry", "in numbers, got ['a', 'b']"),
    (polygon([[[True, 0], [1, 0], [1, 1], [True, 0]]]), "geometry", "in numbers"),
    (polygon([[[0, 0], [1, 0], [1, 1], [0, 1]]]), "geometry", "must end where it starts"),
    (polygon([[[500, 0], [501, 0], [501, 1], [500, 0]]]), "geometry", "within [-180..180, -90..90]"),
    (polygon([[RING], []], kind="MultiPolygon"), "geometry", "coordinates[1]: a polygon is a non-empty list"),
    (polygon([RING], kind="MultiPolygon"), "geometry", "coordinates[0][0]: a linear ring"),
    ({"name": "x", "codes": ["E01005061"], "colour": "red"}, "colour", "unknown field"),
    ({"name": "x", "codes": ["E01005061"], "co\x00des": []}, "co\\x00des", "unknown field"),
    ({}, "body", "a JSON object"),
    ([{"name": "x"}], "body", "a JSON object"),
])
def test_each_bad_field_is_a_400_naming_it(author, body, parameter, says):
    response = author.post("/api/v1/custom-areas/", body, format="json")
    assert response.status_code == 400, response.content
    error = response.json()
    assert (error["status"], error["error"], error["parameter"]) == (400, "bad_request", parameter)
    assert says in error["message"] and error["errors"][0]["parameter"] == parameter
    assert not any(word in response.content.decode() for word in INTERNALS)
    assert CustomArea.objects.count() == 0


@pytest.mark.parametrize(("raw", "says"), [
    (b'{"name": "a\x00b", "codes": ["E01005061"]}', "JSON parse error"),  # a raw NUL, not \u0000
    (b'{"name": "x", "codes": [', "JSON parse error"),
    (b'{"name": "x", "geometry": {"type": "Polygon", "coordinates": [[[NaN, 0]]]}}', "JSON parse error"),
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
])
def test_a_body_that_is_not_json_is_a_400_naming_the_body(author, raw, says):
    response = author.post("/api/v1/custom-areas/", raw, content_type="application/json")
    assert response.status_code == 400, response.content[:300]
    error = response.json()
    assert error["parameter"] == "body" and says in error["message"]
    assert CustomArea.objects.count() == 0


def test_geos_validity_is_reported_in_plain_words(author):
    bowtie = polygon([[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]])
    response = author.post("/api/v1/custom-areas/", bowtie, format="json")
    error = response.json()
    assert response.status_code == 400 and error["parameter"] == "geometry"
    assert error["message"].startswith("invalid polygon: Self-intersection")


def test_a_good_body_with_extra_geojson_members_is_created(author):
    body = {"name": "  Town centre ", "method": "centroid", "vintage": "lsoa21",
            "geometry": {"type": "Polygon", "coordinates": [RING], "bbox": [-2.26, 53.47, -2.22, 53.49],
                         "crs": {"type": "name", "properties": {"name": "EPSG:4326"}}}}
    created = author.post("/api/v1/custom-areas/", json.dumps(body), content_type="application/json")
    assert created.status_code == 201, created.content
    area = created.json()
    assert (area["name"], area["vintage"], area["method"]) == ("Town centre", "LSOA21", "centroid")
    assert area["member_count"] == len(area["members"]) > 0 and area["geometry"]["type"] == "MultiPolygon"

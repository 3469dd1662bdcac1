"""Vector tiles against the real national load, decoded with mapbox-vector-tile: the areas a map of
Blackpool or Manchester shows, where they are drawn, the values and classes they carry (the
observations' own, classed over the whole vintage as the legend says), the empty sea, conditional
GETs, every refusal naming its parameter, and the statement budget as a server runs a tile."""

import gzip
import math

import mapbox_vector_tile
import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from shapely.geometry import Point, shape

from indicators import tiles
from indicators.models import Observation
from levelup_api.core.quotas import api_key_make
from tests.builders import levelup

pytestmark = pytest.mark.django_db

BLACKPOOL = (-3.05, 53.82)
MANCHESTER_TOWN_HALL = (-2.2446, 53.4794)
CARDIFF = (-3.1791, 51.4816)
PAY = "gross-median-weekly-pay"
IMD_SCORE = "iod2025-imd-score"


@pytest.fixture(autouse=True)
def _fresh_tile_store():
    """What indicators.tiles keeps per data version starts empty, so each test counts its own reads."""
    tiles.tile_cache_clear()
    yield
    tiles.tile_cache_clear()


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    lat_r = math.radians(lat)
    return int((lon + 180) / 360 * n), int((1 - math.log(math.tan(lat_r) + 1 / math.cos(lat_r)) / math.pi) / 2 * n)


def in_tile_units(lon: float, lat: float, z: int, x: int, y: int) -> Point:
    """The point in the tile's own coordinates (4096 a side, y downwards, as MVT draws)."""
    n = 2**z
    lat_r = math.radians(lat)
    wx = (lon + 180) / 360 * n
    wy = (1 - math.log(math.tan(lat_r) + 1 / math.cos(lat_r)) / math.pi) / 2 * n
    return Point((wx - x) * 4096, (wy - y) * 4096)


def url(vintage: str, lon: float, lat: float, z: int) -> tuple[str, int, int]:
    x, y = tile_of(lon, lat, z)
    return f"/api/v1/tiles/{vintage}/{z}/{x}/{y}.mvt", x, y


def features(response) -> dict[str, dict]:
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == "application/vnd.mapbox-vector-tile"
    layers = mapbox_vector_tile.decode(response.content, default_options={"y_coord_down": True})
    assert list(layers) == ["areas"] and layers["areas"]["extent"] == 4096
    found = {f["properties"]["code"]: f for f in layers["areas"]["features"]}
    assert len(found) == len(layers["areas"]["features"])  # one feature per area
    return found


def test_the_zoom_10_tile_over_blackpool_draws_blackpool_where_it_is(api):
    path, x, y = url("LAD23", *BLACKPOOL, 10)
    assert (x, y) == (503, 329)
    found = features(api.get(path))
    blackpool = found["E06000009"]
    assert blackpool["properties"] == {"code": "E06000009", "name": "Blackpool"}  # no Welsh name, no indicator
    assert blackpool["geometry"]["type"] in ("Polygon", "MultiPolygon")
    # Projected as the map projects it: the town centre lies inside Blackpool's polygon, not Fylde's.
    centre = in_tile_units(*BLACKPOOL, 10, x, y)
    assert shape(blackpool["geometry"]).contains(centre)
    assert not shape(found["E07000119"]["geometry"]).contains(centre)
    assert found["E07000119"]["properties"]["name"] == "Fylde"
    # The tile is LAD23's: Wyre is there, and no ended district (LAD23 has none of 2019's).
    assert "E07000128" in found and all(code[:3] in ("E06", "E07", "E08") for code in found)


def test_welsh_names_come_with_the_areas_that_have_one(api):
    path, *_ = url("LAD23", *CARDIFF, 10)
    cardiff = features(api.get(path))["W06000015"]["properties"]
    assert cardiff == {"code": "W06000015", "name": "Cardiff", "name_cy": "Caerdydd"}


def test_with_an_indicator_each_area_carries_its_published_value_rank_and_class(api):
    path, *_ = url("LAD23", *BLACKPOOL, 10)
    found = features(api.get(path, {"indicator": PAY}))
    published = api.get("/api/v1/observations/", {"indicator": PAY, "area": "E06000009,E07000119",
                                                   "period": "latest"}).json()["results"]
    assert len(published) == 2
    for row in published:
        props = found[row["area_code"]]["properties"]
        assert (props["value"], props["lci"], props["uci"]) == (row["value"], row["lci"], row["uci"])
        stored = Observation.objects.get(indicator__slug=PAY, area__code=row["area_code"], period__label=row["period"],
                                         release__is_current=True)
        assert (props["rank"], props["rank_of"]) == (stored.rank, stored.rank_of)
    blackpool = found["E06000009"]["properties"]
    assert blackpool["value"] == 539.9 and blackpool["lci"] == 489.106208  # as published, no float noise
    # The lowest-paid tenth of England's, Wales' and Scotland's districts (higher is better: class 1).
    assert blackpool["class"] == 1
    legend = api.get("/api/v1/tiles/LAD23/legend.json", {"indicator": PAY}).json()
    assert legend["method"] == "deciles" and legend["polarity"] == "higher_is_better"
    assert legend["period"] == published[0]["period"]
    assert sum(c["areas"] for c in legend["classes"]) == legend["areas"] >= 350
    for props in (f["properties"] for f in found.values()):
        band = legend["classes"][props["class"] - 1]
        assert band["class"] == props["class"] and band["min"] <= props["value"] <= band["max"]


def test_classes_put_the_most_deprived_first_when_lower_is_better(api):
    path, x, y = url("LSOA21", *MANCHESTER_TOWN_HALL, 12)
    found = features(api.get(path, {"indicator": IMD_SCORE, "period": "latest"}))
    # The town hall's LSOA, as the point lookup finds it, is drawn around it.
    hit = api.get("/api/v1/lookup/point/", {"lon": MANCHESTER_TOWN_HALL[0], "lat": MANCHESTER_TOWN_HALL[1],
                                            "vintage": "LSOA21"}).json()
    [lsoa] = [a for a in hit["areas"] if a["type"] == "LSOA"]
    assert found[lsoa["code"]]["properties"]["name"] == lsoa["name"]
    assert shape(found[lsoa["code"]]["geometry"]).contains(in_tile_units(*MANCHESTER_TOWN_HALL, 12, x, y))
    [published] = api.get("/api/v1/observations/", {"indicator": IMD_SCORE, "area": lsoa["code"]}).json()["results"]
    assert found[lsoa["code"]]["properties"]["value"] == published["value"]
    legend = api.get("/api/v1/tiles/LSOA21/legend.json", {"indicator": IMD_SCORE}).json()
    assert legend["polarity"] == "lower_is_better" and legend["method"] == "deciles" and legend["areas"] == 33755
    # Class 1 holds the highest scores (the most deprived tenth of English LSOAs), class 10 the lowest.
    assert legend["classes"][0]["min"] > legend["classes"][9]["max"]
    assert [c["areas"] for c in legend["classes"]] == [3376, 3375, 3376, 3375, 3376, 3375, 3377, 3375, 3376, 3374]
    assert legend["breaks"] == [c["min"] for c in legend["classes"][:9]]
    scored = sorted((f["properties"]["value"], f["properties"]["class"]) for f in found.values())
    assert {c for _, c in scored} >= {1, 2}  # central Manchester spans several deciles
    # A higher score never has a better (higher) class, and each class is the legend's.
    assert all(a[1] >= b[1] for a, b in zip(scored, scored[1:], strict=False))
    for value, number in scored:
        assert legend["classes"][number - 1]["min"] <= value <= legend["classes"][number - 1]["max"]


def test_fewer_than_50_areas_are_classed_in_quintiles(api):
    legend = api.get("/api/v1/tiles/RGN/legend.json", {"indicator": PAY, "period": "2025-04-30"}).json()
    assert (legend["method"], legend["areas"], len(legend["classes"]), len(legend["breaks"])) == ("quintiles", 9, 5, 4)
    # Nine regions: the 20th, 40th, 60th and 80th percentiles are the 2nd, 4th, 6th and 8th values,
    # so the best-paid fifth is London alone.
    assert [c["areas"] for c in legend["classes"]] == [2, 2, 2, 2, 1]
    [london] = api.get("/api/v1/observations/", {"indicator": PAY, "area": "E12000007",
                                                 "period": "2025-04-30"}).json()["results"]
    assert legend["classes"][4]["min"] == legend["classes"][4]["max"] == london["value"]
    assert legend["tiles"].endswith("/api/v1/tiles/RGN/{z}/{x}/{y}.mvt?indicator=gross-median-weekly-pay&period=2025-04-30")
    found = features(api.get(url("RGN", *BLACKPOOL, 5)[0], {"indicator": PAY, "period": "2025-04-30"}))
    assert found["E12000002"]["properties"]["name"] == "North West" and found["E12000002"]["properties"]["class"] in range(1, 6)
    plain = api.get("/api/v1/tiles/RGN/legend.json").json()
    assert plain["classes"] is None and plain["properties"] == ["code", "name", "name_cy"]
    # The documents have the fields OpenAPI describes, in order.
    from indicators.api.tiles import TileLegendSerializer

    assert list(plain) == list(legend) == list(TileLegendSerializer().fields)
    assert list(legend["classes"][0]) == ["class", "min", "max", "areas"]


def test_a_tile_in_the_sea_is_204_with_no_body(api):
    path, *_ = url("LSOA21", -20.0, 50.0, 8)
    response = api.get(path)
    assert response.status_code == 204 and response.content == b""
    # At zoom 0 every LSOA is under half a pixel: none is drawn.
    assert api.get("/api/v1/tiles/LSOA21/0/0/0.mvt").status_code == 204


@levelup(HTTP_CACHING=True)
def test_conditional_gets_answer_304_for_full_and_empty_tiles(api):
    path, *_ = url("LAD23", *BLACKPOOL, 10)
    first = api.get(path)
    assert first.status_code == 200 and first["ETag"].startswith('W/"')
    assert first["Cache-Control"].startswith("public, max-age=")
    again = api.get(path, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304 and again.content == b""
    assert api.get(path, {"indicator": PAY}, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 200  # another resource
    sea = api.get(url("LSOA21", -20.0, 50.0, 8)[0])
    assert sea.status_code == 204 and sea["ETag"].startswith('W/"') and sea["Cache-Control"] == first["Cache-Control"]
    assert api.get(url("LSOA21", -20.0, 50.0, 8)[0], HTTP_IF_NONE_MATCH=sea["ETag"]).status_code == 304


@pytest.mark.parametrize(("path", "query", "parameter", "message"), [
    ("/api/v1/tiles/LAD23/23/0/0.mvt", {}, "z", "must be at most 22, got 23"),
    ("/api/v1/tiles/LAD23/-1/0/0.mvt", {}, "z", "must be at least 0, got -1"),
    ("/api/v1/tiles/LAD23/ten/0/0.mvt", {}, "z", "must be a whole number (ASCII digits), got 'ten'"),
    ("/api/v1/tiles/LAD23/3/8/0.mvt", {}, "x", "x=8 is beyond zoom 3, whose tiles are numbered 0 to 7 each way"),
    ("/api/v1/tiles/LAD23/3/0/9.mvt", {}, "y", "y=9 is beyond zoom 3, whose tiles are numbered 0 to 7 each way"),
    ("/api/v1/tiles/LAD23/3/0/1.5.mvt", {}, "y", "must be a whole number (ASCII digits), got '1.5'"),
    ("/api/v1/tiles/LAD23/3/3/2.mvt", {"indicater": PAY}, "indicater", None),
    ("/api/v1/tiles/LAD23/3/3/2.mvt", {"indicator": "no-such-thing"}, "indicator", None),
    ("/api/v1/tiles/LAD23/3/3/2.mvt", {"indicator": IMD_SCORE}, "indicator", None),
    ("/api/v1/tiles/LAD23/3/3/2.mvt", {"indicator": PAY, "period": "1999"}, "period", None),
    ("/api/v1/tiles/LAD23/3/3/2.mvt", {"period": "latest"}, "period", None),
    ("/api/v1/tiles/LAD23/legend.json", {"indicator": PAY, "period": "1999"}, "period", None),
])
def test_bad_input_is_a_400_naming_the_parameter(api, path, query, parameter, message):
    response = api.get(path, query)
    assert response.status_code == 400 and response["Content-Type"] == "application/json", response.content
    body = response.json()
    assert body["parameter"] == parameter and body["errors"][0]["parameter"] == parameter
    if message:
        assert body["message"] == message
    if parameter == "indicater":
        assert body["errors"][0]["suggestion"] == "indicator"
    if query.get("indicator") == IMD_SCORE:  # a real indicator with no value for districts says so
        assert body["message"].startswith("iod2025-imd-score has no values for areas of LAD23")


def test_unknown_vintages_and_vintages_without_boundaries_are_404(api):
    unknown = api.get("/api/v1/tiles/LAD99/3/3/2.mvt")
    assert unknown.status_code == 404 and unknown.json()["vintage"] == "LAD99"
    bare = api.get("/api/v1/tiles/LSOA11/3/3/2.mvt")
    assert bare.status_code == 404 and "No boundaries are held for LSOA11" in bare.json()["message"]
    assert api.get("/api/v1/tiles/LSOA11/legend.json").status_code == 404
    assert api.get("/api/v1/tiles/lad23/legend.json").json()["vintage"] == "LAD23"  # case-insensitive


def test_an_unservable_accept_is_406_and_format_is_checked(api):
    path, *_ = url("LAD23", *BLACKPOOL, 10)
    refused = api.get(path, HTTP_ACCEPT="application/json")
    assert refused.status_code == 406 and refused.json()["status"] == 406
    assert api.get(path, HTTP_ACCEPT="application/*").status_code == 200
    assert api.get(path, {"format": "json"}).json()["parameter"] == "format"


def test_the_tiles_are_in_openapi_with_their_media_type_and_vintages(api):
    schema = api.get("/api/schema/", {"format": "json"}).json()
    tile = schema["paths"]["/api/v1/tiles/{vintage}/{z}/{x}/{y}.mvt"]["get"]
    assert "application/vnd.mapbox-vector-tile" in tile["responses"]["200"]["content"]
    assert set(tile["responses"]) >= {"200", "204", "400", "404"}
    params = {p["name"]: p for p in tile["parameters"]}
    assert set(params) >= {"vintage", "z", "x", "y", "indicator", "period"}
    assert {"LAD23", "LSOA21", "RGN"} <= set(params["vintage"]["schema"]["enum"])
    assert "LSOA11" not in params["vintage"]["schema"]["enum"]  # no boundaries
    assert params["z"]["schema"] == {"type": "integer", "minimum": 0, "maximum": 22}
    assert all(p["description"] for p in tile["parameters"])
    assert "/api/v1/tiles/{vintage}/legend.json" in schema["paths"]


@pytest.mark.usefixtures("fresh_counters")
@levelup(QUOTAS_ENABLED=True, HTTP_CACHING=True)
def test_a_tile_with_an_indicator_is_one_statement_with_quota_key_and_data_version(
        api, listening, django_assert_num_queries, django_assert_max_num_queries):
    """As a server answers tiles: the quota in Redis, the key and the data version in memory, the
    vintage and the indicator's period and classes read once per data version; what remains is the
    tile itself, one prepared statement. A new map (the first tile) reads the rest first."""
    _, key = api_key_make(name="tiles")
    path, *_ = url("LSOA21", *MANCHESTER_TOWN_HALL, 12)
    with django_assert_max_num_queries(6):  # the key, the vintage, the indicator, the period, the classes, the tile
        assert api.get(path, {"indicator": IMD_SCORE}, HTTP_X_API_KEY=key).status_code == 200
    for n in range(3):
        with django_assert_num_queries(1):
            answer = api.get(path, {"indicator": IMD_SCORE}, HTTP_X_API_KEY=key)
        assert answer.status_code == 200 and answer["ETag"].startswith('W/"')
        assert (answer["X-RateLimit-Limit"], answer["X-RateLimit-Remaining"]) == ("3000", str(2998 - n))  # tiles' own
    x, y = tile_of(*MANCHESTER_TOWN_HALL, 12)
    with django_assert_num_queries(1):  # a neighbouring tile of the same map
        assert api.get(f"/api/v1/tiles/LSOA21/12/{x + 1}/{y}.mvt", {"indicator": IMD_SCORE},
                       HTTP_X_API_KEY=key).status_code == 200
    with django_assert_num_queries(0):  # the legend of that map: nothing left to read
        assert api.get("/api/v1/tiles/LSOA21/legend.json", {"indicator": IMD_SCORE},
                       HTTP_X_API_KEY=key).json()["areas"] == 33755


@levelup(PROFILE_CACHE=True, DATA_VERSION_SECONDS=3600)  # the version is not re-read mid-test
def test_a_tile_is_cut_once_per_data_version_and_then_costs_no_statement(api, django_assert_num_queries):
    path, *_ = url("LSOA21", *MANCHESTER_TOWN_HALL, 8)
    first = api.get(path, {"indicator": IMD_SCORE})
    assert len(features(first)) > 1000
    with django_assert_num_queries(0):
        again = api.get(path, {"indicator": IMD_SCORE}, HTTP_ACCEPT_ENCODING="gzip")
    assert again.status_code == 200 and again["Content-Type"] == tiles.MEDIA_TYPE
    assert gzip.decompress(again.content) == first.content
    # `latest` named as its period is the same tile: its period is resolved (once), the tile is not cut again.
    period = api.get("/api/v1/tiles/LSOA21/legend.json", {"indicator": IMD_SCORE}).json()["period_iso"]
    with CaptureQueriesContext(connection) as queries:
        assert api.get(path, {"indicator": IMD_SCORE, "period": period}).content == first.content
    assert not any("ST_AsMVT" in q["sql"] for q in queries.captured_queries), queries.captured_queries
    with django_assert_num_queries(1):  # the same tile without the indicator is another tile
        assert all("value" not in f["properties"] for f in features(api.get(path)).values())
    sea, *_ = url("LSOA21", -20.0, 50.0, 8)
    for _ in range(2):  # an empty tile is not kept: a probe of the index each time
        with django_assert_num_queries(1):
            assert api.get(sea, {"indicator": IMD_SCORE}).status_code == 204


def test_the_short_tiles_address_sends_to_the_api(client):
    moved = client.get("/tiles/LAD23/10/503/329.mvt", {"indicator": "gross-median-weekly-pay"})
    assert moved.status_code == 301
    assert moved["Location"] == "/api/v1/tiles/LAD23/10/503/329.mvt?indicator=gross-median-weekly-pay"


@pytest.mark.usefixtures("fresh_counters")
@levelup(QUOTAS_ENABLED=True, QUOTAS={**settings.LEVELUP["QUOTAS"], "anon": "2/min", "tiles": "4/min"})
def test_tiles_are_counted_apart_so_a_map_does_not_spend_the_api_quota(client):
    """A browser on the explorer sends no key: its tiles have their own count and rate, so panning
    a map neither spends nor is stopped by the anonymous API quota, and the tiles' own limit holds."""
    path = "/api/v1/tiles/LAD23/10/503/329.mvt"
    for n in range(4):
        answer = client.get(path, HTTP_ACCEPT="application/vnd.mapbox-vector-tile")
        assert answer.status_code == 200
        assert (answer["X-RateLimit-Limit"], answer["X-RateLimit-Remaining"]) == ("4", str(3 - n))
    assert client.get(path, HTTP_ACCEPT="application/vnd.mapbox-vector-tile").status_code == 429
    assert client.get("/api/v1/tiles/LAD23/legend.json").status_code == 429  # the same count as the tiles
    area = client.get("/api/v1/areas/E06000009/")
    assert area.status_code == 200 and area["X-RateLimit-Remaining"] == "1"  # the API's own, untouched

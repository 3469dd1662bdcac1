"""REST geography endpoints against the real national load: the facts a user will check, the
error paths, fixed query counts, and the statement budget of the hot requests as a server runs
them (quotas on, an API key, HTTP caching, the pushed data version)."""

import pytest
from django.conf import settings

from geographies import selectors
from levelup_api.core.quotas import api_key_make
from tests.builders import levelup

pytestmark = pytest.mark.django_db


CUMBERLAND = {
    "code": "E06000063", "name": "Cumberland", "name_cy": "", "type": "LAD", "entity": "E06", "status": "live",
    "active_from": "2023-04-01", "active_to": None, "vintages": ["LAD23", "UTLA23", "LAD24", "LAD25"],
    "type_name": "Local authority district (lower tier)", "message": None,
    "parents": [
        {"vintage": "LAD23", "parent_vintage": "UTLA23", "code": "E06000063", "name": "Cumberland", "type": "UTLA",
         "fit": "exact"},
        {"vintage": "LAD23", "parent_vintage": "RGN", "code": "E12000002", "name": "North West", "type": "RGN",
         "fit": "exact"},
        {"vintage": "LAD24", "parent_vintage": "RGN", "code": "E12000002", "name": "North West", "type": "RGN",
         "fit": "exact"}],
    "predecessors": [
        {"code": code, "name": name, "change_type": "merged", "change_code": "M", "effective_date": "2023-04-01",
         "weight": None}
        for code, name in (("E07000026", "Allerdale"), ("E07000028", "Carlisle"), ("E07000029", "Copeland"))],
    "successors": [],
    "boundary_vintages": ["LAD23", "UTLA23", "LAD24"],
    "links": {"self": "http://testserver/api/v1/areas/E06000063/",
              "children": "http://testserver/api/v1/areas/E06000063/children/",
              "ancestors": "http://testserver/api/v1/areas/E06000063/ancestors/",
              "boundary": "http://testserver/api/v1/areas/E06000063/boundary/"},
}


def test_the_whole_document_of_an_area_key_by_key_in_order(api):
    body = api.get("/api/v1/areas/E06000063/").json()
    assert body == CUMBERLAND and list(body) == list(CUMBERLAND)
    assert [list(p) for p in body["parents"]] == [["vintage", "parent_vintage", "code", "name", "type", "fit"]] * 3
    ended = api.get("/api/v1/areas/E07000026/").json()
    assert list(ended) == list(CUMBERLAND) and ended["links"]["boundary"].endswith("/E07000026/boundary/")
    assert ended["message"] == "This code ended on 2023-03-31; its successor(s): E06000063."
    assert ended["successors"] == [{"code": "E06000063", "name": "Cumberland", "change_type": "merged",
                                    "change_code": "M", "effective_date": "2023-04-01", "weight": None}]
    assert ended["vintages"] == ["LAD16", "LAD17", "LAD18", "LAD19", "LAD20", "LAD21", "LAD22"]
    # Vintages that took effect the same day come smallest type first, whatever the query plan.
    assert api.get("/api/v1/areas/E06000009/").json()["vintages"][6:11] == ["LAD21", "UTLA21", "LAD22", "LAD23",
                                                                           "UTLA23"]


def test_a_list_row_is_the_list_representation(api):
    body = api.get("/api/v1/areas/", {"q": "Cumberland", "vintage": "LAD23"}).json()
    assert body == {"count": 1, "next": None, "previous": None, "results": [{
        "code": "E06000063", "name": "Cumberland", "name_cy": "", "type": "LAD", "entity": "E06", "status": "live",
        "active_from": "2023-04-01", "active_to": None, "vintages": ["LAD23", "UTLA23", "LAD24", "LAD25"]}]}
    welsh = api.get("/api/v1/areas/W05001253/").json()
    assert welsh["name_cy"] == "Y Pîl, Cynffig a Chefn Cribwr" and welsh["type"] == "WD"
    ended = api.get("/api/v1/areas/", {"q": "allerdale", "type": "LAD"}).json()["results"]
    assert [(a["code"], a["status"], a["active_to"]) for a in ended] == [("E07000026", "terminated", "2023-03-31")]


def test_the_documents_have_the_fields_openapi_describes_in_order(api):
    """The views build these documents from rows; the serializers describe them in OpenAPI."""
    from geographies.api import serializers as s

    def fields(serializer) -> list[str]:
        return list(serializer().fields)

    detail = api.get("/api/v1/areas/E08000003/").json()
    assert list(detail) == fields(s.AreaDetailSerializer)
    assert [list(p) for p in detail["parents"]] == [fields(s.ParentSerializer)] * len(detail["parents"])
    assert list(detail["links"]) == fields(s.AreaLinksSerializer)
    changes = api.get("/api/v1/areas/E07000026/").json()["successors"]
    assert [list(c) for c in changes] == [fields(s.SuccessorSerializer)]
    listed = api.get("/api/v1/areas/", {"type": "RGN"}).json()
    assert [list(a) for a in listed["results"]] == [fields(s.AreaListSerializer)] * 9
    children = api.get("/api/v1/areas/E12000002/children/", {"vintage": "LAD23", "page_size": 3}).json()
    assert list(children) == fields(s.ChildrenResponseSerializer) and len(children["results"]) == 3
    ancestors = api.get("/api/v1/areas/E08000003/ancestors/").json()
    assert list(ancestors) == fields(s.AncestorsResponseSerializer)
    assert {tuple(a) for a in ancestors["ancestors"]} == {tuple(fields(s.AncestorSerializer))}
    [vintage] = [v for v in api.get("/api/v1/vintages/").json() if v["code"] == "LAD23"]
    assert list(vintage) == fields(s.VintageSerializer)
    [lad] = [t for t in api.get("/api/v1/area-types/").json() if t["code"] == "LAD"]
    assert list(lad) == fields(s.AreaTypeSerializer) and list(lad["vintages"][0]) == fields(s.VintageBriefSerializer)


def test_cumberland_names_its_three_predecessors(api):
    body = api.get("/api/v1/areas/E06000063/").json()
    assert body["name"] == "Cumberland" and body["type"] == "LAD" and body["status"] == "live"
    assert body["active_from"] == "2023-04-01"
    preds = {(p["code"], p["name"], p["change_type"], p["effective_date"]) for p in body["predecessors"]}
    assert preds == {
        ("E07000026", "Allerdale", "merged", "2023-04-01"),
        ("E07000028", "Carlisle", "merged", "2023-04-01"),
        ("E07000029", "Copeland", "merged", "2023-04-01"),
    }
    assert {"LAD23", "LAD24", "LAD25"} <= set(body["vintages"])
    assert any(p["code"] == "E12000002" and p["vintage"] == "LAD23" for p in body["parents"])


def test_an_ended_code_still_resolves_and_names_its_successor(api):
    response = api.get("/api/v1/areas/e07000026/")  # lower case works too
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "Allerdale" and body["status"] == "terminated"
    assert body["active_to"] == "2023-03-31"
    assert [s["code"] for s in body["successors"]] == ["E06000063"]
    assert "ended on 2023-03-31" in body["message"] and "E06000063" in body["message"]
    assert "LAD23" not in body["vintages"] and "LAD22" in body["vintages"]


def test_lad23_lists_all_361_districts(api, django_assert_num_queries):
    with django_assert_num_queries(3):  # the vintage (its type with it), count, the page with its vintages
        body = api.get("/api/v1/areas/", {"type": "LAD", "vintage": "LAD23"}).json()
    assert body["count"] == 361
    codes = {a["code"] for a in body["results"]}
    assert len(codes) == 361
    assert "E06000063" in codes and "E07000026" not in codes and "S12000033" in codes and "N09000001" in codes


def test_area_list_query_count_does_not_grow_with_page_size(api, django_assert_num_queries):
    selectors.vintage_codes_namer()  # the vintages' order: read once per process and data version
    with django_assert_num_queries(3):  # vintage lookup, count, the page with its vintages
        small = api.get("/api/v1/areas/", {"vintage": "LSOA21", "page_size": 5}).json()
    with django_assert_num_queries(3):
        big = api.get("/api/v1/areas/", {"vintage": "LSOA21", "page_size": 2000}).json()
    assert small["count"] == big["count"] == 35672
    assert len(big["results"]) == 2000


def test_parent_filter_lists_descendants_within_the_vintage(api):
    body = api.get("/api/v1/areas/", {"parent": "E12000002", "vintage": "LAD23", "page_size": 100}).json()
    assert body["count"] == 35  # North West districts after the Cumbria reorganisation
    assert "E06000063" in {a["code"] for a in body["results"]}


def test_active_on_and_search(api):
    before = api.get("/api/v1/areas/", {"q": "Allerdale", "active_on": "2022-06-01"}).json()
    after = api.get("/api/v1/areas/", {"q": "Allerdale", "active_on": "2023-06-01"}).json()
    assert "E07000026" in {a["code"] for a in before["results"]}
    assert "E07000026" not in {a["code"] for a in after["results"]}
    prefix = api.get("/api/v1/areas/", {"q": "e0800000", "vintage": "LAD23"}).json()
    assert prefix["count"] == 9  # E08000001..E08000009


def test_manchester_has_295_lsoa21_children(api, django_assert_num_queries):
    with django_assert_num_queries(4):  # area, the vintage (its type with it), count, the page with its vintages
        body = api.get("/api/v1/areas/E08000003/children/", {"type": "LSOA", "vintage": "LSOA21"}).json()
    assert body["count"] == 295 and body["vintage"] == "LSOA21"
    codes = {a["code"] for a in body["results"]}
    assert "E01005061" in codes and all(c.startswith("E01") for c in codes)


def test_children_default_to_newest_vintage_of_a_type(api):
    body = api.get("/api/v1/areas/E08000003/children/", {"type": "LSOA"}).json()
    assert body["vintage"] == "LSOA21" and body["count"] == 295


def test_ancestors_of_an_lsoa(api):
    body = api.get("/api/v1/areas/E01005061/ancestors/").json()
    assert body["vintage"] == "LSOA21" and list(body) == ["code", "vintage", "ancestors"]
    assert body["ancestors"][0] == {"code": "E02001062", "name": "Manchester 018", "type": "MSOA", "vintage": "MSOA21",
                                    "depth": 1, "fit": "exact"}
    got = {(a["type"], a["code"]) for a in body["ancestors"]}
    assert {("MSOA", "E02001062"), ("LAD", "E08000003"), ("RGN", "E12000002"), ("CTRY", "E92000001"),
            ("UK", "K02000001")} <= got


def test_point_lookup_names_every_level(api, django_assert_num_queries):
    with django_assert_num_queries(1):
        body = api.get("/api/v1/lookup/point/", {"lon": "-2.20779", "lat": "53.47031"}).json()
    by_type = {a["type"]: a for a in body["areas"]}
    assert by_type["LSOA"]["code"] == "E01005061" and by_type["LSOA"]["name"] == "Manchester 018A"
    assert by_type["LSOA"]["vintage"] == "LSOA21"
    assert by_type["MSOA"]["code"] == "E02001062"
    assert by_type["LAD"]["code"] == "E08000003"
    assert by_type["RGN"]["code"] == "E12000002"
    assert by_type["CTRY"]["code"] == "E92000001"


def test_point_lookup_in_a_requested_vintage(api):
    # Keswick: in Allerdale in LAD22, in Cumberland in LAD23.
    old = api.get("/api/v1/lookup/point/", {"lon": "-3.1347", "lat": "54.6013", "vintage": "LAD22"}).json()
    new = api.get("/api/v1/lookup/point/", {"lon": "-3.1347", "lat": "54.6013", "vintage": "lad23"}).json()
    assert {a["type"]: a["code"] for a in old["areas"]}["LAD"] == "E07000026"
    assert {a["type"]: a["code"] for a in new["areas"]}["LAD"] == "E06000063"


def test_point_in_the_sea_finds_nothing(api):
    assert api.get("/api/v1/lookup/point/", {"lon": "-20", "lat": "50"}).json()["areas"] == []


def test_boundary_is_a_geojson_feature(api):
    response = api.get("/api/v1/areas/E08000003/boundary/", {"vintage": "LAD23"})
    assert response.status_code == 200 and response["Content-Type"].startswith("application/geo+json")
    feature = response.json()
    assert feature["type"] == "Feature"
    assert feature["geometry"]["type"] in {"Polygon", "MultiPolygon"}
    assert feature["properties"]["code"] == "E08000003" and feature["properties"]["vintage"] == "LAD23"
    ring = feature["geometry"]["coordinates"][0][0] if feature["geometry"]["type"] == "MultiPolygon" else \
        feature["geometry"]["coordinates"][0]
    assert ring[0] == ring[-1] and -2.4 < ring[0][0] < -2.1 and 53.3 < ring[0][1] < 53.6
    simplified = api.get("/api/v1/areas/E08000003/boundary/", {"vintage": "LAD23", "simplify": "0.01"}).json()
    assert len(str(simplified["geometry"])) < len(str(feature["geometry"]))


def test_boundary_collection_streams_a_region(api):
    response = api.get("/api/v1/boundaries/", {"vintage": "LAD23", "parent": "E12000002"})
    assert response.status_code == 200
    import json

    body = json.loads(b"".join(response.streaming_content))
    assert body["type"] == "FeatureCollection" and len(body["features"]) == 35
    assert {f["properties"]["code"] for f in body["features"]} >= {"E06000063", "E08000003"}


@pytest.mark.parametrize(
    ("url", "params", "parameter"),
    [
        ("/api/v1/areas/", {"vintage": "LAD99"}, "vintage"),
        ("/api/v1/areas/", {"type": "NOPE"}, "type"),
        ("/api/v1/areas/", {"type": "LSOA", "vintage": "LAD23"}, "vintage"),
        ("/api/v1/areas/", {"active_on": "2023-02-30"}, "active_on"),
        ("/api/v1/areas/", {"parent": "E99999999"}, "parent"),
        ("/api/v1/areas/", {"page_size": "0"}, "page_size"),
        ("/api/v1/areas/", {"page": "9999"}, "page"),
        ("/api/v1/vintages/", {"type": "XYZ"}, "type"),
        ("/api/v1/lookup/point/", {"lon": "-2.2"}, "lat"),
        ("/api/v1/lookup/point/", {"lon": "200", "lat": "53"}, "lon"),
        ("/api/v1/lookup/point/", {"lon": "nan", "lat": "53"}, "lon"),
        ("/api/v1/lookup/point/", {"lon": "-2", "lat": "53", "vintage": "LAD22,LAD23"}, "vintage"),
        ("/api/v1/areas/E08000003/children/", {"vintage": "LAD23", "type": "LSOA"}, "vintage"),
        ("/api/v1/areas/E08000003/ancestors/", {"vintage": "LSOA21"}, "vintage"),
        ("/api/v1/areas/E08000003/boundary/", {"simplify": "-1"}, "simplify"),
        ("/api/v1/boundaries/", {}, "vintage"),
        ("/api/v1/boundaries/", {"vintage": "LAD23", "parent": "nowhere"}, "parent"),
    ],
)
def test_bad_parameters_get_400_naming_the_parameter(api, url, params, parameter):
    response = api.get(url, params)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["parameter"] == parameter and body["message"]


@pytest.mark.parametrize("code", ["E99999999", "nonsense", "E0800000%27", "%F0%9F%98%80"])
def test_unknown_codes_get_404_json(api, code):
    response = api.get(f"/api/v1/areas/{code}/")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_nul_bytes_are_refused_before_the_database(api):
    assert api.get("/api/v1/areas/E0800%003/").json()["parameter"] == "path"
    response = api.get("/api/v1/areas/", {"q": "Man\x00chester"})
    assert response.status_code == 400 and response.json()["parameter"] == "q"


def test_no_boundary_in_a_vintage_is_404_listing_what_exists(api):
    response = api.get("/api/v1/areas/E07000026/boundary/", {"vintage": "LAD23"})
    assert response.status_code == 404
    assert "LAD22" in response.json()["boundary_vintages"]


def test_area_types_and_vintages(api, django_assert_num_queries):
    with django_assert_num_queries(2):
        types = api.get("/api/v1/area-types/").json()
    lad = next(t for t in types if t["code"] == "LAD")
    assert set(lad["entity_codes"]) == {"E06", "E07", "E08", "E09", "W06", "S12", "N09"}
    assert [v["code"] for v in lad["vintages"]][-3:] == ["LAD23", "LAD24", "LAD25"]
    vintages = api.get("/api/v1/vintages/", {"type": "LAD"}).json()
    lad23 = next(v for v in vintages if v["code"] == "LAD23")
    assert lad23["area_count"] == 361 and lad23["boundary_count"] == 361
    assert lad23["effective_to"] == "2024-04-30"


def test_detail_query_count_is_fixed(api, django_assert_num_queries):
    for code in ("E01005061", "E08000003", "E07000026", "e99999999"):
        with django_assert_num_queries(1):  # the area with every relation, built in PostgreSQL
            assert api.get(f"/api/v1/areas/{code}/").status_code == (404 if code == "e99999999" else 200)


# -- the statement budget: at most 3 per request, everything counted ------------------------------
HOT = [
    ("/api/v1/areas/E06000009/", {}, 1),  # the area with its relations
    ("/api/v1/areas/", {"type": "LAD", "vintage": "LAD23"}, 3),  # the vintage, the count, the page
    ("/api/v1/indicators/", {}, 1),  # the catalogue with datasets and publishers
    ("/api/v1/vintages/", {"type": "LAD"}, 2),  # the type, the vintages
    ("/api/v1/lookup/point/", {"lon": "-2.20779", "lat": "53.47031"}, 1),  # the prepared lookup
]


@pytest.mark.usefixtures("fresh_counters")
@levelup(QUOTAS_ENABLED=True, HTTP_CACHING=True)
@pytest.mark.parametrize(("url", "params", "statements"), HOT)
def test_hot_requests_take_at_most_3_statements_with_quota_key_and_data_version(
        api, listening, django_assert_num_queries, url, params, statements):
    """As a server answers them: the quota counted in Redis, the API key verified (remembered in the
    process after its first use), the data version pushed and the ETag made from it: none of those
    costs a statement, so what remains is the data itself."""
    _, key = api_key_make(name="budget")
    assert api.get(url, params, HTTP_X_API_KEY=key).status_code == 200  # the key is looked up once
    for n in range(3):
        with django_assert_num_queries(statements):
            answer = api.get(url, params, HTTP_X_API_KEY=key)
        assert answer.status_code == 200 and answer["ETag"].startswith('W/"')
        assert (answer["X-RateLimit-Limit"], answer["X-RateLimit-Remaining"]) == ("600", str(598 - n))
    assert statements <= 3
    limit = settings.LEVELUP["QUOTAS"]["standard"]
    assert limit == "600/min"


def test_area_list_as_csv_is_complete_and_unpaginated(api):
    response = api.get("/api/v1/areas/", {"vintage": "LSOA21", "format": "csv"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0] == "code,name,name_cy,type,entity,active_from,active_to"
    assert len(lines) == 1 + 35672
    assert "E01005061,Manchester 018A,,LSOA,E01,2011-03-27," in lines
    by_accept = api.get("/api/v1/areas/", {"parent": "E12000002", "vintage": "LAD23"}, HTTP_ACCEPT="text/csv")
    assert len(b"".join(by_accept.streaming_content).decode().splitlines()) == 36


def test_csv_errors_are_still_json(api):
    response = api.get("/api/v1/areas/", {"vintage": "NOPE", "format": "csv"})
    assert response.status_code == 400 and response.json()["parameter"] == "vintage"


# -- search: best matches first, ended codes with what replaced them ------------------------------
LIST_ROW = ["code", "name", "name_cy", "type", "entity", "status", "active_from", "active_to", "vintages"]


def test_a_search_puts_exact_then_prefix_then_other_matches_larger_areas_first(api, django_assert_num_queries):
    with django_assert_num_queries(2):  # the count, the page
        body = api.get("/api/v1/areas/", {"q": "manchest"}).json()
    rows = body["results"]
    assert body["count"] == len(rows) > 300
    codes = [r["code"] for r in rows]
    # The district first (not Manchester 018A), then its namesake the ITL3 region: GSS codes first.
    assert rows[0] == {**rows[0], "code": "E08000003", "name": "Manchester", "type": "LAD"}
    assert codes[1] == "TLD33"
    # Larger areas first within the names that start with the search: MSOAs before their LSOAs.
    assert codes.index("E02001062") < codes.index("E01005061")  # Manchester 018 before Manchester 018A
    assert rows[codes.index("E01005061")]["name"] == "Manchester 018A"
    # Names that only contain it come after every name that starts with it.
    starts = [i for i, r in enumerate(rows) if r["name"].lower().startswith("manchest")]
    assert codes.index("E47000001") > max(starts) and rows[codes.index("E47000001")]["name"] == "Greater Manchester"
    # An exact name comes before names it starts: the district, then York 001 ... after the region.
    york = [r["code"] for r in api.get("/api/v1/areas/", {"q": "York", "page_size": 5}).json()["results"]]
    assert york[:3] == ["E06000014", "TLE21", "E12000003"]  # York, York (ITL3), Yorkshire and The Humber
    # The order is the same whatever the case, and a page is a slice of it.
    assert [r["code"] for r in api.get("/api/v1/areas/", {"q": "MANCHEST", "page_size": 10, "page": 2}).json()[
        "results"]] == codes[10:20]


def test_a_code_search_finds_ended_codes_and_says_what_replaced_them(api):
    cumbria = api.get("/api/v1/areas/", {"q": "e0700002"}).json()["results"]
    assert [(r["code"], r["name"], r["status"], r["successors"]) for r in cumbria] == [
        ("E07000026", "Allerdale", "terminated", [{"code": "E06000063", "name": "Cumberland"}]),
        ("E07000027", "Barrow-in-Furness", "terminated", [{"code": "E06000064", "name": "Westmorland and Furness"}]),
        ("E07000028", "Carlisle", "terminated", [{"code": "E06000063", "name": "Cumberland"}]),
        ("E07000029", "Copeland", "terminated", [{"code": "E06000063", "name": "Cumberland"}]),
    ]
    assert list(cumbria[0]) == [*LIST_ROW, "successors"]
    # The 2023 mergers in North Yorkshire and Somerset, by exact code.
    for code, name, successor in (("E07000163", "Craven", ("E06000065", "North Yorkshire")),
                                  ("E07000187", "Mendip", ("E06000066", "Somerset"))):
        [row] = api.get("/api/v1/areas/", {"q": code}).json()["results"]
        assert (row["name"], row["active_to"], row["successors"]) == (
            name, "2023-03-31", [{"code": successor[0], "name": successor[1]}])
    # A live code's row is as it was; the exact code comes first among those it starts.
    [cumberland] = api.get("/api/v1/areas/", {"q": "E06000063"}).json()["results"]
    assert list(cumberland) == LIST_ROW and cumberland["status"] == "live"
    # Lists of children say it too: the North West's districts of 2022 include the ended ones.
    children = api.get("/api/v1/areas/E12000002/children/", {"vintage": "LAD22"}).json()["results"]
    ended = {r["code"]: r["successors"] for r in children if r["status"] == "terminated"}
    assert ended["E07000026"] == [{"code": "E06000063", "name": "Cumberland"}] and len(ended) == 6
    assert all("successors" not in r for r in children if r["status"] == "live")

"""The formats across the API: profiles as JSON-stat equal to their CSV, every operation's OpenAPI
listing exactly the formats it serves (the `format` enum and the media types agree), and the CSV
Link header living beside a deprecation link."""

from __future__ import annotations

import orjson
import pytest
import yaml

from missions.selectors import PROFILE_COLUMNS
from tests.formats import csv_frame, jsonstat_frame, numeric_columns, same_rows

pytestmark = pytest.mark.django_db

JSONSTAT = "application/vnd.json-stat+json"
MEDIA = {
    "json": {"application/json"},
    "csv": {"text/csv"},
    "geojson": {"application/geo+json"},
    "jsonstat": {JSONSTAT, "application/json+stat"},
    "csvw": {"application/csvm+json"},
    "mvt": {"application/vnd.mapbox-vector-tile"},
}


def formats_of(api, path: str, query: dict) -> tuple[dict, str, dict]:
    js = api.get(path, {**query, "format": "jsonstat"})
    assert js.status_code == 200 and js["Content-Type"] == JSONSTAT, js.content[:300]
    csv = b"".join(api.get(path, {**query, "format": "csv"}).streaming_content).decode()
    meta = orjson.loads(api.get(path, {**query, "format": "csvw"}).content)
    same_rows(jsonstat_frame(js.content, PROFILE_COLUMNS), csv_frame(csv), numeric_columns(meta))
    return orjson.loads(js.content), csv, meta


def test_blackpools_profile_as_jsonstat_is_its_csv(api):
    doc, csv, _ = formats_of(api, "/api/v1/areas/E06000009/profile/", {})
    assert doc["id"] == ["area", "indicator", "period"]
    assert doc["dimension"]["area"]["category"]["label"] == {"E06000009": "Blackpool"}
    indicators = doc["dimension"]["indicator"]["category"]
    assert len(indicators["index"]) == csv.count("\n") - 1 > 30
    # One period per indicator: a sparse cube whose cells are exactly the CSV's rows.
    assert doc["extension"]["cells"] == "sparse" and len(doc["value"]) == len(indicators["index"])
    hle = indicators["index"].index("healthy-life-expectancy-male")
    assert indicators["unit"]["healthy-life-expectancy-male"] == {
        "label": "Years",
        "decimals": 1,
        "symbol": "yrs",
        "position": "end",
    }
    cell = next(k for k in doc["value"] if int(k) // doc["size"][2] == hle)
    comparisons = doc["extension"]["columns"]
    assert comparisons["national_code"][cell] == "E92000001" and comparisons["missions"][cell] == [7]
    assert comparisons["national_comparison"][cell] in {"better", "similar", "worse"}


def test_a_regions_profiles_as_jsonstat_are_their_csv(api, django_assert_num_queries):
    query = {"parent": "E12000002", "type": "LAD", "vintage": "LAD23"}
    doc, _, _ = formats_of(api, "/api/v1/profiles/", query)
    assert len(doc["dimension"]["area"]["category"]["index"]) == 35
    assert doc["extension"]["parent"] == "E12000002" and doc["extension"]["areas"] == 35
    # The JSON's statements and one for the indicators' titles and units.
    with django_assert_num_queries(4):
        api.get("/api/v1/profiles/", query)
    with django_assert_num_queries(5):
        api.get("/api/v1/profiles/", {**query, "format": "jsonstat"})
    with django_assert_num_queries(3):
        api.get("/api/v1/areas/E06000009/profile/", {"format": "jsonstat"})


def test_every_operation_lists_exactly_the_formats_it_serves(api):
    spec = yaml.safe_load(api.get("/api/schema/").content)
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            fmt = [p for p in op.get("parameters", []) if p["name"] == "format"]
            assert len(fmt) == 1, (method, path)
            formats = fmt[0]["schema"]["enum"]
            served = {m for code, r in op["responses"].items() if code.startswith("2") for m in r.get("content", {})}
            expected = set().union(*(MEDIA[f] for f in formats if f in MEDIA))
            if all(f in MEDIA for f in formats):
                assert served == expected, (method, path, formats, served)
            else:  # a format of its own (a download's): a media type of its own too
                assert served > expected, (method, path, formats, served)
    observations = spec["paths"]["/api/v1/observations/"]["get"]
    parameters = {p["name"]: p for p in observations["parameters"]}
    assert set(parameters["format"]["schema"]["enum"]) == {"json", "csv", "jsonstat", "csvw"}
    content = observations["responses"]["200"]["content"]
    assert content[JSONSTAT]["schema"] == {"$ref": "#/components/schemas/JSONStatDataset"}
    assert content["application/csvm+json"]["schema"] == {"$ref": "#/components/schemas/CSVWMetadata"}
    assert content["text/csv"]["schema"]["type"] == "string"
    assert "Link" in observations["responses"]["200"]["headers"]
    area = spec["paths"]["/api/v1/areas/{code}/"]["get"]
    assert set(area["responses"]["200"]["content"]) == {"application/json"}


def test_a_csv_with_an_old_spelling_keeps_both_links(api):
    response = api.get(
        "/api/v1/observations/",
        {"indicator": "gross-median-weekly-pay", "area_type": "LAD", "period": "latest", "format": "csv"},
    )
    assert response.status_code == 200
    link = response["Link"]
    assert 'rel="deprecation"' in link
    assert (
        "<http://testserver/api/v1/observations/?indicator=gross-median-weekly-pay&area_type=LAD&period=latest"
        '&format=csvw>; rel="describedby"; type="application/csvm+json"'
    ) in link
    # JSON carries no describedby link.
    assert "describedby" not in api.get(
        "/api/v1/observations/", {"indicator": "gross-median-weekly-pay", "area": "E06000009"}
    ).get("Link", "")


@pytest.mark.parametrize(
    "path,query",
    [
        ("/api/v1/observations/", {"indicator": "gross-median-weekly-pay", "type": "LAD", "period": "latest"}),
        (
            "/api/v1/observations/",
            {"indicator": "gross-median-weekly-pay,healthy-life-expectancy-male", "area": "E06000009,E08000003"},
        ),
        (
            "/api/v1/observations/",
            {"indicator": "iod2025-imd-score", "type": "LSOA", "parent": "E06000009", "page_size": "10"},
        ),
        (
            "/api/v1/observations/",
            {
                "indicator": "wellbeing-life-satisfaction",
                "area": "E06000063",
                "vintage": "LAD23",
                "harmonise": "true",
                "explain": "true",
            },
        ),
        (
            "/api/v1/indicators/iod2025-imd-rank/aggregate/",
            {"from_vintage": "LSOA21", "to_vintage": "LAD24", "method": "extent", "parent": "E12000002"},
        ),
        ("/api/v1/areas/E06000009/profile/", {}),
        ("/api/v1/profiles/", {"parent": "E12000002", "type": "LAD"}),
        ("/api/v1/areas/", {"type": "RGN"}),
        ("/api/v1/missions/7/progress/", {"type": "LAD"}),
    ],
)
def test_real_responses_meet_the_documented_schemas(api, path, query):
    """Each JSON-stat and CSVW body is valid against the component the OpenAPI document names for it."""
    from openapi_schema_validator import OAS30Validator

    spec = yaml.safe_load(api.get("/api/schema/").content)
    content = spec["paths"][
        path.replace("E06000009", "{code}").replace("iod2025-imd-rank", "{slug}").replace("/7/", "/{number}/")
    ]["get"]["responses"]["200"]["content"]
    for fmt, media in (("jsonstat", JSONSTAT), ("csvw", "application/csvm+json")):
        if media not in content:
            continue
        response = api.get(path, {**query, "format": fmt})
        assert response.status_code == 200, response.content[:300]
        schema = {**content[media]["schema"], "components": spec["components"]}
        OAS30Validator(schema).validate(orjson.loads(response.content))

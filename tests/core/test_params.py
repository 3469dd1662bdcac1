"""The declared contract, checked over real HTTP (a gunicorn on the test database) as a client
would: one name per concept, unknown and malformed parameters refused by name, old spellings
still working with a Deprecation header, and the OpenAPI document listing what is accepted."""

import pytest
import requests

pytestmark = pytest.mark.django_db

DISTRICT_ENTITIES = {"E06", "E07", "E08", "E09", "W06", "S12", "N09"}


def get(base: str, path: str, **params) -> requests.Response:
    return requests.get(base + path, params=params, timeout=60)


def test_type_on_observations_returns_only_districts(live_api):
    response = get(live_api, "/api/v1/observations/", indicator="gross-median-weekly-pay", type="LAD", period="latest")
    assert response.status_code == 200
    codes = [r["area_code"] for r in response.json()["results"]]
    assert len(codes) > 300
    assert {c[:3] for c in codes} <= DISTRICT_ENTITIES
    assert "E92000001" not in codes and "K02000001" not in codes
    assert "Deprecation" not in response.headers


def test_the_old_spelling_still_works_with_a_deprecation_header(live_api):
    new = get(live_api, "/api/v1/observations/", indicator="gross-median-weekly-pay", type="LAD", period="latest")
    old = get(live_api, "/api/v1/observations/", indicator="gross-median-weekly-pay", area_type="LAD", period="latest")
    assert old.status_code == 200 and old.json()["results"] == new.json()["results"]
    assert old.headers["Deprecation"].startswith("@")
    assert 'rel="deprecation"' in old.headers["Link"]
    assert "area_type is deprecated: use type" in old.headers["Warning"]
    both = get(live_api, "/api/v1/observations/", indicator="gross-median-weekly-pay", area_type="LAD", type="LAD")
    assert both.status_code == 400 and both.json()["parameter"] == "area_type"


def test_an_unknown_parameter_is_named_with_the_closest_accepted_one(live_api):
    response = get(live_api, "/api/v1/areas/", tpye="LAD")
    assert response.status_code == 400
    body = response.json()
    assert body["parameter"] == "tpye"
    assert body["message"].startswith('unknown parameter; did you mean "type"?')
    assert body["errors"][0]["suggestion"] == "type"
    assert {"type", "vintage", "parent", "q", "page", "page_size", "format"} <= set(body["errors"][0]["accepted"])


def test_every_problem_is_reported_at_once(live_api):
    response = get(live_api, "/api/v1/observations/", indicator="gross-median-weekly-pay", tpye="LAD", perod="latest")
    assert response.status_code == 400
    assert [e["parameter"] for e in response.json()["errors"]] == ["tpye", "perod"]


@pytest.mark.parametrize("path,parameter", [
    ("/api/v1/areas/", "page_size"), ("/api/v1/areas/", "page"), ("/api/v1/areas/E06000009/similar/", "n"),
    ("/api/v1/observations/?indicator=gross-median-weekly-pay", "page_size"),
])
@pytest.mark.parametrize("value", ["²", "٣", "1.5", "ten"])
def test_numbers_are_ascii_digits_only(live_api, path, parameter, value):
    response = requests.get(live_api + path, params={parameter: value}, timeout=60)
    assert response.status_code == 400, response.text
    assert response.json()["parameter"] == parameter
    assert response.headers["Content-Type"].startswith("application/json")


@pytest.mark.parametrize("params,parameter", [
    ({"indicator": "gross-median-weekly-pay", "harmonise": "maybe"}, "harmonise"),
    ({"indicator": "gross-median-weekly-pay", "as_of": "01/01/2025"}, "as_of"),
    ({"indicator": "gross-median-weekly-pay", "type": "NOPE"}, "type"),
    ({"indicator": "gross-median-weekly-pay", "vintage": "LAD99"}, "vintage"),
    ({"indicator": "gross-median-weekly-pay", "period": "latest-999"}, "period"),
    ({"indicator": "gross-median-weekly-pay", "type": "LSOA", "vintage": "LAD23"}, "vintage"),
    ({"indicator": "gross-median-weekly-pay", "format": "xml"}, "format"),
    ({"indicator": "gross-median-weekly-pay", "explain": "true"}, "explain"),
])
def test_bad_values_are_400s_naming_the_parameter(live_api, params, parameter):
    response = get(live_api, "/api/v1/observations/", **params)
    assert response.status_code == 400, response.text
    assert parameter in [e["parameter"] for e in response.json()["errors"]]


def test_a_parameter_given_twice_is_refused(live_api):
    response = requests.get(live_api + "/api/v1/areas/?type=LAD&type=RGN", timeout=60)
    assert response.status_code == 400 and response.json()["parameter"] == "type"


def test_endpoints_without_parameters_refuse_any(live_api):
    response = get(live_api, "/api/v1/areas/E06000009/", vintage="LAD23")
    assert response.status_code == 400
    assert response.json()["parameter"] == "vintage"


def test_latest_is_the_newest_period_for_the_areas_asked(live_api):
    # Net additions to the housing stock: Buckinghamshire county (E10000002, abolished in 2020) stops in
    # 2019/20, districts go on to 2024/25. A global `latest` gave the county nothing.
    county = get(live_api, "/api/v1/observations/", indicator="net-additions-housing-stock", area="E10000002",
                 period="latest").json()["results"]
    assert [(r["area_code"], r["period"]) for r in county] == [("E10000002", "2019/20")]
    both = get(live_api, "/api/v1/observations/", indicator="net-additions-housing-stock",
               area="E10000002,E06000009", period="latest").json()["results"]
    assert [(r["area_code"], r["period"]) for r in both] == [("E06000009", "2024/25")]
    district = get(live_api, "/api/v1/observations/", indicator="net-additions-housing-stock", area="E06000009",
                   period="latest").json()["results"]
    assert [(r["area_code"], r["period"]) for r in district] == [("E06000009", "2024/25")]


def test_the_openapi_document_declares_every_parameter_of_observations(live_api):
    schema = get(live_api, "/api/schema/", format="json").json()
    operation = schema["paths"]["/api/v1/observations/"]["get"]
    params = {p["name"]: p for p in operation["parameters"] if p["in"] == "query"}
    assert {"indicator", "area", "type", "vintage", "parent", "period", "period_from", "period_to", "status", "as_of",
            "harmonise", "explain", "format", "page_size", "cursor"} <= set(params)
    assert params["area_type"]["deprecated"] is True
    assert params["harmonise"]["schema"]["type"] == "boolean"
    assert params["as_of"]["schema"] == {"type": "string", "format": "date"}
    assert params["page_size"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 100000}
    assert set(params["format"]["schema"]["enum"]) == {"json", "csv", "jsonstat", "csvw"}
    assert all(p.get("description") for p in params.values())
    for status in ("400", "404", "406", "429"):
        assert operation["responses"][status]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Error"}
    # Swagger UI reads this document; its page is served.
    assert get(live_api, "/api/docs/").status_code == 200


def test_the_openapi_document_declares_exactly_what_each_view_accepts(live_api):
    """Every query parameter the document lists is accepted (none is refused as unknown)."""
    schema = get(live_api, "/api/schema/", format="json").json()
    for path, operations in schema["paths"].items():
        operation = operations.get("get")
        if operation is None or "{" in path:
            continue
        for p in operation.get("parameters", []):
            if p["in"] != "query" or p.get("deprecated"):
                continue
            body = get(live_api, path, **{p["name"]: "x"}).json()
            errors = body.get("errors", []) if isinstance(body, dict) else []
            unknown = [e for e in errors if e["message"].startswith("unknown parameter")]
            assert not unknown, (path, p["name"], unknown)

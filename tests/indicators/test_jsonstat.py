"""JSON-stat 2.0 on observations, harmonised observations, aggregates and a custom area's
observations: each response read with pyjstat into a DataFrame equal row for row to the CSV of the
same request, with the dimensions, roles, labels, units, statuses and extension a user checks,
paging as the JSON pages, and a fixed number of statements."""

from __future__ import annotations

import orjson
import pytest

from indicators.aggregation import COLUMNS as AGGREGATE_COLUMNS
from indicators.harmonise import COLUMNS as HARMONISED_COLUMNS
from indicators.models import Indicator, Observation
from indicators.selectors import OBSERVATION_COLUMNS
from tests.formats import csv_frame, jsonstat_frame, numeric_columns, same_rows

pytestmark = pytest.mark.django_db

OBSERVATIONS = "/api/v1/observations/"
DISTRICT_ENTITIES = {"E06", "E07", "E08", "E09", "W06", "S12", "N09"}
JSONSTAT = "application/vnd.json-stat+json"


def fetch(api, path: str, query: dict, fmt: str, **headers):
    response = api.get(path, {**query, "format": fmt} if fmt else query, **headers)
    assert response.status_code == 200, response.content[:500]
    if fmt == "csv":
        return b"".join(response.streaming_content).decode()
    return response


def assert_jsonstat_is_the_csv(api, path: str, query: dict, columns: list[str]) -> dict:
    """The JSON-stat of the request, read by pyjstat, equals its CSV row for row; the document."""
    response = fetch(api, path, query, "jsonstat")
    assert response["Content-Type"] == JSONSTAT
    csv = csv_frame(fetch(api, path, query, "csv"))
    metadata = orjson.loads(fetch(api, path, query, "csvw").content)
    same_rows(jsonstat_frame(response.content, columns), csv, numeric_columns(metadata))
    return orjson.loads(response.content)


def test_the_districts_latest_pay_is_the_csv_row_for_row_and_only_districts(api):
    """The user check: pyjstat reads the districts' latest median pay into the CSV's rows."""
    query = {"indicator": "gross-median-weekly-pay", "type": "LAD", "period": "latest"}
    doc = assert_jsonstat_is_the_csv(api, OBSERVATIONS, query, OBSERVATION_COLUMNS)
    assert doc["version"] == "2.0" and doc["class"] == "dataset"
    assert doc["id"] == ["indicator", "period", "area"]
    assert doc["role"] == {"metric": ["indicator"], "time": ["period"], "geo": ["area"]}
    areas = doc["dimension"]["area"]["category"]
    assert doc["size"] == [1, 1, len(areas["index"])] and len(areas["index"]) > 300
    assert {code[:3] for code in areas["index"]} <= DISTRICT_ENTITIES
    assert "E92000001" not in areas["index"] and "K02000001" not in areas["index"]
    assert areas["label"]["E06000009"] == "Blackpool"
    indicator = doc["dimension"]["indicator"]["category"]
    assert indicator["label"] == {
        "gross-median-weekly-pay": Indicator.objects.get(slug="gross-median-weekly-pay").title
    }
    assert indicator["unit"]["gross-median-weekly-pay"] == {
        "label": "Pounds",
        "decimals": 0,
        "symbol": "£",
        "position": "start",
    }
    # Every district has this period's value: a dense cube, Blackpool's cell its published pay.
    assert doc["extension"]["cells"] == "dense" and isinstance(doc["value"], list)
    blackpool = Observation.objects.get(
        indicator__slug="gross-median-weekly-pay",
        area__code="E06000009",
        period__iso=doc["dimension"]["period"]["category"]["index"][0],
        release__is_current=True,
    )
    cell = areas["index"].index("E06000009")
    assert doc["value"][cell] == blackpool.value
    assert doc["extension"]["columns"]["lci"][cell] == blackpool.lci
    assert doc["extension"]["next"] is None and "next" not in doc["link"]
    assert doc["link"]["alternate"][1]["href"].endswith("format=csv")


def test_a_cube_with_holes_is_sparse_and_keeps_statuses(api):
    """Two indicators with different periods for two areas: the cube has cells no row fills, so
    `value` holds only the rows' cells; a suppressed or low-reliability value keeps its status."""
    flagged = (
        Observation.objects.filter(release__is_current=True, status="u", area__code__startswith="E0")
        .select_related("indicator", "area", "period")
        .order_by("id")
        .first()
    )
    query = {
        "indicator": f"{flagged.indicator.slug},healthy-life-expectancy-male",
        "area": f"{flagged.area.code},E06000009",
    }
    doc = assert_jsonstat_is_the_csv(api, OBSERVATIONS, query, OBSERVATION_COLUMNS)
    assert isinstance(doc["value"], dict) and doc["extension"]["cells"] == "sparse"
    assert len(doc["value"]) < doc["size"][0] * doc["size"][1] * doc["size"][2]
    dims = {d: doc["dimension"][d]["category"]["index"] for d in doc["id"]}
    index = (
        dims["indicator"].index(flagged.indicator.slug) * doc["size"][1] + dims["period"].index(flagged.period.iso)
    ) * doc["size"][2] + dims["area"].index(flagged.area.code)
    assert doc["status"][str(index)] == "u"
    assert doc["value"][str(index)] == flagged.value
    assert doc["extension"]["status"]["u"] == "low reliability"
    # Only cells with a status appear in `status`.
    assert set(doc["status"]) <= set(doc["value"]) and None not in doc["status"].values()


def test_pages_are_the_json_pages_and_together_the_csv(api):
    """JSON-stat pages as JSON does: the same page_size and cursor, the next page in link.next."""
    query = {"indicator": "iod2025-imd-score", "type": "LSOA", "parent": "E06000009"}
    csv = csv_frame(fetch(api, OBSERVATIONS, query, "csv"))
    assert len(csv) == 94  # Blackpool's LSOAs
    numeric = numeric_columns(orjson.loads(fetch(api, OBSERVATIONS, query, "csvw").content))
    frames, url, pages = [], None, 0
    json_page = fetch(api, OBSERVATIONS, {**query, "page_size": "40"}, "json").json()
    while True:
        response = api.get(url) if url else fetch(api, OBSERVATIONS, {**query, "page_size": "40"}, "jsonstat")
        doc = orjson.loads(response.content)
        if pages == 0:  # the first page's rows are the JSON's first page
            assert doc["dimension"]["area"]["category"]["index"] == [r["area_code"] for r in json_page["results"]]
            assert doc["extension"]["next"].replace("format=jsonstat", "format=json") == json_page["next"]
        frames.append(jsonstat_frame(response.content, OBSERVATION_COLUMNS))
        pages += 1
        url = doc["extension"]["next"]
        if url is None:
            assert "next" not in doc["link"]
            break
        assert doc["link"]["next"] == [{"type": JSONSTAT, "href": url}]
    assert pages == 3
    import pandas as pd

    same_rows(pd.concat(frames, ignore_index=True), csv, numeric)


def test_both_json_stat_media_types_are_negotiated(api):
    query = {"indicator": "healthy-life-expectancy-male", "area": "E06000009"}
    by_format = fetch(api, OBSERVATIONS, query, "jsonstat")
    for media in ("application/json+stat", JSONSTAT):
        response = fetch(api, OBSERVATIONS, query, None, HTTP_ACCEPT=media)
        assert response["Content-Type"] == media
        assert orjson.loads(response.content)["value"] == orjson.loads(by_format.content)["value"]
    wrong = api.get(OBSERVATIONS, {**query, "format": "jsonstat"}, HTTP_ACCEPT="text/csv")
    assert wrong.status_code == 406


def test_bad_parameters_are_400s_naming_them_in_json(api):
    response = api.get(OBSERVATIONS, {"indicator": "gross-median-weekly-pay", "type": "NOPE", "format": "jsonstat"})
    assert response.status_code == 400 and response["Content-Type"] == "application/json"
    assert response.json()["parameter"] == "type"


def test_harmonised_values_carry_their_flags(api):
    query = {"indicator": "wellbeing-life-satisfaction", "area": "E06000063", "vintage": "LAD23", "harmonise": "true"}
    doc = assert_jsonstat_is_the_csv(api, OBSERVATIONS, query, HARMONISED_COLUMNS)
    assert doc["dimension"]["area"]["category"]["index"] == ["E06000063"]
    assert set(
        doc["extension"]["columns"]["flag"].values()
        if isinstance(doc["extension"]["columns"]["flag"], dict)
        else doc["extension"]["columns"]["flag"]
    ) == {"converted"}
    explained = orjson.loads(
        fetch(api, OBSERVATIONS, {**query, "explain": "true", "period": "2022/23"}, "jsonstat").content
    )
    inputs = explained["extension"]["columns"]["inputs"][0]
    assert [i["area_code"] for i in inputs] == ["E07000026", "E07000028", "E07000029"]


def test_an_aggregate_is_the_csv_with_its_method(api):
    path = "/api/v1/indicators/iod2025-imd-score/aggregate/"
    query = {"from_vintage": "LSOA21", "to_vintage": "LAD24", "parent": "E12000002"}
    doc = assert_jsonstat_is_the_csv(api, path, query, AGGREGATE_COLUMNS)
    assert doc["id"] == ["indicator", "area", "period"] and "status" not in doc
    assert doc["extension"]["aggregate"]["method"] == "weighted_mean"
    assert doc["dimension"]["indicator"]["category"]["unit"]["iod2025-imd-score"] == {"label": "Score", "decimals": 3}
    areas = doc["dimension"]["area"]["category"]["index"]
    assert len(areas) == 35 and doc["extension"]["cells"] == "dense"
    cell = areas.index("E06000009")
    assert round(doc["value"][cell], 4) == 43.2905
    assert doc["extension"]["columns"]["published_value"][cell] == 43.467
    assert doc["extension"]["columns"]["children_used"][cell] == 94


@pytest.fixture
def manchester_area(db):
    from django.contrib.auth.models import User

    from geographies.services import custom_area_create

    user = User.objects.create_user("jsonstat-test")
    return custom_area_create(
        name="Central Manchester",
        user=user,
        codes=["E01005061", "E01005063", "E01005065", "E01005066", "E01005067", "E01005068"],
    )


def test_a_custom_areas_observations_are_the_csv(api, manchester_area):
    path = f"/api/v1/custom-areas/{manchester_area.id}/observations/"
    query = {"indicator": "population-census-2021,iod2025-imd-decile"}
    doc = assert_jsonstat_is_the_csv(api, path, query, AGGREGATE_COLUMNS)
    assert doc["dimension"]["area"]["category"]["label"] == {str(manchester_area.id): "Central Manchester"}
    # The indicators in the order asked, as the CSV's rows are.
    assert doc["dimension"]["indicator"]["category"]["index"] == ["population-census-2021", "iod2025-imd-decile"]
    assert doc["extension"]["custom_area"]["id"] == str(manchester_area.id)
    with_summaries = orjson.loads(
        fetch(api, path, {"indicator": "iod2025-imd-decile", "summaries": "true"}, "jsonstat").content
    )
    assert {s["method"] for s in with_summaries["extension"]["deprivation_summaries"]} >= {"average_rank", "extent"}


@pytest.mark.parametrize("fmt,statements", [("json", 4), ("jsonstat", 5)])
def test_statements_per_request_are_fixed(api, django_assert_num_queries, fmt, statements):
    """The JSON-stat page costs the JSON page's statements and one for the indicators' titles
    and units."""
    query = {
        "indicator": "gross-median-weekly-pay,healthy-life-expectancy-male",
        "type": "LAD",
        "period": "latest",
        "format": fmt,
    }
    with django_assert_num_queries(statements):
        assert api.get(OBSERVATIONS, query).status_code == 200


@pytest.mark.parametrize(
    "path,query,json_statements,jsonstat_statements",
    [
        (
            "/api/v1/indicators/iod2025-imd-score/aggregate/",
            {"from_vintage": "LSOA21", "to_vintage": "LAD24", "parent": "E12000002"},
            9,
            9,
        ),
        (
            OBSERVATIONS,
            {"indicator": "wellbeing-life-satisfaction", "area": "E06000063", "vintage": "LAD23", "harmonise": "true"},
            15,
            16,
        ),
    ],
)
def test_the_other_cubes_cost_what_their_json_costs(
    api, django_assert_num_queries, path, query, json_statements, jsonstat_statements
):
    """Aggregates and harmonised values: JSON-stat costs the JSON's statements, plus one for the
    harmonised indicators' titles and units (the aggregate's indicator is already in hand)."""
    with django_assert_num_queries(json_statements):
        assert api.get(path, query).status_code == 200
    with django_assert_num_queries(jsonstat_statements):
        assert api.get(path, {**query, "format": "jsonstat"}).status_code == 200


def test_a_custom_areas_cube_costs_what_its_json_costs(api, manchester_area, django_assert_num_queries):
    """The custom area, its indicators, then each indicator's periods and its aggregate."""
    path = f"/api/v1/custom-areas/{manchester_area.id}/observations/"
    query = {"indicator": "population-census-2021,iod2025-imd-decile"}
    for fmt in ("json", "jsonstat"):
        with django_assert_num_queries(6):
            assert api.get(path, {**query, "format": fmt}).status_code == 200

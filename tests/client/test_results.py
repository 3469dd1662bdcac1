"""Results over a real server: iterators that follow the API's `next` links (page numbers on area
lists, keyset cursors on observations) collect exactly what the API holds; typed rows; and the
pandas and Arrow extras, with confidence limits, status, flags and comparisons as plain columns."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math

import pytest
from levelup_client import AggregateValue, AreaSummary, HarmonisedObservation, Observation, ProfileRow

pytestmark = pytest.mark.django_db

MANCHESTER = "E08000003"
IMD = "iod2025-imd-score"


def test_children_pages_collect_exactly_the_count(client, tap):
    sent = tap
    results = client.children(MANCHESTER, type="LSOA", vintage="LSOA21", page_size=50)
    rows = list(results)
    assert results.count == 295 and len(rows) == 295
    assert len({r.code for r in rows}) == 295 and all(r.code.startswith("E01") for r in rows)
    assert isinstance(rows[0], AreaSummary) and rows[0].vintages and isinstance(rows[0].active_from, dt.date)
    assert sent.statuses == [200] * 6  # ceil(295 / 50) pages, lazily, one request each
    assert results.meta["parent"] == MANCHESTER and results.meta["vintage"] == "LSOA21"


def test_area_lists_follow_page_numbers(client):
    results = client.areas(type="LAD", vintage="LAD23", page_size=100)
    codes = [a.code for a in results]
    assert results.count == 361 and len(codes) == 361 == len(set(codes))
    north_west = client.areas(parent="E12000002", vintage="LAD23").to_list()
    assert len(north_west) == 35 and "E06000009" in {a.code for a in north_west}


def test_observation_cursors_collect_what_the_csv_holds(client, tap):
    sent = tap
    results = client.observations(IMD, type="LSOA", parent=MANCHESTER, page_size=100)
    rows = results.to_list()
    assert len(rows) == 295 and all(isinstance(r, Observation) for r in rows)
    assert [r.url.params.get("cursor") is not None for r in sent.requests] == [False, True, True]
    children = {a.code for a in client.children(MANCHESTER, type="LSOA", vintage="LSOA21")}
    assert {r.area_code for r in rows} == children
    # the API's own CSV of the same call, row for row
    buffer = io.BytesIO()
    results.write_csv(buffer)
    table = list(csv.DictReader(io.StringIO(buffer.getvalue().decode())))
    assert len(table) == 295
    for row, line in zip(rows, table, strict=True):
        assert (row.area_code, row.period, row.status) == (line["area_code"], line["period"], line["status"])
        assert row.value == float(line["value"])
    # iterated again: from the first page kept, the next pages revalidated
    assert results.to_list() == rows


def test_a_known_value(client):
    [row] = client.observations(IMD, area="E01000001").to_list()
    assert (row.area_code, row.value, row.period, row.lci, row.uci) == ("E01000001", 8.742, "2025-10-30", None, None)


def test_observations_to_pandas(client):
    pytest.importorskip("pandas")
    frame = client.observations("gross-median-weekly-pay", area="E06000009", period="latest").to_pandas()
    assert list(frame.columns) == [
        "area_code",
        "area_name",
        "indicator",
        "period",
        "period_iso",
        "value",
        "lci",
        "uci",
        "status",
    ]
    [row] = frame.to_dict("records")
    assert row["value"] == 539.9 and round(row["lci"], 1) == 489.1 and round(row["uci"], 1) == 590.7
    assert str(frame["value"].dtype) == "float64" and str(frame["lci"].dtype) == "float64"
    manchester = client.observations(IMD, type="LSOA", parent=MANCHESTER).to_pandas()
    assert len(manchester) == 295 and manchester["lci"].isna().all() and (manchester["status"] == "").all()


def test_profile_comparisons_are_ordinary_columns(client):
    pd = pytest.importorskip("pandas")
    results = client.profile("E06000009")
    rows = results.to_list()
    assert results.meta["area"] == {"code": "E06000009", "name": "Blackpool"}
    assert all(isinstance(r, ProfileRow) for r in rows)
    frame = results.to_pandas()
    for column in (
        "lci",
        "uci",
        "status",
        "rank",
        "rank_of",
        "region_comparison",
        "national_comparison",
        "comparison_method",
        "region_value",
        "national_value",
        "trend",
        "missions",
    ):
        assert column in frame.columns, column
    hle = frame.set_index("indicator").loc["healthy-life-expectancy-male"]
    assert (hle["value"], hle["lci"], hle["uci"]) == (50.9, 47.3, 54.4)
    assert hle["national_comparison"] == "worse" and hle["region_comparison"] == "worse"
    assert hle["comparison_method"] == "confidence_interval" and hle["national_value"] == 60.9
    assert str(frame["rank"].dtype) == "Int64" and frame["rank"].notna().any()
    assert len(frame) == len(rows) and pd.api.types.is_float_dtype(frame["region_difference"])


def test_to_arrow_is_typed_from_the_rows(client):
    pa = pytest.importorskip("pyarrow")
    table = client.profile("E06000009").to_arrow()
    schema = table.schema
    assert schema.field("value").type == pa.float64() and schema.field("lci").type == pa.float64()
    assert schema.field("rank").type == pa.int64() and schema.field("status").type == pa.string()
    assert schema.field("missions").type == pa.list_(pa.int64())
    empty = client.observations(IMD, area="E01000001", as_of="2025-01-01").to_arrow()
    assert empty.num_rows == 0 and empty.schema.field("value").type == pa.float64()  # typed, though empty
    areas = client.children(MANCHESTER, type="LSOA", vintage="LSOA21").to_arrow()
    assert areas.num_rows == 295 and areas.schema.field("active_from").type == pa.date32()


def test_aggregates_carry_their_method_and_the_publisher_s_figure(client):
    results = client.aggregate(IMD, from_vintage="LSOA21", to_vintage="LAD24", parent="E06000009")
    [row] = results.to_list()
    assert isinstance(row, AggregateValue)
    assert (row.area_code, row.method, row.children_used, row.children_expected, row.flag) == (
        "E06000009",
        "weighted_mean",
        94,
        94,
        "aggregated",
    )
    assert math.isclose(row.value, 43.2905, abs_tol=1e-3) and row.published_value == 43.467
    assert results.meta["weight"] == {"indicator": "population-census-2021", "period": "2021-03-21"}


def test_harmonised_rows_say_how_each_value_was_got(client):
    [row] = client.observations(
        "wellbeing-life-satisfaction", area="E06000063", vintage="LAD23", harmonise=True, explain=True, period="2022/23"
    ).to_list()
    assert isinstance(row, HarmonisedObservation)
    assert (row.flag, row.method, row.weight_indicator) == ("converted", "weighted_mean", "population-census-2021-ltla")
    assert {i["area_code"] for i in row.inputs} == {"E07000026", "E07000028", "E07000029"}
    assert math.isclose(row.value, 7.7558, abs_tol=1e-3)


def test_a_bad_parameter_is_named(client):
    from levelup_client import BadRequest

    with pytest.raises(BadRequest) as caught:
        client.observations("no-such-indicator").to_list()
    assert caught.value.parameter == "indicator" and caught.value.status == 400

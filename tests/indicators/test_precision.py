"""Numbers served as published (docs/indicators.md, "Precision"): over the real files, no JSON or
CSV number has more digits than its source or its documented precision, and no binary noise."""

from __future__ import annotations

import csv
import json
import re
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.conf import settings
from django.db import connection
from psycopg import sql

from indicators.ingest.loader import NUMBER, _ci_noise_free
from indicators.models import Indicator
from indicators.precision import derived_places

pytestmark = pytest.mark.django_db

PAY = "gross-median-weekly-pay"
PAY_FILE = settings.LEVELUP_DATA_DIR / "indicators" / "explore_local_statistics" / f"{PAY}.csv"
AGG = "/api/v1/indicators/{}/aggregate/"


def places(text: str) -> int:
    exponent = Decimal(text).normalize().as_tuple().exponent
    return max(0, -exponent)


def digits(text: str) -> int:
    return len(Decimal(text).normalize().as_tuple().digits)


def numbers(response, key: str = "results") -> list[dict]:
    """The JSON results with every float kept as the text the API printed."""
    assert response.status_code == 200, response.content
    return json.loads(response.content, parse_float=str)[key]


def csv_rows(response) -> list[dict]:
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return list(csv.DictReader(body.decode().splitlines()))


def source_pay() -> dict[tuple[str, str], dict]:
    with PAY_FILE.open(encoding="utf-8-sig", newline="") as f:
        return {(r["areacd"], r["period"]): r for r in csv.DictReader(f)}


def assert_as_published(served: str | None, raw: str, value_raw: str, what: str) -> None:
    """A published number: the source's own digits, or, where the source's text is binary noise
    (more than 15 significant digits), rounded to its value's decimals + 2."""
    if not raw:
        assert served in (None, ""), what
        return
    if digits(raw) <= 15:
        assert Decimal(served) == Decimal(raw), what
    else:
        allowed = places(value_raw) + 2
        assert places(served) <= allowed, what
        # rounded from its 15 significant digits (630.2764999999999 is 630.2765: 630.277), half up
        clean = Decimal(format(float(raw), ".15g"))
        assert Decimal(served) == clean.quantize(Decimal(1).scaleb(-allowed), ROUND_HALF_UP), what


def test_decimal_places_is_served_on_the_indicator(api):
    assert api.get(f"/api/v1/indicators/{PAY}/").json()["decimal_places"] == 0  # ELS .meta.json decimalPlaces
    assert api.get("/api/v1/indicators/iod2025-imd-lad-average-rank/").json()["decimal_places"] == 2  # File 10
    assert api.get("/api/v1/indicators/iod2025-imd-lad-extent/").json()["decimal_places"] == 4


def test_no_stored_observation_carries_binary_noise():
    with connection.cursor() as cursor:
        cursor.execute("""SELECT count(*) FROM indicators_observation WHERE value::numeric::float8 <> value
                          OR lci::numeric::float8 <> lci OR uci::numeric::float8 <> uci""")
        assert cursor.fetchone()[0] == 0


def test_the_loader_keeps_source_digits_and_rounds_noisy_bounds():
    cases = [("563.8392719999999", "523.8", 563.839), ("614.70246", "613.5", 614.70246),
             ("55.029819999999994", "54.80778000000001", 55.02982), ("73.60000000000001", "73.4", 73.6),
             ("8.28908020535854", "x", 8.28908020535854), ("0.1000000000000000055", "..", 0.1)]
    # The staged columns the loader types each text into once: the bound as float8 and numeric,
    # the value as numeric (null when it is not a number, as for "x" and "..").
    query = sql.SQL("SELECT {} FROM (SELECT fl, fl::numeric AS nl, CASE WHEN raw_value ~ %s THEN "
                    "raw_value::float8::numeric END AS nv FROM (VALUES (%s::float8, %s)) t(fl, raw_value)) s").format(
        _ci_noise_free("l"))
    with connection.cursor() as cursor:
        for raw, value, expected in cases:
            cursor.execute(query.as_string(cursor.connection), [NUMBER, raw, value])
            got = cursor.fetchone()[0]
            assert repr(got) == repr(expected), (raw, value, got)
            assert value in ("x", "..") or re.match(NUMBER, value)


def test_pay_observations_latest_lad_as_published_json_and_csv(api):
    source = source_pay()
    params = {"indicator": PAY, "area_type": "LAD", "period": "latest", "page_size": "1000"}
    rows = numbers(api.get("/api/v1/observations/", params))
    assert len(rows) > 300
    as_csv = {(r["area_code"], r["period_iso"]): r for r in csv_rows(api.get("/api/v1/observations/",
                                                                                {**params, "format": "csv"}))}
    assert len(as_csv) == len(rows)
    noisy = 0
    for row in rows:
        raw = source[row["area_code"], row["period_iso"]]
        noisy += digits(raw["uci_95"] or "0") > 15
        text = as_csv[row["area_code"], row["period_iso"]]
        for field, column in (("value", "observation"), ("lci", "lci_95"), ("uci", "uci_95")):
            what = (row["area_code"], field, row[field], raw[column])
            assert_as_published(row[field], raw[column], raw["observation"], what)
            assert_as_published(text[field] or None, raw[column], raw["observation"], what)
    assert noisy > 10  # the file does carry noise in these rows, and none of it is served


def _check_profile_row(row: dict, indicator: Indicator, what) -> None:
    for field in ("value", "lci", "uci"):
        if row[field] not in (None, ""):
            assert digits(row[field]) <= 15, what(field)
    for key in ("region", "national"):
        value, difference = row[f"{key}_value"], row[f"{key}_difference"]
        computed = row[f"{key}_comparator_source"] == "computed"
        allowed = derived_places(decimal_places=indicator.decimal_places)
        if computed:
            method_places = derived_places(decimal_places=indicator.decimal_places, method=indicator.aggregation)
            assert places(value) <= method_places, what(f"{key}_value")
            allowed = max(allowed, method_places)
        elif value not in (None, ""):
            assert digits(value) <= 15, what(f"{key}_value")
        if difference not in (None, ""):
            assert places(difference) <= allowed, what(f"{key}_difference")
            assert Decimal(difference) == round(Decimal(row["value"]) - Decimal(value), allowed), what("difference")
        if row[f"{key}_coverage"] not in (None, ""):
            assert places(row[f"{key}_coverage"]) <= 6, what(f"{key}_coverage")


def test_blackpool_profile_as_published_json_and_csv(api):
    rows = numbers(api.get("/api/v1/areas/E06000009/profile/"), "indicators")
    as_csv = {r["indicator"]: r for r in csv_rows(api.get("/api/v1/areas/E06000009/profile/", {"format": "csv"}))}
    indicators = {i.slug: i for i in Indicator.objects.filter(slug__in=[r["indicator"] for r in rows])}
    assert len(rows) > 30 and set(as_csv) == set(indicators)
    for row in rows:
        indicator = indicators[row["indicator"]]
        _check_profile_row(row, indicator, lambda f, r=row: (r["indicator"], f, r.get(f)))
        _check_profile_row(as_csv[row["indicator"]], indicator, lambda f, r=row: ("csv", r["indicator"], f))
    # Blackpool's pay against the North West: the difference of the two published figures, exactly.
    pay = next(r for r in rows if r["indicator"] == PAY)
    source = source_pay()
    blackpool, north_west = source["E06000009", pay["period_iso"]], source["E12000002", pay["period_iso"]]
    assert (pay["value"], pay["region_value"]) == (blackpool["observation"], north_west["observation"])
    exact = Decimal(blackpool["observation"]) - Decimal(north_west["observation"])
    assert Decimal(pay["region_difference"]) == exact and places(pay["region_difference"]) <= 1
    assert Decimal(as_csv[PAY]["region_difference"]) == exact
    assert_as_published(pay["uci"], blackpool["uci_95"], blackpool["observation"], "Blackpool pay uci")


def _check_aggregates(rows: list[dict], allowed: int, published_places: int | None) -> None:
    assert any(row["value"] is not None for row in rows)
    for row in rows:
        if row["value"] is None:  # Welsh districts: no English IoD
            assert row["reason"], row
            continue
        assert places(row["value"]) <= allowed, row
        if row.get("coverage") is not None:
            assert places(row["coverage"]) <= 6, row
        if published_places is not None and row.get("published_value") is not None:
            assert places(row["published_value"]) <= published_places, row


def test_imd_score_weighted_mean_and_average_rank_to_their_places(api):
    args = {"from_vintage": "LSOA21", "to_vintage": "LAD24", "weight": "population-census-2021"}
    score = Indicator.objects.get(slug="iod2025-imd-score")
    mean = numbers(api.get(AGG.format("iod2025-imd-score"), {**args, "method": "weighted_mean"}))
    _check_aggregates(mean, score.decimal_places + 2, 3)
    assert sum(r["value"] is not None for r in mean) == 296  # England's districts
    ranks = numbers(api.get(AGG.format("iod2025-imd-rank"), {**args, "method": "average_rank"}))
    _check_aggregates(ranks, 2, 2)  # File 10: average rank to 2 places
    assert any(places(r["value"]) == 2 for r in ranks)  # rounded, not truncated to integers



@pytest.mark.parametrize(("slug", "method", "allowed"), [
    ("iod2025-imd-score", "weighted_mean", 5), ("iod2025-imd-score", "average_score", 3),
    ("iod2025-imd-rank", "average_rank", 2), ("iod2025-imd-rank", "extent", 4),
    ("iod2025-imd-rank", "local_concentration", 2), ("iod2025-imd-decile", "share_in_category", 4),
])
def test_custom_area_observations_to_their_places(api, manchester, slug, method, allowed):
    params = {"indicator": slug, "method": method}
    if method != "share_in_category":
        params["weight"] = "population-census-2021"
    (row,) = numbers(api.get(f"/api/v1/custom-areas/{manchester}/observations/", params))
    _check_aggregates([row], allowed, None)
    params.pop("indicator")
    district = numbers(api.get(AGG.format(slug), {**params, "from_vintage": "LSOA21", "to_vintage": "LAD24",
                                                   "parent": "E08000003"}))
    (manchester_district,) = [r for r in district if r["area_code"] == "E08000003"]
    assert row["value"] == manchester_district["value"]  # the same number, to the same places

"""The two Subnational Indicators Explorer files: a cp1252 file with its header on line 3 and
compact period labels whose meaning depends on the indicator, and a later file with free-text
periods. Values are checked against the published files."""

import pytest

from levelup_api.core.models import IngestRun

pytestmark = pytest.mark.django_db


def rows(api, **params) -> dict[tuple[str, str], dict]:
    body = api.get("/api/v1/observations/", params).json()
    return {(r["area_code"], r["indicator"]): r for r in body["results"]}


def test_cp1252_file_with_header_on_line_three_loads_every_row_or_counts_it(api):
    run = IngestRun.objects.filter(dataset="indicators", source="sni-2022-08", state="succeeded").latest("id")
    # 10,758 data rows: 10,651 loaded, 107 left out by the documented skip rules, none lost.
    assert run.rows_read == 10758
    assert run.counts["observations"] == 10651 and run.counts["skipped_rows"] == 107
    assert run.counts["codes_corrected"] == 4  # Inner London x3, Buckinghamshire x1, name-checked
    r = rows(api, indicator="sni-2022-gva-per-hour", area="E06000001")[("E06000001", "sni-2022-gva-per-hour")]
    assert (r["value"], r["period"], r["period_iso"]) == (31.85, "2020", "2020-01-01/P1Y")


def test_same_label_is_a_financial_year_for_one_indicator_and_an_academic_year_for_another(api):
    got = rows(api, indicator="sni-2022-life-satisfaction,sni-2022-fe-participation", area="E06000001")
    assert got[("E06000001", "sni-2022-life-satisfaction")]["period_iso"] == "2020-04-01/P1Y"  # "202021"
    assert got[("E06000001", "sni-2022-life-satisfaction")]["value"] == 7.33
    assert got[("E06000001", "sni-2022-fe-participation")]["period_iso"] == "2020-08-01/P1Y"  # "202021"
    assert got[("E06000001", "sni-2022-fe-participation")]["value"] == 8448


def test_thousands_separators_and_corrected_codes(api):
    got = rows(api, indicator="sni-2022-net-additions-housing", area="E92000001,E11000001")
    assert got[("E92000001", "sni-2022-net-additions-housing")]["value"] == 216489  # "216,489"
    assert got[("E11000001", "sni-2022-net-additions-housing")]["value"] == 12149
    # The file codes Inner London's travel times E13000002 (Outer London's code); the name fixes it.
    got = rows(api, indicator="sni-2022-travel-time-car", area="E13000001,E13000002")
    assert got[("E13000001", "sni-2022-travel-time-car")]["value"] == pytest.approx(6.503549883)
    assert got[("E13000002", "sni-2022-travel-time-car")]["value"] == pytest.approx(6.980983713)


def test_march_2024_file_free_text_periods_and_pre_2023_districts(api):
    got = rows(api, indicator="sni-2024-gva-per-hour,sni-2024-gdhi-per-head,sni-2024-employment-rate-gb",
               area="E07000026")  # Allerdale, abolished in 2023
    assert got[("E07000026", "sni-2024-gva-per-hour")]["value"] == 29.96
    assert got[("E07000026", "sni-2024-gdhi-per-head")]["value"] == 19246
    employment = got[("E07000026", "sni-2024-employment-rate-gb")]
    assert (employment["value"], employment["period_iso"]) == (78.9, "2022-10-01/P1Y")  # "10/2022 - 09/2023"
    periods = api.get("/api/v1/periods/", {"indicator": "sni-2024-schools-good-or-outstanding"}).json()
    assert [p["iso"] for p in periods] == ["2024-01-31"]  # "As at 31 January 2024"

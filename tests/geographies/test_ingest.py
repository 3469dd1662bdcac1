"""Ingest of real geography files: a Greater Manchester subset end to end, and the failure cases
(bad row, unknown code, wrong encoding, broken files) that must leave the database untouched."""

import csv
import shutil

import pytest
from django.core.management.base import CommandError

from geographies.models import Area, AreaLink, AreaMembership, Boundary
from geographies.selectors import point_lookup
from levelup_api.core.models import IngestRun
from tests.builders import (
    GM_SOURCES,
    data_path,
    empty_geography_tables,
    gm_data_dir,
    run_load,
    table_counts,
)

pytestmark = pytest.mark.django_db

LAD23_LIST = "geography/codes/ons_geo_scripts_ltla23_codes_names.csv"


@pytest.fixture
def gm(tmp_path):
    empty_geography_tables()
    return gm_data_dir(tmp_path)


def test_greater_manchester_subset_loads_with_real_counts(gm):
    run_load(gm, GM_SOURCES)
    lsoa21 = AreaMembership.objects.filter(vintage__code="LSOA21")
    assert lsoa21.count() == 1702  # the ONS OA21 lookup for Greater Manchester has 1,702 LSOAs
    assert AreaMembership.objects.filter(vintage__code="LAD22").count() == 10
    assert Boundary.objects.filter(vintage__code="LSOA21").count() == 1702
    manchester = Area.objects.get(code="E08000003")
    assert manchester.name == "Manchester" and manchester.area_type.code == "LAD"
    hits = {h.type_code: h.code for h in point_lookup(lon=-2.20779, lat=53.47031)}
    assert hits["LSOA"] == "E01005061"


def test_lsoa_to_msoa_links_match_the_real_ons_lookup(gm):
    """The national hierarchy is derived; on GM it must equal ONS's own OA21 lookup, row for row."""
    run_load(gm, GM_SOURCES)
    with open(data_path("geography/lookups/greater_manchester_OA21_LSOA21_MSOA21_LAD22.csv"), encoding="utf-8") as fh:
        ons = {(r["lsoa21cd"], r["msoa21cd"]) for r in csv.DictReader(fh)}
    ours = set(
        AreaLink.objects.filter(child_vintage__code="LSOA21", parent_vintage__code="MSOA21")
        .values_list("child__code", "parent__code")
    )
    assert len(ons) == 1702
    assert ours == ons


def test_rerun_skips_unchanged_files_and_force_duplicates_nothing(gm):
    run_load(gm, GM_SOURCES)
    before = table_counts()
    out = run_load(gm, GM_SOURCES)
    assert out.count("unchanged, skipped") == len(GM_SOURCES)
    assert table_counts() == before
    run_load(gm, GM_SOURCES, "--force")
    assert table_counts() == before


def test_dry_run_writes_nothing(gm):
    run_load(gm, GM_SOURCES, "--dry-run")
    assert Area.objects.count() == 0
    assert IngestRun.objects.filter(dry_run=True, state="succeeded").count() == len(GM_SOURCES)


def _bad_copy(tmp_path, rel, mutate):
    dest = tmp_path / rel
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(mutate(data_path(rel).read_bytes()))
    return tmp_path


def _load_error(data_dir, only) -> str:
    with pytest.raises(CommandError) as exc:
        run_load(data_dir, only)
    return str(exc.value)


@pytest.fixture
def lad23_loaded_state():
    """The full national load is in place; a failing file must not change it."""
    return table_counts()


def test_malformed_code_names_file_line_column_value(tmp_path, lad23_loaded_state):
    def mutate(raw):
        lines = raw.split(b"\n")
        lines[4] = lines[4].replace(b"E06000004", b"E0600004X")
        return b"\n".join(lines)

    msg = _load_error(_bad_copy(tmp_path, LAD23_LIST, mutate), ["lad23_codes"])
    assert LAD23_LIST in msg and "line 5" in msg and "column areacd" in msg and "E0600004X" in msg
    assert table_counts() == lad23_loaded_state
    run = IngestRun.objects.filter(source="lad23_codes").order_by("-started_at").first()
    assert run.state == "failed" and "line 5" in run.error


def test_unknown_parent_code_fails_the_file(tmp_path, lad23_loaded_state):
    rel = "geography/lookups/geographr_LAD23_RGN23_EN.csv"
    msg = _load_error(_bad_copy(tmp_path, rel, lambda raw: raw.replace(b"E12000002", b"E12000099", 1)), ["lad23_rgn23"])
    assert "unknown code" in msg and "E12000099 in RGN" in msg and "column region23_code" in msg
    assert table_counts() == lad23_loaded_state


def test_wrong_encoding_is_reported_with_position(tmp_path, lad23_loaded_state):
    rel = "geography/lookups/WD23_LAD23_UK_Dec2023.csv"
    # Re-encode the file as cp1252 while its mapping says UTF-8: the Welsh names (Môn, Dyffryn) break.
    msg = _load_error(_bad_copy(tmp_path, rel, lambda raw: raw.decode("utf-8-sig").encode("cp1252", errors="replace")), ["wd23_lad23"])
    assert "cannot decode as utf-8" in msg and "line " in msg and "column " in msg
    assert table_counts() == lad23_loaded_state


def test_nul_byte_is_rejected_before_postgres_sees_it(tmp_path, lad23_loaded_state):
    msg = _load_error(_bad_copy(tmp_path, LAD23_LIST, lambda raw: raw.replace(b"Hartlepool", b"Hartle\x00pool")),
                      ["lad23_codes"])
    assert "NUL byte" in msg and "line 2" in msg
    assert table_counts() == lad23_loaded_state


def test_wrong_header_names_the_missing_column(tmp_path):
    msg = _load_error(_bad_copy(tmp_path, LAD23_LIST, lambda raw: raw.replace(b"areanm", b"name", 1)), ["lad23_codes"])
    assert "missing column(s) areanm" in msg and "line 1" in msg


def test_ragged_row_is_reported(tmp_path):
    msg = _load_error(_bad_copy(tmp_path, LAD23_LIST, lambda raw: raw.replace(b"Hartlepool", b"Hartle,pool", 1)),
                      ["lad23_codes"])
    assert "expected 2 fields, found 3" in msg and "line 2" in msg


def test_conflicting_duplicate_key_fails(tmp_path):
    rel = "geography/lookups/geographr_LAD23_RGN23_EN.csv"

    def mutate(raw):
        return raw + b"Hartlepool,E06000001,North West,E12000002\n"

    msg = _load_error(_bad_copy(tmp_path, rel, mutate), ["lad23_rgn23"])
    assert "different parent" in msg and "E06000001" in msg


def test_truncated_geojson_reports_line_and_column(tmp_path, lad23_loaded_state):
    rel = "boundaries/LAD23_May2023_UK_BUC.geojson"
    msg = _load_error(_bad_copy(tmp_path, rel, lambda raw: raw[: len(raw) // 2]), ["boundaries_lad23"])
    assert "invalid JSON" in msg and "line 1" in msg
    assert table_counts() == lad23_loaded_state


def test_geojson_feature_with_unknown_code_names_the_feature(tmp_path, lad23_loaded_state):
    rel = "boundaries/LAD23_May2023_UK_BUC.geojson"
    msg = _load_error(_bad_copy(tmp_path, rel, lambda raw: raw.replace(b'"E06000002"', b'"E06000999"', 1)),
                      ["boundaries_lad23"])
    assert "feature 2" in msg and "E06000999 in LAD23" in msg and "properties.LAD23CD" in msg
    assert table_counts() == lad23_loaded_state


def test_missing_file_fails_cleanly(tmp_path):
    shutil.rmtree(tmp_path, ignore_errors=True)
    tmp_path.mkdir()
    msg = _load_error(tmp_path, ["lad23_codes"])
    assert "file not found" in msg and LAD23_LIST in msg

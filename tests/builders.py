"""Small builders: subsets of the real files in ../shared/data, written to a temporary data dir
with the same relative paths, so the real source mappings load them unchanged."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from django.conf import settings
from django.db import connection

# Greater Manchester's ten districts (unchanged codes since 1974).
GM_LADS = {f"E080000{n:02d}" for n in range(1, 11)}
DERIVED = "geography/lookups/DERIVED_LSOA21_MSOA21_LAD22_LAD24_RGN24_CTRY_EW.csv"

GM_SOURCES = [
    "countries_ctry18", "country_parents", "regions_rgn19", "lad22_codes", "lad_chain_16_24", "lad24_rgn24",
    "lsoa21_codes", "msoa21_codes", "lsoa21_msoa21_lad22_lad24", "boundaries_lsoa21",
]


def data_path(rel: str) -> Path:
    return Path(settings.LEVELUP_DATA_DIR) / rel


def copy_filtered_csv(src_rel: str, dest_dir: Path, keep, encoding: str = "utf-8") -> Path:
    """Copy a CSV keeping the header and the rows for which keep(row_dict) is true (bytes of kept
    lines unchanged, BOM and line endings included)."""
    raw = data_path(src_rel).read_bytes()
    text = raw.decode(encoding)
    lines = text.splitlines(keepends=True)
    header = next(csv.reader([lines[0].lstrip("\ufeff")]))
    kept = [lines[0]]
    for line in lines[1:]:
        values = next(csv.reader([line]))
        if keep(dict(zip(header, values, strict=True))):
            kept.append(line)
    dest = dest_dir / src_rel
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes("".join(kept).encode(encoding))
    return dest


def gm_data_dir(tmp_path: Path) -> Path:
    """Greater Manchester subset of the national files the GM_SOURCES mappings read."""
    with open(data_path(DERIVED), encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["LAD22CD"] in GM_LADS]
    lsoas = {r["LSOA21CD"] for r in rows}
    msoas = {r["MSOA21CD"] for r in rows}
    copy_filtered_csv("geography/codes/CTRY18_names_codes_UK_Dec2018.csv", tmp_path, lambda r: True)
    copy_filtered_csv("geography/codes/RGN19_names_codes_EN_Dec2019.csv", tmp_path, lambda r: True)
    copy_filtered_csv("geography/codes/ons_geo_scripts_ltla22_codes_names.csv", tmp_path, lambda r: r["areacd"] in GM_LADS)
    copy_filtered_csv("geography/changes/geographr_LAD16_to_LAD24_chain_UK.csv", tmp_path,
                      lambda r: r["ltla24_code"] in GM_LADS)
    copy_filtered_csv("geography/lookups/geographr_LAD24_RGN24_EN.csv", tmp_path, lambda r: r["ltla24_code"] in GM_LADS)
    copy_filtered_csv("geography/codes/ons_geo_scripts_lsoa21_codes_names.csv", tmp_path, lambda r: r["areacd"] in lsoas)
    copy_filtered_csv("geography/codes/ons_geo_scripts_msoa21_codes_names.csv", tmp_path, lambda r: r["areacd"] in msoas)
    copy_filtered_csv(DERIVED, tmp_path, lambda r: r["LAD22CD"] in GM_LADS)
    rel = "boundaries/LSOA21_EW_simplified_geographr.geojson"
    doc = json.loads(data_path(rel).read_bytes())
    doc["features"] = [f for f in doc["features"] if f["properties"]["lsoa21_code"] in lsoas]
    (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / rel).write_text(json.dumps(doc), encoding="utf-8")
    return tmp_path


def empty_geography_tables() -> None:
    """Inside the test's transaction (rolled back afterwards): start from an empty database."""
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE geographies_boundarypiece, geographies_boundary, geographies_areaancestor, "
            "geographies_arealink, geographies_areachange, geographies_arealifespan, geographies_areamembership, "
            "geographies_area, geographies_vintage, geographies_areatype, core_ingestrun CASCADE"
        )


def table_counts() -> dict[str, int]:
    tables = ["geographies_area", "geographies_areamembership", "geographies_arealink", "geographies_areachange",
              "geographies_arealifespan", "geographies_boundary", "geographies_boundarypiece"]
    with connection.cursor() as cursor:
        out = {}
        for t in tables:
            cursor.execute(f"SELECT count(*) FROM {t}")  # noqa: S608 - fixed table names
            out[t] = cursor.fetchone()[0]
    return out


def run_load(data_dir: Path, only: list[str], *extra: str) -> str:
    from django.core.management import call_command

    out = io.StringIO()
    call_command("load_geographies", "--data-dir", str(data_dir), "--only", ",".join(only), *extra, stdout=out,
                 stderr=out)
    return out.getvalue()


def levelup(**changes):
    """The project's settings dict with `changes`, as an override_settings decorator or context."""
    from django.conf import settings
    from django.test import override_settings

    return override_settings(LEVELUP={**settings.LEVELUP, **changes})

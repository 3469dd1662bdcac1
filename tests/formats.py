"""Test helpers for the statistical formats: a JSON-stat response read with pyjstat into the
frame of the CSV of the same request, the CSV read as published, and a CSV validated against its
CSVW metadata with the csvw library over real HTTP."""

from __future__ import annotations

import io
import math
import warnings

import orjson
import pandas as pd
from pyjstat import pyjstat

# Where each CSV column of a dimension comes from: (dimension id, "id" or "label").
DIMENSION_COLUMNS = {
    "indicator": ("indicator", "id"),
    "title": ("indicator", "label"),
    "area_code": ("area", "id"),
    "area_name": ("area", "label"),
    "period_iso": ("period", "id"),
    "period": ("period", "label"),
}


def cells(doc: dict) -> list[int]:
    """The cells of the cube that hold a row (all of them when `value` is an array)."""
    value = doc["value"]
    return sorted(int(k) for k in value) if isinstance(value, dict) else list(range(len(value)))


def _column(shaped, present: list[int]) -> list:
    return [shaped[str(i)] for i in present] if isinstance(shaped, dict) else [shaped[i] for i in present]


def _read(text: str, **kwargs) -> pd.DataFrame:
    # Dataset.write goes through pyjstat's own from_json_stat, which warns that it is deprecated.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return pyjstat.Dataset.read(text).write("dataframe", **kwargs)


def jsonstat_frame(body: bytes, columns: list[str]) -> pd.DataFrame:
    """The JSON-stat dataset read by pyjstat (ids and labels), the cells holding a row kept, with
    its status and extension columns: a frame with the CSV's `columns`, in the cube's order."""
    doc = orjson.loads(body)
    text = body.decode()
    ids = _read(text, naming="id")
    labels = _read(text, naming="label")
    present = cells(doc)
    dim_labels = {d: doc["dimension"][d]["label"] for d in doc["id"]}
    out = {}
    for name in columns:
        if name in DIMENSION_COLUMNS:
            dim, kind = DIMENSION_COLUMNS[name]
            source = ids[dim] if kind == "id" else labels[dim_labels[dim]]
            out[name] = list(source.iloc[present])
        elif name == "value":
            out[name] = list(ids["value"].iloc[present])
        elif name == "status":
            status = _read(text, naming="id", value="status") if "status" in doc else None
            out[name] = [None] * len(present) if status is None else list(status["status"].iloc[present])
        else:
            out[name] = _column(doc["extension"]["columns"][name], present)
    return pd.DataFrame(out, columns=columns)


def csv_frame(text: str) -> pd.DataFrame:
    """A CSV response as published: every cell as text, an empty cell as ''."""
    return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)


def as_csv_text(value) -> str | float:
    """A JSON value as the CSV writes it (numbers compared as numbers: see same_rows)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, list):
        return ";".join(map(str, value))
    return value


def same_rows(frame: pd.DataFrame, csv: pd.DataFrame, numeric: set[str]) -> None:
    """The JSON-stat frame equals the CSV row for row: numbers exactly (PostgreSQL and orjson both
    write the shortest text of the same double), everything else as text."""
    assert list(frame.columns) == list(csv.columns)
    assert len(frame) == len(csv), (len(frame), len(csv))
    left, right = pd.DataFrame(index=range(len(csv))), pd.DataFrame(index=range(len(csv)))
    for name in csv.columns:
        theirs = list(csv[name])
        ours = [as_csv_text(v) for v in frame[name]]
        if name in numeric:
            left[name] = [math.nan if v == "" else float(v) for v in ours]
            right[name] = [math.nan if v == "" else float(v) for v in theirs]
        else:
            left[name] = [str(v) for v in ours]
            right[name] = theirs
    pd.testing.assert_frame_equal(left, right, check_exact=True)


def numeric_columns(metadata: dict) -> set[str]:
    """The columns a CSVW document says hold numbers."""
    return {
        c["name"] for c in metadata["tables"][0]["tableSchema"]["columns"] if c["datatype"] in ("number", "integer")
    }


def csvw_problems(url: str) -> list[str]:
    """Validate the CSV at `url` against the metadata its Link header names (or the metadata
    document at `url`), as csvwvalidate does: metadata discovery, every cell's datatype, required
    cells, primary and foreign keys. The problems found; none when it is valid."""
    from csvw import CSVW

    try:
        found = CSVW(url, validate=True)
        valid = found.is_valid
    except ValueError as exc:  # csvw stops at the first cell it cannot read
        return [str(exc)]
    problems = [str(w.message) for w in found.warnings]
    assert valid or problems
    return problems

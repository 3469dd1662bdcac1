"""Rows to pandas DataFrames and Arrow tables, the optional extras (`levelup-client[pandas]`,
`levelup-client[arrow]`), imported only when asked for. Every field is an ordinary column (values,
confidence limits, status, flags, comparisons), typed from the row's dataclass: floats as float64,
counts as nullable integers, dates as dates, so an empty result still has its columns and types."""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib
import types
import typing
from collections.abc import Iterable, Sequence
from typing import Any

from .errors import MissingExtra
from .models import Record, _hints


def require(module: str, extra: str):
    """Import an optional dependency, or say how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtra(module, extra) from None


def _base(hint: Any) -> Any:
    """`float | None` -> float; anything else unchanged."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return args[0] if len(args) == 1 else hint
    return hint


def columns(rows: Sequence[Record], cls: type[Record] | None) -> tuple[list[str], dict[str, Any]]:
    """The column names (the class's fields in order, then any extra fields the rows carry) and the
    declared type of each declared one."""
    names: list[str] = []
    kinds: dict[str, Any] = {}
    if cls is not None:
        for f in dataclasses.fields(cls):
            if f.name != "extra":
                names.append(f.name)
                kinds[f.name] = _base(_hints(cls)[f.name])
    seen = set(names)
    for row in rows:
        for key in row.extra:
            if key not in seen:
                seen.add(key)
                names.append(key)
    return names, kinds


def _column_values(rows: Sequence[Record], name: str, declared: bool) -> list[Any]:
    if declared:
        values = [getattr(r, name) for r in rows]
    else:
        values = [r.extra.get(name) for r in rows]
    return [
        v.to_dict()
        if isinstance(v, Record)
        else [x.to_dict() if isinstance(x, Record) else x for x in v]
        if isinstance(v, list)
        else v
        for v in values
    ]


def to_pandas(rows: Iterable[Record], cls: type[Record] | None = None):
    """A pandas DataFrame of the rows, one column per field."""
    pd = require("pandas", "pandas")
    rows = list(rows)
    names, kinds = columns(rows, cls)
    data: dict[str, Any] = {}
    for name in names:
        values = _column_values(rows, name, name in kinds)
        kind = kinds.get(name)
        if kind is float:
            data[name] = pd.array([float("nan") if v is None else float(v) for v in values], dtype="float64")
        elif kind is int:
            data[name] = pd.array(values, dtype="Int64")
        elif kind is bool:
            data[name] = pd.array(values, dtype="boolean")
        elif kind is dt.date:
            data[name] = pd.to_datetime(pd.Series(values, dtype="object"))
        elif kind is str and values:
            data[name] = pd.Series(values)  # pandas' own string dtype (pandas 3: "str")
        else:
            data[name] = pd.Series(values, dtype="object")
    return pd.DataFrame(data, columns=names)


def _arrow_type(pa, kind: Any):
    if kind is str:
        return pa.string()
    if kind is float:
        return pa.float64()
    if kind is int:
        return pa.int64()
    if kind is bool:
        return pa.bool_()
    if kind is dt.date:
        return pa.date32()
    if typing.get_origin(kind) is list:
        (item,) = typing.get_args(kind)
        if item in (str, int, float):
            return pa.list_(_arrow_type(pa, item))
    return None  # nested rows and mappings: let Arrow infer the struct


def to_arrow(rows: Iterable[Record], cls: type[Record] | None = None):
    """A pyarrow Table of the rows, one column per field, typed from the row's dataclass."""
    pa = require("pyarrow", "arrow")
    rows = list(rows)
    names, kinds = columns(rows, cls)
    arrays = []
    for name in names:
        values = _column_values(rows, name, name in kinds)
        kind = kinds.get(name)
        if kind is float:
            values = [None if v is None else float(v) for v in values]
        typ = _arrow_type(pa, kind) if name in kinds else None
        if typ is None and not any(v is not None for v in values):
            typ = pa.null()
        arrays.append(pa.array(values, type=typ))
    return pa.Table.from_arrays(arrays, names=names)

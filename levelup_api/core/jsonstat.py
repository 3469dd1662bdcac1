"""JSON-stat 2.0 datasets (https://json-stat.org/format/) from rows of long-format data: the cube's
dimensions, its `value` and `status`, and every other column of the rows in a documented
`extension`. Generic: what each dimension and column means is said by the app that owns the data
(indicators.jsonstat, missions.jsonstat); the layout is docs/formats.md's.

Layout of a dataset built here:
- `id` lists the dimensions in the order the rows are sorted, and each dimension's categories are
  in that order too, so reading the cube row-major gives the rows in the order the JSON and CSV of
  the same request give them.
- `value` (and `status`, and each column under `extension.columns`) is an array with one entry per
  cell when every cell of the cube holds a row, and otherwise (an empty result too) an object keyed
  by cell index holding only the cells that do: a cell is a row of the CSV exactly when it has an
  entry in `value`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

VERSION = "2.0"
MEDIA_TYPES = ("application/vnd.json-stat+json", "application/json+stat")


@dataclass(frozen=True)
class Dimension:
    """One dimension of the cube, read from the rows: `key` is the field holding a category's id,
    `label_key` the field holding its label (None: the labels come from `labels`). Categories are
    sorted by the `order_key` field's value where one is named (an id the rows are sorted by), else
    by `order(category)`, else by the category itself: the order must be the rows' order."""

    id: str
    label: str
    key: str
    label_key: str | None = None
    role: str | None = None  # "geo", "time" or "metric"
    order_key: str | None = None
    order: Callable[[Any], Any] | None = None


def dataset(
    rows: Sequence,
    dimensions: list[Dimension],
    *,
    fields: list[str] | None = None,
    columns: list[str] = (),
    status: str | None = "status",
    label: str,
    href: str | None = None,
    labels: Mapping[str, Mapping[str, str]] | None = None,
    units: Mapping[str, Mapping[str, dict]] | None = None,
    link: dict | None = None,
    extension: dict | None = None,
    note: list[str] | None = None,
) -> dict:
    """A JSON-stat 2.0 dataset of `rows`: mappings, or tuples whose positions `fields` names, with
    every dimension's `key`, `value`, and the `columns`. `status` names the field of the status
    codes (an empty code is no status; None: the rows have none). `labels[dimension][category]`
    gives labels a row does not carry, and `units[dimension][category]` a metric dimension's
    `category.unit` entries. Built column by column (a national LSOA slice is 35,000 rows)."""

    def column(name: str) -> list:
        get = itemgetter(fields.index(name) if fields is not None else name)
        return [get(row) for row in rows]

    labels, units = labels or {}, units or {}
    ids = [column(dim.key) for dim in dimensions]
    order, position, dimension_doc = [], [], {}
    for dim, values in zip(dimensions, ids, strict=True):
        if dim.order_key is not None:
            sort = dict(zip(values, column(dim.order_key), strict=True))
            cats = sorted(sort, key=sort.__getitem__)
        else:
            cats = sorted(dict.fromkeys(values), key=dim.order)
        order.append(cats)
        position.append({c: i for i, c in enumerate(cats)})
        named = dict(zip(values, column(dim.label_key), strict=True)) if dim.label_key else {}
        named.update(labels.get(dim.id, {}))
        category: dict[str, Any] = {"index": cats, "label": {c: named.get(c) or c for c in cats}}
        if dim.id in units:
            category["unit"] = {c: units[dim.id][c] for c in cats if c in units[dim.id]}
        dimension_doc[dim.id] = {"label": dim.label, "category": category}
    size = [len(cats) for cats in order]
    cells = 1
    for n in size:
        cells *= n

    # Each row's cell, row-major over the dimensions.
    indexes = [0] * len(rows)
    for values, where, n in zip(ids, position, size, strict=True):
        indexes = [i * n + where[v] for i, v in zip(indexes, values, strict=True)]
    in_order = all(a < b for a, b in zip(indexes, indexes[1:], strict=False))
    if not in_order and len(set(indexes)) != len(indexes):
        raise ValueError("two rows fall in one cell of the cube: the dimensions do not identify a row")
    dense = bool(rows) and len(rows) == cells  # an empty result is an empty object

    def shaped(values: list) -> list | dict:
        if dense:
            if in_order:  # the rows are the cells, in order (the usual slice)
                return values
            out = [None] * cells
            for index, v in zip(indexes, values, strict=True):
                out[index] = v
            return out
        # Sparse: only the cells that hold a row, in the rows' order (keys are strings in JSON).
        return dict(zip(map(str, indexes), values, strict=True))

    doc: dict[str, Any] = {"version": VERSION, "class": "dataset"}
    if href:
        doc["href"] = href
    doc["label"] = label
    if note:
        doc["note"] = note
    doc["id"] = [d.id for d in dimensions]
    doc["size"] = size
    roles: dict[str, list[str]] = {}
    for dim in dimensions:
        if dim.role:
            roles.setdefault(dim.role, []).append(dim.id)
    if roles:
        doc["role"] = roles
    doc["dimension"] = dimension_doc
    doc["value"] = shaped(column("value"))
    if status is not None:
        codes = [code or None for code in column(status)]
        if dense:
            doc["status"] = shaped(codes)
        else:  # only the cells that have a status
            doc["status"] = {k: v for k, v in shaped(codes).items() if v is not None}
    if link:
        doc["link"] = link
    doc["extension"] = {
        "cells": "dense" if dense else "sparse",
        **(extension or {}),
        "columns": {name: shaped(column(name)) for name in columns},
    }
    return doc


def link_entry(href: str, media_type: str, label: str | None = None) -> dict:
    """One entry of a `link` relation (JSON-stat: an array of such objects per IANA relation)."""
    return {"type": media_type, "href": href, **({"label": label} if label else {})}


# -- OpenAPI: the shape served (a JSON-stat 2.0 dataset, with this service's extension) ----------------
# Fixed words are patterns, not enums, which drf-spectacular's enum post-processing would rename.
_CELLS = {
    "description": "One entry per cell (an array) when every cell holds a row; otherwise an object keyed by "
    "cell index (row-major over `id`) holding only the cells that do.",
    "oneOf": [
        {"type": "array", "items": {"nullable": True}},
        {"type": "object", "additionalProperties": {"nullable": True}},
    ],
}
OPENAPI_SCHEMA = {
    "type": "object",
    "description": "A JSON-stat 2.0 dataset (https://json-stat.org/format/): dimensions indicator, area and period "
    "(roles metric, geo, time), `value`, `status`, and every other column of the CSV of the same "
    "request under `extension.columns`, in the layout of `value`. See docs/formats.md.",
    "required": ["version", "class", "id", "size", "dimension", "value"],
    "properties": {
        "version": {"type": "string", "pattern": "^2\\.0$"},
        "class": {"type": "string", "pattern": "^dataset$"},
        "href": {"type": "string", "format": "uri"},
        "label": {"type": "string"},
        "note": {"type": "array", "items": {"type": "string"}},
        "id": {"type": "array", "items": {"type": "string"}, "description": "The dimensions, in the rows' sort order."},
        "size": {"type": "array", "items": {"type": "integer", "minimum": 0}},
        "role": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
        "dimension": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "required": ["category"],
                "properties": {
                    "label": {"type": "string"},
                    "category": {
                        "type": "object",
                        "properties": {
                            "index": {"type": "array", "items": {"type": "string"}},
                            "label": {"type": "object", "additionalProperties": {"type": "string"}},
                            "unit": {
                                "type": "object",
                                "additionalProperties": {
                                    "type": "object",
                                    "properties": {
                                        "label": {"type": "string"},
                                        "symbol": {"type": "string"},
                                        "position": {"type": "string", "pattern": "^(start|end)$"},
                                        "decimals": {"type": "integer", "minimum": 0},
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
        "value": {**_CELLS, "description": "The values (null where none is published). " + _CELLS["description"]},
        "status": {
            **_CELLS,
            "description": "Status codes (the API's status letters; null or absent where none): "
            "an array when `value` is one, else an object of the cells that have "
            "one.",
        },
        "link": {
            "type": "object",
            "description": "IANA relations (`next`: the next page; `alternate`: the same rows in other formats).",
            "additionalProperties": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"type": {"type": "string"}, "href": {"type": "string"}, "label": {"type": "string"}},
                },
            },
        },
        "extension": {
            "type": "object",
            "description": "This service's additions (docs/formats.md).",
            "properties": {
                "cells": {"type": "string", "pattern": "^(dense|sparse)$"},
                "next": {"type": "string", "nullable": True, "description": "The next page, as the JSON's `next`."},
                "columns": {
                    "type": "object",
                    "description": "Every other column of the rows (confidence limits, "
                    "ranks, comparisons, flags ...), each in the layout of "
                    "`value`.",
                    "additionalProperties": _CELLS,
                },
            },
            "additionalProperties": True,
        },
    },
    "additionalProperties": True,
}

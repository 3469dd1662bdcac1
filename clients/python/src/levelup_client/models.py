"""Typed results: one frozen dataclass per kind of row the API returns, built from its JSON. Fields
are the API's own names; dates become `datetime.date`; anything the API adds that this version of
the client does not know yet is kept in `extra` (and becomes a column in to_pandas/to_arrow), so a
newer server never breaks an older client."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self


def _date(value: Any) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    """Each field's type, evaluated in this module (not typing.get_type_hints: a field named `type`
    would shadow the builtin there)."""
    return {
        f.name: eval(f.type, globals()) if isinstance(f.type, str) else f.type  # noqa: S307 - our own annotations
        for f in dataclasses.fields(cls)
    }


def _is_date(hint: Any) -> bool:
    return hint is dt.date or (isinstance(hint, types.UnionType) and dt.date in typing.get_args(hint))


@dataclass(frozen=True, slots=True, kw_only=True)
class Record:
    """A row of an API response. `extra` holds the fields this client does not declare."""

    extra: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    # field name -> the Record class of its items (a list of nested rows) or of its value
    _nested: ClassVar[dict[str, type[Record]]] = {}

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Self:
        hints = _hints(cls)
        names = [f.name for f in dataclasses.fields(cls) if f.name != "extra"]
        kwargs: dict[str, Any] = {}
        for name in names:
            if name not in data:
                continue
            value = data[name]
            nested = cls._nested.get(name)
            if nested is not None and value is not None:
                value = [nested.from_api(v) for v in value] if isinstance(value, list) else nested.from_api(value)
            elif _is_date(hints[name]):
                value = _date(value)
            kwargs[name] = value
        extra = {k: v for k, v in data.items() if k not in kwargs and k not in names}
        return cls(**kwargs, extra=extra)

    def to_dict(self) -> dict[str, Any]:
        """The row as a flat dict: declared fields, then the extra ones (nested rows as dicts)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            if f.name == "extra":
                continue
            value = getattr(self, f.name)
            if isinstance(value, Record):
                value = value.to_dict()
            elif isinstance(value, list) and value and isinstance(value[0], Record):
                value = [v.to_dict() for v in value]
            out[f.name] = value
        out.update(self.extra)
        return out


# -- geography ------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class AreaChange(Record):
    """A predecessor or successor of an area across a boundary change (ONS change code U/S/M/X)."""

    code: str
    name: str
    change_type: str | None = None
    change_code: str | None = None
    effective_date: dt.date | None = None
    weight: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AreaLink(Record):
    """A parent of an area in one of its vintages."""

    vintage: str
    parent_vintage: str
    code: str
    name: str
    type: str
    fit: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AreaSummary(Record):
    """An area as lists show it (`/areas/`, `/areas/{code}/children/`)."""

    code: str
    name: str
    name_cy: str = ""
    type: str | None = None
    entity: str | None = None
    status: str | None = None
    active_from: dt.date | None = None
    active_to: dt.date | None = None
    vintages: list[str] = field(default_factory=list)
    successors: list[AreaChange] | None = None

    _nested: ClassVar[dict[str, type[Record]]] = {"successors": AreaChange}


@dataclass(frozen=True, slots=True, kw_only=True)
class Area(Record):
    """One area (`/areas/{code}/`): its parents per vintage and its code history. An ended code says
    so in `status` and `message`, and names what replaced it in `successors`."""

    code: str
    name: str
    name_cy: str = ""
    type: str | None = None
    type_name: str | None = None
    entity: str | None = None
    status: str | None = None
    active_from: dt.date | None = None
    active_to: dt.date | None = None
    message: str | None = None
    vintages: list[str] = field(default_factory=list)
    boundary_vintages: list[str] = field(default_factory=list)
    parents: list[AreaLink] = field(default_factory=list)
    predecessors: list[AreaChange] = field(default_factory=list)
    successors: list[AreaChange] = field(default_factory=list)

    _nested: ClassVar[dict[str, type[Record]]] = {
        "parents": AreaLink,
        "predecessors": AreaChange,
        "successors": AreaChange,
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class Ancestor(Record):
    """An area above another (`/areas/{code}/ancestors/`), `depth` steps up its hierarchy."""

    code: str
    name: str
    type: str
    vintage: str
    depth: int
    fit: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PointArea(Record):
    """An area containing a point (`/lookup/point/`): one per type."""

    code: str
    name: str
    type: str
    vintage: str
    type_name: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Vintage(Record):
    code: str
    name: str
    type: str | None = None
    effective_from: dt.date | None = None
    effective_to: dt.date | None = None
    area_count: int | None = None
    boundary_count: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AreaType(Record):
    code: str
    name: str
    description: str = ""
    entity_codes: list[str] = field(default_factory=list)
    level: int | None = None
    vintages: list[Vintage] = field(default_factory=list)

    _nested: ClassVar[dict[str, type[Record]]] = {"vintages": Vintage}


# -- indicators and observations ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class Indicator(Record):
    """An indicator of the catalogue (`/indicators/`); the detail adds releases and availability."""

    slug: str
    title: str
    subtitle: str = ""
    measure: str | None = None
    unit: str = ""
    unit_symbol: str = ""
    decimal_places: int | None = None
    polarity: str | None = None
    aggregation: str | None = None
    topics: list[str] = field(default_factory=list)
    capitals: list[str] = field(default_factory=list)
    experimental: bool = False
    dataset: str | None = None
    source: list[str] = field(default_factory=list)
    licence: str = ""
    source_url: str = ""
    description: str | None = None
    caveats: str | None = None
    weight_indicator: str | None = None
    releases: list[dict[str, Any]] | None = None
    availability: list[dict[str, Any]] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Period(Record):
    iso: str
    label: str
    type: str | None = None
    start: dt.date | None = None
    end: dt.date | None = None
    duration: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Observation(Record):
    """A value of an indicator for an area and period, with its 95% confidence limits and status
    letter (x suppressed, u low reliability ...)."""

    area_code: str
    area_name: str
    indicator: str
    period: str
    period_iso: str
    value: float | None = None
    lci: float | None = None
    uci: float | None = None
    status: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class HarmonisedObservation(Observation):
    """An observation on one boundary vintage (harmonise=true), with how it was got: `flag`
    (published, converted, apportioned), `method`, the weight, `reason` when withheld and, with
    explain, the `inputs`."""

    flag: str | None = None
    method: str | None = None
    weight_indicator: str | None = None
    weight_period: str | None = None
    reason: str | None = None
    inputs: list[dict[str, Any]] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AggregateValue(Record):
    """An indicator rebuilt for a larger area from its small areas (`/indicators/{slug}/aggregate/`,
    a custom area's observations), with how: method, weight, children used and expected, coverage,
    `flag`, and the publisher's own figure where it is loaded."""

    area_code: str | None
    area_name: str | None
    indicator: str
    period: str
    period_iso: str
    value: float | None = None
    method: str | None = None
    weight_indicator: str | None = None
    weight_period: str | None = None
    children_used: int | None = None
    children_expected: int | None = None
    coverage: float | None = None
    flag: str | None = None
    reason: str | None = None
    rank: int | None = None
    rank_of: int | None = None
    published_value: float | None = None
    published_indicator: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SeriesPoint(Record):
    """A point of an area's series on one vintage (`/areas/{code}/series/`)."""

    period: str
    period_iso: str
    value: float | None = None
    lci: float | None = None
    uci: float | None = None
    status: str = ""
    flag: str | None = None
    method: str | None = None
    weight_indicator: str | None = None
    weight_period: str | None = None
    reason: str | None = None
    inputs: list[dict[str, Any]] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ProfileRow(Record):
    """An indicator in an area's profile: the value and CI, rank and decile, the region's and the
    nation's value with the difference and the comparison (better/similar/worse, or a quintile),
    the trend, and the missions it measures."""

    area_code: str
    area_name: str
    indicator: str
    title: str = ""
    unit: str = ""
    measure: str | None = None
    polarity: str | None = None
    period: str = ""
    period_iso: str = ""
    value: float | None = None
    lci: float | None = None
    uci: float | None = None
    status: str = ""
    rank: int | None = None
    rank_of: int | None = None
    decile: int | None = None
    comparison_method: str | None = None
    comparison_level: float | None = None
    region_code: str | None = None
    region_value: float | None = None
    region_comparator_source: str | None = None
    region_coverage: float | None = None
    region_difference: float | None = None
    region_comparison: str | None = None
    national_code: str | None = None
    national_value: float | None = None
    national_comparator_source: str | None = None
    national_coverage: float | None = None
    national_difference: float | None = None
    national_comparison: str | None = None
    trend: str | None = None
    trend_method: str | None = None
    trend_points: int | None = None
    missions: list[int] = field(default_factory=list)


# -- bulk files ------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class Download(Record):
    """A bulk file: where it is, how big, its SHA-256 and how many rows it holds."""

    url: str
    size: int | None = None
    sha256: str | None = None
    rows: int | None = None
    media_type: str | None = None


def _downloads(value: Any) -> dict[str, Download]:
    return {fmt: Download.from_api(d) for fmt, d in (value or {}).items() if isinstance(d, Mapping)}


@dataclass(frozen=True, slots=True, kw_only=True)
class Release(Record):
    """A release of a dataset; `downloads` maps a format ("parquet", "csv.gz") to its file (only the
    current release's files are kept). `release_ids`: every release the dataset's current values come
    from (its files hold them all, each row naming its release)."""

    id: int
    label: str = ""
    release_date: dt.date | None = None
    state: str | None = None
    is_current: bool | None = None
    url: str | None = None
    release_ids: list[int] = field(default_factory=list)
    downloads: dict[str, Download] = field(default_factory=dict)

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Self:
        row = super(Release, cls).from_api({k: v for k, v in data.items() if k != "downloads"})
        return dataclasses.replace(row, downloads=_downloads(data.get("downloads")))


@dataclass(frozen=True, slots=True, kw_only=True)
class Dataset(Record):
    """A dataset (`/datasets/`): its current release with that release's files and, from
    `/datasets/{slug}/`, every published release (newest first)."""

    slug: str
    title: str = ""
    description: str = ""
    publishers: list[str] = field(default_factory=list)
    licence: str = ""
    licence_url: str | None = None
    source_url: str = ""
    url: str | None = None
    indicators: list[str] = field(default_factory=list)
    current_release: Release | None = None
    releases: list[Release] | None = None

    _nested: ClassVar[dict[str, type[Record]]] = {"current_release": Release, "releases": Release}


@dataclass(frozen=True, slots=True, kw_only=True)
class Snapshot(Record):
    """The national snapshot (every current observation of every dataset), from `/datasets/`."""

    rows: int | None = None
    release_ids: list[int] = field(default_factory=list)
    downloads: dict[str, Download] = field(default_factory=dict)

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Self:
        row = super(Snapshot, cls).from_api({k: v for k, v in data.items() if k != "downloads"})
        return dataclasses.replace(row, downloads=_downloads(data.get("downloads")))

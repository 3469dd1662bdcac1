"""Declarative source mappings for geography files: one TOML file per source under
fixtures/geographies/sources/. The loader reads these; no per-file code.

A mapping names its file (relative to LEVELUP_DATA_DIR, or to fixtures/ with root = "fixtures"),
its format and encoding, and entries of five kinds:

  [[areas]]       code/name(/name_cy) columns -> memberships of a vintage
  [[links]]       child column in child_vintage -> parent column in parent_vintage
  [[changes]]     predecessor -> successor, with a change-type column or derived from cardinality
  [[lifespans]]   start/end dates of codes stated by the source
  [[boundaries]]  geometries of a vintage (GeoJSON, or TopoJSON layers filtered by year)

A vintage may be a table keyed by GSS entity code ({ E12 = "RGN", W92 = "CTRY" }) when one
column mixes types. Rows can be filtered with `where` (column -> allowed values), `only_prefixes`
and `skip_prefixes` (applied to every code column of the entry). A column marked optional may
be blank: that row is skipped for that entry only, and counted.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

SOURCES_DIR = Path(settings.LEVELUP["FIXTURES_DIR"]) / "geographies" / "sources"


class SpecError(ValueError):
    pass


VintageRef = str | dict[str, str]


@dataclass
class Filters:
    where: dict[str, list[str]] = field(default_factory=dict)
    only_prefixes: list[str] = field(default_factory=list)
    skip_prefixes: list[str] = field(default_factory=list)


@dataclass
class AreasEntry(Filters):
    vintage: VintageRef = ""
    code: str = ""
    name: str = ""
    name_cy: str | None = None
    optional: bool = False


@dataclass
class LinksEntry(Filters):
    child: str = ""
    child_vintage: VintageRef = ""
    parent: str = ""
    parent_vintage: VintageRef = ""
    fit: str = "exact"
    optional: bool = False
    restrict_to_members: bool = False
    resolve: str = "error"  # or "majority": the parent with most rows wins, recorded as best fit


@dataclass
class ChangesEntry(Filters):
    predecessor: str = ""
    successor: str = ""
    from_vintage: str | None = None
    to_vintage: str | None = None
    change_type: str | None = None  # column holding U/S/M/X (or values mapped by type_map)
    type_map: dict[str, str] = field(default_factory=dict)
    derive: bool = False  # type from cardinality of the pairs
    include_unchanged: bool = False
    effective_date: str | None = None  # constant ISO date
    effective_year: str | None = None  # column with a year ...
    month_day: str = "04-01"  # ... and the day of that year changes take effect
    optional: bool = False


@dataclass
class LifespansEntry(Filters):
    code: str = ""
    start: str | None = None
    end: str | None = None
    end_exclusive: bool = False  # the source's end date is the first day the code was no longer used
    known_only: bool = False  # skip (and count) codes that are in no vintage we hold
    end_year: str | None = None
    month_day: str = "04-01"
    optional: bool = False


@dataclass
class BoundariesEntry(Filters):
    vintage: str | None = None
    vintages_by_year: dict[str, int] = field(default_factory=dict)  # TopoJSON: vintage -> year
    layer: str | None = None
    code: str = ""
    resolution: str = "BUC"
    restrict_to_members: bool = False  # skip (and count) features for codes outside the vintage


@dataclass
class SourceSpec:
    name: str
    file: str
    format: str = "csv"
    encoding: str = "utf-8"
    header_line: int = 1
    order: int = 100
    root: str = "data"
    description: str = ""
    areas: list[AreasEntry] = field(default_factory=list)
    links: list[LinksEntry] = field(default_factory=list)
    changes: list[ChangesEntry] = field(default_factory=list)
    lifespans: list[LifespansEntry] = field(default_factory=list)
    boundaries: list[BoundariesEntry] = field(default_factory=list)
    spec_bytes: bytes = b""

    def path(self, data_dir: Path) -> Path:
        base = Path(settings.LEVELUP["FIXTURES_DIR"]) if self.root == "fixtures" else data_dir
        return base / self.file

    def columns(self) -> set[str]:
        cols: set[str] = set()
        for entry in (*self.areas, *self.links, *self.changes, *self.lifespans):
            for attr in ("code", "name", "name_cy", "child", "parent", "predecessor", "successor",
                         "change_type", "effective_year", "start", "end", "end_year"):
                value = getattr(entry, attr, None)
                if isinstance(value, str) and value:
                    cols.add(value)
            cols.update(entry.where)
        return cols


_ENTRY_TYPES = {
    "areas": AreasEntry, "links": LinksEntry, "changes": ChangesEntry,
    "lifespans": LifespansEntry, "boundaries": BoundariesEntry,
}


def _build(cls, raw: dict, where: str):
    known = set(cls.__dataclass_fields__)
    unknown = set(raw) - known
    if unknown:
        raise SpecError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    data = dict(raw)
    if "where" in data:
        data["where"] = {k: v if isinstance(v, list) else [v] for k, v in data["where"].items()}
    return cls(**data)


def spec_load(path: Path) -> SourceSpec:
    raw_bytes = path.read_bytes()
    try:
        raw = tomllib.loads(raw_bytes.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path.name}: {exc}") from None
    entries = {k: [_build(cls, e, f"{path.name} [[{k}]]") for e in raw.pop(k, [])] for k, cls in _ENTRY_TYPES.items()}
    try:
        spec = SourceSpec(**raw, **entries, spec_bytes=raw_bytes)
    except TypeError as exc:
        raise SpecError(f"{path.name}: {exc}") from None
    if spec.format not in {"csv", "geojson", "topojson"}:
        raise SpecError(f"{path.name}: format must be csv, geojson or topojson")
    return spec


def specs_all(sources_dir: Path = SOURCES_DIR) -> list[SourceSpec]:
    specs = [spec_load(p) for p in sorted(sources_dir.glob("*.toml"))]
    names = [s.name for s in specs]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise SpecError(f"duplicate source names: {', '.join(sorted(dupes))}")
    return sorted(specs, key=lambda s: (s.order, s.name))

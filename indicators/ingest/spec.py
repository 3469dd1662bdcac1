"""Declarative indicator sources. Two layouts share one loader:

- long: one row per area, indicator and period (ONS Explore Local Statistics, the Subnational
  Indicators Explorer): `[columns]` names the code, indicator, period, value, CI, status columns;
- wide: one row per area, one column per indicator (IoD, WIMD, population files): `[[values]]`
  maps each column to an indicator, and `period` is fixed for the file.

Sources are TOML files under fixtures/indicators/sources/, plus the ELS family described once in
fixtures/indicators/els_indicators.toml (one source per ELS file, sharing the ELS column names).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

FIXTURES = Path(settings.LEVELUP["FIXTURES_DIR"]) / "indicators"
ELS_DIR = "indicators/explore_local_statistics"
ELS_COLUMNS = {"code": "areacd", "name": "areanm", "geography": "geography", "indicator": "indicator",
               "period": "period", "value": "observation", "lci": "lci_95", "uci": "uci_95", "status": "status",
               "note": "notes"}
ELS_SNAPSHOT_COLUMNS = {"code": "AREACD", "name": "AREANM", "geography": "Geography", "indicator": "Indicator",
                        "period": "Period", "value": "Observation", "lci": "Lower Confidence Interval (95%)",
                        "uci": "Upper Confidence Interval (95%)", "status": "Observation Status", "note": "Notes"}
# The schema of ELS files before the current one (files under history/ from late 2024):
# lower-case long names, no notes column.
ELS_2024_COLUMNS = {"code": "areacd", "name": "areanm", "geography": "geography", "indicator": "indicator",
                    "period": "period", "value": "observation", "lci": "lower_confidence_interval_95",
                    "uci": "upper_confidence_interval_95", "status": "observation_status", "note": ""}
ELS_SCHEMAS = (ELS_COLUMNS, ELS_2024_COLUMNS, ELS_SNAPSHOT_COLUMNS)
# Earlier releases of an ELS dataset, one file per release named by the day ELS published it
# (YYYY-MM-DD.csv, with its YYYY-MM-DD.meta.json), loaded before the current file, oldest first.
ELS_HISTORY = "history"
# Types whose areas only appear in statistics files: created from the file (code and name) in
# these vintages, and counted, rather than rejected as unknown.
DEFAULT_CREATE = {"PFA": "PFA", "ITL1": "ITL1", "ITL2": "ITL2", "ITL3": "ITL3", "CREG": "CREG",
                  "LAGRP": "LAGRP", "SPECIAL": "SPECIAL", "GLA": "GLA", "LHB": "LHB"}


class SpecError(ValueError):
    pass


@dataclass
class IndicatorDef:
    key: str  # value in the indicator column (long) or the column name (wide)
    slug: str
    title: str
    measure: str
    polarity: str = "neutral"
    aggregation: str = "not_aggregatable"
    unit: str = ""
    unit_symbol: str = ""
    decimal_places: int = 1
    subtitle: str = ""
    description: str = ""
    caveats: str = ""
    topics: list[str] = field(default_factory=list)
    capitals: list[str] = field(default_factory=list)
    experimental: bool = False
    mission: int | None = None
    category_values: list[float] = field(default_factory=list)
    weight_indicator: str = ""  # slug of the indicator whose values weight a weighted mean (a population)
    # This indicator's period labels as ISO 8601 ({"202021" = "2020-04-01/P1Y"}): the same label
    # means a financial year for one indicator and an academic year for another.
    period_map: dict[str, str] = field(default_factory=dict)


@dataclass
class IndicatorSource:
    name: str
    file: str
    layout: str  # long | wide
    dataset: str
    dataset_title: str
    release_date: str
    release_label: str = ""
    release_notes: str = ""
    encoding: str = "utf-8-sig"
    header_line: int = 1
    dataset_description: str = ""
    publishers: list[str] = field(default_factory=lambda: ["Office for National Statistics"])
    licence: str = "Open Government Licence v3.0"
    source_url: str = ""
    columns: dict[str, str] = field(default_factory=dict)
    code_column: str = ""
    period: str = ""
    thousands_separator: bool = False
    # Corrections for period strings the publisher got wrong, e.g. {"2024-09-31T00:00:00" = "2024-09-30"}.
    period_map: dict[str, str] = field(default_factory=dict)
    indicators: list[IndicatorDef] = field(default_factory=list)
    create: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_CREATE))
    # Types whose creation is limited to listed codes (former district codes, not any well-formed typo).
    create_only: dict[str, list[str]] = field(default_factory=dict)
    # Rows left out of the load, and counted: each rule names a `reason` and any of `geography`
    # (label), `code` and `indicator` (the file's values); a row matching all given keys is skipped.
    skip: list[dict[str, str]] = field(default_factory=list)
    # Publisher's code errors, fixed only where the row's name confirms them:
    # {"E13000002|Inner London" = "E13000001"}.
    code_fixes: dict[str, str] = field(default_factory=dict)
    order: int = 100
    spec_bytes: bytes = b""

    def path(self, data_dir: Path) -> Path:
        return data_dir / self.file

    def required_columns(self) -> list[str]:
        if self.layout == "long":
            return [c for c in self.columns.values() if c]
        return [self.code_column, *(d.key for d in self.indicators)]


def _meta(data_dir: Path, rel: str | None) -> dict:
    if not rel:
        return {}
    path = data_dir / ELS_DIR / rel
    if not path.is_file():
        return {}
    raw = json.loads(path.read_text("utf-8"))
    meta = raw.get("ess-beta-metadata", raw)
    return {**meta, "_note": raw.get("_note", meta.get("_note"))}


def _dmy(text: str) -> str | None:
    bits = text.strip().split("/")
    if len(bits) == 3 and all(b.isdigit() for b in bits):
        try:
            return dt.date(int(bits[2]), int(bits[1]), int(bits[0])).isoformat()
        except ValueError:  # one ELS note says "81/12/2025"
            return None
    return None


def _source_date(meta: dict) -> str | None:
    # ELS sourceDate is "dd/mm/yyyy|dd/mm/yyyy" (one per source organisation): take the latest.
    dates = [d for d in (_dmy(p) for p in str(meta.get("sourceDate") or "").split("|")) if d]
    return max(dates) if dates else None


def _release_date(meta: dict, default: str) -> str:
    """The day ELS published this version of the file: its metadata's "last modified" note, else
    the source organisation's release date, else `default`. (A dataset's releases are ordered by this
    date, and `as_of` reads it: ELS republishes a source's figures later than the source does.)"""
    note = re.search(r"(\d{1,2}/\d{1,2}/\d{4})", str(meta.get("_note") or ""))
    return (note and _dmy(note.group(1))) or _source_date(meta) or default


def _els_columns(path: Path) -> dict[str, str]:
    """The column names of whichever ELS schema the file's header is in (they changed between
    releases); the current schema when the file cannot be read (the load then reports it)."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            header = set(next(csv.reader(fh), []))
    except OSError:
        return dict(ELS_COLUMNS)
    for schema in ELS_SCHEMAS:
        if all(c in header for c in schema.values() if c):
            return dict(schema)
    return dict(ELS_COLUMNS)


def els_sources(data_dir: Path) -> list[IndicatorSource]:
    raw_bytes = (FIXTURES / "els_indicators.toml").read_bytes()
    doc = tomllib.loads(raw_bytes.decode("utf-8"))
    out = []
    for i, ds in enumerate(doc["datasets"]):
        meta = _meta(data_dir, ds.get("meta"))
        snapshot = ds["file"].startswith("snapshot_")
        defs = []
        for ind in ds["indicators"]:
            only_one = len(ds["indicators"]) == 1
            defs.append(IndicatorDef(
                key=ind["name"], slug=ind["slug"], title=ind["name"], measure=ind["measure"],
                polarity=ind.get("polarity", "neutral"), aggregation=ind.get("aggregation", "not_aggregatable"),
                unit=ind.get("unit", ""), unit_symbol=ind.get("unit_symbol", ""),
                decimal_places=int(ind.get("decimal_places", meta.get("decimalPlaces") or 1)),
                subtitle=(meta.get("subtitle") or "") if only_one else "",
                description=meta.get("longDescription") or "", caveats=meta.get("caveats") or "",
                topics=ind.get("topics", []), capitals=ind.get("capitals", []),
                experimental=str(meta.get("experimentalStatistic", "F")).upper() == "T",
                mission=ind.get("mission"),
                # `weight` in the ELS mapping describes the right population in words; the weight
                # used is `weight_indicator`, or the file-wide default for weighted means.
                weight_indicator=ind.get("weight_indicator", doc.get("default_weight", "")
                                         if ind.get("aggregation") == "weighted_mean" else ""),
            ))
        slug = ds["slug"] + ("-snapshot-2024-09" if snapshot else "")
        orgs = [o.strip() for o in str(meta.get("sourceOrg") or "Office for National Statistics").split("|") if o.strip()]
        urls = [u.strip() for u in str(meta.get("sourceURL") or "").split("|") if u.strip()]

        def source(name: str, file: str, release_date: str, columns: dict, order: int, note_meta: dict,
                   slug=slug, orgs=orgs, urls=urls, meta=meta, defs=defs, ds=ds, snapshot=snapshot):
            source_date = _source_date(note_meta)
            return IndicatorSource(
                name=name, file=file, layout="long", dataset=slug,
                dataset_title=(meta.get("label") or ds["slug"].replace("-", " ").capitalize())
                + (" (ELS snapshot, September 2024)" if snapshot else ""),
                dataset_description=meta.get("longDescription") or "", publishers=list(dict.fromkeys(orgs)),
                source_url=urls[0] if urls else "", release_date=release_date,
                release_label=f"ELS {release_date}", columns=columns,
                release_notes=f"Source release {source_date}." if source_date else "",
                # ELS series reach back before our first LAD list (2016), so they carry a few former
                # district and county codes (Gateshead's E08000020, Dorset County's E10000009).
                create={**DEFAULT_CREATE, "LAD": "LADX", "CTY": "CTYX"}, period_map=ds.get("period_map", {}),
                create_only=doc.get("former_codes", {}),
                indicators=defs, order=order,
                spec_bytes=raw_bytes + json.dumps(note_meta, sort_keys=True).encode() + file.encode())

        # Earlier releases first, oldest first, each with its own metadata's source date.
        history = data_dir / ELS_DIR / ELS_HISTORY / ds["slug"]
        for past in sorted(history.glob("????-??-??.csv")) if not snapshot else []:
            day = past.stem
            past_meta = _meta(data_dir, f"{ELS_HISTORY}/{ds['slug']}/{day}.meta.json")
            out.append(source(f"els-{slug}@{day}", f"{ELS_DIR}/{ELS_HISTORY}/{ds['slug']}/{past.name}", day,
                              _els_columns(past), 10 + i, past_meta))
        release_date = _release_date(meta, "2024-09-23" if snapshot else "2026-04-29")
        out.append(source(f"els-{slug}", f"{ELS_DIR}/{ds['file']}", release_date,
                          dict(ELS_SNAPSHOT_COLUMNS if snapshot else ELS_COLUMNS), 10 + i, meta))
    return out


def source_load_spec(path: Path) -> IndicatorSource:
    raw_bytes = path.read_bytes()
    doc = tomllib.loads(raw_bytes.decode("utf-8"))
    defs = [IndicatorDef(**d) for d in doc.pop("indicators", [])]
    try:
        src = IndicatorSource(**doc, indicators=defs, spec_bytes=raw_bytes)
    except TypeError as exc:
        raise SpecError(f"{path.name}: {exc}") from None
    if src.layout not in {"long", "wide"}:
        raise SpecError(f"{path.name}: layout must be long or wide")
    for rule in src.skip:
        keys = set(rule) - {"reason"}
        if not rule.get("reason") or not keys or keys - {"geography", "code", "indicator"}:
            raise SpecError(f"{path.name}: each skip rule needs a reason and some of geography, code, indicator: {rule}")
    if any(key.count("|") != 1 for key in src.code_fixes):
        raise SpecError(f"{path.name}: code_fixes keys are CODE|Name")
    return src


def sources_all(data_dir: Path) -> list[IndicatorSource]:
    specs = [source_load_spec(p) for p in sorted((FIXTURES / "sources").glob("*.toml"))]
    if (FIXTURES / "els_indicators.toml").is_file():
        specs += els_sources(data_dir)
    # Each indicator is defined by one dataset (its releases share the definitions).
    slugs = [d.slug for s in {s.dataset: s for s in specs}.values() for d in s.indicators]
    dupes = sorted({s for s in slugs if slugs.count(s) > 1})
    if dupes:
        raise SpecError(f"indicator slugs defined twice: {', '.join(dupes)}")
    # A dataset's files load together, where its first file is placed, in release-date order: each
    # new release supersedes the one before and carries forward the indicators it does not hold
    # (Census 2021's LTLA age bands, 2022-06-28, before its LSOA counts, 2022-11-02).
    first = {}
    for spec in specs:
        first[spec.dataset] = min(first.get(spec.dataset, spec.order), spec.order)
    return sorted(specs, key=lambda s: (first[s.dataset], s.dataset, s.release_date, s.order, s.name))

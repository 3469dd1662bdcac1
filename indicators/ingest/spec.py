"""Declarative indicator sources. Two layouts share one loader:

- long: one row per area, indicator and period (ONS Explore Local Statistics, the Subnational
  Indicators Explorer): `[columns]` names the code, indicator, period, value, CI, status columns;
- wide: one row per area, one column per indicator (IoD, WIMD, population files): `[[values]]`
  maps each column to an indicator, and `period` is fixed for the file.

Sources are TOML files under fixtures/indicators/sources/, plus the ELS family described once in
fixtures/indicators/els_indicators.toml (one source per ELS file, sharing the ELS column names).
"""

from __future__ import annotations

import json
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
# Types whose areas only appear in statistics files: created from the file (code and name) in
# these vintages, and counted, rather than rejected as unknown.
DEFAULT_CREATE = {"PFA": "PFA", "ITL1": "ITL1", "ITL2": "ITL2", "ITL3": "ITL3", "CREG": "CREG",
                  "LAGRP": "LAGRP", "SPECIAL": "SPECIAL", "GLA": "GLA"}


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
    return raw.get("ess-beta-metadata", raw)


def _release_date(meta: dict, default: str) -> str:
    # ELS sourceDate is "dd/mm/yyyy|dd/mm/yyyy" (one per source organisation): take the latest.
    dates = []
    for part in str(meta.get("sourceDate") or "").split("|"):
        bits = part.strip().split("/")
        if len(bits) == 3 and all(b.isdigit() for b in bits):
            dates.append(f"{bits[2]}-{bits[1].zfill(2)}-{bits[0].zfill(2)}")
    return max(dates) if dates else default


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
        release_date = _release_date(meta, "2024-09-23" if snapshot else "2026-04-29")
        out.append(IndicatorSource(
            name=f"els-{slug}", file=f"{ELS_DIR}/{ds['file']}", layout="long", dataset=slug,
            dataset_title=(meta.get("label") or ds["slug"].replace("-", " ").capitalize())
            + (" (ELS snapshot, September 2024)" if snapshot else ""),
            dataset_description=meta.get("longDescription") or "", publishers=list(dict.fromkeys(orgs)),
            source_url=urls[0] if urls else "", release_date=release_date,
            release_label=f"ELS {release_date}", columns=dict(ELS_SNAPSHOT_COLUMNS if snapshot else ELS_COLUMNS),
            # ELS series reach back before our first LAD list (2016), so they carry a few former
            # district and county codes (Gateshead's E08000020, Dorset County's E10000009).
            create={**DEFAULT_CREATE, "LAD": "LADX", "CTY": "CTYX"}, period_map=ds.get("period_map", {}),
            create_only=doc.get("former_codes", {}),
            indicators=defs, order=10 + i, spec_bytes=raw_bytes + json.dumps(meta, sort_keys=True).encode(),
        ))
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
    slugs = [d.slug for s in specs for d in s.indicators]
    dupes = sorted({s for s in slugs if slugs.count(s) > 1})
    if dupes:
        raise SpecError(f"indicator slugs defined twice: {', '.join(dupes)}")
    return sorted(specs, key=lambda s: (s.order, s.name))

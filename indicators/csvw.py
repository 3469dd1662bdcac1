"""What the CSV columns of observations, harmonised observations, aggregates and a custom area's
observations mean (datatypes, units), and the releases their rows come from: the CSVW metadata
documents of those CSVs, built from the request's parameters alone (no row is read)."""

from __future__ import annotations

import datetime as dt

from geographies.csvw import area_code_key, areas_table
from geographies.models import Area
from levelup_api.core import csvw
from levelup_api.core.csvw import Column
from levelup_api.core.params import ParameterError
from levelup_api.core.views import LICENCE

from .aggregation import COLUMNS as AGGREGATE_COLUMNS
from .aggregation import Summary, aggregation_method
from .harmonise import COLUMNS as HARMONISED_COLUMNS
from .models import Indicator, Release, Status
from .selectors import OBSERVATION_COLUMNS

A = Indicator.Aggregation
STATUS_TEXT = "Status letter: " + ", ".join(f"{c} {label}" for c, label in Status.choices if c) + "; empty: none."


def unit_text(indicators: list[Indicator]) -> str | None:
    """The unit of a value column: the indicators' one unit, or None when they differ or are unknown."""
    units = {(i.unit, i.unit_symbol) for i in indicators}
    if len(units) != 1:
        return None
    unit, symbol = units.pop()
    return f"{unit} ({symbol})" if unit and symbol and symbol != unit else unit or symbol or None


def units_described(indicators: list[Indicator]) -> str:
    """Each indicator's unit, for a value column whose unit is the row's indicator's."""
    if not indicators:
        return "in the unit of the row's indicator (/api/v1/indicators/{slug}/)"
    return "in the unit of the row's indicator: " + "; ".join(
        f"{i.slug}: {unit_text([i]) or 'no unit'}, {i.decimal_places} decimal places" for i in indicators
    )


def _dimension_columns(*, area: str, code_note: str = "") -> list[Column]:
    return [
        Column("area_code", "string", area + code_note, required=True),
        Column("area_name", "string", "The area's name."),
        Column("indicator", "string", "Indicator slug (/api/v1/indicators/{slug}/).", required=True),
        Column("period", "string", "The period as published (2021/22, 2011-2013, 2025-04-30).", required=True),
        Column(
            "period_iso", "string", "The period in ISO 8601: a date, or start/duration (2021-04-01/P1Y).", required=True
        ),
    ]


def observation_columns(indicators: list[Indicator], *, harmonised: bool) -> list[Column]:
    unit = unit_text(indicators)
    each = units_described(indicators)
    columns = [
        *_dimension_columns(area="GSS code of the area (the areas list's `code`)."),
        Column(
            "value", "number", f"The value as published, {each}; empty when none is published (see status).", unit=unit
        ),
        Column("lci", "number", f"Lower 95% confidence limit, {each}; empty when none is published.", unit=unit),
        Column("uci", "number", f"Upper 95% confidence limit, {each}; empty when none is published.", unit=unit),
        Column("status", "string", STATUS_TEXT),
    ]
    if harmonised:
        columns += [
            Column(
                "flag",
                "string",
                "published (on the vintage asked), converted (from predecessor areas) or "
                "apportioned (shared out from a split area).",
                required=True,
            ),
            Column("method", "string", "How a converted value was combined (the indicator's aggregation rule)."),
            Column("weight_indicator", "string", "The indicator whose values weighted the conversion."),
            Column("weight_period", "string", "The weights' period (ISO 8601)."),
            Column("reason", "string", "Why a converted value is empty."),
        ]
    assert [c.name for c in columns] == (HARMONISED_COLUMNS if harmonised else OBSERVATION_COLUMNS)
    return columns


# What an aggregate's value counts, where it is not the indicator's own unit.
METHOD_UNITS = {
    A.SHARE_IN_CATEGORY: "proportion of the child areas (0 to 1)",
    Summary.EXTENT: "proportion of the population (0 to 1)",
    Summary.AVERAGE_RANK: "rank (population-weighted average of the national ranks, reversed: higher is more deprived)",
    Summary.LOCAL_CONCENTRATION: "rank (average of the national ranks, reversed, of the most deprived small areas "
    "holding 10% of the population)",
    Summary.SCALE: "people (the sum of the numerators)",
}


def aggregate_columns(indicators: list[Indicator], methods: set[str], *, custom_area: bool) -> list[Column]:
    if len(methods) == 1 and next(iter(methods)) in METHOD_UNITS:
        unit = METHOD_UNITS[next(iter(methods))]
        each = unit
    else:
        unit = unit_text(indicators)
        each = units_described(indicators)
    area = (
        "The custom area's id (/api/v1/custom-areas/{id}/)."
        if custom_area
        else "GSS code of the result area (the areas list's `code`)."
    )
    columns = [
        *_dimension_columns(area=area),
        Column("value", "number", f"The aggregate, {each}; empty below min_coverage (see reason).", unit=unit),
        Column("method", "string", "The aggregation rule or deprivation summary applied.", required=True),
        Column("weight_indicator", "string", "The weight of weighted methods (an indicator slug)."),
        Column("weight_period", "string", "The weights' period (ISO 8601)."),
        Column("children_used", "integer", "Child areas with a value.", required=True),
        Column("children_expected", "integer", "Child areas of the result area.", required=True),
        Column(
            "coverage",
            "number",
            "Share of the inputs (by weight for weighted methods) that had values, 0 to 1.",
            unit="proportion (0 to 1)",
        ),
        Column("flag", "string", "aggregated.", required=True),
        Column("reason", "string", "Why the value is empty."),
        Column(
            "rank",
            "integer",
            "Rank among the result areas (1 = highest value, the most deprived for the "
            "summaries); empty for a custom area or an empty value.",
        ),
        Column("rank_of", "integer", "Result areas ranked."),
        Column("published_value", "number", f"The publisher's own figure for the area and period, {each}.", unit=unit),
        Column("published_indicator", "string", "The indicator `published_value` comes from."),
    ]
    assert [c.name for c in columns] == AGGREGATE_COLUMNS
    return columns


# -- where the rows come from ---------------------------------------------------------------------------
def releases(*, slugs: list[str] | None, as_of: dt.date | None = None) -> list[Release]:
    """Per dataset, the release its rows come from (the newest published one, or the newest out by
    `as_of`), for the datasets of the indicators `slugs` (None: every dataset): one statement."""
    qs = Release.objects.filter(state=Release.State.PUBLISHED).select_related("dataset")
    if slugs is not None:
        qs = qs.filter(dataset__indicators__slug__in=slugs)
    if as_of is not None:
        qs = qs.filter(release_date__lte=as_of)
    return list(qs.order_by("dataset_id", "-release_date", "-id").distinct("dataset_id"))


def provenance(found: list[Release]) -> dict:
    """dc:source, dc:license, dc:modified and prov:wasDerivedFrom (one entry per release)."""
    derived, sources, licences = [], [], set()
    for r in sorted(found, key=lambda r: r.dataset.slug):
        url = r.source_url or r.dataset.source_url
        entry = {
            "dc:title": r.dataset.title,
            "dc:identifier": str(r.id),
            "rdfs:label": r.label,
            "dc:issued": {"@value": r.release_date.isoformat(), "@type": "xsd:date"},
        }
        derived.append({"@id": url, **entry} if url else entry)
        if r.dataset.source_url and {"@id": r.dataset.source_url} not in sources:
            sources.append({"@id": r.dataset.source_url})
        licences.add(r.licence or r.dataset.licence)
    licence: dict | str = LICENCE
    if licences and licences != {LICENCE["name"]}:
        licence = "; ".join(sorted(licences))
    return {
        "licence": licence,
        "source": sources or "Levelling Up open-data API",
        "modified": max((r.release_date for r in found), default=None),
        "prov:wasDerivedFrom": derived,
    }


def document(
    request, columns: list[Column], *, title: str, description: str, found: list[Release], area_key: bool = True
) -> dict:
    """The metadata document of the request's CSV: its table (and, with `area_key`, the foreign key
    from area_code to the areas list, which joins the group), with the releases' provenance."""
    origin = provenance(found)
    table = csvw.table(
        csvw.csv_url(request),
        columns,
        title=title,
        description=description,
        foreign_keys=[area_code_key(request)] if area_key else [],
    )
    modified = origin["modified"]
    return csvw.table_group(
        [table, areas_table(request)] if area_key else [table],
        title=title,
        licence=origin["licence"],
        source=origin["source"],
        modified=modified.isoformat() if modified else None,
        **{"prov:wasDerivedFrom": origin["prov:wasDerivedFrom"]},
    )


def _indicators(slugs: list[str]) -> list[Indicator]:
    """The indicators asked for, in order; an unknown slug is the CSV's 400."""
    found = {i.slug: i for i in Indicator.objects.filter(slug__in=slugs)}
    missing = [s for s in slugs if s not in found]
    if missing:
        raise ParameterError("indicator", f"unknown indicator(s) {', '.join(missing)}; see /api/v1/indicators/")
    return [found[s] for s in slugs]


def _areas_known(codes: list[str]) -> None:
    """An unknown area code is the CSV's 400 (one statement)."""
    found = set(Area.objects.filter(code__in=codes).values_list("code", flat=True))
    missing = [c for c in codes if c not in found]
    if missing:
        raise ParameterError("area", f"unknown area code(s) {', '.join(missing)}")


def observations_metadata(request, cleaned: dict) -> dict:
    """The metadata of `/observations/?...&format=csv`: the indicators' units, the releases (and
    the area codes checked, when given), past the parameters' own statements. Periods are not
    resolved: `latest` would probe the rows."""
    slugs = cleaned.get("indicator") or []
    indicators = _indicators(slugs) if slugs else []
    if cleaned.get("area"):
        _areas_known(cleaned["area"])
    harmonised = bool(cleaned.get("harmonise"))
    title = "Observations" + (f": {', '.join(slugs)}" if slugs else "")
    description = (
        "Values with 95% confidence limits and status, one row per indicator, area and period, ordered "
        "by indicator, period and area"
        + (", on one boundary vintage (harmonised)" if harmonised else "")
        + "; filtered as the query says."
    )
    return document(
        request,
        observation_columns(indicators, harmonised=harmonised),
        title=title,
        description=description,
        found=releases(slugs=slugs or None, as_of=cleaned.get("as_of")),
    )


def aggregate_metadata(request, indicator: Indicator, method: str | None, weight: Indicator | None = None) -> dict:
    """The metadata of `/indicators/{slug}/aggregate/?...&format=csv` (`method`: the one asked, or
    None for the indicator's own, one the CSV would refuse refused here with the same 400; the
    releases: the indicator's and its weight's)."""
    method = aggregation_method(indicator, method)
    weight = weight or indicator.weight_indicator
    slugs = [indicator.slug] + ([weight.slug] if weight else [])
    return document(
        request,
        aggregate_columns([indicator], {method}, custom_area=False),
        title=f"{indicator.title}: aggregated ({method})",
        description="The indicator on child areas combined into the areas they lie in, one row per "
        "result area and period, by area code and period.",
        found=releases(slugs=slugs),
    )


def custom_area_metadata(request, indicators: list[Indicator], method: str | None, area_name: str) -> dict:
    """The metadata of `/custom-areas/{id}/observations/?...&format=csv`: its area_code is the custom
    area's id, which no list of GSS codes holds, so it has no foreign key."""
    methods = {aggregation_method(i, method) for i in indicators}
    return document(
        request,
        aggregate_columns(indicators, methods, custom_area=True),
        title=f"{area_name}: indicators computed from its small areas",
        description="Each indicator aggregated over the custom area's small areas and weights, one row "
        "per indicator and period, in the order the indicators were asked for.",
        found=releases(slugs=[i.slug for i in indicators]),
        area_key=False,
    )

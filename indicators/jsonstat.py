"""JSON-stat 2.0 datasets of observations, harmonised observations, aggregates and a custom area's
observations: the indicator, period and area dimensions (roles metric, time, geo) with the
indicators' titles, units and decimals, from the same rows the JSON and CSV of the request give
(levelup_api.core.jsonstat builds the cube; docs/formats.md describes it)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from levelup_api.core import jsonstat
from levelup_api.core.csvw import url_with_format
from levelup_api.core.jsonstat import Dimension

from .models import Indicator, Status

INDICATOR = Dimension("indicator", "Indicator", key="indicator", role="metric")
PERIOD = Dimension("period", "Period", key="period_iso", label_key="period", role="time")
AREA = Dimension("area", "Area", key="area_code", label_key="area_name", role="geo")
# The columns the dimensions, `value` and `status` hold; every other column goes to extension.columns.
HELD = {"indicator", "title", "area_code", "area_name", "period", "period_iso", "value", "status"}
STATUSES = {code: label for code, label in Status.choices if code}
# Currency symbols are written before the number (£539.90), every other symbol after it (80.1%).
SYMBOLS_BEFORE = {"£", "$", "€"}


def unit(indicator: Indicator) -> dict:
    """An indicator's JSON-stat `category.unit` entry: its unit, symbol and decimal places."""
    out = {"label": indicator.unit or indicator.unit_symbol or "", "decimals": indicator.decimal_places}
    if indicator.unit_symbol:
        out["symbol"] = indicator.unit_symbol
        out["position"] = "start" if indicator.unit_symbol in SYMBOLS_BEFORE else "end"
    return out


def indicators_by_slug(slugs) -> dict[str, Indicator]:
    """The indicators' titles and units (one statement)."""
    return {
        i.slug: i
        for i in Indicator.objects.filter(slug__in=set(slugs)).only(
            "slug", "title", "unit", "unit_symbol", "decimal_places"
        )
    }


def extension_columns(columns: list[str]) -> list[str]:
    return [c for c in columns if c not in HELD]


def dataset(
    request,
    rows: list,
    dimensions: list[Dimension],
    *,
    columns: list[str],
    fields: list[str] | None = None,
    label: str,
    indicators: Mapping[str, Indicator],
    status: bool = True,
    next_url: str | None = None,
    extension: dict | None = None,
    csv: bool = True,
) -> dict:
    """The dataset of `rows`, which hold `columns` (the CSV's), with the indicators' titles and
    units; `link` gives the same request in JSON (and CSV) and the next page."""
    link = {"alternate": [jsonstat.link_entry(url_with_format(request, "json"), "application/json", "JSON")]}
    if csv:
        link["alternate"].append(
            jsonstat.link_entry(url_with_format(request, "csv"), "text/csv", "CSV (the whole result, unpaged)")
        )
    if next_url:
        link["next"] = [jsonstat.link_entry(next_url, jsonstat.MEDIA_TYPES[0])]
    return jsonstat.dataset(
        rows,
        dimensions,
        fields=fields,
        columns=extension_columns(columns),
        status="status" if status else None,
        label=label,
        href=request.build_absolute_uri(),
        labels={"indicator": {slug: i.title for slug, i in indicators.items()}},
        units={"indicator": {slug: unit(i) for slug, i in indicators.items()}},
        link=link,
        extension={**({"status": STATUSES} if status else {}), **(extension or {})},
    )


# The ids selectors.observation_page adds after the columns: the key its rows are sorted by.
KEY_FIELDS = ["_indicator_id", "_period_id", "_area_id"]
OBSERVATION_DIMENSIONS = [
    replace(INDICATOR, order_key="_indicator_id"),
    replace(PERIOD, order_key="_period_id"),
    replace(AREA, order_key="_area_id"),
]


def observations_dataset(request, rows: list[tuple], *, columns: list[str], next_url: str | None) -> dict:
    """A page of `/observations/` (selectors.observation_page's tuples: the columns, then the
    indicator, period and area ids, which order the rows and so the categories)."""
    found = indicators_by_slug(r[columns.index("indicator")] for r in rows)
    doc = dataset(
        request,
        rows,
        OBSERVATION_DIMENSIONS,
        columns=columns,
        fields=[*columns, *KEY_FIELDS],
        label=_label("Observations", found),
        indicators=found,
        next_url=next_url,
        extension={"next": next_url},
    )
    if next_url:
        doc["note"] = ["One page of the result: link.next (extension.next) is the next one."]
    return doc


def harmonised_dataset(request, rows: list[dict], *, columns: list[str]) -> dict:
    """`/observations/?harmonise=true` (indicators.harmonise: ordered by slug, ISO period and code)."""
    found = indicators_by_slug(r["indicator"] for r in rows)
    extra = ["inputs"] if rows and "inputs" in rows[0] else []
    return dataset(
        request,
        rows,
        [INDICATOR, PERIOD, AREA],
        columns=[*columns, *extra],
        label=_label("Observations on one vintage", found),
        indicators=found,
        extension={"next": None},
    )


def aggregate_dataset(request, result, *, columns: list[str]) -> dict:
    """`/indicators/{slug}/aggregate/` (rows by result area code, then ISO period): the aggregate's
    description (method, vintages, weight ...) goes to extension.aggregate."""
    return dataset(
        request,
        result.rows,
        [INDICATOR, AREA, PERIOD],
        columns=columns,
        status=False,
        label=f"{result.indicator.title}: aggregated ({result.method})",
        indicators={result.indicator.slug: result.indicator},
        extension={"aggregate": result.meta()},
    )


def custom_area_dataset(
    request, rows: list[dict], *, columns: list[str], indicators: list[Indicator], area, summaries: list[dict] | None
) -> dict:
    """`/custom-areas/{id}/observations/` (rows per indicator in the order asked, then ISO period);
    the area is the custom area itself (its id and name)."""
    order = {i.slug: n for n, i in enumerate(indicators)}
    extension = {"custom_area": {"id": str(area.id), "name": area.name, "vintage": area.vintage.code}}
    if summaries is not None:
        extension["deprivation_summaries"] = summaries
    return dataset(
        request,
        rows,
        [replace(INDICATOR, order=order.__getitem__), AREA, PERIOD],
        columns=columns,
        status=False,
        label=f"{area.name}: indicators computed from its small areas",
        indicators={i.slug: i for i in indicators},
        extension=extension,
        csv=summaries is None,
    )


def _label(what: str, indicators: Mapping[str, Indicator]) -> str:
    titles = [i.title for i in indicators.values()]
    return f"{what}: {'; '.join(sorted(titles))}" if 0 < len(titles) <= 3 else what

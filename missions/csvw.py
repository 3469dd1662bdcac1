"""What the profile and mission-progress CSV columns mean (datatypes, units), for their CSVW
metadata, built from the request's parameters alone (no row is read)."""

from __future__ import annotations

from indicators.csvw import STATUS_TEXT, document, releases, units_described
from levelup_api.core.csvw import Column

from .models import Mission
from .selectors import PROFILE_COLUMNS

# A profile row says its own unit (the `unit` column).
_EACH = "in the unit the row's `unit` column names"


def _comparator(level: str) -> list[Column]:
    return [
        Column(f"{level}_code", "string", f"GSS code of the {level} compared with."),
        Column(f"{level}_value", "number", f"The {level}'s value for the same period, {_EACH}."),
        Column(
            f"{level}_comparator_source",
            "string",
            "published, or computed from its areas by the indicator's aggregation rule.",
        ),
        Column(
            f"{level}_coverage",
            "number",
            "For a computed comparator: the share of its areas with values (0 to 1).",
            unit="proportion (0 to 1)",
        ),
        Column(f"{level}_difference", "number", f"The area's value minus the {level}'s, {_EACH}."),
        Column(
            f"{level}_comparison",
            "string",
            "better, similar or worse (higher, similar, lower for neutral "
            "indicators), or the area's quintile among all areas of its type.",
        ),
    ]


PROFILE = [
    Column("area_code", "string", "GSS code of the area (the areas list's `code`).", required=True),
    Column("area_name", "string", "The area's name."),
    Column("indicator", "string", "Indicator slug (/api/v1/indicators/{slug}/).", required=True),
    Column("title", "string", "The indicator's title."),
    Column("unit", "string", "The indicator's unit (Pounds, Years, Percentage ...)."),
    Column("measure", "string", "count, percentage, rate, mean, median, score, rank, decile, ratio or currency."),
    Column("polarity", "string", "higher_is_better, lower_is_better or neutral."),
    Column("period", "string", "The latest period with a value for the area, as published.", required=True),
    Column("period_iso", "string", "That period in ISO 8601.", required=True),
    Column("value", "number", f"The value as published, {_EACH}."),
    Column("lci", "number", f"Lower confidence limit, {_EACH}."),
    Column("uci", "number", f"Upper confidence limit, {_EACH}."),
    Column("status", "string", STATUS_TEXT),
    Column("rank", "integer", "Rank among areas of the same type (1 = best by polarity; a rank indicator's own)."),
    Column("rank_of", "integer", "Areas ranked."),
    Column("decile", "integer", "Decile (a decile indicator's own)."),
    Column(
        "comparison_method",
        "string",
        "How the comparisons were made (confidence_interval, wilson, byar, quintile ...; docs/missions.md).",
    ),
    Column("comparison_level", "number", "Confidence level of the comparisons and trend, in percent.", unit="percent"),
    *_comparator("region"),
    *_comparator("national"),
    Column("trend", "string", "The trend over the last points (docs/missions.md)."),
    Column("trend_method", "string", "How the trend was tested."),
    Column("trend_points", "integer", "Points the trend was taken over."),
    Column("missions", "integer", "The missions the indicator measures, separated by ';'.", separator=";"),
]
assert [c.name for c in PROFILE] == PROFILE_COLUMNS


def profile_metadata(request, *, title: str) -> dict:
    """The metadata of a profile CSV (`/areas/{code}/profile/`, `/profiles/`): every indicator's
    latest value, so its rows come from the current release of every dataset."""
    return document(
        request,
        PROFILE,
        title=title,
        found=releases(slugs=None),
        description="One row per area and indicator, at the indicator's latest period for the area, by "
        "area then indicator slug.",
    )


def _progress(mission: Mission) -> list[Column]:
    each = units_described([m.indicator for m in mission.metrics.all()])
    return [
        Column("mission", "integer", "Mission number, 1 to 12.", required=True),
        Column("indicator", "string", "Indicator slug of the metric.", required=True),
        Column("kind", "string", "The target's kind."),
        Column("period", "string", "The period, as published.", required=True),
        Column("period_iso", "string", "The period in ISO 8601.", required=True),
        Column("gap", "number", f"The gap between top and bottom areas in that period, {each}."),
        Column("status", "string", "The target's status."),
    ]


PROGRESS_COLUMNS = ["mission", "indicator", "kind", "period", "period_iso", "gap", "status"]


def progress_metadata(request, *, mission: Mission) -> dict:
    """The metadata of `/missions/{n}/progress/?format=csv` (the mission's metrics' releases)."""
    columns = _progress(mission)
    assert [c.name for c in columns] == PROGRESS_COLUMNS
    return document(
        request,
        columns,
        title=f"Mission {mission.number}: the gap between top and bottom areas per period",
        description="One row per metric, target and period of the gap series.",
        found=releases(slugs=[m.indicator.slug for m in mission.metrics.all()]),
        area_key=False,
    )

"""Declarations of the missions and profile endpoints' parameters (the parameter layer's concepts
from geographies.filters and indicators.filters, under the same names)."""

from __future__ import annotations

from geographies.filters import SameTypeForm, parent_param, type_param, vintage_param
from indicators.filters import indicator_param, summaries_param
from levelup_api.core.params import ChoiceParam, IntegerParam, Params

from .statistics import DEFAULT_LEVEL, LEVELS


class ProgressParams(Params):
    """`/missions/{n}/progress/`: the areas to measure progress over."""

    type = type_param("Area type of the areas (e.g. LAD): its newest vintage unless `vintage` is given.", paired=True)
    vintage = vintage_param("Vintage of the areas (e.g. LAD23).")
    deprecated_aliases = {"area_type": "type"}

    class Meta:
        form = SameTypeForm


def level_param() -> ChoiceParam:
    return ChoiceParam(
        choices=[(f"{level:g}", f"{level:g}%") for level in LEVELS],
        help_text="Confidence level of the comparisons and trends, in percent: 95 (default) or 99.8 (Fingertips' "
                  "two levels). Published 95% intervals are rescaled to 99.8%; Wilson and Byar intervals and the "
                  "chi-squared test for trend are computed at the level asked.")


def level_value(cleaned: dict) -> float:
    """The `level` asked for as a number (95.0 when left out)."""
    return float(cleaned.get("level") or DEFAULT_LEVEL)


class ProfileParams(Params):
    """`/areas/{code}/profile/`: the confidence level of its comparisons and trends, and whether
    the deprivation summaries come with it."""

    level = level_param()
    summaries = summaries_param()


class ProfileListParams(Params):
    parent = parent_param("GSS code of the parent: the profile of every area below it.", required=True)
    type = type_param("Area type of the areas (e.g. LAD): its newest vintage unless `vintage` is given.", paired=True)
    vintage = vintage_param("Vintage of the areas (e.g. LAD23).")
    level = level_param()

    class Meta:
        form = SameTypeForm


class SimilarParams(Params):
    indicator = indicator_param("Indicator slugs, comma-separated (default: the missions' headline metrics the area "
                                "has values for).")
    n = IntegerParam(min_value=1, max_value=100, help_text="How many neighbours, 1 to 100 (default 10).")
    deprecated_aliases = {"indicators": "indicator"}

"""The SQL of the GraphQL fields missions answers, for the compiled path
(levelup_api/core/graphql_sql.py; docs/graphql.md): `Area.profile(level:)`, read from the profile
facts as missions.selectors.profiles reads them (the same columns, the same order: indicator slug
in byte order), at 95% or, with level 99.8, from the 99.8% columns."""

from __future__ import annotations

from levelup_api.core.graphql_sql import (
    FLOAT,
    INT,
    JSON,
    STRING,
    BindContext,
    Bound,
    ObjectSQL,
    Rows,
    Scalar,
    params_bound,
)

from .filters import ProfileParams, level_value
from .models import ProfileFact
from .selectors import PROFILE_COLUMNS
from .statistics import DEFAULT_LEVEL, QUINTILE


def _profile(arguments: dict, context: BindContext) -> Bound:
    level = level_value(params_bound(ProfileParams, arguments).cleaned)
    return Bound(variant="" if level == DEFAULT_LEVEL else "_998", params={"level": level})


_FLOATS = {"value", "lci", "uci", "comparison_level", "region_value", "region_coverage", "region_difference",
           "national_value", "national_coverage", "national_difference"}
_INTS = {"rank", "rank_of", "decile", "trend_points"}
_JOINED = {"area_code": "{area}.code", "area_name": "{area}.name", "indicator": "{indicator}.slug",
           "title": "{indicator}.title", "unit": "{indicator}.unit", "measure": "{indicator}.measure",
           "polarity": "{indicator}.polarity", "period": "{period}.label", "period_iso": "{period}.iso",
           "region_code": "{region}.code", "national_code": "{national}.code",
           "comparison_level": f"CASE WHEN {{row}}.comparison_method <> '{QUINTILE}' THEN {{row}}.level END"}
_AT_LEVEL = {"region_comparison", "national_comparison", "trend"}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _column(column: str) -> Scalar:
    kind = FLOAT if column in _FLOATS else INT if column in _INTS else STRING
    return Scalar(_JOINED.get(column, f"{{row}}.{column}"), kind)


_STORED = [f.column for f in ProfileFact._meta.concrete_fields
           if f.column not in _AT_LEVEL and f.column.removesuffix("_998") not in _AT_LEVEL]


def _source(variant: str) -> str:
    # The level's columns under the names the fields read (region_comparison, trend, ...).
    columns = ", ".join([f"f.{c}" for c in _STORED] + [f"f.{c}{variant} AS {c}" for c in sorted(_AT_LEVEL)])
    return (f"(SELECT {columns}, {{level}}::float8 AS level FROM missions_profilefact f) {{row}} {{joins}} "
            "WHERE {row}.area_id = {parent}.id")


MISSION_SQL = [
    ObjectSQL("Area", {
        "profile": Rows(_source, bind=_profile, order='{indicator}.slug COLLATE "C"', cache_binding=False),
    }),
    ObjectSQL("ProfileRow", joins={
        "area": "JOIN geographies_area {alias} ON {alias}.id = {row}.area_id",
        "indicator": "JOIN indicators_indicator {alias} ON {alias}.id = {row}.indicator_id",
        "period": "JOIN indicators_period {alias} ON {alias}.id = {row}.period_id",
        "region": "LEFT JOIN geographies_area {alias} ON {alias}.id = {row}.region_id",
        "national": "LEFT JOIN geographies_area {alias} ON {alias}.id = {row}.national_id",
    }, fields={
        **{_camel(c): _column(c) for c in PROFILE_COLUMNS if c != "missions"},
        "missions": Scalar("array_to_json(ARRAY(SELECT m.number FROM missions_metric mt JOIN missions_mission m "
                           "ON m.id = mt.mission_id WHERE mt.indicator_id = {row}.indicator_id ORDER BY m.number))::text",
                           JSON),
    }),
]

"""The SQL of the GraphQL fields missions answers, for the compiled path
(levelup_api/core/graphql_sql.py; docs/graphql.md): `Area.profile(level:)`, read from the profile
facts as missions.selectors.profiles reads them (the same columns, the same order: indicator slug
in byte order), at 95% or, with level 99.8, from the 99.8% columns."""

from __future__ import annotations

from graphene import Float, Int
from graphene.utils.str_converters import to_camel_case

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
from .graphql import ProfileRow
from .models import ProfileFact
from .profile_facts import LEVEL_SUFFIX
from .selectors import MISSIONS_OF_SQL, PROFILE_COLUMNS
from .statistics import QUINTILE


def _profile(arguments: dict, context: BindContext) -> Bound:
    level = level_value(params_bound(ProfileParams, arguments).cleaned)
    return Bound(variant=LEVEL_SUFFIX[level], params={"level": level})


_JOINED = {"area_code": "{area}.code", "area_name": "{area}.name", "indicator": "{indicator}.slug",
           "title": "{indicator}.title", "unit": "{indicator}.unit", "measure": "{indicator}.measure",
           "polarity": "{indicator}.polarity", "period": "{period}.label", "period_iso": "{period}.iso",
           "region_code": "{region}.code", "national_code": "{national}.code",
           "comparison_level": f"CASE WHEN {{row}}.comparison_method <> '{QUINTILE}' THEN {{row}}.level END"}
_AT_LEVEL = {"region_comparison", "national_comparison", "trend"}


def _column(column: str) -> Scalar:
    # The kind ProfileRow declares the column as (missions/graphql.py), so the two cannot differ.
    field = ProfileRow._meta.fields[column].type
    kind = FLOAT if field is Float else INT if field is Int else STRING
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
        **{to_camel_case(c): _column(c) for c in PROFILE_COLUMNS if c != "missions"},
        "missions": Scalar("array_to_json({})::text".format(MISSIONS_OF_SQL.format(indicator="{row}.indicator_id")),
                           JSON),
    }),
]

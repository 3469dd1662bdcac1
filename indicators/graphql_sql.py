"""The SQL of the GraphQL fields indicators answers, for the compiled path
(levelup_api/core/graphql_sql.py; docs/graphql.md): `Area.observations(indicator:, period:)` and
the `Observation`, `Period` and `Indicator` fields under it. It says what the resolver says
(indicators/graphql.py IndicatorAreaFields.resolve_observations -> selectors.observations_by_area ->
observation_filter): current values of the slugs given (an unknown one is graphql-core's error),
periods as ISO, label, year, `latest` or `latest-N` per indicator over the whole coverage table,
ordered by slug, then period. `Area.series` (harmonised and converted values, indicators/harmonise.py)
and `Indicator.source`/`periods` are not declared: a document with them goes to graphql-core."""

from __future__ import annotations

from levelup_api.core.graphql_sql import (
    BOOLEAN,
    DATE,
    FLOAT,
    INT,
    JSON,
    STATEMENT_FINISHERS,
    STRING,
    BindContext,
    Bound,
    Enum,
    Inline,
    NotCompilable,
    ObjectSQL,
    Rows,
    Scalar,
    global_id,
    params_bound,
)

from .current import current_in
from .filters import AreaObservationsParams
from .models import Indicator, Period, Status
from .selectors import LATEST, MAX_LATEST_BACK, YEAR

# Current values are named by their releases' ids, written into each statement as it runs.
if current_in not in STATEMENT_FINISHERS:
    STATEMENT_FINISHERS.append(current_in)


def _observations(arguments: dict, context: BindContext) -> Bound:
    cleaned = params_bound(AreaObservationsParams, arguments).cleaned
    slugs, tokens = cleaned["indicator"], cleaned["period"]
    if not slugs:  # observation_filter without indicators reads every indicator: graphql-core's
        raise NotCompilable("no indicator")
    # _resolve_periods, its parsing half: latest-N per indicator, the rest ISO, label or year
    backs, fixed = [], []
    for token in tokens:
        m = LATEST.match(token.lower())
        if m is None:
            fixed.append(token)
            continue
        back = int(m.group(1) or 0)
        if back > MAX_LATEST_BACK:
            raise NotCompilable("latest-N too far back")  # graphql-core's error, with its message
        backs.append(back)
    years = [int(t) for t in fixed if YEAR.match(t)]
    if 0 in years:  # Django's start__year cannot make a date in year 0: graphql-core's error
        raise NotCompilable("year 0")
    variant = ("all",) if not tokens else (bool(backs), bool(fixed))
    distinct = sorted(set(slugs))
    return Bound(variant, {"slugs": distinct, "n": len(distinct), "backs": backs, "fixed": fixed, "years": years})


_INDICATOR_IDS = "SELECT i.id FROM indicators_indicator i WHERE i.slug = ANY({slugs}::text[])"
# As an array computed once (an InitPlan): a filter on each row, not a join.
_INDICATORS = f"ANY(ARRAY({_INDICATOR_IDS}))"
# _latest_candidates without areas: per indicator, the coverage table's periods newest first (end,
# then start, then id), each once; latest-N is the (N+1)th.
_LATEST = ("({row}.indicator_id, {row}.period_id) IN (SELECT x.indicator_id, x.period_id FROM ("
           "SELECT d.indicator_id, d.period_id, row_number() OVER (PARTITION BY d.indicator_id "
           "ORDER BY d.period_end DESC, d.period_start DESC, d.period_id DESC) - 1 AS back FROM ("
           "SELECT DISTINCT c.indicator_id, c.period_id, p.\"end\" AS period_end, p.start AS period_start "
           "FROM indicators_coverage c JOIN indicators_period p ON p.id = c.period_id "
           f"WHERE c.indicator_id = {_INDICATORS}) d) x WHERE x.back = ANY({{backs}}::int[]))")
_FIXED_MATCH = ("p.iso = ANY({fixed}::text[]) OR p.label = ANY({fixed}::text[]) "
                "OR extract(year FROM p.start)::int = ANY({years}::int[])")
_FIXED = f"{{row}}.period_id IN (SELECT p.id FROM indicators_period p WHERE {_FIXED_MATCH})"


def _observations_source(variant: tuple) -> str:
    periods = {("all",): "", (True, False): f" AND {_LATEST}", (False, True): f" AND {_FIXED}",
               (True, True): f" AND ({_LATEST} OR {_FIXED})"}[variant]
    return ("indicators_observation {row} {joins} WHERE {row}.area_id = {parent}.id AND CURRENT_RELEASE({row}) "
            f"AND {{row}}.indicator_id = {_INDICATORS}{periods}")


def _observations_check(variant: tuple) -> str:
    # observation_filter's errors: an unknown slug; fixed periods of which none exists
    known = f"(SELECT count(*) FROM ({_INDICATOR_IDS}) known) = {{n}}::int8"
    if variant != ("all",) and variant[1]:
        known += f" AND EXISTS (SELECT FROM indicators_period p WHERE {_FIXED_MATCH})"
    return known


INDICATOR_SQL = [
    ObjectSQL("Area", {
        "observations": Rows(_observations_source, bind=_observations, check=_observations_check,
                             order="{indicator}.slug, {period}.start, {period}.\"end\", {row}.period_id"),
    }),
    ObjectSQL("Observation", joins={
        "indicator": "JOIN indicators_indicator {alias} ON {alias}.id = {row}.indicator_id",
        "period": "JOIN indicators_period {alias} ON {alias}.id = {row}.period_id",
        "area": "JOIN geographies_area {alias} ON {alias}.id = {row}.area_id",
    }, fields={
        "id": global_id("Observation"),
        "value": Scalar("{row}.value", FLOAT),
        "lci": Scalar("{row}.lci", FLOAT),
        "uci": Scalar("{row}.uci", FLOAT),
        "status": Enum("{row}.status", tuple(Status.values)),
        "note": Scalar("{row}.note", STRING),
        "areaCode": Scalar("{area}.code", STRING),
        "areaName": Scalar("{area}.name", STRING),
        "indicatorSlug": Scalar("{indicator}.slug", STRING),
        "indicator": Inline("indicator"),
        "period": Inline("period"),
        "area": Inline("area"),
    }),
    ObjectSQL("Period", {
        "iso": Scalar("{row}.iso", STRING),
        "label": Scalar("{row}.label", STRING),
        "type": Enum("{row}.type", tuple(Period.Type.values)),
        "start": Scalar("{row}.start", DATE),
        "end": Scalar("{row}.\"end\"", DATE),
        "duration": Scalar("{row}.duration", STRING),
    }),
    ObjectSQL("Indicator", joins={"dataset": "JOIN indicators_dataset {alias} ON {alias}.id = {row}.dataset_id"}, fields={
        "slug": Scalar("{row}.slug", STRING),
        "title": Scalar("{row}.title", STRING),
        "subtitle": Scalar("{row}.subtitle", STRING),
        "description": Scalar("{row}.description", STRING),
        "caveats": Scalar("{row}.caveats", STRING),
        "unit": Scalar("{row}.unit", STRING),
        "unitSymbol": Scalar("{row}.unit_symbol", STRING),
        "decimalPlaces": Scalar("{row}.decimal_places", INT),
        "measure": Enum("{row}.measure", tuple(Indicator.Measure.values)),
        "polarity": Enum("{row}.polarity", tuple(Indicator.Polarity.values)),
        "aggregation": Enum("{row}.aggregation", tuple(Indicator.Aggregation.values)),
        "topics": Scalar("array_to_json({row}.topics)::text", JSON),
        "capitals": Scalar("array_to_json({row}.capitals)::text", JSON),
        "experimental": Scalar("{row}.experimental", BOOLEAN),
        "licence": Scalar("{dataset}.licence", STRING),
    }),
]

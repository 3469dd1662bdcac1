"""Reads: an indicator aggregated from small areas to larger ones along the hierarchy, by its
aggregation rule, in one set-based SQL statement. Shared by REST (`/indicators/{slug}/aggregate/`)
and GraphQL (`aggregate`), so both return the same numbers."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef
from psycopg import sql

from geographies.models import Area, AreaAncestor, AreaType, CustomArea, Vintage
from levelup_api.core.replicas import read_connection

from .models import Coverage, Indicator, Observation, Period
from .selectors import ObservationQueryError

M = Indicator.Measure
A = Indicator.Aggregation
# Which rules make sense for which kinds of number. A rank or a median of small areas says
# nothing about the larger area's rank or median, so nothing aggregates them.
METHOD_MEASURES: dict[str, set[str]] = {
    A.SUM: {M.COUNT, M.CURRENCY},
    A.WEIGHTED_MEAN: {M.RATE, M.PERCENTAGE, M.MEAN, M.SCORE, M.RATIO, M.CURRENCY},
    A.RATIO_OF_SUMS: {M.RATE, M.PERCENTAGE, M.RATIO},
    A.SHARE_IN_CATEGORY: {M.DECILE},
}
WHY_NOT = {
    M.RANK: "a rank places an area among all areas of its type; the ranks of small areas cannot be summed "
            "or averaged into the rank of a larger one",
    M.MEDIAN: "the median of a larger area cannot be computed from the medians of its parts",
    M.DECILE: "deciles are categories: aggregate them as the share of child areas in a decile "
              "(share_in_category), not by adding or averaging them",
}
# Below this share of the inputs a derived value is withheld (null, with the reason). Sums need
# every child: a total with a missing part is simply wrong.
DEFAULT_MIN_COVERAGE = {A.SUM: 1.0, A.RATIO_OF_SUMS: 1.0, A.WEIGHTED_MEAN: 0.9, A.SHARE_IN_CATEGORY: 0.9}
LATEST = re.compile(r"^latest(?:-(\d+))?$")
COLUMNS = ["area_code", "area_name", "indicator", "period", "period_iso", "value", "method", "weight_indicator",
           "weight_period", "children_used", "children_expected", "coverage", "flag", "reason"]


@dataclass
class Aggregate:
    indicator: Indicator
    method: str
    from_vintage: Vintage
    to_vintage: Vintage
    periods: list[Period]
    min_coverage: float
    weight: Indicator | None = None
    weight_period: Period | None = None
    category_values: list[float] = field(default_factory=list)
    rows: list[dict] = field(default_factory=list)

    def meta(self) -> dict:
        return {
            "indicator": self.indicator.slug, "method": self.method,
            "from_vintage": self.from_vintage.code, "to_vintage": self.to_vintage.code,
            "periods": [p.iso for p in self.periods],
            "weight": ({"indicator": self.weight.slug, "period": self.weight_period.iso}
                       if self.weight is not None else None),
            "category_values": self.category_values or None, "min_coverage": self.min_coverage,
        }


def aggregate_indicator(*, slug: str) -> Indicator | None:
    return Indicator.objects.select_related("weight_indicator").filter(slug=slug).first()


def _vintage(area_type: AreaType | None, vintage: Vintage | None, side: str, candidates) -> Vintage:
    """The vintage asked for, or the newest vintage of the type among `candidates` (a queryset of
    the vintages that make sense on this side)."""
    if vintage is not None:
        if area_type is not None and vintage.area_type_id != area_type.id:
            raise ObservationQueryError(f"{side}_vintage", f"{vintage.code} is a {vintage.area_type.code} vintage, "
                                                           f"not {area_type.code}")
        return vintage
    if area_type is None:
        raise ObservationQueryError(f"{side}_type", f"give {side}_type or {side}_vintage")
    newest = candidates.filter(area_type=area_type).select_related("area_type").order_by("-effective_from").first()
    if newest is None:
        raise ObservationQueryError(f"{side}_type", f"no vintage of {area_type.code} fits: name one with {side}_vintage")
    return newest


def _periods(indicator: Indicator, tokens: list[str], area_type: AreaType, parameter: str) -> list[Period]:
    """Period tokens (ISO, label, year, latest, latest-N) among the periods that have values for
    areas of the children's type."""
    covered = list(Period.objects.filter(id__in=Coverage.objects.filter(indicator=indicator, area_type=area_type)
                                         .values("period_id")).order_by("-end", "-start"))
    if not covered:
        raise ObservationQueryError("from_type", f"{indicator.slug} has no values for {area_type.code} areas")
    out: list[Period] = []
    for token in tokens or ["latest"]:
        m = LATEST.match(token.lower())
        if m:
            back = int(m.group(1) or 0)
            found = covered[back:back + 1]
        else:
            found = [p for p in covered if token in (p.iso, p.label) or (token.isdigit() and p.start.year == int(token))]
        if not found:
            listed = ", ".join(p.iso for p in covered)
            raise ObservationQueryError(parameter, f"no period {token!r} with {area_type.code} values for "
                                                   f"{indicator.slug}; these have: {listed}")
        out += [p for p in found if p not in out]
    return out


def _method(indicator: Indicator, method: str | None) -> str:
    if indicator.aggregation == A.NOT_AGGREGATABLE:
        why = WHY_NOT.get(indicator.measure, f"its values ({indicator.get_measure_display()}) do not combine")
        raise ObservationQueryError("method" if method else "indicator",
                                    f"{indicator.slug} is marked not aggregatable: {why}")
    method = method or indicator.aggregation
    if indicator.measure not in METHOD_MEASURES.get(method, set()):
        why = WHY_NOT.get(indicator.measure, f"{method} does not apply to a {indicator.get_measure_display().lower()}")
        raise ObservationQueryError("method", f"cannot aggregate {indicator.slug} with {method}: {why}")
    return method


def _configure(result: Aggregate, *, weight: Indicator | None, weight_period: str | None) -> Aggregate:
    """Weights, categories and inputs the method needs, checked before any arithmetic."""
    indicator, method, source = result.indicator, result.method, result.from_vintage
    if method == A.WEIGHTED_MEAN:
        result.weight = weight or indicator.weight_indicator
        if result.weight is None:
            raise ObservationQueryError("weight", f"{indicator.slug} has no weight indicator: name one, "
                                                  "e.g. weight=population-census-2021")
        result.weight_period = _periods(result.weight, [weight_period] if weight_period else [],
                                        source.area_type, "weight_period")[0]
    elif weight is not None:
        raise ObservationQueryError("weight", f"{method} takes no weight")
    if method == A.RATIO_OF_SUMS and not Observation.objects.filter(
            indicator=indicator, period__in=result.periods, numerator__isnull=False).exists():
        raise ObservationQueryError("method", f"{indicator.slug} has no numerators and denominators loaded for "
                                              "these periods, so a ratio of sums cannot be formed")
    if method == A.SHARE_IN_CATEGORY:
        result.category_values = list(indicator.category_values)
        if not result.category_values:
            raise ObservationQueryError("method", f"{indicator.slug} names no category values to count")
    return result


def aggregate_get(
    *, indicator: Indicator, from_type: AreaType | None = None, from_vintage: Vintage | None = None,
    to_type: AreaType | None = None, to_vintage: Vintage | None = None, periods: list[str] = (),
    method: str | None = None, weight: Indicator | None = None, weight_period: str | None = None,
    parent: Area | None = None, min_coverage: float | None = None,
) -> Aggregate:
    """`indicator` on `from_vintage` areas, aggregated to the `to_vintage` areas they lie in."""
    method = _method(indicator, method)
    # A type alone means the newest vintage holding the indicator's values (children) or linked
    # to the children's vintage in the hierarchy (results).
    source = _vintage(from_type, from_vintage, "from", Vintage.objects.filter(Exists(
        Observation.objects.filter(indicator=indicator, is_current=True, area__memberships__vintage=OuterRef("pk")))))
    target = _vintage(to_type, to_vintage, "to", Vintage.objects.filter(
        id__in=AreaAncestor.objects.filter(descendant_vintage=source).values("ancestor_vintage")))
    if not AreaAncestor.objects.filter(descendant_vintage=source, ancestor_vintage=target).exists():
        raise ObservationQueryError("to_vintage", f"{source.code} areas are not linked to {target.code} areas "
                                                  "in the hierarchy")
    result = _configure(Aggregate(
        indicator=indicator, method=method, from_vintage=source, to_vintage=target,
        periods=_periods(indicator, list(periods), source.area_type, "period"),
        min_coverage=DEFAULT_MIN_COVERAGE[method] if min_coverage is None else min_coverage,
    ), weight=weight, weight_period=weight_period)
    result.rows = _rows(result, parent)
    return result


def custom_area_aggregate(
    *, custom_area: CustomArea, indicator: Indicator, periods: list[str] = (), method: str | None = None,
    weight: Indicator | None = None, weight_period: str | None = None, min_coverage: float | None = None,
) -> Aggregate:
    """`indicator` for a custom area, from its small areas and their weights, by the same rules."""
    method = _method(indicator, method)
    source = custom_area.vintage
    result = _configure(Aggregate(
        indicator=indicator, method=method, from_vintage=source, to_vintage=source,
        periods=_periods(indicator, list(periods), source.area_type, "period"),
        min_coverage=DEFAULT_MIN_COVERAGE[method] if min_coverage is None else min_coverage,
    ), weight=weight, weight_period=weight_period)
    kids = sql.SQL("SELECT 0 AS target_id, m.area_id AS child_id, m.weight AS w FROM geographies_customareamember m "
                   "WHERE m.custom_area_id = {}").format(sql.Literal(str(custom_area.id)))
    result.rows = _row_dicts(result, _aggregate(result, kids), {0: (str(custom_area.id), custom_area.name)},
                             flag="aggregated")
    return result


# The value and the coverage per method, over children `k` (with their share `k.w`: 1 along the
# hierarchy, the share inside the polygon for an overlap custom area), values `v` and weights `w`.
_EXPRESSIONS = {
    A.SUM: ("sum(v.value * k.w)", "coalesce(sum(k.w) FILTER (WHERE v.value IS NOT NULL), 0) / sum(k.w)"),
    A.SHARE_IN_CATEGORY: ("coalesce(sum(k.w) FILTER (WHERE v.value = ANY({cats})), 0) "
                          "/ nullif(sum(k.w) FILTER (WHERE v.value IS NOT NULL), 0)",
                          "coalesce(sum(k.w) FILTER (WHERE v.value IS NOT NULL), 0) / sum(k.w)"),
    A.WEIGHTED_MEAN: ("sum(v.value * w.weight * k.w) FILTER (WHERE v.value IS NOT NULL) "
                      "/ nullif(sum(w.weight * k.w) FILTER (WHERE v.value IS NOT NULL), 0)",
                      "coalesce(sum(w.weight * k.w) FILTER (WHERE v.value IS NOT NULL), 0) / nullif(sum(w.weight * k.w), 0)"),
    A.RATIO_OF_SUMS: ("sum(v.numerator * k.w) FILTER (WHERE v.denominator IS NOT NULL) "
                      "/ nullif(sum(v.denominator * k.w) FILTER (WHERE v.numerator IS NOT NULL), 0)",
                      "coalesce(sum(k.w) FILTER (WHERE v.numerator IS NOT NULL AND v.denominator IS NOT NULL), 0) "
                      "/ sum(k.w)"),
}


def _hierarchy_kids(agg: Aggregate, parent: Area | None) -> sql.Composable:
    within = sql.SQL("")
    if parent is not None:
        within = sql.SQL("AND (k.ancestor_id = {p} OR k.ancestor_id IN (SELECT descendant_id FROM geographies_areaancestor "
                         "WHERE ancestor_id = {p} AND descendant_vintage_id = {tv}))").format(
                             p=sql.Literal(parent.id), tv=sql.Literal(agg.to_vintage.id))
    return sql.SQL("SELECT k.ancestor_id AS target_id, k.descendant_id AS child_id, 1.0::float8 AS w "
                   "FROM geographies_areaancestor k WHERE k.descendant_vintage_id = {fv} AND k.ancestor_vintage_id = {tv} "
                   "{within}").format(fv=sql.Literal(agg.from_vintage.id), tv=sql.Literal(agg.to_vintage.id),
                                      within=within)


def _rows(agg: Aggregate, parent: Area | None) -> list[dict]:
    fetched = _aggregate(agg, _hierarchy_kids(agg, parent))
    names = {i: (c, n) for i, c, n in Area.objects.filter(id__in={r[0] for r in fetched}).values_list("id", "code", "name")}
    return _row_dicts(agg, fetched, names, flag="aggregated")


def _aggregate(agg: Aggregate, kids: sql.Composable) -> list[tuple]:
    """(target, period, value, children used, children expected, coverage, children without weight)."""
    value, known = _EXPRESSIONS[agg.method]
    used = ("count(*) FILTER (WHERE v.numerator IS NOT NULL AND v.denominator IS NOT NULL)"
            if agg.method == A.RATIO_OF_SUMS else "count(v.value)")
    weighted = agg.method == A.WEIGHTED_MEAN
    # v and w are MATERIALIZED: inlined, the planner (estimating a few dozen rows for one
    # indicator and period) joined them to every child by nested loop: 12 s instead of 0.1 s.
    query = sql.SQL("""
        WITH kids AS ({kids}), v AS MATERIALIZED (
            SELECT o.area_id, o.period_id, o.value, o.numerator, o.denominator FROM indicators_observation o
            WHERE o.indicator_id = {ind} AND o.period_id = ANY({periods}) AND o.is_current
        ), w AS MATERIALIZED (
            SELECT o.area_id, o.value AS weight FROM indicators_observation o
            WHERE o.indicator_id = {wind} AND o.period_id = {wper} AND o.is_current
        )
        SELECT k.target_id, p.period_id, {value} AS value, {used} AS used, count(*) AS expected,
               {known} AS coverage, {missing_weights} AS weights_missing
        FROM kids k CROSS JOIN unnest({periods}) p(period_id)
        LEFT JOIN v ON v.area_id = k.child_id AND v.period_id = p.period_id
        {join_w}
        GROUP BY k.target_id, p.period_id
    """).format(
        kids=kids, ind=sql.Literal(agg.indicator.id), periods=sql.Literal([p.id for p in agg.periods]),
        wind=sql.Literal(agg.weight.id if weighted else None), wper=sql.Literal(agg.weight_period.id if weighted else None),
        used=sql.SQL(used), value=sql.SQL(value).format(cats=sql.Literal([float(c) for c in agg.category_values])),
        known=sql.SQL(known),
        missing_weights=sql.SQL("count(*) FILTER (WHERE w.weight IS NULL)" if weighted else "0"),
        join_w=sql.SQL("LEFT JOIN w ON w.area_id = k.child_id" if weighted else ""),
    )
    with read_connection().cursor() as cursor:
        cursor.execute(query.as_string(cursor.cursor))
        return cursor.fetchall()


def _row_dicts(agg: Aggregate, fetched: list[tuple], names: dict, *, flag: str) -> list[dict]:
    by_id = {p.id: p for p in agg.periods}
    rows = []
    for target, period_id, value, used, expected, coverage, weights_missing in fetched:
        period = by_id[period_id]
        code, name = names[target]
        reason = None
        if weights_missing:
            reason = f"{weights_missing} of {expected} child areas have no {agg.weight.slug} weight for {agg.weight_period.iso}"
        elif used == 0:
            reason = f"none of the {expected} child areas has a value"
        elif coverage is None or coverage < agg.min_coverage:
            reason = (f"{used} of {expected} child areas have values (coverage {coverage or 0:.3f}, "
                      f"below {agg.min_coverage:g})")
        rows.append({
            "area_code": code, "area_name": name, "indicator": agg.indicator.slug, "period": period.label,
            "period_iso": period.iso, "value": None if reason else value, "method": agg.method,
            "weight_indicator": agg.weight.slug if agg.weight else None,
            "weight_period": agg.weight_period.iso if agg.weight_period else None,
            "children_used": used, "children_expected": expected,
            "coverage": None if coverage is None else round(coverage, 6), "flag": flag, "reason": reason,
        })
    rows.sort(key=lambda r: (r["area_code"], r["period_iso"]))
    return rows

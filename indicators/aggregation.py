"""Reads: an indicator aggregated from small areas to larger ones, by its aggregation rule or by one
of MHCLG's deprivation summary measures (average rank, average score, extent, local concentration,
scale), in one set-based SQL statement. Children reach their result areas along the hierarchy or,
where it has no link, through boundaries. Shared by REST (`/indicators/{slug}/aggregate/`,
`/custom-areas/{id}/observations/`) and GraphQL (`aggregate`, `customArea`), so both return the
same numbers."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.conf import settings
from django.db import models
from django.db.models import Count, Exists, OuterRef, Q
from django.db.models.functions import Length
from psycopg import sql

from geographies.models import Area, AreaAncestor, AreaType, Boundary, CustomArea, Vintage
from levelup_api.core.caching import data_version
from levelup_api.core.replicas import read_connection

from .current import current_in, current_release_ids
from .models import Coverage, Indicator, Observation, Period
from .precision import derived_places, derived_round
from .selectors import ObservationQueryError

M = Indicator.Measure
A = Indicator.Aggregation


class Summary(models.TextChoices):
    """MHCLG's summary measures of small-area deprivation (IoD technical report, appendix N)."""

    AVERAGE_RANK = "average_rank", "Average rank: population-weighted mean of the national ranks, reversed"
    AVERAGE_SCORE = "average_score", "Average score: population-weighted mean of the scores"
    EXTENT = "extent", "Extent: share of the population in the most deprived 30%, on a sliding weight"
    LOCAL_CONCENTRATION = "local_concentration", ("Local concentration: average reversed rank of the most "
                                                  "deprived small areas holding 10% of the population")
    SCALE = "scale", "Scale: the number of people deprived (the sum of the numerators)"


S = Summary
# Every method `method=` accepts: the indicators' own rules and the summaries (filters.method_param).
METHOD_CHOICES = [(c, label) for c, label in A.choices if c != A.NOT_AGGREGATABLE] + list(S.choices)

# Which rules make sense for which kinds of number. A rank or a median of small areas says
# nothing about the larger area's rank or median, so no rule adds or averages them as they are;
# MHCLG's summaries of ranks reverse them first and say so in their name.
METHOD_MEASURES: dict[str, set[str]] = {
    A.SUM: {M.COUNT, M.CURRENCY},
    A.WEIGHTED_MEAN: {M.RATE, M.PERCENTAGE, M.MEAN, M.SCORE, M.RATIO, M.CURRENCY},
    A.RATIO_OF_SUMS: {M.RATE, M.PERCENTAGE, M.RATIO},
    A.SHARE_IN_CATEGORY: {M.DECILE},
    S.AVERAGE_RANK: {M.RANK},
    S.AVERAGE_SCORE: {M.SCORE},
    S.EXTENT: {M.RANK},
    S.LOCAL_CONCENTRATION: {M.RANK},
    S.SCALE: {M.RATE, M.PERCENTAGE, M.SCORE, M.RATIO},
}
# Population-weighted methods; summaries of national ranks; methods that add numerators.
WEIGHTED = {A.WEIGHTED_MEAN, S.AVERAGE_RANK, S.AVERAGE_SCORE, S.EXTENT, S.LOCAL_CONCENTRATION}
ON_RANKS = {S.AVERAGE_RANK, S.EXTENT, S.LOCAL_CONCENTRATION}
ON_NUMERATORS = {A.RATIO_OF_SUMS, S.SCALE}
# Methods whose values are ranked among the result areas, MHCLG's way: 1 = the highest value (the
# most deprived), ties sharing the better rank.
RANKED = {A.SHARE_IN_CATEGORY, *S.values}
RANK_SUMMARIES = ("its summaries are method=average_rank (MHCLG's population-weighted average of the ranks, "
                  "reversed so that a higher average is more deprived), extent and local_concentration")
WHY_NOT = {
    M.RANK: "a rank places an area among all areas of its type; the ranks of small areas cannot be summed "
            "or averaged into the rank of a larger one",
    M.MEDIAN: "the median of a larger area cannot be computed from the medians of its parts",
    M.DECILE: "deciles are categories: aggregate them as the share of child areas in a decile "
              "(share_in_category), not by adding or averaging them",
}
NEEDS = {
    S.AVERAGE_RANK: ("it averages the national ranks of small areas (1 = most deprived), so it needs a rank "
                     "indicator", "-rank"),
    S.EXTENT: ("it weights people by their small area's national percentile of deprivation, read from the "
               "ranks, so it needs a rank indicator", "-rank"),
    S.LOCAL_CONCENTRATION: ("it averages the ranks of the most deprived small areas, so it needs a rank "
                            "indicator", "-rank"),
    S.AVERAGE_SCORE: ("it averages scores, so it needs a score indicator", "-score"),
    S.SCALE: ("it adds up the counts of people behind the small areas' rates (their numerators), so it needs "
              "a rate, percentage, score or ratio", None),
}
# Below this share of the inputs a derived value is withheld (null, with the reason). Sums need
# every child: a total with a missing part is simply wrong.
DEFAULT_MIN_COVERAGE = {A.SUM: 1.0, A.RATIO_OF_SUMS: 1.0, A.WEIGHTED_MEAN: 0.9, A.SHARE_IN_CATEGORY: 0.9,
                        S.AVERAGE_RANK: 0.9, S.AVERAGE_SCORE: 0.9, S.EXTENT: 0.9, S.LOCAL_CONCENTRATION: 0.9,
                        S.SCALE: 1.0}
# The published figure for a result area, when it is another indicator than the one aggregated
# (the publisher's own district file): (indicator, method) -> the indicator holding it. The same
# indicator's own value for the result area, where there is one, comes first.
PUBLISHED_AS = {
    ("population-census-2021", A.SUM): "population-census-2021-ltla",
    ("iod2025-imd-score", A.WEIGHTED_MEAN): "iod2025-imd-lad-average-score",
    ("iod2025-imd-score", S.AVERAGE_SCORE): "iod2025-imd-lad-average-score",
    ("iod2025-imd-decile", A.SHARE_IN_CATEGORY): "iod2025-imd-lad-share-decile-1",
    ("iod2025-imd-rank", S.AVERAGE_RANK): "iod2025-imd-lad-average-rank",
    ("iod2025-imd-rank", S.EXTENT): "iod2025-imd-lad-extent",
    ("iod2025-imd-rank", S.LOCAL_CONCENTRATION): "iod2025-imd-lad-local-concentration",
}
# Extent (appendix N): people in the most deprived 10% of small areas count fully; from the 11th
# to the 30th percentile the weight falls from 0.95 by 0.9/19 a percentile to 0.05; beyond, 0.
EXTENT_WEIGHT = ("CASE WHEN pct <= 10 THEN 1.0 WHEN pct <= 30 THEN 0.95 - 0.9 / 19 * (pct - 11) "
                 "ELSE 0.0 END")
# Local concentration: the most deprived small areas holding this share of the area's population.
LOCAL_SHARE = 0.1
LATEST = re.compile(r"^latest(?:-(\d+))?$")
COLUMNS = ["area_code", "area_name", "indicator", "period", "period_iso", "value", "method", "weight_indicator",
           "weight_period", "children_used", "children_expected", "coverage", "flag", "reason", "rank", "rank_of",
           "published_value", "published_indicator"]


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
    # The vintage whose boundaries fit the children to the result areas, where the hierarchy has
    # no link between them (LSOA21 -> LAD24 -> CAUTH24); None along the hierarchy.
    via: Vintage | None = None
    rows: list[dict] = field(default_factory=list)

    @property
    def ranked(self) -> bool:
        return self.method in RANKED

    @property
    def rank_descending(self) -> bool:
        # Rank 1 is the most deprived: the highest value, unless a higher score is better.
        return not (self.method == S.AVERAGE_SCORE and self.indicator.polarity == Indicator.Polarity.HIGHER_IS_BETTER)

    def meta(self) -> dict:
        return {
            "indicator": self.indicator.slug, "method": self.method,
            "from_vintage": self.from_vintage.code, "to_vintage": self.to_vintage.code,
            "via": self.via.code if self.via is not None else None,
            "periods": [p.iso for p in self.periods],
            "weight": ({"indicator": self.weight.slug, "period": self.weight_period.iso}
                       if self.weight is not None else None),
            "category_values": self.category_values or None, "min_coverage": self.min_coverage,
            "rank_order": (None if not self.ranked else "1 = highest value" if self.rank_descending
                           else "1 = lowest value"),
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


def _sibling(indicator: Indicator, suffix: str | None) -> str:
    """' (e.g. iod2025-imd-rank)': the indicator of the same family with the measure a method needs."""
    if suffix is None:
        return ""
    stem = re.sub(r"-(score|rank|decile)$", "", indicator.slug)
    found = Indicator.objects.filter(slug=stem + suffix).values_list("slug", flat=True).first()
    return f" (e.g. {found})" if found and found != indicator.slug else ""


def aggregation_method(indicator: Indicator, method: str | None) -> str:
    """The method an aggregation of `indicator` applies (`method`, else the indicator's own rule),
    or an ObservationQueryError naming `method` when it cannot apply (the aggregate endpoint's 400,
    and its CSVW metadata's)."""
    asked = method
    method = method or indicator.aggregation
    # Ranks are marked not aggregatable because no rule combines them as they are; the summaries
    # of ranks are defined on them.
    summary_of_ranks = method in ON_RANKS and indicator.measure == M.RANK
    if indicator.aggregation == A.NOT_AGGREGATABLE and not summary_of_ranks:
        why = WHY_NOT.get(indicator.measure, f"its values ({indicator.get_measure_display()}) do not combine")
        if indicator.measure == M.RANK:
            why += f"; {RANK_SUMMARIES}"
        raise ObservationQueryError("method" if asked else "indicator",
                                    f"{indicator.slug} is marked not aggregatable: {why}")
    if indicator.measure not in METHOD_MEASURES.get(method, set()):
        if method in NEEDS:
            need, suffix = NEEDS[method]
            why = f"{need}, not a {indicator.get_measure_display().lower()}{_sibling(indicator, suffix)}"
        else:
            why = WHY_NOT.get(indicator.measure,
                              f"{method} does not apply to a {indicator.get_measure_display().lower()}")
        raise ObservationQueryError("method", f"cannot aggregate {indicator.slug} with {method}: {why}")
    return method


def _dataset_weight(indicator: Indicator) -> Indicator | None:
    """The weight the indicator's dataset uses for its weighted means, when it uses exactly one
    (IoD 2025 ranks: the Census 2021 populations its scores are averaged by)."""
    found = list(Indicator.objects.filter(pk__in=Indicator.objects.filter(
        dataset_id=indicator.dataset_id, weight_indicator__isnull=False).values("weight_indicator"))[:2])
    return found[0] if len(found) == 1 else None


def _populations(vintage: Vintage) -> str:
    """Population counts to suggest as a weight: those with values for most of the child areas
    (totals before age groups). Only on the way to a 400."""
    slugs = (Observation.objects.filter(indicator__measure=M.COUNT, indicator__slug__startswith="population",
                                        release_id__in=current_release_ids(), area__memberships__vintage=vintage)
             .values("indicator__slug").annotate(n=Count("area_id", distinct=True))
             .order_by("-n", Length("indicator__slug"), "indicator__slug").values_list("indicator__slug", flat=True))
    return ", ".join(f"weight={s}" for s in list(slugs[:3])) or "weight=<a population count>"


def _configure(result: Aggregate, *, weight: Indicator | None, weight_period: str | None) -> Aggregate:
    """Weights, categories and inputs the method needs, checked before any arithmetic."""
    indicator, method, source = result.indicator, result.method, result.from_vintage
    if method in WEIGHTED:
        result.weight = weight or indicator.weight_indicator
        if result.weight is None and method in S.values:
            result.weight = _dataset_weight(indicator)
        if result.weight is None:
            example = _populations(source) if method in S.values else "weight=population-census-2021"
            raise ObservationQueryError("weight", f"{indicator.slug} has no weight indicator: name one, e.g. {example}")
        if method in S.values and result.weight.measure != M.COUNT:
            raise ObservationQueryError("weight", f"{method} weights small areas by their populations: "
                                                  f"{result.weight.slug} is a {result.weight.get_measure_display().lower()}, "
                                                  "not a count")
        result.weight_period = _periods(result.weight, [weight_period] if weight_period else [],
                                        source.area_type, "weight_period")[0]
    elif weight is not None:
        raise ObservationQueryError("weight", f"{method} takes no weight")
    if method in ON_NUMERATORS and not Observation.objects.filter(
            indicator=indicator, period__in=result.periods, numerator__isnull=False).exists():
        formed = "a ratio of sums" if method == A.RATIO_OF_SUMS else "the scale (the number of people deprived)"
        raise ObservationQueryError("method", f"{indicator.slug} has no numerators and denominators loaded for "
                                              f"these periods, so {formed} cannot be formed")
    if method == A.SHARE_IN_CATEGORY:
        result.category_values = list(indicator.category_values)
        if not result.category_values:
            raise ObservationQueryError("method", f"{indicator.slug} names no category values to count")
    return result


def _route(source: Vintage, target: Vintage) -> Vintage | None:
    """None along the hierarchy; otherwise the vintage whose areas' representative points, in the
    target's boundaries, assign the children: the source's own or one of its ancestors', no newer
    than the target and no larger in type. A target at or above districts is made of whole
    districts, so the newest district vintage that qualifies is used (LSOA21 -> LAD24 -> CAUTH24,
    LSOA11 -> LAD21 -> LAD23); below, the smallest."""
    if AreaAncestor.objects.filter(descendant_vintage=source, ancestor_vintage=target).exists():
        return None
    refusal = ObservationQueryError("to_vintage", f"{source.code} areas are not linked to {target.code} areas in the "
                                                  "hierarchy, and no boundaries fit them to it")
    if not Boundary.objects.filter(vintage=target).exists():
        raise refusal
    candidates = list(Vintage.objects.filter(
        Q(pk=source.pk) | Exists(AreaAncestor.objects.filter(descendant_vintage=source, ancestor_vintage=OuterRef("pk"))),
        Exists(Boundary.objects.filter(vintage=OuterRef("pk"))),
        effective_from__lte=target.effective_from, area_type__level__lte=target.area_type.level,
    ).exclude(pk=target.pk).select_related("area_type"))
    if not candidates:
        raise refusal
    districts = [v for v in candidates if v.area_type.code == "LAD"]
    if districts and target.area_type.level >= districts[0].area_type.level:
        return max(districts, key=lambda v: v.effective_from)
    return min(candidates, key=lambda v: (v.area_type.level, -v.effective_from.toordinal()))


def aggregate_get(
    *, indicator: Indicator, from_type: AreaType | None = None, from_vintage: Vintage | None = None,
    to_type: AreaType | None = None, to_vintage: Vintage | None = None, periods: list[str] = (),
    method: str | None = None, weight: Indicator | None = None, weight_period: str | None = None,
    parent: Area | None = None, min_coverage: float | None = None,
) -> Aggregate:
    """`indicator` on `from_vintage` areas, aggregated to the `to_vintage` areas they lie in."""
    method = aggregation_method(indicator, method)
    # A type alone means the newest vintage holding the indicator's values (children) or linked
    # to the children's vintage in the hierarchy (results).
    source = _vintage(from_type, from_vintage, "from", Vintage.objects.filter(Exists(
        Observation.objects.filter(indicator=indicator, release_id__in=current_release_ids([indicator.id]),
                                   area__memberships__vintage=OuterRef("pk")))))
    target = _vintage(to_type, to_vintage, "to", Vintage.objects.filter(
        id__in=AreaAncestor.objects.filter(descendant_vintage=source).values("ancestor_vintage")))
    via = _route(source, target)
    result = _configure(Aggregate(
        indicator=indicator, method=method, from_vintage=source, to_vintage=target, via=via,
        periods=_periods(indicator, list(periods), source.area_type, "period"),
        min_coverage=DEFAULT_MIN_COVERAGE[method] if min_coverage is None else min_coverage,
    ), weight=weight, weight_period=weight_period)
    result.rows = _rows(result, parent)
    return result


def custom_area_aggregate(
    *, custom_area: CustomArea, indicator: Indicator, periods: list[str] = (), method: str | None = None,
    weight: Indicator | None = None, weight_period: str | None = None, min_coverage: float | None = None,
) -> Aggregate:
    """`indicator` for a custom area, from its small areas and their weights, by the same rules
    (the summaries too; a custom area has no peers, so no rank)."""
    method = aggregation_method(indicator, method)
    source = custom_area.vintage
    result = _configure(Aggregate(
        indicator=indicator, method=method, from_vintage=source, to_vintage=source,
        periods=_periods(indicator, list(periods), source.area_type, "period"),
        min_coverage=DEFAULT_MIN_COVERAGE[method] if min_coverage is None else min_coverage,
    ), weight=weight, weight_period=weight_period)
    kids = sql.SQL("SELECT 0 AS target_id, m.area_id AS child_id, m.weight AS w FROM geographies_customareamember m "
                   "WHERE m.custom_area_id = {}").format(sql.Literal(str(custom_area.id)))
    fetched = _aggregate(result, kids, ranked=False, published=False)
    result.rows = _row_dicts(result, fetched, {0: (str(custom_area.id), custom_area.name)}, flag="aggregated")
    return result


# The value and the coverage per method, over one row per child and period (`c` in _aggregate):
# the child's share `kw` (1 along the hierarchy, the share inside the polygon for an overlap
# custom area), its value, numerator and denominator, its weighted population `pw` (weight x kw),
# and for summaries of ranks `n` (the national number of ranks), `pct` (its national percentile,
# 1 = most deprived) and `take` (how much of it lies in the area's most deprived tenth).
_HAS = "FILTER (WHERE value IS NOT NULL)"
_BY_COUNT = f"coalesce(sum(kw) {_HAS}, 0) / sum(kw)"
_BY_WEIGHT = f"coalesce(sum(pw) {_HAS}, 0) / nullif(sum(pw), 0)"
_MEAN = f"sum({{}}) {_HAS} / nullif(sum({{}}) {_HAS}, 0)"
# Per method, the SQL of the value and of its coverage over the child rows; missions.selectors'
# computed comparators use the same expressions, so their numbers are this endpoint's.
METHOD_EXPRESSIONS = {
    A.SUM: ("sum(value * kw)", _BY_COUNT),
    A.SHARE_IN_CATEGORY: (f"coalesce(sum(kw) FILTER (WHERE value = ANY({{cats}})), 0) / nullif(sum(kw) {_HAS}, 0)",
                          _BY_COUNT),
    A.WEIGHTED_MEAN: (_MEAN.format("value * pw", "pw"), _BY_WEIGHT),
    A.RATIO_OF_SUMS: ("sum(numerator * kw) FILTER (WHERE denominator IS NOT NULL) "
                      "/ nullif(sum(denominator * kw) FILTER (WHERE numerator IS NOT NULL), 0)",
                      "coalesce(sum(kw) FILTER (WHERE numerator IS NOT NULL AND denominator IS NOT NULL), 0) / sum(kw)"),
    # MHCLG reverses the ranks (the most deprived of N small areas counts N) before averaging.
    S.AVERAGE_RANK: (_MEAN.format("(n + 1 - value) * pw", "pw"), _BY_WEIGHT),
    S.AVERAGE_SCORE: (_MEAN.format("value * pw", "pw"), _BY_WEIGHT),
    S.EXTENT: (_MEAN.format(f"pw * {EXTENT_WEIGHT}", "pw"), _BY_WEIGHT),
    S.LOCAL_CONCENTRATION: (_MEAN.format("take * (n + 1 - value)", "take"), _BY_WEIGHT),
    S.SCALE: ("sum(numerator * kw) FILTER (WHERE numerator IS NOT NULL)",
              "coalesce(sum(kw) FILTER (WHERE numerator IS NOT NULL), 0) / sum(kw)"),
}
METHOD_USED = {
    A.RATIO_OF_SUMS: "count(*) FILTER (WHERE numerator IS NOT NULL AND denominator IS NOT NULL)",
    S.SCALE: "count(numerator)",
}


def _within(agg: Aggregate, parent: Area, column: str) -> sql.Composable:
    """`column` (a result area) is `parent` or lies below it in the result vintage."""
    return sql.SQL("({col} = {p} OR {col} IN (SELECT descendant_id FROM geographies_areaancestor "
                   "WHERE ancestor_id = {p} AND descendant_vintage_id = {tv}))").format(
                       col=sql.SQL(column), p=sql.Literal(parent.id), tv=sql.Literal(agg.to_vintage.id))


def _hierarchy_kids(agg: Aggregate, parent: Area | None) -> sql.Composable:
    within = sql.SQL("AND {}").format(_within(agg, parent, "k.ancestor_id")) if parent is not None else sql.SQL("")
    return sql.SQL("SELECT k.ancestor_id AS target_id, k.descendant_id AS child_id, 1.0::float8 AS w "
                   "FROM geographies_areaancestor k WHERE k.descendant_vintage_id = {fv} AND k.ancestor_vintage_id = {tv} "
                   "{within}").format(fv=sql.Literal(agg.from_vintage.id), tv=sql.Literal(agg.to_vintage.id),
                                      within=within)


def _boundary_kids(agg: Aggregate) -> sql.Composable:
    """Children assigned by the boundaries of `agg.via`: each via area goes to the result area
    whose boundary holds its representative point (ST_PointOnSurface; the subdivided pieces keep
    each test on a few small polygons), and takes its children from the hierarchy with it."""
    # An area held in both vintages (an unchanged district) is its own result: two editions of a
    # boundary need not agree to the metre, and Halton's point in LAD21 lies outside it in LAD24.
    fit = sql.SQL("""
        SELECT b.area_id AS via_id, CASE WHEN EXISTS (
            SELECT 1 FROM geographies_areamembership m WHERE m.area_id = b.area_id AND m.vintage_id = {tv})
        THEN b.area_id ELSE (
            SELECT p.area_id FROM geographies_boundarypiece p
            WHERE p.vintage_id = {tv} AND p.geom && pt.g AND ST_Intersects(p.geom, pt.g)
            ORDER BY p.area_id LIMIT 1) END AS target_id
        FROM geographies_boundary b CROSS JOIN LATERAL ST_PointOnSurface(b.geom) AS pt(g)
        WHERE b.vintage_id = {via}
    """).format(tv=sql.Literal(agg.to_vintage.id), via=sql.Literal(agg.via.id))
    # MATERIALIZED: inlined, the point-in-polygon subquery ran once per child instead of once per
    # via area (35,673 times for LSOA21 -> LAD24 -> CAUTH24: 6.1 s a request instead of 0.6 s).
    if agg.via.id == agg.from_vintage.id:
        return sql.SQL("WITH f AS MATERIALIZED ({fit}) SELECT f.target_id, f.via_id AS child_id, 1.0::float8 AS w "
                       "FROM f WHERE f.target_id IS NOT NULL").format(fit=fit)
    return sql.SQL("WITH f AS MATERIALIZED ({fit}) SELECT f.target_id, k.descendant_id AS child_id, 1.0::float8 AS w "
                   "FROM f JOIN geographies_areaancestor k ON k.ancestor_id = f.via_id AND k.descendant_vintage_id = {fv} "
                   "AND k.ancestor_vintage_id = {via} WHERE f.target_id IS NOT NULL").format(
                       fit=fit, fv=sql.Literal(agg.from_vintage.id), via=sql.Literal(agg.via.id))


def _rows(agg: Aggregate, parent: Area | None) -> list[dict]:
    # A rank is among all the result areas, so with ranks (or boundaries) `parent` filters the
    # results, not the children.
    inside = agg.via is None and not agg.ranked
    kids = _hierarchy_kids(agg, parent if inside else None) if agg.via is None else _boundary_kids(agg)
    within = _within(agg, parent, "r.target_id") if parent is not None and not inside else None
    fetched = _aggregate(agg, kids, ranked=agg.ranked, within=within, published=True)
    names = {i: (c, n) for i, c, n in Area.objects.filter(id__in={r[0] for r in fetched}).values_list("id", "code", "name")}
    return _row_dicts(agg, fetched, names, flag="aggregated")


def _aggregate(agg: Aggregate, kids: sql.Composable, *, ranked: bool, published: bool,
               within: sql.Composable | None = None) -> list[tuple]:
    """(target, period, value, children used, children expected, coverage, children without weight,
    rank, rank of, published value, published indicator id)."""
    method = agg.method
    value, known = METHOD_EXPRESSIONS[method]
    weighted, on_ranks = method in WEIGHTED, method in ON_RANKS
    # Per child: its population and, for summaries of ranks, its national standing. `take` is the
    # part of its population among the area's most deprived tenth: children in rank order, each
    # taking what is left of the tenth after those before it (the last one in part).
    columns = ["k.target_id", "p.period_id", "k.child_id", "k.w AS kw", "v.value", "v.numerator", "v.denominator",
               "w.weight * k.w AS pw" if weighted else "NULL::float8 AS pw"]
    if on_ranks:
        columns += ["nat.n", "nat.pct"]
    if method == S.LOCAL_CONCENTRATION:
        people = ("sum(CASE WHEN v.value IS NOT NULL THEN w.weight * k.w END) OVER (PARTITION BY k.target_id, "
                  "p.period_id{})")
        before = people.format(" ORDER BY v.value NULLS LAST, k.child_id ROWS BETWEEN UNBOUNDED PRECEDING "
                               "AND 1 PRECEDING")
        columns.append(f"greatest(0, least(w.weight * k.w, {LOCAL_SHARE} * {people.format('')} "
                       f"- coalesce({before}, 0))) AS take")
    # The national standing of every small area of the children's type: N ranks, and the
    # percentile of each, ceil(100 r / N) (1 = the most deprived 1%). MHCLG's File 10 extents for
    # 2019 are reproduced to 4 places by this, not by equal-sized percentile groups (ntile).
    nat = sql.SQL("""
        , nat AS MATERIALIZED (
            SELECT area_id, period_id, n, ceil(100 * value / n) AS pct FROM (
                SELECT v.area_id, v.period_id, v.value, max(v.value) OVER (PARTITION BY v.period_id) AS n
                FROM v JOIN geographies_area a ON a.id = v.area_id
                WHERE a.area_type_id = {t} AND v.value IS NOT NULL) ranked)
    """).format(t=sql.Literal(agg.from_vintage.area_type_id)) if on_ranks else sql.SQL("")
    rank, rank_of = sql.SQL("NULL::bigint"), sql.SQL("NULL::bigint")
    if ranked:
        order = sql.SQL("DESC" if agg.rank_descending else "ASC")
        rank = sql.SQL("CASE WHEN q.ok THEN rank() OVER (PARTITION BY q.period_id, q.ok ORDER BY q.value {}) END").format(order)
        rank_of = sql.SQL("CASE WHEN q.ok THEN count(*) OVER (PARTITION BY q.period_id, q.ok) END")
    counterpart = PUBLISHED_AS.get((agg.indicator.slug, method))
    ids = sql.SQL("ARRAY[{ind}, (SELECT id FROM indicators_indicator WHERE slug = {slug})]").format(
        ind=sql.Literal(agg.indicator.id), slug=sql.Literal(counterpart)) if counterpart else sql.SQL(
        "ARRAY[{}]").format(sql.Literal(agg.indicator.id))
    # The releases this statement reads: the indicator's, its weight's and its published counterpart's.
    reads = [agg.indicator.id, *([agg.weight.id] if weighted else []), *([counterpart] if counterpart else [])]
    pub = sql.SQL(current_in("""
        LEFT JOIN LATERAL (
            SELECT o.value, o.indicator_id FROM indicators_observation o
            WHERE o.area_id = r.target_id AND o.period_id = r.period_id AND CURRENT_RELEASE(o) AND o.indicator_id = ANY({ids})
            ORDER BY o.indicator_id = {ind} DESC LIMIT 1) pub ON true
    """, reads)).format(ids=ids, ind=sql.Literal(agg.indicator.id)) if published else sql.SQL(
        "LEFT JOIN (SELECT NULL::float8 AS value, NULL::int AS indicator_id) pub ON true")
    # v and w are MATERIALIZED: inlined, the planner (estimating a few dozen rows for one
    # indicator and period) joined them to every child by nested loop: 12 s instead of 0.1 s.
    query = sql.SQL(current_in("""
        WITH kids AS ({kids}), v AS MATERIALIZED (
            SELECT o.area_id, o.period_id, o.value, o.numerator, o.denominator FROM indicators_observation o
            WHERE o.indicator_id = {ind} AND o.period_id = ANY({periods}) AND CURRENT_RELEASE(o)
        ), w AS MATERIALIZED (
            SELECT o.area_id, o.value AS weight FROM indicators_observation o
            WHERE o.indicator_id = {wind} AND o.period_id = {wper} AND CURRENT_RELEASE(o)
        ){nat}, c AS (
            SELECT {columns}
            FROM kids k CROSS JOIN unnest({periods}) p(period_id)
            LEFT JOIN v ON v.area_id = k.child_id AND v.period_id = p.period_id
            {join_w} {join_nat}
        ), g AS (
            SELECT target_id, period_id, {value} AS value, {used} AS used, count(*) AS expected,
                   {known} AS coverage, {missing_weights} AS weights_missing
            FROM c GROUP BY target_id, period_id
        ), q AS (
            SELECT g.*, coalesce(g.value IS NOT NULL AND g.weights_missing = 0 AND g.used > 0
                                 AND g.coverage >= {min_coverage}, false) AS ok
            FROM g
        ), r AS (
            -- Ranked before `where` picks the areas asked for: a rank is among all result areas.
            SELECT q.*, {rank} AS rank, {rank_of} AS rank_of FROM q
        )
        SELECT r.target_id, r.period_id, r.value, r.used, r.expected, r.coverage, r.weights_missing,
               r.rank, r.rank_of, pub.value, pub.indicator_id
        FROM r {pub}
        {where}
    """, reads)).format(
        kids=kids, ind=sql.Literal(agg.indicator.id), periods=sql.Literal([p.id for p in agg.periods]),
        wind=sql.Literal(agg.weight.id if weighted else None), wper=sql.Literal(agg.weight_period.id if weighted else None),
        nat=nat, columns=sql.SQL(", ".join(columns)),
        join_w=sql.SQL("LEFT JOIN w ON w.area_id = k.child_id" if weighted else ""),
        join_nat=sql.SQL("LEFT JOIN nat ON nat.area_id = k.child_id AND nat.period_id = p.period_id" if on_ranks else ""),
        value=sql.SQL(value).format(cats=sql.Literal([float(c) for c in agg.category_values])),
        used=sql.SQL(METHOD_USED.get(method, "count(value)")), known=sql.SQL(known),
        missing_weights=sql.SQL("count(*) FILTER (WHERE pw IS NULL)" if weighted else "0"),
        min_coverage=sql.Literal(float(agg.min_coverage)), rank=rank, rank_of=rank_of, pub=pub,
        where=sql.SQL("WHERE {}").format(within) if within is not None else sql.SQL(""),
    )
    with read_connection().cursor() as cursor:
        cursor.execute(query.as_string(cursor.cursor))
        return cursor.fetchall()


def _row_dicts(agg: Aggregate, fetched: list[tuple], names: dict, *, flag: str) -> list[dict]:
    by_id = {p.id: p for p in agg.periods}
    counterpart = PUBLISHED_AS.get((agg.indicator.slug, agg.method))
    # Rounded once here (ranks were taken on the unrounded values in SQL, as the publisher ranks).
    places = derived_places(decimal_places=agg.indicator.decimal_places, method=agg.method)
    rows = []
    for target, period_id, value, used, expected, coverage, weights_missing, rank, rank_of, pub, pub_id in fetched:
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
            "period_iso": period.iso, "value": None if reason else derived_round(value, places), "method": agg.method,
            "weight_indicator": agg.weight.slug if agg.weight else None,
            "weight_period": agg.weight_period.iso if agg.weight_period else None,
            "children_used": used, "children_expected": expected,
            "coverage": None if coverage is None else round(coverage, 6), "flag": flag, "reason": reason,
            "rank": rank, "rank_of": rank_of, "published_value": pub,
            "published_indicator": None if pub_id is None else agg.indicator.slug if pub_id == agg.indicator.id
            else counterpart,
        })
    rows.sort(key=lambda r: (r["area_code"], r["period_iso"]))
    return rows


# -- deprivation summaries of one area -----------------------------------------------------------
# The summaries an area's profile and a custom area's observations offer: MHCLG's district
# summaries of the IMD, as (indicator, method, weight, the small areas' vintage); weight None is
# the indicator's or its dataset's own. Each is computed from the small areas the index was
# published on, for any area they make up, by the aggregate endpoint's arithmetic: a profile's
# figure is the one /indicators/{slug}/aggregate/ gives for the area, with the same rank among the
# areas of its vintage.
AREA_SUMMARIES_HELP = (
    "Add `deprivation_summaries` (JSON only): MHCLG's summaries of the Index of Multiple Deprivation for this area "
    "(IoD 2025 from LSOA 2021, IoD 2019 from LSOA 2011: average rank, average score, share of small areas in the "
    "most deprived decile, extent, local concentration), computed from its small areas as "
    "/indicators/{slug}/aggregate/ computes them, each with its rank among the areas of its vintage and MHCLG's "
    "published figure where one is loaded.")
SUMMARIES_IN_JSON = ("the deprivation summaries come in JSON; for a CSV, add format=csv to the `api` call each "
                     "summary names (/indicators/{slug}/aggregate/)")
AREA_SUMMARIES = [
    ("iod2025-imd-rank", S.AVERAGE_RANK, None, "LSOA21"),
    ("iod2025-imd-score", S.AVERAGE_SCORE, None, "LSOA21"),
    ("iod2025-imd-decile", A.SHARE_IN_CATEGORY, None, "LSOA21"),
    ("iod2025-imd-rank", S.EXTENT, None, "LSOA21"),
    ("iod2025-imd-rank", S.LOCAL_CONCENTRATION, None, "LSOA21"),
    ("iod2019-imd-rank", S.AVERAGE_RANK, "population-mid-2015-total", "LSOA11"),
    ("iod2019-imd-decile", A.SHARE_IN_CATEGORY, None, "LSOA11"),
    ("iod2019-imd-rank", S.EXTENT, "population-mid-2015-total", "LSOA11"),
    ("iod2019-imd-rank", S.LOCAL_CONCENTRATION, "population-mid-2015-total", "LSOA11"),
]


def _summary_inputs() -> list[tuple[Indicator, str, Indicator | None, Vintage]]:
    """AREA_SUMMARIES as loaded (two queries; a summary whose inputs are not loaded is left out)."""
    wanted = {slug for s, _, w, _ in AREA_SUMMARIES for slug in (s, w) if slug}
    found = {i.slug: i for i in Indicator.objects.select_related("weight_indicator").filter(slug__in=wanted)}
    vintages = {v.code: v for v in Vintage.objects.select_related("area_type").filter(
        code__in={v for *_, v in AREA_SUMMARIES})}
    return [(found[s], method, found.get(w) if w else None, vintages[v]) for s, method, w, v in AREA_SUMMARIES
            if s in found and (w is None or w in found) and v in vintages]


# Per process, for one data version: (summary, source, target) -> every target area's row by code.
# A plain dict, not the profile cache: a vintage's rows (6,856 MSOAs) are read as they are, with
# no pickling and no entry limit to cull them.
_PEERS: dict[tuple, dict[str, dict]] = {}


def _peers_summary(indicator: Indicator, method: str, weight: Indicator | None, source: Vintage,
                   target: Vintage) -> dict[str, dict]:
    """The summary of every `target` area at the index's latest period, by code: computed at once
    (their ranks need each other) and kept for the data version."""
    def compute() -> dict[str, dict]:
        try:
            rows = aggregate_get(indicator=indicator, from_vintage=source, to_vintage=target, method=method,
                                 weight=weight).rows
        except ObservationQueryError:  # no route to these areas, or no weights for them
            return {}
        return {r["area_code"]: r for r in rows}

    if not settings.LEVELUP["PROFILE_CACHE"]:
        return compute()
    version = data_version()
    key = (version, indicator.id, method, weight.id if weight else None, source.id, target.id)
    if key not in _PEERS:
        for stale in [k for k in _PEERS if k[0] != version]:
            _PEERS.pop(stale, None)
        _PEERS[key] = compute()
    return _PEERS[key]


def area_summaries(*, area: Area) -> list[dict]:
    """The deprivation summaries of `area` (AREA_SUMMARIES), in the aggregate endpoint's row shape,
    each with its rank among the areas of its vintage and the published figure where MHCLG
    publishes one. The vintage is the newest the area belongs to that the small areas reach (along
    the hierarchy or through boundaries). None for the small areas themselves."""
    vintages = list(Vintage.objects.select_related("area_type").filter(memberships__area=area)
                    .order_by("-effective_from"))
    out = []
    for indicator, method, weight, source in _summary_inputs():
        if source.area_type_id == area.area_type_id:
            continue
        for target in vintages:
            row = _peers_summary(indicator, method, weight, source, target).get(area.code)
            if row is not None:
                out.append({**row, "to_vintage": target.code, "api": _summary_call(row, source, target)})
                break
    return out


def _summary_call(row: dict, source: Vintage, target: Vintage) -> str:
    """The aggregate call that gives the row (and its peers'), CSV with `&format=csv`."""
    from urllib.parse import urlencode

    query = {"from_vintage": source.code, "to_vintage": target.code, "method": row["method"],
             "period": row["period_iso"], **({"weight": row["weight_indicator"]} if row["weight_indicator"] else {})}
    return f"/api/v1/indicators/{row['indicator']}/aggregate/?{urlencode(query, safe='/')}"


def custom_area_summaries(*, custom_area: CustomArea) -> list[dict]:
    """The deprivation summaries of a custom area made of the index's small areas (no rank: a
    custom area has no peers)."""
    out = []
    for indicator, method, weight, source in _summary_inputs():
        if source.id != custom_area.vintage_id:
            continue
        out += custom_area_aggregate(custom_area=custom_area, indicator=indicator, method=method, weight=weight).rows
    return out

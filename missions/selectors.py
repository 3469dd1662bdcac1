"""Reads: area profiles (every indicator for an area, ranked and compared with its region and
nation, with a trend) and mission progress (baseline to latest, areas improving, the gap between
top and bottom areas over time, and a status). The statistics methods themselves are in
missions.statistics; this module reads what feeds them."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches
from psycopg import sql

from geographies.models import Area, AreaAncestor, AreaMembership, AreaType, Vintage
from indicators.aggregation import (
    DEFAULT_MIN_COVERAGE,
    LOCAL_SHARE,
    METHOD_EXPRESSIONS,
    METHOD_MEASURES,
    METHOD_USED,
    PUBLISHED_AS,
    WEIGHTED,
    Summary,
)
from indicators.models import Indicator, Observation
from indicators.precision import derived_places, derived_round
from levelup_api.core.caching import data_version
from levelup_api.core.params import ParameterError
from levelup_api.core.replicas import read_connection

from . import statistics as stats
from .models import Metric, Mission, Target
from .statistics import DEFAULT_LEVEL, status_open_sdg

HIGHER = Indicator.Polarity.HIGHER_IS_BETTER
LOWER = Indicator.Polarity.LOWER_IS_BETTER
M = Indicator.Measure
A = Indicator.Aggregation
TREND_POINTS = stats.TREND_POINTS
PROFILE_COLUMNS = [
    "area_code", "area_name", "indicator", "title", "unit", "measure", "polarity", "period", "period_iso", "value",
    "lci", "uci", "status", "rank", "rank_of", "decile", "comparison_method", "comparison_level",
    "region_code", "region_value", "region_comparator_source", "region_coverage", "region_difference",
    "region_comparison",
    "national_code", "national_value", "national_comparator_source", "national_coverage", "national_difference",
    "national_comparison",
    "trend", "trend_method", "trend_points", "missions",
]
# A region's or nation's value that is not published is computed from its areas by the indicator's
# own aggregation rule where that rule gives the same kind of number as the parts (a sum, a
# weighted mean, a ratio of sums), so it can stand beside the area's value. Not by
# share_in_category: a share of areas in a decile cannot be compared with an area's decile; ranks
# and medians do not aggregate at all. Indicators published only as another one's summary (the
# IoD district summaries, indicators.aggregation.PUBLISHED_AS) are computed by that summary from
# the small areas of the indicator summarised: a region's average score is the summary of its
# LSOAs' scores, as a district's is.
OWN_RULES = (A.SUM, A.WEIGHTED_MEAN, A.RATIO_OF_SUMS)
SUMMARY_OF: dict[str, tuple[str, str]] = {}
for (_source, _method), _published in PUBLISHED_AS.items():  # a summary method before an own rule
    if _published not in SUMMARY_OF or _method in Summary.values:
        SUMMARY_OF[_published] = (_source, _method)


# The one parameter error (levelup_api.core.params); this name is kept for the callers that catch it.
ProfileError = ParameterError


def areas_vintage(*, vintage: Vintage | None, type: AreaType | None) -> Vintage:
    """The vintage of the areas a request asks about: the one named, else the newest of the type
    named (the declarations have already checked that the two agree)."""
    if vintage is not None:
        return vintage
    if type is None:
        raise ParameterError("vintage", "give vintage (e.g. LAD23) or type (e.g. LAD)")
    found = Vintage.objects.select_related("area_type").filter(area_type=type).order_by("-effective_from").first()
    if found is None:
        raise ParameterError("type", f"no vintage of {type.code} is loaded")
    return found


def _benchmarks(area_ids: list[int]) -> tuple[dict[int, dict[str, int]], dict[int, str]]:
    """Each area's region and nation (England, Wales, ...; the UK where there is no nation), and
    the comparators' codes, in one query."""
    out: dict[int, dict[str, int]] = defaultdict(dict)
    codes: dict[int, str] = {}
    rows = (AreaAncestor.objects.filter(descendant_id__in=area_ids,
                                        ancestor_vintage__area_type__code__in=["RGN", "CTRY", "UK"])
            .values_list("descendant_id", "ancestor_id", "ancestor__code", "ancestor_vintage__area_type__code")
            .order_by().distinct())
    for area, ancestor, code, kind in rows:
        key = {"RGN": "region", "CTRY": "national", "UK": "uk"}[kind]
        out[area].setdefault(key, ancestor)
        codes[ancestor] = code
    for links in out.values():
        links.setdefault("national", links.get("uk"))
    return out, codes


@dataclass
class _Obs:
    period_id: int
    iso: str
    label: str
    end: dt.date
    value: float | None
    lci: float | None
    uci: float | None
    numerator: float | None
    denominator: float | None
    status: str
    rank: int | None
    rank_of: int | None


@dataclass(frozen=True)
class _Want:
    """A comparator value to compute: `comparator`'s value for `period` of `indicator` (or of the
    indicator slugged `source`) from its areas of `type_id` (default: the type with most values of
    what is combined), by `method` (default: that indicator's own rule)."""

    comparator: int
    period: int
    indicator: int | None = None
    source: str | None = None
    type_id: int | None = None
    method: str | None = None


def _comparator_want(indicator: Indicator, area: Area, comparator: int, period: int) -> _Want | None:
    """How to compute `comparator`'s value when it is not published, or None when it cannot be
    (see OWN_RULES)."""
    if indicator.slug in SUMMARY_OF:
        source, method = SUMMARY_OF[indicator.slug]
        return _Want(comparator=comparator, period=period, source=source, method=method)
    rule = indicator.aggregation
    if (indicator.measure in (M.RANK, M.DECILE) or rule not in OWN_RULES
            or indicator.measure not in METHOD_MEASURES.get(rule, set())
            or (rule == A.WEIGHTED_MEAN and indicator.weight_indicator_id is None)):
        return None
    return _Want(comparator=comparator, period=period, indicator=indicator.id, type_id=area.area_type_id)


def _case(expressions: dict[str, str]) -> sql.Composable:
    return sql.SQL("CASE method {} END").format(sql.SQL(" ").join(
        sql.SQL("WHEN {} THEN {}").format(sql.Literal(str(rule)), sql.SQL(expression).format(cats=sql.SQL("cats")))
        for rule, expression in expressions.items()))


def _computed_comparators(wants: list[_Want]) -> dict[_Want, dict]:
    """Comparator values computed from the comparators' areas, all in one statement, with the
    expressions of indicators.aggregation, so the numbers are the aggregate endpoint's. For each
    value wanted, the children are the comparator's areas of the wanted type in the vintage of that
    type where most of them have a value (the newest on a tie). A value is withheld below its
    rule's minimum coverage, when none of the children has a value, or when one lacks its weight.
    Raw SQL: one statement for any number of indicators and areas, where aggregate_get runs several
    for each indicator."""
    if not wants:
        return {}
    methods = {*OWN_RULES, *Summary.values, A.SHARE_IN_CATEGORY}
    value_sql = _case({m: METHOD_EXPRESSIONS[m][0] for m in methods})
    coverage_sql = _case({m: METHOD_EXPRESSIONS[m][1] for m in methods})
    used_sql = _case({m: METHOD_USED.get(m, "count(value)") for m in methods})
    columns = list(zip(*[(i, w.comparator, w.period, w.indicator, w.source, w.type_id, w.method)
                         for i, w in enumerate(wants)], strict=True))
    # The weight of a weighted method: the indicator's own, else the one its dataset uses for all
    # its weighted means (IoD 2025 ranks: the Census 2021 populations), at its latest period for
    # the children's type, as indicators.aggregation chooses them.
    query = sql.SQL("""
        WITH want AS (
            SELECT * FROM unnest(%s::int[], %s::int[], %s::int[], %s::int[], %s::text[], %s::int[], %s::text[])
                AS t(key, comparator_id, period_id, indicator_id, source, type_id, method)
        ), q AS MATERIALIZED (
            SELECT want.key, want.comparator_id, want.period_id, i.id AS indicator_id,
                   coalesce(want.method, i.aggregation) AS method, i.category_values::float8[] AS cats,
                   coalesce(want.type_id, (SELECT c.area_type_id FROM indicators_coverage c
                                           WHERE c.indicator_id = i.id AND c.period_id = want.period_id
                                           ORDER BY c.areas DESC LIMIT 1)) AS type_id,
                   CASE WHEN coalesce(want.method, i.aggregation) = ANY(%s) THEN coalesce(i.weight_indicator_id, (
                       SELECT CASE WHEN count(DISTINCT d.weight_indicator_id) = 1 THEN min(d.weight_indicator_id) END
                       FROM indicators_indicator d WHERE d.dataset_id = i.dataset_id)) END AS weight_id
            FROM want
            JOIN indicators_indicator i ON i.id = want.indicator_id OR (want.indicator_id IS NULL AND i.slug = want.source)
        ), qw AS MATERIALIZED (
            SELECT q.*, (SELECT c.period_id FROM indicators_coverage c JOIN indicators_period p ON p.id = c.period_id
                         WHERE c.indicator_id = q.weight_id AND c.area_type_id = q.type_id
                         ORDER BY p."end" DESC, p.start DESC LIMIT 1) AS weight_period_id
            FROM q
        ), pairs AS MATERIALIZED (  -- each comparator's areas of each type wanted, in every vintage
            SELECT DISTINCT t.comparator_id, t.type_id, aa.descendant_vintage_id AS vintage_id, aa.descendant_id AS child_id
            FROM (SELECT DISTINCT comparator_id, type_id FROM qw) t
            JOIN geographies_vintage gv ON gv.area_type_id = t.type_id
            JOIN geographies_areaancestor aa ON aa.ancestor_id = t.comparator_id AND aa.descendant_vintage_id = gv.id
        ), vals AS MATERIALIZED (  -- the values combined, and the weights (hash-joined, not probed per child)
            SELECT o.indicator_id, o.period_id, o.area_id, o.value, o.numerator, o.denominator, o.rank_of
            FROM (SELECT DISTINCT indicator_id, period_id FROM qw
                  UNION SELECT weight_id, weight_period_id FROM qw WHERE weight_id IS NOT NULL) x
            JOIN indicators_observation o ON o.indicator_id = x.indicator_id AND o.period_id = x.period_id
                 AND o.is_current
        ), counts AS MATERIALIZED (  -- how many of each comparator's areas have a value, per vintage
            SELECT pr.comparator_id, pr.type_id, pr.vintage_id, v.indicator_id, v.period_id, count(*) AS with_value
            FROM pairs pr JOIN vals v ON v.area_id = pr.child_id AND v.value IS NOT NULL
            GROUP BY 1, 2, 3, 4, 5
        ), chosen AS MATERIALIZED (  -- per value wanted, the vintage where most of them have one
            SELECT DISTINCT ON (qw.key) qw.key, n.comparator_id, n.type_id, n.vintage_id
            FROM qw JOIN counts n ON n.comparator_id = qw.comparator_id AND n.type_id = qw.type_id
                 AND n.indicator_id = qw.indicator_id AND n.period_id = qw.period_id
            JOIN geographies_vintage gv ON gv.id = n.vintage_id
            ORDER BY qw.key, n.with_value DESC, gv.effective_from DESC
        ), c AS MATERIALIZED (
            -- One row per child, with the columns indicators.aggregation's expressions read: its
            -- share kw, value, numerator, denominator, weighted population pw and, for summaries of
            -- ranks, the number ranked n and its national percentile pct (1 = the most deprived hundredth).
            SELECT qw.key, qw.method, qw.cats, pr.child_id, 1.0::float8 AS kw, v.value, v.numerator, v.denominator,
                   CASE WHEN qw.weight_id IS NOT NULL THEN w.value END AS pw, v.rank_of AS n,
                   ceil(100 * v.value / nullif(v.rank_of, 0)) AS pct
            FROM chosen JOIN qw ON qw.key = chosen.key
            JOIN pairs pr ON pr.comparator_id = chosen.comparator_id AND pr.type_id = chosen.type_id
                 AND pr.vintage_id = chosen.vintage_id
            LEFT JOIN vals v ON v.indicator_id = qw.indicator_id AND v.period_id = qw.period_id AND v.area_id = pr.child_id
            LEFT JOIN vals w ON w.indicator_id = qw.weight_id AND w.period_id = qw.weight_period_id
                 AND w.area_id = pr.child_id
        ), rows AS (
            SELECT c.*, NULL::float8 AS take FROM c WHERE method <> {local}
            UNION ALL
            -- take: a child's part of the area's most deprived tenth of people (children in rank
            -- order, each taking what is left of the tenth after those before it)
            SELECT c.*, greatest(0, least(pw, {share} * sum(CASE WHEN value IS NOT NULL THEN pw END)
                       OVER (PARTITION BY key) - coalesce(sum(CASE WHEN value IS NOT NULL THEN pw END)
                       OVER (PARTITION BY key ORDER BY value NULLS LAST, child_id
                             ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0))) AS take
            FROM c WHERE method = {local}
        )
        SELECT key, method, {value} AS value, {used} AS used, count(*) AS expected, {coverage} AS coverage,
               CASE WHEN method = ANY(%s) THEN count(*) FILTER (WHERE pw IS NULL) ELSE 0 END AS weights_missing
        FROM rows GROUP BY key, method, cats
    """).format(value=value_sql, used=used_sql, coverage=coverage_sql, local=sql.Literal(str(Summary.LOCAL_CONCENTRATION)),
                share=sql.Literal(LOCAL_SHARE))
    weighted = [str(m) for m in WEIGHTED]
    with read_connection().cursor() as cursor:
        cursor.execute(query.as_string(cursor.cursor), [*(list(c) for c in columns), weighted, weighted])
        fetched = cursor.fetchall()
    out = {}
    for key, method, value, used, expected, coverage, weights_missing in fetched:
        minimum = DEFAULT_MIN_COVERAGE.get(method, 1.0)
        reason = (f"{weights_missing} of its {expected} areas have no weight" if weights_missing else
                  f"none of its {expected} areas has a value" if not used else
                  f"{used} of its {expected} areas have values (coverage {coverage or 0:.3f}, below {minimum:g})"
                  if coverage is None or coverage < minimum else None)
        out[wants[key]] = {"value": None if reason else value, "method": method, "used": used, "expected": expected,
                           "coverage": None if coverage is None else round(coverage, 6), "reason": reason}
    return out


def _cached_comparators(wants: set[_Want]) -> dict[_Want, dict]:
    """`_computed_comparators()`, each value kept in the process's profile cache for the current
    data version: a region's computed value is the same in every profile that needs it (all its
    districts), and England's from 33,755 LSOAs is the costly part of a profile."""
    ordered = sorted(wants, key=repr)
    if not settings.LEVELUP["PROFILE_CACHE"] or not ordered:
        return _computed_comparators(ordered)
    cache, version = caches["profiles"], data_version()
    keys = {w: f"comparator:{version!r}:{w.comparator}:{w.period}:{w.indicator}:{w.source}:{w.type_id}:{w.method}"
            for w in ordered}
    found = cache.get_many(list(keys.values()))
    missing = [w for w in ordered if keys[w] not in found]
    computed = _computed_comparators(missing)
    cache.set_many({keys[w]: computed.get(w) for w in missing})
    return {w: (found[keys[w]] if keys[w] in found else computed.get(w)) for w in ordered
            if (found.get(keys[w]) if keys[w] in found else computed.get(w)) is not None}


def profiles(*, areas: list[Area], level: float = DEFAULT_LEVEL) -> list[dict]:
    """Profile rows for many areas in a fixed number of queries: every indicator with a current
    value for the area, at its latest period, compared with its region and nation at `level`
    (95 or 99.8)."""
    if not areas:
        return []
    bench, codes = _benchmarks([a.id for a in areas])
    comparator_ids = {i for links in bench.values() for i in links.values() if i}
    by_area: dict[int, dict[int, list[_Obs]]] = defaultdict(lambda: defaultdict(list))
    for row in (Observation.objects.filter(area_id__in={a.id for a in areas} | comparator_ids, is_current=True)
                .values_list("area_id", "indicator_id", "period_id", "period__iso", "period__label", "period__end",
                             "value", "lci", "uci", "numerator", "denominator", "status", "rank", "rank_of")
                .order_by("area_id", "indicator_id", "period__end", "period__start")):
        by_area[row[0]][row[1]].append(_Obs(*row[2:]))
    # Only the fields a row shows or the arithmetic needs, and no default ordering (it would join for nothing).
    indicators = {i.id: i for i in Indicator.objects.filter(id__in={k for a in areas for k in by_area[a.id]})
                  .only("id", "slug", "title", "unit", "polarity", "measure", "aggregation", "weight_indicator_id",
                        "decimal_places")
                  .order_by()}
    missions: dict[int, list[int]] = defaultdict(list)
    for ind, number in (Metric.objects.filter(indicator_id__in=indicators).order_by()
                        .values_list("indicator_id", "mission__number")):
        missions[ind].append(number)
    out, pending, wants = [], [], set()
    for area in areas:
        links = bench.get(area.id, {})
        for ind_id, series in sorted(by_area[area.id].items(), key=lambda kv: indicators[kv[0]].slug):
            indicator = indicators[ind_id]
            latest = series[-1]
            row = _profile_row(area, indicator, series, level)
            row["missions"] = sorted(missions.get(ind_id, []))
            comparators = {}
            for key in ("region", "national"):
                comparator = links.get(key)
                match = next((o for o in by_area[comparator].get(ind_id, []) if o.period_id == latest.period_id),
                             None) if comparator else None
                want = (_comparator_want(indicator, area, comparator, latest.period_id)
                        if comparator and match is None else None)
                if want is not None:
                    wants.add(want)
                comparators[key] = (comparator, match, want)
            pending.append((row, indicator, latest, comparators))
            out.append(row)
    computed = _cached_comparators(wants)
    for row, indicator, latest, comparators in pending:
        _compare_row(row, indicator, latest, comparators, computed, codes, level)
    return [{column: row[column] for column in PROFILE_COLUMNS} for row in out]


def _profile_row(area: Area, indicator: Indicator, series: list[_Obs], level: float) -> dict:
    latest = series[-1]
    if indicator.measure == M.DECILE:  # the published decile is the value; it has no rank of its own
        rank, decile = None, int(latest.value) if latest.value is not None else None
    else:  # a published rank (rank indicators) or ours (1 = best): the decile is its tenth
        rank, decile = latest.rank, stats.decile(latest.rank, latest.rank_of)
    recent = [stats.Point(o.value, o.lci, o.uci, o.numerator, o.denominator)
              for o in series if o.value is not None][-TREND_POINTS:]
    trend, trend_method = stats.trend(recent, indicator.polarity, measure=indicator.measure, level=level)
    return {
        "area_code": area.code, "area_name": area.name, "indicator": indicator.slug, "title": indicator.title,
        "unit": indicator.unit, "measure": indicator.measure, "polarity": indicator.polarity, "period": latest.label,
        "period_iso": latest.iso, "value": latest.value, "lci": latest.lci, "uci": latest.uci, "status": latest.status,
        "rank": rank, "rank_of": latest.rank_of, "decile": decile, "comparison_method": None,
        "comparison_level": None, "trend": trend, "trend_method": trend_method, "trend_points": len(recent),
    }


def _compare_row(row: dict, indicator: Indicator, latest: _Obs, comparators: dict, computed: dict,
                 codes: dict[int, str], level: float) -> None:
    interval = stats.area_interval(value=latest.value, lci=latest.lci, uci=latest.uci, numerator=latest.numerator,
                                   denominator=latest.denominator, measure=indicator.measure, level=level)
    totals = indicator.measure == M.COUNT or indicator.aggregation == A.SUM
    methods = set()
    for key, (comparator, match, want) in comparators.items():
        source = coverage = None
        places = derived_places(decimal_places=indicator.decimal_places)  # of the difference
        if match is not None and match.value is not None:
            bench_value, source = match.value, "published"
        elif want is not None and want in computed:
            # Computed here: rounded once, as indicators.precision says for its method.
            method_places = derived_places(decimal_places=indicator.decimal_places, method=computed[want]["method"])
            places = max(places, method_places)
            bench_value = derived_round(computed[want]["value"], method_places)
            coverage = computed[want]["coverage"]
            source = "computed" if bench_value is not None else None
        else:
            bench_value = None
        result = stats.compare(value=latest.value, interval=interval, benchmark=bench_value,
                               polarity=indicator.polarity, rank=latest.rank, rank_of=latest.rank_of, totals=totals,
                               placement=indicator.measure in (M.RANK, M.DECILE))
        if bench_value is None and want is not None and want in computed and latest.value is not None:
            result = stats.Comparison(f"{stats.NO_COMPARATOR}: not published, and not computed: "
                                      f"{computed[want]['reason']}", None)
        row[f"{key}_code"] = codes.get(comparator)
        row[f"{key}_value"] = bench_value
        row[f"{key}_comparator_source"] = source
        row[f"{key}_coverage"] = coverage
        row[f"{key}_difference"] = (derived_round(latest.value - bench_value, places)
                                    if None not in (latest.value, bench_value) else None)
        row[f"{key}_comparison"] = result.outcome
        if result.method:
            methods.add(result.method)
    if methods:  # both comparators are made with the area's one interval, or its one quintile
        (row["comparison_method"],) = methods
        row["comparison_level"] = level if row["comparison_method"] != stats.QUINTILE else None


def cached_profiles(*, areas: list[Area], level: float = DEFAULT_LEVEL) -> list[dict]:
    """`profiles()`, each area's rows kept in the process's profile cache for the current data
    version (levelup_api.core.caching.data_version: a load or a curator's edit starts a new one, so
    nothing stale is served) and level; only the areas not cached are computed, in one batch."""
    if not settings.LEVELUP["PROFILE_CACHE"] or not areas:
        return profiles(areas=areas, level=level)
    cache, version = caches["profiles"], data_version()
    keys = {area.id: f"profile:{version!r}:{level:g}:{area.id}" for area in areas}
    found = cache.get_many(list(keys.values()))
    missing = [area for area in areas if keys[area.id] not in found]
    computed: dict[str, list[dict]] = defaultdict(list)
    for row in profiles(areas=missing, level=level):
        computed[row["area_code"]].append(row)
    cache.set_many({keys[area.id]: computed[area.code] for area in missing})
    return [row for area in areas
            for row in (found[keys[area.id]] if keys[area.id] in found else computed[area.code])]


def area_profile(*, area: Area, level: float = DEFAULT_LEVEL) -> list[dict]:
    return cached_profiles(areas=[area], level=level)


def profile_areas(*, parent: Area, vintage: Vintage) -> list[Area]:
    """The areas of `vintage` below `parent`, by code."""
    ids = AreaAncestor.objects.filter(ancestor=parent, descendant_vintage=vintage).values("descendant_id")
    return list(Area.objects.filter(id__in=ids).order_by("code"))


# -- mission progress ---------------------------------------------------------------------------
def _gap(values: list[float], kind: str) -> float | None:
    if len(values) < 2:
        return None
    values = sorted(values)
    if kind == Target.Gap.DECILE_MEANS:
        k = max(1, len(values) // 10)
        return sum(values[-k:]) / k - sum(values[:k]) / k
    return values[-1] - values[0]


def mission_progress(*, mission: Mission, vintage: Vintage) -> dict:
    """For each metric of the mission with values on `vintage`'s areas: baseline and latest,
    areas improving, the gap series over a consistent set of areas, and each target's status."""
    baseline_from = dt.date.fromisoformat(settings.LEVELUP["MISSION_BASELINE_FROM"])
    members = set(AreaMembership.objects.filter(vintage=vintage).values_list("area_id", flat=True))
    metrics = list(mission.metrics.select_related("indicator").order_by("-headline", "indicator__slug"))
    targets = defaultdict(list)
    for target in mission.targets.all():
        targets[target.metric_id].append(target)
    rows = (Observation.objects.filter(indicator_id__in=[m.indicator_id for m in metrics], is_current=True,
                                       area_id__in=members, value__isnull=False)
            .values_list("indicator_id", "area_id", "period_id", "value", "period__iso", "period__label",
                         "period__start", "period__end"))
    series: dict[int, dict[int, dict[int, float]]] = defaultdict(lambda: defaultdict(dict))
    periods: dict[int, tuple[str, str, dt.date, dt.date]] = {}
    for ind, area, per, value, iso, label, start, end in rows:
        series[ind][per][area] = value
        periods[per] = (iso, label, start, end)
    national = _national_values(mission, metrics)
    out = []
    for metric in metrics:
        indicator = metric.indicator
        by_period = series.get(indicator.id, {})
        ordered = sorted(by_period, key=lambda p: (periods[p][3], periods[p][2]))
        entry = {"indicator": indicator.slug, "title": indicator.title, "headline": metric.headline,
                 "link": metric.link, "polarity": indicator.polarity, "areas": None, "baseline": None,
                 "latest": None, "national_change": None, "national_direction": None, "targets": []}
        if ordered:
            base = next((p for p in ordered if periods[p][2] >= baseline_from), ordered[0])
            last = ordered[-1]
            common = set(by_period[base]) & set(by_period[last])
            improving = sum(1 for a in common if _better(by_period[last][a], by_period[base][a], indicator.polarity))
            entry["areas"] = {"with_values_latest": len(by_period[last]), "compared": len(common),
                              "improving": improving if indicator.polarity in (HIGHER, LOWER) else None,
                              "share_improving": (round(improving / len(common), 4)
                                                  if common and indicator.polarity in (HIGHER, LOWER) else None)}
            entry["baseline"] = _point(periods[base], national.get((indicator.id, base)))
            entry["latest"] = _point(periods[last], national.get((indicator.id, last)))
            b, n = entry["baseline"]["national_value"], entry["latest"]["national_value"]
            if None not in (b, n) and base != last:
                entry["national_change"] = derived_round(n - b, derived_places(decimal_places=indicator.decimal_places))
                entry["national_direction"] = ("better" if _better(n, b, indicator.polarity) else
                                               "worse" if _better(b, n, indicator.polarity) else "no change")
        for target in targets.get(metric.id, []):
            entry["targets"].append(_target_progress(target, indicator, by_period, ordered, periods, national))
        out.append(entry)
    unmeasured = [{"kind": t.kind, "description": t.description, "data_status": t.data_status, "data_note": t.data_note}
                  for t in targets.get(None, [])]
    return {"mission": mission.number, "vintage": vintage.code, "area_type": vintage.area_type.code,
            "baseline_from": baseline_from.isoformat(), "metrics": out, "targets_without_metric": unmeasured}


def _better(new: float, old: float, polarity: str) -> bool:
    return new > old if polarity == HIGHER else new < old if polarity == LOWER else False


def _point(period: tuple, national: tuple[str, float] | None) -> dict:
    iso, label, start, end = period
    return {"period": label, "period_iso": iso, "national_code": national[0] if national else None,
            "national_value": national[1] if national else None}


def _national_values(mission: Mission, metrics: list[Metric]) -> dict[tuple[int, int], tuple[str, float]]:
    """England's value per indicator and period (the UK's where England has none)."""
    out = {}
    for ind, per, code, value in (Observation.objects.filter(
            indicator_id__in=[m.indicator_id for m in metrics], is_current=True, area__code__in=["K02000001", "E92000001"],
            value__isnull=False).values_list("indicator_id", "period_id", "area__code", "value").order_by("-area__code")):
        out[ind, per] = (code, value)  # K02 comes first, so England's value, when there is one, wins
    return out


def _target_progress(target: Target, indicator: Indicator, by_period, ordered, periods, national) -> dict:
    result = {"kind": target.kind, "description": target.description, "value": target.value, "unit": target.unit,
              "target_year": target.target_year, "data_status": target.data_status, "data_note": target.data_note}
    if target.kind == Target.Kind.GAP_NARROWS and ordered:
        # The same areas every period: those with a value in all of them.
        common = set.intersection(*(set(by_period[p]) for p in ordered))
        result["gap_definition"] = target.get_gap_display()
        result["gap_areas"] = len(common)
        places = derived_places(decimal_places=indicator.decimal_places)
        result["gap_series"] = [{"period": periods[p][1], "period_iso": periods[p][0],
                                 "gap": derived_round(_gap([by_period[p][a] for a in common], target.gap), places)}
                                for p in ordered]
        gaps = [g["gap"] for g in result["gap_series"] if g["gap"] is not None]
        result["status"] = ("not assessable" if len(gaps) < 2 else "narrowing" if gaps[-1] < gaps[0]
                            else "widening" if gaps[-1] > gaps[0] else "unchanged")
    elif ordered and target.kind in (Target.Kind.NATIONAL_THRESHOLD, Target.Kind.NATIONAL_CHANGE):
        first, last = ordered[0], ordered[-1]
        base, now = national.get((indicator.id, first)), national.get((indicator.id, last))
        years = (periods[last][2] - periods[first][2]).days / 365.25
        goal = target.value if target.kind == Target.Kind.NATIONAL_THRESHOLD else (
            base[1] + target.value if base and target.value is not None else None)
        remaining = target.target_year - periods[last][2].year
        result["status"] = (status_open_sdg(baseline=base[1], latest=now[1], years=years, target=goal,
                                            target_years=years + remaining, polarity=indicator.polarity)
                            if base and now and first != last else "not assessable")
        result["status_method"] = "Open SDG: compound annual growth rate achieved against the rate needed"
    else:
        result["status"] = "not assessable" if not ordered or len(ordered) < 2 else None
    return result


# -- an area's scorecard and its statistical neighbours -----------------------------------------
def area_scorecard(*, area: Area) -> list[dict]:
    """Each mission's metrics for one area: baseline (first period on or after the configured date)
    and latest value, the change and whether it is for the better, and England's latest value."""
    baseline_from = dt.date.fromisoformat(settings.LEVELUP["MISSION_BASELINE_FROM"])
    missions = list(Mission.objects.prefetch_related("metrics__indicator").order_by("number"))
    indicator_ids = {m.indicator_id for mission in missions for m in mission.metrics.all()}
    series: dict[int, list[tuple]] = defaultdict(list)
    for ind, value, label, start in (
            Observation.objects.filter(indicator_id__in=indicator_ids, area=area, is_current=True, value__isnull=False)
            .values_list("indicator_id", "value", "period__label", "period__start")
            .order_by("period__end", "period__start")):
        series[ind].append((value, label, start))
    national = national_latest(indicator_ids)
    out = []
    for mission in missions:
        metrics = []
        for metric in mission.metrics.all():
            points = series.get(metric.indicator_id, [])
            if not points:
                continue
            base = next((p for p in points if p[2] >= baseline_from), points[0])
            last = points[-1]
            polarity = metric.indicator.polarity
            change = (derived_round(last[0] - base[0], derived_places(decimal_places=metric.indicator.decimal_places))
                      if last is not base else None)
            metrics.append({
                "indicator": metric.indicator.slug, "headline": metric.headline, "polarity": polarity,
                "baseline_period": base[1], "baseline_value": base[0], "latest_period": last[1],
                "latest_value": last[0], "change": change, "national": national.get(metric.indicator_id),
                "direction": (None if change is None or polarity not in (HIGHER, LOWER) else
                              "better" if _better(last[0], base[0], polarity) else
                              "no change" if change == 0 else "worse"),
            })
        out.append({"mission": mission.number, "short_name": mission.short_name, "metrics": metrics,
                    "data": "available" if metrics else "none for this area"})
    return out


def national_latest(indicator_ids) -> dict[int, dict]:
    """Each indicator's latest value for England, or for the UK where England has none."""
    out: dict[int, dict] = {}
    rows = (Observation.objects.filter(indicator_id__in=indicator_ids, area__code__in=["E92000001", "K02000001"],
                                       is_current=True, value__isnull=False)
            .order_by("indicator_id", "-area__code", "period__end", "period__start")
            .values_list("indicator_id", "area__code", "period__label", "value"))
    for ind, code, label, value in rows:  # per indicator: the UK's rows, then England's, oldest first
        out[ind] = {"code": code, "period": label, "value": value}
    return out


def area_similar(*, area: Area, indicators: list[Indicator], n: int = 10) -> tuple[list[Indicator], list[dict]]:
    """The `n` areas of the same type nearest to `area` on the indicators' latest values for it,
    each indicator standardised (z-scores across the areas with values for all of them), by
    Euclidean distance. Areas missing any of the indicators are left out."""
    latest = {}
    for ind, per in (Observation.objects.filter(area=area, indicator__in=indicators, is_current=True,
                                                value__isnull=False)
                     .order_by("indicator_id", "-period__end").distinct("indicator_id")
                     .values_list("indicator_id", "period_id")):
        latest[ind] = per
    used = [i for i in indicators if i.id in latest]
    if not used:
        raise ProfileError("indicators", f"{area.code} has no values for these indicators")
    values: dict[int, dict[int, float]] = defaultdict(dict)
    rows = Observation.objects.filter(indicator_id__in=latest, period_id__in=set(latest.values()), is_current=True,
                                      value__isnull=False, area__area_type_id=area.area_type_id)
    for area_id, ind, per, value in rows.values_list("area_id", "indicator_id", "period_id", "value"):
        if latest[ind] == per:
            values[area_id][ind] = value
    complete = {a: v for a, v in values.items() if len(v) == len(used)}
    stats = {}
    for ind in latest:
        column = [v[ind] for v in complete.values()]
        mean = sum(column) / len(column)
        sd = (sum((x - mean) ** 2 for x in column) / len(column)) ** 0.5
        stats[ind] = (mean, sd or 1.0)
    me = complete.get(area.id)
    if me is None:
        raise ProfileError("indicators", f"{area.code} lacks a value for some of these indicators")
    distances = sorted(
        (sum(((v[i] - me[i]) / stats[i][1]) ** 2 for i in latest) ** 0.5, a) for a, v in complete.items() if a != area.id)
    nearest = distances[:n]
    names = {i: (c, nm) for i, c, nm in Area.objects.filter(id__in=[a for _, a in nearest]).values_list("id", "code",
                                                                                                       "name")}
    slugs = {i.id: i.slug for i in used}
    return used, [{"area_code": names[a][0], "area_name": names[a][1], "distance": round(d, 6),
                   "values": {slugs[i]: complete[a][i] for i in latest}} for d, a in nearest]

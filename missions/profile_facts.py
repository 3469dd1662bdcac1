"""The profile facts (missions.models.ProfileFact): every area's profile row, precomputed set-based in
SQL after each load or curator edit, in that change's own transaction, so a profile request is one
indexed read (missions.selectors.profiles).

One call of `profile_facts_rebuild()` replaces the facts of the indicators it is given (all when
none), and of the indicators that read them (summaries of them, means weighted by them), by these
statements: the current series of those indicators; each area's latest value and its region and
nation; the comparator values published for the same period, and those computed where none is
(with indicators.aggregation's expressions, as the aggregate endpoint computes them); then one
INSERT that compares and finds trends at 95% and 99.8%. The methods are missions.statistics', in
SQL: published intervals rescaled by z, Wilson's score interval for percentages, Byar's
approximation for rates (the exact Poisson interval below ten events, whose limits are computed
once per call by missions.statistics and passed as a table), quintile placement, the chi-squared
test for trend, interval overlap and monotonic change. tests/missions/test_profile_facts.py checks
each against missions.statistics row by row. Then the spreads (missions.models.ProfileSpread) of
the facts' indicators, periods and area types, for the explorer's spine charts."""

from __future__ import annotations

from django.db import connection, transaction
from psycopg import sql

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
from indicators.current import current_in
from indicators.models import Indicator
from indicators.precision import DERIVED_EXTRA_PLACES, METHOD_PLACES, OWN_PLACES

from . import statistics as stats

M = Indicator.Measure
A = Indicator.Aggregation
HIGHER, LOWER = Indicator.Polarity.HIGHER_IS_BETTER, Indicator.Polarity.LOWER_IS_BETTER
# The facts are analysed again after a rebuild that rewrote more than 1 / ANALYZE_SHARE of them.
ANALYZE_SHARE = 10
# The confidence levels the comparisons and trends are kept at, and their columns' suffix.
LEVEL_SUFFIX = {95.0: "", 99.8: "_998"}

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
COMPUTED_BY_OWN_RULE = [(rule, measure) for rule in OWN_RULES for measure in METHOD_MEASURES[rule]
                        if measure not in (M.RANK, M.DECILE)]


def _text(value: str) -> str:
    """A string constant for SQL text assembled here (the module's own strings, never input)."""
    return "'" + value.replace("'", "''") + "'"


def _lit(value) -> sql.Composable:
    return sql.Literal(value)


def _case(expressions: dict[str, str], column: str = "method") -> sql.Composable:
    return sql.SQL("CASE {} {} END").format(sql.SQL(column), sql.SQL(" ").join(
        sql.SQL("WHEN {} THEN {}").format(_lit(str(rule)), sql.SQL(expression).format(cats=sql.SQL("cats")))
        for rule, expression in expressions.items()))


def _places(method: str, decimal_places: str) -> sql.Composable:
    """indicators.precision.derived_places in SQL (method: a column or NULL for a difference)."""
    whens = [sql.SQL("WHEN {} = {} THEN {}").format(sql.SQL(method), _lit(m), _lit(p)) for m, p in METHOD_PLACES.items()]
    whens += [sql.SQL("WHEN {} = {} THEN {}").format(sql.SQL(method), _lit(m), sql.SQL(decimal_places))
              for m in OWN_PLACES]
    return sql.SQL("(CASE {} ELSE {} + {} END)").format(sql.SQL(" ").join(whens), sql.SQL(decimal_places),
                                                          _lit(DERIVED_EXTRA_PLACES))


def _round(value: str, places: sql.Composable) -> sql.Composable:
    return sql.SQL("round(({})::numeric, {})::float8").format(sql.SQL(value), places)


# -- the computed comparators ---------------------------------------------------------------------
# For each value wanted (pf_want: a comparator, a period, an indicator or the slug of the one it
# summarises, the children's type, a method), the children are the comparator's areas of that type
# in the vintage of that type where most of them have a value (the newest on a tie). A value is
# withheld below its rule's minimum coverage, when none of the children has a value, or when one
# lacks its weight. The weight of a weighted method: the indicator's own, else the one its dataset
# uses for all its weighted means (IoD 2025 ranks: the Census 2021 populations), at its latest
# period for the children's type, as indicators.aggregation chooses them.
COMPUTED_SQL = """
    WITH q AS MATERIALIZED (
        SELECT want.key, want.comparator_id, want.period_id, i.id AS indicator_id,
               coalesce(want.method, i.aggregation) AS method, i.category_values::float8[] AS cats,
               coalesce(want.type_id, (SELECT c.area_type_id FROM indicators_coverage c
                                       WHERE c.indicator_id = i.id AND c.period_id = want.period_id
                                       ORDER BY c.areas DESC LIMIT 1)) AS type_id,
               CASE WHEN coalesce(want.method, i.aggregation) = ANY({weighted}) THEN coalesce(i.weight_indicator_id, (
                   SELECT CASE WHEN count(DISTINCT d.weight_indicator_id) = 1 THEN min(d.weight_indicator_id) END
                   FROM indicators_indicator d WHERE d.dataset_id = i.dataset_id)) END AS weight_id
        FROM pf_want want
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
             AND CURRENT_RELEASE(o)
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
    ), g AS (
        SELECT key, method, {value} AS value, {used} AS used, count(*) AS expected, {coverage} AS coverage,
               CASE WHEN method = ANY({weighted}) THEN count(*) FILTER (WHERE pw IS NULL) ELSE 0 END AS weights_missing
        FROM rows GROUP BY key, method, cats
    )
    INSERT INTO pf_computed (key, method, value, coverage, reason)
    SELECT key, method, CASE WHEN reason IS NULL THEN value END, round(coverage::numeric, 6)::float8, reason
    FROM (SELECT g.*, CASE
              WHEN weights_missing > 0 THEN weights_missing || ' of its ' || expected || ' areas have no weight'
              WHEN used = 0 THEN 'none of its ' || expected || ' areas has a value'
              WHEN coverage IS NULL OR coverage < {minimum} THEN used || ' of its ' || expected
                   || ' areas have values (coverage ' || to_char(coalesce(coverage, 0), 'FM0.000') || ', below '
                   || {minimum_text} || ')'
              END AS reason FROM g) x
"""


def _computed_sql() -> sql.Composable:
    methods = {*OWN_RULES, *Summary.values, A.SHARE_IN_CATEGORY}
    weighted = sql.SQL("ARRAY[{}]::text[]").format(sql.SQL(", ").join(_lit(str(m)) for m in sorted(WEIGHTED)))
    return sql.SQL(current_in(COMPUTED_SQL)).format(
        value=_case({m: METHOD_EXPRESSIONS[m][0] for m in methods}),
        used=_case({m: METHOD_USED.get(m, "count(value)") for m in methods}),
        coverage=_case({m: METHOD_EXPRESSIONS[m][1] for m in methods}),
        minimum=_case({m: repr(float(DEFAULT_MIN_COVERAGE.get(m, 1.0))) for m in methods}),
        minimum_text=_case({m: "'" + format(DEFAULT_MIN_COVERAGE.get(m, 1.0), "g") + "'" for m in methods}),
        local=_lit(str(Summary.LOCAL_CONCENTRATION)), share=_lit(LOCAL_SHARE), weighted=weighted)


# -- comparisons and trends -------------------------------------------------------------------------
def _interval(level: float, exact: list[tuple[float, float]]) -> sql.Composable:
    """missions.statistics.area_interval at `level`, over the latest row `l`: (lo, hi, method).
    `exact`: the exact Poisson limits of 1 to 9 events at that level. Plain expressions (no FROM),
    so the planner folds them into the row's projection."""
    z = stats.z_value(level)
    k = z / stats.z_value(stats.DEFAULT_LEVEL)
    pub_lo, pub_hi = (("l.lci", "l.uci") if level == stats.DEFAULT_LEVEL else
                      (f"l.value - (l.value - l.lci) * {k!r}", f"l.value + (l.uci - l.value) * {k!r}"))
    p = "(l.numerator / l.denominator)"
    centre = f"(2 * l.denominator * {p} + {z!r} * {z!r})"
    spread = f"({z!r} * sqrt({z!r} * {z!r} + 4 * l.denominator * {p} * (1 - {p})))"
    scale = f"(2 * (l.denominator + {z!r} * {z!r}))"
    times = f"(CASE WHEN {p} <> 0 THEN l.value / {p} ELSE 100.0 END)"
    per = "(l.value / l.numerator)"
    byar_lo = f"greatest(0.0, l.numerator * power(1 - 1 / (9 * l.numerator) - {z!r} / (3 * sqrt(l.numerator)), 3))"
    byar_hi = f"(l.numerator + 1) * power(1 - 1 / (9 * (l.numerator + 1)) + {z!r} / (3 * sqrt(l.numerator + 1)), 3)"
    exact_lo = "(ARRAY[{}]::float8[])[l.numerator::int]".format(", ".join(repr(lo) for lo, _ in exact))
    exact_hi = "(ARRAY[{}]::float8[])[l.numerator::int]".format(", ".join(repr(hi) for _, hi in exact))
    return sql.SQL(f"""
        SELECT CASE m.method WHEN '{stats.PUBLISHED_CI}' THEN {pub_lo}
                    WHEN '{stats.WILSON}' THEN greatest(0.0, ({centre} - {spread}) / {scale}) * {times}
                    WHEN '{stats.BYAR}' THEN {byar_lo} * {per}
                    WHEN '{stats.POISSON_EXACT}' THEN {exact_lo} * {per} END AS lo,
               CASE m.method WHEN '{stats.PUBLISHED_CI}' THEN {pub_hi}
                    WHEN '{stats.WILSON}' THEN least(1.0, ({centre} + {spread}) / {scale}) * {times}
                    WHEN '{stats.BYAR}' THEN {byar_hi} * {per}
                    WHEN '{stats.POISSON_EXACT}' THEN {exact_hi} * {per} END AS hi,
               m.method
        FROM (SELECT CASE
            WHEN l.value IS NULL THEN NULL
            WHEN l.lci IS NOT NULL AND l.uci IS NOT NULL THEN '{stats.PUBLISHED_CI}'
            WHEN l.numerator IS NULL OR l.denominator IS NULL OR l.denominator <= 0 OR l.numerator < 0 THEN NULL
            WHEN l.measure = 'percentage' AND l.numerator <= l.denominator THEN '{stats.WILSON}'
            WHEN l.measure = 'rate' AND l.numerator > 0 THEN
                 CASE WHEN l.numerator < {stats.BYAR_MIN_COUNT} AND l.numerator = trunc(l.numerator)
                      THEN '{stats.POISSON_EXACT}' ELSE '{stats.BYAR}' END
            END AS method) m""")


def _comparison(kind: str, level: float) -> sql.Composable:
    """missions.statistics.compare for the comparator `kind` (region or national) at `level`:
    (outcome, method), reading the interval `iv` and the comparator columns of `l`."""
    names = {polarity: stats.QUINTILE_NAMES.get(polarity, stats.QUINTILE_NAMES[stats.NEUTRAL])
             for polarity in (HIGHER, LOWER, stats.NEUTRAL)}

    def quintile_name(polarity_sql: str) -> str:
        cases = " ".join(
            f"WHEN {polarity_sql} = '{p}' THEN (ARRAY[{', '.join(_text(n) for n in ns)}])[q]"
            for p, ns in names.items() if p != stats.NEUTRAL)
        neutral = ", ".join(_text(n) for n in names[stats.NEUTRAL])
        return f"(CASE {cases} ELSE (ARRAY[{neutral}])[q] END) || ' quintile'"

    q = (f"CASE WHEN coalesce(l.rank, 0) <> 0 AND coalesce(l.rank_of, 0) <> 0 AND l.rank_of >= "
         f"{stats.QUINTILE_MIN_AREAS} AND l.rank <= l.rank_of THEN ceil(5.0 * l.rank / l.rank_of)::int END")
    bench = f"l.{kind}_value"
    placement = stats.compare(value=1, interval=None, benchmark=1, polarity="", rank=None, rank_of=None,
                              placement=True).outcome
    return sql.SQL(f"""
        SELECT CASE
                 WHEN l.value IS NULL THEN {_text(stats.NO_VALUE)}
                 WHEN {bench} IS NULL THEN {_text(stats.NO_COMPARATOR)} || coalesce(
                      ': not published, and not computed: ' || l.{kind}_reason, '')
                 WHEN l.measure IN ('rank', 'decile') THEN {_text(placement)}
                 WHEN iv.lo IS NOT NULL AND NOT l.totals THEN CASE
                      WHEN iv.lo <= {bench} AND {bench} <= iv.hi THEN 'similar'
                      WHEN l.polarity NOT IN ('{HIGHER}', '{LOWER}') THEN
                           CASE WHEN iv.lo > {bench} THEN 'higher' ELSE 'lower' END
                      WHEN (iv.lo > {bench}) = (l.polarity = '{HIGHER}') THEN 'better' ELSE 'worse' END
                 WHEN quintile.q IS NOT NULL THEN {quintile_name('l.polarity')}
                 WHEN coalesce(l.rank, 0) <> 0 THEN
                      'not compared: fewer than {stats.QUINTILE_MIN_AREAS} areas ranked'
                 ELSE {_text(stats.NO_VALUE)} END AS outcome,
               CASE WHEN l.value IS NULL OR {bench} IS NULL OR l.measure IN ('rank', 'decile') THEN NULL
                    WHEN iv.lo IS NOT NULL AND NOT l.totals THEN iv.method
                    ELSE '{stats.QUINTILE}' END AS method
        FROM (SELECT {q} AS q) quintile""")


def _trend(level: float) -> sql.Composable:
    """missions.statistics.trend at `level` over the last points `t` of the latest row `l`."""
    z = stats.z_value(level)
    k = z / stats.z_value(stats.DEFAULT_LEVEL)
    def low(side: str) -> str:  # an end's interval at `level` (the published one at 95%)
        return f"t.{side}_lci" if k == 1 else f"(t.{side}_value - (t.{side}_value - t.{side}_lci) * {k!r})"

    def high(side: str) -> str:
        return f"t.{side}_uci" if k == 1 else f"(t.{side}_value + (t.{side}_uci - t.{side}_value) * {k!r})"

    moved_ci = (f"CASE WHEN {low('last')} > {high('first')} THEN 1 WHEN {high('last')} < {low('first')} THEN -1 "
                "ELSE 0 END")
    variance = ("(CASE WHEN l.measure = 'percentage' THEN (t.r / t.n) * (1 - t.r / t.n) ELSE t.r / t.n END)"
                " * (t.sxx - t.sx * t.sx / t.n)")
    slope = "(t.srx - t.r * t.sx / t.n)"
    moved_chi2 = (f"CASE WHEN {variance} <= 0 THEN 0 WHEN {slope} * {slope} / ({variance}) <= {z!r} * {z!r} THEN 0 "
                  f"WHEN {slope} > 0 THEN 1 ELSE -1 END")
    return sql.SQL(f"""
        SELECT CASE WHEN m.moved IS NULL THEN 'not enough data'
                    WHEN m.moved = 0 THEN 'no significant change'
                    WHEN l.polarity = '{HIGHER}' THEN
                         CASE WHEN m.moved > 0 THEN 'increasing, getting better' ELSE 'decreasing, getting worse' END
                    WHEN l.polarity = '{LOWER}' THEN
                         CASE WHEN m.moved > 0 THEN 'increasing, getting worse' ELSE 'decreasing, getting better' END
                    WHEN m.moved > 0 THEN 'increasing' ELSE 'decreasing' END AS outcome, m.method
        FROM (SELECT CASE WHEN coalesce(t.points, 0) < {stats.TREND_MIN_POINTS} THEN NULL
                          WHEN t.chi2 THEN {moved_chi2}
                          WHEN t.first_lci IS NOT NULL AND t.first_uci IS NOT NULL AND t.last_lci IS NOT NULL
                               AND t.last_uci IS NOT NULL THEN {moved_ci}
                          WHEN t.all_up THEN 1 WHEN t.all_down THEN -1 ELSE 0 END AS moved,
                     CASE WHEN coalesce(t.points, 0) < {stats.TREND_MIN_POINTS} THEN NULL
                          WHEN t.chi2 THEN '{stats.TREND_CHI2}'
                          WHEN t.first_lci IS NOT NULL AND t.first_uci IS NOT NULL AND t.last_lci IS NOT NULL
                               AND t.last_uci IS NOT NULL THEN '{stats.TREND_CI}'
                          ELSE '{stats.TREND_MONOTONIC}' END AS method) m""")


FACTS_SQL = """
    INSERT INTO missions_profilefact (
        area_id, indicator_id, period_id, value, lci, uci, status, rank, rank_of, decile, comparison_method,
        region_id, region_value, region_comparator_source, region_coverage, region_difference, region_comparison,
        region_comparison_998, national_id, national_value, national_comparator_source, national_coverage,
        national_difference, national_comparison, national_comparison_998, trend, trend_998, trend_method,
        trend_points)
    SELECT l.area_id, l.indicator_id, l.period_id, l.value, l.lci, l.uci, l.status,
           CASE WHEN l.measure = 'decile' THEN NULL ELSE l.rank END,
           l.rank_of,
           CASE WHEN l.measure = 'decile' THEN trunc(l.value)::int
                WHEN coalesce(l.rank, 0) <> 0 AND coalesce(l.rank_of, 0) <> 0 AND l.rank <= l.rank_of
                THEN ceil(10.0 * l.rank / l.rank_of)::int END,
           coalesce(r95.method, n95.method),
           l.region_id, l.region_value, l.region_source, l.region_coverage,
           {region_difference}, r95.outcome, r998.outcome,
           l.national_id, l.national_value, l.national_source, l.national_coverage,
           {national_difference}, n95.outcome, n998.outcome,
           t95.outcome, t998.outcome, t95.method, coalesce(t.points, least(l.points_all, {trend_points}))
    FROM pf_rows l
    LEFT JOIN pf_trend t ON t.area_id = l.area_id AND t.indicator_id = l.indicator_id
    CROSS JOIN LATERAL ({interval95}) iv95
    CROSS JOIN LATERAL ({interval998}) iv998
    CROSS JOIN LATERAL (SELECT iv95.lo, iv95.hi, iv95.method) iv
    CROSS JOIN LATERAL ({region95}) r95
    CROSS JOIN LATERAL ({national95}) n95
    CROSS JOIN LATERAL (SELECT x.* FROM (SELECT iv998.lo, iv998.hi, iv998.method) iv CROSS JOIN LATERAL ({region998}) x) r998
    CROSS JOIN LATERAL (SELECT x.* FROM (SELECT iv998.lo, iv998.hi, iv998.method) iv CROSS JOIN LATERAL ({national998}) x) n998
    CROSS JOIN LATERAL ({trend95}) t95
    CROSS JOIN LATERAL ({trend998}) t998
"""


def _difference(kind: str) -> sql.Composable:
    # The difference keeps the places of the finer of the two numbers: the indicator's derived
    # places, or the computed comparator's method's.
    places = sql.SQL("greatest({}, coalesce({}, 0))").format(
        _places("NULL", "l.decimal_places"), sql.SQL(f"l.{kind}_places"))
    return sql.SQL("CASE WHEN l.value IS NOT NULL AND l.{k}_value IS NOT NULL THEN {r} END").format(
        k=sql.SQL(kind), r=_round(f"l.value - l.{kind}_value", places))


def _facts_sql() -> sql.Composable:
    # Exact Poisson limits below Byar's range, at both levels (missions.statistics, once per call).
    exact = {level: [stats.poisson_exact_interval(n, level) for n in range(1, stats.BYAR_MIN_COUNT)]
             for level in (95.0, 99.8)}
    return sql.SQL(FACTS_SQL).format(
        region_difference=_difference("region"), national_difference=_difference("national"),
        interval95=_interval(95.0, exact[95.0]), interval998=_interval(99.8, exact[99.8]),
        region95=_comparison("region", 95.0), national95=_comparison("national", 95.0),
        region998=_comparison("region", 99.8), national998=_comparison("national", 99.8),
        trend95=_trend(95.0), trend998=_trend(99.8), trend_points=sql.Literal(stats.TREND_POINTS))


def _scope(cursor, indicator_ids: list[int] | None) -> list[int]:
    """The indicators whose facts change: those given, the published summaries of them, and the
    indicators that weight by them (theirs or their dataset's weighted means)."""
    if indicator_ids is None:
        cursor.execute("SELECT id FROM indicators_indicator")
        return [r[0] for r in cursor.fetchall()]
    sources = [(published, source) for published, (source, _) in SUMMARY_OF.items()]
    cursor.execute("""
        WITH given AS (SELECT unnest(%s::int[]) AS id),
        summaries AS (
            SELECT p.id FROM unnest(%s::text[], %s::text[]) s(published, source)
            JOIN indicators_indicator p ON p.slug = s.published
            JOIN indicators_indicator src ON src.slug = s.source
            WHERE src.id IN (SELECT id FROM given) OR src.weight_indicator_id IN (SELECT id FROM given)
               OR src.dataset_id IN (SELECT d.dataset_id FROM indicators_indicator d
                                     WHERE d.weight_indicator_id IN (SELECT id FROM given))
        ), weighted AS (
            SELECT i.id FROM indicators_indicator i WHERE i.weight_indicator_id IN (SELECT id FROM given)
               OR i.dataset_id IN (SELECT d.dataset_id FROM indicators_indicator d
                                   WHERE d.weight_indicator_id IN (SELECT id FROM given))
        )
        SELECT id FROM given UNION SELECT id FROM summaries UNION SELECT id FROM weighted
    """, [list(indicator_ids), [s[0] for s in sources], [s[1] for s in sources]])
    return [r[0] for r in cursor.fetchall()]


@transaction.atomic
def profile_facts_rebuild(*, indicator_ids: list[int] | None = None) -> int:
    """Replace the profile facts of `indicator_ids` (and of what reads them; all indicators when
    None), in the caller's transaction. Returns the number of facts written."""
    with connection.cursor() as cursor:
        scope = _scope(cursor, indicator_ids)
        if indicator_ids is None:
            cursor.execute("TRUNCATE missions_profilefact")
        else:
            cursor.execute("DELETE FROM missions_profilefact WHERE indicator_id = ANY(%s)", [scope])
        if not scope:
            return 0
        # JIT compiling these wide expressions costs more (8 s of 16 for the facts) than it saves.
        cursor.execute("SET LOCAL work_mem = '256MB'; SET LOCAL jit = off")
        # The current series, newest first; `valued` counts back over the points with a value.
        cursor.execute(current_in("""
            DROP TABLE IF EXISTS pf_series, pf_latest, pf_pairs, pf_want, pf_computed, pf_bench, pf_rows, pf_trend;
            CREATE TEMP TABLE pf_series ON COMMIT DROP AS
            SELECT o.area_id, o.indicator_id, o.period_id, o.value, o.lci, o.uci, o.numerator, o.denominator,
                   o.status, o.rank, o.rank_of,
                   row_number() OVER (PARTITION BY o.area_id, o.indicator_id
                                      ORDER BY p."end" DESC, p.start DESC, p.id DESC) AS back,
                   CASE WHEN o.value IS NOT NULL THEN row_number() OVER (
                       PARTITION BY o.area_id, o.indicator_id, o.value IS NULL
                       ORDER BY p."end" DESC, p.start DESC, p.id DESC) END AS valued,
                   count(o.value) OVER (PARTITION BY o.area_id, o.indicator_id) AS points_all
            FROM indicators_observation o JOIN indicators_period p ON p.id = o.period_id
            WHERE CURRENT_RELEASE(o) AND o.indicator_id = ANY(%s);
            CREATE INDEX ON pf_series (area_id, indicator_id, period_id);
            ANALYZE pf_series;
        """, scope), [scope])
        # Each area's latest row, with its region and nation (the UK where it has no nation).
        cursor.execute("""
            CREATE TEMP TABLE pf_latest ON COMMIT DROP AS
            SELECT s.*, a.area_type_id, b.region_id, b.national_id
            FROM pf_series s JOIN geographies_area a ON a.id = s.area_id
            LEFT JOIN (
                SELECT aa.descendant_id, min(aa.ancestor_id) FILTER (WHERE t.code = 'RGN') AS region_id,
                       coalesce(min(aa.ancestor_id) FILTER (WHERE t.code = 'CTRY'),
                                min(aa.ancestor_id) FILTER (WHERE t.code = 'UK')) AS national_id
                FROM geographies_areaancestor aa JOIN geographies_vintage v ON v.id = aa.ancestor_vintage_id
                JOIN geographies_areatype t ON t.id = v.area_type_id
                WHERE t.code IN ('RGN', 'CTRY', 'UK') AND aa.descendant_id IN (SELECT area_id FROM pf_series WHERE back = 1)
                GROUP BY 1
            ) b ON b.descendant_id = s.area_id
            WHERE s.back = 1
        """)
        # Per latest row and comparator: the value published for the same period, else what to compute.
        summary = list(SUMMARY_OF.items())
        cursor.execute("""
            CREATE TEMP TABLE pf_pairs ON COMMIT DROP AS
            SELECT l.area_id, l.indicator_id, k.kind, k.comparator_id, m.value AS published, m.area_id IS NOT NULL AS matched,
                   CASE WHEN k.comparator_id IS NOT NULL AND m.area_id IS NULL AND (so.slug IS NOT NULL OR (
                            (i.aggregation, i.measure) IN (SELECT * FROM unnest(%s::text[], %s::text[]))
                            AND (i.aggregation <> 'weighted_mean' OR i.weight_indicator_id IS NOT NULL)))
                        THEN true ELSE false END AS wanted,
                   l.period_id, CASE WHEN so.slug IS NULL THEN l.indicator_id ELSE 0 END AS w_indicator,
                   coalesce(so.source, '') AS w_source, CASE WHEN so.slug IS NULL THEN l.area_type_id ELSE 0 END AS w_type,
                   coalesce(so.method, '') AS w_method
            FROM pf_latest l JOIN indicators_indicator i ON i.id = l.indicator_id
            CROSS JOIN LATERAL (VALUES ('region', l.region_id), ('national', l.national_id)) k(kind, comparator_id)
            LEFT JOIN pf_series m ON m.area_id = k.comparator_id AND m.indicator_id = l.indicator_id
                 AND m.period_id = l.period_id
            LEFT JOIN unnest(%s::text[], %s::text[], %s::text[]) so(slug, source, method) ON so.slug = i.slug;
            CREATE TEMP TABLE pf_want ON COMMIT DROP AS
            SELECT (row_number() OVER ())::int AS key, comparator_id, period_id, nullif(w_indicator, 0) AS indicator_id,
                   nullif(w_source, '') AS source, nullif(w_type, 0) AS type_id, nullif(w_method, '') AS method
            FROM (SELECT DISTINCT comparator_id, period_id, w_indicator, w_source, w_type, w_method
                  FROM pf_pairs WHERE wanted) w;
            ANALYZE pf_latest; ANALYZE pf_pairs; ANALYZE pf_want;
            CREATE TEMP TABLE pf_computed (key int PRIMARY KEY, method text, value float8, coverage float8,
                                           reason text) ON COMMIT DROP;
        """, [[r for r, _ in COMPUTED_BY_OWN_RULE], [m for _, m in COMPUTED_BY_OWN_RULE],
              [s for s, _ in summary], [v[0] for _, v in summary], [v[1] for _, v in summary]])
        cursor.execute(_computed_sql().as_string(cursor.cursor))
        # Each comparator's value (published, computed or none), then both beside each latest value.
        cursor.execute(sql.SQL("""
            CREATE TEMP TABLE pf_bench ON COMMIT DROP AS {bench};
            ANALYZE pf_bench;
            CREATE TEMP TABLE pf_rows ON COMMIT DROP AS
            SELECT l.area_id, l.indicator_id, l.period_id, l.value, l.lci, l.uci, l.numerator, l.denominator,
                   l.status, l.rank, l.rank_of, l.points_all, i.measure, i.polarity, i.decimal_places,
                   (i.measure = 'count' OR i.aggregation = 'sum') AS totals,
                   l.region_id, r.bench AS region_value, r.source AS region_source, r.coverage AS region_coverage,
                   r.places AS region_places, CASE WHEN l.value IS NOT NULL THEN r.reason END AS region_reason,
                   l.national_id, n.bench AS national_value, n.source AS national_source,
                   n.coverage AS national_coverage, n.places AS national_places,
                   CASE WHEN l.value IS NOT NULL THEN n.reason END AS national_reason
            FROM pf_latest l JOIN indicators_indicator i ON i.id = l.indicator_id
            JOIN pf_bench r ON r.area_id = l.area_id AND r.indicator_id = l.indicator_id AND r.kind = 'region'
            JOIN pf_bench n ON n.area_id = l.area_id AND n.indicator_id = l.indicator_id AND n.kind = 'national'
        """).format(bench=_bench()).as_string(cursor.cursor))
        # The last five points with a value, oldest first (x = 1 ...), summed for the trend tests;
        # only for the series with the three a trend needs (a series with fewer has no trend, and
        # its points are counted by pf_series: IoD's 810,120 single-period series cost 4 s here).
        cursor.execute("""
            CREATE TEMP TABLE pf_trend ON COMMIT DROP AS
            SELECT s.area_id, s.indicator_id, count(*) AS points,
                   max(s.value) FILTER (WHERE s.x = 1) AS first_value, max(s.lci) FILTER (WHERE s.x = 1) AS first_lci,
                   max(s.uci) FILTER (WHERE s.x = 1) AS first_uci,
                   max(s.value) FILTER (WHERE s.valued = 1) AS last_value,
                   max(s.lci) FILTER (WHERE s.valued = 1) AS last_lci, max(s.uci) FILTER (WHERE s.valued = 1) AS last_uci,
                   max(i.measure) IN ('percentage', 'rate') AND bool_and(coalesce(s.numerator IS NOT NULL AND s.denominator > 0, false))
                       AND (max(i.measure) = 'rate' OR bool_and(s.numerator >= 0 AND s.numerator <= s.denominator))
                       AS chi2,
                   sum(s.numerator) AS r, sum(s.denominator) AS n, sum(s.denominator * s.x) AS sx,
                   sum(s.denominator * s.x * s.x) AS sxx, sum(s.numerator * s.x) AS srx,
                   coalesce(bool_and(s.step > 0), false) AS all_up, coalesce(bool_and(s.step < 0), false) AS all_down
            FROM (SELECT p.*, (count(*) OVER w) + 1 - p.valued AS x,
                         p.value - lag(p.value) OVER (PARTITION BY p.area_id, p.indicator_id ORDER BY p.valued DESC) AS step
                  FROM pf_series p WHERE p.valued <= %s AND p.points_all >= %s
                  WINDOW w AS (PARTITION BY p.area_id, p.indicator_id)) s
            JOIN indicators_indicator i ON i.id = s.indicator_id
            GROUP BY s.area_id, s.indicator_id;
            ANALYZE pf_rows; ANALYZE pf_trend;
        """, [stats.TREND_POINTS, stats.TREND_MIN_POINTS])
        cursor.execute(_facts_sql().as_string(cursor.cursor))
        written = cursor.rowcount
        profile_spreads_rebuild(cursor, scope=None if indicator_ids is None else scope)
        # Fresh statistics, or the planner (guessing thousands of facts an area) reads a dozen
        # areas' profiles by a sequential scan of them all: 500 ms instead of 5. Not after a small
        # change (at most a tenth of the facts rewritten): the statistics still hold, and the
        # ANALYZE (0.7 s) was a third of a small dataset's load.
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = 'missions_profilefact'::regclass")
        if indicator_ids is None or written * ANALYZE_SHARE > cursor.fetchone()[0]:
            cursor.execute("ANALYZE missions_profilefact")
        cursor.execute("DROP TABLE pf_series, pf_latest, pf_pairs, pf_want, pf_computed, pf_bench, pf_rows, pf_trend")
    return written


def _bench() -> sql.Composable:
    """Each comparator's value: published for the same period, else computed (rounded by its
    method's places), else none; with its source, coverage, places and why it was not computed."""
    return sql.SQL("""
        SELECT p.area_id, p.indicator_id, p.kind,
               CASE WHEN p.matched THEN p.published ELSE {rounded} END AS bench,
               CASE WHEN p.matched AND p.published IS NOT NULL THEN 'published'
                    WHEN NOT p.matched AND c.value IS NOT NULL THEN 'computed' END AS source,
               CASE WHEN NOT p.matched THEN c.coverage END AS coverage,
               CASE WHEN NOT p.matched AND c.key IS NOT NULL THEN {places} END AS places,
               CASE WHEN NOT p.matched THEN c.reason END AS reason
        FROM pf_pairs p JOIN indicators_indicator i ON i.id = p.indicator_id
        LEFT JOIN pf_want w ON p.wanted AND w.comparator_id = p.comparator_id AND w.period_id = p.period_id
             AND coalesce(w.indicator_id, 0) = p.w_indicator AND coalesce(w.source, '') = p.w_source
             AND coalesce(w.type_id, 0) = p.w_type AND coalesce(w.method, '') = p.w_method
        LEFT JOIN pf_computed c ON c.key = w.key
    """).format(rounded=_round("c.value", _places("c.method", "i.decimal_places")),
                places=_places("c.method", "i.decimal_places"))


# The spread of each (indicator, period, area type) a fact holds: over the current values of the
# areas of that type, per country letter and over all of them (GROUPING SETS: one sort a group),
# as the explorer's spine chart shows it; the quartiles rounded as every derived number is.
SPREADS_SQL = f"""
    INSERT INTO missions_profilespread (indicator_id, period_id, area_type_id, country, areas, low, q1, q3, high)
    SELECT o.indicator_id, o.period_id, a.area_type_id,
           CASE WHEN grouping(c.letter) = 1 THEN '' ELSE c.letter END, count(*), min(o.value),
           round((percentile_cont(0.25) WITHIN GROUP (ORDER BY o.value))::numeric,
                 i.decimal_places + {DERIVED_EXTRA_PLACES})::float8,
           round((percentile_cont(0.75) WITHIN GROUP (ORDER BY o.value))::numeric,
                 i.decimal_places + {DERIVED_EXTRA_PLACES})::float8,
           max(o.value)
    FROM (SELECT DISTINCT f.indicator_id, f.period_id, a.area_type_id
          FROM missions_profilefact f JOIN geographies_area a ON a.id = f.area_id {{scope}}) k
    JOIN indicators_observation o ON o.indicator_id = k.indicator_id AND o.period_id = k.period_id
         AND CURRENT_RELEASE(o) AND o.value IS NOT NULL
    JOIN geographies_area a ON a.id = o.area_id AND a.area_type_id = k.area_type_id
    JOIN indicators_indicator i ON i.id = o.indicator_id
    CROSS JOIN LATERAL (SELECT CASE WHEN left(a.code, 1) IN ('E', 'W', 'S', 'N') THEN left(a.code, 1) END) c(letter)
    GROUP BY GROUPING SETS ((o.indicator_id, o.period_id, a.area_type_id, i.decimal_places, c.letter),
                            (o.indicator_id, o.period_id, a.area_type_id, i.decimal_places))
    HAVING grouping(c.letter) = 1 OR c.letter IS NOT NULL
"""


def profile_spreads_rebuild(cursor, *, scope: list[int] | None) -> int:
    """Replace the spreads (missions.models.ProfileSpread) of the facts of the indicators in `scope`
    (all when None), from the facts and observations as they stand. Returns the rows written."""
    if scope is None:
        cursor.execute("TRUNCATE missions_profilespread")
        cursor.execute(current_in(SPREADS_SQL.format(scope="")))
    else:
        cursor.execute("DELETE FROM missions_profilespread WHERE indicator_id = ANY(%s)", [scope])
        # Only the partitions holding the scope's values: planned over every current partition, a
        # 28-row dataset's spreads took 1.2 s of its 2 s load (a hash of every current observation).
        cursor.execute(current_in(SPREADS_SQL.format(scope="WHERE f.indicator_id = ANY(%(scope)s::int[])"), scope),
                       {"scope": scope})
    return cursor.rowcount

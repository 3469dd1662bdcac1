"""The statistics methods behind profiles and progress (missions.statistics), on hand-checkable
cases and published worked examples."""

import math

import pytest

from missions.statistics import (
    BYAR,
    POISSON_EXACT,
    PUBLISHED_CI,
    QUINTILE,
    TREND_CHI2,
    TREND_CI,
    TREND_MONOTONIC,
    WILSON,
    Interval,
    Point,
    area_interval,
    byar_interval,
    chi_squared_trend,
    compare,
    compare_interval,
    decile,
    poisson_exact_interval,
    quintile_placement,
    rescaled_interval,
    status_open_sdg,
    trend,
    wilson_interval,
    z_value,
)

HIGHER, LOWER, NEUTRAL = "higher_is_better", "lower_is_better", "neutral"


def test_z_values_of_fingertips_two_levels():
    assert z_value(95) == pytest.approx(1.959964, abs=1e-6)
    assert z_value(99.8) == pytest.approx(3.090232, abs=1e-6)


@pytest.mark.parametrize(("numerator", "denominator", "lower", "upper"), [
    # Newcombe (1998), Statistics in Medicine 17:857-872, table II, method 3 (Wilson's score interval).
    (81, 263, 0.2553, 0.3662),
    (15, 148, 0.0624, 0.1605),
    (0, 20, 0.0, 0.1611),
    (1, 29, 0.0061, 0.1718),
])
def test_wilson_score_interval_reproduces_newcombes_worked_examples(numerator, denominator, lower, upper):
    assert wilson_interval(numerator, denominator) == pytest.approx((lower, upper), abs=5e-5)


def test_wilson_interval_is_wider_at_998_and_refuses_what_is_not_a_proportion():
    low95, high95 = wilson_interval(81, 263)
    low998, high998 = wilson_interval(81, 263, 99.8)
    assert low998 < low95 < 81 / 263 < high95 < high998
    with pytest.raises(ValueError):
        wilson_interval(30, 20)


@pytest.mark.parametrize(("count", "lower", "upper"), [
    # Exact Poisson limits (Garwood 1936; the tables in Breslow & Day 1987, appendix II).
    (0, 0.0, 3.689), (1, 0.0253, 5.572), (5, 1.6235, 11.668), (10, 4.7954, 18.3904), (100, 81.364, 121.627),
])
def test_exact_poisson_interval_matches_the_tables(count, lower, upper):
    assert poisson_exact_interval(count) == pytest.approx((lower, upper), abs=1e-3)


def test_byar_approximation_is_close_to_exact_from_ten_events():
    # Byar: O(1 - 1/9O - z/3√O)³ and (O+1)(1 - 1/9(O+1) + z/3√(O+1))³. For O = 100 at 95%:
    # 100 × (1 - 0.001111 - 0.065333)³ = 81.362 and 101 × (1 - 0.0011 + 0.065009)³ = 121.628.
    assert byar_interval(100) == pytest.approx((81.362, 121.628), abs=1e-3)
    for count in (10, 25, 100, 1000):
        exact, byar = poisson_exact_interval(count), byar_interval(count)
        assert byar == pytest.approx(exact, rel=2e-3)
    # At 99.8% the interval is wider.
    assert byar_interval(100, 99.8)[0] < 81.362 and byar_interval(100, 99.8)[1] > 121.628


def test_published_95_interval_rescaled_to_998_keeps_each_side():
    # Blackpool's median weekly pay 2025: 539.9 (489.106208 to 590.693792); each side x 3.090232/1.959964.
    low, high = rescaled_interval(539.9, 489.106208, 590.693792, 99.8)
    assert (low, high) == pytest.approx((539.9 - 50.793792 * 1.576678, 539.9 + 50.793792 * 1.576678), abs=1e-3)
    assert rescaled_interval(10.0, 9.0, 13.0, 99.8) == pytest.approx((10 - 1.576678, 10 + 3 * 1.576678), abs=1e-5)
    assert rescaled_interval(10.0, 9.0, 13.0, 95) == (9.0, 13.0)


def test_area_interval_prefers_the_published_one_then_numerator_and_denominator():
    published = area_interval(value=50.0, lci=45.0, uci=55.0, numerator=50, denominator=100, measure="percentage",
                              level=95)
    assert (published.lower, published.upper, published.method) == (45.0, 55.0, PUBLISHED_CI)
    wilson = area_interval(value=30.798479, lci=None, uci=None, numerator=81, denominator=263, measure="percentage",
                           level=95)
    assert wilson.method == WILSON and (wilson.lower, wilson.upper) == pytest.approx((25.53, 36.62), abs=5e-3)
    # 100 deaths in 50,000 people: 200 per 100,000, Byar's 81.362-121.628 deaths -> 162.7-243.3.
    rate = area_interval(value=200.0, lci=None, uci=None, numerator=100, denominator=50_000, measure="rate", level=95)
    assert rate.method == BYAR and (rate.lower, rate.upper) == pytest.approx((162.72, 243.26), abs=0.01)
    small = area_interval(value=10.0, lci=None, uci=None, numerator=5, denominator=50_000, measure="rate", level=95)
    assert small.method == POISSON_EXACT and small.lower == pytest.approx(1.6235 * 2, abs=1e-3)
    assert area_interval(value=7.0, lci=None, uci=None, numerator=None, denominator=None, measure="mean",
                         level=95) is None


@pytest.mark.parametrize(("interval", "bench", "polarity", "expected"), [
    ((47.3, 54.4), 58.3, HIGHER, "worse"),
    ((47.3, 54.4), 40.0, HIGHER, "better"),
    ((47.3, 54.4), 50.0, HIGHER, "similar"),
    ((47.3, 54.4), 54.4, HIGHER, "similar"),  # the interval's end counts as inside
    ((10.0, 14.0), 20.0, LOWER, "better"),
    ((10.0, 14.0), 8.0, LOWER, "worse"),
    ((10.0, 14.0), 20.0, NEUTRAL, "lower"),
    ((10.0, 14.0), 8.0, NEUTRAL, "higher"),
    ((10.0, 14.0), 12.0, NEUTRAL, "similar"),
])
def test_compare_interval(interval, bench, polarity, expected):
    assert compare_interval(Interval(*interval, PUBLISHED_CI), bench, polarity) == expected


@pytest.mark.parametrize(("rank", "rank_of", "polarity", "expected"), [
    (1, 361, HIGHER, "best quintile"),
    (72, 361, HIGHER, "best quintile"),          # ceil(5 x 72 / 361) = 1
    (73, 361, HIGHER, "second-best quintile"),   # ceil(5 x 73 / 361) = 2
    (181, 361, LOWER, "middle quintile"),
    (288, 361, HIGHER, "second-worst quintile"),  # ceil(3.99) = 4
    (361, 361, LOWER, "worst quintile"),
    (1, 361, NEUTRAL, "highest quintile"),
    (361, 361, NEUTRAL, "lowest quintile"),
    (1, 4, HIGHER, "not compared: fewer than 5 areas ranked"),
])
def test_quintile_placement(rank, rank_of, polarity, expected):
    assert quintile_placement(rank, rank_of, polarity) == expected


def test_decile_of_a_published_rank_is_the_publishers():
    # IoD: deciles are tenths of the 32,844 LSOAs by rank, 1 = most deprived: ranks 1-3284 are decile 1.
    assert decile(4421, 32844) == 2  # Manchester 018A's IMD 2019 barriers rank
    assert (decile(3284, 32844), decile(3285, 32844), decile(32844, 32844)) == (1, 2, 10)
    assert decile(None, 32844) is None


def test_compare_chooses_the_method_and_needs_a_comparator():
    ci = Interval(47.3, 54.4, PUBLISHED_CI)
    common = {"value": 50.9, "polarity": HIGHER, "rank": 195, "rank_of": 195}
    assert compare(interval=ci, benchmark=58.3, **common).outcome == "worse"
    assert compare(interval=ci, benchmark=58.3, **common).method == PUBLISHED_CI
    placed = compare(interval=None, benchmark=58.3, **common)
    assert (placed.outcome, placed.method) == ("worst quintile", QUINTILE)
    # Totals are placed, never compared with the region's total, whatever their interval.
    assert compare(interval=ci, benchmark=1e6, totals=True, **common).method == QUINTILE
    assert compare(interval=ci, benchmark=None, **common).outcome == "no comparator value"
    assert compare(interval=ci, benchmark=None, **common).method is None
    assert compare(interval=None, benchmark=3.0, placement=True, **common).method is None
    assert compare(interval=None, benchmark=3.0, **{**common, "value": None}).outcome == "not compared: no value"


def test_chi_squared_test_for_trend_by_hand():
    # Proportions 16/45, 9/45, 2/41 at scores 1, 2, 3: R = 27, N = 131, p = 27/131;
    # Σn·x = 258, Σn·x² = 594, Σr·x = 40; slope = 40 - 27 x 258/131 = -13.1756;
    # X² = 13.1756² / [p(1-p)(594 - 258²/131)] = 173.596 / 14.0521 = 12.354.
    statistic, slope = chi_squared_trend([16, 9, 2], [45, 45, 41])
    assert statistic == pytest.approx(12.354, abs=1e-3) and slope == pytest.approx(-13.1756, abs=1e-4)
    # The same statistic is N r², r the correlation of score and outcome over the 131 records.
    records = [(x, 1) for x, r in zip((1, 2, 3), (16, 9, 2), strict=True) for _ in range(r)] + \
              [(x, 0) for x, r, n in zip((1, 2, 3), (16, 9, 2), (45, 45, 41), strict=True) for _ in range(n - r)]
    n = len(records)
    mx, my = sum(x for x, _ in records) / n, sum(y for _, y in records) / n
    cov = sum((x - mx) * (y - my) for x, y in records)
    r2 = cov ** 2 / (sum((x - mx) ** 2 for x, _ in records) * sum((y - my) ** 2 for _, y in records))
    assert statistic == pytest.approx(n * r2, rel=1e-9)
    # Rates: 10, 20, 30 events in 1,000 person-years each: the Poisson score test, slope 20, X² = 400 / 40 = 10.
    assert chi_squared_trend([10, 20, 30], [1000, 1000, 1000], kind="rate") == pytest.approx((10.0, 20.0))


def test_trend_methods():
    assert trend([Point(1), Point(2)], HIGHER) == ("not enough data", None)
    assert trend([Point(1), Point(2), Point(3)], HIGHER) == ("increasing, getting better", TREND_MONOTONIC)
    assert trend([Point(3), Point(2), Point(1)], HIGHER) == ("decreasing, getting worse", TREND_MONOTONIC)
    assert trend([Point(1), Point(3), Point(2)], LOWER) == ("no significant change", TREND_MONOTONIC)
    # With intervals: only non-overlapping ends count; at 99.8% the wider intervals overlap.
    assert trend([Point(10, 9, 11), Point(12, 11, 13), Point(10.5, 9.5, 11.5)], LOWER) == (
        "no significant change", TREND_CI)
    assert trend([Point(10, 9, 11), Point(12, 11, 13), Point(14, 13, 15)], LOWER) == (
        "increasing, getting worse", TREND_CI)
    assert trend([Point(10, 9.5, 10.5), Point(11, 10.5, 11.5), Point(11.2, 10.7, 11.7)], NEUTRAL) == (
        "increasing", TREND_CI)
    assert trend([Point(10, 9.5, 10.5), Point(11, 10.5, 11.5), Point(11.2, 10.7, 11.7)], NEUTRAL, level=99.8) == (
        "no significant change", TREND_CI)


def test_trend_by_chi_squared_where_numerators_and_denominators_are_known():
    falling = [Point(100 * r / n, numerator=r, denominator=n) for r, n in ((16, 45), (9, 45), (2, 41))]
    assert trend(falling, LOWER, measure="percentage") == ("decreasing, getting better", TREND_CHI2)
    assert trend(falling, LOWER, measure="percentage", level=99.8) == ("decreasing, getting better", TREND_CHI2)
    # X² = 4.16 (above 3.84, below 9.55): a change at 95%, none at 99.8%.
    modest = [Point(100 * r / n, numerator=r, denominator=n) for r, n in ((30, 200), (38, 200), (46, 200))]
    statistic, _ = chi_squared_trend([30, 38, 46], [200, 200, 200])
    assert 3.84 < statistic < 9.55
    assert trend(modest, HIGHER, measure="percentage") == ("increasing, getting better", TREND_CHI2)
    assert trend(modest, HIGHER, measure="percentage", level=99.8) == ("no significant change", TREND_CHI2)
    # Without a denominator at every point the test cannot run: back to the monotonic rule.
    gap = modest[:2] + [Point(23.0)]
    assert trend(gap, HIGHER, measure="percentage")[1] == TREND_MONOTONIC


def test_status_open_sdg():
    # 50 -> 60 in 5 years towards 90 by 10 years after the baseline: needs 6.05%/yr, achieved 3.71%/yr.
    assert status_open_sdg(baseline=50, latest=60, years=5, target=90, target_years=10,
                           polarity=HIGHER) == "needs acceleration"
    assert math.isclose((60 / 50) ** (1 / 5) - 1, 0.0371, abs_tol=1e-4)
    assert status_open_sdg(baseline=50, latest=75, years=5, target=90, target_years=10, polarity=HIGHER) == "on track"
    assert status_open_sdg(baseline=50, latest=52, years=5, target=90, target_years=10,
                           polarity=HIGHER) == "limited progress"
    assert status_open_sdg(baseline=50, latest=45, years=5, target=90, target_years=10,
                           polarity=HIGHER) == "deteriorating"
    assert status_open_sdg(baseline=50, latest=45, years=0, target=90, target_years=10,
                           polarity=HIGHER) == "not assessable"

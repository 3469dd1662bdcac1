"""Statistics methods behind profiles and progress: confidence intervals (published, Wilson score,
Byar), comparison with a benchmark, quintile placement, trends (interval overlap, the chi-squared
test for trend, monotonic change) and Open SDG's progress status. Pure functions of numbers:
missions.selectors reads the data and calls these. Methods and references: docs/missions.md."""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

HIGHER, LOWER, NEUTRAL = "higher_is_better", "lower_is_better", "neutral"
LEVELS = (95.0, 99.8)  # the confidence levels Fingertips uses; 95 is the default
DEFAULT_LEVEL = 95.0
TREND_POINTS = 5
TREND_MIN_POINTS = 3  # fewer points with a value: not enough data for a trend
QUINTILE_MIN_AREAS = 5  # fewer areas than quintiles: no placement (FingertipsNext's rule)

# comparison_method values
PUBLISHED_CI, WILSON, BYAR, POISSON_EXACT, QUINTILE = "confidence_interval", "wilson", "byar", "poisson_exact", "quintile"
# trend_method values
TREND_CI, TREND_CHI2, TREND_MONOTONIC = "confidence_interval_overlap", "chi_squared_trend", "monotonic"

NO_COMPARATOR = "no comparator value"
NO_VALUE = "not compared: no value"
QUINTILE_NAMES = {
    HIGHER: ["best", "second-best", "middle", "second-worst", "worst"],
    LOWER: ["best", "second-best", "middle", "second-worst", "worst"],
    NEUTRAL: ["highest", "second-highest", "middle", "second-lowest", "lowest"],
}


def z_value(level: float) -> float:
    """The two-sided standard normal quantile: 1.959964 at 95%, 3.090232 at 99.8%."""
    return NormalDist().inv_cdf(1 - (1 - level / 100) / 2)


# -- intervals ----------------------------------------------------------------------------------
def wilson_interval(numerator: float, denominator: float, level: float = DEFAULT_LEVEL) -> tuple[float, float]:
    """Wilson (1927) score interval for a proportion numerator/denominator, as a proportion (0-1):
    (2np + z² ± z√(z² + 4np(1-p))) / 2(n + z²); it stays inside [0, 1] and is right for 0 and n."""
    if denominator <= 0 or not 0 <= numerator <= denominator:
        raise ValueError(f"a proportion needs 0 <= numerator <= denominator, got {numerator}/{denominator}")
    z, n = z_value(level), denominator
    p = numerator / n
    centre, spread, scale = 2 * n * p + z * z, z * math.sqrt(z * z + 4 * n * p * (1 - p)), 2 * (n + z * z)
    return max(0.0, (centre - spread) / scale), min(1.0, (centre + spread) / scale)


def byar_interval(count: float, level: float = DEFAULT_LEVEL) -> tuple[float, float]:
    """Byar's approximation to the exact Poisson interval for an observed count O:
    lower O(1 - 1/9O - z/3√O)³ (0 when O is 0), upper (O+1)(1 - 1/9(O+1) + z/3√(O+1))³."""
    if count < 0:
        raise ValueError(f"a count cannot be negative, got {count}")
    z, o = z_value(level), float(count)
    lower = o * (1 - 1 / (9 * o) - z / (3 * math.sqrt(o))) ** 3 if o > 0 else 0.0
    upper = (o + 1) * (1 - 1 / (9 * (o + 1)) + z / (3 * math.sqrt(o + 1))) ** 3
    return max(0.0, lower), upper


BYAR_MIN_COUNT = 10  # below, the exact interval (PHEindicatormethods: Byar's method is inaccurate for few events)


def poisson_exact_interval(count: int, level: float = DEFAULT_LEVEL) -> tuple[float, float]:
    """The exact (Garwood) interval for a Poisson count O: the means at which O or more, and O or
    fewer, events each have probability (1 - level)/2. Found by bisection on the Poisson
    distribution (O + 1 terms)."""
    if count < 0 or count != int(count):
        raise ValueError(f"an exact Poisson interval needs a whole count, got {count}")
    tail, o = (1 - level / 100) / 2, int(count)

    def at_most(k: int, mean: float) -> float:  # P(X <= k), each term in logs (no underflow at large means)
        if mean <= 0:
            return 1.0
        return min(1.0, math.fsum(math.exp(i * math.log(mean) - mean - math.lgamma(i + 1)) for i in range(k + 1)))

    def solve(f, rising: bool, high: float) -> float:  # the mean at which f(mean) = tail
        low = 0.0
        for _ in range(200):
            mid = (low + high) / 2
            if (f(mid) < tail) == rising:
                low = mid
            else:
                high = mid
        return (low + high) / 2

    ceiling = o + 20 * math.sqrt(o + 1) + 20
    upper = solve(lambda m: at_most(o, m), False, ceiling)
    lower = 0.0 if o == 0 else solve(lambda m: 1 - at_most(o - 1, m), True, ceiling)
    return lower, upper


def rescaled_interval(value: float, lci: float, uci: float, level: float) -> tuple[float, float]:
    """A published 95% interval at another level: each side's distance from the value scaled by
    z(level)/z(95) (normality on each side; asymmetric intervals stay asymmetric)."""
    if level == DEFAULT_LEVEL:
        return lci, uci
    k = z_value(level) / z_value(DEFAULT_LEVEL)
    return value - (value - lci) * k, value + (uci - value) * k


@dataclass(frozen=True)
class Interval:
    lower: float
    upper: float
    method: str


def area_interval(*, value: float | None, lci: float | None, uci: float | None, numerator: float | None,
                  denominator: float | None, measure: str, level: float) -> Interval | None:
    """The area's interval at `level`, in the value's own units: the published one where there is
    one; else computed from the numerator and denominator (Wilson for percentages; for rates Byar,
    or the exact Poisson interval below 10 events, as PHEindicatormethods does); else None (the
    caller places the area by quintile)."""
    if value is None:
        return None
    if lci is not None and uci is not None:
        return Interval(*rescaled_interval(value, lci, uci, level), PUBLISHED_CI)
    if numerator is None or denominator is None or denominator <= 0 or numerator < 0:
        return None
    if measure == "percentage" and numerator <= denominator:
        low, high = wilson_interval(numerator, denominator, level)
        return Interval(low * _scale(value, numerator / denominator, 100.0),
                        high * _scale(value, numerator / denominator, 100.0), WILSON)
    if measure == "rate" and numerator > 0:
        exact = numerator < BYAR_MIN_COUNT and numerator == int(numerator)
        low, high = poisson_exact_interval(int(numerator), level) if exact else byar_interval(numerator, level)
        per = value / numerator  # the rate's multiplier over the denominator (per 1,000, per 100,000...)
        return Interval(low * per, high * per, POISSON_EXACT if exact else BYAR)
    return None


def _scale(value: float, proportion: float, default: float) -> float:
    """What the published value is the proportion times (100 for a percentage)."""
    return value / proportion if proportion else default


# -- comparison -----------------------------------------------------------------------------------
def compare_interval(interval: Interval, benchmark: float, polarity: str) -> str:
    """Fingertips' comparison: similar when the area's interval contains the benchmark's value;
    otherwise better or worse by polarity, higher or lower when the indicator has none."""
    if interval.lower <= benchmark <= interval.upper:
        return "similar"
    higher = interval.lower > benchmark
    if polarity not in (HIGHER, LOWER):
        return "higher" if higher else "lower"
    return "better" if higher == (polarity == HIGHER) else "worse"


def quintile(rank: int | None, rank_of: int | None) -> int | None:
    """1 to 5 from a rank among `rank_of` areas (rank 1 = best, or highest when neutral): the
    quintile holding ceil(5 x rank / rank_of)."""
    if not rank or not rank_of or rank_of < QUINTILE_MIN_AREAS or rank > rank_of:
        return None
    return math.ceil(5 * rank / rank_of)


def quintile_placement(rank: int | None, rank_of: int | None, polarity: str) -> str:
    q = quintile(rank, rank_of)
    if q is None:
        return f"not compared: fewer than {QUINTILE_MIN_AREAS} areas ranked" if rank else NO_VALUE
    return f"{QUINTILE_NAMES.get(polarity, QUINTILE_NAMES[NEUTRAL])[q - 1]} quintile"


def decile(rank: int | None, rank_of: int | None) -> int | None:
    """ceil(10 x rank / rank_of): for a published rank the publisher's decile (IoD: decile 1 holds
    the most deprived 10%; rank 4421 of 32,844 is decile 2), for our ranks 1 = best tenth."""
    if not rank or not rank_of or rank > rank_of:
        return None
    return math.ceil(10 * rank / rank_of)


@dataclass(frozen=True)
class Comparison:
    outcome: str
    method: str | None


def compare(*, value: float | None, interval: Interval | None, benchmark: float | None, polarity: str,
            rank: int | None, rank_of: int | None, totals: bool = False, placement: bool = False) -> Comparison:
    """One comparison with one benchmark. By the area's interval where it has one; by quintile
    placement among all areas of its type otherwise, and always for totals (a count, or any sum:
    an area's total against its region's total says nothing). No benchmark value, no comparison;
    nor for a rank or decile (`placement`), which already says where the area stands among all."""
    if value is None:
        return Comparison(NO_VALUE, None)
    if benchmark is None:
        return Comparison(NO_COMPARATOR, None)
    if placement:
        return Comparison("not compared: a rank or decile places the area among all areas (see decile)", None)
    if interval is not None and not totals:
        return Comparison(compare_interval(interval, benchmark, polarity), interval.method)
    return Comparison(quintile_placement(rank, rank_of, polarity), QUINTILE)


# -- trends ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Point:
    value: float
    lci: float | None = None
    uci: float | None = None
    numerator: float | None = None
    denominator: float | None = None


def chi_squared_trend(numerators: list[float], denominators: list[float], *, kind: str = "proportion",
                      scores: list[float] | None = None) -> tuple[float, float]:
    """The chi-squared test for trend (one degree of freedom) over ordered points, with its slope's
    sign as the second value. Proportions (Armitage 1955, Cochran-Armitage): X² = [Σr·x − R·Σn·x/N]²
    / [p(1−p)(Σn·x² − (Σn·x)²/N)] with p = R/N. Rates (counts r over person-years n): the Poisson
    score test, the same with p(1−p) replaced by R/N."""
    x = scores or list(range(1, len(numerators) + 1))
    big_r, big_n = sum(numerators), sum(denominators)
    if big_n <= 0:
        raise ValueError("the denominators sum to zero")
    p = big_r / big_n
    sx = sum(n * xi for n, xi in zip(denominators, x, strict=True))
    sxx = sum(n * xi * xi for n, xi in zip(denominators, x, strict=True))
    srx = sum(r * xi for r, xi in zip(numerators, x, strict=True))
    slope = srx - big_r * sx / big_n
    variance = (p * (1 - p) if kind == "proportion" else p) * (sxx - sx * sx / big_n)
    if variance <= 0:
        return 0.0, 0.0
    return slope * slope / variance, slope


def trend(points: list[Point], polarity: str, *, measure: str = "", level: float = DEFAULT_LEVEL,
          ) -> tuple[str, str | None]:
    """Direction over the last points (oldest first, up to five) and the method used:
    - numerators and denominators at every point (percentages, rates): the chi-squared test for
      trend, significant when X² exceeds the chi-squared(1) quantile at `level` (3.84 at 95%);
    - else intervals at both ends (at `level`): a change only when they do not overlap;
    - else a monotonic change: every step the same way (Mann-Kendall's S at its maximum).
    Fewer than three points: not enough data, no method."""
    if len(points) < TREND_MIN_POINTS:
        return "not enough data", None
    kind = {"percentage": "proportion", "rate": "rate"}.get(measure)
    first, last = points[0], points[-1]
    if kind and all(p.numerator is not None and p.denominator and p.denominator > 0 for p in points) and (
            kind == "rate" or all(0 <= p.numerator <= p.denominator for p in points)):
        statistic, slope = chi_squared_trend([p.numerator for p in points], [p.denominator for p in points], kind=kind)
        moved, method = (0 if statistic <= z_value(level) ** 2 else 1 if slope > 0 else -1), TREND_CHI2
    elif None not in (first.lci, first.uci, last.lci, last.uci):
        l0, u0 = rescaled_interval(first.value, first.lci, first.uci, level)
        l1, u1 = rescaled_interval(last.value, last.lci, last.uci, level)
        moved, method = (1 if l1 > u0 else -1 if u1 < l0 else 0), TREND_CI
    else:
        steps = [b.value - a.value for a, b in zip(points, points[1:], strict=False)]
        moved = 1 if all(s > 0 for s in steps) else -1 if all(s < 0 for s in steps) else 0
        method = TREND_MONOTONIC
    if moved == 0:
        return "no significant change", method
    direction = "increasing" if moved > 0 else "decreasing"
    if polarity == HIGHER:
        return f"{direction}, getting {'better' if moved > 0 else 'worse'}", method
    if polarity == LOWER:
        return f"{direction}, getting {'worse' if moved > 0 else 'better'}", method
    return direction, method


# -- progress -------------------------------------------------------------------------------------
def status_open_sdg(*, baseline: float, latest: float, years: float, target: float | None, target_years: float,
                    polarity: str) -> str:
    """Open SDG's progress measure: the compound annual growth rate achieved since the baseline,
    against the rate needed to reach the target by the target year (or, without a target value,
    the direction by polarity)."""
    if years <= 0 or baseline in (None, 0) or latest is None or baseline * latest <= 0:
        return "not assessable"
    achieved = (latest / baseline) ** (1 / years) - 1
    if target is None:
        good = achieved > 0 if polarity != LOWER else achieved < 0
        return "improving" if good and achieved != 0 else "deteriorating" if achieved != 0 else "no change"
    if target_years <= 0 or target * baseline <= 0:
        return "not assessable"
    needed = (target / baseline) ** (1 / target_years) - 1
    if needed == 0:
        return "on track" if achieved == 0 else "deteriorating"
    ratio = achieved / needed
    if ratio >= 0.95:
        return "on track"
    if ratio >= 0.5:
        return "needs acceleration"
    if ratio > 0:
        return "limited progress"
    return "deteriorating"

"""The charts' geometry, drawn server-side as SVG: the area page's spine charts and sparklines, a
mission page's gap chart and the quintiles of its small-multiple maps. Pure functions of the served
numbers, so a chart needs no JavaScript and shows exactly the values of the table beside it.

A spine chart is Fingertips': one bar per indicator spanning the lowest to the highest value of
the areas of the same type in the country, worst on the left and best on the right (lowest to
highest when the indicator has no polarity), the middle half (25th to 75th percentile) darker,
the national value as the centre line, the region as a diamond and the area as a circle coloured
by its comparison with the nation."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from indicators.models import Indicator

from .formatting import served
from .selectors import Distribution

LOWER = Indicator.Polarity.LOWER_IS_BETTER

SPINE_WIDTH, SPINE_HEIGHT, SPINE_PAD = 200, 26, 8
SPARK_WIDTH, SPARK_HEIGHT, SPARK_PAD = 88, 26, 4

# The comparison outcomes (missions.statistics) as classes; the colours (static/explorer/explorer.css
# and the legend) are Okabe and Ito's, told apart with any colour vision, and every outcome is also
# written out in the table, so colour is never the only cue.
OUTCOMES = {
    "better": "better", "similar": "similar", "worse": "worse", "higher": "higher", "lower": "lower",
    "best quintile": "q1", "second-best quintile": "q2", "middle quintile": "q3", "second-worst quintile": "q4",
    "worst quintile": "q5", "highest quintile": "n1", "second-highest quintile": "n2",
    "second-lowest quintile": "n4", "lowest quintile": "n5",
}


def outcome_class(outcome: str | None, polarity: str) -> str:
    """The marker class of a comparison outcome; 'none' when there was no comparison."""
    if outcome == "middle quintile" and polarity not in (Indicator.Polarity.HIGHER_IS_BETTER, LOWER):
        return "n3"
    return OUTCOMES.get(outcome or "", "none")


@dataclass(frozen=True)
class Spine:
    width: int
    height: int
    mid: float
    range_x: float
    range_w: float
    band_x: float
    band_w: float
    centre_x: float | None
    region_x: float | None
    region_points: str
    area_x: float | None
    marker: str
    worst: float
    best: float


def spine(*, value: float | None, national: float | None, region: float | None, dist: Distribution,
          polarity: str, outcome: str | None) -> Spine:
    """The positions (SVG user units) of a spine chart's parts. Centred on the national value, the
    scale reaching the farther extreme at the edge, as Fingertips draws them; flipped for a
    lower-is-better indicator so that better is always to the right."""
    centre = national if national is not None else (dist.low + dist.high) / 2
    half = max(abs(centre - dist.low), abs(dist.high - centre), abs(centre - value) if value is not None else 0,
               abs(centre - region) if region is not None else 0)
    reach = SPINE_WIDTH / 2 - SPINE_PAD
    sign = -1 if polarity == LOWER else 1

    def x(v: float) -> float:
        return round(SPINE_WIDTH / 2 + (sign * (v - centre) / half * reach if half else 0.0), 2)

    lo, hi = sorted((x(dist.low), x(dist.high)))
    b1, b2 = sorted((x(dist.q1), x(dist.q3)))
    mid = SPINE_HEIGHT / 2
    rx = x(region) if region is not None else None
    points = "" if rx is None else f"{rx},{mid - 6} {rx + 6},{mid} {rx},{mid + 6} {rx - 6},{mid}"
    worst, best = (dist.high, dist.low) if polarity == LOWER else (dist.low, dist.high)
    return Spine(width=SPINE_WIDTH, height=SPINE_HEIGHT, mid=mid, range_x=lo, range_w=round(hi - lo, 2),
                 band_x=b1, band_w=round(b2 - b1, 2), centre_x=x(national) if national is not None else None,
                 region_x=rx, region_points=points, area_x=x(value) if value is not None else None,
                 marker=outcome_class(outcome, polarity), worst=worst, best=best)


@dataclass(frozen=True)
class Sparkline:
    width: int
    height: int
    points: str
    last_x: float
    last_y: float


def sparkline(values: list[float]) -> Sparkline | None:
    """A line through the values, oldest on the left, scaled to their own range; None for fewer than two."""
    if len(values) < 2:
        return None
    low, high = min(values), max(values)
    step = (SPARK_WIDTH - 2 * SPARK_PAD) / (len(values) - 1)

    def y(v: float) -> float:
        if high == low:
            return SPARK_HEIGHT / 2
        return round(SPARK_HEIGHT - SPARK_PAD - (v - low) / (high - low) * (SPARK_HEIGHT - 2 * SPARK_PAD), 2)

    coords = [(round(SPARK_PAD + n * step, 2), y(v)) for n, v in enumerate(values)]
    return Sparkline(width=SPARK_WIDTH, height=SPARK_HEIGHT, points=" ".join(f"{a},{b}" for a, b in coords),
                     last_x=coords[-1][0], last_y=coords[-1][1])


# -- a mission's gap chart ----------------------------------------------------------------------
LINE_WIDTH, LINE_HEIGHT = 560, 250
LINE_PAD = {"left": 56, "right": 72, "top": 16, "bottom": 46}
LINE_LABELS = 6  # at most this many period labels under the x axis


@dataclass(frozen=True)
class Tick:
    at: float  # x or y, in SVG units
    text: str


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    period: str
    value: float


@dataclass(frozen=True)
class LineChart:
    width: int
    height: int
    left: float
    right: float
    top: float
    bottom: float
    segments: list[str]  # polyline points, one per run of periods with a value
    dots: list[Dot]
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    first: Dot
    last: Dot

    @property
    def tick_x(self) -> float:  # the right end of the y axis' labels
        return self.left - 8

    @property
    def tick_y(self) -> float:  # the foot of an x tick
        return self.bottom + 5

    @property
    def label_y(self) -> float:  # the baseline of the x axis' labels
        return self.bottom + 20

    @property
    def first_label_x(self) -> float:  # the first value's label starts just left of its dot
        return round(self.first.x - 4, 2)

    @property
    def first_label_y(self) -> float:  # the first value's label, above its dot (below it at the top)
        return round(self.first.y - 9 if self.first.y - 9 > self.top + 6 else self.first.y + 18, 2)

    @property
    def label_x(self) -> float:  # the start of the last value's label
        return round(self.last.x + 8, 2)


def _nice_step(span: float, ticks: int = 4) -> Decimal:
    """A round step (1, 2, 2.5 or 5 times a power of ten) giving about `ticks` intervals."""
    raw = Decimal(repr(span / ticks)) if span > 0 else Decimal(1)
    exponent = raw.adjusted()
    for m in (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5), Decimal(10)):
        step = m.scaleb(exponent)
        if step >= raw:
            return step
    return Decimal(10).scaleb(exponent)  # unreachable


def line_chart(points: list[tuple[str, float | None]]) -> LineChart | None:
    """A line through the served values, in the order served, on a round scale: the axis ticks are
    scale marks (multiples of a round step), the points themselves the served numbers. None for
    fewer than two values."""
    values = [v for _, v in points if v is not None]
    if len(values) < 2:
        return None
    low, high = min(values), max(values)
    step = _nice_step(high - low)
    lo = (Decimal(repr(low)) / step).to_integral_value(rounding="ROUND_FLOOR") * step
    hi = (Decimal(repr(high)) / step).to_integral_value(rounding="ROUND_CEILING") * step
    if lo == hi:
        lo, hi = lo - step, hi + step
    left, right = LINE_PAD["left"], LINE_WIDTH - LINE_PAD["right"]
    top, bottom = LINE_PAD["top"], LINE_HEIGHT - LINE_PAD["bottom"]
    span = float(hi - lo)

    def y(v: float) -> float:
        return round(bottom - (v - float(lo)) / span * (bottom - top), 2)

    def x(n: int) -> float:
        return round(left + (n * (right - left) / (len(points) - 1) if len(points) > 1 else 0), 2)

    dots, segments, run = [], [], []
    for n, (period, value) in enumerate(points):
        if value is None:
            if len(run) > 1:
                segments.append(" ".join(run))
            run = []
            continue
        dot = Dot(x(n), y(value), period, value)
        dots.append(dot)
        run.append(f"{dot.x},{dot.y}")
    if len(run) > 1:
        segments.append(" ".join(run))
    y_ticks, tick = [], lo
    while tick <= hi:
        y_ticks.append(Tick(y(float(tick)), served(float(tick))))
        tick += step
    every = max(1, -(-(len(points) - 1) // (LINE_LABELS - 1)))
    shown = sorted({*range(0, len(points), every), len(points) - 1})
    if len(shown) > 2 and shown[-1] - shown[-2] < every:  # keep the last label clear of the one before
        shown.pop(-2)
    x_ticks = [Tick(x(n), points[n][0]) for n in shown]
    return LineChart(width=LINE_WIDTH, height=LINE_HEIGHT, left=left, right=right, top=top, bottom=bottom,
                     segments=segments, dots=dots, y_ticks=y_ticks, x_ticks=x_ticks, first=dots[0], last=dots[-1])


# -- a mission's small multiples ----------------------------------------------------------------
@dataclass(frozen=True)
class Quintile:
    css: str  # q1 (best) .. q5 (worst), or n1 (highest) .. n5 (lowest) without a polarity
    low: float  # the lowest and highest served value in it
    high: float
    areas: int


def quintiles(values: list[float], polarity: str) -> tuple[list[Quintile], dict[float, str]]:
    """Fifths of the areas by value, ties kept together (an area's fifth is its rank among the
    values, the lowest rank of a tie, times five over their number), as the legend lists them
    (best first, or highest first without a polarity), and each value's class. The legend's
    breaks are the lowest and highest served value of each fifth, so every number is one served."""
    ordered = sorted(values)
    count = len(ordered)
    first_rank: dict[float, int] = {}
    for n, v in enumerate(ordered):
        first_rank.setdefault(v, n)
    fifth = {v: 5 * r // count for v, r in first_rank.items()}  # 0 lowest .. 4 highest

    def css(k: int) -> str:
        if polarity == LOWER:
            return f"q{k + 1}"
        return f"q{5 - k}" if polarity == Indicator.Polarity.HIGHER_IS_BETTER else f"n{5 - k}"

    groups: dict[int, list[float]] = {}
    for v in ordered:
        groups.setdefault(fifth[v], []).append(v)
    legend = [Quintile(css(k), vs[0], vs[-1], len(vs)) for k, vs in sorted(groups.items())]
    legend.sort(key=lambda q: q.css)
    return legend, {v: css(k) for v, k in fifth.items()}

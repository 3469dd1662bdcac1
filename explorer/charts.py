"""The spine chart and sparkline geometry, drawn server-side as SVG (templates/explorer/_spine.html,
_sparkline.html): pure functions of the served numbers, so a chart needs no JavaScript and shows
exactly the values of the table beside it.

A spine chart is Fingertips': one bar per indicator spanning the lowest to the highest value of
the areas of the same type in the country, worst on the left and best on the right (lowest to
highest when the indicator has no polarity), the middle half (25th to 75th percentile) darker,
the national value as the centre line, the region as a diamond and the area as a circle coloured
by its comparison with the nation."""

from __future__ import annotations

from dataclasses import dataclass

from indicators.models import Indicator

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

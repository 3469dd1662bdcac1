"""Served numbers keep their digits on a page (explorer.formatting), and the spine chart's geometry
puts better on the right whatever the polarity (explorer.charts)."""

from __future__ import annotations

import orjson
import pytest

from explorer import charts
from explorer.formatting import served
from explorer.selectors import Distribution


@pytest.mark.parametrize(("value", "text"), [
    (539.9, "539.9"), (26501.81, "26,501.81"), (100.0, "100"), (0.0, "0"), (-3.1, "-3.1"), (1e-05, "0.00001"),
    (9.78695951790977, "9.78695951790977"), (296, "296"), (1234567.0, "1,234,567"), (None, ""),
])
def test_a_served_number_keeps_the_digits_the_json_has(value, text):
    assert served(value) == text
    if value is not None:
        assert float(text.replace(",", "")) == orjson.loads(orjson.dumps(value))


def test_the_spine_is_centred_on_the_nation_and_better_is_on_the_right():
    spread = Distribution(areas=296, low=10.0, q1=20.0, q3=30.0, high=50.0)
    higher = charts.spine(value=45.0, national=25.0, region=30.0, dist=spread, polarity="higher_is_better",
                          outcome="better")
    lower = charts.spine(value=45.0, national=25.0, region=30.0, dist=spread, polarity="lower_is_better",
                         outcome="worse")
    mid = charts.SPINE_WIDTH / 2
    assert higher.centre_x == lower.centre_x == mid
    assert higher.area_x > mid > lower.area_x  # 45 is better when higher is better, worse when lower is
    assert higher.range_x + higher.range_w == charts.SPINE_WIDTH - charts.SPINE_PAD  # 50 is the farther end
    assert (higher.worst, higher.best, lower.worst, lower.best) == (10.0, 50.0, 50.0, 10.0)
    assert (higher.marker, lower.marker) == ("better", "worse")
    assert charts.outcome_class("middle quintile", "neutral") == "n3"
    assert charts.outcome_class("no comparator value", "higher_is_better") == "none"


def test_a_sparkline_needs_two_points():
    assert charts.sparkline([1.0]) is None
    line = charts.sparkline([1.0, 3.0, 2.0])
    assert line.points.count(",") == 3 and line.last_x == charts.SPARK_WIDTH - charts.SPARK_PAD

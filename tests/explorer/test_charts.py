"""A mission page's chart geometry (explorer.charts): the gap chart's line goes through the served
values on a round scale, and the small multiples' fifths keep ties together, are coloured best to
worst whatever the polarity, and have served values for breaks."""

from __future__ import annotations

from decimal import Decimal

import pytest

from explorer import charts

HIGHER, LOWER, NONE = "higher_is_better", "lower_is_better", "no_polarity"


def test_the_gap_chart_runs_through_the_served_values_in_order():
    points = [("2011-2013", 16.7), ("2012-2014", 17.8), ("2013-2015", 15.4), ("2014-2016", 15.9), ("2022-2024", 24.0)]
    chart = charts.line_chart(points)
    assert [d.value for d in chart.dots] == [v for _, v in points]
    assert [d.x for d in chart.dots] == sorted(d.x for d in chart.dots) and chart.dots[0].x == chart.left
    assert chart.dots[-1].x == chart.right
    high = min(chart.dots, key=lambda d: d.y)  # SVG y grows downwards
    assert high.value == 24.0 and chart.top <= high.y and max(d.y for d in chart.dots) <= chart.bottom
    assert (chart.first.value, chart.last.value) == (16.7, 24.0)
    assert len(chart.segments) == 1 and chart.segments[0].count(",") == len(points)


def test_the_scale_is_round_and_holds_every_value():
    chart = charts.line_chart([("a", 231.91), ("b", 230.15), ("c", 262.4)])
    ticks = [Decimal(t.text.replace(",", "")) for t in chart.y_ticks]
    steps = {b - a for a, b in zip(ticks, ticks[1:], strict=False)}
    assert len(steps) == 1 and steps.pop() in (Decimal(5), Decimal(10))
    assert ticks[0] <= Decimal("230.15") and ticks[-1] >= Decimal("262.4")
    assert charts.line_chart([("a", 0.1), ("b", 0.3)]).y_ticks[-1].text == "0.3"  # no 0.30000000000000004


def test_a_missing_gap_breaks_the_line_and_one_value_draws_none():
    chart = charts.line_chart([("a", 1.0), ("b", 2.0), ("c", None), ("d", 3.0), ("e", 2.5)])
    assert len(chart.dots) == 4 and len(chart.segments) == 2
    assert charts.line_chart([("a", 1.0), ("b", None)]) is None
    flat = charts.line_chart([("a", 5.0), ("b", 5.0)])
    assert flat.y_ticks[0].text != flat.y_ticks[-1].text  # a flat line still has a scale around it


def test_the_x_labels_are_few_and_include_the_last_period():
    points = [(str(2008 + n), float(n)) for n in range(18)]
    labels = [t.text for t in charts.line_chart(points).x_ticks]
    assert labels[0] == "2008" and labels[-1] == "2025" and len(labels) <= charts.LINE_LABELS


@pytest.mark.parametrize(("polarity", "best_first"), [(HIGHER, "q1"), (LOWER, "q1"), (NONE, "n1")])
def test_fifths_go_best_first_with_served_breaks(polarity, best_first):
    values = [float(v) for v in range(1, 11)]
    legend, classes = charts.quintiles(values, polarity)
    assert [q.areas for q in legend] == [2] * 5 and legend[0].css == best_first
    top = legend[0]
    if polarity == LOWER:
        assert (top.low, top.high) == (1.0, 2.0) and classes[10.0] == "q5"
    else:
        assert (top.low, top.high) == (9.0, 10.0)
    assert all(q.low in values and q.high in values for q in legend)


def test_tied_values_share_a_fifth():
    values = [1.0, 2.0, 2.0, 2.0, 2.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    legend, classes = charts.quintiles(values, HIGHER)
    assert classes[2.0] == "q5"  # the five 2.0s rank from the second place: all in the lowest fifth
    assert sum(q.areas for q in legend) == len(values)
    ranges = sorted((q.low, q.high) for q in legend)
    assert all(a[1] < b[0] for a, b in zip(ranges, ranges[1:], strict=False))  # no value in two fifths

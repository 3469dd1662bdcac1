"""The statistics methods behind profiles and progress (missions.selectors), on hand-checkable cases."""

import pytest

from missions.selectors import compare, status_open_sdg, trend

HIGHER, LOWER = "higher_is_better", "lower_is_better"


@pytest.mark.parametrize(("value", "lci", "uci", "bench", "polarity", "expected"), [
    (50.9, 47.3, 54.4, 58.3, HIGHER, "worse"),
    (50.9, 47.3, 54.4, 40.0, HIGHER, "better"),
    (50.9, 47.3, 54.4, 50.0, HIGHER, "similar"),
    (12.0, 10.0, 14.0, 20.0, LOWER, "better"),
    (12.0, None, None, 20.0, LOWER, "not compared: no confidence interval"),
    (12.0, 10.0, 14.0, 20.0, "neutral", "not compared: no polarity"),
    (12.0, 10.0, 14.0, None, HIGHER, "no comparator value"),
])
def test_compare(value, lci, uci, bench, polarity, expected):
    assert compare(value, lci, uci, bench, polarity) == expected


def test_trend():
    assert trend([(1, None, None), (2, None, None)], HIGHER) == "not enough data"
    assert trend([(1, None, None), (2, None, None), (3, None, None)], HIGHER) == "increasing, getting better"
    assert trend([(3, None, None), (2, None, None), (1, None, None)], HIGHER) == "decreasing, getting worse"
    assert trend([(1, None, None), (3, None, None), (2, None, None)], LOWER) == "no significant change"
    # With intervals: only non-overlapping ends count.
    assert trend([(10, 9, 11), (12, 11, 13), (10.5, 9.5, 11.5)], LOWER) == "no significant change"
    assert trend([(10, 9, 11), (12, 11, 13), (14, 13, 15)], LOWER) == "increasing, getting worse"


def test_status_open_sdg():
    # 50 -> 60 in 5 years towards 90 by 10 years after the baseline: needs 6.05%/yr, achieved 3.71%/yr.
    assert status_open_sdg(baseline=50, latest=60, years=5, target=90, target_years=10,
                           polarity=HIGHER) == "needs acceleration"
    assert status_open_sdg(baseline=50, latest=75, years=5, target=90, target_years=10, polarity=HIGHER) == "on track"
    assert status_open_sdg(baseline=50, latest=52, years=5, target=90, target_years=10,
                           polarity=HIGHER) == "limited progress"
    assert status_open_sdg(baseline=50, latest=45, years=5, target=90, target_years=10,
                           polarity=HIGHER) == "deteriorating"
    assert status_open_sdg(baseline=50, latest=45, years=0, target=90, target_years=10,
                           polarity=HIGHER) == "not assessable"

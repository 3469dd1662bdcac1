"""ISO 8601 period parsing: types and labels as ONS publishes them."""

import datetime as dt

import pytest

from indicators.ingest.periods import PeriodError, period_parse


@pytest.mark.parametrize(
    ("iso", "kind", "label", "start", "end"),
    [
        ("2011-01-01/P3Y", "rolling", "2011-2013", "2011-01-01", "2013-12-31"),
        ("2021-04-01/P1Y", "financial_year", "2021/22", "2021-04-01", "2022-03-31"),
        ("2022-09-01/P1Y", "academic_year", "2022/23", "2022-09-01", "2023-08-31"),
        ("2019-01-01/P1Y", "calendar_year", "2019", "2019-01-01", "2019-12-31"),
        ("2025-04-30", "point_in_time", "2025-04-30", "2025-04-30", "2025-04-30"),
        ("2014-04-01/P3Y", "rolling", "2014/15-2016/17", "2014-04-01", "2017-03-31"),
        ("2024-01-01/P3M", "quarter", "Jan-Mar 2024", "2024-01-01", "2024-03-31"),
        ("2022-09", "month", "Sep 2022", "2022-09-01", "2022-09-30"),
        ("2023-01-13T00:00:00", "point_in_time", "2023-01-13", "2023-01-13", "2023-01-13"),
    ],
)
def test_periods(iso, kind, label, start, end):
    p = period_parse(iso)
    assert (p.type, p.label, p.start, p.end) == (kind, label, dt.date.fromisoformat(start), dt.date.fromisoformat(end))


@pytest.mark.parametrize("bad", ["2021", "2021-13-01", "2021-02-30/P1Y", "2021-01-01/P0Y", "yesterday", "2021-01-01/1Y", "2023-01-13T10:30:00"])
def test_bad_periods_are_rejected(bad):
    with pytest.raises(PeriodError):
        period_parse(bad)

"""ISO 8601 periods as statistics publish them: a date (point in time) or a start and a duration
(2011-01-01/P3Y). Types and labels follow ONS conventions: 2021/22 for financial and academic
years, 2011-2013 for rolling multi-year periods."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

_ISO = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?(?:/P(\d+)([YMD]))?$")


class PeriodError(ValueError):
    pass


@dataclass(frozen=True)
class ParsedPeriod:
    iso: str
    start: dt.date
    end: dt.date
    duration: str
    type: str
    label: str


def _end(text: str, start: dt.date, n: int, unit: str) -> dt.date:
    """The last day of `n` units from `start`; a period whose end Python's dates cannot reach (they
    stop at 9999-12-31) is refused."""
    try:
        if unit == "D":
            return start + dt.timedelta(days=n - 1)
        months = n * 12 if unit == "Y" else n
        y, m = divmod(start.month - 1 + months, 12)
        year, month = start.year + y, m + 1
        following = start.replace(year=year, month=month, day=min(start.day, calendar.monthrange(year, month)[1]))
        return following - dt.timedelta(days=1)
    except (ValueError, OverflowError):
        raise PeriodError(f"{text!r}: the period ends too late (dates stop at 9999-12-31)") from None


def period_parse(text: str) -> ParsedPeriod:
    raw = text.strip()
    # A midnight timestamp is a date, with or without a duration (ELS wrote 2020-01-01T00:00:00/P3Y
    # in its 2024 releases for what it now writes 2020-01-01/P3Y).
    midnight = re.match(r"^(\d{4}-\d{2}-\d{2})T00:00(?::00)?(?:\.0+)?Z?(/P\d+[YMD])?$", raw)
    if midnight:
        raw = midnight.group(1) + (midnight.group(2) or "")
    m = _ISO.match(raw)
    if not m:
        raise PeriodError(f"not an ISO 8601 date or date/duration: {text!r}")
    year, month, day, n, unit = m.groups()
    try:
        start = dt.date(int(year), int(month), int(day or 1))
    except ValueError as exc:
        raise PeriodError(f"{text!r}: {exc}") from None
    if n is None:
        if day is None:  # YYYY-MM: the month
            end = _end(text, start, 1, "M")
            return ParsedPeriod(raw, start, end, "P1M", "month", start.strftime("%b %Y"))
        return ParsedPeriod(raw, start, start, "", "point_in_time", start.isoformat())
    n = int(n)
    if n == 0:
        raise PeriodError(f"{text!r}: zero-length period")
    end = _end(text, start, n, unit)
    duration = f"P{n}{unit}"
    if unit == "Y" and n == 1:
        if (start.month, start.day) == (1, 1):
            return ParsedPeriod(raw, start, end, duration, "calendar_year", str(start.year))
        kind = {4: "financial_year", 9: "academic_year", 8: "academic_year"}.get(start.month, "other")
        return ParsedPeriod(raw, start, end, duration, kind, f"{start.year}/{str(start.year + 1)[2:]}")
    if unit == "Y":
        if start.month == 1 and start.day == 1:
            label = f"{start.year}-{end.year}"
        else:
            label = f"{start.year}/{str(start.year + 1)[2:]}-{end.year - 1}/{str(end.year)[2:]}"
        return ParsedPeriod(raw, start, end, duration, "rolling", label)
    if unit == "M" and n == 3:
        return ParsedPeriod(raw, start, end, duration, "quarter", f"{start.strftime('%b')}-{end.strftime('%b %Y')}")
    if unit == "M" and n == 1:
        return ParsedPeriod(raw, start, end, duration, "month", start.strftime("%b %Y"))
    return ParsedPeriod(raw, start, end, duration, "other", f"{start.isoformat()} to {end.isoformat()}")

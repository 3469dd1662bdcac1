"""Reads the explorer's pages need beyond the lower apps' selectors, each one set-based statement:
the distribution of an area's profile indicators across areas of its type (the spine chart's range
and middle half), the recent series behind its sparklines, and the vintages of the areas below it
(the map's outlines and the children's downloads)."""

from __future__ import annotations

from dataclasses import dataclass

from geographies.models import Area
from indicators.precision import DERIVED_EXTRA_PLACES
from levelup_api.core.replicas import read_connection

# The first letter of a GSS code names its country; the spine compares an area with the areas of
# its own type in that country (Fingertips' England range), or in the whole UK for other codes.
COUNTRIES = {"E": "England", "W": "Wales", "S": "Scotland", "N": "Northern Ireland"}


def area_country(area_code: str) -> tuple[str, str]:
    """(code letter, country name) of the areas a spine chart ranges over; ("", "UK") for non-GSS codes."""
    letter = area_code[:1].upper()
    return (letter, COUNTRIES[letter]) if letter in COUNTRIES else ("", "UK")


@dataclass(frozen=True)
class Distribution:
    """The values of one indicator, at the period of the area's profile row, across the areas of
    the area's type in its country: how many, the lowest and highest (served values), and the
    25th and 75th percentiles (interpolated, rounded to the indicator's derived places)."""

    areas: int
    low: float
    q1: float
    q3: float
    high: float


@dataclass(frozen=True)
class IndicatorContext:
    """What a profile row's page shows beside the API's row: the indicator's topics and unit
    symbol, and the spread of its values (None when no area of the type has one)."""

    topics: list[str]
    unit_symbol: str
    spread: Distribution | None


# Each profile fact of the area, with every current value of the same indicator and period for
# the areas of the same primary type (as the ranks are: indicators/ingest/loader.py RANK_SQL) in
# the same country. One statement: the observations are read by their (indicator, period, area)
# index, about 300 district values for each of a district's ~120 indicators (80 ms).
_SPREAD_SQL = f"""
    WITH peers AS MATERIALIZED (
        SELECT peer.id FROM geographies_area peer
        WHERE peer.area_type_id = %(type)s AND (%(country)s = '' OR left(peer.code, 1) = %(country)s)
    )
    SELECT i.slug, i.topics, i.unit_symbol, d.n, d.low, d.q1, d.q3, d.high
    FROM missions_profilefact f
    JOIN indicators_indicator i ON i.id = f.indicator_id
    CROSS JOIN LATERAL (
        SELECT count(o.value) AS n, min(o.value) AS low, max(o.value) AS high,
               round((percentile_cont(0.25) WITHIN GROUP (ORDER BY o.value))::numeric,
                     i.decimal_places + {DERIVED_EXTRA_PLACES})::float8 AS q1,
               round((percentile_cont(0.75) WITHIN GROUP (ORDER BY o.value))::numeric,
                     i.decimal_places + {DERIVED_EXTRA_PLACES})::float8 AS q3
        FROM indicators_observation o JOIN peers ON peers.id = o.area_id
        WHERE o.indicator_id = f.indicator_id AND o.period_id = f.period_id AND o.is_current AND o.value IS NOT NULL
    ) d
    WHERE f.area_id = %(area)s
"""


def profile_context(*, area: Area) -> dict[str, IndicatorContext]:
    """Per indicator slug of the area's profile: topics, unit symbol and the spread across its peers."""
    country, _ = area_country(area.code)
    with read_connection().cursor() as cursor:
        cursor.execute(_SPREAD_SQL, {"area": area.id, "type": area.area_type_id, "country": country})
        return {slug: IndicatorContext(topics, symbol, Distribution(n, low, q1, q3, high) if n else None)
                for slug, topics, symbol, n, low, q1, q3, high in cursor.fetchall()}


@dataclass(frozen=True)
class Point:
    period: str
    value: float


# The last points with a value of each indicator in the area's profile, oldest first, ordered as
# the profile's trend orders them (period end, start, id); the observations API serves the same rows.
_SERIES_SQL = """
    SELECT i.slug, s.label, s.value FROM (
        SELECT o.indicator_id, p.label, o.value, p."end", p.start, p.id,
               row_number() OVER (PARTITION BY o.indicator_id ORDER BY p."end" DESC, p.start DESC, p.id DESC) AS back
        FROM indicators_observation o JOIN indicators_period p ON p.id = o.period_id
        WHERE o.area_id = %(area)s AND o.is_current AND o.value IS NOT NULL
          AND o.indicator_id IN (SELECT f.indicator_id FROM missions_profilefact f WHERE f.area_id = %(area)s)
    ) s JOIN indicators_indicator i ON i.id = s.indicator_id
    WHERE s.back <= %(points)s
    ORDER BY i.slug, s."end", s.start, s.id
"""


def profile_series(*, area: Area, points: int = 10) -> dict[str, list[Point]]:
    """Per indicator slug of the area's profile, its last `points` values, oldest first."""
    out: dict[str, list[Point]] = {}
    with read_connection().cursor() as cursor:
        cursor.execute(_SERIES_SQL, {"area": area.id, "points": points})
        for slug, label, value in cursor.fetchall():
            out.setdefault(slug, []).append(Point(label, value))
    return out


@dataclass(frozen=True)
class ChildVintage:
    vintage: str
    type: str
    type_name: str
    level: int
    areas: int
    boundaries: bool
    data: bool  # some area of the type has current values, so profiles of these areas are not empty


# Every vintage holding areas below the area (any depth), with how many, whether boundaries are
# held for it and whether its type has any data (indicators_coverage): types from the coarsest,
# each type's newest vintage first. England's 97k descendant rows take 170 ms.
_CHILD_VINTAGES_SQL = """
    SELECT v.code, t.code, t.name, t.level, count(DISTINCT aa.descendant_id), v.boundary_count > 0,
           EXISTS (SELECT 1 FROM indicators_coverage c WHERE c.area_type_id = t.id)
    FROM geographies_areaancestor aa
    JOIN geographies_vintage v ON v.id = aa.descendant_vintage_id
    JOIN geographies_areatype t ON t.id = v.area_type_id
    WHERE aa.ancestor_id = %(area)s AND aa.descendant_id <> %(area)s AND t.level < %(level)s
    GROUP BY v.id, v.code, v.effective_from, v.boundary_count, t.id, t.code, t.name, t.level
    ORDER BY t.level DESC, v.effective_from DESC, v.code
"""


def child_vintages(*, area: Area) -> list[ChildVintage]:
    """The vintages of the smaller areas below `area` (its wards, MSOAs, LSOAs ...)."""
    with read_connection().cursor() as cursor:
        cursor.execute(_CHILD_VINTAGES_SQL, {"area": area.id, "level": area.area_type.level})
        return [ChildVintage(*row) for row in cursor.fetchall()]

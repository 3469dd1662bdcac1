"""Reads the explorer's pages need beyond the lower apps' selectors, each one set-based statement:
the distribution of an area's profile indicators across areas of its type (the spine chart's range
and middle half), the recent series behind its sparklines, and the vintages of the areas below it
(the map's outlines and the children's downloads)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from geographies.models import Area, Vintage
from indicators.current import current_in
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


# Each profile fact of the area, with the spread of the same indicator and period over the areas of
# the area's primary type (as the ranks are: indicators/ingest/loader.py RANK_SQL) in its country,
# precomputed beside the facts (missions.models.ProfileSpread): one indexed read of ~120 rows,
# where sorting the values themselves took 80 ms for a district and 2 s for an LSOA.
_SPREAD_SQL = """
    SELECT i.slug, i.topics, i.unit_symbol, d.areas, d.low, d.q1, d.q3, d.high
    FROM missions_profilefact f
    JOIN indicators_indicator i ON i.id = f.indicator_id
    LEFT JOIN missions_profilespread d ON d.indicator_id = f.indicator_id AND d.period_id = f.period_id
         AND d.area_type_id = %(type)s AND d.country = %(country)s
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
        WHERE o.area_id = %(area)s AND CURRENT_RELEASE(o) AND o.value IS NOT NULL
          AND o.indicator_id IN (SELECT f.indicator_id FROM missions_profilefact f WHERE f.area_id = %(area)s)
    ) s JOIN indicators_indicator i ON i.id = s.indicator_id
    WHERE s.back <= %(points)s
    ORDER BY i.slug, s."end", s.start, s.id
"""


def profile_series(*, area: Area, points: int = 10) -> dict[str, list[Point]]:
    """Per indicator slug of the area's profile, its last `points` values, oldest first."""
    out: dict[str, list[Point]] = {}
    with read_connection().cursor() as cursor:
        cursor.execute(current_in(_SERIES_SQL), {"area": area.id, "points": points})
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


# -- a mission's small multiples ----------------------------------------------------------------
# The maps are drawn on the server as SVG, in an equirectangular projection whose x is shrunk by the
# cosine of the UK's middle latitude: no PROJ transform per vertex (ST_Transform to the British
# National Grid doubled the statement's time), true in shape to within 10% from Cornwall to Orkney,
# which is all a 300-pixel map needs. 100 units a degree of latitude (1.1 km): integer coordinates
# are within half a pixel, and simplification by one unit is invisible at that size.
MAP_UNITS_PER_DEGREE = 100
MAP_MIDDLE_LATITUDE = 54.5
MAP_SIMPLIFY = 1.0  # in map units


@dataclass(frozen=True)
class MapArea:
    code: str
    name: str
    path: str | None  # SVG path data in map units (relative moves), None when no boundary is held
    borrowed: bool  # drawn with its predecessors' boundary: its own code has none yet
    values: tuple[float | None, ...]  # one per layer asked for, as served (None: no value)


@dataclass(frozen=True)
class MapSheet:
    """The areas of a vintage with their outlines and each layer's values, and the box around them."""

    areas: list[MapArea]
    view_box: tuple[int, int, int, int] | None  # min x, min y, width, height (SVG units, y down)

    @property
    def drawn(self) -> int:
        return sum(1 for a in self.areas if a.path)


# Every area of the vintage, with the newest boundary of its type held for it (a code new in the
# vintage, with none yet, borrows its predecessors' newest, unless a predecessor is drawn itself or
# also has another successor here: Barnsley's and Sheffield's codes of 2025 take their 2024
# outlines), simplified after scaling; and per layer (indicator, period) the current value of each
# area. One statement: the boundaries are read by (vintage, area), the values by the observations'
# (indicator, period, area) index. ST_AsSVG writes y negated (north up) and, with relative moves,
# differences of the rounded points, so rounding never accumulates along a ring.
_MAP_SQL = """
    WITH members AS MATERIALIZED (
        SELECT m.area_id FROM geographies_areamembership m WHERE m.vintage_id = %(vintage)s
    ), own AS MATERIALIZED (
        SELECT DISTINCT ON (b.area_id) b.area_id, b.id AS boundary_id
        FROM geographies_boundary b JOIN geographies_vintage bv ON bv.id = b.vintage_id
        WHERE bv.area_type_id = %(type)s AND b.area_id IN (SELECT area_id FROM members)
        ORDER BY b.area_id, bv.effective_from DESC
    ), borrowed AS (  -- lateral, so that the few codes without a boundary are looked up by index
        SELECT without.area_id, ST_Multi(ST_Union(pb.geom)) AS geom
        FROM (SELECT area_id FROM members EXCEPT SELECT area_id FROM own) without
        CROSS JOIN LATERAL (
            SELECT c.predecessor_id FROM geographies_areachange c
            WHERE c.successor_id = without.area_id AND c.predecessor_id NOT IN (SELECT area_id FROM members)
              AND NOT EXISTS (SELECT 1 FROM geographies_areachange other
                              WHERE other.predecessor_id = c.predecessor_id AND other.successor_id <> c.successor_id
                                AND other.successor_id IN (SELECT area_id FROM members))
        ) c
        CROSS JOIN LATERAL (
            SELECT b.geom FROM geographies_boundary b JOIN geographies_vintage bv ON bv.id = b.vintage_id
            WHERE b.area_id = c.predecessor_id AND bv.area_type_id = %(type)s
            ORDER BY bv.effective_from DESC LIMIT 1
        ) pb
        GROUP BY without.area_id
    ), outlines AS MATERIALIZED (  -- simplified once, read five times
        SELECT s.area_id, s.borrowed,
               ST_SimplifyPreserveTopology(ST_Scale(s.geom, %(sx)s, %(sy)s), %(tolerance)s) AS g
        FROM (SELECT own.area_id, b.geom, false AS borrowed
              FROM own JOIN geographies_boundary b ON b.id = own.boundary_id
              UNION ALL
              SELECT area_id, geom, true FROM borrowed) s
    ), layer_values AS (
        SELECT o.area_id, array_agg(asked.n ORDER BY asked.n) AS layers, array_agg(o.value ORDER BY asked.n) AS vals
        FROM unnest(%(indicators)s::bigint[], %(periods)s::text[]) WITH ORDINALITY asked(indicator_id, iso, n)
        JOIN indicators_period p ON p.iso = asked.iso
        JOIN indicators_observation o ON o.indicator_id = asked.indicator_id AND o.period_id = p.id
        WHERE CURRENT_RELEASE(o) AND o.value IS NOT NULL AND o.area_id IN (SELECT area_id FROM members)
        GROUP BY o.area_id
    )
    SELECT a.code, a.name, ol.borrowed, ST_AsSVG(ol.g, 1, 0), lv.layers, lv.vals,
           floor(min(ST_XMin(ol.g)) OVER ()), floor(min(-ST_YMax(ol.g)) OVER ()),
           ceil(max(ST_XMax(ol.g)) OVER ()), ceil(max(-ST_YMin(ol.g)) OVER ())
    FROM members m
    JOIN geographies_area a ON a.id = m.area_id
    LEFT JOIN outlines ol ON ol.area_id = m.area_id
    LEFT JOIN layer_values lv ON lv.area_id = m.area_id
    ORDER BY a.code
"""


def map_sheet(*, vintage: Vintage, layers: list[tuple[int, str]]) -> MapSheet:
    """The areas of `vintage` as SVG outlines, with the current value of each layer (indicator id,
    period ISO) for each of them, in one statement."""
    with read_connection().cursor() as cursor:
        cursor.execute(current_in(_MAP_SQL, [i for i, _ in layers]), {
            "vintage": vintage.id, "type": vintage.area_type_id,
            "sx": MAP_UNITS_PER_DEGREE * math.cos(math.radians(MAP_MIDDLE_LATITUDE)), "sy": MAP_UNITS_PER_DEGREE,
            "tolerance": MAP_SIMPLIFY,
            "indicators": [i for i, _ in layers], "periods": [p for _, p in layers],
        })
        rows = cursor.fetchall()
    areas, box = [], None
    for code, name, borrowed, path, ns, values, x0, y0, x1, y1 in rows:
        by_layer = dict(zip(ns or [], values or [], strict=True))
        areas.append(MapArea(code=code, name=name, path=path or None, borrowed=bool(borrowed),
                             values=tuple(by_layer.get(n) for n in range(1, len(layers) + 1))))
        if x0 is not None:
            box = (int(x0), int(y0), int(x1 - x0), int(y1 - y0))
    return MapSheet(areas=areas, view_box=box)


# -- the map explorer (/explore/) ---------------------------------------------------------------
@dataclass(frozen=True)
class ExploreVintage:
    """A vintage the map explorer can draw: it has boundaries (so tiles), and `data` says whether its
    type has any current values (indicators_coverage); outlines need boundaries only."""

    code: str
    type: str
    type_name: str
    level: int
    effective_from: object  # datetime.date
    boundaries: int
    data: bool
    entity_codes: tuple[str, ...]


# Every vintage with boundaries, coarsest type first and each type's newest first, with whether its
# type has data, and every area type's name (the search box names the type of each match). One
# statement: 21 vintages and 23 types here.
_EXPLORE_VINTAGES_SQL = """
    SELECT v.code, t.code, t.name, t.level, v.effective_from, v.boundary_count,
           EXISTS (SELECT 1 FROM indicators_coverage c WHERE c.area_type_id = t.id), t.entity_codes
    FROM geographies_areatype t LEFT JOIN geographies_vintage v ON v.area_type_id = t.id AND v.boundary_count > 0
    ORDER BY t.level DESC, v.effective_from DESC NULLS LAST, v.code
"""


def explore_vintages() -> tuple[list[ExploreVintage], dict[str, dict]]:
    """(the vintages with boundaries, {area type code: {"name", "level"}} for every type)."""
    with read_connection().cursor() as cursor:
        cursor.execute(_EXPLORE_VINTAGES_SQL)
        rows = cursor.fetchall()
    names = {r[1]: {"name": r[2], "level": r[3]} for r in rows}
    return [ExploreVintage(r[0], r[1], r[2], r[3], r[4], r[5], r[6], tuple(r[7] or ())) for r in rows if r[0]], names


@dataclass(frozen=True)
class ExplorePeriod:
    iso: str
    label: str
    areas: int  # areas of the type with a value (indicators_coverage)


@dataclass(frozen=True)
class ExploreIndicator:
    slug: str
    title: str
    unit: str
    polarity: str
    topics: list[str]
    periods: list[ExplorePeriod]  # newest first, as `latest` orders them

    @property
    def areas(self) -> int:
        return max((p.areas for p in self.periods), default=0)


# The indicators with current values for areas of one type, each with the periods it has for them,
# newest first (period end, start, id: `latest`'s order), from the coverage table that serves the
# API's availability (/indicators/{slug}/) and periods (/periods/?indicator=). One statement.
_EXPLORE_INDICATORS_SQL = """
    SELECT i.slug, i.title, i.unit, i.polarity, i.topics,
           array_agg(p.iso ORDER BY p."end" DESC, p.start DESC, p.id DESC),
           array_agg(p.label ORDER BY p."end" DESC, p.start DESC, p.id DESC),
           array_agg(c.areas ORDER BY p."end" DESC, p.start DESC, p.id DESC)
    FROM indicators_coverage c
    JOIN indicators_indicator i ON i.id = c.indicator_id
    JOIN indicators_period p ON p.id = c.period_id
    WHERE c.area_type_id = (SELECT t.id FROM geographies_areatype t WHERE t.code = %(type)s)
    GROUP BY i.id, i.slug, i.title, i.unit, i.polarity, i.topics
    ORDER BY i.title, i.slug
"""


def explore_indicators(*, area_type: str) -> list[ExploreIndicator]:
    """The indicators with values for areas of `area_type` (a type code), by title, with their periods."""
    with read_connection().cursor() as cursor:
        cursor.execute(_EXPLORE_INDICATORS_SQL, {"type": area_type})
        return [ExploreIndicator(slug, title, unit, polarity, list(topics or []),
                                 [ExplorePeriod(*p) for p in zip(isos, labels, areas, strict=True)])
                for slug, title, unit, polarity, topics, isos, labels, areas in cursor.fetchall()]


@dataclass(frozen=True)
class ExploreWithin:
    """The areas of a vintage below an area (the map shows only them) and the box to fit the map to:
    the area's own newest boundary, or the extent of those areas' boundaries when it has none."""

    codes: list[str]
    bounds: tuple[float, float, float, float] | None  # west, south, east, north (degrees)


# One statement: the descendants' codes by the ancestor index (ancestor, descendant vintage), and
# the box of the area's newest boundary (its stored bbox: no geometry is transformed), or of the
# descendants' boundaries in the vintage (COALESCE evaluates that only when the first is NULL).
_EXPLORE_WITHIN_SQL = """
    WITH below AS MATERIALIZED (
        SELECT DISTINCT aa.descendant_id AS id FROM geographies_areaancestor aa
        WHERE aa.ancestor_id = %(area)s AND aa.descendant_vintage_id = %(vintage)s
    )
    SELECT ARRAY(SELECT a.code FROM below JOIN geographies_area a ON a.id = below.id ORDER BY a.code),
           COALESCE(
               (SELECT ARRAY[ST_XMin(b.geom), ST_YMin(b.geom), ST_XMax(b.geom), ST_YMax(b.geom)]
                FROM geographies_boundary b JOIN geographies_vintage bv ON bv.id = b.vintage_id
                WHERE b.area_id = %(area)s ORDER BY bv.effective_from DESC LIMIT 1),
               (SELECT ARRAY[ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)] FROM (
                    SELECT ST_Extent(b.geom) AS e FROM geographies_boundary b
                    WHERE b.vintage_id = %(vintage)s AND b.area_id IN (SELECT id FROM below)) x
                WHERE e IS NOT NULL))
"""


def explore_within(*, area: Area, vintage: Vintage) -> ExploreWithin:
    """The codes of `vintage`'s areas below `area`, and the box to fit the map to."""
    with read_connection().cursor() as cursor:
        cursor.execute(_EXPLORE_WITHIN_SQL, {"area": area.id, "vintage": vintage.id})
        codes, box = cursor.fetchone()
    return ExploreWithin(codes=list(codes), bounds=tuple(box) if box else None)


@dataclass(frozen=True)
class ExploreRow:
    code: str
    name: str
    value: float
    lci: float | None
    uci: float | None


@dataclass(frozen=True)
class ExploreExtremes:
    """The lowest and highest values of an indicator at one period among a vintage's areas (below
    `parent` when given), as /api/v1/observations/ serves them, and how many areas have a value."""

    lowest: list[ExploreRow]  # lowest first
    highest: list[ExploreRow]  # highest first
    areas: int


# The current observations of one indicator and period for the vintage's areas (below the parent),
# filtered as observation_filter filters /observations/?indicator=&vintage=&period=&parent= (the
# membership, the ancestor row in the vintage, the current release), by the (indicator, period, area) index;
# the n lowest and n highest (ties by code) and the count, in one statement.
_EXPLORE_EXTREMES_SQL = """
    WITH v AS MATERIALIZED (
        SELECT a.code, a.name, o.value, o.lci, o.uci
        FROM indicators_observation o JOIN geographies_area a ON a.id = o.area_id
        WHERE o.indicator_id = %(indicator)s AND o.period_id = %(period)s AND CURRENT_RELEASE(o) AND o.value IS NOT NULL
          AND EXISTS (SELECT 1 FROM geographies_areamembership m WHERE m.area_id = o.area_id AND m.vintage_id = %(vintage)s)
          AND (%(parent)s::bigint IS NULL OR EXISTS (
               SELECT 1 FROM geographies_areaancestor aa WHERE aa.ancestor_id = %(parent)s::bigint
                 AND aa.descendant_id = o.area_id AND aa.descendant_vintage_id = %(vintage)s))
    )
    (SELECT 'low', code, name, value, lci, uci, (SELECT count(*) FROM v) FROM v ORDER BY value, code LIMIT %(n)s)
    UNION ALL
    (SELECT 'high', code, name, value, lci, uci, (SELECT count(*) FROM v) FROM v ORDER BY value DESC, code LIMIT %(n)s)
"""


def explore_extremes(*, indicator_id: int, period_id: int, vintage: Vintage, parent: Area | None = None,
                     n: int = 10) -> ExploreExtremes:
    """The `n` lowest and `n` highest current values of the indicator at the period in `vintage`."""
    with read_connection().cursor() as cursor:
        cursor.execute(current_in(_EXPLORE_EXTREMES_SQL, [indicator_id]), {"indicator": indicator_id, "period": period_id, "vintage": vintage.id,
                                               "parent": parent.id if parent else None, "n": n})
        rows = cursor.fetchall()
    low = [ExploreRow(*r[1:6]) for r in rows if r[0] == "low"]
    high = [ExploreRow(*r[1:6]) for r in rows if r[0] == "high"]
    return ExploreExtremes(lowest=low, highest=high, areas=rows[0][6] if rows else 0)

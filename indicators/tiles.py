"""Vector tiles of a vintage's boundaries (Mapbox Vector Tile 2.1, cut by PostGIS), optionally with an
indicator's current values and a class each, and the class breaks a map legend shows. Design notes:
docs/tiles.md (projection, simplification, classes, caching).

A tile is one prepared statement. What it needs besides the tile address (the vintage, and with an
indicator its period and class breaks) is read once per data version and kept in this process, so
that repeated tiles of one map cost nothing else; the breaks are computed over the whole vintage,
never over a tile, so a class means the same on every tile."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from django import forms
from django.core.cache import caches
from django.core.exceptions import EmptyResultSet

from geographies.models import Vintage
from levelup_api.core.caching import data_version
from levelup_api.core.params import AsciiIntegerField, ParameterError
from levelup_api.core.prepared import prepared_cursor
from levelup_api.core.replicas import read_connection

from .current import current_in
from .models import Indicator, Observation
from .selectors import observation_filter

LAYER = "areas"
EXTENT = 4096  # tile units a side (the MVT default)
BUFFER = 64  # tile units kept beyond each edge, so that outlines meet across tiles
MAX_ZOOM = 22
# Simplification tolerance, in tile units: 4 is half a pixel of a 512-pixel tile (MapLibre's size),
# a quarter of one at 256. ST_AsMVTGeom snaps to the unit grid anyway; what is under half a pixel
# cannot be seen, and areas smaller than that at a zoom drop out of its tiles (docs/tiles.md).
SIMPLIFY_UNITS = 4
WORLD_M = 40075016.685578488  # the width of the Web Mercator world (2 pi x 6378137 m)
# Deciles when at least this many areas of the vintage have a value; quintiles below.
DECILES_FROM = 50
MEDIA_TYPE = "application/vnd.mapbox-vector-tile"


def simplify_tolerance(z: int) -> float:
    """Metres (EPSG:3857) of SIMPLIFY_UNITS tile units at zoom z."""
    return WORLD_M / 2**z / EXTENT * SIMPLIFY_UNITS


def tile_address(*, z: str | int, x: str | int, y: str | int) -> tuple[int, int, int]:
    """z/x/y as integers of an existing tile, or a ParameterError naming the one at fault."""
    values = {}
    for name, raw, top in (("z", z, MAX_ZOOM), ("x", x, None), ("y", y, None)):
        try:
            values[name] = AsciiIntegerField(min_value=0, max_value=top).clean(raw)
        except forms.ValidationError as exc:
            raise ParameterError(name, " ".join(exc.messages)) from None
    zoom, last = values["z"], 2 ** values["z"] - 1
    for name in ("x", "y"):
        if values[name] > last:
            raise ParameterError(name, f"{name}={values[name]} is beyond zoom {zoom}, whose tiles are numbered 0 to "
                                       f"{last} each way")
    return zoom, values["x"], values["y"]


# -- what a tile needs besides its address, kept per data version ----------------------------------
_kept: dict[tuple, object] = {}
_kept_lock = threading.Lock()
KEPT_MAX = 2000  # entries (a vintage, or a vintage with an indicator and a period): a client can vary them


def _kept_get(key: tuple, build):
    """build()'s answer for `key` under the current data version, built once; None (nothing found)
    is not kept, so that a client sending codes without end cannot fill the store."""
    key = (data_version(), *key)
    found = _kept.get(key)
    if found is None:
        found = build()
        if found is not None:
            with _kept_lock:
                if len(_kept) >= KEPT_MAX:
                    _kept.clear()  # older data versions, and the least used, all go: rebuilt on demand
                _kept[key] = found
    return found


def tile_cache_clear() -> None:
    """Forget what is kept for tiles: the vintages and classes here, and the tiles' bytes
    (indicators.api.tiles keeps them in the `tiles` cache)."""
    with _kept_lock:
        _kept.clear()
    caches["tiles"].clear()


def tile_vintage(*, code: str) -> Vintage | None:
    """The vintage with that code (case-insensitive), or None; its boundary_count says whether it has
    boundaries. Unknown codes are not kept (a client could send them without end)."""
    code = code.strip().upper()
    if not (code.isascii() and code.isalnum() and len(code) <= 16):
        return None  # no vintage code looks like that: no query
    return _kept_get(("vintage", code), lambda: Vintage.objects.select_related("area_type").filter(code=code).first())


def tile_vintage_codes() -> list[str]:
    """Codes of the vintages with boundaries, smallest type first, oldest first (for the OpenAPI enum)."""
    return list(Vintage.objects.filter(boundary_count__gt=0)
                .order_by("area_type__level", "effective_from", "code").values_list("code", flat=True))


@dataclass(frozen=True)
class ClassBand:
    number: int  # 1 = worst (by polarity; lowest values when neutral)
    low: float | None  # the smallest and largest value in the class (None: an empty class)
    high: float | None
    areas: int


@dataclass(frozen=True)
class TileClasses:
    """An indicator's values for one vintage and period, classed over the whole vintage."""

    indicator_id: int
    slug: str
    title: str
    unit: str
    unit_symbol: str
    polarity: str
    period_id: int
    period: str  # label
    period_iso: str
    areas: int  # areas of the vintage with a value
    classes: int  # 10 (deciles) or 5 (quintiles)
    # The class breaks in `key` order: key = value, or -value when lower is better, so that the
    # worst areas have the smallest keys; class c holds the keys in (cut[c-1], cut[c]].
    cuts: list[float]
    bands: list[ClassBand] = field(default_factory=list)

    @property
    def sign(self) -> int:
        return -1 if self.polarity == Indicator.Polarity.LOWER_IS_BETTER else 1

    @property
    def thresholds(self) -> list[float]:
        """What CLASS_SQL's width_bucket takes: the cuts negated, ascending (see CLASS_SQL)."""
        return sorted(-c for c in self.cuts)

    @property
    def breaks(self) -> list[float]:
        """The cuts as values: where class c ends and c + 1 begins (a value equal to one is in c)."""
        return [self.sign * c for c in self.cuts]


# The class of a value, 1 = worst: 1 + the number of cuts below its key. width_bucket(v, t) counts
# the thresholds t <= v (t ascending), so with t = the cuts negated and ascending, width_bucket(-key,
# t) counts the cuts >= key, and classes - that count is 1 + the cuts below (there are classes - 1
# cuts). The one expression both the tile and the legend use, so that they always agree.
CLASS_SQL = "{classes} - width_bucket(-({key}), {thresholds})"

# Per period the token matched (one, unless a year names several): how many areas of the vintage
# have a value, deciles or quintiles by that count, the cuts by percentile_disc (values as
# published, never interpolated: a legend shows real values), then each class's extent and count.
# `{observations}` is observation_filter's SQL (the indicator, the vintage, the period, current rows).
_CLASSES_SQL = """
    WITH v AS MATERIALIZED (
        SELECT o.indicator_id, o.period_id, o.value,
               CASE WHEN i.polarity = %(lower_is_better)s THEN -o.value ELSE o.value END AS key
        FROM ({observations}) o JOIN indicators_indicator i ON i.id = o.indicator_id
        WHERE o.value IS NOT NULL
    ), n AS (
        SELECT period_id, count(*) AS areas, CASE WHEN count(*) >= %(deciles_from)s THEN 10 ELSE 5 END AS classes
        FROM v GROUP BY period_id
    ), cut AS (
        SELECT v.indicator_id, v.period_id, n.areas, n.classes,
               percentile_disc(CASE WHEN n.classes = 10 THEN ARRAY[.1, .2, .3, .4, .5, .6, .7, .8, .9]
                                    ELSE ARRAY[.2, .4, .6, .8] END::float8[]) WITHIN GROUP (ORDER BY v.key) AS cuts
        FROM v JOIN n ON n.period_id = v.period_id
        GROUP BY v.indicator_id, v.period_id, n.areas, n.classes
    )
    SELECT i.id, i.slug, i.title, i.unit, i.unit_symbol, i.polarity, p.id, p.label, p.iso, cut.areas, cut.classes,
           cut.cuts, band.number, band.low, band.high, band.areas
    FROM cut JOIN indicators_indicator i ON i.id = cut.indicator_id JOIN indicators_period p ON p.id = cut.period_id
    CROSS JOIN LATERAL (
        SELECT {class_sql} AS number, min(v.value) AS low, max(v.value) AS high, count(*) AS areas
        FROM v WHERE v.period_id = cut.period_id GROUP BY 1
    ) band
    ORDER BY p.start, p."end", p.id, band.number
""".replace("{class_sql}", CLASS_SQL.format(
    classes="cut.classes", key="v.key", thresholds="ARRAY(SELECT -c FROM unnest(cut.cuts) c ORDER BY 1)"))


def tile_classes(*, vintage: Vintage, indicator: str, period: str | None = None) -> TileClasses:
    """The indicator's current values in `vintage` for one period (default `latest`: the newest with a
    value for an area of the vintage), classed; a ParameterError naming `indicator` or `period` when
    the slug or period is unknown, matches several periods, or has no values there."""
    token = period or "latest"
    return _kept_get(("classes", vintage.code, indicator, token),
                     lambda: _classes_read(vintage=vintage, indicator=indicator, token=token, named=period is not None))


def _classes_read(*, vintage: Vintage, indicator: str, token: str, named: bool) -> TileClasses:
    # The period is resolved as /observations/ resolves it (`latest` per indicator, for the areas
    # of the vintage): observation_filter, whose SQL is then classed in one statement.
    qs = observation_filter(Observation.objects.all(), indicators=[indicator], vintage=vintage, periods=[token])
    try:
        inner, params = qs.values("indicator_id", "period_id", "value").query.sql_with_params()
    except EmptyResultSet:  # `latest` with no value anywhere in the vintage
        rows = []
    else:
        with read_connection().cursor() as cursor:
            raw = cursor.cursor
            # Bound client-side, as observation_csv_copy binds it; `%` doubled for the outer parameters.
            observations = (raw.mogrify(inner, params) if params else inner).replace("%", "%%")
            cursor.execute(_CLASSES_SQL.replace("{observations}", observations),
                           {"lower_is_better": Indicator.Polarity.LOWER_IS_BETTER, "deciles_from": DECILES_FROM})
            rows = cursor.fetchall()
    if not rows:
        where = f" in period {token!r}" if named else ""
        raise ParameterError("period" if named else "indicator",
                             f"{indicator} has no values for areas of {vintage.code}{where}; "
                             f"/api/v1/indicators/{indicator}/ lists the area types and periods it covers")
    periods = list(dict.fromkeys((r[6], r[7]) for r in rows))
    if len(periods) > 1:
        raise ParameterError("period", f"{token!r} matches {len(periods)} periods with values for {vintage.code} "
                                       f"({', '.join(label for _, label in periods)}); give one of them")
    first = rows[0]
    count = first[10]
    by_number = {r[12]: ClassBand(r[12], r[13], r[14], r[15]) for r in rows}
    bands = [by_number.get(n, ClassBand(n, None, None, 0)) for n in range(1, count + 1)]
    return TileClasses(indicator_id=first[0], slug=first[1], title=first[2], unit=first[3], unit_symbol=first[4],
                       polarity=first[5], period_id=first[6], period=first[7], period_iso=first[8], areas=first[9],
                       classes=count, cuts=list(first[11]), bands=bands)


# -- the tile ---------------------------------------------------------------------------------------
# Raw SQL, prepared once per connection (levelup_api.core.prepared): ST_AsMVT has no ORM form, and
# planning costs a tenth of a small tile. The boundaries in the tile are found by the bounding box
# of their Web Mercator copy (geom_3857, a stored generated column: geographies migration 0005),
# through its GiST index, with the buffer's margin; each is simplified to the zoom's tolerance and
# cut to the tile in the CTE, which is materialised so that ST_AsMVTGeom runs once a boundary (not
# again for the NULL test). Features come in the index's order: the areas of a vintage do not
# overlap, so the order a renderer paints them in shows nothing, and sorting would cost a tenth of
# the tile. Names are the vintage's own (the membership's). Without an indicator
# its parameters are NULL and no observation joins: the value columns are NULL, and ST_AsMVT leaves
# NULL properties out, as it does for an area without a value or a Welsh name.
TILE_SQL = f"""
    WITH tile AS MATERIALIZED (
        SELECT b.area_id,
               ST_AsMVTGeom(ST_Simplify(b.geom_3857, %(tolerance)s::float8),
                            ST_TileEnvelope(%(z)s::int, %(x)s::int, %(y)s::int), {EXTENT}, {BUFFER}, true) AS geom
        FROM geographies_boundary b
        WHERE b.vintage_id = %(vintage)s::bigint
          AND b.geom_3857 && ST_TileEnvelope(%(z)s::int, %(x)s::int, %(y)s::int, margin => {BUFFER / EXTENT})
    )
    SELECT ST_AsMVT(f, '{LAYER}', {EXTENT}, 'geom') FROM (
        SELECT a.code, m.name, nullif(m.name_cy, '') AS name_cy, o.value, o.lci, o.uci, o.rank, o.rank_of,
               {CLASS_SQL.format(classes="%(classes)s::int", key="%(sign)s::int * o.value",
                                 thresholds="%(thresholds)s::float8[]")} AS class,
               t.geom
        FROM tile t
        JOIN geographies_area a ON a.id = t.area_id
        JOIN geographies_areamembership m ON m.area_id = t.area_id AND m.vintage_id = %(vintage)s::bigint
        LEFT JOIN indicators_observation o ON CURRENT_RELEASE(o) AND o.indicator_id = %(indicator)s::int
             AND o.period_id = %(period)s::int AND o.area_id = t.area_id
        WHERE t.geom IS NOT NULL
    ) f
"""


def tile_params(*, vintage_id: int, z: int, x: int, y: int, classes: TileClasses | None = None) -> dict:
    """TILE_SQL's parameters (bench/tiles.py runs the statement with them too)."""
    return {"z": z, "x": x, "y": y, "vintage": vintage_id, "tolerance": simplify_tolerance(z),
            "indicator": classes.indicator_id if classes else None, "period": classes.period_id if classes else None,
            "classes": classes.classes if classes else None, "sign": classes.sign if classes else None,
            "thresholds": classes.thresholds if classes else []}


def tile_mvt(*, vintage: Vintage, z: int, x: int, y: int, classes: TileClasses | None = None) -> bytes:
    """The tile's bytes: one layer, `areas`, a feature per boundary of `vintage` it shows; empty when
    there is none."""
    with prepared_cursor(read_connection()) as cursor:
        cursor.execute(current_in(TILE_SQL, [classes.indicator_id] if classes else []), tile_params(vintage_id=vintage.id, z=z, x=x, y=y, classes=classes))
        (body,) = cursor.fetchone()
    return bytes(body) if body else b""


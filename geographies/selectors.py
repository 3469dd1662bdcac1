"""Reads for geographies. REST views and GraphQL resolvers both call these, so both surfaces
return the same areas in the same order with the same number of queries."""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from dataclasses import dataclass

from django.db import DatabaseError, connection
from django.db.models import Case, Exists, F, OuterRef, Prefetch, QuerySet, Value, When

from levelup_api.core.params import ParameterError
from levelup_api.core.replicas import read_connection

from .models import Area, AreaAncestor, AreaChange, AreaLink, AreaMembership, AreaType, Boundary, Vintage

# The one parameter error (levelup_api.core.params); this name is kept for the callers that catch it.
SelectorError = ParameterError


def area_type_list() -> QuerySet[AreaType]:
    return AreaType.objects.prefetch_related(
        Prefetch("vintages", queryset=Vintage.objects.order_by("effective_from"))
    ).order_by("level", "code")


def vintage_list(*, area_type: AreaType | None = None) -> QuerySet[Vintage]:
    qs = Vintage.objects.select_related("area_type").order_by("area_type__level", "effective_from", "code")
    if area_type is not None:
        qs = qs.filter(area_type=area_type)
    return qs


def area_base() -> QuerySet[Area]:
    return Area.objects.select_related("area_type").order_by("code")


def area_list_prefetched(qs: QuerySet[Area]) -> QuerySet[Area]:
    """What the list representation shows: type and vintage codes, in one extra query."""
    return area_prefetch(qs, relations={"vintages"})


AREA_CSV_COLUMNS = ["code", "name", "name_cy", "type", "entity", "active_from", "active_to"]


def area_csv_rows(qs: QuerySet[Area]) -> Iterator[tuple]:
    """Plain tuples from a server-side cursor: constant memory for the 35k-row LSOA list."""
    return qs.values_list("code", "name", "name_cy", "area_type__code", "entity", "active_from", "active_to").iterator(
        chunk_size=5000
    )


def area_get(*, code: str, relations: set[str] | frozenset[str] | None = None) -> Area | None:
    """One area by code (case-insensitive), with the named relations eager-loaded (default: all)."""
    qs = area_prefetch(Area.objects.all(), relations=AREA_RELATIONS if relations is None else relations)
    return qs.filter(code=code.strip().upper()).first()


def _relation_prefetches() -> dict[str, Prefetch]:
    return {
        "vintages": Prefetch(
            "memberships",
            queryset=AreaMembership.objects.select_related("vintage__area_type").order_by("vintage__effective_from"),
        ),
        "parents": Prefetch(
            "parent_links",
            queryset=AreaLink.objects.select_related("parent", "child_vintage", "parent_vintage__area_type")
            .order_by("child_vintage__effective_from", "parent_vintage__area_type__level", "parent_vintage__effective_from"),
        ),
        # Unchanged rows whose code carries over (LSOA U rows) are history, not predecessors.
        "predecessors": Prefetch(
            "predecessor_changes",
            queryset=AreaChange.objects.exclude(predecessor_id=F("successor_id"))
            .select_related("predecessor__area_type").order_by("effective_date", "predecessor__code"),
        ),
        "successors": Prefetch(
            "successor_changes",
            queryset=AreaChange.objects.exclude(successor_id=F("predecessor_id"))
            .select_related("successor__area_type").order_by("effective_date", "successor__code"),
        ),
        "boundary_vintages": Prefetch(
            "boundaries",
            queryset=Boundary.objects.defer("geom").select_related("vintage").order_by("vintage__effective_from"),
        ),
    }


AREA_RELATIONS = frozenset(_relation_prefetches())


def area_prefetch(qs: QuerySet[Area], *, relations: set[str] | frozenset[str]) -> QuerySet[Area]:
    """Eager-load the named relations (vintages, parents, predecessors, successors, boundary_vintages):
    one extra query each, whatever the number of areas."""
    prefetches = _relation_prefetches()
    return qs.select_related("area_type").prefetch_related(*(prefetches[r] for r in relations if r in prefetches))


def area_detail_queryset() -> QuerySet[Area]:
    return area_prefetch(Area.objects.all(), relations=AREA_RELATIONS)


def area_has_membership(*, vintage: Vintage) -> Exists:
    return Exists(AreaMembership.objects.filter(area=OuterRef("pk"), vintage=vintage))


def area_in_type(*, area_type: AreaType) -> Exists:
    return Exists(AreaMembership.objects.filter(area=OuterRef("pk"), vintage__area_type=area_type))


def area_descends_from(*, ancestor: Area, vintage: Vintage | None = None) -> Exists:
    rows = AreaAncestor.objects.filter(ancestor=ancestor, descendant=OuterRef("pk"))
    if vintage is not None:
        rows = rows.filter(descendant_vintage=vintage)
    return Exists(rows)


def _latest_child_vintage(*, area: Area, area_type: AreaType | None) -> Vintage | None:
    rows = AreaAncestor.objects.filter(ancestor=area).exclude(descendant=area)
    if area_type is not None:
        rows = rows.filter(descendant_vintage__area_type=area_type)
    else:
        rows = rows.filter(depth=1)
    vintage_ids = rows.values("descendant_vintage")
    return Vintage.objects.filter(id__in=vintage_ids).select_related("area_type").order_by(
        "-effective_from", "area_type__level"
    ).first()


@dataclass
class Children:
    vintage: Vintage | None
    areas: QuerySet[Area]


def area_children(*, area: Area, area_type: AreaType | None = None, vintage: Vintage | None = None) -> Children:
    """Areas below `area`. With a vintage: every descendant in that vintage. With a type only: the
    latest vintage of that type that has descendants. With neither: direct children, latest vintage."""
    if vintage is not None and area_type is not None and vintage.area_type_id != area_type.id:
        raise SelectorError("vintage", f"{vintage.code} is a {vintage.area_type.code} vintage, not {area_type.code}")
    if vintage is None:
        vintage = _latest_child_vintage(area=area, area_type=area_type)
    if vintage is None:
        return Children(None, Area.objects.none())
    rows = AreaAncestor.objects.filter(ancestor=area, descendant_vintage=vintage).exclude(descendant=area)
    areas = area_base().filter(id__in=rows.values("descendant"))
    return Children(vintage, areas)


def area_default_vintage(*, area: Area) -> Vintage | None:
    """The latest vintage of the area's own type that holds it (LAD25 for Manchester)."""
    memberships = sorted(area.memberships.all(), key=lambda m: (m.vintage.area_type_id != area.area_type_id,
                                                               -m.vintage.effective_from.toordinal()))
    return memberships[0].vintage if memberships else None


def area_ancestors(*, area: Area, vintage: Vintage | None = None) -> tuple[Vintage | None, QuerySet[AreaAncestor]]:
    if vintage is None:
        vintage = area_default_vintage(area=area)
    elif not any(m.vintage_id == vintage.id for m in area.memberships.all()):
        held = ", ".join(m.vintage.code for m in area.memberships.all())
        raise SelectorError("vintage", f"{area.code} is not in {vintage.code}; it is in {held}")
    rows = (
        AreaAncestor.objects.filter(descendant=area, descendant_vintage=vintage)
        .exclude(ancestor=area)
        .select_related("ancestor__area_type", "ancestor_vintage__area_type")
        .order_by("ancestor_vintage__area_type__level", "depth", "ancestor_vintage__effective_from")
    )
    return vintage, rows


def boundary_for_area(*, area: Area, vintage: Vintage | None = None, simplify: float | None = None) -> Boundary | None:
    """The area's boundary in `vintage`, or by default in the newest vintage of its own type."""
    qs = Boundary.objects.filter(area=area).select_related("vintage__area_type")
    if vintage is not None:
        qs = qs.filter(vintage=vintage)
    qs = qs.order_by(
        Case(When(vintage__area_type_id=area.area_type_id, then=Value(0)), default=Value(1)),
        "-vintage__effective_from",
    )
    boundary = qs.first()
    if boundary is not None:
        # `shape` is what callers render: the stored geometry, or a simplified copy (may be a Polygon).
        boundary.shape = boundary.geom.simplify(simplify, preserve_topology=True) if simplify else boundary.geom
    return boundary


def latest_boundary_vintage(*, area_type: AreaType) -> Vintage | None:
    return (
        Vintage.objects.filter(area_type=area_type, boundary_count__gt=0)
        .select_related("area_type").order_by("-effective_from").first()
    )


def boundary_features(*, vintage: Vintage, parent: Area | None = None, simplify: float | None = None,
                      chunk: int = 2000) -> Iterator[bytes]:
    """GeoJSON Feature objects as bytes, built in PostGIS and streamed from a server-side cursor:
    the national LSOA set is 35k features, too many to hold as model instances."""
    geom = "ST_SimplifyPreserveTopology(b.geom, %(simplify)s)" if simplify else "b.geom"
    # Raw SQL: json_build_object + ST_AsGeoJSON in the database is several times faster than
    # serialising GEOS geometries in Python, and streams in constant memory.
    query = f"""
        SELECT json_build_object(
            'type', 'Feature', 'id', a.code,
            'properties', json_build_object('code', a.code, 'name', m.name, 'name_cy', nullif(m.name_cy, ''),
                                            'type', t.code, 'vintage', v.code, 'resolution', b.resolution),
            'geometry', ST_AsGeoJSON({geom}, 6)::json)::text
        FROM geographies_boundary b
        JOIN geographies_area a ON a.id = b.area_id
        JOIN geographies_vintage v ON v.id = b.vintage_id
        JOIN geographies_areatype t ON t.id = v.area_type_id
        JOIN geographies_areamembership m ON m.area_id = b.area_id AND m.vintage_id = b.vintage_id
        WHERE b.vintage_id = %(vintage)s
          {"AND EXISTS (SELECT 1 FROM geographies_areaancestor x WHERE x.descendant_id = b.area_id AND x.descendant_vintage_id = b.vintage_id AND x.ancestor_id = %(parent)s)" if parent else ""}
        ORDER BY a.code
    """
    params = {"vintage": vintage.id, "parent": parent.id if parent else None, "simplify": simplify}
    with connection.chunked_cursor() as cursor:
        cursor.execute(query, params)
        while rows := cursor.fetchmany(chunk):
            for (feature,) in rows:
                yield feature.encode()


@dataclass
class PointHit:
    code: str
    name: str
    type_code: str
    type_name: str
    vintage: str
    level: int


# Point lookup is the API's hottest path, so it is raw SQL over one precomputed table, prepared
# once per connection (geographies.apps prepares it when a connection opens): planning costs more
# than running it. Without a requested vintage it probes a small partial GiST index over the
# pieces of each type's newest vintage; with one, the full index for those vintages and the
# partial index for the other types. Pieces carry the codes and names they return (derived).
_PIECE_COLUMNS = "code, name, type_code, type_name, vintage_code, level"
POINT_SQL_DEFAULT = f"""
    SELECT DISTINCT ON (level, type_code) {_PIECE_COLUMNS} FROM geographies_boundarypiece
    WHERE is_default AND ST_Intersects(geom, ST_SetSRID(ST_MakePoint($1, $2), 4326))
    ORDER BY level, type_code, code
"""
POINT_SQL_REQUESTED = f"""
    SELECT DISTINCT ON (level, type_code) {_PIECE_COLUMNS} FROM (
        SELECT {_PIECE_COLUMNS} FROM geographies_boundarypiece
        WHERE is_default AND area_type_id <> ALL($4) AND ST_Intersects(geom, ST_SetSRID(ST_MakePoint($1, $2), 4326))
        UNION ALL
        SELECT {_PIECE_COLUMNS} FROM geographies_boundarypiece
        WHERE vintage_id = ANY($3) AND ST_Intersects(geom, ST_SetSRID(ST_MakePoint($1, $2), 4326))
    ) hits
    ORDER BY level, type_code, code
"""
POINT_STATEMENTS = {
    "point_lookup_default": ("float8, float8", POINT_SQL_DEFAULT),
    "point_lookup_requested": ("float8, float8, bigint[], bigint[]", POINT_SQL_REQUESTED),
}
_prepared_on: weakref.WeakSet = weakref.WeakSet()


def point_lookup_prepare(db_connection) -> bool:
    """PREPARE the point-lookup statements on this connection; False if the tables are not there yet."""
    raw = db_connection.connection
    if raw is None or raw in _prepared_on:
        return raw is not None
    try:
        with db_connection.cursor() as cursor:
            # Always the generic plan: a custom plan per call would pay the planning again. Django's
            # own queries bind parameters client-side, so this setting only touches these statements.
            cursor.execute("SET plan_cache_mode = force_generic_plan")
            for name, (types, body) in POINT_STATEMENTS.items():
                cursor.execute(f"PREPARE {name}({types}) AS {body}")
    except DatabaseError:
        if not db_connection.get_autocommit():
            raise
        return False
    _prepared_on.add(raw)
    return True


def point_lookup(*, lon: float, lat: float, vintages: list[Vintage] = ()) -> list[PointHit]:
    """Every area containing the point, one per type, in the requested or newest vintages."""
    db = read_connection()
    db.ensure_connection()  # (prepares the statements on a new connection)
    prepared = db.connection in _prepared_on
    with db.cursor() as cursor:
        if vintages:
            params = [lon, lat, [v.id for v in vintages], [v.area_type_id for v in vintages]]
            name = "point_lookup_requested"
        else:
            params, name = [lon, lat], "point_lookup_default"
        if prepared:
            cursor.execute(f"EXECUTE {name}({', '.join(['%s'] * len(params))})", params)
        else:
            body = POINT_STATEMENTS[name][1]
            for n in range(len(params), 0, -1):
                body = body.replace(f"${n}", f"%(p{n})s")
            cursor.execute(body, {f"p{n}": v for n, v in enumerate(params, start=1)})
        return [PointHit(*row) for row in cursor.fetchall()]

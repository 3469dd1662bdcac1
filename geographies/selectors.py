"""Reads for geographies. REST views and GraphQL resolvers both call these, so both surfaces
return the same areas in the same order with the same number of queries."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date

import orjson
from django.contrib.postgres.expressions import ArraySubquery
from django.db import DatabaseError, connection
from django.db.models import Case, Exists, F, Max, OuterRef, Prefetch, Q, QuerySet, Value, When, Window
from django.db.models.functions import JSONObject, Lower

from levelup_api.core.caching import data_version
from levelup_api.core.params import ParameterError
from levelup_api.core.prepared import prepared_cursor
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


def area_type_rows() -> tuple[list[tuple], dict[int, list[tuple]]]:
    """Area types as tuples (id, code, name, description, entity_codes, code_pattern, level) in
    area_type_list's order, and each type's vintages as tuples (code, name, effective_from,
    effective_to, area_count, boundary_count), oldest first: two statements."""
    types = list(AreaType.objects.order_by("level", "code").values_list(
        "id", "code", "name", "description", "entity_codes", "code_pattern", "level"))
    vintages: dict[int, list[tuple]] = {}
    for type_id, *row in Vintage.objects.order_by("effective_from", "code").values_list(
            "area_type_id", "code", "name", "effective_from", "effective_to", "area_count", "boundary_count"):
        vintages.setdefault(type_id, []).append(tuple(row))
    return types, vintages


VINTAGE_ROW_COLUMNS = ["code", "name", "type", "effective_from", "effective_to", "area_count", "boundary_count"]


def vintage_rows(qs: QuerySet[Vintage]) -> QuerySet:
    """Tuples of VINTAGE_ROW_COLUMNS for the vintages of `qs` (vintage_list), in its order."""
    return qs.values_list("code", "name", "area_type__code", "effective_from", "effective_to", "area_count",
                          "boundary_count")


def area_base() -> QuerySet[Area]:
    return Area.objects.select_related("area_type").order_by("code")


# The REST representations are built from plain rows, not model instances (a ModelSerializer per
# row was most of a list's time): these are the columns each one shows, in the order it shows them.
AREA_ROW_COLUMNS = ["code", "name", "name_cy", "type", "entity", "active_from", "active_to", "vintages"]


def area_vintage_codes() -> ArraySubquery:
    """The codes of the vintages that hold the outer area, oldest first (vintages that took effect
    on the same day by type, smallest first: LAD23 before UTLA23)."""
    return ArraySubquery(
        AreaMembership.objects.filter(area=OuterRef("pk"))
        .order_by("vintage__effective_from", "vintage__area_type__level", "vintage__code")
        .values("vintage__code"))


def area_replaced_by() -> Case:
    """For an area whose code has ended (active_to passed: the list's `terminated`), the areas that
    replaced it as [{"code", "name"}], by date then code; None for a live code, which costs no probe.
    Unchanged rows that carry a code over are history, not a successor (as in area_prefetch)."""
    successors = ArraySubquery(
        AreaChange.objects.filter(predecessor=OuterRef("pk")).exclude(successor=OuterRef("pk"))
        .order_by("effective_date", "successor__code")
        .values(replaced_by=JSONObject(code="successor__code", name="successor__name")))
    return Case(When(active_to__lt=date.today(), then=successors), default=None)


def area_list_rows(qs: QuerySet[Area]) -> QuerySet:
    """Tuples of AREA_ROW_COLUMNS for the areas of `qs`, in its order, then what replaced an ended
    code (area_replaced_by): one statement, whatever the number of areas. The vintages come as an
    array of ids from the membership index alone (joining and sorting the vintages for each area was
    most of a list's time); vintage_codes_namer turns them into codes in area_vintage_codes' order."""
    ids = ArraySubquery(AreaMembership.objects.filter(area=OuterRef("pk")).values("vintage_id"))
    return qs.annotate(vintage_ids=ids, replaced_by=area_replaced_by()).values_list(
        "code", "name", "name_cy", "area_type__code", "entity", "active_from", "active_to", "vintage_ids",
        "replaced_by")


def area_search(qs: QuerySet[Area], *, q: str) -> QuerySet[Area]:
    """The areas of `qs` a search for `q` finds: a code that starts with it (ended codes too) or a
    name that holds it, case-insensitively."""
    q = q.strip()
    return qs.filter(Q(code__istartswith=q) | Q(name__icontains=q)) if q else qs


def area_search_ranked(qs: QuerySet[Area], *, q: str) -> QuerySet[Area]:
    """The areas of `qs` (area_search's, for `q`) best first: an exact code or name, then a code or
    name that starts with `q`, then the rest. Within each, larger areas first: the areas that share
    a name go together, ranked by the largest type among them (a country before a region before a
    district ... before an LSOA), then by name; among namesakes the GSS-coded area comes first
    (the district of Manchester, E08000003, before the ITL3 region Manchester, TLD33, which is the
    same land under a larger type), then the larger type, then the code. So `q=manchest` lists the
    district before Manchester 018A, and `q=E0700002` the four Cumbrian districts that ended."""
    q = q.strip()
    if not q:
        return qs
    tier = Case(When(Q(code__iexact=q) | Q(name__iexact=q), then=Value(0)),
                When(Q(code__istartswith=q) | Q(name__istartswith=q), then=Value(1)), default=Value(2))
    return qs.annotate(
        search_tier=tier,
        search_level=Window(Max("area_type__level"), partition_by=[tier, Lower("name")]),
        search_not_gss=Case(When(entity="", then=Value(1)), default=Value(0)),
    ).order_by("search_tier", "-search_level", Lower("name"), "search_not_gss", "-area_type__level", "code")


# vintage id -> (its place in area_vintage_codes' order, its code), read once per data version.
_vintage_order: dict[str, object] = {"version": None, "of": {}}


def vintage_codes_namer() -> Callable[[list[int]], list[str]]:
    """A function giving vintage codes for vintage ids, in area_vintage_codes' order (oldest first;
    ties by type, smallest first, then code): the order read once per data version, the data
    version once per call of this (once per list, not per row)."""
    version, of = data_version(), _vintage_order["of"]
    if _vintage_order["version"] != version:
        of = _vintage_order_read(version)

    def codes(ids: list[int]) -> list[str]:
        found = of if all(i in of for i in ids) else _vintage_order_read(version)  # a vintage new to this process
        return [code for _, code in sorted(found[i] for i in ids)]

    return codes


def _vintage_order_read(version: float) -> dict[int, tuple[int, str]]:
    rows = Vintage.objects.order_by("effective_from", "area_type__level", "code").values_list("id", "code")
    of = _vintage_order["of"] = {pk: (n, code) for n, (pk, code) in enumerate(rows)}
    _vintage_order["version"] = version
    return of


# One area's whole document in one statement: its row, and each relation as an array built in
# PostgreSQL (raw SQL: five prefetch queries and their model instances cost more than the rest of
# the request). The relations are ordered as the ORM prefetches order them (area_prefetch), with
# ties broken by type and code so that the order never depends on the plan.
_AREA_DETAIL_SQL = """
    SELECT a.code, a.name, a.name_cy, t.code, a.entity, a.active_from, a.active_to, t.name,
        (SELECT coalesce(array_agg(v.code ORDER BY v.effective_from, vt.level, v.code), '{}')
           FROM geographies_areamembership m JOIN geographies_vintage v ON v.id = m.vintage_id
           JOIN geographies_areatype vt ON vt.id = v.area_type_id
          WHERE m.area_id = a.id),
        (SELECT coalesce(json_agg(json_build_object(
                    'vintage', cv.code, 'parent_vintage', pv.code, 'code', p.code, 'name', p.name, 'type', pt.code,
                    'fit', l.fit)
                ORDER BY cv.effective_from, pt.level, pv.effective_from, ct.level, cv.code, pv.code), '[]')::text
           FROM geographies_arealink l JOIN geographies_area p ON p.id = l.parent_id
           JOIN geographies_vintage cv ON cv.id = l.child_vintage_id
           JOIN geographies_areatype ct ON ct.id = cv.area_type_id
           JOIN geographies_vintage pv ON pv.id = l.parent_vintage_id
           JOIN geographies_areatype pt ON pt.id = pv.area_type_id
          WHERE l.child_id = a.id),
        (SELECT coalesce(json_agg(json_build_object(
                    'code', o.code, 'name', o.name, 'change_type', c.change_type, 'change_code', c.change_type,
                    'effective_date', c.effective_date, 'weight', c.weight::text)
                ORDER BY c.effective_date, o.code), '[]')::text
           FROM geographies_areachange c JOIN geographies_area o ON o.id = c.predecessor_id
          WHERE c.successor_id = a.id AND c.predecessor_id <> c.successor_id),
        (SELECT coalesce(json_agg(json_build_object(
                    'code', o.code, 'name', o.name, 'change_type', c.change_type, 'change_code', c.change_type,
                    'effective_date', c.effective_date, 'weight', c.weight::text)
                ORDER BY c.effective_date, o.code), '[]')::text
           FROM geographies_areachange c JOIN geographies_area o ON o.id = c.successor_id
          WHERE c.predecessor_id = a.id AND c.predecessor_id <> c.successor_id),
        (SELECT coalesce(array_agg(v.code ORDER BY v.effective_from, vt.level, v.code), '{}')
           FROM geographies_boundary b JOIN geographies_vintage v ON v.id = b.vintage_id
           JOIN geographies_areatype vt ON vt.id = v.area_type_id
          WHERE b.area_id = a.id)
    FROM geographies_area a JOIN geographies_areatype t ON t.id = a.area_type_id
    WHERE a.code = %s
"""


@dataclass
class AreaDetail:
    code: str
    name: str
    name_cy: str
    type: str
    entity: str
    active_from: object
    active_to: object
    type_name: str
    vintages: list[str]
    parents: list[dict]
    predecessors: list[dict]  # change_type is the ONS letter (U/S/M/X), as change_code
    successors: list[dict]
    boundary_vintages: list[str]


def area_detail(*, code: str) -> AreaDetail | None:
    """One area by code (case-insensitive) with every relation its document shows, in one statement."""
    with prepared_cursor(read_connection()) as cursor:  # planned once per connection
        cursor.execute(_AREA_DETAIL_SQL, [code.strip().upper()])
        row = cursor.fetchone()
    if row is None:
        return None
    *head, vintages, parents, predecessors, successors, boundary_vintages = row
    return AreaDetail(*head, vintages=vintages, parents=orjson.loads(parents), predecessors=orjson.loads(predecessors),
                      successors=orjson.loads(successors), boundary_vintages=boundary_vintages)


def area_ancestor_rows(rows: QuerySet[AreaAncestor]) -> QuerySet:
    """Tuples (code, name, type, vintage, depth, fit) of area_ancestors' rows, in their order."""
    return rows.values_list("ancestor__code", "ancestor__name", "ancestor_vintage__area_type__code",
                            "ancestor_vintage__code", "depth", "fit")


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


# Each relation's Prefetch, made when asked for (building all five querysets for every area read
# cost more than the read of an area without relations).
_RELATION_PREFETCHES: dict[str, Callable[[], Prefetch]] = {
    "vintages": lambda: Prefetch(
        "memberships",
        # Ties (LAD21 and UTLA21 took effect on one day) by type, smallest first, then code: the
        # order never depends on the plan, and GraphQL's compiled SQL (graphql_sql.py) says the same.
        queryset=AreaMembership.objects.select_related("vintage__area_type").order_by(
            "vintage__effective_from", "vintage__area_type__level", "vintage__code"),
    ),
    "parents": lambda: Prefetch(
        "parent_links",
        queryset=AreaLink.objects.select_related("parent", "child_vintage", "parent_vintage__area_type")
        .order_by("child_vintage__effective_from", "parent_vintage__area_type__level", "parent_vintage__effective_from",
                  "child_vintage__area_type__level", "child_vintage__code", "parent_vintage__code"),
    ),
    # Unchanged rows whose code carries over (LSOA U rows) are history, not predecessors.
    "predecessors": lambda: Prefetch(
        "predecessor_changes",
        queryset=AreaChange.objects.exclude(predecessor_id=F("successor_id"))
        .select_related("predecessor__area_type").order_by("effective_date", "predecessor__code"),
    ),
    "successors": lambda: Prefetch(
        "successor_changes",
        queryset=AreaChange.objects.exclude(successor_id=F("predecessor_id"))
        .select_related("successor__area_type").order_by("effective_date", "successor__code"),
    ),
    "boundary_vintages": lambda: Prefetch(
        "boundaries",
        queryset=Boundary.objects.defer("geom").select_related("vintage").order_by(
            "vintage__effective_from", "vintage__area_type__level", "vintage__code"),
    ),
}


AREA_RELATIONS = frozenset(_RELATION_PREFETCHES)


def area_prefetch(qs: QuerySet[Area], *, relations: set[str] | frozenset[str]) -> QuerySet[Area]:
    """Eager-load the named relations (vintages, parents, predecessors, successors, boundary_vintages):
    one extra query each, whatever the number of areas."""
    return qs.select_related("area_type").prefetch_related(
        *(_RELATION_PREFETCHES[r]() for r in relations if r in _RELATION_PREFETCHES))


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
        "-effective_from", "area_type__level", "code"  # ties (GLA and CAUTH share a level) by code
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
    held = (area.memberships.all() if "memberships" in getattr(area, "_prefetched_objects_cache", {})
            else area.memberships.select_related("vintage"))  # one statement, not one per vintage
    memberships = sorted(held, key=lambda m: (m.vintage.area_type_id != area.area_type_id,
                                              -m.vintage.effective_from.toordinal(), m.vintage.code))
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
        .order_by("ancestor_vintage__area_type__level", "depth", "ancestor_vintage__effective_from",
                  "ancestor_vintage__code", "ancestor__code")
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
# once per connection (levelup_api.core.prepared): planning costs more than running it. Without a
# requested vintage it probes a small partial GiST index over the pieces of each type's newest
# vintage; with one, the full index for those vintages and the partial index for the other types. Pieces carry the codes and names they return (derived).
_PIECE_COLUMNS = "code, name, type_code, type_name, vintage_code, level"
POINT_SQL_DEFAULT = f"""
    SELECT DISTINCT ON (level, type_code) {_PIECE_COLUMNS} FROM geographies_boundarypiece
    WHERE is_default AND ST_Intersects(geom, ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326))
    ORDER BY level, type_code, code
"""
POINT_SQL_REQUESTED = f"""
    SELECT DISTINCT ON (level, type_code) {_PIECE_COLUMNS} FROM (
        SELECT {_PIECE_COLUMNS} FROM geographies_boundarypiece
        WHERE is_default AND area_type_id <> ALL(%(types)s) AND ST_Intersects(geom, ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326))
        UNION ALL
        SELECT {_PIECE_COLUMNS} FROM geographies_boundarypiece
        WHERE vintage_id = ANY(%(vintages)s) AND ST_Intersects(geom, ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326))
    ) hits
    ORDER BY level, type_code, code
"""
# psycopg PREPAREs each on first use per connection and keeps it (levelup_api.core.prepared).
POINT_STATEMENTS = {"default": POINT_SQL_DEFAULT, "requested": POINT_SQL_REQUESTED}


def point_lookup_prepare(db_connection) -> bool:
    """Set a new connection up for the point lookup: always the generic plan for prepared
    statements, since a custom plan per call would pay the planning again (Django's own queries
    bind client-side and are never prepared, so only these and compiled GraphQL see it). False if
    the database cannot be asked yet."""
    if db_connection.connection is None:
        return False
    try:
        with db_connection.cursor() as cursor:
            cursor.execute("SET plan_cache_mode = force_generic_plan")
    except DatabaseError:
        if not db_connection.get_autocommit():
            raise
        return False
    return True


def point_lookup(*, lon: float, lat: float, vintages: list[Vintage] = ()) -> list[PointHit]:
    """Every area containing the point, one per type, in the requested or newest vintages."""
    params = {"lon": lon, "lat": lat}
    if vintages:
        params |= {"vintages": [v.id for v in vintages], "types": [v.area_type_id for v in vintages]}
    with prepared_cursor(read_connection()) as cursor:
        cursor.execute(POINT_STATEMENTS["requested" if vintages else "default"], params)
        return [PointHit(*row) for row in cursor.fetchall()]

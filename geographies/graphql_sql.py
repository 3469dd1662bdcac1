"""The SQL of the GraphQL fields geographies answers, for the compiled path
(levelup_api/core/graphql_sql.py; docs/graphql.md): `area`, `areas`, and on `Area` its own columns,
`children`, `parents`, `ancestors`, `vintages`, `predecessors`, `successors`, `boundaryVintages`.
Each declaration says the same as its resolver in geographies/graphql.py and the selector it calls
(geographies/selectors.py), down to the order of ties; arguments go through the same FilterSets
(geographies/filters.py). tests/clients.py's gql() answers every GraphQL test's document both ways
and compares them."""

from __future__ import annotations

from levelup_api.core.graphql_sql import (
    DATE,
    FLOAT,
    INT,
    JSON,
    STRING,
    BindContext,
    Bound,
    Connection,
    Inline,
    Mapped,
    NotCompilable,
    ObjectSQL,
    Rows,
    Scalar,
    global_id,
    model_guards,
    params_bound,
    queryset_sql,
)

from .filters import AncestorsParams, ChildrenParams
from .graphql import AreaGraphFilterSet
from .models import Area, ChangeType

# The resolver eager-loads (and so orders) an area's relations only for the areas it lists itself:
# `area`, `areas` and `children` (prefetch_for_selection). Reached another way (a parent link's
# area, say) the ORM reads them unordered, so those fields compile only in this context.
LISTED = "listed"
_LISTED = frozenset({LISTED})


def _area_code(arguments: dict, context: BindContext) -> Bound:
    # resolve_area: Area.objects.filter(code=code.strip().upper()).first()
    return Bound(params={"code": arguments["code"].strip().upper()})


def _children(arguments: dict, context: BindContext) -> Bound:
    # resolve_children -> ChildrenParams -> selectors.area_children
    cleaned = params_bound(ChildrenParams, arguments).cleaned
    area_type, vintage = cleaned.get("type"), cleaned.get("vintage")
    if vintage is not None:
        return Bound("vintage", {"vintage": vintage.id}, model_guards(vintage, area_type))
    if area_type is not None:
        return Bound("type", {"type": area_type.id}, model_guards(area_type))
    return Bound("direct")


def _children_source(variant: str) -> str:
    if variant == "vintage":
        vintage = "{vintage}::bigint"
    else:
        # _latest_child_vintage: the newest vintage (ties by type level, then code) that holds a
        # descendant of that type, or without a type a direct child
        direct, typed = ("", " AND v.area_type_id = {type}::bigint") if variant == "type" else (" AND r.depth = 1", "")
        vintage = ("(SELECT v.id FROM geographies_vintage v JOIN geographies_areatype vt ON vt.id = v.area_type_id "
                   "WHERE v.id IN (SELECT r.descendant_vintage_id FROM geographies_areaancestor r "
                   f"WHERE r.ancestor_id = {{parent}}.id AND r.descendant_id <> {{parent}}.id{direct}){typed} "
                   "ORDER BY v.effective_from DESC, vt.level, v.code LIMIT 1)")
    return ("geographies_area {row} {joins} WHERE {row}.id IN (SELECT aa.descendant_id FROM geographies_areaancestor aa "
            f"WHERE aa.ancestor_id = {{parent}}.id AND aa.descendant_vintage_id = {vintage} "
            "AND aa.descendant_id <> {parent}.id)")


def _ancestors(arguments: dict, context: BindContext) -> Bound:
    # resolve_ancestors -> AncestorsParams -> selectors.area_ancestors
    vintage = params_bound(AncestorsParams, arguments).cleaned.get("vintage")
    if vintage is None:
        return Bound("default")
    return Bound("given", {"vintage": vintage.id}, model_guards(vintage))


def _ancestors_source(variant: str) -> str:
    if variant == "given":
        vintage = "{vintage}::bigint"
    else:  # area_default_vintage: its own type's newest vintage first, ties by code
        vintage = ("(SELECT m.vintage_id FROM geographies_areamembership m JOIN geographies_vintage v ON v.id = m.vintage_id "
                   "WHERE m.area_id = {parent}.id ORDER BY (v.area_type_id <> {parent}.area_type_id), "
                   "v.effective_from DESC, v.code LIMIT 1)")
    return (f"geographies_areaancestor {{row}} {{joins}} WHERE {{row}}.descendant_id = {{parent}}.id "
            f"AND {{row}}.descendant_vintage_id = {vintage} AND {{row}}.ancestor_id <> {{parent}}.id")


def _ancestors_check(variant: str) -> str:
    # area_ancestors refuses a vintage the area is not in (a ParameterError naming it)
    if variant == "given":
        return ("EXISTS (SELECT FROM geographies_areamembership m WHERE m.area_id = {parent}.id "
                "AND m.vintage_id = {vintage}::bigint)")
    return ""


def _areas(filters: dict, context: BindContext) -> Bound:
    # ParamsConnectionField.resolve_queryset: AreaNode.get_queryset ordered by code, then the FilterSet
    if filters.get("id") is not None:  # a Relay global ID: graphql-core decodes it
        raise NotCompilable("id")
    bound = params_bound(AreaGraphFilterSet, filters, queryset=Area.objects.order_by("code"))
    template, params = queryset_sql(bound.qs.order_by().values("pk"))
    return Bound(template, params, model_guards(*bound.cleaned.values()))


def _change(other: str) -> str:
    # CodeChange rows of either direction, the other area as `other_id`; unchanged rows that carry
    # a code over (predecessor = successor) are history, not a change (area_prefetch)
    mine = "successor_id" if other == "predecessor_id" else "predecessor_id"
    return (f"(SELECT c.*, c.{other} AS other_id FROM geographies_areachange c WHERE c.{mine} = {{parent}}.id "
            f"AND c.predecessor_id <> c.successor_id) {{row}} {{joins}}")


_AREA_LINK = "JOIN geographies_area {alias} ON {alias}.id = {row}.%s"
_VINTAGE = "JOIN geographies_vintage {alias} ON {alias}.id = {row}.%s"

GEOGRAPHY_SQL = [
    ObjectSQL("Query", {
        "area": Rows("geographies_area {row} {joins} WHERE {row}.code = {code}::text", many=False, bind=_area_code,
                     context=_LISTED, cache_binding=False),
        "areas": Connection("geographies_area", _areas, order="{row}.code", context=_LISTED,
                            filters=("type", "vintage", "parent", "active_on", "q", "id")),
    }),
    ObjectSQL("Area", joins={"area_type": "JOIN geographies_areatype {alias} ON {alias}.id = {row}.area_type_id"},
              fields={
        "code": Scalar("{row}.code", STRING),
        "name": Scalar("{row}.name", STRING),
        "nameCy": Scalar("{row}.name_cy", STRING),
        "entity": Scalar("{row}.entity", STRING),
        "activeFrom": Scalar("{row}.active_from", DATE),
        "activeTo": Scalar("{row}.active_to", DATE),
        "id": global_id("Area"),
        "type": Scalar("{area_type}.code", STRING),
        # resolve_status: terminated once active_to is before today (the server's date)
        "status": Scalar("CASE WHEN {row}.active_to < {today} THEN 'terminated' ELSE 'live' END", STRING),
        "areaType": Inline("area_type"),
        "children": Rows(_children_source, order="{row}.code", bind=_children, context=_LISTED),
        "ancestors": Rows(_ancestors_source, bind=_ancestors, check=_ancestors_check,
                          order="{to_type}.level, {row}.depth, {to_vintage}.effective_from, {to_vintage}.code, "
                                "{to_area}.code"),
        "parents": Rows("geographies_arealink {row} {joins} WHERE {row}.child_id = {parent}.id", needs=_LISTED,
                        order="{child_vintage}.effective_from, {parent_type}.level, {parent_vintage}.effective_from, "
                              "{child_type}.level, {child_vintage}.code, {parent_vintage}.code"),
        "vintages": Rows("geographies_vintage {row} {joins} WHERE {row}.id IN (SELECT m.vintage_id "
                         "FROM geographies_areamembership m WHERE m.area_id = {parent}.id)", needs=_LISTED,
                         order="{row}.effective_from, {area_type}.level, {row}.code"),
        "predecessors": Rows(_change("predecessor_id"), order="{row}.effective_date, {to_area}.code", needs=_LISTED),
        "successors": Rows(_change("successor_id"), order="{row}.effective_date, {to_area}.code", needs=_LISTED),
        "boundaryVintages": Scalar(
            "(SELECT coalesce('[' || string_agg(to_json(v.code::text)::text, ',' ORDER BY v.effective_from, vt.level, "
            "v.code) || ']', '[]') FROM geographies_boundary b JOIN geographies_vintage v ON v.id = b.vintage_id "
            "JOIN geographies_areatype vt ON vt.id = v.area_type_id WHERE b.area_id = {row}.id)", JSON,
            needs=_LISTED),
    }),
    ObjectSQL("AreaType", {
        "code": Scalar("{row}.code", STRING),
        "name": Scalar("{row}.name", STRING),
        "description": Scalar("{row}.description", STRING),
        "entityCodes": Scalar("array_to_json({row}.entity_codes)::text", JSON),
        "codePattern": Scalar("{row}.code_pattern", STRING),
        "level": Scalar("{row}.level", INT),
    }),
    ObjectSQL("Vintage", joins={"area_type": "JOIN geographies_areatype {alias} ON {alias}.id = {row}.area_type_id"},
              fields={
        "code": Scalar("{row}.code", STRING),
        "name": Scalar("{row}.name", STRING),
        "areaType": Inline("area_type"),
        "effectiveFrom": Scalar("{row}.effective_from", DATE),
        "effectiveTo": Scalar("{row}.effective_to", DATE),
        "areaCount": Scalar("{row}.area_count", INT),
        "boundaryCount": Scalar("{row}.boundary_count", INT),
    }),
    ObjectSQL("ParentLink", joins={
        "to_area": _AREA_LINK % "parent_id",
        "child_vintage": _VINTAGE % "child_vintage_id",
        "parent_vintage": _VINTAGE % "parent_vintage_id",
        "child_type": "JOIN geographies_areatype {alias} ON {alias}.id = {child_vintage}.area_type_id",
        "parent_type": "JOIN geographies_areatype {alias} ON {alias}.id = {parent_vintage}.area_type_id",
    }, fields={
        "code": Scalar("{to_area}.code", STRING),
        "name": Scalar("{to_area}.name", STRING),
        "area": Inline("to_area"),
        "vintage": Scalar("{child_vintage}.code", STRING),
        "parentVintage": Scalar("{parent_vintage}.code", STRING),
        "type": Scalar("{parent_type}.code", STRING),
        "fit": Scalar("{row}.fit", STRING),
    }),
    ObjectSQL("AncestorLink", joins={
        "to_area": _AREA_LINK % "ancestor_id",
        "to_vintage": _VINTAGE % "ancestor_vintage_id",
        "to_type": "JOIN geographies_areatype {alias} ON {alias}.id = {to_vintage}.area_type_id",
    }, fields={
        "code": Scalar("{to_area}.code", STRING),
        "name": Scalar("{to_area}.name", STRING),
        "area": Inline("to_area"),
        "type": Scalar("{to_type}.code", STRING),
        "vintage": Scalar("{to_vintage}.code", STRING),
        "depth": Scalar("{row}.depth", INT),
        "fit": Scalar("{row}.fit", STRING),
    }),
    ObjectSQL("CodeChange", joins={"to_area": _AREA_LINK % "other_id"}, fields={
        "code": Scalar("{to_area}.code", STRING),
        "name": Scalar("{to_area}.name", STRING),
        "area": Inline("to_area"),
        # CodeChange.from_change: the change type's label, its ONS letter, the date, the weight as a float
        "changeType": Mapped("{row}.change_type", {c.value: c.label for c in ChangeType}),
        "changeCode": Scalar("{row}.change_type", STRING),
        "effectiveDate": Scalar("{row}.effective_date", DATE),
        "weight": Scalar("{row}.weight::float8", FLOAT),
    }),
]

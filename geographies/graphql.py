"""GraphQL types and the query mixin for geographies. Resolvers are thin: they call the same
selectors as REST, and eager-load exactly the relations the query selects, so a list of areas
with their parents and successors costs a fixed number of SQL queries."""

from __future__ import annotations

import datetime

import graphene
import orjson
from graphene import relay
from graphene.types.generic import GenericScalar
from graphene_django import DjangoObjectType
from graphene_django.filter import DjangoFilterConnectionField, GlobalIDFilter
from graphql import GraphQLError
from graphql.language import FieldNode, FragmentSpreadNode, InlineFragmentNode

from . import selectors
from .filters import AreaFilterSet
from .models import Area, AreaType, ChangeType, Vintage

# GraphQL field name -> selector relation name.
RELATION_FIELDS = {
    "vintages": "vintages",
    "parents": "parents",
    "predecessors": "predecessors",
    "successors": "successors",
    "boundaryVintages": "boundary_vintages",
}


def _child_fields(info, nodes) -> set[str]:
    """Names selected directly under `nodes`, looking through fragments and connection edges/node."""
    names: set[str] = set()
    stack = [sel for n in nodes if n.selection_set for sel in n.selection_set.selections]
    while stack:
        sel = stack.pop()
        if isinstance(sel, FieldNode):
            if sel.name.value in {"edges", "node"} and sel.selection_set:
                stack.extend(sel.selection_set.selections)
            else:
                names.add(sel.name.value)
        elif isinstance(sel, InlineFragmentNode):
            stack.extend(sel.selection_set.selections)
        elif isinstance(sel, FragmentSpreadNode):
            stack.extend(info.fragments[sel.name.value].selection_set.selections)
    return names


def prefetch_for_selection(qs, info):
    selected = _child_fields(info, info.field_nodes)
    return selectors.area_prefetch(qs, relations={RELATION_FIELDS[f] for f in selected if f in RELATION_FIELDS})


def _observation_node():
    from indicators.graphql import ObservationNode

    return ObservationNode


_PROFILE_ROW = None


def _profile_row():
    """A flat GraphQL type with the profile's columns, built once on first use."""
    global _PROFILE_ROW
    if _PROFILE_ROW is None:
        from missions.selectors import PROFILE_COLUMNS

        numbers = {"value", "lci", "uci", "region_value", "region_difference", "national_value", "national_difference"}
        ints = {"rank", "rank_of", "decile", "trend_points"}
        fields = {c: graphene.Float() if c in numbers else graphene.Int() if c in ints else graphene.String()
                  for c in PROFILE_COLUMNS if c != "missions"}
        fields["missions"] = graphene.List(graphene.NonNull(graphene.Int))
        _PROFILE_ROW = type("ProfileRow", (graphene.ObjectType,), fields)
    return _PROFILE_ROW


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def _batched(qs) -> list:
    """Evaluate a list of areas and tell each its siblings, so per-area fields can batch."""
    areas = list(qs)
    ids = tuple(a.id for a in areas)
    for a in areas:
        a._batch_ids = ids
    return areas


def _vintage(code: str | None) -> Vintage | None:
    if not code:
        return None
    vintage = Vintage.objects.select_related("area_type").filter(code=code.strip().upper()).first()
    if vintage is None:
        raise GraphQLError(f"unknown vintage {code!r}", extensions={"parameter": "vintage"})
    return vintage


def _area_type(code: str | None) -> AreaType | None:
    if not code:
        return None
    area_type = AreaType.objects.filter(code=code.strip().upper()).first()
    if area_type is None:
        raise GraphQLError(f"unknown area type {code!r}", extensions={"parameter": "type"})
    return area_type


class AreaTypeType(DjangoObjectType):
    class Meta:
        model = AreaType
        name = "AreaType"
        fields = ("code", "name", "description", "entity_codes", "code_pattern", "level", "vintages")


class VintageType(DjangoObjectType):
    class Meta:
        model = Vintage
        name = "Vintage"
        fields = ("code", "name", "area_type", "effective_from", "effective_to", "area_count", "boundary_count")


class AreaGraphFilterSet(AreaFilterSet):
    # Relay global IDs; with BigAutoField django-filter needs this declared explicitly.
    id = GlobalIDFilter()

    class Meta(AreaFilterSet.Meta):
        fields = [*AreaFilterSet.Meta.fields, "id"]


class LinkedArea(graphene.Interface):
    """The shape REST uses too: the other area's code and name inline, the full area under `area`."""

    code = graphene.String(required=True)
    name = graphene.String(required=True)
    area = graphene.Field(lambda: AreaNode, required=True)

    def resolve_code(root, info):
        return root.area.code

    def resolve_name(root, info):
        return root.area.name


class ParentLink(graphene.ObjectType):
    class Meta:
        interfaces = (LinkedArea,)

    vintage = graphene.String(required=True, description="The vintage of this area the link belongs to.")
    parent_vintage = graphene.String(required=True)
    type = graphene.String(required=True, description="Area type of the parent vintage.")
    fit = graphene.String(required=True, description="exact or best_fit")


class CodeChange(graphene.ObjectType):
    class Meta:
        interfaces = (LinkedArea,)

    change_type = graphene.String(required=True, description="unchanged, split, merged or irregular")
    change_code = graphene.String(required=True, description="ONS U/S/M/X")
    effective_date = graphene.Date(required=True)
    weight = graphene.Float()

    @staticmethod
    def from_change(change, area):
        return CodeChange(area=area, change_type=ChangeType(change.change_type).label, change_code=change.change_type,
                          effective_date=change.effective_date,
                          weight=float(change.weight) if change.weight is not None else None)


class SeriesInput(graphene.ObjectType):
    area_code = graphene.String(required=True)
    area_name = graphene.String(required=True)
    value = graphene.Float()
    weight = graphene.Float()


class SeriesPoint(graphene.ObjectType):
    period = graphene.String(required=True)
    period_iso = graphene.String(required=True)
    value = graphene.Float()
    lci = graphene.Float()
    uci = graphene.Float()
    status = graphene.String(required=True)
    flag = graphene.String(required=True, description="published, converted or apportioned")
    method = graphene.String()
    weight_indicator = graphene.String()
    weight_period = graphene.String()
    reason = graphene.String()
    inputs = graphene.List(graphene.NonNull(SeriesInput), description="Inputs of a converted value.")


class AncestorLink(graphene.ObjectType):
    class Meta:
        interfaces = (LinkedArea,)

    type = graphene.String(required=True)
    vintage = graphene.String(required=True)
    depth = graphene.Int(required=True)
    fit = graphene.String(required=True)


class CountedConnection(relay.Connection):
    class Meta:
        abstract = True

    total_count = graphene.Int(required=True, description="Rows matching the filters, across all pages.")

    def resolve_total_count(root, info):
        return root.length


class AreaNode(DjangoObjectType):
    type = graphene.String(required=True, description="Primary area type code.")
    status = graphene.String(required=True, description="live or terminated")
    vintages = graphene.List(graphene.NonNull(VintageType), required=True)
    parents = graphene.List(graphene.NonNull(ParentLink), required=True)
    predecessors = graphene.List(graphene.NonNull(CodeChange), required=True)
    successors = graphene.List(graphene.NonNull(CodeChange), required=True)
    boundary_vintages = graphene.List(graphene.NonNull(graphene.String), required=True)
    children = graphene.List(
        graphene.NonNull(lambda: AreaNode), required=True,
        type=graphene.String(description="Area type code"), vintage=graphene.String(description="Vintage code"),
        description="Descendants in `vintage`, or the newest vintage of `type`, or direct children.",
    )
    ancestors = graphene.List(graphene.NonNull(AncestorLink), required=True, vintage=graphene.String())
    observations = graphene.List(
        graphene.NonNull(lambda: _observation_node()), required=True,
        indicator=graphene.String(required=True, description="Indicator slugs, comma-separated."),
        period=graphene.String(description="ISO period, label, year, latest or latest-N (default: every period)."),
        description="Current values for this area. Fetched for all sibling areas in one query.",
    )
    series = graphene.List(
        graphene.NonNull(SeriesPoint), required=True, indicator=graphene.String(required=True),
        vintage=graphene.String(description="Vintage code (default: the newest of the area's own type holding it)."),
        description="Every period of an indicator on one vintage: published, or converted from predecessors "
                    "(as GET /api/v1/areas/{code}/series/).",
    )
    profile = graphene.List(
        graphene.NonNull(lambda: _profile_row()), required=True,
        description="Every indicator for the area at its latest period, ranked and compared with region and nation "
                    "(as GET /api/v1/areas/{code}/profile/).")
    missions = GenericScalar(description="The area's scorecard across the 12 missions (as /areas/{code}/missions/).")
    similar = GenericScalar(
        indicators=graphene.String(description="Indicator slugs, comma-separated (default: mission headlines)."),
        n=graphene.Int(description="How many, 1 to 100 (default 10)."),
        description="Statistically similar areas of the same type (as /areas/{code}/similar/).")
    boundary = GenericScalar(
        vintage=graphene.String(), simplify=graphene.Float(description="Tolerance in degrees, 0 to 1"),
        description="GeoJSON Feature of the boundary (EPSG:4326), or null.",
    )

    class Meta:
        model = Area
        name = "Area"
        interfaces = (relay.Node,)
        connection_class = CountedConnection
        filterset_class = AreaGraphFilterSet
        fields = ("code", "name", "name_cy", "entity", "area_type", "active_from", "active_to")

    @classmethod
    def get_queryset(cls, queryset, info):
        return prefetch_for_selection(queryset.order_by("code"), info)

    def resolve_type(self, info):
        return self.area_type.code

    def resolve_status(self, info):
        return "terminated" if self.active_to and self.active_to < datetime.date.today() else "live"

    def resolve_vintages(self, info):
        return [m.vintage for m in self.memberships.all()]

    def resolve_parents(self, info):
        return [ParentLink(vintage=link.child_vintage.code, parent_vintage=link.parent_vintage.code, fit=link.fit,
                           type=link.parent_vintage.area_type.code, area=link.parent)
                for link in self.parent_links.all()]

    def resolve_predecessors(self, info):
        return [CodeChange.from_change(c, c.predecessor) for c in self.predecessor_changes.all()]

    def resolve_successors(self, info):
        return [CodeChange.from_change(c, c.successor) for c in self.successor_changes.all()]

    def resolve_boundary_vintages(self, info):
        return [b.vintage.code for b in self.boundaries.all()]

    def resolve_children(self, info, type=None, vintage=None):
        try:
            children = selectors.area_children(area=self, area_type=_area_type(type), vintage=_vintage(vintage))
        except selectors.SelectorError as exc:
            raise GraphQLError(exc.message, extensions={"parameter": exc.parameter}) from None
        return _batched(prefetch_for_selection(children.areas, info))

    def resolve_ancestors(self, info, vintage=None):
        try:
            _, rows = selectors.area_ancestors(area=self, vintage=_vintage(vintage))
        except selectors.SelectorError as exc:
            raise GraphQLError(exc.message, extensions={"parameter": exc.parameter}) from None
        return [AncestorLink(area=r.ancestor, type=r.ancestor_vintage.area_type.code, vintage=r.ancestor_vintage.code,
                             depth=r.depth, fit=r.fit) for r in rows]

    def resolve_observations(self, info, indicator, period=None):
        from indicators import selectors as obs

        # A synchronous DataLoader: the first area asks for every area of its list at once.
        ids = getattr(self, "_batch_ids", None) or (self.id,)
        cache = info.context.__dict__.setdefault("_observation_batches", {})
        key = (ids, indicator, period)
        if key not in cache:
            try:
                cache[key] = obs.observations_by_area(area_ids=list(ids), indicators=_split(indicator),
                                                      periods=_split(period))
            except obs.ObservationQueryError as exc:
                raise GraphQLError(exc.message, extensions={"parameter": exc.parameter}) from None
        return cache[key].get(self.id, [])

    def resolve_series(self, info, indicator, vintage=None):
        from indicators.aggregation import aggregate_indicator
        from indicators.harmonise import area_series
        from indicators.selectors import ObservationQueryError

        found = aggregate_indicator(slug=indicator)
        if found is None:
            raise GraphQLError(f"unknown indicator {indicator!r}", extensions={"parameter": "indicator"})
        try:
            _, points = area_series(area=self, indicator=found, vintage=_vintage(vintage), explain=True)
        except ObservationQueryError as exc:
            raise GraphQLError(exc.message, extensions={"parameter": exc.parameter}) from None
        return [SeriesPoint(**{**p, "inputs": [SeriesInput(**i) for i in p.get("inputs") or []]}) for p in points]

    def resolve_profile(self, info):
        from missions.selectors import area_profile

        row = _profile_row()
        return [row(**r) for r in area_profile(area=self)]

    def resolve_missions(self, info):
        from missions.selectors import area_scorecard

        return area_scorecard(area=self)

    def resolve_similar(self, info, indicators=None, n=10):
        from indicators.models import Indicator
        from missions.selectors import ProfileError, area_similar

        if not 1 <= n <= 100:
            raise GraphQLError("n: a whole number from 1 to 100", extensions={"parameter": "n"})
        slugs = _split(indicators)
        chosen = (list(Indicator.objects.filter(slug__in=slugs)) if slugs else
                  list(Indicator.objects.filter(mission_metrics__headline=True).distinct().order_by("slug")))
        if slugs and len(chosen) != len(set(slugs)):
            raise GraphQLError("unknown indicator among: " + ", ".join(slugs), extensions={"parameter": "indicators"})
        try:
            used, rows = area_similar(area=self, indicators=chosen, n=n)
        except ProfileError as exc:
            raise GraphQLError(exc.message, extensions={"parameter": exc.parameter}) from None
        return {"indicators": [i.slug for i in used], "similar": rows}

    def resolve_boundary(self, info, vintage=None, simplify=None):
        if simplify is not None and not 0 <= simplify <= 1:
            raise GraphQLError("simplify must be between 0 and 1", extensions={"parameter": "simplify"})
        boundary = selectors.boundary_for_area(area=self, vintage=_vintage(vintage), simplify=simplify)
        if boundary is None:
            return None
        return {
            "type": "Feature",
            "properties": {"code": self.code, "name": self.name, "vintage": boundary.vintage.code,
                           "type": boundary.vintage.area_type.code, "resolution": boundary.resolution},
            "geometry": orjson.loads(boundary.shape.geojson),
        }


class GeographyQueries(graphene.ObjectType):
    area_types = graphene.List(graphene.NonNull(AreaTypeType), required=True)
    vintages = graphene.List(graphene.NonNull(VintageType), required=True, type=graphene.String())
    area = graphene.Field(AreaNode, code=graphene.String(required=True), description="One area by GSS code.")
    areas = DjangoFilterConnectionField(AreaNode, description="Areas, with the same filters as /api/v1/areas/.")

    def resolve_area_types(self, info):
        return selectors.area_type_list()

    def resolve_vintages(self, info, type=None):
        return selectors.vintage_list(area_type=_area_type(type))

    def resolve_area(self, info, code):
        return prefetch_for_selection(Area.objects.filter(code=code.strip().upper()), info).first()

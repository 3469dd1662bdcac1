"""GraphQL for geographies: the area types and vintages, the fields of `Area` that geographies
answers (`GeographyAreaFields`), and the query mixin for the root schema. The `Area` type itself is
composed in levelup_api/schema.py from this mixin and the ones higher apps contribute, so this app
names none of them. Resolvers are thin: they call the same selectors as REST, and eager-load exactly
the relations the query selects, so a list of areas with their parents and successors costs a fixed
number of SQL queries."""

from __future__ import annotations

import datetime

import graphene
import orjson
from graphene.types.generic import GenericScalar
from graphene_django import DjangoObjectType
from graphene_django.filter import GlobalIDFilter
from graphene_django.registry import get_global_registry

from levelup_api.core.graphql import ParamsConnectionField, batched, graphql_params, parameter_errors, selected_fields

from . import selectors
from .filters import AncestorsParams, AreaFilterSet, BoundaryParams, ChildrenParams, VintageFilterSet
from .models import Area, AreaType, ChangeType, Vintage

# GraphQL field name -> selector relation name.
RELATION_FIELDS = {
    "vintages": "vintages",
    "parents": "parents",
    "predecessors": "predecessors",
    "successors": "successors",
    "boundaryVintages": "boundary_vintages",
}

# The model columns `Area` shows; the composed type's Meta lists these.
AREA_MODEL_FIELDS = ("code", "name", "name_cy", "entity", "area_type", "active_from", "active_to")


def prefetch_for_selection(qs, info):
    selected = selected_fields(info, info.field_nodes)
    return selectors.area_prefetch(qs, relations={RELATION_FIELDS[f] for f in selected if f in RELATION_FIELDS})


def area_object_type() -> type[DjangoObjectType]:
    """The composed `Area` object type, looked up lazily (at schema build) in graphene-django's
    registry of model types, the way graphene-django resolves every foreign key to an area: so the
    fields here that return areas need no import of the module that composes the type."""
    found = get_global_registry().get_type_for_model(Area)
    if found is None:
        raise LookupError("no DjangoObjectType for geographies.Area: levelup_api/schema.py composes it "
                          "from GeographyAreaFields")
    return found


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
    area = graphene.Field(area_object_type, required=True)

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


class AncestorLink(graphene.ObjectType):
    class Meta:
        interfaces = (LinkedArea,)

    type = graphene.String(required=True)
    vintage = graphene.String(required=True)
    depth = graphene.Int(required=True)
    fit = graphene.String(required=True)


class GeographyAreaFields:
    """The fields of `Area` that geographies answers, as a mixin of the composed DjangoObjectType
    (graphene collects fields and resolvers along the class's MRO); `self` in a resolver is the
    Area instance."""

    type = graphene.String(required=True, description="Primary area type code.")
    status = graphene.String(required=True, description="live or terminated")
    vintages = graphene.List(graphene.NonNull(VintageType), required=True)
    parents = graphene.List(graphene.NonNull(ParentLink), required=True)
    predecessors = graphene.List(graphene.NonNull(CodeChange), required=True)
    successors = graphene.List(graphene.NonNull(CodeChange), required=True)
    boundary_vintages = graphene.List(graphene.NonNull(graphene.String), required=True)
    children = graphene.List(
        graphene.NonNull(area_object_type), required=True,
        type=graphene.String(description="Area type code"), vintage=graphene.String(description="Vintage code"),
        description="Descendants in `vintage`, or the newest vintage of `type`, or direct children.",
    )
    ancestors = graphene.List(graphene.NonNull(AncestorLink), required=True, vintage=graphene.String())
    boundary = GenericScalar(
        vintage=graphene.String(), simplify=graphene.Float(description="Tolerance in degrees, 0 to 1"),
        description="GeoJSON Feature of the boundary (EPSG:4326), or null.",
    )

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
        args = graphql_params(ChildrenParams, info, type=type, vintage=vintage)
        with parameter_errors(info):
            children = selectors.area_children(area=self, area_type=args["type"], vintage=args["vintage"])
        # Batched: each child's per-area fields (observations, ...) can fetch for all its siblings.
        return batched(prefetch_for_selection(children.areas, info))

    def resolve_ancestors(self, info, vintage=None):
        args = graphql_params(AncestorsParams, info, vintage=vintage)
        with parameter_errors(info):
            _, rows = selectors.area_ancestors(area=self, vintage=args["vintage"])
        return [AncestorLink(area=r.ancestor, type=r.ancestor_vintage.area_type.code, vintage=r.ancestor_vintage.code,
                             depth=r.depth, fit=r.fit) for r in rows]

    def resolve_boundary(self, info, vintage=None, simplify=None):
        args = graphql_params(BoundaryParams, info, vintage=vintage, simplify=simplify)
        boundary = selectors.boundary_for_area(area=self, vintage=args["vintage"], simplify=args["simplify"])
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
    area = graphene.Field(area_object_type, code=graphene.String(required=True), description="One area by GSS code.")
    areas = ParamsConnectionField(area_object_type, description="Areas, with the same filters as /api/v1/areas/.")

    def resolve_area_types(self, info):
        return selectors.area_type_list()

    def resolve_vintages(self, info, type=None):
        return selectors.vintage_list(area_type=graphql_params(VintageFilterSet, info, type=type)["type"])

    def resolve_area(self, info, code):
        return prefetch_for_selection(Area.objects.filter(code=code.strip().upper()), info).first()

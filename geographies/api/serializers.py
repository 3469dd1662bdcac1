"""Representations of geographies. Serializers only shape data already loaded by selectors."""

from datetime import date

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework_gis.fields import GeometryField
from rest_framework_gis.serializers import GeoFeatureModelSerializer

from ..models import Area, AreaAncestor, AreaChange, AreaLink, AreaType, Boundary, ChangeType, Vintage


class VintageSerializer(serializers.ModelSerializer):
    type = serializers.CharField(source="area_type.code", help_text="Area type code.")

    class Meta:
        model = Vintage
        fields = ["code", "name", "type", "effective_from", "effective_to", "area_count", "boundary_count"]


class VintageBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Vintage
        fields = ["code", "name", "effective_from", "effective_to", "area_count", "boundary_count"]


class AreaTypeSerializer(serializers.ModelSerializer):
    vintages = VintageBriefSerializer(many=True, read_only=True)

    class Meta:
        model = AreaType
        fields = ["code", "name", "description", "entity_codes", "code_pattern", "level", "vintages"]


def _status(area: Area) -> str:
    return "terminated" if area.active_to and area.active_to < date.today() else "live"


class AreaListSerializer(serializers.ModelSerializer):
    type = serializers.CharField(source="area_type.code", help_text="Primary area type (from the GSS entity code).")
    status = serializers.SerializerMethodField(help_text="live, or terminated when active_to has passed.")
    vintages = serializers.SerializerMethodField(help_text="Codes of the vintages that hold this area.")

    class Meta:
        model = Area
        fields = ["code", "name", "name_cy", "type", "entity", "status", "active_from", "active_to", "vintages"]

    def get_status(self, area: Area) -> str:
        return _status(area)

    def get_vintages(self, area: Area) -> list[str]:
        return [m.vintage.code for m in area.memberships.all()]


class ParentSerializer(serializers.ModelSerializer):
    vintage = serializers.CharField(source="child_vintage.code", help_text="The vintage of this area the link belongs to.")
    parent_vintage = serializers.CharField(source="parent_vintage.code")
    code = serializers.CharField(source="parent.code")
    name = serializers.CharField(source="parent.name")
    type = serializers.CharField(source="parent_vintage.area_type.code", help_text="Type of the parent vintage.")

    class Meta:
        model = AreaLink
        fields = ["vintage", "parent_vintage", "code", "name", "type", "fit"]


class ChangeSerializer(serializers.ModelSerializer):
    change_type = serializers.SerializerMethodField(help_text="unchanged, split, merged or irregular (ONS U/S/M/X).")
    change_code = serializers.CharField(source="change_type", help_text="ONS change indicator U/S/M/X.")

    class Meta:
        model = AreaChange
        fields = ["code", "name", "change_type", "change_code", "effective_date", "weight"]

    def get_change_type(self, change: AreaChange) -> str:
        return ChangeType(change.change_type).label


class PredecessorSerializer(ChangeSerializer):
    code = serializers.CharField(source="predecessor.code")
    name = serializers.CharField(source="predecessor.name")

    class Meta(ChangeSerializer.Meta):
        pass


class SuccessorSerializer(ChangeSerializer):
    code = serializers.CharField(source="successor.code")
    name = serializers.CharField(source="successor.name")

    class Meta(ChangeSerializer.Meta):
        pass


class AreaLinksSerializer(serializers.Serializer):
    self = serializers.URLField()
    children = serializers.URLField()
    ancestors = serializers.URLField()
    boundary = serializers.URLField(allow_null=True)


class AreaDetailSerializer(AreaListSerializer):
    type_name = serializers.CharField(source="area_type.name")
    message = serializers.SerializerMethodField(help_text="Plain-language note for codes that have ended.")
    parents = ParentSerializer(source="parent_links", many=True, read_only=True)
    predecessors = PredecessorSerializer(source="predecessor_changes", many=True, read_only=True)
    successors = SuccessorSerializer(source="successor_changes", many=True, read_only=True)
    boundary_vintages = serializers.SerializerMethodField(help_text="Vintages with a boundary for this area.")
    links = serializers.SerializerMethodField()

    class Meta(AreaListSerializer.Meta):
        fields = [*AreaListSerializer.Meta.fields, "type_name", "message", "parents", "predecessors", "successors",
                  "boundary_vintages", "links"]

    def get_message(self, area: Area) -> str | None:
        if _status(area) != "terminated":
            return None
        successors = [c.successor.code for c in area.successor_changes.all()]
        tail = f"; its successor(s): {', '.join(successors)}" if successors else "; no successor is recorded"
        return f"This code ended on {area.active_to.isoformat()}{tail}."

    def get_boundary_vintages(self, area: Area) -> list[str]:
        return [b.vintage.code for b in area.boundaries.all()]

    @extend_schema_field(AreaLinksSerializer)
    def get_links(self, area: Area) -> dict:
        request = self.context.get("request")

        def url(name):
            path = reverse(name, kwargs={"code": area.code})
            return request.build_absolute_uri(path) if request else path

        return {
            "self": url("area-detail"),
            "children": url("area-children"),
            "ancestors": url("area-ancestors"),
            "boundary": url("area-boundary") if area.boundaries.all() else None,
        }


class AncestorSerializer(serializers.ModelSerializer):
    code = serializers.CharField(source="ancestor.code")
    name = serializers.CharField(source="ancestor.name")
    type = serializers.CharField(source="ancestor_vintage.area_type.code")
    vintage = serializers.CharField(source="ancestor_vintage.code")

    class Meta:
        model = AreaAncestor
        fields = ["code", "name", "type", "vintage", "depth", "fit"]


class AncestorsResponseSerializer(serializers.Serializer):
    code = serializers.CharField()
    vintage = serializers.CharField(allow_null=True, help_text="The vintage of the area whose hierarchy is shown.")
    ancestors = AncestorSerializer(many=True)


class ChildrenResponseSerializer(serializers.Serializer):
    parent = serializers.CharField()
    vintage = serializers.CharField(allow_null=True, help_text="Vintage of the children listed.")
    type = serializers.CharField(allow_null=True)
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = AreaListSerializer(many=True)


@extend_schema_field({
    "type": "object", "description": "GeoJSON Polygon or MultiPolygon (EPSG:4326)",
    "properties": {"type": {"type": "string", "enum": ["Polygon", "MultiPolygon"]}, "coordinates": {"type": "array"}},
})
class ShapeField(GeometryField):
    pass


class BoundaryFeatureSerializer(GeoFeatureModelSerializer):
    code = serializers.CharField(source="area.code")
    name = serializers.CharField(source="area.name")
    type = serializers.CharField(source="vintage.area_type.code")
    vintage = serializers.CharField(source="vintage.code")
    # The stored geometry, or its simplified copy (`shape`, set by the selector).
    geom = ShapeField(source="shape", read_only=True, precision=6, help_text="EPSG:4326.")

    class Meta:
        model = Boundary
        geo_field = "geom"
        id_field = False
        fields = ["code", "name", "type", "vintage", "resolution", "geom"]


class PointAreaSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    type = serializers.CharField(source="type_code")
    type_name = serializers.CharField()
    vintage = serializers.CharField()


class PointLookupSerializer(serializers.Serializer):
    lon = serializers.FloatField()
    lat = serializers.FloatField()
    areas = PointAreaSerializer(many=True)

"""Representations of geographies. Serializers only shape data already loaded by selectors."""

from datetime import date

from django.urls import reverse
from drf_spectacular.contrib.rest_framework_gis import GeoFeatureModelSerializerExtension
from drf_spectacular.extensions import OpenApiSerializerExtension
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


class ReplacedBySerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class AreaListItemSerializer(AreaListSerializer):
    """A row of an area list (`/areas/`, `/areas/{code}/children/`)."""

    successors = ReplacedBySerializer(
        many=True, required=False,
        help_text="Only in the row of an ended code (`status` terminated): the areas that replaced it, by date "
                  "(empty when none is recorded); /areas/{code}/ gives the change type and date.")

    class Meta(AreaListSerializer.Meta):
        fields = [*AreaListSerializer.Meta.fields, "successors"]


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
    results = AreaListItemSerializer(many=True)


def polygonal_geometry_schema(description: str, position: dict | None = None, ring: dict | None = None) -> dict:
    """The JSON schema of a GeoJSON Polygon or MultiPolygon (EPSG:4326), whose rings are closed and
    so hold four positions at least: served boundaries and the custom-area body share it."""
    position = {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 3, **(position or {})}
    polygon = {"type": "array", "minItems": 1, "items": {"type": "array", "items": position, "minItems": 4},
               **(ring or {})}
    return {"description": description, "oneOf": [
        {"type": "object", "title": "Polygon", "required": ["type", "coordinates"],
         "properties": {"type": {"type": "string", "enum": ["Polygon"]}, "coordinates": polygon}},
        {"type": "object", "title": "MultiPolygon", "required": ["type", "coordinates"],
         "properties": {"type": {"type": "string", "enum": ["MultiPolygon"]},
                        "coordinates": {"type": "array", "minItems": 1, "items": polygon}}},
    ]}


POLYGONAL_GEOMETRY = polygonal_geometry_schema(
    "GeoJSON (EPSG:4326): the stored MultiPolygon, or a Polygon when `simplify` leaves one part.")


@extend_schema_field(POLYGONAL_GEOMETRY)
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


class BoundaryFeatureSchema(GeoFeatureModelSerializerExtension):
    """drf-spectacular's rest_framework_gis support describes the model field (a MultiPolygon); a
    simplified boundary can be a Polygon, and every member of the Feature is always there."""

    target_class = BoundaryFeatureSerializer
    priority = 1

    def map_serializer(self, auto_schema, direction):
        schema = super().map_serializer(auto_schema, direction)
        schema["properties"]["geometry"] = POLYGONAL_GEOMETRY
        schema["properties"]["properties"]["required"] = list(BoundaryFeatureSerializer.Meta.fields[:-1])
        schema["required"] = ["type", "geometry", "properties"]
        return schema


class BoundaryFeaturePropertiesSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    name_cy = serializers.CharField(allow_null=True, help_text="Welsh name, where there is one.")
    type = serializers.CharField()
    vintage = serializers.CharField()
    resolution = serializers.CharField(help_text="BFC, BGC, BSC, BUC or 'simplified'.")


class BoundaryCollectionFeatureSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["Feature"])
    id = serializers.CharField(help_text="The GSS code.")
    properties = BoundaryFeaturePropertiesSerializer()
    geometry = ShapeField()


class BoundaryCollectionSerializer(serializers.Serializer):
    """Documents the streamed FeatureCollection (geographies.selectors.boundary_features builds it)."""

    type = serializers.ChoiceField(choices=["FeatureCollection"])
    vintage = serializers.CharField()
    features = BoundaryCollectionFeatureSerializer(many=True)


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


# -- custom areas --------------------------------------------------------------------------------
class StrictCharField(serializers.CharField):
    """Text that must arrive as a JSON string: DRF's CharField would turn 5 into "5"."""

    default_error_messages = {"invalid": "must be a string"}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


@extend_schema_field(polygonal_geometry_schema(
    "A GeoJSON Polygon or MultiPolygon, longitude/latitude (EPSG:4326).",
    position={"description": "[longitude, latitude], -180..180 and -90..90."},
    ring={"description": "Linear rings (the first the outline, then holes), each closed: its last position "
                         "repeats its first."}))
class GeoJSONPolygonField(serializers.Field):
    """A GeoJSON Polygon or MultiPolygon, checked in Python (geographies.services.geojson_polygon_problem)
    before GEOS sees it, so that a bad one is a 400 in our words."""

    def to_internal_value(self, data):
        from ..services import geojson_polygon_problem

        problem = geojson_polygon_problem(data)
        if problem:
            raise serializers.ValidationError(problem)
        return data

    def to_representation(self, value):
        return value


class CustomAreaCreateSerializer(serializers.Serializer):
    """The body of POST /api/v1/custom-areas/: `name` and either `codes`, or `geometry` with `method`
    (and optionally `vintage`). Every field is checked here, each problem named, before a query runs;
    fields it does not know are refused."""

    name = StrictCharField(max_length=200, help_text="1 to 200 characters.", error_messages={
        "blank": "give a name of 1 to 200 characters", "max_length": "give a name of 1 to 200 characters"})
    codes = serializers.ListField(
        child=StrictCharField(max_length=20), required=False, allow_empty=False, min_length=1,
        help_text="LSOA or MSOA codes of one vintage (weight 1 each); instead of `geometry`.",
        error_messages={"empty": "a non-empty list of LSOA or MSOA codes",
                        "not_a_list": "a non-empty list of LSOA or MSOA codes"})
    geometry = GeoJSONPolygonField(required=False, help_text="Instead of `codes`; needs `method`.")
    method = serializers.ChoiceField(
        choices=["centroid", "overlap"], required=False,
        help_text="With `geometry`: `centroid` takes the small areas whose representative point lies inside "
                  "(weight 1), `overlap` every small area it touches, weighted by the share of its area inside.",
        error_messages={"invalid_choice": "with a geometry, method is centroid or overlap"})
    vintage = StrictCharField(max_length=20, required=False,
                              help_text="The small-area vintage, e.g. LSOA21 (the default with a geometry).")

    def to_internal_value(self, data):
        if not isinstance(data, dict) or not data:
            raise serializers.ValidationError({"body": "a JSON object with `name` and `codes` or `geometry`"})
        unknown = [key for key in data if key not in self.fields]
        if unknown:
            raise serializers.ValidationError({
                str(key).replace("\x00", "\\x00"): f"unknown field; the fields are {', '.join(self.fields)}"
                for key in unknown})
        return super().to_internal_value(data)

    def validate(self, attrs):
        if ("codes" in attrs) == ("geometry" in attrs):
            raise serializers.ValidationError(
                {"codes": "give either `codes` (LSOA or MSOA codes) or `geometry` (a GeoJSON polygon)"})
        if "geometry" in attrs and "method" not in attrs:
            raise serializers.ValidationError({"method": "with a geometry, method is centroid or overlap"})
        return attrs


# Text the service can store (PostgreSQL text holds no NUL), with a character other than white
# space (values are stripped, and a blank one is refused).
_TEXT = "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$"


class CustomAreaCreateSchema(OpenApiSerializerExtension):
    """The request body as CustomAreaCreateSerializer checks it: no other fields, either `codes` or
    `geometry` with `method`, and text without NUL."""

    target_class = CustomAreaCreateSerializer

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        properties = schema["properties"]
        properties["name"]["pattern"] = properties["codes"]["items"]["pattern"] = _TEXT
        properties["vintage"]["pattern"] = _TEXT
        schema["additionalProperties"] = False
        schema["oneOf"] = [
            {"title": "By codes", "required": ["codes"], "not": {"required": ["geometry"]}},
            {"title": "By polygon", "required": ["geometry", "method"], "not": {"required": ["codes"]}},
        ]
        return schema


class CustomAreaMemberSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    weight = serializers.FloatField(help_text="1, or the share of the small area inside the polygon (overlap).")


class CustomAreaSerializer(serializers.Serializer):
    """A custom area as the API returns it (geographies.api.views.custom_area_body builds it)."""

    id = serializers.UUIDField()
    name = serializers.CharField()
    method = serializers.ChoiceField(choices=["codes", "centroid", "overlap"])
    vintage = serializers.CharField(help_text="The small-area vintage of the members.")
    created_at = serializers.DateTimeField()
    member_count = serializers.IntegerField()
    geometry = GeoJSONPolygonField(allow_null=True, help_text="The drawn polygon, as a MultiPolygon; null for codes.")
    members = CustomAreaMemberSerializer(many=True)

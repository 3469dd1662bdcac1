"""Vector tiles and their legend over REST: parse the address and the parameters, call
indicators.tiles, answer bytes (or 204 for an empty tile). Under /api/v1/, so the quota, the JSON
errors and the ETags (levelup_api.core.caching) apply as to every other resource."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.renderers import BaseRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from levelup_api.core.caching import ConditionalGetMiddleware, rendered_once, resource_validators
from levelup_api.core.errors import NotFound
from levelup_api.core.rest import ParamsMixin
from levelup_api.core.schema import AutoSchema

from .. import tiles
from ..filters import TileParams


class MVTRenderer(BaseRenderer):
    """Marks the tile endpoint as serving Mapbox Vector Tiles; the view answers the bytes itself
    (errors are JSON: ParamsMixin)."""

    media_type = tiles.MEDIA_TYPE
    format = "mvt"
    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data if isinstance(data, bytes) else b""


class TileSchema(AutoSchema):
    """The vintage is named in the path: the OpenAPI document lists the vintages that have
    boundaries (read when the document is made), so a client, or the REST fuzzer, can pick one."""

    def get_override_parameters(self):
        try:
            codes = tiles.tile_vintage_codes()
        except DatabaseError:
            codes = []
        vintage = OpenApiParameter(
            "vintage", OpenApiTypes.STR, OpenApiParameter.PATH, enum=codes or None,
            description="Boundary vintage (LAD23, LSOA21, RGN, CTRY ...), case-insensitive; one with boundaries "
                        "(see /api/v1/vintages/, `boundary_count`).")
        return [*super().get_override_parameters(), vintage]


def _address_parameter(name: str, description: str) -> OpenApiParameter:
    maximum = tiles.MAX_ZOOM if name == "z" else 2**tiles.MAX_ZOOM - 1
    return OpenApiParameter(name, {"type": "integer", "minimum": 0, "maximum": maximum}, OpenApiParameter.PATH,
                            description=description)


ADDRESS = [
    _address_parameter("z", f"Zoom level, 0 to {tiles.MAX_ZOOM}."),
    _address_parameter("x", "Tile column, 0 to 2^z - 1, from the west (the XYZ scheme of web maps)."),
    _address_parameter("y", "Tile row, 0 to 2^z - 1, from the north (XYZ, not TMS)."),
]


def _empty_tile(request) -> HttpResponse:
    """204 for a tile with no feature, with the validators a 200 gets (the middleware adds them to
    200s only), so that a map revalidates an empty tile as cheaply as a full one."""
    response = HttpResponse(status=204)
    del response["Content-Type"]
    if settings.LEVELUP["HTTP_CACHING"]:
        etag, modified = resource_validators(request)
        if etag is not None:
            ConditionalGetMiddleware._headers(response, etag, modified)
    return response


@extend_schema(
    tags=["maps"], summary="A vector tile of a vintage's areas, optionally coloured by an indicator",
    description=(
        "A Mapbox Vector Tile (2.1) of the boundaries of one vintage, for web maps (MapLibre, OpenLayers, "
        "Leaflet plugins): `/api/v1/tiles/LAD23/{z}/{x}/{y}.mvt` as a source's URL template. One layer, "
        f"`{tiles.LAYER}`; each feature has `code`, `name` and, where ONS publishes one, `name_cy`. With "
        "`indicator` (and `period`, default `latest`) each area with a value also has `value`, `lci`, `uci` (as "
        "published), `rank` and `rank_of` (among areas of its type: 1 = best by the indicator's polarity, or the "
        "publisher's rank, IoD 1 = most deprived) and `class`: its decile (1 to 10; quintile, 1 to 5, when fewer "
        "than 50 areas of the vintage have a value) over the whole vintage, 1 always the worst (the lowest "
        "values, or the highest when lower is better; the lowest when the indicator is neutral). "
        "`/api/v1/tiles/{vintage}/legend.json` gives the classes' breaks. Geometry is Web Mercator, simplified "
        "to half a pixel of a 512-pixel tile at each zoom; areas smaller than that at a zoom are left out. "
        "A tile with no area is a 204 with no body. ETags and Cache-Control as everywhere in the API."),
    parameters=ADDRESS,
    responses={(200, tiles.MEDIA_TYPE): OpenApiTypes.BINARY,
               204: OpenApiResponse(description="No area of the vintage in this tile (the sea, or areas too small to "
                                                "show at this zoom)."),
               400: OpenApiResponse(description="z, x or y is not a tile, or a parameter is invalid; the JSON body "
                                                "names it."),
               404: OpenApiResponse(description="No such vintage, or none with boundaries.")},
)
class TileView(ParamsMixin, APIView):
    quota_scope = "tiles"  # levelup_api.core.quotas: counted apart, LEVELUP["QUOTAS"]["tiles"] a minute
    renderer_classes = [MVTRenderer]
    params_class = TileParams
    schema = TileSchema()

    @extend_schema(operation_id="v1_tiles_retrieve")
    def get(self, request, vintage: str, z: str, x: str, y: str):
        z, x, y = tiles.tile_address(z=z, x=x, y=y)
        found = tile_vintage_or_404(vintage)
        indicator = self.cleaned["indicator"]
        classes = tiles.tile_classes(vintage=found, indicator=indicator, period=self.cleaned["period"]) if indicator else None

        def build() -> bytes | HttpResponse:
            return tiles.tile_mvt(vintage=found, z=z, x=x, y=y, classes=classes) or _empty_tile(request)

        # Kept per data version under what the tile is of (the period resolved, so `latest` and its
        # ISO share one entry): a map's repeat of a tile costs no statement. Empty tiles are not kept.
        layer = f"{classes.indicator_id}@{classes.period_id}" if classes else "-"
        return rendered_once(f"tile:{found.id}/{z}/{x}/{y}/{layer}", build, request, content_type=tiles.MEDIA_TYPE,
                             store="tiles")


def tile_vintage_or_404(code: str):
    found = tiles.tile_vintage(code=code)
    if found is None:
        raise NotFound(f"No vintage {code!r}; see /api/v1/vintages/.", vintage=code)
    if not found.boundary_count:
        raise NotFound(f"No boundaries are held for {found.code}; vintages with boundaries: "
                       f"{', '.join(tiles.tile_vintage_codes())}.", vintage=found.code)
    return found


class TileLegendSerializer(serializers.Serializer):
    vintage = serializers.CharField()
    layer = serializers.CharField(help_text="The tiles' one layer.")
    tiles = serializers.CharField(help_text="The tiles' URL template for a map source ({z}/{x}/{y} in braces).")
    minzoom = serializers.IntegerField()
    maxzoom = serializers.IntegerField()
    properties = serializers.ListField(child=serializers.CharField(), help_text="The feature properties the tiles carry.")
    indicator = serializers.CharField(allow_null=True)
    title = serializers.CharField(allow_null=True)
    unit = serializers.CharField(allow_null=True)
    unit_symbol = serializers.CharField(allow_null=True)
    polarity = serializers.CharField(allow_null=True, help_text="higher_is_better, lower_is_better or neutral.")
    period = serializers.CharField(allow_null=True, help_text="The period's label.")
    period_iso = serializers.CharField(allow_null=True)
    areas = serializers.IntegerField(allow_null=True, help_text="Areas of the vintage with a value.")
    method = serializers.CharField(allow_null=True, help_text="deciles (50 areas or more) or quintiles.")
    order = serializers.CharField(allow_null=True, help_text="What class 1 is.")
    breaks = serializers.ListField(child=serializers.FloatField(), allow_null=True,
                                   help_text="Where each class but the last ends (a value equal to a break is in the "
                                             "class it ends), in class order.")
    # `class` is a Python keyword, so the class objects are described with a field dict.
    classes = inline_serializer(name="TileClass", many=True, allow_null=True, fields={
        "class": serializers.IntegerField(help_text="1 = worst."),
        "min": serializers.FloatField(allow_null=True, help_text="The smallest value in the class (null: no area in "
                                                                  "it)."),
        "max": serializers.FloatField(allow_null=True, help_text="The largest value in the class."),
        "areas": serializers.IntegerField(help_text="Areas of the vintage in the class."),
    })


FEATURE_PROPERTIES = ["code", "name", "name_cy"]
VALUE_PROPERTIES = ["value", "lci", "uci", "rank", "rank_of", "class"]
ORDER = {
    "higher_is_better": "class 1 holds the lowest values (higher is better), the last class the highest",
    "lower_is_better": "class 1 holds the highest values (lower is better), the last class the lowest",
    "neutral": "class 1 holds the lowest values (the indicator is neutral), the last class the highest",
}


def legend_body(request, vintage, classes: tiles.TileClasses | None) -> dict:
    legend = reverse("tile-legend", kwargs={"vintage": vintage.code})
    # Not build_absolute_uri(template): it would escape the braces.
    template = request.build_absolute_uri(legend).removesuffix("legend.json") + "{z}/{x}/{y}.mvt"
    if classes is not None:
        template += "?" + urlencode({"indicator": classes.slug, "period": classes.period_iso})
    body = {"vintage": vintage.code, "layer": tiles.LAYER, "tiles": template, "minzoom": 0, "maxzoom": tiles.MAX_ZOOM,
            "properties": FEATURE_PROPERTIES + (VALUE_PROPERTIES if classes else [])}
    if classes is None:
        return {**body, **dict.fromkeys(["indicator", "title", "unit", "unit_symbol", "polarity", "period",
                                         "period_iso", "areas", "method", "order", "breaks", "classes"])}
    return {**body, "indicator": classes.slug, "title": classes.title, "unit": classes.unit,
            "unit_symbol": classes.unit_symbol, "polarity": classes.polarity, "period": classes.period,
            "period_iso": classes.period_iso, "areas": classes.areas,
            "method": "deciles" if classes.classes == 10 else "quintiles", "order": ORDER[classes.polarity],
            "breaks": classes.breaks,
            "classes": [{"class": b.number, "min": b.low, "max": b.high, "areas": b.areas} for b in classes.bands]}


@extend_schema(
    tags=["maps"], summary="What a vintage's vector tiles carry, and the classes of an indicator on them",
    description=(
        "For a map's legend and source: the tiles' URL template, layer and properties, and with `indicator` "
        "(and `period`, default `latest`) the classes the tiles' `class` property refers to, computed over every "
        "area of the vintage with a value: each class's smallest and largest value and number of areas, the breaks "
        "between them, the polarity and unit. The template names the period resolved, so that tiles and legend "
        "stay together when a newer period is loaded."),
    responses={200: TileLegendSerializer,
               400: OpenApiResponse(description="A parameter is invalid; the JSON body names it."),
               404: OpenApiResponse(description="No such vintage, or none with boundaries.")},
)
class TileLegendView(ParamsMixin, APIView):
    quota_scope = "tiles"  # levelup_api.core.quotas: counted apart, LEVELUP["QUOTAS"]["tiles"] a minute
    params_class = TileParams
    schema = TileSchema()

    @extend_schema(operation_id="v1_tiles_legend_retrieve")
    def get(self, request, vintage: str):
        found = tile_vintage_or_404(vintage)
        indicator = self.cleaned["indicator"]
        classes = tiles.tile_classes(vintage=found, indicator=indicator, period=self.cleaned["period"]) if indicator else None
        return Response(legend_body(request, found, classes))

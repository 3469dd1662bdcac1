"""REST views for geographies: parse and validate parameters, call selectors, render. The hot
representations (an area, lists of areas, ancestors) are built as dicts from the selectors' rows
and rendered by orjson; the serializers describe them for OpenAPI (and must keep saying the same)."""

from __future__ import annotations

from datetime import date

import orjson
from django.http import StreamingHttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.parsers import JSONParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from levelup_api.core.caching import document_once
from levelup_api.core.errors import BadParameter, JSONErrorsMixin, NotFound
from levelup_api.core.pagination import CountedRows, PageNumberPagination
from levelup_api.core.renderers import CSVRenderer, CSVWRenderer, GeoJSONRenderer, ORJSONRenderer, csv_stream
from levelup_api.core.rest import ParamsMixin

from .. import csvw, selectors
from ..filters import (
    AncestorsParams,
    AreaListParams,
    BoundaryCollectionParams,
    BoundaryParams,
    ChildrenParams,
    PointLookupParams,
    VintageFilterSet,
)
from ..models import Area, ChangeType, CustomArea, Vintage
from . import serializers as s

ERRORS = {
    400: OpenApiResponse(description="A parameter is invalid; the JSON body names it."),
    404: OpenApiResponse(description="No area with that code."),
}
CODE_PARAM = OpenApiParameter("code", OpenApiTypes.STR, OpenApiParameter.PATH,
                              description="GSS code, e.g. E08000003 (case-insensitive). Ended codes resolve too.")


# -- parameter parsing -------------------------------------------------------------------------
def get_area(code: str, relations: set[str] | None = None) -> Area:
    area = selectors.area_get(code=code, relations=relations)
    if area is None:
        raise not_found_area(code)
    return area


def vintages_one_per_type(codes: list[str], parameter: str = "vintage") -> list[Vintage]:
    """Vintages by code, at most one per area type."""
    if not codes:
        return []
    found = {v.code: v for v in Vintage.objects.select_related("area_type").filter(code__in=codes)}
    missing = [c for c in codes if c not in found]
    if missing:
        raise BadParameter(parameter, f"unknown vintage(s) {', '.join(missing)}; see /api/v1/vintages/")
    by_type = {}
    for v in found.values():
        if v.area_type_id in by_type:
            raise BadParameter(parameter, f"{by_type[v.area_type_id].code} and {v.code} are both {v.area_type.code}: "
                                          "give one per type")
        by_type[v.area_type_id] = v
    return list(found.values())


def area_status(active_to: date | None) -> str:
    return "terminated" if active_to and active_to < date.today() else "live"


def area_list_items(rows) -> list[dict]:
    """s.AreaListItemSerializer's document from selectors.area_list_rows' tuples: an ended code's row
    also says what replaced it (`successors`); a live code's has exactly AreaListSerializer's fields."""
    today, vintage_codes = date.today(), selectors.vintage_codes_namer()
    items = []
    for code, name, name_cy, type_code, entity, active_from, active_to, vintage_ids, replaced_by in rows:
        ended = bool(active_to and active_to < today)
        item = {"code": code, "name": name, "name_cy": name_cy, "type": type_code, "entity": entity,
                "status": "terminated" if ended else "live", "active_from": active_from, "active_to": active_to,
                "vintages": vintage_codes(vintage_ids)}
        if ended:
            item["successors"] = replaced_by or []
        items.append(item)
    return items


_CHANGE_LABELS = {c.value: c.label for c in ChangeType}


def area_detail_body(area: selectors.AreaDetail, request) -> dict:
    """s.AreaDetailSerializer's document from selectors.area_detail."""
    status = area_status(area.active_to)
    for change in (*area.predecessors, *area.successors):
        change["change_type"] = _CHANGE_LABELS[change["change_type"]]
    message = None
    if status == "terminated":
        successors = [c["code"] for c in area.successors]
        tail = f"; its successor(s): {', '.join(successors)}" if successors else "; no successor is recorded"
        message = f"This code ended on {area.active_to.isoformat()}{tail}."

    def url(name):
        return request.build_absolute_uri(reverse(name, kwargs={"code": area.code}))

    return {
        "code": area.code, "name": area.name, "name_cy": area.name_cy, "type": area.type, "entity": area.entity,
        "status": status, "active_from": area.active_from, "active_to": area.active_to, "vintages": area.vintages,
        "type_name": area.type_name, "message": message, "parents": area.parents,
        "predecessors": area.predecessors, "successors": area.successors,
        "boundary_vintages": area.boundary_vintages,
        "links": {"self": url("area-detail"), "children": url("area-children"), "ancestors": url("area-ancestors"),
                  "boundary": url("area-boundary") if area.boundary_vintages else None},
    }


def not_found_area(code: str) -> NotFound:
    hint = "" if len(code.strip()) == 9 else " (GSS codes have nine characters, e.g. E08000003)"
    return NotFound(f"No area with code {code!r}{hint}.", code=code)


# -- views -------------------------------------------------------------------------------------
@extend_schema(tags=["geographies"], summary="List area types",
               description="Every area type with its GSS entity codes, size order and vintages.")
class AreaTypeListView(ParamsMixin, generics.ListAPIView):
    serializer_class = s.AreaTypeSerializer
    pagination_class = None

    def get_queryset(self):
        return selectors.area_type_list()

    def list(self, request, *args, **kwargs):
        def document() -> list[dict]:
            types, vintages = selectors.area_type_rows()
            brief = ("code", "name", "effective_from", "effective_to", "area_count", "boundary_count")
            return [{"code": code, "name": name, "description": description, "entity_codes": entity_codes,
                     "code_pattern": code_pattern, "level": level,
                     "vintages": [dict(zip(brief, v, strict=True)) for v in vintages.get(type_id, ())]}
                    for type_id, code, name, description, entity_codes, code_pattern, level in types]

        return document_once(request, document)


@extend_schema(tags=["geographies"], summary="List vintages (boundary versions)",
               description="Boundary versions with effective dates and how many areas and boundaries each holds.")
class VintageListView(ParamsMixin, generics.ListAPIView):
    serializer_class = s.VintageSerializer
    pagination_class = None
    filter_backends = []
    params_class = VintageFilterSet

    def get_queryset(self):
        return self.params.filter_queryset(selectors.vintage_list())

    def list(self, request, *args, **kwargs):
        columns = selectors.VINTAGE_ROW_COLUMNS
        return document_once(request, lambda: [dict(zip(columns, row, strict=True))
                                               for row in selectors.vintage_rows(self.get_queryset())])


@extend_schema(
    tags=["geographies"], summary="List and search areas",
    description=(
        "Areas filtered by type, vintage, parent (all descendants, at any depth), the date they were in "
        "force, and a code or name search. Ordered by code (with `q`, best matches first: exact, then "
        "starting with it, then the rest, larger areas first), paginated with a total count. An ended code's row "
        "also names what replaced it (`successors`). With `format=csv` "
        "(or `Accept: text/csv`) the whole result comes back as one streamed CSV file, unpaginated (`format=csvw`: "
        "its CSVW metadata)."
    ),
    responses={200: s.AreaListItemSerializer(many=True), (200, "text/csv"): OpenApiTypes.STR, 400: ERRORS[400]},
)
class AreaListView(ParamsMixin, generics.ListAPIView):
    serializer_class = s.AreaListItemSerializer
    filter_backends = []
    params_class = AreaListParams
    pagination_class = PageNumberPagination
    renderer_classes = [ORJSONRenderer, CSVRenderer, CSVWRenderer]

    def get_queryset(self):
        return self.params.filter_queryset(selectors.area_base())

    @extend_schema(operation_id="v1_areas_list")
    def get(self, request, *args, **kwargs):
        if request.accepted_renderer.format == "csvw":
            return Response(csvw.areas_metadata(request))
        return super().get(request, *args, **kwargs)

    def list(self, request, *args, **kwargs):
        areas = self.get_queryset()
        if request.accepted_renderer.format != "csv":
            # The count, then the page with each area's vintages: two statements, no model instances.
            page = self.paginate_queryset(CountedRows(areas, selectors.area_list_rows(areas)))
            return self.get_paginated_response(area_list_items(page))
        rows = selectors.area_csv_rows(areas)
        response = StreamingHttpResponse(csv_stream(selectors.AREA_CSV_COLUMNS, rows), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="areas.csv"'
        return response


@extend_schema(
    tags=["geographies"], summary="One area by GSS code",
    description=(
        "Names, type, the vintages that hold it, when it was in force, its parents in each vintage, and its "
        "code history. A code that has ended still answers 200: `status` is `terminated`, `message` says when, "
        "and `successors` names what replaced it."
    ),
    parameters=[CODE_PARAM], responses={200: s.AreaDetailSerializer, 404: ERRORS[404]},
)
class AreaDetailView(ParamsMixin, APIView):
    def get(self, request, code: str):
        def document() -> dict:
            area = selectors.area_detail(code=code)
            if area is None:
                raise not_found_area(code)
            return area_detail_body(area, request)

        return document_once(request, document)


@extend_schema(
    tags=["geographies"], summary="Areas below an area",
    description=(
        "With `vintage`: every descendant in that vintage (Manchester's LSOAs: `vintage=LSOA21`). With `type` only: "
        "the newest vintage of that type that has descendants. With neither: the direct children in the newest "
        "vintage that has any. Paginated."
    ),
    parameters=[CODE_PARAM],
    responses={200: s.ChildrenResponseSerializer, 400: ERRORS[400], 404: ERRORS[404]},
)
class AreaChildrenView(ParamsMixin, APIView):
    pagination_class = PageNumberPagination
    params_class = ChildrenParams

    def get(self, request, code: str):
        area = get_area(code, relations=set())
        area_type, vintage = self.cleaned["type"], self.cleaned["vintage"]
        children = selectors.area_children(area=area, area_type=area_type, vintage=vintage)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(CountedRows(children.areas, selectors.area_list_rows(children.areas)),
                                           request, view=self)
        body = paginator.get_paginated_response(area_list_items(page)).data
        return Response({
            "parent": area.code,
            "vintage": children.vintage.code if children.vintage else None,
            "type": children.vintage.area_type.code if children.vintage else None,
            **body,
        })


@extend_schema(
    tags=["geographies"], summary="Areas above an area",
    description=(
        "Every ancestor along the hierarchy of one vintage of the area (default: the newest vintage of its own "
        "type), smallest first. Links that ONS defines by best fit say so in `fit`."
    ),
    parameters=[CODE_PARAM],
    responses={200: s.AncestorsResponseSerializer, 400: ERRORS[400], 404: ERRORS[404]},
)
class AreaAncestorsView(ParamsMixin, APIView):
    params_class = AncestorsParams

    def get(self, request, code: str):
        area = get_area(code, relations={"vintages"})
        vintage, rows = selectors.area_ancestors(area=area, vintage=self.cleaned["vintage"])
        return Response({
            "code": area.code,
            "vintage": vintage.code if vintage else None,
            "ancestors": [{"code": code, "name": name, "type": type_code, "vintage": vintage_code, "depth": depth,
                           "fit": fit}
                          for code, name, type_code, vintage_code, depth, fit in selectors.area_ancestor_rows(rows)],
        })


@extend_schema(
    tags=["geographies"], summary="An area's boundary as a GeoJSON Feature",
    description="EPSG:4326. Default vintage: the newest boundary of the area's own type.",
    parameters=[CODE_PARAM],
    responses={200: s.BoundaryFeatureSerializer, 400: ERRORS[400], 404: ERRORS[404]},
)
class AreaBoundaryView(ParamsMixin, APIView):
    renderer_classes = [GeoJSONRenderer, ORJSONRenderer]
    params_class = BoundaryParams

    def get(self, request, code: str):
        area = get_area(code, relations=set())
        vintage, simplify = self.cleaned["vintage"], self.cleaned["simplify"]
        boundary = selectors.boundary_for_area(area=area, vintage=vintage, simplify=simplify)
        if boundary is None:
            held = [b.vintage.code for b in area.boundaries.all()]
            where = f" in {vintage.code}" if vintage else ""
            raise NotFound(f"No boundary for {area.code}{where}.", boundary_vintages=held)
        return Response(s.BoundaryFeatureSerializer(boundary).data)


@extend_schema(
    tags=["geographies"], summary="Boundaries as a GeoJSON FeatureCollection",
    description=(
        "All boundaries of one vintage (or the newest vintage with boundaries of `type`), optionally only those "
        "below `parent`. Streamed, so the 35,672 LSOA 2021 boundaries come back in one response."
    ),
    responses={(200, "application/geo+json"): s.BoundaryCollectionSerializer,
               (200, "application/json"): s.BoundaryCollectionSerializer, 400: ERRORS[400]},
)
class BoundaryCollectionView(ParamsMixin, APIView):
    renderer_classes = [GeoJSONRenderer, ORJSONRenderer]
    params_class = BoundaryCollectionParams

    def get(self, request):
        area_type, vintage = self.cleaned["type"], self.cleaned["vintage"]
        simplify, parent = self.cleaned["simplify"], self.cleaned["parent"]
        if vintage is None:
            if area_type is None:
                raise BadParameter("vintage", "give a vintage (e.g. LAD23) or a type (e.g. LAD)")
            vintage = selectors.latest_boundary_vintage(area_type=area_type)
            if vintage is None:
                raise BadParameter("type", f"no boundaries are held for type {area_type.code}")

        def body():
            yield b'{"type":"FeatureCollection","vintage":"' + vintage.code.encode() + b'","features":['
            first = True
            for feature in selectors.boundary_features(vintage=vintage, parent=parent, simplify=simplify):
                yield feature if first else b"," + feature
                first = False
            yield b"]}"

        return StreamingHttpResponse(body(), content_type=request.accepted_renderer.media_type)


@extend_schema(
    tags=["geographies"], summary="Which areas contain a point",
    description=(
        "Every area containing the point (WGS84 longitude/latitude), one per area type: in the vintages you "
        "name (comma-separated, one per type) and otherwise the newest vintage with boundaries of each type."
    ),
    responses={200: s.PointLookupSerializer, 400: ERRORS[400]},
)
class PointLookupView(ParamsMixin, APIView):
    params_class = PointLookupParams

    def get(self, request):
        lon, lat = self.cleaned["lon"], self.cleaned["lat"]
        hits = selectors.point_lookup(lon=lon, lat=lat, vintages=vintages_one_per_type(self.cleaned["vintage"]))
        return Response({
            "lon": lon, "lat": lat,
            "areas": [{"code": h.code, "name": h.name, "type": h.type_code, "type_name": h.type_name,
                       "vintage": h.vintage} for h in hits],
        })


def custom_area_body(area) -> dict:
    """A custom area with its members (one query for the members)."""
    members = [{"code": c, "name": n, "weight": w} for c, n, w in
               area.members.order_by("area__code").values_list("area__code", "area__name", "weight")]
    return {"id": str(area.id), "name": area.name, "method": area.method, "vintage": area.vintage.code,
            "created_at": area.created_at, "member_count": len(members),
            "geometry": orjson.loads(area.geometry.geojson) if area.geometry else None, "members": members}


@extend_schema(
    tags=["custom areas"], summary="Create a custom area",
    description=(
        "Your own area, from small areas: `{\"name\", \"codes\": [LSOA or MSOA codes of one vintage]}` (weight 1 "
        "each), or `{\"name\", \"geometry\": GeoJSON Polygon or MultiPolygon (EPSG:4326), \"method\": \"centroid\" | "
        "\"overlap\", \"vintage\": \"LSOA21\"}`: `centroid` takes the small areas whose representative point lies "
        "inside (weight 1), `overlap` every small area the polygon touches, weighted by the share of its area inside. "
        "Needs a token (`Authorization: Token <key>`; an `X-API-Key` may come too, for its quota); reading by id is "
        "public. At most 5,000 small areas and 20,000 km2."
    ),
    request=s.CustomAreaCreateSerializer,
    responses={
        201: s.CustomAreaSerializer,
        400: OpenApiResponse(description="A field is missing or wrong (bad codes, geometry, method, vintage or "
                                         "name); `parameter` names it and `message` says why."),
        401: OpenApiResponse(description="No valid token (or an unknown API key)."),
        403: OpenApiResponse(description="The credentials may not create custom areas."),
        413: OpenApiResponse(description="The body is over the upload limit the message states (2.5 MiB)."),
        415: OpenApiResponse(description="The body is not JSON (send Content-Type: application/json)."),
    },
)
class CustomAreaCreateView(JSONErrorsMixin, APIView):
    permission_classes = [IsAuthenticated]
    # The body is JSON (a geometry has no form encoding): anything else is the documented 415.
    parser_classes = [JSONParser]

    def post(self, request):
        from rest_framework.exceptions import ParseError

        from ..services import custom_area_create

        try:
            data = request.data
        except RecursionError:  # json refuses very deep nesting this way, not with a ValueError
            raise ParseError("JSON nested too deeply") from None
        body = s.CustomAreaCreateSerializer(data=data)
        body.is_valid(raise_exception=True)
        fields = body.validated_data
        # A CustomAreaError (a ParameterError) is a 400 naming the field (levelup_api.core.errors).
        area = custom_area_create(name=fields["name"], user=request.user, codes=fields.get("codes"),
                                  geometry=fields.get("geometry"), method=fields.get("method"),
                                  vintage_code=fields.get("vintage"))
        return Response(custom_area_body(CustomArea.objects.select_related("vintage").get(id=area.id)), status=201)


@extend_schema(tags=["custom areas"], summary="A custom area and its members",
               parameters=[OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH,
                                            description="The id returned when it was created.")],
               responses={200: s.CustomAreaSerializer, 404: ERRORS[404]})
class CustomAreaDetailView(ParamsMixin, APIView):
    def get(self, request, id):
        area = CustomArea.objects.select_related("vintage").filter(id=id).first()
        if area is None:
            raise NotFound(f"No custom area {id}.", id=str(id))
        return Response(custom_area_body(area))

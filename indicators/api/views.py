"""REST views for indicators, periods and observations: parse, call selectors, render."""

from __future__ import annotations

import base64

from django.http import StreamingHttpResponse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.response import Response
from rest_framework.views import APIView

from levelup_api.core.errors import BadParameter, JSONErrorsMixin, NotFound
from levelup_api.core.renderers import CSVRenderer, ORJSONRenderer

from .. import selectors
from ..filters import IndicatorFilterSet, ObservationFilterSet
from . import serializers as s

MAX_PAGE = 100_000
DEFAULT_PAGE = 10_000


@extend_schema(tags=["indicators"], summary="List indicators",
               description="Every indicator loaded, with unit, polarity, source and licence; filterable.")
class IndicatorListView(generics.ListAPIView):
    serializer_class = s.IndicatorSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = IndicatorFilterSet
    pagination_class = None

    def get_queryset(self):
        return selectors.indicator_list()


@extend_schema(tags=["indicators"], summary="One indicator with its releases and availability",
               parameters=[OpenApiParameter("slug", OpenApiTypes.STR, OpenApiParameter.PATH, description="Indicator slug.")],
               description="Full metadata, the dataset's published releases (newest first), and which area types "
                           "have values for which periods.",
               responses={200: s.IndicatorDetailSerializer, 404: OpenApiResponse(description="Unknown slug.")})
class IndicatorDetailView(APIView):
    def get(self, request, slug: str):
        indicator = selectors.indicator_get(slug=slug)
        if indicator is None:
            raise NotFound(f"No indicator {slug!r}; see /api/v1/indicators/.", slug=slug)
        indicator.availability = selectors.availability(indicator)
        return Response(s.IndicatorDetailSerializer(indicator).data)


@extend_schema(tags=["indicators"], summary="List periods",
               parameters=[OpenApiParameter("indicator", OpenApiTypes.STR,
                                            description="Indicator slug: only periods with values for it.")],
               description="ISO 8601 periods with their type and human label.",
               responses={200: s.PeriodSerializer(many=True), 400: OpenApiResponse(description="Unknown indicator.")})
class PeriodListView(APIView):
    def get(self, request):
        slug = request.query_params.get("indicator")
        indicator = None
        if slug:
            indicator = selectors.indicator_list().filter(slug=slug.strip()).first()
            if indicator is None:
                raise BadParameter("indicator", f"unknown indicator {slug!r}")
        return Response(s.PeriodSerializer(selectors.period_list(indicator=indicator), many=True).data)


def _encode_cursor(key: tuple[int, int, int]) -> str:
    return base64.urlsafe_b64encode(",".join(map(str, key)).encode()).decode()


def _decode_cursor(raw: str) -> tuple[int, int, int]:
    try:
        parts = tuple(int(p) for p in base64.urlsafe_b64decode(raw.encode()).decode().split(","))
    except (ValueError, UnicodeDecodeError):
        raise BadParameter("cursor", "not a cursor from a previous page") from None
    if len(parts) != 3:
        raise BadParameter("cursor", "not a cursor from a previous page")
    return parts


@extend_schema(
    tags=["indicators"], summary="Observations, long format (JSON pages or one CSV file)",
    description=(
        "Values with 95% confidence limits and status for indicators x areas x periods. JSON comes in pages "
        f"of `page_size` rows (default {DEFAULT_PAGE:,}, at most {MAX_PAGE:,}) with a `next` cursor; "
        "`format=csv` (or `Accept: text/csv`) streams the whole result as one CSV file, unpaginated. "
        "Only published, current values unless `as_of` asks for an earlier release."
    ),
    parameters=[
        OpenApiParameter("page_size", OpenApiTypes.INT, description=f"Rows per JSON page (1 to {MAX_PAGE:,})."),
        OpenApiParameter("cursor", OpenApiTypes.STR, description="Cursor from the previous page's `next`."),
    ],
    responses={200: s.ObservationPageSerializer, (200, "text/csv"): OpenApiTypes.STR,
               400: OpenApiResponse(description="A parameter is invalid; the JSON body names it.")},
)
class ObservationListView(JSONErrorsMixin, generics.GenericAPIView):
    filter_backends = [DjangoFilterBackend]
    filterset_class = ObservationFilterSet
    renderer_classes = [ORJSONRenderer, CSVRenderer]
    pagination_class = None

    def get_queryset(self):
        return selectors.observation_base()

    def get(self, request):
        try:
            qs = self.filter_queryset(self.get_queryset())
        except selectors.ObservationQueryError as exc:
            raise BadParameter(exc.parameter, exc.message) from None
        if request.accepted_renderer.format == "csv":
            response = StreamingHttpResponse(selectors.observation_csv_copy(qs), content_type="text/csv")
            response["Content-Disposition"] = 'attachment; filename="observations.csv"'
            return response
        raw_size = request.query_params.get("page_size", str(DEFAULT_PAGE))
        if not raw_size.isdigit() or not 1 <= int(raw_size) <= MAX_PAGE:
            raise BadParameter("page_size", f"must be a whole number from 1 to {MAX_PAGE}")
        size = int(raw_size)
        after = _decode_cursor(request.query_params["cursor"]) if request.query_params.get("cursor") else None
        rows = selectors.observation_page(qs, after=after, size=size)
        next_url = None
        if len(rows) > size:
            rows = rows[:size]
            params = request.query_params.copy()
            params["cursor"] = _encode_cursor(rows[-1][-3:])
            next_url = request.build_absolute_uri(request.path + "?" + params.urlencode())
        cols = selectors.OBSERVATION_COLUMNS
        return Response({"next": next_url, "results": [dict(zip(cols, r[:9], strict=True)) for r in rows]})

"""REST views for indicators, periods and observations: parse, call selectors, render."""

from __future__ import annotations

import base64

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.response import Response
from rest_framework.views import APIView

from geographies.api.views import get_area
from levelup_api.core.caching import document_once
from levelup_api.core.errors import BadParameter, NotFound
from levelup_api.core.renderers import (
    CSVRenderer,
    CSVWRenderer,
    JSONStatAliasRenderer,
    JSONStatRenderer,
    ORJSONRenderer,
    csv_stream,
)
from levelup_api.core.rest import ParamsMixin

from .. import csvw, jsonstat, selectors
from ..aggregation import COLUMNS as AGGREGATE_COLUMNS
from ..aggregation import aggregate_indicator
from ..filters import (
    OBSERVATION_PAGE_DEFAULT,
    OBSERVATION_PAGE_MAX,
    AggregateFilterSet,
    CustomAreaObservationsParams,
    IndicatorFilterSet,
    ObservationListParams,
    PeriodListParams,
    SeriesParams,
)
from ..harmonise import COLUMNS as HARMONISED_COLUMNS
from ..harmonise import area_series
from ..models import Indicator
from . import serializers as s


@extend_schema(tags=["indicators"], summary="List indicators",
               description="Every indicator loaded, with unit, polarity, source and licence; filterable.")
class IndicatorListView(ParamsMixin, generics.ListAPIView):
    serializer_class = s.IndicatorSerializer
    filter_backends = []
    params_class = IndicatorFilterSet
    pagination_class = None

    def get_queryset(self):
        return self.params.filter_queryset(selectors.indicator_list())

    def list(self, request, *args, **kwargs):
        # Rows, not a ModelSerializer per indicator (the serializer describes them in OpenAPI).
        columns = selectors.INDICATOR_ROW_COLUMNS
        return document_once(request, lambda: [
            dict(zip(columns, row, strict=True))
            for row in selectors.indicator_list_rows(self.params.filter_queryset(selectors.indicator_base()))])


@extend_schema(tags=["indicators"], summary="One indicator with its releases and availability",
               parameters=[OpenApiParameter("slug", OpenApiTypes.STR, OpenApiParameter.PATH, description="Indicator slug.")],
               description="Full metadata, the dataset's published releases (newest first), and which area types "
                           "have values for which periods.",
               responses={200: s.IndicatorDetailSerializer, 404: OpenApiResponse(description="Unknown slug.")})
class IndicatorDetailView(ParamsMixin, APIView):
    def get(self, request, slug: str):
        def document() -> dict:
            indicator = selectors.indicator_get(slug=slug)
            if indicator is None:
                raise NotFound(f"No indicator {slug!r}; see /api/v1/indicators/.", slug=slug)
            indicator.availability = selectors.availability(indicator)
            return s.IndicatorDetailSerializer(indicator, context={"request": request}).data

        return document_once(request, document)


@extend_schema(tags=["indicators"], summary="List periods",
               description="ISO 8601 periods with their type and human label.",
               responses={200: s.PeriodSerializer(many=True), 400: OpenApiResponse(description="Unknown indicator.")})
class PeriodListView(ParamsMixin, APIView):
    params_class = PeriodListParams

    def get(self, request):
        columns = selectors.PERIOD_ROW_COLUMNS
        return document_once(request, lambda: [
            dict(zip(columns, row, strict=True))
            for row in selectors.period_rows(selectors.period_list(indicator=self.cleaned["indicator"]))])


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
        f"of `page_size` rows (default {OBSERVATION_PAGE_DEFAULT:,}, at most {OBSERVATION_PAGE_MAX:,}) with a `next` "
        "cursor; `format=csv` (or `Accept: text/csv`) streams the whole result as one CSV file, unpaginated. "
        "Only published, current values unless `as_of` asks for an earlier release. `period=latest` is, per "
        "indicator, the newest period with a value for the areas asked (of `type`, in `vintage`, or the types of "
        "the `area` codes). `format=jsonstat` (or `Accept: application/vnd.json-stat+json`) gives the same page "
        "as one JSON-stat 2.0 dataset (indicator x period x area; `link.next` is the next page), and "
        "`format=csvw` the CSV's CSVW metadata (docs/formats.md)."
    ),
    responses={200: s.ObservationPageSerializer, (200, "text/csv"): OpenApiTypes.STR,
               400: OpenApiResponse(description="A parameter is invalid; the JSON body names it.")},
)
class ObservationListView(ParamsMixin, APIView):
    renderer_classes = [ORJSONRenderer, CSVRenderer, JSONStatRenderer, JSONStatAliasRenderer, CSVWRenderer]
    params_class = ObservationListParams

    def get(self, request):
        if request.accepted_renderer.format == "csvw":
            return Response(csvw.observations_metadata(request, self.cleaned))
        if self.cleaned["harmonise"]:
            return self.harmonised(request)
        qs = self.params.filter_queryset(selectors.observation_base())
        if request.accepted_renderer.format == "csv":
            response = StreamingHttpResponse(selectors.observation_csv_copy(qs), content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = 'attachment; filename="observations.csv"'
            return response
        size = self.cleaned["page_size"] or OBSERVATION_PAGE_DEFAULT
        after = _decode_cursor(self.cleaned["cursor"]) if self.cleaned["cursor"] else None
        rows = selectors.observation_page(qs, after=after, size=size)
        next_url = None
        if len(rows) > size:
            rows = rows[:size]
            params = request.query_params.copy()
            params["cursor"] = _encode_cursor(rows[-1][-3:])
            next_url = request.build_absolute_uri(request.path + "?" + params.urlencode())
        cols = selectors.OBSERVATION_COLUMNS
        if request.accepted_renderer.format == "jsonstat":
            return Response(jsonstat.observations_dataset(request, rows, columns=cols, next_url=next_url))
        return Response({"next": next_url, "results": [dict(zip(cols, r[:9], strict=True)) for r in rows]})

    def harmonised(self, request):
        rows = self.params.harmonised()
        if request.accepted_renderer.format == "jsonstat":
            return Response(jsonstat.harmonised_dataset(request, rows, columns=HARMONISED_COLUMNS))
        if request.accepted_renderer.format == "csv":
            body = csv_stream(HARMONISED_COLUMNS, ([r[c] for c in HARMONISED_COLUMNS] for r in rows))
            response = StreamingHttpResponse(body, content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = 'attachment; filename="observations-harmonised.csv"'
            return response
        return Response({"next": None, "results": rows})


@extend_schema(
    tags=["indicators"], summary="Aggregate an indicator up the hierarchy",
    description=(
        "The indicator on the child areas (`from_type`/`from_vintage`, e.g. LSOA21) combined into the areas they lie "
        "in (`to_type`/`to_vintage`, e.g. LAD24) by the indicator's aggregation rule: `sum` (counts), "
        "`weighted_mean` (rates and scores, weighted by a named indicator such as a population, matched to the "
        "child areas; the weight's period is stated), `share_in_category` (e.g. the share of LSOAs in decile 1), "
        "`ratio_of_sums`; or one of MHCLG's deprivation summaries: `average_rank` and `local_concentration` "
        "(population-weighted, of the national ranks reversed), `average_score`, `extent` (population in the most "
        "deprived 30%, on a sliding weight), `scale` (sum of numerators), `share_in_category`, each with its `rank` "
        "among the result areas (1 = most deprived) and `rank_of`. Where the hierarchy has no link (LSOA21 to "
        "CAUTH24, LSOA11 to LAD24) children are fitted through boundaries (`via`). Each value carries the method, "
        "the child areas used and expected, the coverage (share of the weight, or of the children, that had "
        "values) and, where the publisher's own figure is loaded, `published_value`. Below `min_coverage` the "
        "value is null and `reason` says why. Ranks and medians (except through the summaries of ranks) and "
        "methods that do not apply are refused with a 400 that says why. `format=csv` returns the rows as CSV "
        "(`format=csvw`: its CSVW metadata), `format=jsonstat` as a JSON-stat 2.0 dataset (indicator x area x "
        "period; the aggregate's description under `extension.aggregate`)."
    ),
    parameters=[OpenApiParameter("slug", OpenApiTypes.STR, OpenApiParameter.PATH, description="Indicator slug.")],
    responses={200: s.AggregateSerializer, (200, "text/csv"): OpenApiTypes.STR,
               400: OpenApiResponse(description="A parameter is invalid or the aggregation does not apply; the JSON "
                                                "body names the parameter and says why."),
               404: OpenApiResponse(description="Unknown slug.")},
)
class IndicatorAggregateView(ParamsMixin, APIView):
    renderer_classes = [ORJSONRenderer, CSVRenderer, JSONStatRenderer, JSONStatAliasRenderer, CSVWRenderer]
    params_class = AggregateFilterSet

    def get(self, request, slug: str):
        indicator = aggregate_indicator(slug=slug)
        if indicator is None:
            raise NotFound(f"No indicator {slug!r}; see /api/v1/indicators/.", slug=slug)
        if request.accepted_renderer.format == "csvw":
            return Response(csvw.aggregate_metadata(request, indicator, self.cleaned["method"] or None,
                                                    self.cleaned["weight"]))
        result = self.params.aggregate(indicator)
        if request.accepted_renderer.format == "jsonstat":
            return Response(jsonstat.aggregate_dataset(request, result, columns=AGGREGATE_COLUMNS))
        if request.accepted_renderer.format == "csv":
            rows = ([r[c] for c in AGGREGATE_COLUMNS] for r in result.rows)
            response = StreamingHttpResponse(csv_stream(AGGREGATE_COLUMNS, rows), content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="{slug}-{result.to_vintage.code}.csv"'
            return response
        return Response({**result.meta(), "results": result.rows})


@extend_schema(
    tags=["indicators"], summary="One area's series on one vintage",
    description=(
        "Every period of an indicator for one area, expressed on one boundary vintage (default: the newest of the "
        "area's own type that holds it): published values where they exist, values converted from the area's "
        "predecessors otherwise (Cumberland before 2023 from Allerdale, Carlisle and Copeland). Each point has a "
        "`flag` (published, converted, apportioned), the method and weight used, and with `explain=true` its inputs."
    ),
    parameters=[OpenApiParameter("code", OpenApiTypes.STR, OpenApiParameter.PATH, description="GSS code.")],
    responses={200: s.AreaSeriesSerializer, 400: OpenApiResponse(description="A parameter is invalid; the body names it."),
               404: OpenApiResponse(description="Unknown area code.")},
)
class AreaSeriesView(ParamsMixin, APIView):
    params_class = SeriesParams

    def get(self, request, code: str):
        area = get_area(code, relations=set())
        indicator = aggregate_indicator(slug=self.cleaned["indicator"].strip())
        if indicator is None:
            raise BadParameter("indicator", f"unknown indicator {self.cleaned['indicator']!r}; see /api/v1/indicators/")
        vintage, series = area_series(area=area, indicator=indicator, vintage=self.cleaned["vintage"],
                                      explain=bool(self.cleaned["explain"]))
        return Response({"area": {"code": area.code, "name": area.name}, "indicator": indicator.slug,
                         "vintage": vintage.code, "series": series})


@extend_schema(
    tags=["custom areas"], summary="Indicators for a custom area",
    description=(
        "Each aggregatable indicator computed for a custom area from its small areas and their weights, by the "
        "indicator's rule (as `/indicators/{slug}/aggregate/`), with the method, weight, children used and expected, "
        "and coverage. `format=csv` for a file (`format=csvw`: its CSVW metadata), `format=jsonstat` for a JSON-stat "
        "2.0 dataset (indicator x area x period, the area being the custom area; the summaries, when asked, under "
        "`extension.deprivation_summaries`)."
    ),
    parameters=[OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="Custom area id.")],
    responses={200: s.CustomAreaObservationsSerializer, (200, "text/csv"): OpenApiTypes.STR,
               400: OpenApiResponse(description="A parameter is invalid or an indicator cannot be aggregated."),
               404: OpenApiResponse(description="Unknown custom area.")},
)
class CustomAreaObservationsView(ParamsMixin, APIView):
    renderer_classes = [ORJSONRenderer, CSVRenderer, JSONStatRenderer, JSONStatAliasRenderer, CSVWRenderer]
    params_class = CustomAreaObservationsParams

    def get(self, request, id):
        from geographies.models import CustomArea

        from ..aggregation import SUMMARIES_IN_JSON, custom_area_aggregate, custom_area_summaries

        area = CustomArea.objects.select_related("vintage__area_type").filter(id=id).first()
        if area is None:
            raise NotFound(f"No custom area {id}.", id=str(id))
        data = self.cleaned
        fmt = request.accepted_renderer.format
        if data["summaries"] and fmt in ("csv", "csvw"):
            raise BadParameter("summaries", SUMMARIES_IN_JSON)
        slugs = data["indicator"]
        found = {i.slug: i for i in Indicator.objects.select_related("weight_indicator").filter(slug__in=slugs)}
        missing = [s for s in slugs if s not in found]
        if missing:
            raise BadParameter("indicator", f"unknown indicator(s) {', '.join(missing)}")
        if fmt == "csvw":
            return Response(csvw.custom_area_metadata(request, [found[s] for s in slugs], data["method"] or None,
                                                      area.name))
        # period, method, weight and min_coverage mean what they mean for /aggregate/ (the same concepts).
        rows = []
        for slug in slugs:
            rows += custom_area_aggregate(
                custom_area=area, indicator=found[slug], min_coverage=data["min_coverage"], periods=data["period"],
                method=data["method"] or None, weight=data["weight"],
                weight_period=(data["weight_period"] or "").strip() or None).rows
        if fmt == "csv":
            body = csv_stream(AGGREGATE_COLUMNS, ([r[c] for c in AGGREGATE_COLUMNS] for r in rows))
            return StreamingHttpResponse(body, content_type="text/csv; charset=utf-8")
        summaries = custom_area_summaries(custom_area=area) if data["summaries"] else None
        if fmt == "jsonstat":
            return Response(jsonstat.custom_area_dataset(request, rows, columns=AGGREGATE_COLUMNS, area=area,
                                                         indicators=[found[s] for s in slugs], summaries=summaries))
        body = {"custom_area": {"id": str(area.id), "name": area.name, "vintage": area.vintage.code}, "results": rows}
        if summaries is not None:
            body["deprivation_summaries"] = summaries
        return Response(body)

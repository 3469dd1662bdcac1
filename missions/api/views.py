"""REST views for missions, progress and area profiles: parse, call selectors, render."""

from __future__ import annotations

from django.db.models import Prefetch
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from geographies.api.views import get_area, not_found_area
from indicators.aggregation import SUMMARIES_IN_JSON, area_summaries
from indicators.models import Indicator
from levelup_api.core.caching import document_once, rendered_once
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
from ..filters import ProfileListParams, ProfileParams, ProgressParams, SimilarParams, level_value
from ..models import Metric, Mission, Target
from .serializers import (
    AreaProfileSerializer,
    AreaScorecardSerializer,
    AreaSimilarSerializer,
    MissionProgressSerializer,
    MissionSerializer,
    ProfileListSerializer,
)


def mission_queryset():
    return Mission.objects.select_related("objective").prefetch_related(
        Prefetch("metrics", queryset=Metric.objects.select_related("indicator").order_by("-headline", "indicator__slug")),
        Prefetch("targets", queryset=Target.objects.select_related("metric__indicator").order_by("id")))


def mission_body(m: Mission, national: dict[int, dict] | None = None) -> dict:
    """A mission as the API shows it; `national` (from selectors.national_latest) adds England's
    latest value to each metric."""
    statuses = {t.data_status for t in m.targets.all()}
    national = national or {}
    return {
        "number": m.number, "short_name": m.short_name, "statement": m.statement, "source_url": m.source_url,
        "objective": {"number": m.objective.number, "name": m.objective.name}, "capitals": m.capitals,
        "target_year": m.target_year,
        "data_status": ("available" if statuses == {"available"} else "none" if statuses <= {"none"} else "partial"),
        "metrics": [{"indicator": x.indicator.slug, "title": x.indicator.title, "headline": x.headline, "link": x.link,
                     "unit": x.indicator.unit, "national_latest": national.get(x.indicator_id)}
                    for x in m.metrics.all()],
        "targets": [{"kind": t.kind, "description": t.description, "value": t.value, "unit": t.unit,
                     "gap": t.gap or None, "target_year": t.target_year,
                     "indicator": t.metric.indicator.slug if t.metric else None,
                     "data_status": t.data_status, "data_note": t.data_note} for t in m.targets.all()],
    }


def _mission(number: int) -> Mission:
    mission = mission_queryset().filter(number=number).first()
    if mission is None:
        raise NotFound(f"No mission {number}: missions are numbered 1 to 12.", number=number)
    return mission





def _csv(rows: list[dict], columns: list[str], filename: str) -> StreamingHttpResponse:
    def cell(value):
        return ";".join(map(str, value)) if isinstance(value, list) else value

    return _attachment(csv_stream(columns, ([cell(r[c]) for c in columns] for r in rows)), filename)


def _attachment(body, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# A JSON document is built whole in memory (about 50 rows per area); a CSV is streamed from COPY.
PROFILES_JSON_MAX_AREAS = 1000
NUMBER = OpenApiParameter("number", OpenApiTypes.INT, OpenApiParameter.PATH, description="Mission number, 1 to 12.")
CODE = OpenApiParameter("code", OpenApiTypes.STR, OpenApiParameter.PATH, description="GSS code.")


@extend_schema(tags=["missions"], summary="The 12 missions",
               description="The White Paper's missions under its four objectives, each with its metrics (indicators, "
                           "and whether ONS tagged them or we suggest them), typed targets and data status.",
               responses={200: MissionSerializer(many=True)})
class MissionListView(ParamsMixin, APIView):
    @extend_schema(operation_id="v1_missions_list")
    def get(self, request):
        def document() -> list[dict]:
            missions = list(mission_queryset().order_by("number"))
            national = selectors.national_latest({x.indicator_id for m in missions for x in m.metrics.all()})
            return [mission_body(m, national) for m in missions]

        return document_once(request, document)


@extend_schema(tags=["missions"], summary="One mission", parameters=[NUMBER],
               description="A mission with its statement, metrics, typed targets and data status.",
               responses={200: MissionSerializer, 404: OpenApiResponse(description="No such mission.")})
class MissionDetailView(ParamsMixin, APIView):
    def get(self, request, number: int):
        def document() -> dict:
            mission = _mission(number)
            return mission_body(mission, selectors.national_latest([x.indicator_id for x in mission.metrics.all()]))

        return document_once(request, document)


@extend_schema(
    tags=["missions"], summary="A mission's progress across areas",
    description=(
        "For each metric with values on the areas of `vintage` (or the newest vintage of `area_type`): the baseline "
        "(first period starting on or after the configured date, 2019-01-01) and latest periods with England's value, "
        "how many areas improved between them (by polarity), and for each target its status: the gap between top and "
        "bottom areas per period over the same set of areas, or Open SDG's growth-rate method for national targets."
    ),
    parameters=[NUMBER],
    responses={200: MissionProgressSerializer, (200, "text/csv"): OpenApiTypes.STR,
               400: OpenApiResponse(description="Bad area type or vintage."),
               404: OpenApiResponse(description="No such mission.")},
)
class MissionProgressView(ParamsMixin, APIView):
    renderer_classes = [ORJSONRenderer, CSVRenderer, CSVWRenderer]
    params_class = ProgressParams

    def get(self, request, number: int):
        def document() -> dict:
            return selectors.mission_progress(mission=_mission(number), vintage=selectors.areas_vintage(**self.cleaned))

        if request.accepted_renderer.format == "csvw":
            selectors.areas_vintage(**self.cleaned)  # what the CSV would refuse, refused alike
            return Response(csvw.progress_metadata(request, mission=_mission(number)))
        if request.accepted_renderer.format != "csv":
            return document_once(request, document)
        progress = document()
        rows = [{"mission": number, "indicator": m["indicator"], "kind": t["kind"], "period": g["period"],
                 "period_iso": g["period_iso"], "gap": g["gap"], "status": t["status"]}
                for m in progress["metrics"] for t in m["targets"] for g in t.get("gap_series", [])]
        return _csv(rows, csvw.PROGRESS_COLUMNS, f"mission-{number}-progress.csv")


@extend_schema(
    tags=["profiles"], summary="An area's profile",
    description=(
        "Every indicator with a current value for the area, at its latest period: value and CI; rank among areas of "
        "the same type (1 = best by polarity; a rank indicator's own published rank) and decile (a decile "
        "indicator's own); the region's and the nation's value for the same period, published or else computed from "
        "their areas by the indicator's aggregation rule (`*_comparator_source`, `*_coverage`), with the difference "
        "and a comparison by Fingertips' methods (`comparison_method`: the area's confidence interval at `level`, "
        "published or by Wilson or Byar from its numerator and denominator, against the benchmark: better, similar, "
        "worse, or higher, similar, lower without a polarity; otherwise its quintile among all areas of its type); "
        "the trend over the last five points (`trend_method`); and the missions it measures. `format=csv` for a "
        "file (`format=csvw`: its CSVW metadata), `format=jsonstat` for a JSON-stat 2.0 dataset (area x indicator x "
        "period, everything else under `extension.columns`). Methods: docs/missions.md."
    ),
    parameters=[CODE], responses={200: AreaProfileSerializer, (200, "text/csv"): OpenApiTypes.STR,
                                  404: OpenApiResponse(description="Unknown code.")},
)
class AreaProfileView(ParamsMixin, APIView):
    renderer_classes = [ORJSONRenderer, CSVRenderer, JSONStatRenderer, JSONStatAliasRenderer, CSVWRenderer]
    params_class = ProfileParams

    def get(self, request, code: str):
        level, summaries = level_value(self.cleaned), bool(self.cleaned["summaries"])
        fmt = request.accepted_renderer.format
        if fmt in ("csv", "csvw"):
            if summaries:
                raise BadParameter("summaries", SUMMARIES_IN_JSON)
            area = get_area(code, relations=set())
            if fmt == "csvw":
                return Response(csvw.profile_metadata(request, title=f"Profile of {area.name} ({area.code})"))
            return _attachment(selectors.profiles_csv(areas=[area], level=level), f"profile-{area.code}.csv")
        if fmt == "jsonstat":
            area = get_area(code, relations=set())
            extension = {"deprivation_summaries": area_summaries(area=area)} if summaries else None
            return Response(jsonstat.profile_dataset(request, selectors.area_profile(area=area, level=level),
                                                     label=f"Profile of {area.name} ({area.code})",
                                                     extension=extension, csv=not summaries))

        def document() -> dict | bytes:
            if not summaries:  # written by PostgreSQL in one statement
                body = selectors.area_profile_document(code=code, level=level)
                if body is None:
                    raise not_found_area(code)
                return body
            area = get_area(code, relations=set())
            return {"area": {"code": area.code, "name": area.name},
                    "indicators": selectors.area_profile(area=area, level=level),
                    "deprivation_summaries": area_summaries(area=area)}

        return rendered_once(f"profile:{code.strip().upper()}:{level:g}:{summaries:d}", document, request)


@extend_schema(
    tags=["profiles"], summary="Profiles for every area under a parent",
    description="The profile of every area of `type` (in `vintage`, default its newest) below `parent`, as one JSON "
                "list (of at most 1,000 areas) or one CSV file (`format=csv`, any number of areas, streamed; "
                "`format=csvw`: its CSVW metadata), for partners pulling a whole region at once. `format=jsonstat` "
                "gives the JSON list's rows as one JSON-stat 2.0 dataset (area x indicator x period, at most 1,000 "
                "areas too).",
    responses={200: ProfileListSerializer, (200, "text/csv"): OpenApiTypes.STR,
               400: OpenApiResponse(description="A parameter is invalid.")},
)
class ProfileListView(ParamsMixin, APIView):
    renderer_classes = [ORJSONRenderer, CSVRenderer, JSONStatRenderer, JSONStatAliasRenderer, CSVWRenderer]
    params_class = ProfileListParams

    def get(self, request):
        parent = self.cleaned["parent"]
        vintage = selectors.areas_vintage(vintage=self.cleaned["vintage"], type=self.cleaned["type"])
        title = f"Profiles of the {vintage.code} areas below {parent.name} ({parent.code})"
        if request.accepted_renderer.format == "csvw":
            return Response(csvw.profile_metadata(request, title=title))
        areas = selectors.profile_areas(parent=parent, vintage=vintage)
        level = level_value(self.cleaned)
        if request.accepted_renderer.format == "csv":  # one COPY, streamed
            return _attachment(selectors.profiles_csv(areas=areas, level=level),
                               f"profiles-{parent.code}-{vintage.code}.csv")
        if len(areas) > PROFILES_JSON_MAX_AREAS:
            raise BadParameter("parent", f"{len(areas):,} {vintage.code} areas below {parent.code}: a JSON list holds "
                                         f"at most {PROFILES_JSON_MAX_AREAS:,}; ask for format=csv (streamed) or a "
                                         "smaller parent")
        rows = selectors.profiles(areas=areas, level=level)
        if request.accepted_renderer.format == "jsonstat":
            return Response(jsonstat.profile_dataset(request, rows, label=title, extension={
                "parent": parent.code, "vintage": vintage.code, "areas": len(areas)}))
        return Response({"parent": parent.code, "vintage": vintage.code, "areas": len(areas), "rows": rows})


@extend_schema(
    tags=["missions"], summary="An area's mission scorecard",
    description="For each of the 12 missions, the area's values on its metrics: baseline (first period starting on "
                "or after 2019-01-01) and latest, the change and whether it is for the better by polarity. Missions "
                "with no data for the area say so.",
    parameters=[CODE], responses={200: AreaScorecardSerializer, 404: OpenApiResponse(description="Unknown code.")},
)
class AreaMissionsView(ParamsMixin, APIView):
    def get(self, request, code: str):
        area = get_area(code, relations=set())
        return Response({"area": {"code": area.code, "name": area.name},
                         "missions": selectors.area_scorecard(area=area)})


@extend_schema(
    tags=["profiles"], summary="Statistically similar areas",
    description="The `n` areas of the same type nearest to this one on the given indicators' latest values "
                "(each standardised to z-scores across the areas that have all of them; Euclidean distance). "
                "Default indicators: the missions' headline metrics the area has values for.",
    parameters=[CODE],
    responses={200: AreaSimilarSerializer, 400: OpenApiResponse(description="A parameter is invalid."),
               404: OpenApiResponse(description="Unknown code.")},
)
class AreaSimilarView(ParamsMixin, APIView):
    params_class = SimilarParams

    def get(self, request, code: str):
        area = get_area(code, relations=set())
        n = self.cleaned["n"] or 10
        slugs = self.cleaned["indicator"]
        if slugs:
            found = {i.slug: i for i in Indicator.objects.filter(slug__in=slugs)}
            missing = [s for s in slugs if s not in found]
            if missing:
                raise BadParameter("indicator", f"unknown indicator(s) {', '.join(missing)}")
            chosen = [found[s] for s in slugs]
        else:
            chosen = list(Indicator.objects.filter(mission_metrics__headline=True).distinct().order_by("slug"))
        used, rows = selectors.area_similar(area=area, indicators=chosen, n=n)
        return Response({"area": {"code": area.code, "name": area.name}, "indicators": [i.slug for i in used],
                         "method": "Euclidean distance on z-scores of each indicator's latest values", "similar": rows})

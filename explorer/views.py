"""The explorer's pages: thin views over the lower apps' selectors (and explorer.selectors), so every
number on a page is the one the API serves, and each section links to the API call behind it."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpResponse, HttpResponsePermanentRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView

from geographies import selectors as geo
from geographies.api.views import area_status
from geographies.models import ChangeType
from indicators.aggregation import Summary, area_summaries
from indicators.models import Indicator
from levelup_api.core.params import ParameterError
from levelup_api.core.views import LICENCE
from missions import selectors as missions

from . import charts
from . import selectors as explorer
from .selectors import area_country

EXAMPLE_AREA = "E06000009"  # Blackpool
# The map outlines the areas of the first of these types below the area that has boundaries:
# a country's regions, a region's districts, a district's MSOAs, an MSOA's LSOAs.
MAP_CHILD_TYPES = ["CTRY", "RGN", "LAD", "MSOA", "LSOA"]
# Boundary simplification for the map (degrees; 0.001 is about 100 m), by the area's type level.
SIMPLIFY = [(20, 0.0001), (50, 0.0003), (70, 0.001), (1000, 0.003)]
CHILDREN_LISTED = 200
# The mission topics ONS tags indicators with; a profile groups rows by their other topic.
MISSION_TOPICS = {"boosting-productivity", "spreading-opportunity", "restoring-pride", "empowering-local-leaders"}
CHANGE_LABELS = {c.value: c.label for c in ChangeType}
NO_LSOAS = {"S", "N"}  # code letters of the countries without LSOAs


class HomeView(TemplateView):
    """The landing page: where to start, in a browser or with the API."""

    template_name = "explorer/home.html"

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "title": settings.SPECTACULAR_SETTINGS["TITLE"],
                "licence": LICENCE, "example": reverse("area-page", kwargs={"code": EXAMPLE_AREA}),
                "example_api": reverse("area-detail", kwargs={"code": EXAMPLE_AREA}), "links": [
                    ("API root", reverse("api-root"), "every resource, the data version and the quotas, in JSON"),
                    ("Documentation", reverse("swagger-ui"), "Swagger UI, to try each endpoint"),
                    ("OpenAPI schema", reverse("schema"), "the OpenAPI 3 document"),
                    ("GraphQL", reverse("graphql"), "GraphiQL in a browser; POST queries to the same address"),
                ]}


@dataclass
class ProfileRow:
    row: dict  # missions.selectors.profiles' row, as the API serves it
    unit_symbol: str
    spread: explorer.Distribution | None
    spine: charts.Spine | None
    series: list[explorer.Point]
    sparkline: charts.Sparkline | None
    national_marker: str  # the national comparison's marker class

    @property
    def outcome(self) -> str:
        text = self.row["national_comparison"] or ""
        return text[:1].upper() + text[1:]

    @property
    def trend(self) -> str:
        text = self.row["trend"] or ""
        return text[:1].upper() + text[1:]


def _topic(topics: list[str]) -> str:
    for topic in topics:
        if topic not in MISSION_TOPICS:
            return topic.replace("-", " ").capitalize()
    return "Other"


def _index_name(slug: str, period: str) -> str:
    """iod2025-imd-rank -> 'IoD 2025 (IMD)'; anything else as it is."""
    head, _, rest = slug.partition("-")
    if head.startswith("iod") and head[3:].isdigit():
        return f"IoD {head[3:]}, {rest.split('-')[0].upper()} ({period})"
    return f"{slug} ({period})"


def _simplify(level: int) -> float:
    return next(tolerance for top, tolerance in SIMPLIFY if level <= top)


def _api(name: str, query: dict | None = None, **kwargs) -> str:
    path = reverse(name, kwargs=kwargs or None)
    return f"{path}?{urlencode(query, safe=',')}" if query else path


def not_found_page(request, code: str) -> HttpResponse:
    hint = "" if len(code.strip()) == 9 else " GSS codes have nine characters, e.g. E08000003."
    return render(request, "explorer/not_found.html", {
        "code": code, "hint": hint, "search": _api("area-list", {"q": code.strip()[:40]}),
    }, status=404)


class AreaView(View):
    """`/areas/{code}/`: an area, its place in the hierarchy and its code history, its boundary and
    children on a map, its profile as a spine chart with the data table, sparklines of the trend,
    the missions scorecard, similar areas and the deprivation summaries, with the downloads. A
    fixed number of statements whatever the area (tests/explorer/test_pages.py counts them)."""

    def get(self, request, code: str):
        detail = geo.area_detail(code=code)
        if detail is None:
            return not_found_page(request, code)
        if detail.code != code:  # e06000009, or with spaces: the one address of the page
            return HttpResponsePermanentRedirect(reverse("area-page", kwargs={"code": detail.code}))
        area = geo.area_get(code=detail.code, relations={"vintages"})
        _, ancestor_rows = geo.area_ancestors(area=area)
        ancestors, seen = [], {area.code}
        for a in ancestor_rows:
            if a.ancestor.code not in seen:
                seen.add(a.ancestor.code)
                ancestors.append(a.ancestor)
        names = {a.code: a.name for a in ancestors}
        children = geo.area_children(area=area)
        child_list = list(children.areas[: CHILDREN_LISTED + 1])
        below = explorer.child_vintages(area=area)

        rows = missions.area_profile(area=area)
        context = explorer.profile_context(area=area)
        series = explorer.profile_series(area=area)
        groups: dict[str, list[ProfileRow]] = {}
        for row in rows:
            ctx = context.get(row["indicator"])
            spread = ctx.spread if ctx else None
            spine = (charts.spine(value=row["value"], national=row["national_value"], region=row["region_value"],
                                  dist=spread, polarity=row["polarity"], outcome=row["national_comparison"])
                     if spread is not None and row["value"] is not None else None)
            points = series.get(row["indicator"], [])
            groups.setdefault(_topic(ctx.topics if ctx else []), []).append(ProfileRow(
                row=row, unit_symbol=ctx.unit_symbol if ctx else "", spread=spread, spine=spine, series=points,
                sparkline=charts.sparkline([p.value for p in points]),
                national_marker=charts.outcome_class(row["national_comparison"], row["polarity"])))
        titles = {r["indicator"]: r["title"] for r in rows}

        scorecard = missions.area_scorecard(area=area)
        headline = list(Indicator.objects.filter(mission_metrics__headline=True).distinct().order_by("slug"))
        try:
            similar_used, similar = missions.area_similar(area=area, indicators=headline, n=10)
        except ParameterError as exc:
            similar_used, similar, similar_reason = [], [], exc.message
        else:
            similar_reason = None
        # The index's small areas are LSOAs (England and Wales): none lies in Scotland or Northern
        # Ireland, where area_summaries would try every vintage the area is in (30 s cold) to say so.
        summaries = area_summaries(area=area) if area_country(area.code)[0] not in NO_LSOAS else []
        methods = dict(Summary.choices) | {"share_in_category": "Share of small areas in the most deprived decile"}

        map_children = next((v for t in MAP_CHILD_TYPES for v in below if v.type == t and v.boundaries), None)
        simplify = _simplify(area.area_type.level)
        newest_per_type = [v for n, v in enumerate(below) if all(w.type != v.type for w in below[:n])]
        downloads = [{
            "vintage": v, "csv": _api("profile-list", {"parent": area.code, "type": v.type, "vintage": v.vintage,
                                                      "format": "csv"}),
            "json": (_api("profile-list", {"parent": area.code, "type": v.type, "vintage": v.vintage})
                     if v.areas <= 1000 else None),
        } for v in newest_per_type if v.data]
        country_letter, country = area_country(area.code)
        region_code = next((r["region_code"] for r in rows if r["region_code"]), None)
        status = area_status(detail.active_to)
        return render(request, "explorer/area.html", {
            "area": detail, "status": status, "ancestors": ancestors,
            "predecessors": [{**c, "change": CHANGE_LABELS.get(c["change_type"], c["change_type"])}
                             for c in detail.predecessors],
            "successors": [{**c, "change": CHANGE_LABELS.get(c["change_type"], c["change_type"])}
                           for c in detail.successors],
            "children": child_list[:CHILDREN_LISTED], "children_more": len(child_list) > CHILDREN_LISTED,
            "children_vintage": children.vintage,
            "map": {"boundary": _api("area-boundary", {"simplify": simplify}, code=area.code),
                    "children": (_api("boundary-list", {"vintage": map_children.vintage, "parent": area.code,
                                                         "simplify": simplify}) if map_children else None),
                    "children_vintage": map_children} if detail.boundary_vintages else None,
            "groups": sorted(groups.items()), "indicator_count": len(rows),
            "country": country, "country_letter": country_letter,
            "region_name": names.get(region_code, "Region") if region_code else "Region",
            "scorecard": [{**m, "metrics": [{**x, "title": titles.get(x["indicator"], x["indicator"])}
                                            for x in m["metrics"]]} for m in scorecard],
            "similar": similar, "similar_used": [i.slug for i in similar_used], "similar_reason": similar_reason,
            "summaries": [{**s, "method_name": methods.get(str(s["method"]), str(s["method"])),
                           "index_name": _index_name(s["indicator"], s["period"])} for s in summaries],
            "downloads": downloads,
            "api": {
                "area": _api("area-detail", code=area.code),
                "ancestors": _api("area-ancestors", code=area.code),
                "children": _api("area-children", code=area.code),
                "profile": _api("area-profile", code=area.code),
                "profile_csv": _api("area-profile", {"format": "csv"}, code=area.code),
                "scorecard": _api("area-missions", code=area.code),
                "similar": _api("area-similar", code=area.code),
                "summaries": _api("area-profile", {"summaries": "true"}, code=area.code),
                "observations": _api("observation-list"),
            },
        })

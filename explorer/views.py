"""The explorer's pages: thin views over the lower apps' selectors (and explorer.selectors), so every
number on a page is the one the API serves, and each section links to the API call behind it."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpResponse, HttpResponsePermanentRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.views import View
from django.views.generic import TemplateView

from geographies import selectors as geo
from geographies.api.views import area_status
from geographies.models import AreaType, ChangeType
from indicators.aggregation import Summary, area_summaries
from indicators.models import Indicator
from levelup_api.core.caching import rendered_once
from levelup_api.core.params import ParameterError
from levelup_api.core.views import LICENCE
from missions import selectors as missions
from missions.api.views import mission_body, mission_queryset
from missions.models import DataStatus, Metric

from . import charts
from . import selectors as explorer
from .formatting import served
from .selectors import area_country

EXAMPLE_AREA = "E06000009"  # Blackpool
ENGLAND = "E92000001"
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


PAGE_CONTENT_TYPE = "text/html; charset=utf-8"


class AreaView(View):
    """`/areas/{code}/`: an area, its place in the hierarchy and its code history, its boundary and
    children on a map, its profile as a spine chart with the data table, sparklines of the trend,
    the missions scorecard, similar areas and the deprivation summaries, with the downloads. A
    fixed number of statements whatever the area (tests/explorer/test_pages.py counts them). The
    page is the same for everyone until the data changes, so it is rendered once per data version
    and kept (levelup_api.core.caching.rendered_once, as the API keeps an area's profile): a repeat
    costs no statement. Only a 200 is kept; a redirect or a 404 is answered afresh each time."""

    def get(self, request, code: str):
        def build() -> bytes | HttpResponse:
            response = self.render_page(request, code)
            return response.content if response.status_code == 200 else response  # only the page is kept

        return rendered_once(f"page:{request.scheme}://{request.get_host()}{request.path}", build, request,
                             content_type=PAGE_CONTENT_TYPE)

    def render_page(self, request, code: str) -> HttpResponse:
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


# -- the missions -------------------------------------------------------------------------------
MISSION_COUNT = 12  # as the API says: missions are numbered 1 to 12
PROGRESS_AREA_TYPE = "LAD"  # the progress and the maps are over the newest vintage of districts
TARGET_KINDS = {
    "every_area_improves": "Every area improves", "gap_narrows": "The gap narrows",
    "national_threshold": "A national threshold", "group_relative_change": "A group's relative change",
    "national_change": "A national change", "coverage_share": "A share covered",
}
LINKS = dict(Metric.Link.choices)
DATA_STATUS = dict(DataStatus.choices)


def _national(latest: dict | None) -> dict | None:
    """England's latest value as mission_body serves it, and whether it is the UK's instead."""
    return None if latest is None else {**latest, "uk": latest["code"] != ENGLAND}


def _target_row(target: dict) -> dict:
    return {**target, "kind_name": TARGET_KINDS.get(target["kind"], target["kind"].replace("_", " ")),
            "data_status_name": DATA_STATUS.get(target["data_status"], target["data_status"])}


class MissionListView(View):
    """`/missions/`: the 12 missions under their four objectives, each with its statement, targets,
    data status and England's latest value per headline metric, as `/api/v1/missions/` serves
    them (the same selectors: missions.api.views.mission_body and national_latest); 4 statements."""

    def get(self, request):
        found = list(mission_queryset().order_by("number"))
        national = missions.national_latest({x.indicator_id for m in found for x in m.metrics.all()})
        objectives: dict[int, dict] = {}
        for m in found:
            body = mission_body(m, national)
            objective = objectives.setdefault(body["objective"]["number"], {**body["objective"], "missions": []})
            objective["missions"].append({
                **body, "api": _api("mission-detail", number=m.number),
                "headline": [{**x, "national": _national(x["national_latest"])} for x in body["metrics"] if x["headline"]],
                "others": [x for x in body["metrics"] if not x["headline"]],
                "targets": [_target_row(t) for t in body["targets"]],
            })
        return render(request, "explorer/missions.html", {
            "objectives": [objectives[k] for k in sorted(objectives)], "count": len(found),
            "api": {"missions": _api("mission-list")},
        })


def mission_not_found_page(request, number: int) -> HttpResponse:
    return render(request, "explorer/mission_not_found.html", {
        "number": number, "count": MISSION_COUNT, "api": _api("mission-detail", number=number),
    }, status=404)


@dataclass
class GapChart:
    indicator: str
    title: str
    target: dict  # the progress target, as the API serves it
    chart: charts.LineChart | None
    unit: str


@dataclass
class SmallMap:
    indicator: str
    title: str
    unit: str
    polarity: str
    period: str
    period_iso: str
    legend: list[charts.Quintile]
    areas: list[dict]  # code, name, path, value, css, borrowed
    with_values: int
    without_values: int
    api: str
    api_csv: str

    @cached_property
    def paths(self) -> str:
        """The map's <path> elements, written here rather than by a template loop (722 paths on
        mission 7's page: a fifth of its rendering time otherwise)."""
        return mark_safe("".join(  # noqa: S308 (every interpolated text is escaped)
            f'<path class="area area--{a["css"]}" d="{escape(a["path"])}" data-code="{escape(a["code"])}"><title>'
            f'{escape(a["name"])}: {served(a["value"]) if a["value"] is not None else "no value"}</title></path>'
            for a in self.areas if a["path"]))

    @property
    def ranked(self) -> list[dict]:
        """The areas with values, highest first: the map's text alternative."""
        return sorted((a for a in self.areas if a["value"] is not None), key=lambda a: (-a["value"], a["code"]))


class MissionView(View):
    """`/missions/{n}/`: a mission's statement, targets and metrics; England's progress on each metric
    over the newest vintage of districts, as `/api/v1/missions/{n}/progress/?area_type=LAD` gives it
    (missions.selectors.mission_progress); the gap between top and bottom areas over time as a line
    chart with its table; and small-multiple maps of the latest district values of each headline
    metric (explorer.selectors.map_sheet, one statement for them all). 11 statements, 10 when no
    headline metric has district values to map (tests/explorer/test_pages.py counts them)."""

    def get(self, request, number: int):
        mission = mission_queryset().filter(number=number).first()
        if mission is None:
            return mission_not_found_page(request, number)
        body = mission_body(mission, missions.national_latest([x.indicator_id for x in mission.metrics.all()]))
        vintage = missions.areas_vintage(vintage=None, type=AreaType.objects.get(code=PROGRESS_AREA_TYPE))
        progress = missions.mission_progress(mission=mission, vintage=vintage)
        units = {x["indicator"]: x["unit"] for x in body["metrics"]}
        indicator_ids = {x.indicator.slug: x.indicator_id for x in mission.metrics.all()}

        statuses = {(m["indicator"], t["kind"], t["description"]): t for m in progress["metrics"] for t in m["targets"]}
        targets = [_target_row({**t, "status": statuses.get((t["indicator"], t["kind"], t["description"]), {}).get(
            "status")}) for t in body["targets"]]
        gaps = [GapChart(indicator=m["indicator"], title=m["title"], target=t, unit=units.get(m["indicator"], ""),
                         chart=charts.line_chart([(g["period"], g["gap"]) for g in t["gap_series"]]))
                for m in progress["metrics"] for t in m["targets"] if "gap_series" in t]

        mapped = [m for m in progress["metrics"] if m["headline"] and m["latest"]]
        sheet = explorer.map_sheet(vintage=vintage, layers=[(indicator_ids[m["indicator"]], m["latest"]["period_iso"])
                                                            for m in mapped]) if mapped else None
        maps = []
        for n, m in enumerate(mapped):
            values = [a.values[n] for a in sheet.areas if a.values[n] is not None]
            legend, classes = charts.quintiles(values, m["polarity"])
            query = {"indicator": m["indicator"], "vintage": vintage.code, "period": m["latest"]["period_iso"]}
            maps.append(SmallMap(
                indicator=m["indicator"], title=m["title"], unit=units.get(m["indicator"], ""), polarity=m["polarity"],
                period=m["latest"]["period"], period_iso=m["latest"]["period_iso"], legend=legend,
                areas=[{"code": a.code, "name": a.name, "path": a.path, "borrowed": a.borrowed, "value": a.values[n],
                        "css": classes[a.values[n]] if a.values[n] is not None else "none"} for a in sheet.areas],
                with_values=len(values), without_values=len(sheet.areas) - len(values),
                api=_api("observation-list", query), api_csv=_api("observation-list", {**query, "format": "csv"})))
        national = {x["indicator"]: _national(x["national_latest"]) for x in body["metrics"]}
        glance = [{**m, "national": national.get(m["indicator"]), "targets": [_target_row(t) for t in m["targets"]]}
                  for m in progress["metrics"] if m["headline"]]
        progress_api = _api("mission-progress", {"area_type": PROGRESS_AREA_TYPE}, number=number)
        return render(request, "explorer/mission.html", {
            "mission": body, "targets": targets, "progress": progress, "glance": glance, "gaps": gaps, "maps": maps,
            "map_box": sheet.view_box if sheet else None,
            "map_undrawn": [a for a in sheet.areas if not a.path] if sheet else [],
            "map_borrowed": [a for a in sheet.areas if a.borrowed] if sheet else [],
            "unmapped": [m for m in progress["metrics"] if m["headline"] and not m["latest"]],
            "metrics": [{**x, "national": _national(x["national_latest"]), "link_name": LINKS.get(x["link"], x["link"])}
                        for x in body["metrics"]],
            "previous": number - 1 if number > 1 else None, "next": number + 1 if number < MISSION_COUNT else None,
            "vintage": vintage,
            "area_href": reverse("area-page", kwargs={"code": "-"})[:-2],  # "/areas/": + code + "/" per district
            "api": {"mission": _api("mission-detail", number=number), "missions": _api("mission-list"),
                    "progress": progress_api,
                    "progress_csv": _api("mission-progress", {"area_type": PROGRESS_AREA_TYPE, "format": "csv"},
                                         number=number)},
        })


# -- the map explorer -----------------------------------------------------------------------------
# Imported here, beside the one view that uses them (the top of the module is the other pages').
import json  # noqa: E402
import math  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402

from geographies.api.views import area_list_items  # noqa: E402
from geographies.models import Area  # noqa: E402
from indicators import tiles as tile_store  # noqa: E402
from indicators.api.tiles import legend_body  # noqa: E402

EXPLORE_TYPE = "LAD"  # the map opens on the newest district vintage with boundaries
# The indicator a map opens on: the first of these with values for the type, else the one with most areas.
EXPLORE_INDICATORS = ("gross-median-weekly-pay", "iod2025-imd-score", "gdhi-per-head")
EXPLORE_ROWS = 10  # the text alternative lists the 10 worst and the 10 best (or lowest and highest)
# Up to this many areas `within` draws only its own (their codes go to the page and into a MapLibre
# `match`); beyond, a country's LSOAs, the map draws every area, fitted to it, and the tables are its.
WITHIN_FILTER_MAX = 10_000
# Outlines drawn over the map, from the plain tiles of each type's newest vintage: the types larger
# than the map's own (LSOAs get districts, regions and countries; districts regions and countries).
OUTLINE_TYPES = ("LAD", "RGN", "CTRY")
# The source's maxzoom by type level: beyond it MapLibre overzooms the last tiles (each tile is
# simplified to half a pixel at its zoom: two zooms over is a pixel or two, and saves requests).
TILE_MAXZOOM = [(10, 14), (20, 13), (50, 12), (1000, 10)]
OUTLINE_MAXZOOM = {"LAD": 11, "RGN": 9, "CTRY": 8}
# The national map's box, by the countries the type covers (its GSS entity codes' first letters):
# constants, not an extent over the boundaries (35,672 LSOA geometries read for four numbers).
COUNTRY_BOUNDS = {"E": (-6.42, 49.86, 1.77, 55.81), "W": (-5.67, 51.37, -2.65, 53.44),
                  "S": (-8.65, 54.63, -0.72, 60.86), "N": (-8.18, 53.99, -5.43, 55.31)}
UK_BOUNDS = (-8.65, 49.86, 1.77, 60.86)
TYPE_PLURALS = {"LSOA": "LSOAs", "MSOA": "MSOAs", "LAD": "local authority districts",
                "UTLA": "upper-tier local authorities", "CTY": "counties", "CAUTH": "combined authorities",
                "RGN": "regions", "CTRY": "countries"}
VIEW_LIMITS = {"z": (0.0, 22.0), "lat": (-85.0, 85.0), "lon": (-180.0, 180.0)}
PALETTE_NAMES = {"v": "viridis (dark = worst, yellow = best)", "b": "blues (light = lowest, dark = highest)"}


class ExploreProblem(Exception):
    """A parameter the page cannot show: an HTML 404 (unknown code) or 400 (malformed), with the pickers."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def _view_number(query, name: str) -> float | None:
    raw = query.get(name, "").strip()
    if not raw:
        return None
    low, high = VIEW_LIMITS[name]
    try:
        value = float(raw)
    except ValueError:
        raise ExploreProblem(400, f"{name}={raw[:40]!r} is not a number ({name} is from {low:g} to {high:g}).") from None
    if not (math.isfinite(value) and low <= value <= high):
        raise ExploreProblem(400, f"{name}={raw[:40]!r} is out of range: {name} is from {low:g} to {high:g}.")
    return value


def _plural(vintage: explorer.ExploreVintage) -> str:
    return TYPE_PLURALS.get(vintage.type, f"areas of type {vintage.type_name.lower()}")


def _bounds(vintage: explorer.ExploreVintage) -> tuple[float, float, float, float]:
    boxes = [COUNTRY_BOUNDS[c] for c in sorted({e[:1] for e in vintage.entity_codes}) if c in COUNTRY_BOUNDS]
    if not boxes:
        return UK_BOUNDS
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def _default_vintage(mappable: list[explorer.ExploreVintage]) -> explorer.ExploreVintage | None:
    return next((v for v in mappable if v.type == EXPLORE_TYPE), mappable[0] if mappable else None)


def _default_indicator(indicators: list[explorer.ExploreIndicator]) -> explorer.ExploreIndicator | None:
    by_slug = {i.slug: i for i in indicators}
    preferred = next((by_slug[s] for s in EXPLORE_INDICATORS if s in by_slug), None)
    return preferred or max(indicators, key=lambda i: (i.areas, i.slug), default=None)


def _class_of(value: float, classes: tile_store.TileClasses) -> int:
    """The tiles' class of a value (indicators.tiles CLASS_SQL: 1 + the number of cuts below its key)."""
    key = classes.sign * value
    return 1 + sum(1 for cut in classes.cuts if cut < key)


class ExploreView(View):
    """`/explore/`: a MapLibre map of any indicator on any vintage with boundaries and data, drawn
    from the API's vector tiles (`/api/v1/tiles/{vintage}/...`, outlines from the plain tiles of the
    larger types), with the legend of `legend.json` (the same document, made by the same function),
    the pickers, a search box, and as its text alternative the 10 worst and best areas (the API's
    observations) with the CSV of them all. Its state is its query string (indicator, period,
    vintage, within, z/lat/lon), so a view can be linked; explore.js swaps in the page's own HTML
    for a new state. A fixed number of statements: 3, and 5 within an area (tests/explorer/test_explore.py)."""

    template_name = "explorer/explore.html"

    def get(self, request):
        vintages, type_names = explorer.explore_vintages()
        mappable = [v for v in vintages if v.data]
        try:
            return self.page(request, vintages, mappable, type_names)
        except ExploreProblem as problem:
            vintage = _default_vintage(mappable)
            indicators = explorer.explore_indicators(area_type=vintage.type) if vintage else []
            indicator = _default_indicator(indicators)
            return render(request, self.template_name, {
                "problem": problem.message, "vintages": self.vintage_groups(mappable), "vintage": vintage,
                "indicators": self.indicator_groups(indicators), "indicator": indicator, "period": "",
                "periods": indicator.periods if indicator else [], "type_names_json": json.dumps(type_names),
                "indicator_count": len(indicators), "plural": _plural(vintage) if vintage else "",
                "api": {"areas": _api("area-list"), "vintages": _api("vintage-list"), "indicators": _api("indicator-list")},
            }, status=problem.status)

    @staticmethod
    def vintage_groups(mappable: list[explorer.ExploreVintage]) -> list[tuple[str, list]]:
        groups: dict[str, list] = {}
        for v in mappable:
            groups.setdefault(v.type_name, []).append(v)
        return list(groups.items())

    @staticmethod
    def indicator_groups(indicators: list[explorer.ExploreIndicator]) -> list[tuple[str, list]]:
        groups: dict[str, list] = {}
        for i in indicators:
            groups.setdefault(_topic(i.topics), []).append(i)
        return sorted(groups.items())

    def page(self, request, vintages, mappable, type_names):
        query = request.GET
        view = {name: _view_number(query, name) for name in VIEW_LIMITS}
        notices: list[str] = []

        code = query.get("vintage", "").strip().upper()
        vintage = next((v for v in mappable if v.code == code), None) if code else _default_vintage(mappable)
        if vintage is None:
            known = next((v for v in vintages if v.code == code), None)
            choices = ", ".join(v.code for v in mappable)
            if known is not None:
                raise ExploreProblem(400, f"No indicator has values for {_plural(known)} yet, so {known.code} cannot "
                                          f"be mapped; vintages with boundaries and data: {choices}.")
            raise ExploreProblem(404, f"No vintage {code[:20]!r} with boundaries; vintages with boundaries and data: "
                                      f"{choices}.")
        indicators = explorer.explore_indicators(area_type=vintage.type)
        by_slug = {i.slug: i for i in indicators}
        default = _default_indicator(indicators)
        slug = query.get("indicator", "").strip().lower()
        indicator = by_slug.get(slug) if slug else default
        if indicator is None:
            found = Indicator.objects.filter(slug=slug).values_list("title", flat=True).first()
            if found is None:
                raise ExploreProblem(404, f"No indicator {slug[:80]!r}; the list below has those with values for "
                                          f"{_plural(vintage)}, and /api/v1/indicators/ every one.")
            notices.append(f"{found} has no values for {_plural(vintage)}: showing {default.title} instead.")
            indicator = default

        asked = query.get("period", "").strip()
        period = None
        if asked and asked.lower() != "latest":
            period = next((p.iso for p in indicator.periods if asked in (p.iso, p.label)), None)
            if period is None:
                notices.append(f"{indicator.title} has no values for {_plural(vintage)} in {asked[:40]!r}: showing "
                               f"its latest period.")
        tile_vintage = tile_store.tile_vintage(code=vintage.code)
        classes = None
        for candidate, token in ((indicator, period), (indicator, None), (default, None)):
            try:
                classes = tile_store.tile_classes(vintage=tile_vintage, indicator=candidate.slug, period=token)
            except ParameterError:
                if candidate is default and token is None:
                    raise ExploreProblem(400, f"No indicator has values for the areas of {vintage.code}.") from None
                continue
            if candidate is not indicator:
                notices.append(f"{indicator.title} has no values for the areas of {vintage.code}: showing "
                               f"{default.title} instead.")
                indicator = candidate
            elif token != period:
                notices.append(f"{indicator.title} has no values for the areas of {vintage.code} in that period: "
                               f"showing its latest.")
            period = token
            break

        within_code = query.get("within", "").strip().upper()
        within = within_area = None
        if within_code:
            within_area = Area.objects.select_related("area_type").filter(code=within_code).first()
            if within_area is None:
                raise ExploreProblem(404, f"No area with code {within_code[:20]!r} to show the map within; search "
                                          f"for one below.")
            within = explorer.explore_within(area=within_area, vintage=tile_vintage)
            if not within.codes:
                notices.append(f"{within_area.name} holds no {_plural(vintage)} of {vintage.code}: showing them all.")
                within = within_area = None

        extremes = explorer.explore_extremes(indicator_id=classes.indicator_id, period_id=classes.period_id,
                                             vintage=tile_vintage, parent=within_area, n=EXPLORE_ROWS)
        legend = legend_body(request, tile_vintage, classes)
        return render(request, self.template_name, self.context(
            request, vintages=vintages, mappable=mappable, type_names=type_names, vintage=vintage,
            indicators=indicators, indicator=indicator, period=period, classes=classes, legend=legend,
            within_area=within_area, within=within, extremes=extremes, view=view, notices=notices))

    def context(self, request, *, vintages, mappable, type_names, vintage, indicators, indicator, period, classes,
                legend, within_area, within, extremes, view, notices) -> dict:
        state = {"indicator": indicator.slug, "period": period or "", "vintage": vintage.code,
                 "within": within_area.code if within_area else ""}
        observations = {"indicator": classes.slug, "vintage": vintage.code, "period": classes.period_iso}
        if within_area:
            observations["parent"] = within_area.code
        palette = "b" if classes.polarity == Indicator.Polarity.NEUTRAL else "v"
        polar = palette == "v"
        ends = ("worst", "best") if polar else ("lowest", "highest")
        bands = [{"number": c["class"], "css": f"{palette}{classes.classes}-{c['class']}", "low": c["min"],
                  "high": c["max"], "areas": c["areas"],
                  "end": ends[0] if c["class"] == 1 else ends[1] if c["class"] == classes.classes else ""}
                 for c in legend["classes"]]

        def rows(found: list[explorer.ExploreRow]) -> list[dict]:
            return [{"row": r, "class": (n := _class_of(r.value, classes)),
                     "css": f"{palette}{classes.classes}-{n}"} for r in found]

        low, high = extremes.lowest, extremes.highest
        worst_first = classes.polarity == Indicator.Polarity.LOWER_IS_BETTER  # class 1 holds the highest values
        if extremes.areas <= 2 * EXPLORE_ROWS:
            everything = sorted({r.code: r for r in low + high}.values(), key=lambda r: (r.value, r.code))
            tables = [{"key": "all", "title": f"All {extremes.areas} {_plural(vintage)}, {ends[0]} first",
                       "rows": rows(everything[::-1] if worst_first else everything)}]
        else:
            first, last = (high, low) if worst_first else (low, high)
            tables = [{"key": ends[0], "title": f"The {len(first)} {ends[0]}", "rows": rows(first)},
                      {"key": ends[1], "title": f"The {len(last)} {ends[1]}", "rows": rows(last)}]

        outlines = []
        for kind in OUTLINE_TYPES:
            newest = next((v for v in vintages if v.type == kind), None)
            if newest is not None and newest.level > vintage.level:
                outlines.append({"type": kind, "vintage": newest.code, "maxzoom": OUTLINE_MAXZOOM[kind],
                                 "tiles": reverse("tile-legend", kwargs={"vintage": newest.code})
                                 .removesuffix("legend.json") + "{z}/{x}/{y}.mvt"})
        tiles = urlsplit(legend["tiles"])
        filtered = within is not None and len(within.codes) <= WITHIN_FILTER_MAX
        where = f" in {within_area.name}" if within_area else ""
        heading = f"{classes.title}, {classes.period}: {_plural(vintage)}{where} ({vintage.code})"
        page_query = {k: v for k, v in state.items() if v}
        search = None
        q = query_text = request.GET.get("q", "").strip()[:80]
        if q:
            found = area_list_items(geo.area_list_rows(geo.area_search_ranked(geo.area_base(), q=q)[:10]))
            levels = {t: info["level"] for t, info in type_names.items()}
            search = [{**a, "type_name": type_names.get(a["type"], {}).get("name", a["type"]),
                       "within": (f"{reverse('explore-page')}?{urlencode({**page_query, 'within': a['code']})}"
                                  if levels.get(a["type"], 0) > vintage.level else None)} for a in found]
        map_config = {
            "tiles": tiles.path + "?" + tiles.query, "maxzoom": next(z for top, z in TILE_MAXZOOM if vintage.level <= top),
            "vintage": vintage.code, "type": vintage.type, "level": vintage.level, "plural": _plural(vintage),
            "classes": classes.classes,
            "method": legend["method"], "polarity": classes.polarity, "unit": classes.unit,
            "unit_symbol": classes.unit_symbol, "title": classes.title, "period": classes.period,
            "outlines": outlines, "bounds": list(within.bounds if within and within.bounds else _bounds(vintage)),
            "within": {"code": within_area.code, "name": within_area.name,
                       "boundary": _api("area-boundary", {"simplify": 0.0003}, code=within_area.code)}
            if within_area else None,
            "view": [view["z"], view["lat"], view["lon"]] if view["z"] is not None else None,
            "url": f"{reverse('explore-page')}?{urlencode(page_query)}",
            "label": f"Map of {heading}. Arrow keys pan, plus and minus zoom, Enter opens the area at the centre.",
        }
        return {
            "vintages": self.vintage_groups(mappable), "vintage": vintage, "plural": _plural(vintage),
            "indicators": self.indicator_groups(indicators), "indicator": indicator, "period": period or "",
            "periods": indicator.periods, "classes": classes, "legend": legend, "bands": bands, "palette": palette,
            "palette_name": PALETTE_NAMES[palette], "polar": polar, "ends": ends, "tables": tables,
            "extremes": extremes, "within_area": within_area, "within": within, "notices": notices,
            "heading": heading, "map": map_config, "within_filtered": filtered,
            "within_codes": " ".join(within.codes) if filtered else "",
            "map_json": json.dumps(map_config), "type_names_json": json.dumps(type_names),
            "indicator_count": len(indicators), "state": state, "q": query_text, "search": search,
            "national_url": f"{reverse('explore-page')}?{urlencode({k: v for k, v in page_query.items() if k != 'within'})}",
            "api": {
                "observations": _api("observation-list", observations),
                "csv": _api("observation-list", {**observations, "format": "csv"}),
                "legend": _api("tile-legend", {"indicator": classes.slug, "period": classes.period_iso},
                               vintage=vintage.code),
                "tiles": tiles.path + "?" + tiles.query,
                "indicator": _api("indicator-detail", slug=classes.slug),
                "areas": _api("area-list"),
                "vintages": _api("vintage-list"), "indicators": _api("indicator-list"),
            },
        }

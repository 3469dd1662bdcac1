"""Reads: area profiles (every indicator for an area, ranked and compared with its region and
nation, with a trend) and mission progress (baseline to latest, areas improving, the gap between
top and bottom areas over time, and a status). The statistics methods themselves are in
missions.statistics; this module reads what feeds them."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator

from django.conf import settings
from psycopg import sql

from geographies.models import Area, AreaAncestor, AreaMembership, AreaType, Vintage
from indicators.current import current_release_ids
from indicators.models import Indicator, Observation
from indicators.precision import derived_places, derived_round
from levelup_api.core.params import ParameterError
from levelup_api.core.prepared import prepared_cursor
from levelup_api.core.replicas import read_connection

from . import statistics as stats
from .models import Metric, Mission, Target
from .profile_facts import LEVEL_SUFFIX
from .statistics import DEFAULT_LEVEL, status_open_sdg

HIGHER = Indicator.Polarity.HIGHER_IS_BETTER
LOWER = Indicator.Polarity.LOWER_IS_BETTER
PROFILE_COLUMNS = [
    "area_code", "area_name", "indicator", "title", "unit", "measure", "polarity", "period", "period_iso", "value",
    "lci", "uci", "status", "rank", "rank_of", "decile", "comparison_method", "comparison_level",
    "region_code", "region_value", "region_comparator_source", "region_coverage", "region_difference",
    "region_comparison",
    "national_code", "national_value", "national_comparator_source", "national_coverage", "national_difference",
    "national_comparison",
    "trend", "trend_method", "trend_points", "missions",
]
# The profile facts (missions.profile_facts builds them), with the names, codes, titles and
# missions joined as they are now; {sfx} picks the 95% or 99.8% comparisons and trend. Ordered as
# the areas were given, then by indicator slug (byte order). One expression per PROFILE_COLUMNS
# entry, in its order: the same list makes the tuples (CSV by COPY) and the JSON objects.
_PROFILE_EXPRESSIONS = [
    "a.code", "{name}", "i.slug", "{title}", "i.unit", "i.measure", "i.polarity", "p.label", "p.iso", "f.value",
    "f.lci", "f.uci", "{status}", "f.rank", "f.rank_of", "f.decile", "f.comparison_method",
    "CASE WHEN f.comparison_method <> '{quintile}' THEN %(level)s::float8 END",
    "ra.code", "f.region_value", "f.region_comparator_source", "f.region_coverage", "f.region_difference",
    "f.region_comparison{sfx}",
    "na.code", "f.national_value", "f.national_comparator_source", "f.national_coverage", "f.national_difference",
    "f.national_comparison{sfx}",
    "f.trend{sfx}", "f.trend_method", "f.trend_points", "{missions}",
]
assert len(_PROFILE_EXPRESSIONS) == len(PROFILE_COLUMNS)
_PROFILE_FROM = """
    FROM {areas}
    JOIN missions_profilefact f ON f.area_id = asked.area_id
    JOIN geographies_area a ON a.id = f.area_id
    JOIN indicators_indicator i ON i.id = f.indicator_id
    JOIN indicators_period p ON p.id = f.period_id
    LEFT JOIN geographies_area ra ON ra.id = f.region_id
    LEFT JOIN geographies_area na ON na.id = f.national_id
"""
_PROFILE_ORDER = 'asked.n, i.slug COLLATE "C"'
_PROFILE_SQL = ("SELECT " + ", ".join(_PROFILE_EXPRESSIONS)
                + _PROFILE_FROM.format(areas="unnest(%(areas)s::bigint[]) WITH ORDINALITY asked(area_id, n)")
                + f" ORDER BY {_PROFILE_ORDER}")
# One area's whole profile document ({"area": {code, name}, "indicators": [...]}) as compact JSON
# text written by PostgreSQL in one statement from the area's code, no row when there is no such
# area: row_to_json keeps the columns' order (PROFILE_COLUMNS') and writes float8 in its shortest
# exact form, as orjson does (a whole number without ".0").
_AREA_PROFILE_DOCUMENT_SQL = (
    """SELECT '{{"area":' || row_to_json(head)::text || ',"indicators":[' || coalesce((
        SELECT string_agg(row_to_json(r)::text, ',' ORDER BY r.indicator COLLATE "C") FROM (SELECT """
    + ", ".join(f"{e} AS {c}" for c, e in zip(PROFILE_COLUMNS, _PROFILE_EXPRESSIONS, strict=True))
    + _PROFILE_FROM.format(areas="(SELECT found.id AS area_id) asked") + """) r), '') || ']}}'
    FROM (SELECT one.id, one.code, one.name FROM geographies_area one WHERE one.code = %(code)s) found,
         LATERAL (SELECT found.code, found.name) head""")
# The numbers of the missions an indicator measures ({indicator}: its id), as GraphQL reads them too.
MISSIONS_OF_SQL = ("ARRAY(SELECT m.number FROM missions_metric mt JOIN missions_mission m ON m.id = mt.mission_id "
                   "WHERE mt.indicator_id = {indicator} ORDER BY m.number)")
_MISSIONS = MISSIONS_OF_SQL.format(indicator="f.indicator_id")


def _profile_sql(level: float, *, csv: bool, template: str = _PROFILE_SQL) -> str:
    # For CSV (COPY): the missions joined by ";", an empty status as an empty cell, and no line
    # break inside a name or title, so that every record is one line.
    return template.format(
        sfx=LEVEL_SUFFIX[level], quintile=stats.QUINTILE,
        name="translate(a.name, E'\\r\\n', '  ')" if csv else "a.name",
        title="translate(i.title, E'\\r\\n', '  ')" if csv else "i.title",
        status="nullif(f.status, '')" if csv else "f.status",
        missions=f"array_to_string({_MISSIONS}, ';')" if csv else _MISSIONS)


def profiles(*, areas: list[Area], level: float = DEFAULT_LEVEL) -> list[dict]:
    """Profile rows for many areas in one indexed read of the profile facts: every indicator with
    a current value for the area, at its latest period, compared with its region and nation at
    `level` (95 or 99.8)."""
    if not areas:
        return []
    with read_connection().cursor() as cursor:
        cursor.execute(_profile_sql(level, csv=False), {"areas": [a.id for a in areas], "level": level})
        return [dict(zip(PROFILE_COLUMNS, row, strict=True)) for row in cursor.fetchall()]


def area_profile_document(*, code: str, level: float = DEFAULT_LEVEL) -> bytes | None:
    """The profile document of the area with this code (its code and name, and its profile rows as
    `profiles` gives them), written as JSON by PostgreSQL in one statement; None for no such area."""
    with prepared_cursor(read_connection()) as cursor:  # planned once per connection
        cursor.execute(_profile_sql(level, csv=False, template=_AREA_PROFILE_DOCUMENT_SQL),
                       {"code": code.strip().upper(), "level": level})
        row = cursor.fetchone()
    return None if row is None else row[0].encode()


def profiles_csv(*, areas: list[Area], level: float = DEFAULT_LEVEL) -> Iterator[bytes]:
    """The same rows as CSV (RFC 4180, a header, CRLF), written by PostgreSQL's COPY and streamed."""
    header = (",".join(PROFILE_COLUMNS) + "\r\n").encode()
    query = sql.SQL("COPY ({}) TO STDOUT WITH (FORMAT csv)").format(sql.SQL(_profile_sql(level, csv=True)))
    with read_connection().cursor() as cursor:
        yield header
        if not areas:
            return
        with cursor.cursor.copy(query, {"areas": [a.id for a in areas], "level": level}) as copy:
            for chunk in copy:
                yield bytes(chunk).replace(b"\n", b"\r\n")


def areas_vintage(*, vintage: Vintage | None, type: AreaType | None) -> Vintage:
    """The vintage of the areas a request asks about: the one named, else the newest of the type
    named (the declarations have already checked that the two agree)."""
    if vintage is not None:
        return vintage
    if type is None:
        raise ParameterError("vintage", "give vintage (e.g. LAD23) or type (e.g. LAD)")
    found = Vintage.objects.select_related("area_type").filter(area_type=type).order_by("-effective_from").first()
    if found is None:
        raise ParameterError("type", f"no vintage of {type.code} is loaded")
    return found


def area_profile(*, area: Area, level: float = DEFAULT_LEVEL) -> list[dict]:
    return profiles(areas=[area], level=level)


def profile_areas(*, parent: Area, vintage: Vintage) -> list[Area]:
    """The areas of `vintage` below `parent`, by code."""
    ids = AreaAncestor.objects.filter(ancestor=parent, descendant_vintage=vintage).values("descendant_id")
    return list(Area.objects.filter(id__in=ids).order_by("code"))


# -- mission progress ---------------------------------------------------------------------------
def _gap(values: list[float], kind: str) -> float | None:
    if len(values) < 2:
        return None
    values = sorted(values)
    if kind == Target.Gap.DECILE_MEANS:
        k = max(1, len(values) // 10)
        return sum(values[-k:]) / k - sum(values[:k]) / k
    return values[-1] - values[0]


def mission_progress(*, mission: Mission, vintage: Vintage) -> dict:
    """For each metric of the mission with values on `vintage`'s areas: baseline and latest,
    areas improving, the gap series over a consistent set of areas, and each target's status."""
    baseline_from = dt.date.fromisoformat(settings.LEVELUP["MISSION_BASELINE_FROM"])
    members = set(AreaMembership.objects.filter(vintage=vintage).values_list("area_id", flat=True))
    metrics = list(mission.metrics.select_related("indicator").order_by("-headline", "indicator__slug"))
    targets = defaultdict(list)
    for target in mission.targets.all():
        targets[target.metric_id].append(target)
    rows = (Observation.objects.filter(indicator_id__in=[m.indicator_id for m in metrics],
                                   release_id__in=current_release_ids([m.indicator_id for m in metrics]),
                                       area_id__in=members, value__isnull=False)
            .values_list("indicator_id", "area_id", "period_id", "value", "period__iso", "period__label",
                         "period__start", "period__end"))
    series: dict[int, dict[int, dict[int, float]]] = defaultdict(lambda: defaultdict(dict))
    periods: dict[int, tuple[str, str, dt.date, dt.date]] = {}
    for ind, area, per, value, iso, label, start, end in rows:
        series[ind][per][area] = value
        periods[per] = (iso, label, start, end)
    national = _national_values(mission, metrics)
    out = []
    for metric in metrics:
        indicator = metric.indicator
        by_period = series.get(indicator.id, {})
        ordered = sorted(by_period, key=lambda p: (periods[p][3], periods[p][2]))
        entry = {"indicator": indicator.slug, "title": indicator.title, "headline": metric.headline,
                 "link": metric.link, "polarity": indicator.polarity, "areas": None, "baseline": None,
                 "latest": None, "national_change": None, "national_direction": None, "targets": []}
        if ordered:
            base = next((p for p in ordered if periods[p][2] >= baseline_from), ordered[0])
            last = ordered[-1]
            common = set(by_period[base]) & set(by_period[last])
            improving = sum(1 for a in common if _better(by_period[last][a], by_period[base][a], indicator.polarity))
            entry["areas"] = {"with_values_latest": len(by_period[last]), "compared": len(common),
                              "improving": improving if indicator.polarity in (HIGHER, LOWER) else None,
                              "share_improving": (round(improving / len(common), 4)
                                                  if common and indicator.polarity in (HIGHER, LOWER) else None)}
            entry["baseline"] = _point(periods[base], national.get((indicator.id, base)))
            entry["latest"] = _point(periods[last], national.get((indicator.id, last)))
            b, n = entry["baseline"]["national_value"], entry["latest"]["national_value"]
            if None not in (b, n) and base != last:
                entry["national_change"] = derived_round(n - b, derived_places(decimal_places=indicator.decimal_places))
                entry["national_direction"] = ("better" if _better(n, b, indicator.polarity) else
                                               "worse" if _better(b, n, indicator.polarity) else "no change")
        for target in targets.get(metric.id, []):
            entry["targets"].append(_target_progress(target, indicator, by_period, ordered, periods, national))
        out.append(entry)
    unmeasured = [{"kind": t.kind, "description": t.description, "data_status": t.data_status, "data_note": t.data_note}
                  for t in targets.get(None, [])]
    return {"mission": mission.number, "vintage": vintage.code, "area_type": vintage.area_type.code,
            "baseline_from": baseline_from.isoformat(), "metrics": out, "targets_without_metric": unmeasured}


def _better(new: float, old: float, polarity: str) -> bool:
    return new > old if polarity == HIGHER else new < old if polarity == LOWER else False


def _point(period: tuple, national: tuple[str, float] | None) -> dict:
    iso, label, start, end = period
    return {"period": label, "period_iso": iso, "national_code": national[0] if national else None,
            "national_value": national[1] if national else None}


def _national_values(mission: Mission, metrics: list[Metric]) -> dict[tuple[int, int], tuple[str, float]]:
    """England's value per indicator and period (the UK's where England has none)."""
    out = {}
    for ind, per, code, value in (Observation.objects.filter(
            indicator_id__in=[m.indicator_id for m in metrics],
            release_id__in=current_release_ids([m.indicator_id for m in metrics]), area__code__in=["K02000001", "E92000001"],
            value__isnull=False).values_list("indicator_id", "period_id", "area__code", "value").order_by("-area__code")):
        out[ind, per] = (code, value)  # K02 comes first, so England's value, when there is one, wins
    return out


def _target_progress(target: Target, indicator: Indicator, by_period, ordered, periods, national) -> dict:
    result = {"kind": target.kind, "description": target.description, "value": target.value, "unit": target.unit,
              "target_year": target.target_year, "data_status": target.data_status, "data_note": target.data_note}
    if target.kind == Target.Kind.GAP_NARROWS and ordered:
        # The same areas every period: those with a value in all of them.
        common = set.intersection(*(set(by_period[p]) for p in ordered))
        result["gap_definition"] = target.get_gap_display()
        result["gap_areas"] = len(common)
        places = derived_places(decimal_places=indicator.decimal_places)
        result["gap_series"] = [{"period": periods[p][1], "period_iso": periods[p][0],
                                 "gap": derived_round(_gap([by_period[p][a] for a in common], target.gap), places)}
                                for p in ordered]
        gaps = [g["gap"] for g in result["gap_series"] if g["gap"] is not None]
        result["status"] = ("not assessable" if len(gaps) < 2 else "narrowing" if gaps[-1] < gaps[0]
                            else "widening" if gaps[-1] > gaps[0] else "unchanged")
    elif ordered and target.kind in (Target.Kind.NATIONAL_THRESHOLD, Target.Kind.NATIONAL_CHANGE):
        first, last = ordered[0], ordered[-1]
        base, now = national.get((indicator.id, first)), national.get((indicator.id, last))
        years = (periods[last][2] - periods[first][2]).days / 365.25
        goal = target.value if target.kind == Target.Kind.NATIONAL_THRESHOLD else (
            base[1] + target.value if base and target.value is not None else None)
        remaining = target.target_year - periods[last][2].year
        result["status"] = (status_open_sdg(baseline=base[1], latest=now[1], years=years, target=goal,
                                            target_years=years + remaining, polarity=indicator.polarity)
                            if base and now and first != last else "not assessable")
        result["status_method"] = "Open SDG: compound annual growth rate achieved against the rate needed"
    else:
        result["status"] = "not assessable" if not ordered or len(ordered) < 2 else None
    return result


# -- an area's scorecard and its statistical neighbours -----------------------------------------
def area_scorecard(*, area: Area) -> list[dict]:
    """Each mission's metrics for one area: baseline (first period on or after the configured date)
    and latest value, the change and whether it is for the better, and England's latest value."""
    baseline_from = dt.date.fromisoformat(settings.LEVELUP["MISSION_BASELINE_FROM"])
    missions = list(Mission.objects.prefetch_related("metrics__indicator").order_by("number"))
    indicator_ids = {m.indicator_id for mission in missions for m in mission.metrics.all()}
    series: dict[int, list[tuple]] = defaultdict(list)
    for ind, value, label, start in (
            Observation.objects.filter(indicator_id__in=indicator_ids, area=area,
                                       release_id__in=current_release_ids(indicator_ids), value__isnull=False)
            .values_list("indicator_id", "value", "period__label", "period__start")
            .order_by("period__end", "period__start")):
        series[ind].append((value, label, start))
    national = national_latest(indicator_ids)
    out = []
    for mission in missions:
        metrics = []
        for metric in mission.metrics.all():
            points = series.get(metric.indicator_id, [])
            if not points:
                continue
            base = next((p for p in points if p[2] >= baseline_from), points[0])
            last = points[-1]
            polarity = metric.indicator.polarity
            change = (derived_round(last[0] - base[0], derived_places(decimal_places=metric.indicator.decimal_places))
                      if last is not base else None)
            metrics.append({
                "indicator": metric.indicator.slug, "headline": metric.headline, "polarity": polarity,
                "baseline_period": base[1], "baseline_value": base[0], "latest_period": last[1],
                "latest_value": last[0], "change": change, "national": national.get(metric.indicator_id),
                "direction": (None if change is None or polarity not in (HIGHER, LOWER) else
                              "better" if _better(last[0], base[0], polarity) else
                              "no change" if change == 0 else "worse"),
            })
        out.append({"mission": mission.number, "short_name": mission.short_name, "metrics": metrics,
                    "data": "available" if metrics else "none for this area"})
    return out


def national_latest(indicator_ids) -> dict[int, dict]:
    """Each indicator's latest value for England, or for the UK where England has none."""
    out: dict[int, dict] = {}
    rows = (Observation.objects.filter(indicator_id__in=indicator_ids, area__code__in=["E92000001", "K02000001"],
                                       release_id__in=current_release_ids(indicator_ids), value__isnull=False)
            .order_by("indicator_id", "-area__code", "period__end", "period__start")
            .values_list("indicator_id", "area__code", "period__label", "value"))
    for ind, code, label, value in rows:  # per indicator: the UK's rows, then England's, oldest first
        out[ind] = {"code": code, "period": label, "value": value}
    return out


def area_similar(*, area: Area, indicators: list[Indicator], n: int = 10) -> tuple[list[Indicator], list[dict]]:
    """The `n` areas of the same type nearest to `area` on the indicators' latest values for it,
    each indicator standardised (z-scores across the areas with values for all of them), by
    Euclidean distance. Areas missing any of the indicators are left out."""
    latest = {}
    for ind, per in (Observation.objects.filter(area=area, indicator__in=indicators,
                                                release_id__in=current_release_ids([i.id for i in indicators]),
                                                value__isnull=False)
                     .order_by("indicator_id", "-period__end").distinct("indicator_id")
                     .values_list("indicator_id", "period_id")):
        latest[ind] = per
    used = [i for i in indicators if i.id in latest]
    if not used:
        raise ParameterError("indicators", f"{area.code} has no values for these indicators")
    values: dict[int, dict[int, float]] = defaultdict(dict)
    rows = Observation.objects.filter(indicator_id__in=latest, period_id__in=set(latest.values()),
                                      release_id__in=current_release_ids(list(latest)),
                                      value__isnull=False, area__area_type_id=area.area_type_id)
    for area_id, ind, per, value in rows.values_list("area_id", "indicator_id", "period_id", "value"):
        if latest[ind] == per:
            values[area_id][ind] = value
    complete = {a: v for a, v in values.items() if len(v) == len(used)}
    stats = {}
    for ind in latest:
        column = [v[ind] for v in complete.values()]
        mean = sum(column) / len(column)
        sd = (sum((x - mean) ** 2 for x in column) / len(column)) ** 0.5
        stats[ind] = (mean, sd or 1.0)
    me = complete.get(area.id)
    if me is None:
        raise ParameterError("indicators", f"{area.code} lacks a value for some of these indicators")
    distances = sorted(
        (sum(((v[i] - me[i]) / stats[i][1]) ** 2 for i in latest) ** 0.5, a) for a, v in complete.items() if a != area.id)
    nearest = distances[:n]
    names = {i: (c, nm) for i, c, nm in Area.objects.filter(id__in=[a for _, a in nearest]).values_list("id", "code",
                                                                                                       "name")}
    slugs = {i.id: i.slug for i in used}
    return used, [{"area_code": names[a][0], "area_name": names[a][1], "distance": round(d, 6),
                   "values": {slugs[i]: complete[a][i] for i in latest}} for d, a in nearest]

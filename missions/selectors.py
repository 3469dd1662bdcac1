"""Reads: area profiles (every indicator for an area, ranked and compared with its region and
nation, with a trend) and mission progress (baseline to latest, areas improving, the gap between
top and bottom areas over time, and a status)."""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches

from geographies.models import Area, AreaAncestor, AreaMembership, AreaType, Vintage
from indicators.models import Indicator, Observation
from levelup_api.core.caching import data_version
from levelup_api.core.params import ParameterError

from .models import Metric, Mission, Target

HIGHER = Indicator.Polarity.HIGHER_IS_BETTER
LOWER = Indicator.Polarity.LOWER_IS_BETTER
TREND_POINTS = 5
PROFILE_COLUMNS = [
    "area_code", "area_name", "indicator", "title", "unit", "polarity", "period", "period_iso", "value", "lci", "uci",
    "status", "rank", "rank_of", "decile", "region_code", "region_value", "region_difference", "region_comparison",
    "national_code", "national_value", "national_difference", "national_comparison", "trend", "trend_points",
    "missions",
]


# The one parameter error (levelup_api.core.params); this name is kept for the callers that catch it.
ProfileError = ParameterError


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


def compare(value: float | None, lci: float | None, uci: float | None, benchmark: float | None, polarity: str) -> str:
    """Fingertips' method: the area's 95% confidence interval against the benchmark's value.
    `similar` when the interval contains it; otherwise better or worse by polarity."""
    if value is None or benchmark is None:
        return "no comparator value"
    if polarity not in (HIGHER, LOWER):
        return "not compared: no polarity"
    if lci is None or uci is None:
        return "not compared: no confidence interval"
    if lci <= benchmark <= uci:
        return "similar"
    higher = lci > benchmark
    return "better" if higher == (polarity == HIGHER) else "worse"


def trend(points: list[tuple[float, float | None, float | None]], polarity: str) -> str:
    """Direction over the last points (oldest first), up to five. With confidence intervals at both
    ends: a change only when the first and last intervals do not overlap. Without: only when every
    step goes the same way (Mann-Kendall's S at its maximum). Fewer than three points: not enough."""
    if len(points) < 3:
        return "not enough data"
    (_, l0, u0), (_, l1, u1) = points[0], points[-1]
    if None not in (l0, u0, l1, u1):
        moved = 1 if l1 > u0 else -1 if u1 < l0 else 0
    else:
        steps = [b[0] - a[0] for a, b in zip(points, points[1:], strict=False)]
        moved = 1 if all(s > 0 for s in steps) else -1 if all(s < 0 for s in steps) else 0
    if moved == 0:
        return "no significant change"
    direction = "increasing" if moved > 0 else "decreasing"
    if polarity == HIGHER:
        return f"{direction}, getting {'better' if moved > 0 else 'worse'}"
    if polarity == LOWER:
        return f"{direction}, getting {'worse' if moved > 0 else 'better'}"
    return direction


def _benchmarks(area_ids: list[int]) -> dict[int, dict[str, int]]:
    """Each area's region and nation (England, Wales, ...; the UK where there is no nation)."""
    out: dict[int, dict[str, int]] = defaultdict(dict)
    rows = (AreaAncestor.objects.filter(descendant_id__in=area_ids, ancestor_vintage__area_type__code__in=["RGN", "CTRY",
                                                                                                          "UK"])
            .values_list("descendant_id", "ancestor_id", "ancestor_vintage__area_type__code").distinct())
    for area, ancestor, kind in rows:
        key = {"RGN": "region", "CTRY": "national", "UK": "uk"}[kind]
        out[area].setdefault(key, ancestor)
    for links in out.values():
        links.setdefault("national", links.get("uk"))
    return out


@dataclass
class _Obs:
    period_id: int
    iso: str
    label: str
    end: dt.date
    value: float | None
    lci: float | None
    uci: float | None
    status: str
    rank: int | None
    rank_of: int | None


def profiles(*, areas: list[Area]) -> list[dict]:
    """Profile rows for many areas in a fixed number of queries: every indicator with a current
    value for the area, at its latest period."""
    if not areas:
        return []
    bench = _benchmarks([a.id for a in areas])
    comparator_ids = {i for links in bench.values() for i in links.values() if i}
    by_area: dict[int, dict[int, list[_Obs]]] = defaultdict(lambda: defaultdict(list))
    for row in (Observation.objects.filter(area_id__in={a.id for a in areas} | comparator_ids, is_current=True)
                .values_list("area_id", "indicator_id", "period_id", "period__iso", "period__label", "period__end",
                             "value", "lci", "uci", "status", "rank", "rank_of")
                .order_by("area_id", "indicator_id", "period__end", "period__start")):
        by_area[row[0]][row[1]].append(_Obs(*row[2:]))
    # Only the fields a row shows, and no default ordering (it would join for nothing).
    indicators = {i.id: i for i in Indicator.objects.filter(id__in={k for a in areas for k in by_area[a.id]})
                  .only("id", "slug", "title", "unit", "polarity").order_by()}
    missions: dict[int, list[int]] = defaultdict(list)
    for ind, number in (Metric.objects.filter(indicator_id__in=indicators).order_by()
                        .values_list("indicator_id", "mission__number")):
        missions[ind].append(number)
    codes = dict(Area.objects.filter(id__in=comparator_ids).order_by().values_list("id", "code"))
    out = []
    for area in areas:
        links = bench.get(area.id, {})
        for ind_id, series in sorted(by_area[area.id].items(), key=lambda kv: indicators[kv[0]].slug):
            indicator = indicators[ind_id]
            latest = series[-1]
            row = {
                "area_code": area.code, "area_name": area.name, "indicator": indicator.slug, "title": indicator.title,
                "unit": indicator.unit, "polarity": indicator.polarity, "period": latest.label,
                "period_iso": latest.iso, "value": latest.value, "lci": latest.lci, "uci": latest.uci,
                "status": latest.status, "rank": latest.rank, "rank_of": latest.rank_of,
                "decile": math.ceil(10 * latest.rank / latest.rank_of) if latest.rank and latest.rank_of else None,
            }
            for key in ("region", "national"):
                comparator = links.get(key)
                match = next((o for o in by_area[comparator].get(ind_id, []) if o.period_id == latest.period_id),
                             None) if comparator else None
                bench_value = match.value if match else None
                row[f"{key}_code"] = codes.get(comparator)
                row[f"{key}_value"] = bench_value
                row[f"{key}_difference"] = (latest.value - bench_value if None not in (latest.value, bench_value)
                                            else None)
                row[f"{key}_comparison"] = compare(latest.value, latest.lci, latest.uci, bench_value, indicator.polarity)
            recent = [(o.value, o.lci, o.uci) for o in series if o.value is not None][-TREND_POINTS:]
            row["trend"], row["trend_points"] = trend(recent, indicator.polarity), len(recent)
            row["missions"] = sorted(missions.get(ind_id, []))
            out.append(row)
    return out


def cached_profiles(*, areas: list[Area]) -> list[dict]:
    """`profiles()`, each area's rows kept in the process's profile cache for the current data
    version (levelup_api.core.caching.data_version: a load or a curator's edit starts a new one, so
    nothing stale is served); only the areas not cached are computed, in one batch."""
    if not settings.LEVELUP["PROFILE_CACHE"] or not areas:
        return profiles(areas=areas)
    cache, version = caches["profiles"], data_version()
    keys = {area.id: f"profile:{version!r}:{area.id}" for area in areas}
    found = cache.get_many(list(keys.values()))
    missing = [area for area in areas if keys[area.id] not in found]
    computed: dict[str, list[dict]] = defaultdict(list)
    for row in profiles(areas=missing):
        computed[row["area_code"]].append(row)
    cache.set_many({keys[area.id]: computed[area.code] for area in missing})
    return [row for area in areas
            for row in (found[keys[area.id]] if keys[area.id] in found else computed[area.code])]


def area_profile(*, area: Area) -> list[dict]:
    return cached_profiles(areas=[area])


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


def status_open_sdg(*, baseline: float, latest: float, years: float, target: float | None, target_years: float,
                    polarity: str) -> str:
    """Open SDG's progress measure: the compound annual growth rate achieved since the baseline,
    against the rate needed to reach the target by the target year (or, without a target value,
    the direction by polarity)."""
    if years <= 0 or baseline in (None, 0) or latest is None or baseline * latest <= 0:
        return "not assessable"
    achieved = (latest / baseline) ** (1 / years) - 1
    if target is None:
        good = achieved > 0 if polarity != LOWER else achieved < 0
        return "improving" if good and achieved != 0 else "deteriorating" if achieved != 0 else "no change"
    if target_years <= 0 or target * baseline <= 0:
        return "not assessable"
    needed = (target / baseline) ** (1 / target_years) - 1
    if needed == 0:
        return "on track" if achieved == 0 else "deteriorating"
    ratio = achieved / needed
    if ratio >= 0.95:
        return "on track"
    if ratio >= 0.5:
        return "needs acceleration"
    if ratio > 0:
        return "limited progress"
    return "deteriorating"


def mission_progress(*, mission: Mission, vintage: Vintage) -> dict:
    """For each metric of the mission with values on `vintage`'s areas: baseline and latest,
    areas improving, the gap series over a consistent set of areas, and each target's status."""
    baseline_from = dt.date.fromisoformat(settings.LEVELUP["MISSION_BASELINE_FROM"])
    members = set(AreaMembership.objects.filter(vintage=vintage).values_list("area_id", flat=True))
    metrics = list(mission.metrics.select_related("indicator").order_by("-headline", "indicator__slug"))
    targets = defaultdict(list)
    for target in mission.targets.all():
        targets[target.metric_id].append(target)
    rows = (Observation.objects.filter(indicator_id__in=[m.indicator_id for m in metrics], is_current=True,
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
                entry["national_change"] = n - b
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
            indicator_id__in=[m.indicator_id for m in metrics], is_current=True, area__code__in=["K02000001", "E92000001"],
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
        result["gap_series"] = [{"period": periods[p][1], "period_iso": periods[p][0],
                                 "gap": _gap([by_period[p][a] for a in common], target.gap)} for p in ordered]
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
            Observation.objects.filter(indicator_id__in=indicator_ids, area=area, is_current=True, value__isnull=False)
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
            change = last[0] - base[0] if last is not base else None
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
                                       is_current=True, value__isnull=False)
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
    for ind, per in (Observation.objects.filter(area=area, indicator__in=indicators, is_current=True,
                                                value__isnull=False)
                     .order_by("indicator_id", "-period__end").distinct("indicator_id")
                     .values_list("indicator_id", "period_id")):
        latest[ind] = per
    used = [i for i in indicators if i.id in latest]
    if not used:
        raise ProfileError("indicators", f"{area.code} has no values for these indicators")
    values: dict[int, dict[int, float]] = defaultdict(dict)
    rows = Observation.objects.filter(indicator_id__in=latest, period_id__in=set(latest.values()), is_current=True,
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
        raise ProfileError("indicators", f"{area.code} lacks a value for some of these indicators")
    distances = sorted(
        (sum(((v[i] - me[i]) / stats[i][1]) ** 2 for i in latest) ** 0.5, a) for a, v in complete.items() if a != area.id)
    nearest = distances[:n]
    names = {i: (c, nm) for i, c, nm in Area.objects.filter(id__in=[a for _, a in nearest]).values_list("id", "code",
                                                                                                       "name")}
    slugs = {i.id: i.slug for i in used}
    return used, [{"area_code": names[a][0], "area_name": names[a][1], "distance": round(d, 6),
                   "values": {slugs[i]: complete[a][i] for i in latest}} for d, a in nearest]

"""Reads: observations expressed on one boundary vintage. Published values pass through; an area
of the vintage without a published value gets one converted from its predecessors in the code
history (a merger such as Cumberland from Allerdale, Carlisle and Copeland), combined by the
indicator's aggregation rule, flagged, and with its inputs on request."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.conf import settings
from django.db.models import F

from geographies.models import Area, AreaAncestor, AreaChange, AreaMembership, ChangeType, Vintage

from .current import current_release_ids
from .models import Indicator, Observation, Period
from .precision import derived_places, derived_round
from .selectors import OBSERVATION_COLUMNS, observation_base, observation_filter, observation_rows

A = Indicator.Aggregation
COLUMNS = [*OBSERVATION_COLUMNS, "flag", "method", "weight_indicator", "weight_period", "reason"]


def _targets(*, vintage: Vintage, areas: list[str], parent: Area | None) -> dict[int, tuple[str, str]]:
    """The vintage's areas (within the filters), by id: (code, name)."""
    qs = AreaMembership.objects.filter(vintage=vintage)
    if areas:
        qs = qs.filter(area__code__in=areas)
    if parent is not None:
        qs = qs.filter(area_id__in=AreaAncestor.objects.filter(ancestor=parent, descendant_vintage=vintage)
                       .values("descendant_id"))
    return {a: (c, n) for a, c, n in qs.values_list("area_id", "area__code", "area__name")}


def _weights(indicators: dict[int, Indicator], areas: set[int]) -> dict[int, list[tuple[int, int, float]]]:
    """Candidate weights per area: (weight indicator id, period id, value) from each indicator's own
    weight and the configured population series, in one query."""
    slugs = settings.LEVELUP["CONVERSION_WEIGHTS"]
    ids = {i.weight_indicator_id for i in indicators.values() if i.weight_indicator_id}
    ids |= set(Indicator.objects.filter(slug__in=slugs).values_list("id", flat=True))
    out: dict[int, list[tuple[int, int, float]]] = defaultdict(list)
    for area_id, ind, per, value in (Observation.objects.filter(indicator_id__in=ids, area_id__in=areas, release_id__in=current_release_ids(ids),
                                                                value__isnull=False)
                                     .values_list("area_id", "indicator_id", "period_id", "value")):
        out[area_id].append((ind, per, value))
    return out


def _choose_weight(indicator: Indicator, inputs: list[int], weights, periods: dict[int, Period],
                   order: list[int], when: dt.date) -> tuple[int, int, dict[int, float]] | None:
    """The first candidate weight (the indicator's own, then the configured populations) that has a
    value for every input area in one period, taking the period nearest `when`."""
    for ind in order:
        common: set[int] | None = None
        for area in inputs:
            have = {per for i, per, _ in weights.get(area, ()) if i == ind}
            common = have if common is None else common & have
        if common:
            per = min(common, key=lambda p: abs((periods[p].start - when).days))
            return ind, per, {area: next(v for i, p, v in weights[area] if i == ind and p == per) for area in inputs}
    return None


def observation_harmonised(
    *, indicators: list[str], areas: list[str], vintage: Vintage, parent: Area | None = None,
    periods: list[str] = (), period_from: dt.date | None = None, period_to: dt.date | None = None,
    explain: bool = False,
) -> list[dict]:
    """Every requested value on `vintage`: published where it exists, converted otherwise."""
    published = observation_filter(observation_base(), indicators=indicators, areas=areas, vintage=vintage,
                                   parent=parent, periods=periods, period_from=period_from, period_to=period_to)
    rows = [{**dict(zip(OBSERVATION_COLUMNS, r[:9], strict=True)), "flag": "published", "method": None,
             "weight_indicator": None, "weight_period": None, "reason": None, "_key": (r[10], r[9], r[11])}
            for r in observation_rows(published)]
    have = {row.pop("_key") for row in rows}  # (period, indicator, area)
    targets = _targets(vintage=vintage, areas=areas, parent=parent)
    changes: dict[int, list[int]] = defaultdict(list)
    split: dict[int, str] = {}
    # A code carried over unchanged (most LSOAs from 2011 to 2021) is the same area: its values are
    # published ones already.
    for successor, predecessor, kind in (AreaChange.objects.filter(successor_id__in=targets)
                                         .exclude(predecessor_id=F("successor_id"))
                                         .values_list("successor_id", "predecessor_id", "change_type")):
        changes[successor].append(predecessor)
        if kind in (ChangeType.SPLIT, ChangeType.IRREGULAR):
            split[successor] = ChangeType.IRREGULAR if split.get(successor) == ChangeType.IRREGULAR else kind
    if changes:
        rows += _converted(indicators=indicators, periods=periods, period_from=period_from, period_to=period_to,
                           targets=targets, changes=changes, split=split, have=have, explain=explain)
    rows.sort(key=lambda r: (r["indicator"], r["period_iso"], r["area_code"]))
    return rows


def _converted(*, indicators, periods, period_from, period_to, targets, changes, split, have, explain) -> list[dict]:
    predecessors = {p for ps in changes.values() for p in ps}
    inputs_qs = observation_filter(observation_base().filter(area_id__in=predecessors), indicators=indicators,
                                   periods=periods, period_from=period_from, period_to=period_to)
    values: dict[tuple[int, int], dict[int, float | None]] = defaultdict(dict)  # (indicator, period) -> area -> v
    for area_id, ind, per, value in inputs_qs.values_list("area_id", "indicator_id", "period_id", "value"):
        values[ind, per][area_id] = value
    if not values:
        return []
    metas = {i.id: i for i in Indicator.objects.filter(id__in={k[0] for k in values})}
    # A split predecessor's parts (LSOA 2011 E01000001 into two LSOA 2021s): counts are shared out
    # by the parts' populations, so those are fetched with the predecessors' weights.
    parts: dict[int, list[int]] = defaultdict(list)
    for predecessor, successor in AreaChange.objects.filter(
            predecessor_id__in={changes[t][0] for t, kind in split.items() if kind == ChangeType.SPLIT},
            change_type=ChangeType.SPLIT).values_list("predecessor_id", "successor_id"):
        parts[predecessor].append(successor)
    weights = _weights(metas, predecessors | {s for ss in parts.values() for s in ss})
    period_ids = {k[1] for k in values} | {p for ws in weights.values() for _, p, _ in ws}
    period_by_id = {p.id: p for p in Period.objects.filter(id__in=period_ids)}
    population = list(Indicator.objects.filter(slug__in=settings.LEVELUP["CONVERSION_WEIGHTS"]).values_list("slug", "id"))
    population_ids = [i for s in settings.LEVELUP["CONVERSION_WEIGHTS"] for slug, i in population if slug == s]
    names = dict(Indicator.objects.filter(id__in={*metas, *population_ids, *(m.weight_indicator_id for m in metas.values()
                                                                             if m.weight_indicator_id)})
                 .values_list("id", "slug"))
    area_names = {a: (c, n) for a, c, n in Area.objects.filter(id__in=predecessors).values_list("id", "code", "name")}
    out = []
    for (ind_id, per_id), by_area in values.items():
        indicator, period = metas[ind_id], period_by_id[per_id]
        for target, preds in changes.items():
            if (per_id, ind_id, target) in have or not any(p in by_area for p in preds):
                continue
            code, name = targets[target]
            row = {"area_code": code, "area_name": name, "indicator": indicator.slug, "period": period.label,
                   "period_iso": period.iso, "value": None, "lci": None, "uci": None, "status": "",
                   "flag": "converted", "method": indicator.aggregation, "weight_indicator": None, "weight_period": None}
            missing = [area_names[p][0] for p in preds if by_area.get(p) is None]
            chosen = None
            if target in split:
                row["flag"] = "apportioned"
                chosen = _apportion(row, indicator, target, preds, split[target], by_area, parts, weights,
                                    period_by_id, population_ids, period, names)
            elif len(preds) == 1 and by_area.get(preds[0]) is not None:
                row["value"], row["method"] = by_area[preds[0]], "same value under the new code"
            elif indicator.aggregation not in (A.SUM, A.WEIGHTED_MEAN):
                row["reason"] = f"{indicator.slug} is {indicator.aggregation.replace('_', ' ')}: predecessors' values " \
                                "cannot be combined"
            elif missing:
                row["reason"] = f"no value for predecessor(s) {', '.join(missing)}"
            elif indicator.aggregation == A.SUM:
                row["value"] = sum(by_area[p] for p in preds)
            else:
                order = ([indicator.weight_indicator_id] if indicator.weight_indicator_id else []) + population_ids
                chosen = _choose_weight(indicator, preds, weights, period_by_id, order, period.start)
                if chosen is None:
                    row["reason"] = "no population weight covers every predecessor"
                else:
                    w_ind, w_per, w = chosen
                    total = sum(w.values())
                    row["value"] = sum(by_area[p] * w[p] for p in preds) / total
                    row["weight_indicator"], row["weight_period"] = names[w_ind], period_by_id[w_per].iso
            if row["method"] != "same value under the new code":  # computed here: rounded once (precision.py)
                row["value"] = derived_round(row["value"], derived_places(decimal_places=indicator.decimal_places))
            if explain:
                row["inputs"] = [{"area_code": area_names[p][0], "area_name": area_names[p][1],
                                  "value": by_area.get(p), "weight": chosen[2].get(p) if chosen else None}
                                 for p in sorted(preds, key=lambda p: area_names[p][0])]
            row.setdefault("reason", None)
            out.append(row)
    return out



def area_series(*, area: Area, indicator: Indicator, vintage: Vintage | None = None,
                explain: bool = False) -> tuple[Vintage, list[dict]]:
    """One continuous series for an area on one vintage (default: the newest of its own type that
    holds it): every period of the indicator, published or converted, oldest first."""
    from geographies.selectors import area_default_vintage

    from .selectors import ObservationQueryError

    default = vintage is None
    vintage = vintage or area_default_vintage(area=area)  # (a vintage that holds the area, or None)
    if vintage is None or not default and not AreaMembership.objects.filter(area=area, vintage=vintage).exists():
        held = ", ".join(area.memberships.values_list("vintage__code", flat=True).order_by("vintage__effective_from"))
        raise ObservationQueryError("vintage", f"{area.code} is not in {vintage.code if vintage else 'any vintage'}"
                                               f"{'; it is in ' + held if held else ''}")
    rows = observation_harmonised(indicators=[indicator.slug], areas=[area.code], vintage=vintage, explain=explain)
    rows.sort(key=lambda r: r["period_iso"])
    return vintage, [{k: v for k, v in r.items() if k not in ("area_code", "area_name", "indicator")} for r in rows]


def _apportion(row, indicator, target, preds, kind, by_area, parts, weights, period_by_id, population_ids, period,
               names):
    """A part of a split predecessor: a rate, score or category applies to each part as it did to
    the whole; a count is shared out by the parts' populations. Irregular changes are refused."""
    if kind != ChangeType.SPLIT or len(preds) != 1:
        row["reason"] = "an irregular boundary change (many to many): no conversion"
        return None
    (whole,) = preds
    value = by_area.get(whole)
    if value is None:
        row["reason"] = "no value for the predecessor"
        return None
    if indicator.aggregation in (A.WEIGHTED_MEAN, A.SHARE_IN_CATEGORY):
        row["value"], row["method"] = value, "same value as the split predecessor"
        return None
    if indicator.aggregation != A.SUM:
        row["reason"] = f"{indicator.slug} is {indicator.aggregation.replace('_', ' ')}: a part's value cannot be derived"
        return None
    siblings = parts.get(whole, [])
    chosen = _choose_weight(indicator, siblings, weights, period_by_id, population_ids, period.start)
    if chosen is None or target not in chosen[2]:
        row["reason"] = "no population covers every part of the split predecessor"
        return None
    w_ind, w_per, w = chosen
    row["value"] = value * w[target] / sum(w.values())
    row["method"] = "sum shared by population"
    row["weight_indicator"], row["weight_period"] = names.get(w_ind), period_by_id[w_per].iso
    return w_ind, w_per, {whole: w[target]}

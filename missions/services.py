"""Writes for missions: load the fixture (objectives, missions, metrics, targets) and derive each
target's data status from what is loaded."""

from __future__ import annotations

import tomllib

from django.conf import settings
from django.db import transaction
from django.db.models import Count

from indicators.models import Coverage, Indicator

from .models import DataStatus, Metric, Mission, Objective, Target

FIXTURE = settings.LEVELUP["FIXTURES_DIR"] / "missions" / "missions.toml"


class MissionsFixtureError(ValueError):
    pass


@transaction.atomic
def missions_load(*, path=FIXTURE) -> dict[str, int]:
    """Create what the fixture lists and is missing; what curators changed in the admin stays.
    Indicators must be loaded first (metrics name them by slug)."""
    doc = tomllib.loads(path.read_text("utf-8"))
    counts = {"objectives": 0, "missions": 0, "metrics": 0, "targets": 0}
    slugs = {m["indicator"] for ms in doc["missions"] for m in ms.get("metrics", [])}
    indicators = {i.slug: i for i in Indicator.objects.filter(slug__in=slugs)}
    missing = sorted(slugs - set(indicators))
    if missing:
        raise MissionsFixtureError(f"{path.name}: unknown indicator(s) {', '.join(missing)}; load indicators first")
    objectives = {}
    for o in doc["objectives"]:
        objectives[o["number"]], created = Objective.objects.get_or_create(number=o["number"],
                                                                           defaults={"name": o["name"]})
        counts["objectives"] += created
    for m in doc["missions"]:
        mission, created = Mission.objects.get_or_create(number=m["number"], defaults={
            "objective": objectives[m["objective"]], "short_name": m["short_name"], "statement": m["statement"],
            "source_url": doc["source_url"], "capitals": m.get("capitals", []),
            "target_year": m.get("target_year", 2030), "data_note": m.get("data_note", "")})
        counts["missions"] += created
        metrics = {}
        for spec in m.get("metrics", []):
            metrics[spec["indicator"]], created = Metric.objects.get_or_create(
                mission=mission, indicator=indicators[spec["indicator"]],
                defaults={"headline": spec.get("headline", False),
                          "link": Metric.Link.ONS_TAG if spec["link"] == "ons" else Metric.Link.SUGGESTED})
            counts["metrics"] += created
        if not mission.targets.exists():
            for t in m.get("targets", []):
                Target.objects.create(
                    mission=mission, metric=metrics.get(t.get("metric")), kind=t["kind"], description=t["description"],
                    value=t.get("value"), unit=t.get("unit", ""), gap=t.get("gap", ""),
                    target_year=t.get("target_year", m.get("target_year", 2030)), data_note=t.get("data_note", ""))
                counts["targets"] += 1
    counts["data_status_changed"] = targets_data_status_rebuild()
    return counts


def targets_data_status_rebuild() -> int:
    """available: the metric has values for two or more periods (progress can be assessed);
    partial: one period only; none: no metric, or no values."""
    periods = dict(Coverage.objects.values("indicator_id").annotate(n=Count("period_id", distinct=True))
                   .values_list("indicator_id", "n"))
    changed = 0
    for target in Target.objects.select_related("metric"):
        n = periods.get(target.metric.indicator_id, 0) if target.metric else 0
        status = DataStatus.AVAILABLE if n >= 2 else DataStatus.PARTIAL if n == 1 else DataStatus.NONE
        if status != target.data_status:
            target.data_status = status
            target.save(update_fields=["data_status"])
            changed += 1
    return changed

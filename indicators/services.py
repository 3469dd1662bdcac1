"""Writes for indicators: loading every source file as a release."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction

from levelup_api.core.ingest import (
    LoadReport,
    SourceOutcome,
    run_source,
    sources_run,
    sources_select,
)
from levelup_api.core.models import IngestRun

from . import partitions
from .bulk import bulk_after_change
from .current import current_changed, current_forget
from .ingest.loader import REPLACED_MARK, IndicatorLoader
from .ingest.spec import IndicatorSource, sources_all
from .models import Dataset, Indicator, Release
from .signals import indicators_changed

DATASET = "indicators"
log = logging.getLogger(__name__)


def release_load(spec: IndicatorSource, data_dir: Path, *, state: str = "published",
                 files: bool = True) -> IndicatorLoader:
    """Load one file as a release of its dataset (in the caller's transaction), make the newest
    published release current, and, once committed, retire what it replaced (and, with `files`,
    write the dataset's bulk files)."""
    loader = IndicatorLoader(spec, data_dir, state=state)
    try:
        loader.load()
        if release_currency_set(dataset_id=loader.release.dataset_id, files=files):
            loader.add("made_current", 1)
    except BaseException:
        current_forget()  # what this transaction read as current was never committed
        raise
    dataset_id, replaced = loader.release.dataset_id, loader.replaced
    transaction.on_commit(lambda: releases_retire(dataset_id=dataset_id, replaced=replaced))
    return loader


def _load_one(spec: IndicatorSource, data_dir: Path):
    loader = release_load(spec, data_dir, files=False)
    return loader.rows_read, loader.counts


def indicator_rules_changed(*, indicator: Indicator) -> None:
    """A curator saved the indicator (its polarity, measure, rule, weight or places may have
    changed what is derived from its values)."""
    _changed(Indicator.objects.filter(pk=indicator.pk))


def _changed(indicators) -> None:
    """Announce, inside the current transaction, that these indicators' values or rules changed."""
    ids = list(indicators.values_list("id", flat=True))
    if ids:
        indicators_changed.send(sender=Indicator, indicator_ids=ids)


def indicators_load(
    *, data_dir: Path, only: list[str] | None = None, dry_run: bool = False, force: bool = False,
    progress: Callable[[SourceOutcome], None] | None = None,
) -> LoadReport:
    """Load every indicator source (each file a release, in its own transaction), stopping at the
    first failure. Geographies must be loaded first: codes resolve against every vintage."""
    specs = sources_select(sources_all(data_dir), only)
    report, committed = sources_run(
        dataset=DATASET, sources=specs, dry_run=dry_run, progress=progress,
        run_one=lambda spec: run_source(
            dataset=DATASET, name=spec.name, file=spec.file, path=spec.path(data_dir), spec_bytes=spec.spec_bytes,
            load=lambda: _load_one(spec, data_dir), dry_run=dry_run, force=force),
    )
    if not committed:
        return report
    weights_resolve(specs=sources_all(data_dir))
    if any(o.counts.get("areas_created") for o in report.outcomes):
        from geographies.services import derived_rebuild

        report.derived = derived_rebuild()  # names, dates and counts for the areas statistics files added
    if any(o.state == IngestRun.State.SUCCEEDED for o in report.outcomes):
        with connection.cursor() as cursor:
            # (Each new partition was analysed as it was attached.)
            cursor.execute("ANALYZE indicators_period, indicators_indicator")
    # Each file committed in its own transaction: now the bulk files of the datasets loaded, and the
    # snapshot (indicators.bulk; LEVELUP["BULK_ON_LOAD"]).
    loaded = {o.name for o in report.outcomes if o.state == IngestRun.State.SUCCEEDED}
    bulk_after_change(datasets=[spec.dataset for spec in specs if spec.name in loaded])
    return report


def release_currency_set(*, dataset_id: int, files: bool = True) -> bool:
    """Make the newest published release of a dataset (by release date, then load order) its one
    current release; drafts are never current, so the public API cannot see them. It changes at most
    two release rows and no observation: each release is a partition of its own, and reads name the
    current ones (indicators.current). Only when the current release changed are the dataset's
    derived tables rebuilt (coverage here; profile facts through `indicators_changed`; bulk files
    once committed). Returns whether it changed."""
    with transaction.atomic():
        releases = list(Release.objects.select_for_update().filter(dataset_id=dataset_id)
                        .order_by("-release_date", "-id"))
        with connection.cursor() as cursor:
            loaded = partitions.attached_release_ids(cursor)
        newest = next((r for r in releases if r.state == Release.State.PUBLISHED and r.id in loaded), None)
        was = [r for r in releases if r.is_current and r is not newest]
        if not was and (newest is None or newest.is_current):
            return False
        for r in was:  # first, so that the one-current-per-dataset index never sees two
            r.is_current = False
            r.save(update_fields=["is_current"])
        if newest is not None:
            newest.is_current = True
            newest.save(update_fields=["is_current"])
        current_changed()
        with connection.cursor() as cursor:
            cursor.execute("""
                DELETE FROM indicators_coverage
                WHERE indicator_id IN (SELECT id FROM indicators_indicator WHERE dataset_id = %s);
                INSERT INTO indicators_coverage (indicator_id, period_id, area_type_id, areas)
                SELECT o.indicator_id, o.period_id, a.area_type_id, count(*)
                FROM indicators_observation o JOIN geographies_area a ON a.id = o.area_id
                WHERE o.release_id = %s GROUP BY 1, 2, 3
            """, [dataset_id, newest.id if newest else 0])
        _changed(Indicator.objects.filter(dataset_id=dataset_id))
        # Once published (committed): the dataset's bulk files, and the snapshot, for what is current now
        # (a run of loads writes them once, at its end: indicators_load).
        if files and not any(getattr(f, "dataset_id", None) == dataset_id for _, f, _ in connection.run_on_commit):
            transaction.on_commit(_FilesAfter(dataset_id))  # once per dataset and transaction
    return True


class _FilesAfter:
    """Once committed, a dataset's bulk files for what is current now (a callable that names its
    dataset, so that several publishes in one transaction write them once)."""

    def __init__(self, dataset_id: int):
        self.dataset_id = dataset_id

    def __call__(self) -> None:
        bulk_after_change(datasets=Dataset.objects.filter(pk=self.dataset_id).values_list("slug", flat=True))


def release_state_set(*, release: Release, state: str) -> bool:
    """Publish a release, or take it back to draft, and let the newest published one be current."""
    return bool(releases_state_set(releases=[release], state=state))


def releases_state_set(*, releases, state: str) -> set[int]:
    """Publish releases, or take them back to draft (the admin's actions), each a one-row update with
    its history; then, once per dataset, let the newest published release be current (so the derived
    tables of a dataset are rebuilt once, however many of its releases changed). Returns the datasets
    whose current release changed."""
    with transaction.atomic():
        datasets = set()
        for release in releases:
            if release.state != state:
                release.state = state
                release.save(update_fields=["state"])
            datasets.add(release.dataset_id)
        return {d for d in sorted(datasets) if release_currency_set(dataset_id=d)}


def releases_retire(*, dataset_id: int, replaced: list[int] = ()) -> list[int]:
    """Once a load has committed: drop the partitions of releases it replaced (a reload of the same
    label) and, when LEVELUP["RELEASES_KEEP"] is set, of the dataset's releases beyond the newest
    that many (never the current one, nor a draft). Each partition is detached CONCURRENTLY, so
    readers never wait, then dropped, and its release deleted; each is logged. Returns the release
    ids dropped."""
    keep = int(settings.LEVELUP.get("RELEASES_KEEP") or 0)
    # And any a previous run replaced but could not drop yet (partitions.partition_retire).
    ids = list(dict.fromkeys([*replaced, *Release.objects.filter(
        dataset_id=dataset_id, state=Release.State.DRAFT, label__contains=REPLACED_MARK).values_list("id", flat=True)]))
    if keep > 0:
        # Published ones only: a draft waiting to be published is not a release to retire.
        older = (Release.objects.filter(dataset_id=dataset_id, is_current=False, state=Release.State.PUBLISHED)
                 .exclude(id__in=ids)
                 .order_by("-release_date", "-id").values_list("id", flat=True))
        current = Release.objects.filter(dataset_id=dataset_id, is_current=True).exists()
        ids += list(older[max(keep - int(current), 0):])
    dropped = []
    for release_id in ids:
        if not partitions.partition_retire(release_id):
            continue  # readers held it past the wait: the next load's call retires it
        log.info("release %s of dataset %s: partition detached and dropped", release_id, dataset_id)
        Release.objects.filter(id=release_id, is_current=False).delete()
        dropped.append(release_id)
    return dropped


def weights_resolve(*, specs: list[IndicatorSource]) -> int:
    """Point each weighted-mean indicator at the weight its mapping names, once both are loaded
    (the weight may come from a file loaded later). A weight a curator set is left alone."""
    pairs = [(d.slug, d.weight_indicator) for spec in specs for d in spec.indicators if d.weight_indicator]
    if not pairs:
        return 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("""
            UPDATE indicators_indicator i SET weight_indicator_id = w.id
            FROM unnest(%s::text[], %s::text[]) p(slug, weight) JOIN indicators_indicator w ON w.slug = p.weight
            WHERE i.slug = p.slug AND i.weight_indicator_id IS NULL
            RETURNING i.id
        """, [[a for a, _ in pairs], [b for _, b in pairs]])
        changed = [r[0] for r in cursor.fetchall()]
        _changed(Indicator.objects.filter(id__in=changed))
        return len(changed)

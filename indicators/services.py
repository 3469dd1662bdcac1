"""Writes for indicators: loading every source file as a release."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from django.db import connection, transaction

from levelup_api.core.ingest import (
    LoadReport,
    SourceOutcome,
    run_source,
    sources_run,
    sources_select,
)
from levelup_api.core.models import IngestRun

from .bulk import bulk_after_change
from .ingest.loader import IndicatorLoader
from .ingest.spec import IndicatorSource, sources_all
from .models import Dataset, Indicator
from .signals import indicators_changed

DATASET = "indicators"


def _load_one(spec: IndicatorSource, data_dir: Path):
    loader = IndicatorLoader(spec, data_dir)
    counts = loader.load()
    _changed(Indicator.objects.filter(slug__in=[d.slug for d in spec.indicators]))
    return loader.rows_read, counts


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
            cursor.execute("ANALYZE indicators_observation, indicators_period, indicators_indicator")
    # Each file committed in its own transaction: now the bulk files of the datasets loaded, and the
    # snapshot (indicators.bulk; LEVELUP["BULK_ON_LOAD"]).
    loaded = {o.name for o in report.outcomes if o.state == IngestRun.State.SUCCEEDED}
    bulk_after_change(datasets=[spec.dataset for spec in specs if spec.name in loaded])
    return report


def dataset_currency_rebuild(*, dataset_id: int) -> int:
    """Make the newest *published* release of each indicator of a dataset the current one (drafts
    are never current, so the public API cannot see them). Returns rows whose flag changed."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("""
            WITH newest AS (
                SELECT DISTINCT ON (o.indicator_id) o.indicator_id, o.release_id
                FROM (SELECT DISTINCT indicator_id, release_id FROM indicators_observation o
                      JOIN indicators_indicator i ON i.id = o.indicator_id WHERE i.dataset_id = %s) o
                JOIN indicators_release r ON r.id = o.release_id AND r.state = 'published'
                ORDER BY o.indicator_id, r.release_date DESC, r.id DESC
            )
            UPDATE indicators_observation o
            SET is_current = (n.release_id IS NOT NULL AND o.release_id = n.release_id)
            FROM indicators_indicator i LEFT JOIN newest n ON n.indicator_id = i.id
            WHERE i.id = o.indicator_id AND i.dataset_id = %s
              AND o.is_current IS DISTINCT FROM (n.release_id IS NOT NULL AND o.release_id = n.release_id)
        """, [dataset_id, dataset_id])
        changed = cursor.rowcount
        cursor.execute("""
            DELETE FROM indicators_coverage WHERE indicator_id IN (SELECT id FROM indicators_indicator WHERE dataset_id = %s);
            INSERT INTO indicators_coverage (indicator_id, period_id, area_type_id, areas)
            SELECT o.indicator_id, o.period_id, a.area_type_id, count(*)
            FROM indicators_observation o JOIN geographies_area a ON a.id = o.area_id
            JOIN indicators_indicator i ON i.id = o.indicator_id
            WHERE i.dataset_id = %s AND o.is_current GROUP BY 1, 2, 3
        """, [dataset_id, dataset_id])
        _changed(Indicator.objects.filter(dataset_id=dataset_id))
        # Once published (committed): the dataset's bulk files, and the snapshot, for what is current now.
        transaction.on_commit(lambda: bulk_after_change(
            datasets=Dataset.objects.filter(pk=dataset_id).values_list("slug", flat=True)))
    return changed


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

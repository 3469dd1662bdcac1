"""Writes for indicators: loading every source file as a release."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from pathlib import Path

from django.db import connection

from levelup_api.core.ingest import (
    IngestError,
    LoadReport,
    SourceOutcome,
    run_source,
    sources_run,
)
from levelup_api.core.models import IngestRun

from .ingest.loader import IndicatorLoader
from .ingest.spec import IndicatorSource, sources_all

DATASET = "indicators"


def _load_one(spec: IndicatorSource, data_dir: Path):
    loader = IndicatorLoader(spec, data_dir)
    counts = loader.load()
    return loader.rows_read, counts


def indicators_load(
    *, data_dir: Path, only: list[str] | None = None, dry_run: bool = False, force: bool = False,
    progress: Callable[[SourceOutcome], None] | None = None,
) -> LoadReport:
    """Load every indicator source (each file a release, in its own transaction), stopping at the
    first failure. Geographies must be loaded first: codes resolve against every vintage."""
    specs = sources_all(data_dir)
    if only:
        specs = [s for s in specs if any(fnmatch.fnmatch(s.name, pat) for pat in only)]
        if not specs:
            raise IngestError("--only", f"no indicator source matches {', '.join(only)}")
    report, committed = sources_run(
        dataset=DATASET, sources=specs, dry_run=dry_run, progress=progress,
        run_one=lambda spec: run_source(
            dataset=DATASET, name=spec.name, file=spec.file, path=spec.path(data_dir), spec_bytes=spec.spec_bytes,
            load=lambda: _load_one(spec, data_dir), dry_run=dry_run, force=force),
    )
    if not committed:
        return report
    if any(o.counts.get("areas_created") for o in report.outcomes):
        from geographies.services import derived_rebuild

        report.derived = derived_rebuild()  # names, dates and counts for the areas statistics files added
    if any(o.state == IngestRun.State.SUCCEEDED for o in report.outcomes):
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE indicators_observation, indicators_period, indicators_indicator")
    return report

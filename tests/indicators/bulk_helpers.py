"""The bulk files the tests read (the session fixture `written`, tests/conftest.py): IoD 2025, gross
median weekly pay and the national snapshot, written once per session from the test database's real
load into its bulk folder (LEVELUP["BULK_DIR"] of the test settings; the records are committed), and
removed at the end with their records."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SLUGS = ["iod2025", "gross-median-weekly-pay"]


@dataclass
class Written:
    outcomes: dict[str, object]
    files: dict[tuple[str, str], Path]  # (dataset slug or "snapshot", format) -> path
    release_ids: dict[str, int]  # dataset slug -> the release the files are under


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def bulk_files_written(django_db_blocker) -> Iterator[Written]:
    from indicators.bulk import bulk_sweep
    from indicators.models import BulkFile
    from levelup_api.core.models import IngestRun

    with django_db_blocker.unblock():
        before = set(IngestRun.objects.filter(dataset="bulk").values_list("id", flat=True))
    written = bulk_files_current(Written({}, {}, {}), django_db_blocker)
    yield written
    with django_db_blocker.unblock():
        BulkFile.objects.all().delete()
        IngestRun.objects.filter(dataset="bulk").exclude(id__in=before).delete()
        bulk_sweep()


def bulk_files_current(written: Written, django_db_blocker) -> Written:
    """Write (again) what is not current of the session's files, committed, and update `written`
    in place: a module may run after a test that reloaded a dataset as a new release (test_fault_safety
    reloads IoD 2025), whose files then went with the old release. Unchanged file sets are not
    rewritten (bulk_refresh compares their fingerprints), so this costs a second when nothing changed."""
    from indicators.bulk import bulk_path, bulk_refresh
    from indicators.models import BulkFile

    with django_db_blocker.unblock():
        outcomes = {o.name: o for o in bulk_refresh(datasets=SLUGS)}
        assert all(o.state != "failed" for o in outcomes.values()), outcomes
        # The files of the current releases (a release a reload replaced keeps its own until it is
        # dropped, which may wait for a later load: indicators.partitions.partition_retire).
        records = [
            r for r in BulkFile.objects.select_related("dataset", "release")
            if r.dataset is None or (r.dataset.slug in SLUGS and r.release.is_current)
        ]
    written.outcomes = outcomes
    written.files = {(r.dataset.slug if r.dataset else "snapshot", r.format): bulk_path(r) for r in records}
    written.release_ids = {r.dataset.slug: r.release_id for r in records if r.dataset}
    return written

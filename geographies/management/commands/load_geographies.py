"""python manage.py load_geographies [--data-dir DIR] [--only NAME,...] [--dry-run] [--force]"""

import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from geographies.services import geographies_load
from levelup_api.core.ingest import IngestError, outcome_line


class Command(BaseCommand):
    help = "Load geography code lists, lookups, code history and boundaries from LEVELUP_DATA_DIR."

    def add_arguments(self, parser):
        parser.add_argument("--data-dir", type=Path, default=None, help="Defaults to settings.LEVELUP_DATA_DIR.")
        parser.add_argument("--only", default="", help="Comma-separated source names (shell globs allowed).")
        parser.add_argument("--dry-run", action="store_true", help="Validate and count, then roll back.")
        parser.add_argument("--force", action="store_true", help="Reload sources even if unchanged.")

    def handle(self, *args, data_dir=None, only="", dry_run=False, force=False, **options):
        data_dir = (data_dir or settings.LEVELUP_DATA_DIR).resolve()
        if not data_dir.is_dir():
            raise CommandError(f"data directory not found: {data_dir} (set LEVELUP_DATA_DIR)")
        t0 = time.perf_counter()

        def progress(o):
            (self.stderr if o.state == "failed" else self.stdout).write(outcome_line(o, 40))

        self.stdout.write(f"Loading geographies from {data_dir}{' (dry run)' if dry_run else ''}")
        try:
            report = geographies_load(
                data_dir=data_dir, only=[s for s in only.split(",") if s] or None,
                dry_run=dry_run, force=force, progress=progress,
            )
        except IngestError as exc:
            raise CommandError(str(exc)) from None
        for step, info in report.derived.items():
            self.stdout.write(f"  derived {step:<32} {info['rows']:>7} rows  {info['seconds']:6.2f}s")
        if report.failed:
            raise CommandError(f"load failed, database unchanged for that file: {report.failed.error}")
        loaded = sum(o.state == "succeeded" for o in report.outcomes)
        skipped = sum(o.state == "skipped" for o in report.outcomes)
        self.stdout.write(self.style.SUCCESS(
            f"Done in {time.perf_counter() - t0:.1f}s: {loaded} loaded, {skipped} unchanged"
            f"{' (dry run: rolled back)' if dry_run else ''}."))

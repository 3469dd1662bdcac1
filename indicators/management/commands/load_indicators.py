"""python manage.py load_indicators [--data-dir DIR] [--only SOURCE,...] [--dry-run] [--force]"""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from indicators.services import indicators_load
from levelup_api.core.ingest import IngestError, outcome_line


class Command(BaseCommand):
    help = "Load indicator files (each a release) from LEVELUP_DATA_DIR. Load geographies first."

    def add_arguments(self, parser):
        parser.add_argument("--data-dir", type=Path, default=None)
        parser.add_argument("--only", default="", help="Comma-separated source names (shell globs allowed).")
        parser.add_argument("--dry-run", action="store_true")
        parser.add_argument("--force", action="store_true")

    def handle(self, *args, data_dir=None, only="", dry_run=False, force=False, **options):
        data_dir = (data_dir or settings.LEVELUP_DATA_DIR).resolve()

        def progress(o):
            (self.stderr if o.state == "failed" else self.stdout).write(outcome_line(o, 58))

        self.stdout.write(f"Loading indicators from {data_dir}{' (dry run)' if dry_run else ''}")
        try:
            report = indicators_load(data_dir=data_dir, only=[s for s in only.split(",") if s] or None,
                                     dry_run=dry_run, force=force, progress=progress)
        except IngestError as exc:
            raise CommandError(str(exc)) from None
        if report.failed:
            raise CommandError(f"load failed, database unchanged for that file: {report.failed.error}")
        loaded = sum(o.state == "succeeded" for o in report.outcomes)
        self.stdout.write(self.style.SUCCESS(f"Done: {loaded} loaded, {len(report.outcomes) - loaded} unchanged."))

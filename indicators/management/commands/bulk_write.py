"""python manage.py bulk_write [--only SLUG,...] [--no-snapshot] [--force] [--dry-run]"""

from django.core.management.base import BaseCommand, CommandError

from indicators.bulk import SNAPSHOT, bulk_dir, bulk_plans, bulk_refresh


class Command(BaseCommand):
    help = (
        "Write the bulk files (Parquet and gzipped CSV) of every dataset's current release and the national "
        "snapshot, where what they are written from changed (docs/bulk.md)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--only", default="", help="Comma-separated dataset slugs (the snapshot still follows).")
        parser.add_argument("--no-snapshot", action="store_true", help="Leave the national snapshot as it is.")
        parser.add_argument("--force", action="store_true", help="Write even the files that are up to date.")
        parser.add_argument("--dry-run", action="store_true", help="List the file sets; write nothing.")

    def handle(self, *args, only="", no_snapshot=False, force=False, dry_run=False, **options):
        slugs = [s.strip() for s in only.split(",") if s.strip()] or None
        plans = bulk_plans()
        unknown = sorted(set(slugs or []) - {p.name for p in plans})
        if unknown:
            raise CommandError(f"no dataset with current values named {', '.join(unknown)}")
        self.stdout.write(f"Bulk files in {bulk_dir()}{' (dry run)' if dry_run else ''}")
        if dry_run:
            for plan in plans:
                if (plan.name == SNAPSHOT and not no_snapshot) or slugs is None or plan.name in slugs:
                    self.stdout.write(f"  {plan.name:<58} release {plan.release_id}  {plan.fingerprint[:12]}")
            return

        def progress(o):
            if o.state == "failed":
                self.stderr.write(f"  {o.name:<58} FAILED: {o.error}")
            elif o.state == "unchanged":
                self.stdout.write(f"  {o.name:<58} unchanged, skipped")
            else:
                sizes = ", ".join(f"{fmt} {n / 2**20:.1f} MiB" for fmt, n in o.sizes.items())
                self.stdout.write(f"  {o.name:<58} {o.rows:>9} rows  {o.seconds:6.2f}s  {sizes}")

        outcomes = bulk_refresh(datasets=slugs, snapshot=not no_snapshot, force=force, progress=progress)
        failed = [o for o in outcomes if o.state == "failed"]
        if failed:
            raise CommandError(f"{len(failed)} file set(s) not written: {', '.join(o.name for o in failed)}")
        written = sum(o.state == "written" for o in outcomes)
        self.stdout.write(self.style.SUCCESS(f"Done: {written} written, {len(outcomes) - written} unchanged."))

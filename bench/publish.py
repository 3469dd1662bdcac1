"""Publishing and superseding a release at scale, against the issue's target: publishing takes
under 100 ms at 10.7 million rows.

Each release is a partition of `indicators_observation` and currency is a flag on the release row
(indicators.services.release_currency_set): publishing changes at most two release rows and no
observation. Measured on --database (default `levelup_bench`, the 10.7 million rows
bench/observations.py loads; `levelup` is refused), in-process after `django.setup()`:

- Setup (untimed): the dataset --dataset (default: the one whose current release has the most rows)
  gets a second release, a draft dated a day after its newest one, whose partition is a copy of the
  current release's rows made as the loader makes one (indicators.partitions.fresh_create; one
  INSERT … SELECT of the current partition's rows, as the loader copies rows forward;
  partitions.fresh_attach: the two indexes, the bound check, ATTACH, ANALYZE).
- (a) The currency flip alone: the two release-row updates release_currency_set makes
  (`Release.save(update_fields=["is_current"])`, the old current one first, each with its history
  row), in one transaction, timed to its commit; each round flips to the copy and back, both timed.
  This is what the target is about: p50 < 100 ms.
- (b) indicators.services.release_state_set end to end: publish the copy (it supersedes the current
  release), then take it back to draft (the original is current again), each timed from the call to
  its return: the flip, the coverage rebuild, the profile facts and spreads of the dataset's
  indicators (the `indicators_changed` receivers), the commit, and the bulk files written after it
  (LEVELUP["BULK_ON_LOAD"], in this database's folder of BULK_DIR; --no-bulk-files turns them off).
  Reported as what publishing costs in total, with its parts and the time at which the publish is
  visible (its commit, before the bulk files).

Afterwards, also after an error: the copy is taken back to draft, so release_currency_set makes the
original release current again and rebuilds what derives from it; the copy's partition is detached
and dropped and its release row deleted (its bulk-file records with it); bulk-file records the run
made that were not there before are deleted and their files swept. The release history and the
ingest runs of the bulk writes keep their record of the run, so the data version moves on, as after
any publish. A copy left by an interrupted run is removed first.

    .venv/bin/python bench/publish.py [--database levelup_bench] [--dataset SLUG] [--repeat 20]
        [--repeat-publish 3] [--no-bulk-files]

It prints one Markdown section for docs/benchmarks.md; exit status 1 if a flip or publish did not
make the release it should current, or the database was not left as found.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from point_lookup import command_line, cpu_model  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = "levelup_api.settings.base"
PG_SERVER = "postgres@127.0.0.1:5432"
DEFAULT_DATABASE = "levelup_bench"
PROTECTED_DATABASES = {"levelup", "postgres", "template0", "template1", "test_tpl"}
COPY_LABEL = "bench/publish.py: copy of release #"
TARGET_MS = 100.0


def say(message: str) -> None:
    print(f"[publish {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def setup_django(database: str, bulk_files: bool) -> None:
    os.environ["DATABASE_URL"] = f"postgis://{PG_SERVER}/{database}"
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS
    os.environ["LOG_REQUESTS"] = "off"
    if not bulk_files:
        os.environ["LEVELUP_BULK_ON_LOAD"] = "off"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def scalar(query: str, params=None):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchone()[0]


def p50(samples: list[float]) -> float:
    return statistics.median(samples)


# -- the dataset and its second release ----------------------------------------------------------
def dataset_pick(slug: str | None):
    """The dataset asked for, else the one whose current release's partition holds the most rows
    (by the statistics ANALYZE left on it)."""
    from indicators.models import Dataset, Release
    from indicators.partitions import partition_name

    if slug:
        dataset = Dataset.objects.filter(slug=slug).first()
        if dataset is None:
            raise SystemExit(f"no dataset {slug!r}")
    else:
        best = None
        for release in Release.objects.filter(is_current=True).select_related("dataset"):
            rows = scalar("SELECT coalesce((SELECT reltuples FROM pg_class WHERE oid = to_regclass(%s)), 0)",
                          [partition_name(release.id)])
            if best is None or rows > best[0]:
                best = (rows, release.dataset)
        if best is None:
            raise SystemExit("no dataset has a current release: load one first (bench/observations.py)")
        dataset = best[1]
    current = Release.objects.filter(dataset=dataset, is_current=True).first()
    if current is None:
        raise SystemExit(f"dataset {dataset.slug} has no current release")
    return dataset, current


def leftovers_remove(dataset) -> int:
    """Copies left by an interrupted run: back to draft (the rule then makes the newest other
    published release current again), partition dropped, row deleted."""
    from indicators import services
    from indicators.models import Release
    from indicators.partitions import partition_retire

    left = list(Release.objects.filter(dataset=dataset, label__startswith=COPY_LABEL))
    for release in left:
        say(f"removing release #{release.id} left by an earlier run")
        services.release_state_set(release=release, state=Release.State.DRAFT)
        partition_retire(release.id)
        release.delete()
    return len(left)


def copy_make(dataset, current):
    """A draft release dated after the dataset's newest, its partition a copy of the current one's
    rows, made as the loader makes a release's partition."""
    from django.db import connection, transaction

    from indicators import partitions
    from indicators.models import Release

    newest = Release.objects.filter(dataset=dataset).order_by("-release_date").first()
    with transaction.atomic():
        copy = Release.objects.create(
            dataset=dataset, label=f"{COPY_LABEL}{current.id}", release_date=newest.release_date + dt.timedelta(days=1),
            source_url=current.source_url, licence=current.licence, notes="Made and removed by bench/publish.py.",
            state=Release.State.DRAFT)
        with connection.cursor() as cursor:
            table = partitions.fresh_create(cursor, copy.id)
            partitions.rows_copy(cursor, into=table, release_id=copy.id, source=current.id)  # as a loader's copy-forward
            partitions.fresh_attach(cursor, copy.id)
    return copy


def current_id(dataset) -> int | None:
    from indicators.models import Release

    return Release.objects.filter(dataset=dataset, is_current=True).values_list("id", flat=True).first()


# -- (a) the flip alone ---------------------------------------------------------------------------
def flip(old_id: int, new_id: int) -> float:
    """The two release-row updates of release_currency_set, the old current one first, in one
    transaction; seconds to its commit."""
    from django.db import transaction

    from indicators.models import Release

    old, new = Release.objects.get(pk=old_id), Release.objects.get(pk=new_id)  # untimed, as the app has them
    t0 = time.perf_counter()
    with transaction.atomic():
        old.is_current = False
        old.save(update_fields=["is_current"])
        new.is_current = True
        new.save(update_fields=["is_current"])
    return time.perf_counter() - t0


# -- (b) release_state_set end to end -------------------------------------------------------------
class Parts:
    """The parts of one release_state_set call: the `indicators_changed` receivers (profile facts),
    the coverage statement and the bulk files after the commit, by wrapping them in
    indicators.services (and an execute wrapper) for the duration of a call."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def add(self, part: str, seconds: float) -> None:
        self.seconds[part] = self.seconds.get(part, 0.0) + seconds

    def wrap(self, part: str, fn: Callable) -> Callable:
        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.add(part, time.perf_counter() - t0)
        return timed

    def statement(self, execute, query, params, many, context):
        t0 = time.perf_counter()
        try:
            return execute(query, params, many, context)
        finally:
            if re.search(r"\bINSERT INTO indicators_coverage\b", query):
                self.add("coverage", time.perf_counter() - t0)

    @contextmanager
    def attached(self) -> Iterator[None]:
        from django.db import connection

        from indicators import services

        saved = {name: getattr(services, name) for name in ("_changed", "bulk_after_change")}
        services._changed = self.wrap("profile facts", saved["_changed"])
        services.bulk_after_change = self.wrap("bulk files", saved["bulk_after_change"])
        try:
            with connection.execute_wrapper(self.statement):
                yield
        finally:
            for name, fn in saved.items():
                setattr(services, name, fn)


def state_set(release_id: int, state: str) -> dict[str, float]:
    """release_state_set(release, state) from the call to its return; seconds, total and parts."""
    from indicators import services
    from indicators.models import Release

    release = Release.objects.get(pk=release_id)  # untimed: the admin action has it
    parts = Parts()
    with parts.attached():
        t0 = time.perf_counter()
        changed = services.release_state_set(release=release, state=state)
        total = time.perf_counter() - t0
    if not changed:
        raise RuntimeError(f"release_state_set(#{release_id}, {state}) changed no current release")
    out = {"total": total, **parts.seconds}
    out["visible"] = total - parts.seconds.get("bulk files", 0.0)
    out["rest"] = out["visible"] - parts.seconds.get("profile facts", 0.0) - parts.seconds.get("coverage", 0.0)
    return out


# -- the run ----------------------------------------------------------------------------------------
def bulk_keys() -> set[tuple[int | None, str]]:
    from indicators.models import BulkFile

    return set(BulkFile.objects.values_list("release_id", "format"))


def restore(dataset, original_id: int, copy_id: int | None, keys_before: set, bulk_files: bool) -> list[str]:
    """Back as found: the copy a draft (the original current again, its derived tables rebuilt), its
    partition and row gone, the bulk-file records the run added deleted and their files swept."""
    from django.conf import settings

    from indicators import services
    from indicators.bulk import bulk_refresh
    from indicators.current import current_forget
    from indicators.models import BulkFile, Release
    from indicators.partitions import partition_retire

    current_forget()
    problems = []
    if copy_id is not None:
        copy = Release.objects.filter(pk=copy_id).first()
        if copy is not None:  # a draft is never current: the rule makes the original current if it is not
            services.release_state_set(release=copy, state=Release.State.DRAFT)
            partition_retire(copy_id)
            copy.delete()
    if current_id(dataset) != original_id:
        services.release_currency_set(dataset_id=dataset.id)
    if current_id(dataset) != original_id:
        problems.append(f"release #{current_id(dataset)} is current, not #{original_id} as before")
    if bulk_files and settings.LEVELUP["BULK_ON_LOAD"]:
        for record in BulkFile.objects.all():
            if (record.release_id, record.format) not in keys_before:
                record.delete()
        bulk_refresh(datasets=[], snapshot=False)  # writes nothing; sweeps the files no record names
    return problems


def run(args: argparse.Namespace) -> dict:
    from django.conf import settings
    from django.db import connection

    from indicators.current import current_forget
    from indicators.partitions import partition_name

    started = time.perf_counter()
    dataset, original = dataset_pick(args.dataset)
    leftovers = leftovers_remove(dataset)
    dataset.refresh_from_db()
    original = type(original).objects.get(dataset=dataset, is_current=True)
    report: dict = {"command": command_line(), "database": args.database, "dataset": dataset.slug,
                    "original": original.id, "leftovers_removed": leftovers,
                    "bulk_on_load": bool(settings.LEVELUP["BULK_ON_LOAD"])}
    report["rows_as_found"] = scalar("SELECT count(*) FROM indicators_observation")
    report["release_rows"] = scalar(f"SELECT count(*) FROM {partition_name(original.id)}")
    keys_before = bulk_keys()
    copy_id = None
    problems: list[str] = []
    try:
        say(f"copying release #{original.id} of {dataset.slug} ({report['release_rows']:,} rows) into a new partition")
        t0 = time.perf_counter()
        copy = copy_make(dataset, original)
        copy_id = copy.id
        report["copy"] = {"id": copy.id, "seconds": time.perf_counter() - t0}
        report["rows"] = scalar("SELECT count(*) FROM indicators_observation")
        say(f"  release #{copy.id} in {report['copy']['seconds']:.1f} s; {report['rows']:,} rows in the table")
        with connection.cursor() as cursor:
            cursor.execute("SELECT version()")
            report["postgresql"] = cursor.fetchone()[0].split(",")[0]

        say(f"(a) the flip alone: {args.repeat} rounds, to #{copy.id} and back, after 1 untimed round")
        flip(original.id, copy.id)
        flip(copy.id, original.id)
        samples = []
        for _ in range(args.repeat):
            samples.append(flip(original.id, copy.id) * 1000)
            if current_id(dataset) != copy.id:
                problems.append(f"flip: #{copy.id} not current after the flip")
            samples.append(flip(copy.id, original.id) * 1000)
            if current_id(dataset) != original.id:
                problems.append(f"flip: #{original.id} not current after the flip back")
        current_forget()  # the app's flip forgets the current ids too (indicators.current.current_changed)
        report["flip_ms"] = samples

        say(f"(b) release_state_set: {args.repeat_publish} rounds of publish #{copy.id} and back to draft")
        publish, unpublish = [], []
        for _ in range(args.repeat_publish):
            publish.append(state_set(copy.id, "published"))
            if current_id(dataset) != copy.id:
                problems.append(f"publish: #{copy.id} not current after release_state_set(published)")
            unpublish.append(state_set(copy.id, "draft"))
            if current_id(dataset) != original.id:
                problems.append(f"unpublish: #{original.id} not current after release_state_set(draft)")
            say(f"  publish {publish[-1]['total']:.2f} s, back to draft {unpublish[-1]['total']:.2f} s")
        report["publish"], report["unpublish"] = publish, unpublish
    finally:
        say("restoring: the copy back to draft, dropped; bulk-file records the run added removed")
        problems += restore(dataset, original.id, copy_id, keys_before, not args.no_bulk_files)
    report["rows_after"] = scalar("SELECT count(*) FROM indicators_observation")
    if report["rows_after"] != report["rows_as_found"]:
        problems.append(f"{report['rows_after']:,} rows in indicators_observation after, "
                        f"{report['rows_as_found']:,} before")
    report["problems"] = problems
    report["wall_seconds"] = time.perf_counter() - started
    return report


def markdown(report: dict, args: argparse.Namespace) -> str:
    flips = report["flip_ms"]
    flip_p50 = p50(flips)
    lines = [
        f"### Publishing at scale: `{report['dataset']}`, {report['rows']:,} rows in indicators_observation "
        f"({report['rows_as_found']:,} as found, plus the copy)",
        "",
        f"The dataset's current release #{report['original']} ({report['release_rows']:,} rows) and a copy of it, "
        f"release #{report['copy']['id']} (a fresh partition made as the loader makes one, "
        f"{report['copy']['seconds']:.1f} s, not counted), take turns being current.",
        "",
        "| operation | runs | p50 ms | min ms | max ms | target | result |",
        "|---|--:|--:|--:|--:|---|---|",
        f"| (a) the currency flip alone: two release-row updates (`Release.save(update_fields=[\"is_current\"])`, "
        f"old first) in one transaction, to its commit; to the copy and back | {len(flips)} | {flip_p50:.1f} | "
        f"{min(flips):.1f} | {max(flips):.1f} | < {TARGET_MS:g} ms | {'pass' if flip_p50 < TARGET_MS else 'FAIL'} |",
    ]
    for key, what in (("publish", f"publish #{report['copy']['id']} (supersedes #{report['original']})"),
                      ("unpublish", f"#{report['copy']['id']} back to draft (#{report['original']} current again)")):
        totals = [r["total"] * 1000 for r in report[key]]
        lines.append(f"| (b) `release_state_set`: {what}, end to end | {len(totals)} | {p50(totals):,.0f} | "
                     f"{min(totals):,.0f} | {max(totals):,.0f} | total cost (reported) | – |")
    lines += [
        "",
        "Where (b) goes (p50 of each part, ms):",
        "",
        "| call | release rows, commit and Python | coverage rebuild | profile facts and spreads | visible (commit) "
        "| bulk files after commit | total |",
        "|---|--:|--:|--:|--:|--:|--:|",
    ]
    for key in ("publish", "unpublish"):
        runs = report[key]

        def part(name: str, runs=runs) -> str:
            return f"{p50([r.get(name, 0.0) * 1000 for r in runs]):,.0f}"
        bulk = part("bulk files") if report["bulk_on_load"] else "off"
        lines.append(f"| {key} | {part('rest')} | {part('coverage')} | {part('profile facts')} | {part('visible')} | "
                     f"{bulk} | {part('total')} |")
    lines += [
        "",
        f"Left as found: {'yes' if not report['problems'] else 'NO: ' + '; '.join(report['problems'])} "
        f"(the copy dropped; {report['rows_after']:,} rows in indicators_observation after the run).",
        f"Machine: {len(os.sched_getaffinity(0))} CPUs ({cpu_model()}), {report['postgresql']}, "
        f"Python {sys.version.split()[0]}.",
        f"Command: `{report['command']}` (wall time {report['wall_seconds']:.0f} s)",
    ]
    return "\n".join(lines)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default=DEFAULT_DATABASE, help=f"database (default {DEFAULT_DATABASE})")
    parser.add_argument("--dataset", help="dataset slug (default: the one with the biggest current release)")
    parser.add_argument("--repeat", type=int, default=20, help="rounds of (a), two flips each (default 20)")
    parser.add_argument("--repeat-publish", type=int, default=3,
                        help="rounds of (b), a publish and an unpublish each (default 3)")
    parser.add_argument("--no-bulk-files", action="store_true",
                        help="LEVELUP_BULK_ON_LOAD=off: (b) writes no bulk files after its commit")
    args = parser.parse_args(argv)
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", args.database) or args.database in PROTECTED_DATABASES:
        parser.error(f"--database {args.database!r}: use a benchmark database such as {DEFAULT_DATABASE}")
    if args.repeat < 1 or args.repeat_publish < 1:
        parser.error("--repeat and --repeat-publish must be at least 1")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    setup_django(args.database, bulk_files=not args.no_bulk_files)
    report = run(args)
    print(markdown(report, args))
    for line in report["problems"]:
        print(f"  problem: {line}")
    return 1 if report["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())

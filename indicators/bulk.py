"""Bulk files: each dataset's current observations, and the national snapshot of every current
observation, as Parquet (zstd, typed columns) and as gzipped CSV with the same rows, written from one
`COPY ... TO STDOUT` per file set into Arrow record batches (docs/bulk.md).

A file set is written only when what it is written from changed (its fingerprint: the current
release of each indicator, the releases' labels, and the geography its names come from), into a
temporary file that is renamed into place once complete, and recorded (indicators.BulkFile, and an
ingest run, which moves the data version on) in the same transaction as the read: a failed write
leaves no file recorded, and the files it replaces stay until the new ones are."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import os
import queue
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from psycopg import sql

from levelup_api.core.ingest import RunRecorder, file_checksum
from levelup_api.core.models import IngestRun

from .current import current_sql
from .datasets import CURRENT_RELEASE_SQL
from .models import BulkFile

logger = logging.getLogger(__name__)

# Bumped when the files' columns or their contents' rules change, so that every file is written again.
FORMAT_VERSION = 1
RUN_DATASET = "bulk"  # the ingest runs that record the writes
SNAPSHOT = "snapshot"

# The columns, fixed: the Python client (clients/python) reads them by these names and types.
SCHEMA = pa.schema(
    [
        pa.field("indicator", pa.string(), nullable=False),
        pa.field("area_code", pa.string(), nullable=False),
        pa.field("area_name", pa.string(), nullable=False),
        pa.field("area_type", pa.string(), nullable=False),
        pa.field("period", pa.string(), nullable=False),
        pa.field("period_start", pa.date32(), nullable=False),
        pa.field("period_end", pa.date32(), nullable=False),
        pa.field("value", pa.float64()),
        pa.field("lci", pa.float64()),
        pa.field("uci", pa.float64()),
        pa.field("numerator", pa.float64()),
        pa.field("denominator", pa.float64()),
        pa.field("status", pa.string(), nullable=False),
        pa.field("rank", pa.int32()),
        pa.field("rank_of", pa.int32()),
        pa.field("release_id", pa.int32(), nullable=False),
        pa.field("release_label", pa.string(), nullable=False),
        pa.field("dataset", pa.string(), nullable=False),
    ]
)
COLUMNS = SCHEMA.names
# One SQL expression per column, in SCHEMA's order. A blank status is written as an empty field (as
# the API's CSV does), which Arrow reads back as "" (strings are never null here).
_EXPRESSIONS = [
    "i.slug",
    "a.code",
    "a.name",
    "coalesce(t.code, '')",
    "p.iso",
    "p.start",
    'p."end"',
    "o.value",
    "o.lci",
    "o.uci",
    "o.numerator",
    "o.denominator",
    "nullif(o.status, '')",
    "o.rank",
    "o.rank_of",
    "o.release_id",
    "r.label",
    "d.slug",
]
assert len(_EXPRESSIONS) == len(COLUMNS)
# Ordered by indicator, period and area code, in byte order (COLLATE "C": the same order whatever the
# database's locale, and the order DuckDB's ORDER BY gives).
_ROWS_SQL = """
    SELECT {columns}
    FROM indicators_observation o
    JOIN indicators_indicator i ON i.id = o.indicator_id
    JOIN indicators_dataset d ON d.id = i.dataset_id
    JOIN indicators_release r ON r.id = o.release_id
    JOIN indicators_period p ON p.id = o.period_id
    JOIN geographies_area a ON a.id = o.area_id
    LEFT JOIN geographies_areatype t ON t.id = a.area_type_id
    WHERE {releases}
    ORDER BY i.slug COLLATE "C", p.iso COLLATE "C", a.code COLLATE "C"
"""
MEDIA_TYPES = {BulkFile.Format.PARQUET: "application/vnd.apache.parquet", BulkFile.Format.CSV_GZ: "application/gzip"}
# COPY output is parsed and compressed in blocks of about this size (whole rows): large enough for
# Arrow's parser to run at speed, small enough to hold a few in memory.
BLOCK_BYTES = 16 << 20
# Rows per Parquet row group: readers (DuckDB, Arrow) split work by row group.
ROW_GROUP_ROWS = 1 << 18
ZSTD_LEVEL = 6
GZIP_LEVEL = 6
# GSS codes begin with the letter of their nation (K: codes spanning nations, held as they are).
NATIONS = {"E": "E92000001", "W": "W92000004", "S": "S92000003", "N": "N92000002"}
STALE_TMP_SECONDS = 3600


def bulk_dir() -> Path:
    """LEVELUP["BULK_DIR"], one folder per database: the files of one database (the development one,
    a test one) never meet another's, whose records would not name them (bulk_sweep)."""
    return Path(settings.LEVELUP["BULK_DIR"]) / connection.settings_dict["NAME"]


def bulk_path(record: BulkFile) -> Path:
    return bulk_dir() / record.path


# -- what each file set is written from --------------------------------------------------------------
@dataclass(frozen=True)
class Plan:
    """One file set: a dataset's current observations (under its newest current release), or the
    snapshot (no dataset)."""

    name: str  # the dataset's slug, or "snapshot"
    dataset_id: int | None
    release_id: int | None
    release_ids: tuple[int, ...]
    fingerprint: str


# Each dataset's current release (datasets.CURRENT_RELEASE_SQL, for each of its indicators), the
# newest of them first, and what the fingerprint is made of: each indicator and its current release.
_CURRENT_SQL = f"""
    WITH current AS (
        SELECT i.dataset_id, i.slug, ({CURRENT_RELEASE_SQL}) AS release_id FROM indicators_indicator i
    )
    SELECT d.id, d.slug,
           array_agg(DISTINCT c.release_id),
           (array_agg(c.release_id ORDER BY r.release_date DESC, r.id DESC))[1],
           json_agg(json_build_array(c.slug, c.release_id, r.label, r.release_date, r.created_at) ORDER BY c.slug)
    FROM current c
    JOIN indicators_dataset d ON d.id = c.dataset_id
    JOIN indicators_release r ON r.id = c.release_id AND r.state = 'published'
    GROUP BY d.id, d.slug
    ORDER BY d.slug
"""
# Where the files' names and area types come from, and what rewrote published values in place (a
# migration records that as a "derived:" ingest run): when either changes, every file is rewritten.
_UPSTREAM_SQL = """
    SELECT greatest(
        (SELECT max(finished_at) FROM core_ingestrun
         WHERE state = 'succeeded' AND NOT dry_run AND (dataset = 'geographies' OR source LIKE %s)),
        (SELECT max(history_date) FROM geographies_historicalarea))
"""


def _digest(*parts) -> str:
    return hashlib.sha256(orjson.dumps(parts, default=str)).hexdigest()


def bulk_plans() -> list[Plan]:
    """Every dataset with current observations, then the snapshot: two statements, whatever the size."""
    with connection.cursor() as cursor:
        cursor.execute(_UPSTREAM_SQL, ["derived:%"])
        upstream = cursor.fetchone()[0]
        cursor.execute(_CURRENT_SQL)
        rows = cursor.fetchall()
    plans = []
    for dataset_id, slug, release_ids, newest, pairs in rows:
        pairs = orjson.loads(pairs) if isinstance(pairs, str) else pairs
        plans.append(
            Plan(
                name=slug,
                dataset_id=dataset_id,
                release_id=newest,
                release_ids=tuple(sorted(release_ids)),
                fingerprint=_digest(FORMAT_VERSION, slug, pairs, upstream),
            )
        )
    if not plans:
        return []
    snapshot = Plan(
        name=SNAPSHOT,
        dataset_id=None,
        release_id=None,
        release_ids=tuple(sorted({r for p in plans for r in p.release_ids})),
        fingerprint=_digest(FORMAT_VERSION, SNAPSHOT, [(p.name, p.fingerprint) for p in plans]),
    )
    return [*plans, snapshot]


def _fresh(plan: Plan, records: dict[tuple[int | None, str], BulkFile]) -> bool:
    """Both files of the plan are recorded with its fingerprint and are on disk, whole."""
    for fmt in BulkFile.Format.values:
        record = records.get((plan.release_id, fmt))
        if record is None or record.fingerprint != plan.fingerprint:
            return False
        try:
            if bulk_path(record).stat().st_size != record.size:
                return False
        except OSError:
            return False
    return True


# -- writing ---------------------------------------------------------------------------------------------
@dataclass
class BulkOutcome:
    name: str
    state: str  # written, unchanged or failed
    rows: int = 0
    seconds: float = 0.0
    sizes: dict[str, int] = field(default_factory=dict)
    error: str = ""


def _copy_blocks(cursor, plan: Plan) -> Iterator[bytes]:
    """The plan's rows as CSV from PostgreSQL's COPY, in blocks of whole rows (COPY hands over one
    row per chunk)."""
    # A dataset's file reads its current release's partition; the snapshot every current one's.
    releases = (sql.SQL("o.release_id = {}").format(sql.Literal(plan.release_id)) if plan.dataset_id
                else sql.SQL(current_sql("o")))
    query = sql.SQL(_ROWS_SQL).format(
        columns=sql.SQL(", ").join(
            sql.SQL("{} AS {}").format(sql.SQL(e), sql.Identifier(c))
            for e, c in zip(_EXPRESSIONS, COLUMNS, strict=True)
        ),
        releases=releases,
    )
    raw = cursor.cursor
    with raw.copy(sql.SQL("COPY ({}) TO STDOUT WITH (FORMAT csv)").format(query)) as copy:
        block = bytearray()
        for chunk in copy:
            block += chunk
            if len(block) >= BLOCK_BYTES:
                yield bytes(block)
                block.clear()
        if block:
            yield bytes(block)


_READ = pacsv.ReadOptions(column_names=COLUMNS, use_threads=True)
# An area name may hold a quoted line break: parse quoted fields across lines.
_PARSE = pacsv.ParseOptions(newlines_in_values=True)
_CONVERT = pacsv.ConvertOptions(
    column_types={f.name: f.type for f in SCHEMA},
    strings_can_be_null=False,
    null_values=[""],
    quoted_strings_can_be_null=False,
)


class _Summary:
    """What the rows cover, gathered block by block (Arrow compute, no row in Python)."""

    def __init__(self):
        self.area_types: dict[str, int] = {}
        self.nations: set[str] = set()
        self.indicators: set[str] = set()
        self.start: dt.date | None = None
        self.end: dt.date | None = None

    def add(self, table: pa.Table) -> None:
        if not table.num_rows:
            return
        for entry in pc.value_counts(table["area_type"]).to_pylist():
            self.area_types[entry["values"]] = self.area_types.get(entry["values"], 0) + entry["counts"]
        self.nations.update(pc.unique(pc.utf8_slice_codeunits(table["area_code"], 0, 1)).to_pylist())
        self.indicators.update(pc.unique(table["indicator"]).to_pylist())
        start, end = pc.min(table["period_start"]).as_py(), pc.max(table["period_end"]).as_py()
        self.start = start if self.start is None else min(self.start, start)
        self.end = end if self.end is None else max(self.end, end)

    def as_dict(self) -> dict:
        # area_types counts rows (observations) per type, not areas.
        return {
            "period_start": self.start and self.start.isoformat(),
            "period_end": self.end and self.end.isoformat(),
            "area_types": dict(sorted(self.area_types.items())),
            "nations": sorted(NATIONS[n] for n in self.nations if n in NATIONS),
            "indicators": len(self.indicators),
        }


def _write_files(cursor, plan: Plan, parquet_tmp: Path, csv_tmp: Path) -> tuple[int, dict]:
    """Write both files of the plan from one COPY: each block goes to the gzip stream as it came and
    to the Parquet file as a typed Arrow table. Returns the rows and the summary.

    This thread reads COPY; another compresses, parses and writes each block meanwhile (zlib and
    Arrow release the GIL): for IoD 2025, 3.4 s instead of 4.6 s on two cores."""
    metadata = {
        "levelup:fingerprint": plan.fingerprint,
        "levelup:name": plan.name,
        "levelup:release_ids": ",".join(map(str, plan.release_ids)),
        "levelup:format_version": str(FORMAT_VERSION),
    }
    schema = SCHEMA.with_metadata(metadata)
    sorting = [pq.SortingColumn(COLUMNS.index(c)) for c in ("indicator", "period", "area_code")]
    summary, counted = _Summary(), {"rows": 0}
    gzip = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)  # 31: a gzip member (no name, time 0)
    with (
        open(csv_tmp, "wb") as csv_out,
        pq.ParquetWriter(
            parquet_tmp, schema, compression="zstd", compression_level=ZSTD_LEVEL, sorting_columns=sorting
        ) as parquet,
    ):
        csv_out.write(gzip.compress((",".join(COLUMNS) + "\n").encode()))
        pending: list[pa.Table] = []

        def flush(last: bool = False) -> None:
            # Whole row groups of ROW_GROUP_ROWS, the rest kept for the next (all of it at the end).
            if not pending:
                return
            table = pa.concat_tables(pending)
            n = table.num_rows if last else table.num_rows // ROW_GROUP_ROWS * ROW_GROUP_ROWS
            if n:
                parquet.write_table(table.slice(0, n), row_group_size=ROW_GROUP_ROWS)
            pending[:] = [table.slice(n)] if n < table.num_rows else []

        def write(block: bytes) -> None:
            csv_out.write(gzip.compress(block))
            table = pacsv.read_csv(
                pa.py_buffer(block), read_options=_READ, parse_options=_PARSE, convert_options=_CONVERT
            ).cast(SCHEMA)
            summary.add(table)
            counted["rows"] += table.num_rows
            pending.append(table)
            if sum(t.num_rows for t in pending) >= ROW_GROUP_ROWS:
                flush()

        _pipeline(_copy_blocks(cursor, plan), write)
        flush(last=True)
        csv_out.write(gzip.flush())
        csv_out.flush()
        os.fsync(csv_out.fileno())
    with open(parquet_tmp, "rb") as fh:
        os.fsync(fh.fileno())
    return counted["rows"], summary.as_dict()


def _pipeline(blocks: Iterator[bytes], consume: Callable[[bytes], None]) -> None:
    """consume(block) for every block, in order, on a second thread while this one produces the next;
    the first error on either side is raised here."""
    work: queue.Queue[bytes | None] = queue.Queue(maxsize=2)
    failed: list[BaseException] = []

    def run() -> None:
        while (block := work.get()) is not None:
            if not failed:
                try:
                    consume(block)
                except BaseException as exc:  # noqa: BLE001 - handed to the producing thread
                    failed.append(exc)

    worker = threading.Thread(target=run, name="bulk-writer", daemon=True)
    worker.start()
    try:
        for block in blocks:
            if failed:
                break
            work.put(block)
    finally:
        work.put(None)
        worker.join()
        # Ends a COPY left half read now: the raised error's traceback would otherwise keep the
        # generator, and the COPY holding the connection, alive into the rollback, which waits for it.
        close = getattr(blocks, "close", None)
        if close is not None:
            close()
    if failed:
        raise failed[0]


def _relative_dir(plan: Plan) -> Path:
    return Path(SNAPSHOT) if plan.dataset_id is None else Path("datasets") / plan.name


def _final_name(plan: Plan, fmt: str, sha256: str) -> str:
    # The checksum in the name: a new file never takes the name of the one a client may be reading.
    stem = SNAPSHOT if plan.dataset_id is None else f"{plan.name}-release-{plan.release_id}"
    return f"{stem}-{sha256[:12]}.{fmt}"


def _repeatable_read() -> None:
    """The plan is checked again, and its rows read, in one snapshot of the database (when this is the
    outermost transaction: a test's own transaction cannot change its level)."""
    with connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")


def _write_plan(plan: Plan) -> BulkOutcome:
    started = time.perf_counter()
    recorder = RunRecorder(
        dataset=RUN_DATASET, source=plan.name, path=str(_relative_dir(plan)), checksum=plan.fingerprint, dry_run=False
    )
    folder = bulk_dir() / _relative_dir(plan)
    folder.mkdir(parents=True, exist_ok=True)
    tag = f".tmp-{os.getpid()}-{time.monotonic_ns()}"
    tmp = {
        BulkFile.Format.PARQUET: folder / f".{plan.name}.parquet{tag}",
        BulkFile.Format.CSV_GZ: folder / f".{plan.name}.csv.gz{tag}",
    }
    placed: list[Path] = []
    replaced: list[Path] = []
    try:
        outermost = not connection.in_atomic_block
        connection.ensure_connection()
        with transaction.atomic():
            if outermost:
                _repeatable_read()
            # Checked again in the transaction's snapshot: a load that committed since the plan was
            # made changes what this transaction reads, and so what is recorded.
            now = next((p for p in bulk_plans() if p.name == plan.name), None)
            if now is None:
                raise RuntimeError(f"{plan.name} has no current observations any more")
            plan = now
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL work_mem = '256MB'")
                # Numbers as the API prints them (the shortest text that reads back as the same
                # double) and ISO dates, whatever the session's settings.
                cursor.execute("SET LOCAL extra_float_digits = 1")
                cursor.execute("SET LOCAL DateStyle = 'ISO, YMD'")
                rows, summary = _write_files(cursor, plan, tmp[BulkFile.Format.PARQUET], tmp[BulkFile.Format.CSV_GZ])
            written_at = timezone.now()
            sizes = {}
            for fmt, path in tmp.items():
                sha = file_checksum(path)
                final = folder / _final_name(plan, fmt, sha)
                os.replace(path, final)
                placed.append(final)
                sizes[fmt] = final.stat().st_size
                old = BulkFile.objects.filter(release_id=plan.release_id, format=fmt).first()
                if old is not None and old.path != str(final.relative_to(bulk_dir())):
                    replaced.append(bulk_path(old))
                BulkFile.objects.update_or_create(
                    release_id=plan.release_id,
                    format=fmt,
                    defaults={
                        "dataset_id": plan.dataset_id,
                        "release_ids": list(plan.release_ids),
                        "path": str(final.relative_to(bulk_dir())),
                        "size": sizes[fmt],
                        "sha256": sha,
                        "rows": rows,
                        "fingerprint": plan.fingerprint,
                        "summary": summary,
                        "written_at": written_at,
                    },
                )
            _fsync_dir(folder)
    except Exception as exc:
        for path in [*tmp.values(), *placed]:
            path.unlink(missing_ok=True)
        recorder.finish(IngestRun.State.FAILED, error=f"{type(exc).__name__}: {exc}")
        logger.exception("bulk files for %s not written", plan.name)
        return BulkOutcome(plan.name, "failed", seconds=round(time.perf_counter() - started, 3), error=str(exc))
    for path in replaced:
        path.unlink(missing_ok=True)
    seconds = round(time.perf_counter() - started, 3)
    recorder.finish(
        IngestRun.State.SUCCEEDED,
        rows_read=rows,
        counts={"rows": rows, **{f"{fmt}_bytes": n for fmt, n in sizes.items()}},
    )
    return BulkOutcome(plan.name, "written", rows=rows, seconds=seconds, sizes=sizes)


def _fsync_dir(folder: Path) -> None:
    """The renames survive a crash (the directory entry is on disk too)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# -- the service ---------------------------------------------------------------------------------------
_LOCK_KEY = int.from_bytes(hashlib.sha256(b"levelup-bulk-files").digest()[:8], "big", signed=True)


@contextlib.contextmanager
def _bulk_lock():
    """One writer at a time, across processes (a session advisory lock, dropped by the server if the
    process dies). A second writer waits: it then finds the files written, or writes newer ones.
    Holding it, a run still marked running belongs to a writer that died."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [_LOCK_KEY])
    try:
        IngestRun.objects.filter(dataset=RUN_DATASET, state=IngestRun.State.RUNNING).update(
            state=IngestRun.State.FAILED,
            error="interrupted: the writing process ended before it finished",
            finished_at=timezone.now(),
        )
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_LOCK_KEY])


def bulk_refresh(
    *,
    datasets: Iterable[str] | None = None,
    snapshot: bool = True,
    force: bool = False,
    progress: Callable[[BulkOutcome], None] | None = None,
) -> list[BulkOutcome]:
    """Write the files of every dataset whose current observations changed (of `datasets`, slugs,
    when given), then the snapshot if any did (or `force`: all of them), and remove files no record
    names any more. Returns what happened to each file set, in order."""
    wanted = set(datasets) if datasets is not None else None
    outcomes = []
    with _bulk_lock():
        plans = bulk_plans()
        records = {(r.release_id, r.format): r for r in BulkFile.objects.all()}
        for plan in plans:
            if plan.name == SNAPSHOT:
                if not snapshot:
                    continue
            elif wanted is not None and plan.name not in wanted:
                continue
            if not force and _fresh(plan, records):
                outcome = BulkOutcome(plan.name, "unchanged", rows=records[plan.release_id, "parquet"].rows)
            else:
                outcome = _write_plan(plan)
            outcomes.append(outcome)
            if progress:
                progress(outcome)
        bulk_sweep()
    return outcomes


def bulk_sweep() -> list[Path]:
    """Delete the files under BULK_DIR that no record names (a release reloaded or removed, a write
    that failed after its rename) and temporary files a dead writer left. Call with the lock held."""
    root = bulk_dir()
    if not root.is_dir():
        return []
    known = {root / p for p in BulkFile.objects.values_list("path", flat=True)}
    removed = []
    now = time.time()
    for folder in [root / SNAPSHOT, *((root / "datasets").glob("*") if (root / "datasets").is_dir() else [])]:
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            tmp = ".tmp-" in path.name
            if (tmp and now - path.stat().st_mtime > STALE_TMP_SECONDS) or (
                not tmp and path.name.endswith((".parquet", ".csv.gz")) and path not in known
            ):
                path.unlink(missing_ok=True)
                removed.append(path)
    return removed


def bulk_after_change(*, datasets: Iterable[str]) -> list[BulkOutcome]:
    """The hook of loads and publishes (indicators.services): after their transaction committed, the
    files of the datasets they changed, and the snapshot, as LEVELUP["BULK_ON_LOAD"] says. A failure is
    logged and recorded as a failed run, never raised: the load it follows has committed."""
    datasets = sorted(set(datasets))
    if not settings.LEVELUP["BULK_ON_LOAD"] or not datasets:
        return []
    try:
        return bulk_refresh(datasets=datasets)
    except Exception:
        logger.exception("bulk files not refreshed after a change to %s", ", ".join(datasets))
        return []

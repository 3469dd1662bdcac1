"""Ingest plumbing shared by every loader: precise errors, decoding, CSV reading with line
numbers, COPY into temporary staging tables, and the record of each run."""

from __future__ import annotations

import contextlib
import csv
import fnmatch
import hashlib
import io
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from django.db import connection, transaction
from django.utils import timezone
from psycopg import sql

from .models import IngestRun


@dataclass
class IngestError(Exception):
    """A load failure that names the file, line, column, value and reason."""

    file: str
    reason: str
    line: int | None = None
    column: str | int | None = None
    value: str | None = None
    unit: str = "line"  # "feature" for GeoJSON/TopoJSON

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f", {self.unit} {self.line}"
        if self.column is not None:
            where += f", column {self.column}"
        text = f"{where}: {self.reason}"
        if self.value is not None:
            text += f" (value: {self.value!r})"
        return text

    def as_dict(self) -> dict:
        return {"file": self.file, self.unit: self.line, "column": self.column, "value": self.value, "reason": self.reason}


def file_checksum(path: Path, *extra: bytes) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    for blob in extra:
        digest.update(blob)
    return digest.hexdigest()


def decode_text(raw: bytes, *, encoding: str, label: str) -> str:
    """Decode a whole file strictly; a bad byte or a NUL is reported with its line and column."""
    nul = raw.find(b"\x00")
    if nul >= 0:
        line = raw.count(b"\n", 0, nul) + 1
        col = nul - (raw.rfind(b"\n", 0, nul) + 1) + 1
        raise IngestError(label, "NUL byte in file (PostgreSQL text cannot hold it)", line, col)
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        bad = raw[exc.start : exc.end].hex(" ")
        raise IngestError(label, f"cannot decode as {encoding}: {exc.reason} (bytes {bad})", line, col) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    return text


@dataclass
class CsvTable:
    header: list[str]
    rows: list[tuple[int, list[str]]] = field(default_factory=list)  # (line number, values)


def read_csv(path: Path, *, encoding: str, label: str, header_line: int = 1,
             required: Iterable[str] = ()) -> CsvTable:
    """Read a CSV into memory with the physical line number of each record.

    Files here are at most a few MB, so whole-file decoding keeps error reporting exact."""
    text = decode_text(path.read_bytes(), encoding=encoding, label=label)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header: list[str] | None = None
    table = None
    try:
        end = 0
        for record in reader:  # a record's line is where it starts (a quoted field may span lines)
            line, end = end + 1, reader.line_num
            if header is None:
                if line < header_line:
                    continue
                header = [h.strip() for h in record]
                for position, name in enumerate(header, start=1):
                    if not name:
                        raise IngestError(label, "empty column name in the header", line, position)
                    if header.index(name) != position - 1:
                        raise IngestError(label, f"column name {name!r} appears twice in the header", line, position)
                missing = [c for c in required if c not in header]
                if missing:
                    raise IngestError(label, f"missing column(s) {', '.join(missing)}; found {', '.join(header)}",
                                      line, missing[0])
                table = CsvTable(header=header)
                continue
            if not record or record == [""]:
                continue
            if len(record) != len(header):
                raise IngestError(label, f"expected {len(header)} fields, found {len(record)}", line, len(record))
            table.rows.append((line, record))
    except csv.Error as exc:
        raise IngestError(label, f"malformed CSV: {exc}", reader.line_num) from None
    if table is None:
        raise IngestError(label, "file is empty (no header row)", 1)
    return table


def copy_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> int:
    """COPY rows into an existing table on the Django connection; returns the row count."""
    stmt = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    )
    n = 0
    with connection.cursor() as cursor:
        with cursor.cursor.copy(stmt) as copy:
            for row in rows:
                copy.write_row(row)
                n += 1
    return n


# Python codec -> PostgreSQL client encoding, for the files COPY can decode itself.
PG_ENCODINGS = {"utf-8": "UTF8", "utf-8-sig": "UTF8", "utf8": "UTF8", "cp1252": "WIN1252", "windows-1252": "WIN1252",
                "latin-1": "LATIN1", "latin1": "LATIN1", "iso-8859-1": "LATIN1"}
COPY_CHUNK_BYTES = 1 << 20


class _Fallback(Exception):
    """The streamed COPY could not stage the file exactly: redo it on the careful path."""


def stage_csv(path: Path, table: str, *, encoding: str, label: str, header_line: int = 1,
              required: Iterable[str] = ()) -> tuple[list[str], int]:
    """Stage a CSV file as a temporary table: `_line` (the physical line of the record) and one
    text column per header field. Returns the header and the number of records.

    The fast path streams the file to PostgreSQL's own CSV parser in 1 MiB blocks: nothing is held
    in memory, whatever the file's size. It is used only when it is exact: if COPY rejects the file
    (a bad byte, a NUL, a ragged row) or the records do not match the physical lines one to one
    (blank lines, quoted line breaks), the COPY is rolled back and the file is read in Python,
    which stages it or names the line and column of the fault."""
    pg_encoding = PG_ENCODINGS.get(encoding.lower().replace("_", "-"))
    if pg_encoding:
        try:
            return _stage_csv_copy(path, table, pg_encoding=pg_encoding, encoding=encoding, label=label,
                                   header_line=header_line, required=required)
        except _Fallback:
            pass
    data = read_csv(path, encoding=encoding, label=label, header_line=header_line, required=required)
    create_staging(table, ["_line", *data.header], ["integer", *["text"] * len(data.header)])
    return data.header, copy_rows(table, ["_line", *data.header], ((ln, *row) for ln, row in data.rows))


def _stage_csv_copy(path: Path, table: str, *, pg_encoding: str, encoding: str, label: str, header_line: int,
                    required: Iterable[str]) -> tuple[list[str], int]:
    import psycopg

    with open(path, "rb") as fh:
        raw = b""
        for _ in range(header_line):
            raw = fh.readline()
        try:
            text = raw.decode(encoding).lstrip("\ufeff")
            record = next(csv.reader([text], strict=True))
        except (UnicodeDecodeError, csv.Error, StopIteration):
            raise _Fallback from None
        if not raw.endswith(b"\n") or "\x00" in text:
            raise _Fallback
        header = [h.strip() for h in record]
        missing = [c for c in required if c not in header]
        if missing:
            raise IngestError(label, f"missing column(s) {', '.join(missing)}; found {', '.join(header)}",
                              header_line, missing[0])
        if len(set(header)) != len(header) or not all(header):
            raise _Fallback
        create_staging(table, ["_line", *header],
                       [f"integer GENERATED ALWAYS AS IDENTITY (START WITH {header_line + 1})", *["text"] * len(header)])
        columns = sql.SQL(", ").join(sql.Identifier(c) for c in header)
        # FORCE_NOT_NULL: an empty field stages as '' (as on the Python path), never as NULL.
        stmt = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv, ENCODING {}, FORCE_NOT_NULL ({}))").format(
            sql.Identifier(table), columns, sql.Literal(pg_encoding), columns)
        lines, last = 0, b"\n"
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                with cursor.cursor.copy(stmt) as copy:
                    while chunk := fh.read(COPY_CHUNK_BYTES):
                        lines += chunk.count(b"\n")
                        last = chunk[-1:]
                        copy.write(chunk)
                rows = cursor.cursor.rowcount
                if rows != lines + (last != b"\n"):
                    raise _Fallback
        except psycopg.Error:
            raise _Fallback from None
    return header, rows


def create_staging(table: str, columns: Sequence[str], types: Sequence[str] | None = None) -> None:
    """A temporary table that disappears at commit, so a failed or finished load leaves nothing."""
    types = types or ["text"] * len(columns)
    cols = sql.SQL(", ").join(sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(t)) for c, t in zip(columns, types, strict=True))
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(table)).as_string(cursor.cursor))
        cursor.execute(
            sql.SQL("CREATE TEMP TABLE {} ({}) ON COMMIT DROP").format(sql.Identifier(table), cols).as_string(cursor.cursor)
        )


class RunRecorder:
    """Records an IngestRun outside the load's transaction, so failures are kept too."""

    def __init__(self, *, dataset: str, source: str, path: str, checksum: str, dry_run: bool):
        self.started = time.perf_counter()
        self.run = IngestRun.objects.create(
            dataset=dataset, source=source, path=path, checksum=checksum, dry_run=dry_run
        )

    def finish(self, state: str, *, rows_read: int = 0, counts: dict | None = None, error: str = "") -> IngestRun:
        self.run.state = state
        self.run.rows_read = rows_read
        self.run.counts = counts or {}
        self.run.error = error
        self.run.finished_at = timezone.now()
        self.run.seconds = round(time.perf_counter() - self.started, 3)
        self.run.save()
        return self.run


def last_success(dataset: str, source: str) -> IngestRun | None:
    return (
        IngestRun.objects.filter(dataset=dataset, source=source, state=IngestRun.State.SUCCEEDED, dry_run=False)
        .order_by("-started_at")
        .first()
    )




class DryRunRollback(Exception):
    """Raised to roll back a dry run's transaction."""


@dataclass
class SourceOutcome:
    name: str
    state: str
    seconds: float = 0.0
    rows_read: int = 0
    counts: dict = field(default_factory=dict)
    error: IngestError | None = None
    checksum: str = ""
    file: str = ""


@dataclass
class LoadReport:
    outcomes: list[SourceOutcome] = field(default_factory=list)
    derived: dict = field(default_factory=dict)

    @property
    def failed(self) -> SourceOutcome | None:
        return next((o for o in self.outcomes if o.state == IngestRun.State.FAILED), None)


def run_source(*, dataset: str, name: str, file: str, path: Path, spec_bytes: bytes,
               load: Callable[[], tuple[int, dict]], dry_run: bool = False, force: bool = False) -> SourceOutcome:
    """Load one source file in one transaction and record the run; skip it when the file and its
    mapping are unchanged since the last successful run. In a dry run the caller owns the (rolled
    back) transaction and records the run afterwards."""
    if not path.is_file():
        err = IngestError(file, f"file not found under {path.parent}")
        return SourceOutcome(name, IngestRun.State.FAILED, error=err, file=file)
    checksum = file_checksum(path, spec_bytes)
    previous = last_success(dataset, name)
    if previous and previous.checksum == checksum and not (force or dry_run):
        return SourceOutcome(name, IngestRun.State.SKIPPED, file=file)
    recorder = None if dry_run else RunRecorder(dataset=dataset, source=name, path=file, checksum=checksum,
                                                dry_run=False)
    started = time.perf_counter()
    try:
        with transaction.atomic():
            rows_read, counts = load()
    except IngestError as exc:
        outcome = SourceOutcome(name, IngestRun.State.FAILED, error=exc)
    else:
        outcome = SourceOutcome(name, IngestRun.State.SUCCEEDED, rows_read=rows_read, counts=counts)
    outcome.seconds = round(time.perf_counter() - started, 3)
    outcome.checksum, outcome.file = checksum, file
    if recorder:
        recorder.finish(outcome.state, rows_read=outcome.rows_read, counts=outcome.counts,
                        error=str(outcome.error or ""))
    return outcome


def record_dry_runs(dataset: str, outcomes: list[SourceOutcome]) -> None:
    for o in outcomes:
        IngestRun.objects.create(
            dataset=dataset, source=o.name, path=o.file, checksum=o.checksum, state=o.state, dry_run=True,
            finished_at=timezone.now(), seconds=o.seconds, rows_read=o.rows_read, counts=o.counts,
            error=str(o.error or ""),
        )


def sources_run(*, dataset: str, sources: list, run_one: Callable[[object], SourceOutcome], dry_run: bool,
                progress: Callable[[SourceOutcome], None] | None = None,
                before: Callable[[], object] | None = None) -> tuple[LoadReport, bool]:
    """Run sources in order, stopping at the first failure. Real loads commit file by file; a dry
    run shares one transaction (later files depend on earlier ones), rolls it back, and records the
    runs as dry runs. Returns the report and whether anything was committed."""
    report = LoadReport()
    with load_lock(dataset):
        return _sources_run(report, dataset=dataset, sources=sources, run_one=run_one, dry_run=dry_run,
                            progress=progress, before=before)


INTERRUPTED = "interrupted: the loading process ended before it finished (killed or lost); nothing was committed"


@contextlib.contextmanager
def load_lock(dataset: str):
    """One load of a dataset at a time, across processes: a PostgreSQL session advisory lock, which
    the server drops when the process dies. Holding it, any run still marked running belongs to
    a process that died mid-load (its transaction was rolled back): it is marked failed.

    The session also asks the server to check every second, during a long statement, that the
    process is still there: a killed load's statement is cancelled (and its lock dropped) within a
    second rather than when the statement would have finished."""
    key = int.from_bytes(hashlib.sha256(f"levelup-load:{dataset}".encode()).digest()[:8], "big", signed=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('client_connection_check_interval', '1s', false)")
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        if not cursor.fetchone()[0]:
            raise IngestError(dataset, f"another load of {dataset} is running; try again when it has finished")
    try:
        IngestRun.objects.filter(dataset=dataset, state=IngestRun.State.RUNNING).update(
            state=IngestRun.State.FAILED, error=INTERRUPTED, finished_at=timezone.now())
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


def _sources_run(report, *, dataset, sources, run_one, dry_run, progress, before) -> tuple[LoadReport, bool]:
    try:
        with transaction.atomic() if dry_run else contextlib.nullcontext():
            if before:
                before()
            for source in sources:
                outcome = run_one(source)
                report.outcomes.append(outcome)
                if progress:
                    progress(outcome)
                if outcome.state == IngestRun.State.FAILED:
                    break
            if dry_run:
                raise DryRunRollback
    except DryRunRollback:
        record_dry_runs(dataset, report.outcomes)
        return report, False
    return report, True


def execute(cursor, query, params=None):
    """Run a psycopg.sql composition (or plain SQL) on a Django cursor; returns the cursor."""
    cursor.execute(query.as_string(cursor.cursor) if isinstance(query, sql.Composable) else query, params)
    return cursor


def outcome_line(o: SourceOutcome, width: int = 48) -> str:
    """One line of a load command's progress output."""
    if o.state == IngestRun.State.SKIPPED:
        return f"  {o.name:<{width}} unchanged, skipped"
    if o.state == IngestRun.State.SUCCEEDED:
        counts = ", ".join(f"{k}={v}" for k, v in sorted(o.counts.items()))
        return f"  {o.name:<{width}} {o.rows_read:>7} rows  {o.seconds:6.2f}s  {counts}"
    return f"  {o.name:<{width}} FAILED: {o.error}"


def sources_select(sources: list, only: list[str] | None) -> list:
    """The sources whose names match any of the shell-style patterns (all when none are given)."""
    if not only:
        return sources
    chosen = [s for s in sources if any(fnmatch.fnmatch(s.name, pat) for pat in only)]
    if not chosen:
        raise IngestError("--only", f"no source matches {', '.join(only)}; known: {', '.join(s.name for s in sources)}")
    return chosen

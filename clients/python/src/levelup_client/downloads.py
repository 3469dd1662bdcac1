"""Bulk files (a release's Parquet or gzipped CSV, the national snapshot) streamed to disk and read
into Arrow. Each file is checked against what the API published for it (size, SHA-256, rows) and,
when its checksum is known, kept in the cache directory under that checksum: asking again costs the
dataset's document (a 304) and no download. A dropped connection resumes with a range request
(`If-Range` on the file's ETag) instead of starting again."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import logging
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from .errors import IntegrityError, LevelUpError, NotFound
from .frames import require
from .models import Dataset, Download, Release

if TYPE_CHECKING:
    from ._session import AsyncSession, SyncSession

log = logging.getLogger("levelup_client")

FORMATS = {"parquet": ".parquet", "csv.gz": ".csv.gz"}
FILES_DIR = "files"


@dataclass(frozen=True)
class Expected:
    """What a file should be, as far as the API said (None: not said)."""

    size: int | None = None
    sha256: str | None = None
    rows: int | None = None

    @classmethod
    def of(cls, download: Download | None) -> Expected:
        if download is None:
            return cls()
        return cls(size=download.size, sha256=(download.sha256 or "").lower() or None, rows=download.rows)


def suffix_of(fmt: str) -> str:
    try:
        return FORMATS[fmt]
    except KeyError:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}") from None


def header_sha256(headers: httpx.Headers) -> str | None:
    """A SHA-256 the server states for the whole file: Repr-Digest (RFC 9530) or Digest (RFC 3230)."""
    for name in ("Repr-Digest", "Digest"):
        for item in headers.get(name, "").split(","):
            algorithm, _, value = item.strip().partition("=")
            if algorithm.strip().lower() == "sha-256" and value:
                try:
                    return base64.b64decode(value.strip().strip(":")).hex()
                except ValueError:
                    return None
    return None


def choose_release(dataset: Dataset, *, release: int | None, as_of: dt.date | str | None) -> Release:
    """The release a pull is pinned to: `release` by id, else the one current on `as_of` (the newest
    published on or before it), else the dataset's current release."""
    known = {r.id: r for r in dataset.releases or []}
    if dataset.current_release is not None:  # the one that lists its files
        known[dataset.current_release.id] = dataset.current_release
    if release is not None:
        if int(release) not in known:
            raise NotFound(
                404,
                f"dataset {dataset.slug!r} has no release {release}; it has "
                f"{', '.join(map(str, sorted(known))) or 'none'}",
            )
        return known[int(release)]
    if as_of is not None:
        day = dt.date.fromisoformat(as_of) if isinstance(as_of, str) else as_of
        published = [
            r
            for r in known.values()
            if r.release_date is not None and r.release_date <= day and r.state in (None, "published")
        ]
        if not published:
            raise NotFound(404, f"no release of {dataset.slug!r} was published on or before {day.isoformat()}")
        return max(published, key=lambda r: (r.release_date, r.id))
    if dataset.current_release is None:
        raise NotFound(404, f"dataset {dataset.slug!r} has no current release")
    return dataset.current_release


class _Sink:
    """A file being written, its running SHA-256 and length."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.file = open(path, "wb")  # noqa: SIM115 - closed by close(), after every resumed part
        self.hash = hashlib.sha256()
        self.size = 0

    def restart(self) -> None:
        self.file.seek(0)
        self.file.truncate()
        self.hash, self.size = hashlib.sha256(), 0

    def write(self, chunk: bytes) -> None:
        self.file.write(chunk)
        self.hash.update(chunk)
        self.size += len(chunk)

    def close(self) -> None:
        self.file.close()


def _verify(sink: _Sink, expected: Expected, *, stated_size: int | None, stated_sha: str | None, url: str) -> None:
    size = expected.size if expected.size is not None else stated_size
    if size is not None and sink.size != size:
        raise IntegrityError(f"{url}: got {sink.size:,} bytes, expected {size:,}")
    sha = expected.sha256 or stated_sha
    digest = sink.hash.hexdigest()
    if sha is not None and digest != sha:
        raise IntegrityError(f"{url}: SHA-256 {digest}, expected {sha}")


def _content_length(response: httpx.Response) -> int | None:
    value = response.headers.get("Content-Length")
    return int(value) if value and value.isdigit() else None


def _part_headers(sink: _Sink, etag: str | None, ranges: bool) -> dict[str, str]:
    # Parquet is compressed inside and a .csv.gz is gzip itself: asked as they are, so that the
    # bytes hashed are the file's and a range means the same bytes on each try.
    headers = {"Accept-Encoding": "identity"}
    if sink.size and etag and ranges:
        headers["Range"] = f"bytes={sink.size}-"
        headers["If-Range"] = etag
    return headers


class _Fetch:
    """The bookkeeping of one download across its attempts (shared by the sync and async loops)."""

    def __init__(self, session: Any, path: str, expected: Expected, suffix: str) -> None:
        self.session, self.path, self.expected, self.suffix = session, path, expected, suffix
        self.keep = session.cache_enabled and expected.sha256 is not None
        if self.keep:
            folder = session.cache_dir / FILES_DIR
            folder.mkdir(parents=True, exist_ok=True)
            self.target: Path | None = folder / f"{expected.sha256}{suffix}"
        else:
            folder, self.target = Path(tempfile.gettempdir()), None
        handle, name = tempfile.mkstemp(dir=folder, prefix="levelup-", suffix=suffix + ".part")
        os.close(handle)
        self.sink = _Sink(Path(name))
        self.etag: str | None = None
        self.ranges = False
        self.total: int | None = None
        self.stated_sha: str | None = None
        self.attempt = 0

    def cached(self) -> Path | None:
        """The file already kept under its checksum (its size checked), if any."""
        if self.target is not None and self.target.exists():
            if self.expected.size is None or self.target.stat().st_size == self.expected.size:
                return self.target
        return None

    def started(self, response: httpx.Response) -> None:
        if response.status_code == 206 and self.sink.size:
            log.info("resuming %s at byte %s", self.path, f"{self.sink.size:,}")
        else:
            self.sink.restart()
            self.total = _content_length(response)
        self.etag = response.headers.get("ETag")
        self.ranges = "bytes" in response.headers.get("Accept-Ranges", "").lower()
        self.stated_sha = header_sha256(response.headers) or self.stated_sha

    def failed(self, exc: Exception) -> float | None:
        """A broken transfer: the wait before the next part, or None to give up."""
        delay = self.session.connection_delay("GET", exc, self.attempt)
        if delay is not None:
            log.info(
                "%s broke off after %s bytes (%s); retrying in %.2fs",
                self.path,
                f"{self.sink.size:,}",
                exc.__class__.__name__,
                delay,
            )
            self.session.stats["retries"] += 1
        return delay

    def finish(self) -> Path:
        self.sink.close()
        try:
            _verify(
                self.sink,
                self.expected,
                stated_size=self.total,
                stated_sha=self.stated_sha,
                url=self.session.url(self.path),
            )
        except IntegrityError:
            self.sink.path.unlink(missing_ok=True)
            raise
        if self.target is not None:
            os.replace(self.sink.path, self.target)
            return self.target
        return self.sink.path

    def abandon(self) -> None:
        self.sink.close()
        self.sink.path.unlink(missing_ok=True)


def fetch(session: SyncSession, path: str, expected: Expected, suffix: str) -> tuple[Path, bool]:
    """The verified file on disk, and whether it is kept (False: a temporary file for the caller to
    delete)."""
    job = _Fetch(session, path, expected, suffix)
    kept = job.cached()
    if kept is not None:
        job.abandon()
        log.info("%s: the copy kept under its SHA-256 (%s) is the listed one; no download", session.url(path), kept)
        return kept, True
    try:
        while True:
            job.attempt += 1
            response = session.send(
                "GET", path, headers=_part_headers(job.sink, job.etag, job.ranges), stream=True, cache=False
            )
            try:
                job.started(response)
                # decoded bytes: the file's own, even from a server that compresses it on the way
                for chunk in response.iter_bytes():
                    job.sink.write(chunk)
            except httpx.TransportError as exc:
                delay = job.failed(exc)
                if delay is None:
                    raise LevelUpError(f"download of {path} failed after {job.attempt} attempts: {exc!r}") from exc
                session.retry.sleep(delay)
                continue
            finally:
                response.close()
            return job.finish(), job.keep
    except BaseException:
        job.abandon()
        raise


async def afetch(session: AsyncSession, path: str, expected: Expected, suffix: str) -> tuple[Path, bool]:
    job = _Fetch(session, path, expected, suffix)
    kept = job.cached()
    if kept is not None:
        job.abandon()
        log.info("%s: the copy kept under its SHA-256 (%s) is the listed one; no download", session.url(path), kept)
        return kept, True
    try:
        while True:
            job.attempt += 1
            response = await session.send(
                "GET", path, headers=_part_headers(job.sink, job.etag, job.ranges), stream=True, cache=False
            )
            try:
                job.started(response)
                async for chunk in response.aiter_bytes():
                    job.sink.write(chunk)
            except httpx.TransportError as exc:
                delay = job.failed(exc)
                if delay is None:
                    raise LevelUpError(f"download of {path} failed after {job.attempt} attempts: {exc!r}") from exc
                await session.retry.async_sleep(delay)
                continue
            finally:
                await response.aclose()
            return job.finish(), job.keep
    except BaseException:
        job.abandon()
        raise


@contextlib.contextmanager
def _opened(path: Path, kept: bool) -> Iterator[Path]:
    try:
        yield path
    finally:
        if not kept:
            path.unlink(missing_ok=True)


def read_table(path: Path, kept: bool, fmt: str, expected: Expected, *, columns: list[str] | None = None):
    """The file as a pyarrow Table (memory-mapped when kept; read into memory, and the temporary file
    deleted, when not), its row count checked."""
    require("pyarrow", "arrow")
    with _opened(path, kept):
        if fmt == "parquet":
            import pyarrow.parquet as pq

            table = pq.read_table(path, columns=columns, memory_map=kept)
        else:
            import pyarrow.csv as pcsv

            table = pcsv.read_csv(path)
            if columns is not None:
                table = table.select(columns)
    if expected.rows is not None and table.num_rows != expected.rows:
        raise IntegrityError(f"{path.name}: {table.num_rows:,} rows, expected {expected.rows:,}")
    return table

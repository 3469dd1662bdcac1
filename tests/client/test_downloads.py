"""Bulk downloads into Arrow: a release's Parquet (or gzipped CSV) file and the national snapshot,
checked against the size, SHA-256 and rows the API lists, kept under their checksum so that a second
download costs no transfer, resumed with a range request when the connection drops, and pinned to a
release. First against a scripted server (every failure made to happen), then against the real
routes with IoD 2025's 810,120 rows."""

from __future__ import annotations

import asyncio
import datetime as dt
import gzip
import hashlib
import io
import re

import httpx
import pytest
from levelup_client import AsyncClient, Client, IntegrityError, NotFound

from tests.client.conftest import tapped
from tests.live_server import gunicorn

pa = pytest.importorskip("pyarrow")
pc = pytest.importorskip("pyarrow.compute")
pq = pytest.importorskip("pyarrow.parquet")
pcsv = pytest.importorskip("pyarrow.csv")

COLUMNS = [
    "indicator",
    "area_code",
    "area_name",
    "area_type",
    "period",
    "period_start",
    "period_end",
    "value",
    "lci",
    "uci",
    "numerator",
    "denominator",
    "status",
    "rank",
    "rank_of",
    "release_id",
    "release_label",
    "dataset",
]
BASE = "http://bulk.test"


def bulk_table(release_id: int, values: list[float]) -> pa.Table:
    n = len(values)
    return pa.table(
        {
            "indicator": ["demo-score"] * n,
            "area_code": [f"E0100000{i}" for i in range(n)],
            "area_name": [f"Area {i}" for i in range(n)],
            "area_type": ["LSOA"] * n,
            "period": ["2025-10-30"] * n,
            "period_start": [dt.date(2025, 10, 30)] * n,
            "period_end": [dt.date(2025, 10, 30)] * n,
            "value": values,
            "lci": [None] * n,
            "uci": [None] * n,
            "numerator": [None] * n,
            "denominator": [None] * n,
            "status": [""] * n,
            "rank": pa.array(range(1, n + 1), pa.int32()),
            "rank_of": pa.array([n] * n, pa.int32()),
            "release_id": pa.array([release_id] * n, pa.int32()),
            "release_label": [f"R{release_id}"] * n,
            "dataset": ["demo"] * n,
        }
    )


def parquet_bytes(table: pa.Table) -> bytes:
    out = io.BytesIO()
    pq.write_table(table, out, compression="zstd")
    return out.getvalue()


def csv_gz_bytes(table: pa.Table) -> bytes:
    out = io.BytesIO()
    pcsv.write_csv(table, out)
    return gzip.compress(out.getvalue())


class FileServer:
    """The datasets routes of the API, scripted: release 2 (current, 2025-10-30) and release 1
    (2024-10-01), each with a Parquet file, release 2 with a .csv.gz, and the snapshot."""

    def __init__(self) -> None:
        self.tables = {1: bulk_table(1, [1.5, 2.5]), 2: bulk_table(2, [10.25, 20.5, 30.75])}
        self.files = {
            (1, "parquet"): parquet_bytes(self.tables[1]),
            (2, "parquet"): parquet_bytes(self.tables[2]),
            (2, "csv.gz"): csv_gz_bytes(self.tables[2]),
        }
        self.snapshot = parquet_bytes(pa.concat_tables([self.tables[2]]))
        self.listed: dict[tuple[int, str], dict] = {}  # overrides of what the listing says of a file
        self.drop_after: int | None = None  # break the next file transfer after this many bytes
        self.requests: list[httpx.Request] = []

    def entry(self, release_id: int, fmt: str) -> dict:
        body = self.files[release_id, fmt]
        return {
            "url": f"{BASE}/api/v1/datasets/demo/releases/{release_id}/download.{fmt}",
            "size": len(body),
            "sha256": hashlib.sha256(body).hexdigest(),
            "rows": self.tables[release_id].num_rows,
            **self.listed.get((release_id, fmt), {}),
        }

    def release(self, release_id: int, files: bool) -> dict:
        dates = {1: "2024-10-01", 2: "2025-10-30"}
        return {
            "id": release_id,
            "label": f"R{release_id}",
            "release_date": dates[release_id],
            "state": "published",
            "is_current": release_id == 2,
            "downloads": {fmt: self.entry(r, fmt) for (r, fmt) in self.files if r == release_id} if files else {},
        }

    def dataset(self) -> dict:
        return {"slug": "demo", "title": "Demo", "current_release": self.release(2, files=True)}

    def file(self, request: httpx.Request, body: bytes) -> httpx.Response:
        etag = f'"{hashlib.sha256(body).hexdigest()}"'
        headers = {"ETag": etag, "Accept-Ranges": "bytes", "Content-Type": "application/vnd.apache.parquet"}
        status, start = 200, 0
        wanted = re.fullmatch(r"bytes=(\d+)-", request.headers.get("Range", ""))
        if wanted and request.headers.get("If-Range") == etag:
            status, start = 206, int(wanted.group(1))
            headers["Content-Range"] = f"bytes {start}-{len(body) - 1}/{len(body)}"
        part = body[start:]
        headers["Content-Length"] = str(len(part))
        if self.drop_after is not None:
            cut, self.drop_after = self.drop_after, None
            return httpx.Response(status, headers=headers, stream=_Broken(part[:cut]))
        return httpx.Response(status, headers=headers, content=part)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if path == "/api/v1/datasets/":
            snapshot = {
                "rows": 3,
                "downloads": {
                    "parquet": {
                        "url": f"{BASE}/api/v1/datasets/snapshot.parquet",
                        "size": len(self.snapshot),
                        "sha256": hashlib.sha256(self.snapshot).hexdigest(),
                        "rows": 3,
                    }
                },
            }
            return httpx.Response(200, json={"count": 1, "snapshot": snapshot, "results": [self.dataset()]})
        if path == "/api/v1/datasets/demo/":
            return httpx.Response(
                200, json={**self.dataset(), "releases": [self.release(2, False), self.release(1, False)]}
            )
        if m := re.fullmatch(r"/api/v1/datasets/demo/releases/(\d+)/", path):
            return httpx.Response(200, json=self.release(int(m.group(1)), files=True))
        if m := re.fullmatch(r"/api/v1/datasets/demo/releases/(\d+)/download\.(parquet|csv\.gz)", path):
            return self.file(request, self.files[int(m.group(1)), m.group(2)])
        if path == "/api/v1/datasets/snapshot.parquet":
            return self.file(request, self.snapshot)
        return httpx.Response(404, json={"status": 404, "error": "not_found", "message": f"no route {path}"})

    def file_requests(self) -> list[httpx.Request]:
        return [r for r in self.requests if "download." in r.url.path or r.url.path.endswith("snapshot.parquet")]


class _Broken(httpx.SyncByteStream):
    """A body that stops after `data` with a dropped connection."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __iter__(self):
        yield self.data
        raise httpx.ReadError("connection reset by peer")


@pytest.fixture
def server() -> FileServer:
    return FileServer()


def scripted_client(server: FileServer, tmp_path, **kwargs) -> Client:
    return Client(BASE, transport=httpx.MockTransport(server), cache_dir=tmp_path, **kwargs)


def test_a_download_is_checked_and_kept_under_its_checksum(server, tmp_path):
    with scripted_client(server, tmp_path) as api:
        table = api.dataset("demo").download()
        assert table.equals(server.tables[2])
        kept = list((tmp_path / "files").iterdir())
        assert [p.name for p in kept] == [f"{server.entry(2, 'parquet')['sha256']}.parquet"]
        again = api.dataset("demo").download()
    assert again.equals(table)
    assert len(server.file_requests()) == 1  # the second came from the kept file
    assert server.file_requests()[0].headers["Accept-Encoding"] == "identity"


def test_without_the_cache_nothing_is_kept(server, tmp_path):
    with scripted_client(server, tmp_path, cache=False) as api:
        assert api.dataset("demo").download().equals(server.tables[2])
        assert api.dataset("demo").download().num_rows == 3
    assert len(server.file_requests()) == 2 and not (tmp_path / "files").exists()


@pytest.mark.parametrize(
    "lie,message",
    [({"sha256": "0" * 64}, "SHA-256"), ({"size": 12}, "bytes, expected 12"), ({"rows": 4}, "3 rows, expected 4")],
)
def test_a_file_that_is_not_what_was_listed_is_refused(server, tmp_path, lie, message):
    server.listed[2, "parquet"] = lie
    with scripted_client(server, tmp_path) as api, pytest.raises(IntegrityError, match=message):
        api.dataset("demo").download()
    leftovers = [p.name for p in (tmp_path / "files").iterdir()] if (tmp_path / "files").exists() else []
    # nothing half-written is left; a file kept under its true checksum is (rows are counted after)
    assert all(not name.endswith(".part") for name in leftovers)
    if "sha256" in lie or "size" in lie:
        assert leftovers == []


def test_a_dropped_connection_resumes_with_a_range(server, tmp_path):
    server.drop_after = 100
    with scripted_client(server, tmp_path, retry=_no_wait()) as api:
        table = api.dataset("demo").download()
    assert table.equals(server.tables[2])
    first, second = server.file_requests()
    assert "Range" not in first.headers
    assert second.headers["Range"] == "bytes=100-"
    assert second.headers["If-Range"] == f'"{server.entry(2, "parquet")["sha256"]}"'


def test_gzipped_csv(server, tmp_path):
    with scripted_client(server, tmp_path) as api:
        table = api.dataset("demo").download(format="csv.gz")
    assert table.num_rows == 3 and table.column("value").to_pylist() == [10.25, 20.5, 30.75]
    with pytest.raises(ValueError, match="format must be one of"):
        api.dataset("demo").download(format="xlsx")


def test_a_pin_picks_the_release(server, tmp_path):
    with scripted_client(server, tmp_path) as api:
        assert api.pinned(release=1).dataset("demo").download().equals(server.tables[1])
        assert api.dataset("demo").download(release=1).equals(server.tables[1])
        assert api.pinned(as_of="2025-01-01").dataset("demo").download().equals(server.tables[1])
        assert api.pinned(as_of="2025-10-30").dataset("demo").download().equals(server.tables[2])
        assert api.dataset("demo").release(as_of=dt.date(2024, 12, 31)).id == 1
        with pytest.raises(NotFound, match="no release of 'demo' was published on or before 2024-01-01"):
            api.pinned(as_of="2024-01-01").dataset("demo").download()
        with pytest.raises(NotFound, match="has no release 7"):
            api.dataset("demo").download(release=7)


def test_the_snapshot(server, tmp_path):
    with scripted_client(server, tmp_path) as api:
        assert api.snapshot().num_rows == 3


def test_the_async_client_downloads_the_same(server, tmp_path):
    async def pull():
        async with AsyncClient(BASE, transport=httpx.MockTransport(server), cache_dir=tmp_path) as api:
            return await api.dataset("demo").download(), await api.snapshot(), await api.dataset("demo").release()

    table, snapshot, release = asyncio.run(pull())
    assert table.equals(server.tables[2]) and snapshot.num_rows == 3 and release.id == 2


def _no_wait():
    from levelup_client import Retry

    return Retry(sleep=lambda s: None, random=lambda: 0.0)


# -- the real routes -------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def bulk_api(written):
    """A gunicorn started once the session's bulk files are written (it reads the test settings' BULK_DIR,
    tests/live_server.py): not the session's, whose workers may each see the write's new data version a
    moment apart, so that a revalidation meant to be a 304 could meet a worker with the other ETag."""
    with gunicorn() as url:
        yield url


@pytest.mark.django_db
def test_iod2025_straight_into_arrow(bulk_api, tmp_path):
    api, tap = tapped(bulk_api, cache_dir=tmp_path)
    with api:
        [iod] = [d for d in api.datasets() if d.slug == "iod2025"]
        listed = iod.current_release.downloads["parquet"]
        assert listed.rows == 810_120 and len(listed.sha256) == 64 and listed.size > 0
        table = api.dataset("iod2025").download()
        assert table.num_rows == 810_120 and table.column_names == COLUMNS
        assert table.schema.field("period_start").type == pa.date32()
        assert (tmp_path / "files" / f"{listed.sha256}.parquet").stat().st_size == listed.size
        # the values are the API's
        [row] = api.observations("iod2025-imd-score", area="E01000001").to_list()
        mask = pc.and_(pc.equal(table["indicator"], "iod2025-imd-score"), pc.equal(table["area_code"], "E01000001"))
        [from_file] = table.filter(mask).to_pylist()
        assert from_file["value"] == row.value == 8.742 and from_file["release_id"] == iod.current_release.id
        # again: the dataset's document is revalidated (a 304), the file is not fetched
        before = len(tap.requests)
        assert api.dataset("iod2025").download(columns=["area_code", "value"]).num_rows == 810_120
        assert tap.statuses[before:] == [304]
        # pinned to the current release: the same file
        assert api.pinned(release=iod.current_release.id).dataset("iod2025").download().equals(table)
        with pytest.raises(NotFound, match="published on or before 2025-01-01"):
            api.pinned(as_of="2025-01-01").dataset("iod2025").download()


@pytest.mark.django_db
def test_the_national_snapshot(bulk_api, tmp_path):
    with Client(bulk_api, cache_dir=tmp_path) as api:
        listed = api.datasets().meta["snapshot"]
        table = api.snapshot(columns=["dataset", "indicator", "value"])
    assert table.num_rows == listed["rows"] == listed["downloads"]["parquet"]["rows"]
    datasets = set(table.column("dataset").unique().to_pylist())
    assert {"iod2025", "gross-median-weekly-pay"} <= datasets

"""The datasets routes and bulk downloads over REST: the lists (fields, statements), and each file
served as a static file is (Content-Length, strong ETag, Repr-Digest, ranges, 304, 416), from the
files written from the real load (tests/indicators/bulk_helpers.py)."""

from __future__ import annotations

import base64
import hashlib

import pytest
from django.conf import settings
from django.utils.http import http_date

from indicators.models import BulkFile, Dataset, Indicator, Observation, Release
from tests.builders import levelup
from tests.indicators.bulk_helpers import sha256_of

pytestmark = pytest.mark.django_db


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def iod_url(written, fmt: str = "parquet") -> str:
    return f"/api/v1/datasets/iod2025/releases/{written.release_ids['iod2025']}/download.{fmt}"


def test_the_list_names_each_dataset_its_current_release_and_files(written, api, django_assert_num_queries):
    with django_assert_num_queries(2):  # the datasets (publishers, indicators, current release), the files
        response = api.get("/api/v1/datasets/")
    assert response.status_code == 200
    doc = response.json()
    assert doc["count"] == len(doc["results"]) == Dataset.objects.count()
    iod = next(d for d in doc["results"] if d["slug"] == "iod2025")
    assert iod["title"] == "English Indices of Deprivation 2025"
    assert iod["publishers"] == ["Ministry of Housing, Communities and Local Government"]
    assert iod["licence"] == "Open Government Licence v3.0" and iod["licence_url"].endswith("/version/3/")
    assert iod["url"] == "http://testserver/api/v1/datasets/iod2025/"
    assert len(iod["indicators"]) == 24 and "iod2025-imd-score" in iod["indicators"]
    current = iod["current_release"]
    assert (current["label"], current["release_date"]) == ("IoD2025", "2025-10-30")
    assert current["id"] == written.release_ids["iod2025"] and current["release_ids"] == [current["id"]]
    parquet = current["downloads"]["parquet"]
    path = written.files["iod2025", "parquet"]
    assert parquet == {
        "url": "http://testserver" + iod_url(written),
        "size": path.stat().st_size,
        "sha256": sha256_of(path),
        "rows": 810_120,
        "media_type": "application/vnd.apache.parquet",
        "written_at": parquet["written_at"],
    }
    assert current["downloads"]["csv.gz"]["media_type"] == "application/gzip"
    assert current["downloads"]["csv.gz"]["rows"] == 810_120
    snapshot = doc["snapshot"]
    assert snapshot["downloads"]["parquet"]["url"] == "http://testserver/api/v1/datasets/snapshot.parquet"
    assert snapshot["downloads"]["csv.gz"]["url"] == "http://testserver/api/v1/datasets/snapshot.csv.gz"
    assert snapshot["rows"] == BulkFile.objects.get(release__isnull=True, format="parquet").rows
    # Wales's index has two files (scores, ranks): the later release carries the scores forward, so its
    # one release holds the whole dataset.
    wimd = next(d for d in doc["results"] if d["slug"] == "wimd2019")["current_release"]
    assert wimd["release_ids"] == [wimd["id"]] and wimd["label"] == "WIMD 2019 ranks"
    held = Observation.objects.filter(release_id=wimd["id"]).values("indicator_id").distinct().count()
    assert held == Indicator.objects.filter(dataset__slug="wimd2019").count() > 1


def test_unknown_parameters_are_refused(written, api):
    response = api.get("/api/v1/datasets/", {"page": "2"})
    assert response.status_code == 400 and response.json()["parameter"] == "page"
    response = api.get(iod_url(written), {"columns": "value"})
    assert response.status_code == 400 and response.json()["parameter"] == "columns"


def test_one_dataset_with_its_releases(written, api, django_assert_num_queries):
    with django_assert_num_queries(3):  # the dataset, its releases, its files
        response = api.get("/api/v1/datasets/iod2025/")
    doc = response.json()
    release = Release.objects.get(dataset__slug="iod2025", label="IoD2025")
    assert doc["releases"] == [
        {
            "id": release.id,
            "label": "IoD2025",
            "release_date": "2025-10-30",
            "state": "published",
            "is_current": True,
            "url": f"http://testserver/api/v1/datasets/iod2025/releases/{release.id}/",
        }
    ]
    assert doc["current_release"]["downloads"]["parquet"]["rows"] == 810_120
    missing = api.get("/api/v1/datasets/no-such-dataset/")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    assert "no-such-dataset" in missing.json()["message"]


def test_one_release_with_its_files(written, api, django_assert_num_queries):
    release_id = written.release_ids["iod2025"]
    with django_assert_num_queries(2):  # the release, its files
        doc = api.get(f"/api/v1/datasets/iod2025/releases/{release_id}/").json()
    assert (doc["label"], doc["is_current"], doc["dataset"]) == ("IoD2025", True, "iod2025")
    assert set(doc["downloads"]) == {"parquet", "csv.gz"}
    assert api.get(f"/api/v1/datasets/gross-median-weekly-pay/releases/{release_id}/").status_code == 404
    bad = api.get("/api/v1/datasets/iod2025/releases/x1/")
    assert bad.status_code == 400 and bad.json()["parameter"] == "id"


def test_a_download_is_the_file_with_its_validators(written, api, django_assert_num_queries):
    path = written.files["iod2025", "parquet"]
    raw = path.read_bytes()
    with django_assert_num_queries(1):
        response = api.get(iod_url(written))
    assert response.status_code == 200 and response.streaming
    assert body(response) == raw
    digest = hashlib.sha256(raw)
    assert response["Content-Type"] == "application/vnd.apache.parquet"
    assert response["Content-Length"] == str(len(raw))
    assert response["ETag"] == f'"{digest.hexdigest()}"'  # strong
    assert response["Repr-Digest"] == f"sha-256=:{base64.b64encode(digest.digest()).decode()}:"
    assert response["Digest"] == f"SHA-256={base64.b64encode(digest.digest()).decode()}"
    assert response["Accept-Ranges"] == "bytes"
    record = BulkFile.objects.get(dataset__slug="iod2025", format="parquet")
    assert response["Last-Modified"] == http_date(int(record.written_at.timestamp()))
    assert response["Content-Disposition"] == (
        f'attachment; filename="iod2025-release-{written.release_ids["iod2025"]}.parquet"'
    )
    head = api.head(iod_url(written))
    assert head.status_code == 200 and head.content == b"" and head["Content-Length"] == str(len(raw))
    assert head["ETag"] == response["ETag"]


def test_downloads_are_sent_as_stored_never_compressed_again(written, api):
    for url, fmt in [(iod_url(written, "csv.gz"), "csv.gz"), ("/api/v1/datasets/snapshot.parquet", "parquet")]:
        name = "iod2025" if "iod2025" in url else "snapshot"
        response = api.get(url, HTTP_ACCEPT_ENCODING="gzip, deflate, br")
        assert response.status_code == 200 and not response.has_header("Content-Encoding")
        assert body(response) == written.files[name, fmt].read_bytes()
        assert response["Content-Length"] == str(written.files[name, fmt].stat().st_size)
    assert api.get(iod_url(written, "csv.gz"))["Content-Type"] == "application/gzip"


def test_byte_ranges(written, api):
    raw = written.files["iod2025", "parquet"].read_bytes()
    size = len(raw)
    url = iod_url(written)
    for header, first, last in [
        ("bytes=0-3", 0, 3),
        ("bytes=4-", 4, size - 1),
        ("bytes=-8", size - 8, size - 1),
        (f"bytes=100-{size + 50}", 100, size - 1),
        ("bytes=7-7", 7, 7),
        (f"bytes=-{size + 10}", 0, size - 1),
        ("BYTES = 10-19", 10, 19),
    ]:
        response = api.get(url, HTTP_RANGE=header)
        assert response.status_code == 206, header
        assert response["Content-Range"] == f"bytes {first}-{last}/{size}", header
        assert response["Content-Length"] == str(last - first + 1)
        assert body(response) == raw[first : last + 1], header
        assert response["ETag"] == f'"{sha256_of(written.files["iod2025", "parquet"])}"'
    assert body(api.get(url, HTTP_RANGE="bytes=0-3")) == b"PAR1" == body(api.get(url, HTTP_RANGE="bytes=-4"))
    # Ignored (the whole file, 200): another unit, bad syntax, a range that ends before it starts, several ranges.
    for header in ["items=0-3", "bytes=abc", "bytes=5-2", "bytes=0-1,4-5", "bytes=", "bytes=٣-٤"]:
        response = api.get(url, HTTP_RANGE=header)
        assert response.status_code == 200 and response["Content-Length"] == str(size), header
    # HEAD has no ranges.
    assert api.head(url, HTTP_RANGE="bytes=0-3").status_code == 200


def test_a_range_past_the_end_is_a_416(written, api):
    size = written.files["iod2025", "parquet"].stat().st_size
    for header in [f"bytes={size}-", f"bytes={size + 100}-{size + 200}", "bytes=-0"]:
        response = api.get(iod_url(written), HTTP_RANGE=header)
        assert response.status_code == 416, header
        assert response["Content-Range"] == f"bytes */{size}"
        assert response.json()["error"] == "range_not_satisfiable" and str(f"{size:,}") in response.json()["message"]


def test_if_range_sends_the_range_only_for_the_same_file(written, api):
    response = api.get(iod_url(written))
    etag, modified = response["ETag"], response["Last-Modified"]
    assert api.get(iod_url(written), HTTP_RANGE="bytes=0-3", HTTP_IF_RANGE=etag).status_code == 206
    assert api.get(iod_url(written), HTTP_RANGE="bytes=0-3", HTTP_IF_RANGE=modified).status_code == 206
    for other in ['"0123"', f"W/{etag}", "Mon, 01 Jan 2024 00:00:00 GMT", "not a date"]:
        changed = api.get(iod_url(written), HTTP_RANGE="bytes=0-3", HTTP_IF_RANGE=other)
        assert changed.status_code == 200 and changed["Content-Length"] == response["Content-Length"], other


def test_conditional_requests(written, api):
    first = api.get(iod_url(written))
    etag, modified = first["ETag"], first["Last-Modified"]
    for headers in [
        {"HTTP_IF_NONE_MATCH": etag},
        {"HTTP_IF_NONE_MATCH": f'"x", W/{etag}'},
        {"HTTP_IF_NONE_MATCH": "*"},
        {"HTTP_IF_MODIFIED_SINCE": modified},
    ]:
        again = api.get(iod_url(written), **headers)
        assert again.status_code == 304 and again.content == b"", headers
        assert again["ETag"] == etag and again["Last-Modified"] == modified
    assert api.get(iod_url(written), HTTP_IF_NONE_MATCH='"other"').status_code == 200
    assert api.get(iod_url(written), HTTP_IF_MODIFIED_SINCE="Mon, 01 Jan 2024 00:00:00 GMT").status_code == 200
    assert api.get(iod_url(written), HTTP_IF_MATCH=etag, HTTP_RANGE="bytes=0-1").status_code == 206
    refused = api.get(iod_url(written), HTTP_IF_MATCH='"other"')
    assert refused.status_code == 412 and refused.json()["error"] == "precondition_failed"


def test_missing_datasets_releases_and_files_are_404s_that_say_which(written, api):
    unknown = api.get("/api/v1/datasets/no-such-dataset/releases/1/download.parquet")
    assert unknown.status_code == 404 and "No dataset 'no-such-dataset'" in unknown.json()["message"]
    other = api.get(
        f"/api/v1/datasets/gross-median-weekly-pay/releases/{written.release_ids['iod2025']}/download.parquet"
    )
    assert other.status_code == 404 and "No published release" in other.json()["message"]
    never = api.get("/api/v1/datasets/iod2025/releases/2147483647/download.csv.gz")
    assert never.status_code == 404
    # A release still held but with no file (an earlier one, superseded before files were written).
    dataset = Dataset.objects.get(slug="iod2025")
    old = Release.objects.create(dataset=dataset, label="IoD2025 (earlier)", release_date="2025-09-01")
    held = api.get(f"/api/v1/datasets/iod2025/releases/{old.id}/download.parquet")
    assert held.status_code == 404
    assert "is held, but no parquet file is kept" in held.json()["message"]
    assert "as_of=2025-09-01" in held.json()["message"]
    draft = Release.objects.create(
        dataset=dataset, label="IoD2026 draft", release_date="2026-09-01", state=Release.State.DRAFT
    )
    assert (
        "No published release"
        in api.get(f"/api/v1/datasets/iod2025/releases/{draft.id}/download.parquet").json()["message"]
    )
    for bad in ["abc", "0", "-1", "99999999999", "1.5"]:
        response = api.get(f"/api/v1/datasets/iod2025/releases/{bad}/download.parquet")
        assert response.status_code == 400 and response.json()["parameter"] == "id", bad


def test_a_superseded_release_keeps_its_file(written, api):
    """A newer release of pay becomes current (its rows copied in SQL): the list names it, with no file
    yet, and the superseded release's files are still served."""
    from django.db import connection

    from indicators.partitions import partition_ensure
    from indicators.services import release_currency_set

    old = written.release_ids["gross-median-weekly-pay"]
    new = Release.objects.create(
        dataset_id=Release.objects.get(id=old).dataset_id, label="ASHE revised", release_date="2026-11-25"
    )
    with connection.cursor() as cursor:
        partition_ensure(cursor, new.id)
        cursor.execute(
            """
            INSERT INTO indicators_observation (indicator_id, area_id, period_id, release_id, value, lci, uci, status,
                                                note, rank, rank_of)
            SELECT indicator_id, area_id, period_id, %s, value, lci, uci, status, note, rank, rank_of
            FROM indicators_observation WHERE release_id = %s""",
            [new.id, old],
        )
    assert release_currency_set(dataset_id=new.dataset_id, files=False)
    listed = api.get("/api/v1/datasets/gross-median-weekly-pay/").json()
    assert listed["current_release"]["id"] == new.id and listed["current_release"]["downloads"] == {}
    releases = [(r["id"], r["is_current"]) for r in listed["releases"]]
    assert releases[:2] == [(new.id, True), (old, False)] and not any(current for _, current in releases[2:])
    response = api.get(f"/api/v1/datasets/gross-median-weekly-pay/releases/{old}/download.parquet")
    assert response.status_code == 200
    assert body(response) == written.files["gross-median-weekly-pay", "parquet"].read_bytes()
    missing = api.get(f"/api/v1/datasets/gross-median-weekly-pay/releases/{new.id}/download.parquet")
    assert missing.status_code == 404 and "no parquet file is kept" in missing.json()["message"]


def test_a_recorded_file_missing_from_disk_is_a_404(written, api, tmp_path):
    with levelup(BULK_DIR=tmp_path):
        response = api.get(iod_url(written))
    assert response.status_code == 404 and "not on this server's disk" in response.json()["message"]


def test_the_snapshot_downloads(written, api):
    for fmt in ["parquet", "csv.gz"]:
        response = api.get(f"/api/v1/datasets/snapshot.{fmt}", HTTP_RANGE="bytes=0-1")
        assert response.status_code == 206
        assert body(response) == written.files["snapshot", fmt].read_bytes()[:2]
    assert body(api.get("/api/v1/datasets/snapshot.csv.gz", HTTP_RANGE="bytes=0-1")) == b"\x1f\x8b"  # gzip
    assert api.get("/api/v1/datasets/snapshot.parquet")["Content-Disposition"] == (
        'attachment; filename="levelup-snapshot.parquet"'
    )


def test_content_negotiation(written, api):
    assert api.get(iod_url(written), HTTP_ACCEPT="application/vnd.apache.parquet").status_code == 200
    assert api.get(iod_url(written), HTTP_ACCEPT="*/*").status_code == 200
    assert api.get(iod_url(written), HTTP_ACCEPT="application/xml").status_code == 406
    wrong = api.get(iod_url(written), {"format": "json"})
    assert wrong.status_code == 400 and wrong.json()["parameter"] == "format"


@levelup(
    HTTP_CACHING=True, QUOTAS_ENABLED=True, QUOTAS={**settings.LEVELUP["QUOTAS"], "anon": "2/min", "downloads": "3/min"}
)
def test_caching_and_quotas_in_production_leave_the_files_validators(written, client, fresh_counters):
    """With the API's caching on, a download keeps its own strong ETag (not the data version's), a 304
    for it counts against no quota, and downloads are counted apart from other requests."""
    url = iod_url(written)
    first = client.get(url, HTTP_RANGE="bytes=0-3")
    assert first.status_code == 206 and first["ETag"] == f'"{sha256_of(written.files["iod2025", "parquet"])}"'
    assert (first["X-RateLimit-Limit"], first["X-RateLimit-Remaining"]) == ("3", "2")
    for _ in range(5):
        assert client.get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    full = client.get(url)
    assert full.status_code == 200 and full["ETag"] == first["ETag"] and full["X-RateLimit-Remaining"] == "1"
    assert full["Cache-Control"] == f"public, max-age={settings.LEVELUP['CACHE_MAX_AGE']}"
    assert client.get("/api/v1/areas/E06000009/")["X-RateLimit-Remaining"] == "1"  # the anonymous quota: untouched
    client.get(url, HTTP_RANGE="bytes=0-0")
    refused = client.get(url, HTTP_RANGE="bytes=0-0")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    listed = client.get("/api/v1/datasets/")
    assert listed.status_code == 200 and listed["ETag"].startswith('W/"')  # the list: the data version's tag


def test_each_indicator_links_to_its_dataset(api):
    doc = api.get("/api/v1/indicators/iod2025-imd-score/").json()
    assert doc["dataset"] == "iod2025"
    assert doc["dataset_url"] == "http://testserver/api/v1/datasets/iod2025/"
    assert api.get(doc["dataset_url"]).json()["slug"] == "iod2025"

"""Bulk files (indicators.bulk) from the real national load: DuckDB reads them, their rows are the
API's, and they are written only when what they hold changed, completely or not at all."""

from __future__ import annotations

import csv
import datetime as dt
import gzip

import duckdb
import pyarrow.parquet as pq
import pytest

from indicators import bulk
from indicators.bulk import SCHEMA, bulk_refresh
from indicators.models import BulkFile, Observation, Release
from levelup_api.core.models import IngestRun
from tests.builders import levelup
from tests.indicators.bulk_helpers import SLUGS, sha256_of

pytestmark = pytest.mark.django_db

COLUMN_TYPES = [
    ("indicator", "VARCHAR"),
    ("area_code", "VARCHAR"),
    ("area_name", "VARCHAR"),
    ("area_type", "VARCHAR"),
    ("period", "VARCHAR"),
    ("period_start", "DATE"),
    ("period_end", "DATE"),
    ("value", "DOUBLE"),
    ("lci", "DOUBLE"),
    ("uci", "DOUBLE"),
    ("numerator", "DOUBLE"),
    ("denominator", "DOUBLE"),
    ("status", "VARCHAR"),
    ("rank", "INTEGER"),
    ("rank_of", "INTEGER"),
    ("release_id", "INTEGER"),
    ("release_label", "VARCHAR"),
    ("dataset", "VARCHAR"),
]
CSV_TYPES = "{" + ", ".join(f"'{c}': '{t}'" for c, t in COLUMN_TYPES) + "}"


def parquet(written, slug="iod2025") -> str:
    return str(written.files[slug, "parquet"])


def csv_gz(written, slug="iod2025") -> str:
    return str(written.files[slug, "csv.gz"])


def test_duckdb_counts_every_iod2025_row_with_the_columns_typed(written):
    assert duckdb.connect().execute(f"SELECT count(*) FROM '{parquet(written)}'").fetchone() == (810_120,)
    described = duckdb.connect().execute(f"DESCRIBE SELECT * FROM '{parquet(written)}'").fetchall()
    assert [(row[0], row[1]) for row in described] == COLUMN_TYPES
    assert pq.read_schema(parquet(written)).remove_metadata() == SCHEMA
    per_indicator = (
        duckdb.connect()
        .execute(
            f"SELECT count(DISTINCT indicator), min(n), max(n) FROM "
            f"(SELECT indicator, count(*) n FROM '{parquet(written)}' GROUP BY 1)"
        )
        .fetchone()
    )
    assert per_indicator == (24, 33_755, 33_755)  # 24 measures for each of England's 33,755 LSOAs
    meta = pq.ParquetFile(parquet(written)).metadata
    assert meta.row_group(0).column(7).compression == "ZSTD"
    assert meta.num_row_groups == 4  # 810,120 rows in groups of 262,144


def test_a_whole_indicator_equals_the_apis_csv(written, api):
    """Every LSOA's IMD 2025 score, rank and decile, in the file and from /observations/ (CSV)."""
    for slug in ["iod2025-imd-score", "iod2025-imd-rank", "iod2025-imd-decile"]:
        response = api.get("/api/v1/observations/", {"indicator": slug, "type": "LSOA", "format": "csv"})
        lines = b"".join(response.streaming_content).decode().splitlines()
        assert lines[0].split(",")[:6] == ["area_code", "area_name", "indicator", "period", "period_iso", "value"]
        served = {row[0]: (row[4], float(row[5])) for row in csv.reader(lines[1:])}
        rows = (
            duckdb.connect()
            .execute(f"SELECT area_code, period, value FROM '{parquet(written)}' WHERE indicator = ?", [slug])
            .fetchall()
        )
        assert len(rows) == len(served) == 33_755
        assert {code: (period, value) for code, period, value in rows} == served


def test_a_sample_of_areas_has_every_field_the_api_serves(written, api):
    areas = ["E01000001", "E01005061", "E01012681", "E01033767"]  # City of London, Manchester, Blackpool, ...
    served = api.get(
        "/api/v1/observations/",
        {
            "indicator": ",".join(
                f"iod2025-{d}-{m}" for d in ("imd", "income", "health", "crime") for m in ("score", "rank", "decile")
            ),
            "area": ",".join(areas),
        },
    ).json()["results"]
    assert len(served) == 4 * 12
    con = duckdb.connect()
    for row in served:
        got = con.execute(
            f"SELECT area_name, period, value, lci, uci, status, area_type, release_label, dataset "
            f"FROM '{parquet(written)}' WHERE indicator = ? AND area_code = ?",
            [row["indicator"], row["area_code"]],
        ).fetchall()
        assert got == [
            (
                row["area_name"],
                row["period_iso"],
                row["value"],
                row["lci"],
                row["uci"],
                row["status"],
                "LSOA",
                "IoD2025",
                "iod2025",
            )
        ]
    score, rank, rank_of, start, end = con.execute(
        f"SELECT value, rank, rank_of, period_start, period_end FROM '{parquet(written)}' "
        "WHERE indicator = 'iod2025-imd-score' AND area_code = 'E01000001'"
    ).fetchone()
    assert (score, start, end) == (8.742, dt.date(2025, 10, 30), dt.date(2025, 10, 30))
    assert (rank, rank_of) == tuple(
        Observation.objects.filter(
            indicator__slug="iod2025-imd-score", area__code="E01000001", release__is_current=True
        ).values_list("rank", "rank_of")[0]
    )


def test_confidence_limits_and_statuses_as_the_api_serves_them(written, api):
    """Pay has CIs and status letters: Blackpool's and every district's, file against API."""
    served = api.get(
        "/api/v1/observations/", {"indicator": "gross-median-weekly-pay", "type": "LAD", "page_size": 100000}
    ).json()["results"]
    got = {
        (r[0], r[1]): r[2:]
        for r in duckdb.connect()
        .execute(
            f"SELECT area_code, period, value, lci, uci, status FROM '{parquet(written, 'gross-median-weekly-pay')}' "
            "WHERE area_type = 'LAD'"
        )
        .fetchall()
    }
    assert len(served) > 3000 and len(got) == len(served)
    assert all(got[r["area_code"], r["period_iso"]] == (r["value"], r["lci"], r["uci"], r["status"]) for r in served)
    assert got["E06000009", "2025-04-30"][0] == 539.9  # Blackpool, as the README shows
    assert any(status for *_, status in got.values())


def test_the_gzipped_csv_holds_the_same_rows(written):
    with gzip.open(csv_gz(written), "rt", encoding="utf-8") as fh:
        assert fh.readline().rstrip("\n").split(",") == [c for c, _ in COLUMN_TYPES]
    from_csv = f"read_csv('{csv_gz(written)}', header = true, columns = {CSV_TYPES})"
    con = duckdb.connect()
    assert con.execute(f"SELECT count(*) FROM {from_csv}").fetchone() == (810_120,)
    # NULL status in CSV is an empty field: as the API's CSV writes it, read back as ''.
    query = (
        f"SELECT * REPLACE (coalesce(status, '') AS status) FROM {from_csv} "
        f"EXCEPT ALL SELECT * FROM '{parquet(written)}'"
    )
    assert con.execute(f"SELECT count(*) FROM ({query})").fetchone() == (0,)


def test_rows_are_ordered_by_indicator_period_and_area_code(written):
    table = pq.read_table(parquet(written), columns=["indicator", "period", "area_code"])
    keys = list(zip(*(table[c].to_pylist() for c in ("indicator", "period", "area_code")), strict=True))
    assert keys == sorted(keys)


def test_the_snapshot_holds_every_current_observation(written):
    current = Observation.objects.filter(release__is_current=True).count()
    snapshot = parquet(written, "snapshot")
    con = duckdb.connect()
    assert con.execute(f"SELECT count(*) FROM '{snapshot}'").fetchone() == (current,)
    per_dataset = dict(con.execute(f"SELECT dataset, count(*) FROM '{snapshot}' GROUP BY 1").fetchall())
    assert per_dataset["iod2025"] == 810_120
    assert (
        per_dataset["gross-median-weekly-pay"]
        == con.execute(f"SELECT count(*) FROM '{parquet(written, 'gross-median-weekly-pay')}'").fetchone()[0]
    )
    assert con.execute(f"SELECT count(*) FROM '{csv_gz(written, 'snapshot')}'").fetchone() == (current,)
    record = BulkFile.objects.get(release__isnull=True, format="parquet")
    assert record.rows == current and record.size == written.files["snapshot", "parquet"].stat().st_size
    assert record.sha256 == sha256_of(written.files["snapshot", "parquet"])
    assert {"E92000001", "W92000004", "S92000003", "N92000002"} <= set(record.summary["nations"])


def test_records_describe_the_files(written):
    for (_, fmt), path in written.files.items():
        record = BulkFile.objects.get(path=str(path.relative_to(bulk.bulk_dir())))
        assert (record.format, record.size, record.sha256) == (fmt, path.stat().st_size, sha256_of(path))
    iod = BulkFile.objects.get(dataset__slug="iod2025", format="parquet")
    assert iod.release == Release.objects.get(dataset__slug="iod2025", label="IoD2025")
    assert iod.summary == {
        "period_start": "2025-10-30",
        "period_end": "2025-10-30",
        "area_types": {"LSOA": 810_120},
        "nations": ["E92000001"],
        "indicators": 24,
    }


def test_an_unchanged_release_is_not_written_again(written, django_assert_num_queries):
    mtimes = {key: path.stat().st_mtime_ns for key, path in written.files.items()}
    runs = IngestRun.objects.filter(dataset="bulk").count()
    # The lock and its release, runs left running, the two plan statements (one index probe per
    # indicator), the records, the sweep's list: no row is copied.
    with django_assert_num_queries(7):
        outcomes = bulk_refresh(datasets=SLUGS)
    assert [(o.name, o.state) for o in outcomes] == [
        ("gross-median-weekly-pay", "unchanged"),
        ("iod2025", "unchanged"),
        ("snapshot", "unchanged"),
    ]
    assert {key: path.stat().st_mtime_ns for key, path in written.files.items()} == mtimes
    assert IngestRun.objects.filter(dataset="bulk").count() == runs


def test_a_file_gone_from_disk_is_written_again(written, tmp_path):
    """A file recorded but missing (another disk, a deletion) is not up to date: it is rewritten, here
    into another folder, and the records follow it."""
    with levelup(BULK_DIR=tmp_path):
        outcomes = bulk_refresh(datasets=["gross-median-weekly-pay"], snapshot=False)
        assert [(o.name, o.state) for o in outcomes] == [("gross-median-weekly-pay", "written")]
        record = BulkFile.objects.get(dataset__slug="gross-median-weekly-pay", format="csv.gz")
        path = bulk.bulk_path(record)
        assert path.is_relative_to(tmp_path) and record.sha256 == sha256_of(path)
        run = IngestRun.objects.filter(dataset="bulk", source="gross-median-weekly-pay").latest("started_at")
        assert run.state == "succeeded" and run.rows_read == record.rows


def test_a_failed_write_leaves_no_file_recorded(written, tmp_path, monkeypatch):
    """The write dies halfway through the Parquet file: the files recorded are still the old ones, and
    no temporary file is left."""
    before = {r.format: (r.path, r.sha256) for r in BulkFile.objects.filter(dataset__slug="gross-median-weekly-pay")}
    real = bulk._write_files

    def dies(cursor, plan, parquet_tmp, csv_tmp):
        real(cursor, plan, parquet_tmp, csv_tmp)
        parquet_tmp.write_bytes(parquet_tmp.read_bytes()[:1000])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(bulk, "_write_files", dies)
    with levelup(BULK_DIR=tmp_path):
        outcomes = bulk_refresh(datasets=["gross-median-weekly-pay"], snapshot=False, force=True)
        folder = bulk.bulk_dir()  # the database's own folder in BULK_DIR
    assert [(o.name, o.state) for o in outcomes] == [("gross-median-weekly-pay", "failed")]
    assert "No space left" in outcomes[0].error
    after = {r.format: (r.path, r.sha256) for r in BulkFile.objects.filter(dataset__slug="gross-median-weekly-pay")}
    assert after == before
    assert sorted(folder.rglob("*")) == [folder / "datasets", folder / "datasets" / "gross-median-weekly-pay"]
    run = IngestRun.objects.filter(dataset="bulk", source="gross-median-weekly-pay").latest("started_at")
    assert run.state == "failed" and "No space left" in run.error


def test_a_failure_mid_stream_stops_the_copy_and_records_nothing(written, tmp_path, monkeypatch):
    """The parser fails on the third block of pay's COPY (blocks of 64 KiB here): the COPY is abandoned,
    nothing is recorded or left on disk, and the connection goes on working."""
    before = {r.format: r.sha256 for r in BulkFile.objects.filter(dataset__slug="gross-median-weekly-pay")}
    monkeypatch.setattr(bulk, "BLOCK_BYTES", 64 << 10)
    real, calls = bulk.pacsv.read_csv, []

    def parse(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise ValueError("CSV parse error: expected 18 columns, got 3")
        return real(*args, **kwargs)

    monkeypatch.setattr(bulk.pacsv, "read_csv", parse)
    with levelup(BULK_DIR=tmp_path):
        (outcome,) = bulk_refresh(datasets=["gross-median-weekly-pay"], snapshot=False, force=True)
        folder = bulk.bulk_dir() / "datasets" / "gross-median-weekly-pay"
        assert (outcome.state, len(calls)) == ("failed", 3) and "expected 18 columns" in outcome.error
        assert list(folder.iterdir()) == []
    assert {r.format: r.sha256 for r in BulkFile.objects.filter(dataset__slug="gross-median-weekly-pay")} == before
    assert Observation.objects.filter(indicator__slug="gross-median-weekly-pay", release__is_current=True).count() > 7000


def test_publishing_rewrites_the_files_once_committed(written, tmp_path, django_capture_on_commit_callbacks):
    """Unpublishing pay's release (the admin's action): once committed, the snapshot is written again
    without pay's rows, and pay's files stay under its release, which is still held."""
    from indicators.services import releases_state_set

    pay = Release.objects.get(
        dataset__slug="gross-median-weekly-pay", id=written.release_ids["gross-median-weekly-pay"]
    )
    pay_rows = BulkFile.objects.get(release=pay, format="parquet").rows
    current = Observation.objects.filter(release__is_current=True).count()
    with levelup(BULK_DIR=tmp_path, BULK_ON_LOAD=True):
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            releases_state_set(releases=Release.objects.filter(dataset__slug="gross-median-weekly-pay"),
                               state=Release.State.DRAFT)
        # Three releases unpublished in one transaction: the files are written once, after it.
        assert len([c for c in callbacks if getattr(c, "dataset_id", None) == pay.dataset_id]) == 1
        snapshot = BulkFile.objects.get(release__isnull=True, format="parquet")
        assert snapshot.rows == current - pay_rows
        assert duckdb.connect().execute(
            f"SELECT count(*) FROM '{bulk.bulk_path(snapshot)}' WHERE dataset = 'gross-median-weekly-pay'"
        ).fetchone() == (0,)
    assert BulkFile.objects.filter(release=pay).count() == 2


def test_loads_hand_the_datasets_they_changed_to_the_writer(monkeypatch):
    """indicators_load calls the writer after its files committed, with the datasets it loaded."""
    from indicators import services
    from indicators.ingest.spec import sources_all

    calls = []
    monkeypatch.setattr(services, "bulk_after_change", lambda *, datasets: calls.append(sorted(datasets)))
    from django.conf import settings

    services.indicators_load(data_dir=settings.LEVELUP_DATA_DIR, only=["els-gross-median-weekly-pay"], force=True)
    assert calls == [["gross-median-weekly-pay"]]
    assert [s.dataset for s in sources_all(settings.LEVELUP_DATA_DIR) if s.name == "els-gross-median-weekly-pay"] == [
        "gross-median-weekly-pay"
    ]
    services.indicators_load(data_dir=settings.LEVELUP_DATA_DIR, only=["els-gross-median-weekly-pay"])
    assert calls[-1] == []  # unchanged: nothing loaded, nothing to write

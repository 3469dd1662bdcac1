"""Staging a CSV file: streamed to COPY when that is exact, read in Python when it is not, and
either way every record keeps its physical line number and faults name their line and column."""

import pytest
from django.db import connection, transaction

from levelup_api.core.ingest import IngestError, stage_csv

pytestmark = pytest.mark.django_db


def staged(path, **kwargs) -> tuple[list[str], int, list[tuple]]:
    with transaction.atomic():
        header, n = stage_csv(path, "stg_test", label=path.name, **kwargs)
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM stg_test ORDER BY _line")
            return header, n, cursor.fetchall()


def test_streamed_file_in_cp1252_with_header_on_line_three(tmp_path):
    path = tmp_path / "sni.csv"
    path.write_bytes("A disclaimer sentence\r\n\r\nAREACD, Unit ,Value\r\nE06000001,\xa3,31.85\r\nE06000002,,\r\n"
                     .encode("cp1252"))
    header, n, rows = staged(path, encoding="cp1252", header_line=3, required=["AREACD", "Unit"])
    assert header == ["AREACD", "Unit", "Value"]
    assert n == 2
    # Lines 4 and 5 of the file; the pound sign decoded; empty fields are '' as on the Python path.
    assert rows == [(4, "E06000001", "£", "31.85"), (5, "E06000002", "", "")]


def test_quoted_line_break_and_blank_line_keep_physical_line_numbers(tmp_path):
    path = tmp_path / "notes.csv"
    path.write_text('code,note\nE1,"two\nlines"\n\nE2,plain\n', encoding="utf-8")
    header, n, rows = staged(path, encoding="utf-8-sig")
    assert n == 2
    assert rows == [(2, "E1", "two\nlines"), (5, "E2", "plain")]


def test_bom_and_no_final_newline(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbfcode,value\r\nE1,1\r\nE2,2")
    header, n, rows = staged(path, encoding="utf-8-sig")
    assert header == ["code", "value"] and n == 2
    assert rows == [(2, "E1", "1"), (3, "E2", "2")]


@pytest.mark.parametrize(("raw", "line", "column", "reason"), [
    (b"code,value\nE1,1\nE2,\xff2\n", 3, 4, "cannot decode as utf-8"),
    (b"code,value\nE1,1\nE2,2\x00\n", 3, 5, "NUL byte"),
    (b"code,value\nE1,1\nE2,2,3\n", 3, 3, "expected 2 fields, found 3"),
])
def test_faults_name_line_and_column_and_stage_nothing(tmp_path, raw, line, column, reason):
    path = tmp_path / "bad.csv"
    path.write_bytes(raw)
    with pytest.raises(IngestError) as exc:
        staged(path, encoding="utf-8")
    assert (exc.value.line, exc.value.column) == (line, column)
    assert reason in exc.value.reason and exc.value.file == "bad.csv"


def test_missing_required_column(tmp_path):
    path = tmp_path / "cols.csv"
    path.write_text("code,name\nE1,x\n", encoding="utf-8")
    with pytest.raises(IngestError) as exc:
        staged(path, encoding="utf-8", required=["code", "value"])
    assert exc.value.line == 1 and exc.value.column == "value"

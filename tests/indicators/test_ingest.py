"""Indicator ingest failures: a bad file is rejected with its line, column and value, and the
database is left exactly as it was."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from indicators.models import Observation, Release
from tests.builders import data_path

pytestmark = pytest.mark.django_db

ELS = "indicators/explore_local_statistics"
PAY = f"{ELS}/gross-median-weekly-pay.csv"


def els_copy(tmp_path, mutate):
    for rel in (PAY, f"{ELS}/gross-median-weekly-pay.meta.json"):
        dest = tmp_path / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        raw = data_path(rel).read_bytes()
        dest.write_bytes(mutate(raw) if rel == PAY else raw)
    return tmp_path


def load_error(data_dir) -> str:
    before = (Observation.objects.count(), Release.objects.count())
    with pytest.raises(CommandError) as exc:
        call_command("load_indicators", "--data-dir", str(data_dir), "--only", "els-gross-median-weekly-pay",
                     "--force", stdout=None)
    assert (Observation.objects.count(), Release.objects.count()) == before
    return str(exc.value)


def test_non_numeric_value(tmp_path):
    msg = load_error(els_copy(tmp_path, lambda raw: raw.replace(b",642.5,", b",six hundred,", 1)))
    assert PAY in msg and "line 2" in msg and "column observation" in msg and "six hundred" in msg


def test_unknown_area_code(tmp_path):
    msg = load_error(els_copy(tmp_path, lambda raw: raw.replace(b"E06000009,", b"E06999999,", 1)))
    assert "unknown area code" in msg and "E06999999" in msg and "column areacd" in msg


def test_conflicting_duplicate(tmp_path):
    def mutate(raw):
        first = raw.split(b"\n")[1]
        return raw + first.replace(b",642.5,", b",700.0,") + b"\n"
    msg = load_error(els_copy(tmp_path, mutate))
    assert "different figures" in msg and "K02000001" in msg


def test_a_period_written_two_ways_in_one_file(tmp_path):
    """Two spellings of one period are one key: the release's unique index finds the repeat, and
    the error names the line, the period column and both spellings."""
    def mutate(raw):
        lines = raw.split(b"\n")
        first = lines[1].replace(b",2025-04-30,", b",2025-04-30/P1D,")
        return b"\n".join([lines[0], first, *lines[2:]]).rstrip(b"\n") + b"\n" + \
            first.replace(b",2025-04-30/P1D,", b",2025-04-30T00:00:00/P1D,") + b"\n"
    msg = load_error(els_copy(tmp_path, mutate))
    assert "the period written two ways" in msg and "column period" in msg
    assert "K02000001" in msg and "2025-04-30/P1D = 2025-04-30T00:00:00/P1D" in msg


def test_identical_repeats_are_collapsed_and_counted(tmp_path):
    """An identical repeat is dropped, not an error (ELS lists some areas twice with the same
    figures): the release holds each key once."""
    from indicators.ingest.spec import sources_all
    from indicators.services import release_load

    def mutate(raw):
        lines = raw.rstrip(b"\n").split(b"\n")
        return b"\n".join([*lines, lines[1], lines[2]]) + b"\n"
    data_dir = els_copy(tmp_path, mutate)
    spec = next(s for s in sources_all(data_dir) if s.name == "els-gross-median-weekly-pay")
    loader = release_load(spec, data_dir, files=False)
    rows = data_path(PAY).read_bytes().rstrip(b"\n").count(b"\n")  # data rows of the real file
    assert loader.counts["identical_repeats_collapsed"] == 2
    assert loader.counts["observations"] == rows
    assert Observation.objects.filter(release=loader.release).count() == rows


def test_unmapped_indicator(tmp_path):
    msg = load_error(els_copy(tmp_path, lambda raw: raw.replace(b"Gross median weekly pay", b"Gross mean weekly pay", 1)))
    assert "indicator not in this source's mapping" in msg and "Gross mean weekly pay" in msg


def test_truncated_last_line(tmp_path):
    def mutate(raw):
        lines = raw.rstrip(b"\n").split(b"\n")
        return b"\n".join(lines[:-1] + [lines[-1].rsplit(b",", 4)[0]]) + b"\n"
    msg = load_error(els_copy(tmp_path, mutate))
    assert "expected 12 fields" in msg and "line " in msg


def test_wrong_header(tmp_path):
    msg = load_error(els_copy(tmp_path, lambda raw: raw.replace(b"observation", b"obs_value", 1)))
    assert "missing column(s) observation" in msg and "line 1" in msg


def test_broken_encoding(tmp_path):
    msg = load_error(els_copy(tmp_path, lambda raw: raw.replace(b"\xc2\xa3", b"\xa3", 1)))
    assert "cannot decode" in msg and "line 2" in msg


def test_reload_of_an_unchanged_file_changes_nothing(tmp_path, django_capture_on_commit_callbacks):
    """A reload of a release's label replaces it: a new release in a new partition, and, once the load
    has committed, the old one detached and dropped (run here as the commit would run it)."""
    data_dir = els_copy(tmp_path, lambda raw: raw)
    with django_capture_on_commit_callbacks(execute=True):
        call_command("load_indicators", "--data-dir", str(data_dir), "--only", "els-gross-median-weekly-pay", "--force")
    before = (Observation.objects.count(), Observation.objects.filter(release__is_current=True).count(), Release.objects.count())
    with django_capture_on_commit_callbacks(execute=True):
        call_command("load_indicators", "--data-dir", str(data_dir), "--only", "els-gross-median-weekly-pay", "--force")
    after = (Observation.objects.count(), Observation.objects.filter(release__is_current=True).count(), Release.objects.count())
    assert after == before


def test_each_release_is_a_partition_with_the_parents_indexes():
    """Every release's rows are a partition of their own, attached with the two indexes of the parent
    (the loader builds them on the fresh table and ATTACH adopts them) and no other."""
    from django.db import connection

    from indicators.partitions import INDEX_COLUMNS, partition_name

    iod = Release.objects.get(dataset__slug="iod2025", is_current=True)
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT p.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
            JOIN pg_inherits h ON h.inhrelid = c.oid JOIN pg_class p ON p.oid = h.inhparent
            WHERE i.indrelid = %s::regclass ORDER BY 1""", [partition_name(iod.id)])
        assert [r[0] for r in cursor.fetchall()] == sorted(INDEX_COLUMNS)
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = 'indicators_observation'::regclass")
        assert cursor.fetchone()[0] == "p"  # partitioned
        cursor.execute("SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE oid = %s::regclass",
                       [partition_name(iod.id)])
        assert cursor.fetchone()[0] == f"FOR VALUES IN ({iod.id})"
    assert Observation.objects.filter(release=iod).count() == 810_120


def test_a_skip_rule_must_say_why(tmp_path):
    from indicators.ingest.spec import SpecError, source_load_spec

    path = tmp_path / "x.toml"
    path.write_text('name = "x"\nfile = "x.csv"\nlayout = "long"\ndataset = "x"\ndataset_title = "X"\n'
                    'release_date = "2024-01-01"\n[[skip]]\ncode = "Z"\n', encoding="utf-8")
    with pytest.raises(SpecError, match="needs a reason"):
        source_load_spec(path)

"""A load killed mid-way (SIGKILL: no Python cleanup runs) leaves the database exactly as it was;
the next load marks the lost run failed and succeeds. Runs real `manage.py` processes against
the test database."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from indicators.models import Observation, Release
from levelup_api.core.ingest import INTERRUPTED
from levelup_api.core.models import IngestRun

# Not a transactional test: that would empty every table afterwards. The test only reads; the
# manage.py processes commit (a reload of the same file leaves the same data).
pytestmark = pytest.mark.django_db

SOURCE = "iod2025-lsoa21"
ROOT = Path(settings.BASE_DIR)


def manage(*args) -> subprocess.Popen:
    db = connection.settings_dict
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "levelup_api.settings.base",
           "DATABASE_URL": f"postgis://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
           "LEVELUP_BULK_ON_LOAD": "off"}  # what is tested is the load's transaction, not the bulk files after it
    return subprocess.Popen([sys.executable, "manage.py", *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def snapshot() -> tuple:
    """IoD 2025's published releases and their rows. (A release a reload replaced is a draft until its
    partition is dropped after the commit, which waits for this test's own open transaction, which
    reads the table, and so is left for the next load: indicators.partitions.partition_retire.)"""
    published = Release.objects.filter(dataset__slug="iod2025", state=Release.State.PUBLISHED)
    releases = sorted(published.values_list("id", "label"))
    return releases, Observation.objects.filter(release__in=published).count()


def load_sessions() -> int:
    """Server sessions holding an advisory lock (a load's), other than this one."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid <> pg_backend_pid()")
        return cursor.fetchone()[0]


def partition_tables() -> set[str]:
    """Every release partition, attached or not (a killed load's fresh table would be one)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT relname FROM pg_class WHERE relname ~ '^indicators_observation_r[0-9]+$'")
        return {r[0] for r in cursor.fetchall()}


def test_a_killed_load_changes_nothing_and_the_next_one_succeeds():
    before = snapshot()
    tables = partition_tables()
    assert before[1] > 800_000
    killed = manage("load_indicators", "--only", SOURCE, "--force")
    deadline = time.monotonic() + 60
    while not IngestRun.objects.filter(source=SOURCE, state=IngestRun.State.RUNNING).exists():
        assert time.monotonic() < deadline and killed.poll() is None, killed.stdout.read() if killed.poll() else ""
        time.sleep(0.1)
    time.sleep(2)  # well inside the load: staging and checks done, the merge under way
    killed.send_signal(signal.SIGKILL)
    killed.wait(30)
    assert killed.returncode == -signal.SIGKILL
    # The server notices the dead client within a second even mid-statement
    # (client_connection_check_interval), rolls its transaction back and drops its lock.
    deadline = time.monotonic() + 10
    while load_sessions():
        assert time.monotonic() < deadline, "the killed load's server session is still running"
        time.sleep(0.2)
    assert snapshot() == before  # PostgreSQL rolled the load's transaction back
    assert partition_tables() == tables  # no fresh table left, none attached
    lost = IngestRun.objects.get(source=SOURCE, state=IngestRun.State.RUNNING)

    rerun = manage("load_indicators", "--only", SOURCE, "--force")
    output, _ = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, output
    lost.refresh_from_db()
    assert (lost.state, lost.error) == (IngestRun.State.FAILED, INTERRUPTED)
    after = snapshot()
    assert after[1] == before[1] and [label for _, label in after[0]] == [label for _, label in before[0]]
    assert IngestRun.objects.filter(source=SOURCE, state=IngestRun.State.SUCCEEDED).latest("id").rows_read == 33755

"""Reads on replicas with fallback: a gunicorn serving the test database with a replica that is
down answers every request from the primary; with a replica that answers, reads go there.
(Without a second cluster here, the "replica" that answers is the same server under another
connection name; the lag check passes because it is not in recovery.)"""

import http.client
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

sys.path.insert(0, str(Path(settings.BASE_DIR) / "bench"))
from common import free_port, gunicorn_serving  # noqa: E402

pytestmark = pytest.mark.django_db

PATHS = ["/api/v1/areas/E06000009/", "/api/v1/areas/?type=LAD&page_size=5", "/api/v1/indicators/",
         "/api/v1/areas/E06000009/profile/", "/api/v1/missions/"]


def url(port: int | None = None) -> str:
    db = connection.settings_dict
    return f"postgis://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{port or db['PORT'] or 5432}/{db['NAME']}"


def get(port: int, path: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path)
    status = conn.getresponse().status
    conn.close()
    return status


def serve(replicas: str):
    env = {"DJANGO_SETTINGS_MODULE": "levelup_api.settings.base", "DATABASE_URL": url(),
           "DATABASE_REPLICA_URLS": replicas, "LOG_REQUESTS": "off"}
    return gunicorn_serving(free_port(), env=env, args=("-w", "1", "--threads", "2", "--worker-class", "gthread"),
                            ready=lambda port: get(port, "/healthz"))


def replica_sessions() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # statistics are a snapshot per transaction
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'levelup-replica-read'")
        return cursor.fetchone()[0]


def test_a_replica_that_is_down_costs_no_failed_request():
    with serve(url(port=1)) as port:  # nothing listens on port 1
        statuses = [get(port, path) for _ in range(3) for path in PATHS]
    assert statuses == [200] * len(statuses)


def test_reads_go_to_a_replica_that_answers_and_writes_do_not():
    assert replica_sessions() == 0
    with serve(url()) as port:
        assert all(get(port, path) == 200 for path in PATHS)
        time.sleep(0.2)
        assert replica_sessions() >= 1  # the server kept its replica connection open for reads

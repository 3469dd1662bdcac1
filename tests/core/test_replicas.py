"""Reads on replicas with fallback, through a real gunicorn serving the test database.

First with stand-ins (a replica address where nothing listens; the primary under a second
connection name), then against a real PostgreSQL streaming replica of this cluster started on
loopback (bench/standby.py: pg_basebackup, a second postmaster in hot standby): reads go to it,
a replica lagging past the bound is passed over, and stopping it in the middle of a load costs
no failed request."""

import http.client
import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connection

sys.path.insert(0, str(Path(settings.BASE_DIR) / "bench"))
from common import free_port, gunicorn_serving  # noqa: E402
from standby import reader_sessions, streaming_standby, unavailable_reason  # noqa: E402

pytestmark = pytest.mark.django_db

PATHS = ["/api/v1/areas/E06000009/", "/api/v1/areas/?type=LAD&page_size=5", "/api/v1/indicators/",
         "/api/v1/areas/E06000009/profile/", "/api/v1/missions/",
         "/api/v1/lookup/point/?lon=-2.20779&lat=53.47031",  # hand-written SQL (a prepared statement)
         "/api/v1/indicators/iod2025-imd-score/aggregate/?from_vintage=LSOA21&to_vintage=LAD24&parent=E06000009"]


def url(port: int | None = None) -> str:
    db = connection.settings_dict
    return f"postgis://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{port or db['PORT'] or 5432}/{db['NAME']}"


def fetch(port: int, method: str, path: str, body: str | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(method, path, body=body, headers={"Content-Type": "application/json"} if body else {})
    response = conn.getresponse()
    result = response.status, response.read()
    conn.close()
    return result


def serve(replicas: str, workers: str = "1", **env: str):
    env = {"DJANGO_SETTINGS_MODULE": "levelup_api.settings.base", "DATABASE_URL": url(),
           "DATABASE_REPLICA_URLS": replicas, "LOG_REQUESTS": "off", **env}
    return gunicorn_serving(free_port(), env=env, args=("-w", workers, "--threads", "2", "--worker-class", "gthread"),
                            ready=lambda port: get(port, "/healthz"))


def get(port: int, path: str) -> int:
    return fetch(port, "GET", path)[0]


def replica_sessions() -> int:
    """The API's replica sessions on this server (the stand-in replica is the primary itself)."""
    return reader_sessions(primary_dsn())


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


# A real streaming replica ---------------------------------------------------------------------

GRAPHQL = json.dumps({"query": '{ area(code: "E06000009") { name children(type: "LSOA") { code } } }'})


def primary_dsn() -> str:
    db = connection.settings_dict
    return f"host={db['HOST'] or '127.0.0.1'} port={db['PORT'] or 5432} user={db['USER']} dbname={db['NAME']}"


@pytest.fixture(scope="module")
def standby(django_db_setup):
    """A hot standby of this cluster, caught up after the test data was loaded."""
    if reason := unavailable_reason(primary_dsn()):
        pytest.skip(f"no streaming replica can be started here: {reason}")
    with streaming_standby(primary_dsn(), connection.settings_dict["NAME"]) as replica:
        yield replica


def one_request(port: int, n: int) -> tuple[str, int, bool]:
    """A REST path or a GraphQL query, by turn; whether the answer is a whole, error-free one."""
    if n % (len(PATHS) + 1) == len(PATHS):
        status, body = fetch(port, "POST", "/graphql", GRAPHQL)
        return "graphql", status, status == 200 and "errors" not in json.loads(body)
    path = PATHS[n % (len(PATHS) + 1)]
    status, body = fetch(port, "GET", path)
    return path, status, status == 200 and bool(json.loads(body))


def test_a_replica_lagging_past_the_bound_is_passed_over(standby):
    db = connection.settings_dict["NAME"]
    with psycopg.connect(standby.dsn(db), autocommit=True) as replica, \
            psycopg.connect(primary_dsn(), autocommit=True) as primary, \
            serve(standby.url(db), LEVELUP_REPLICA_CHECK_SECONDS="0.2", LEVELUP_REPLICA_MAX_LAG_SECONDS="1",
                  # where each read goes, not the documents kept per data version (the rename below is
                  # raw SQL, which moves no data version, as a load or an admin edit would)
                  LEVELUP_PROFILE_CACHE="off") as port:
        original = primary.execute("SELECT name FROM geographies_area WHERE code = 'E06000009'").fetchone()[0]
        assert json.loads(fetch(port, "GET", "/api/v1/areas/E06000009/")[1])["name"] == original
        assert standby.reader_sessions(db) >= 1
        replica.execute("SELECT pg_wal_replay_pause()")
        try:
            primary.execute("UPDATE geographies_area SET name = name || ' (renamed)' WHERE code = 'E06000009'")
            time.sleep(2.5)  # the replica has not replayed the rename, and is now over 1 s behind
            assert replica.execute("SELECT name FROM geographies_area WHERE code = 'E06000009'").fetchone()[0] \
                == original
            answered = json.loads(fetch(port, "GET", "/api/v1/areas/E06000009/")[1])["name"]
            assert answered == f"{original} (renamed)"  # from the primary
        finally:
            primary.execute("UPDATE geographies_area SET name = %s WHERE code = 'E06000009'", (original,))
            replica.execute("SELECT pg_wal_replay_resume()")


def test_a_graphql_query_posted_is_read_from_the_replica(standby):
    """A GraphQL query is a read although it is POSTed. With the replica's replay paused and the
    area renamed on the primary, the POSTed query still answers the old name: the replica's."""
    db = connection.settings_dict["NAME"]
    query = json.dumps({"query": '{ area(code: "E06000009") { name } }'})
    # The replica's health is checked on the first read and then trusted for 60 s, so pausing its
    # replay below does not make the server pass it over.
    with psycopg.connect(standby.dsn(db), autocommit=True) as replica, \
            psycopg.connect(primary_dsn(), autocommit=True) as primary, \
            serve(standby.url(db), LEVELUP_REPLICA_CHECK_SECONDS="60") as port:
        original = primary.execute("SELECT name FROM geographies_area WHERE code = 'E06000009'").fetchone()[0]
        status, body = fetch(port, "POST", "/graphql", query)
        assert (status, json.loads(body)) == (200, {"data": {"area": {"name": original}}})
        assert standby.reader_sessions(db) >= 1
        replica.execute("SELECT pg_wal_replay_pause()")
        try:
            primary.execute("UPDATE geographies_area SET name = name || ' (renamed)' WHERE code = 'E06000009'")
            status, body = fetch(port, "POST", "/graphql", query)
            assert (status, json.loads(body)) == (200, {"data": {"area": {"name": original}}})
        finally:
            primary.execute("UPDATE geographies_area SET name = %s WHERE code = 'E06000009'", (original,))
            replica.execute("SELECT pg_wal_replay_resume()")


def test_reads_go_to_the_streaming_replica_and_its_death_under_load_fails_no_request(standby):
    """Eight clients for 3 s with the replica up, then it is stopped (immediate mode) and they go
    on for 4 s. (It stops the module's replica, so it comes last in the file.)"""
    db = connection.settings_dict["NAME"]
    results: list[tuple[float, str, int, bool]] = []
    stop = threading.Event()

    def client(first: int) -> None:
        n = first
        while not stop.is_set():
            path, status, ok = one_request(port, n)
            results.append((time.monotonic(), path, status, ok))
            n += 1

    with serve(standby.url(db), workers="2", LEVELUP_REPLICA_CHECK_SECONDS="0.5") as port:
        with ThreadPoolExecutor(8) as pool:
            # Every path twice per client first, so that the 3 s measure steady reads, not each
            # worker's first profile (its computed comparators, seconds on a busy machine).
            assert all(ok for _, _, ok in pool.map(lambda n: one_request(port, n), range(16 * (len(PATHS) + 1))))
            clients = [pool.submit(client, i) for i in range(8)]
            time.sleep(3)
            assert standby.reader_sessions(db) >= 1  # the server is reading from the replica
            stopped_at = time.monotonic()
            standby.stop("immediate")  # as if its machine died, in the middle of requests
            time.sleep(4)
            stop.set()
            for future in clients:
                future.result()  # a client that raised (a refused or dropped connection) fails here
    before = [r for r in results if r[0] < stopped_at]
    after = [r for r in results if r[0] >= stopped_at]
    assert len(before) >= 20 and len(after) >= 20
    failed = [(path, status) for _, path, status, ok in results if not ok]
    assert failed == []
    assert {path for _, path, _, _ in after} >= {*PATHS, "graphql"}

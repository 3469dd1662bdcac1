"""Pushed changes (levelup_api.core.notify): the triggers on every table the data version comes
from, the listener that receives them (and what it does when its connection is lost), API keys
forgotten in every process when one is changed, and a live gunicorn whose ETags follow a load or an
edit committed elsewhere, with polling put out of reach."""

from __future__ import annotations

import http.client
import threading
import time
import urllib.parse

import psycopg
import pytest
from django.db import connection, connections

from indicators.models import Indicator
from levelup_api.core import caching, notify, quotas
from levelup_api.core.models import ApiKey
from tests.builders import levelup
from tests.live_server import gunicorn

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_counters")]

AREA = "/api/v1/areas/E06000009/"
BOUND_S = 10.0  # how long a pushed change may take to arrive (it takes well under a second)


def other_session() -> psycopg.Connection:
    """A session of its own on the test database, autocommit: what it writes is committed at once,
    as a loader's or a curator's writes are, outside this test's transaction."""
    params = connection.get_connection_params()
    for key in ("cursor_factory", "context", "prepare_threshold"):
        params.pop(key, None)
    return psycopg.connect(**params, autocommit=True)


def committed(fn):
    """Run `fn` through the ORM in a thread of its own, so on a connection of its own that commits."""
    result, failure = [], []

    def run():
        try:
            result.append(fn())
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            failure.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(60)
    if failure:
        raise failure[0]
    return result[0]


def wait_for(condition, what: str):
    deadline = time.monotonic() + BOUND_S
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {BOUND_S:g} s: {what}")
        time.sleep(0.02)


def test_every_table_of_the_data_version_and_the_api_keys_have_their_trigger():
    with connection.cursor() as cursor:
        cursor.execute("""SELECT c.relname, t.tgname, t.tgtype FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
                          WHERE t.tgname LIKE 'levelup%%' AND NOT t.tgisinternal""")
        triggers = {(table, name): tgtype for table, name, tgtype in cursor.fetchall()}
    assert {t for t, _ in triggers} == {*caching.VERSION_TABLES, "core_apikey"}
    for table in caching.VERSION_TABLES:
        # pg_trigger.tgtype bits: 1 row-level, 4 insert, 8 delete, 16 update, 32 truncate (statement-level: 60).
        assert triggers[(table, "levelup_data_version")] == 4 | 8 | 16 | 32, table
    assert triggers[("core_apikey", "levelup_api_key_changed")] == 1 | 8 | 16  # each row updated or deleted


def test_a_statement_committed_on_any_of_those_tables_reaches_the_listener(listening):
    with other_session() as session:
        for table in caching.VERSION_TABLES:
            key = "id" if table == "core_ingestrun" else "history_id"
            before = listening.received
            # A statement trigger fires even when no row changes: nothing to clean up afterwards.
            session.execute(f"UPDATE {table} SET {key} = {key} WHERE false")  # noqa: S608 - fixed names
            wait_for(lambda before=before: listening.received > before, f"the notification from {table}")


@levelup(HTTP_CACHING=True)
def test_a_committed_load_changes_the_data_version_without_a_statement_per_request(
        client, listening, django_assert_num_queries):
    loaded = caching.data_version()
    first = client.get(AREA)
    with django_assert_num_queries(0):  # the tag held is current: answered from memory
        assert client.get(AREA, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    with other_session() as session:
        row = session.execute(
            "INSERT INTO core_ingestrun (dataset, source, path, checksum, state, dry_run, started_at, finished_at, "
            "seconds, rows_read, counts, error) VALUES ('test', 'notify', '-', '-', 'succeeded', false, now(), "
            "now() + interval '1 day', 0, 0, '{}', '') RETURNING id, extract(epoch FROM finished_at)::float8"
        ).fetchone()
        try:
            wait_for(lambda: caching.data_version() == row[1], "the new data version")
            again = client.get(AREA)
            assert again["ETag"] != first["ETag"] and again["Last-Modified"] != first["Last-Modified"]
            assert client.get(AREA, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 200
        finally:
            session.execute("DELETE FROM core_ingestrun WHERE id = %s", [row[0]])
        wait_for(lambda: caching.data_version() == loaded, "the data version as it was")
    assert client.get(AREA)["ETag"] == first["ETag"]


def test_when_its_session_is_ended_the_listener_reconnects_and_requests_poll_meanwhile(
        listening, django_assert_num_queries, monkeypatch):
    lost = listening.backend_pid
    with other_session() as session:
        assert session.execute("SELECT pg_terminate_backend(%s)", [lost]).fetchone() == (True,)
    wait_for(lambda: listening.connected.is_set() and listening.backend_pid != lost, "a new listening session")
    assert notify.listening()
    with django_assert_num_queries(0):
        caching.data_version()
    # Not listening: a request reads the version itself, at most every DATA_VERSION_SECONDS.
    monkeypatch.setattr(notify, "listening", lambda: False)
    caching._cache.update(at=float("-inf"))
    with levelup(DATA_VERSION_SECONDS=3600), django_assert_num_queries(1):
        caching.data_version()
        caching.data_version()


@levelup(QUOTAS_ENABLED=True)
def test_a_key_changed_in_another_process_is_forgotten_here_at_once(api, listening, django_assert_num_queries):
    key, secret = committed(lambda: quotas.api_key_make(name="pushed", tier="partner"))
    try:
        assert api.get(AREA, HTTP_X_API_KEY=secret)["X-RateLimit-Limit"] == "6000"
        with django_assert_num_queries(1):  # the area; the key is remembered
            assert api.get(AREA, HTTP_X_API_KEY=secret).status_code == 200
        committed(lambda: ApiKey.objects.filter(pk=key.pk).update(active=False))
        wait_for(lambda: key.prefix not in quotas._known, "the key forgotten")
        refused = api.get(AREA, HTTP_X_API_KEY=secret)
        assert refused.status_code == 401 and refused.json()["error"] == "authentication_failed"
    finally:
        committed(lambda: ApiKey.objects.filter(pk=key.pk).delete())


def live_etag(base: str) -> str:
    parts = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    conn.request("GET", AREA)
    response = conn.getresponse()
    response.read()
    assert response.status == 200
    return response.getheader("ETag")


def settled_etag(base: str, differs_from: str | None = None, equals: str | None = None) -> str:
    """The ETag once eight requests in a row (so both workers) agree on one that meets the condition."""
    deadline, streak, last = time.monotonic() + BOUND_S, 0, None
    while streak < 8:
        if time.monotonic() > deadline:
            pytest.fail(f"the served ETag did not settle within {BOUND_S:g} s (last {last})")
        etag = live_etag(base)
        ok = (differs_from is None or etag != differs_from) and (equals is None or etag == equals)
        streak = streak + 1 if ok and etag == last else (1 if ok else 0)
        last = etag
        if not ok:
            time.sleep(0.05)
    return last


def test_a_live_server_serves_a_new_etag_after_a_load_or_an_edit_committed_elsewhere():
    """gunicorn as in production (two forked workers, each listening), its polling made hourly so
    that only a pushed change can move its ETags within the bound."""
    with gunicorn(LEVELUP_DATA_VERSION_SECONDS="3600", LEVELUP_DATA_VERSION_LISTEN="on") as base:
        before = settled_etag(base)
        # A load: an ingest run that succeeded, committed by another session.
        with other_session() as session:
            run = session.execute(
                "INSERT INTO core_ingestrun (dataset, source, path, checksum, state, dry_run, started_at, finished_at, "
                "seconds, rows_read, counts, error) VALUES ('test', 'notify-live', '-', '-', 'succeeded', false, now(), "
                "now() + interval '2 days', 0, 0, '{}', '') RETURNING id").fetchone()[0]
            try:
                loaded = settled_etag(base, differs_from=before)
            finally:
                session.execute("DELETE FROM core_ingestrun WHERE id = %s", [run])
            settled_etag(base, equals=before)

        # An edit, as the admin makes it: the model saved, simple-history's row written, committed.
        def edit() -> int:
            indicator = Indicator.objects.get(slug="gross-median-weekly-pay")
            indicator.save()
            return indicator.history.latest().history_id

        history_id = committed(edit)
        try:
            edited = settled_etag(base, differs_from=before)
            assert edited != loaded
        finally:
            committed(lambda: Indicator.history.model.objects.filter(history_id=history_id).delete())
        settled_etag(base, equals=before)

"""Reads on streaming replicas, writes on the primary.

Replicas are named in DATABASE_REPLICA_URLS (comma-separated, as DATABASE_URL). A replica takes
reads while it answers and has replayed everything it has received, or lags by no more than
LEVELUP["REPLICA_MAX_LAG_SECONDS"]; its health is checked at most every few seconds per process.
Writes, the admin (so curators read their own writes) and any request that has written go to the
primary. A POST to a view that declares `replica_reads_on_post` (GraphQL, whose reads are POSTed)
reads from a replica too; that view sends its own writes (mutations) to the primary. A read that
fails on a replica mid-request is retried once on the primary, so stopping a replica costs no
failed request."""

from __future__ import annotations

import contextlib
import contextvars
import itertools
import time

import psycopg
from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connections

_primary_only: contextvars.ContextVar[bool] = contextvars.ContextVar("levelup_primary_only", default=False)
_pinned: contextvars.ContextVar[str | None] = contextvars.ContextVar("levelup_pinned_read", default=None)
_health: dict[str, tuple[float, bool]] = {}
_turn = itertools.count()

LAG_SQL = """
    SELECT CASE WHEN NOT pg_is_in_recovery() THEN 0
                WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
                ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 1e9) END
"""


def replica_aliases() -> list[str]:
    return [alias for alias in settings.DATABASES if alias.startswith("replica_")]


def healthy(alias: str) -> bool:
    checked, ok = _health.get(alias, (0.0, False))
    if time.monotonic() - checked < settings.LEVELUP["REPLICA_CHECK_SECONDS"]:
        return ok
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute(LAG_SQL)
            ok = cursor.fetchone()[0] <= settings.LEVELUP["REPLICA_MAX_LAG_SECONDS"]
    except DatabaseError:
        ok = False
        connections[alias].close()
    _health[alias] = (time.monotonic(), ok)
    return ok


def mark_down(alias: str) -> None:
    _health[alias] = (time.monotonic(), False)
    connections[alias].close()


def lost_replica(exc: BaseException | None) -> bool:
    """Whether a database error means the connection (not the query) failed: the replica went away
    or broke. A cancelled statement (a timeout) is the query's fault and is not retried."""
    return (isinstance(exc, (OperationalError, InterfaceError))
            and not isinstance(exc.__cause__, psycopg.errors.QueryCanceled))


def read_alias() -> str:
    """Where the next read goes: a healthy replica in turn, else the primary."""
    if _primary_only.get():
        return "default"
    if (pinned := _pinned.get()) is not None:
        return pinned
    candidates = [a for a in replica_aliases() if healthy(a)]
    if not candidates:
        return "default"
    return candidates[next(_turn) % len(candidates)]


def read_connection():
    """The connection for a hand-written read (raw SQL the router never sees)."""
    return connections[read_alias()]


@contextlib.contextmanager
def reading_from(alias: str):
    """Every ORM read inside the block goes to `alias` (one snapshot source for a whole request)."""
    token = _pinned.set(alias)
    try:
        yield
    finally:
        _pinned.reset(token)


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        return read_alias()

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == "default"


class PrimaryForWritesMiddleware:
    """Unsafe methods and the admin read from the primary (read-your-writes); a safe request whose
    read fails on a replica is answered again from the primary."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        primary = request.method not in ("GET", "HEAD", "OPTIONS") or request.path.startswith("/admin/")
        token = _primary_only.set(primary or not replica_aliases())
        try:
            return self.get_response(request)
        finally:
            _primary_only.reset(token)

    def process_view(self, request, view_func, view_args, view_kwargs):
        request._levelup_view = (view_func, view_args, view_kwargs)
        # Only the view can tell a GraphQL read from a mutation (it parses the document); such a view
        # says so, and its POSTs are reads until it pins a mutation to the primary. __call__ resets this.
        if (request.method == "POST" and not request.path.startswith("/admin/")
                and getattr(getattr(view_func, "view_class", None), "replica_reads_on_post", False)):
            _primary_only.set(not replica_aliases())

    def process_exception(self, request, exception):
        if (_primary_only.get() or not lost_replica(exception)
                or request.method not in ("GET", "HEAD") or not hasattr(request, "_levelup_view")):
            return None
        for alias in replica_aliases():
            if connections[alias].connection is not None or not healthy(alias):
                mark_down(alias)
        _primary_only.set(True)
        view_func, args, kwargs = request._levelup_view
        response = view_func(request, *args, **kwargs)
        return response.render() if hasattr(response, "render") and not response.is_rendered else response

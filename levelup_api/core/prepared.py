"""Server-side prepared statements on Django's psycopg connections, for the few hand-written hot
statements (the point lookup, compiled GraphQL): parameters bound by the server, never
interpolated, and each statement text planned once per connection. psycopg keeps the prepared
statements (it knows when a rollback or a DEALLOCATE drops them and prepares again), so nothing
here PREPAREs by hand; Django's own cursors bind client-side and are never prepared."""

from __future__ import annotations

import psycopg
from django.db.backends.utils import CursorDebugWrapper

_ONLY_WHEN_ASKED = 2**31 - 1  # psycopg's automatic preparing after this many executions: never


class PreparedCursor(psycopg.Cursor):
    """Every statement it runs is prepared (psycopg's own cache, by text)."""

    def execute(self, query, params=None, *, prepare=None, binary=None):
        return super().execute(query, params, prepare=True, binary=binary)


class _DebugCursor(CursorDebugWrapper):
    """When Django logs queries (DEBUG, or a test counting them): the statement with its parameters
    inlined, as Django logs its own client-side-bound queries, so a captured query can be replayed
    (the benchmarks do)."""

    def execute(self, sql_text, params=None):
        shown = psycopg.ClientCursor(self.cursor.connection).mogrify(sql_text, params)
        with self.debug_sql(shown, None, use_last_executed_query=False):
            return super(CursorDebugWrapper, self).execute(sql_text, params)


def prepared_cursor(db, cursor_class: type[PreparedCursor] = PreparedCursor):
    """A cursor of `cursor_class` on the Django connection `db`, wrapped as Django wraps its own (the
    request log and query counts see its statements)."""
    db.ensure_connection()
    if db.connection.prepare_threshold is None:
        # Django opens psycopg connections with prepared statements off. Its own cursors bind
        # client-side, and those never prepare, so this changes nothing for them: only a cursor
        # that asks (prepare=True, as PreparedCursor does) gets its statement prepared.
        db.connection.prepare_threshold = _ONLY_WHEN_ASKED
    raw = cursor_class(db.connection)
    return _DebugCursor(raw, db) if db.queries_logged else db.make_cursor(raw)

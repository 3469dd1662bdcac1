"""Which releases are current, for every read of current values.

A dataset's current values are the rows of its one current release (`Release.is_current`), each
release being a partition of `indicators_observation` (indicators.partitions). Reads name the current
releases' ids as constants, `o.release_id = ANY(ARRAY[…]::int[])`, because that is what PostgreSQL
prunes partitions on when it plans a statement: a join to the release table, a sub-select or a
stable function returning the ids are all planned over every partition (PostgreSQL 15 prunes a
`= ANY` only on a constant or an ARRAY[…] of parameters).

The ids are read with the data version, in the same statement (so no request pays a statement for
them), once per data version and process (a publish changes the data version, since the release's
history row is written), and again at once in the process that changed them
(`current_forget`: indicators.services.release_currency_set calls it when it changes them, and again
when their transaction ends either way), so a load or publish is seen by the next statement of its own
transaction, and a rolled-back one is forgotten."""

from __future__ import annotations

import json
import re

from django.db import connection, transaction
from psycopg import sql

from levelup_api.core.caching import VERSION_COMPANIONS, data_version_known

_cache: dict[str, object] = {"version": None, "ids": (), "by_indicator": {}}


# Every current release, and the one holding each indicator's current values (its dataset's), as
# one JSON value: read with the data version (levelup_api.core.caching.VERSION_COMPANIONS).
_CURRENT_SQL = """
    SELECT json_build_array(
        coalesce((SELECT array_agg(id ORDER BY id) FROM indicators_release WHERE is_current), ARRAY[]::int[]),
        coalesce((SELECT json_agg(json_build_array(i.id, i.slug, r.id)) FROM indicators_indicator i
                  JOIN indicators_release r ON r.dataset_id = i.dataset_id AND r.is_current), '[]'))
"""


def _take(value, version) -> None:
    ids, rows = json.loads(value) if isinstance(value, str | bytes) else value
    # By id and by slug (the statements that name an indicator by its slug).
    by_indicator = {key: release for i, slug, release in rows for key in (i, slug)}
    # The version last: a request thread that sees it sees the ids read with it (the listener's
    # thread writes these while requests read them).
    _cache.update(ids=tuple(ids), by_indicator=by_indicator)
    _cache["version"] = version


if all(take is not _take for _, take in VERSION_COMPANIONS):
    VERSION_COMPANIONS.append((_CURRENT_SQL, _take))


def _read() -> None:
    # The version as last read (pushed by the listener, or read by a request's conditional check),
    # which read the current releases with it: no statement of their own, and none to re-read it.
    version = data_version_known()
    if _cache["version"] == version:
        return
    with connection.cursor() as cursor:  # forgotten since (a change in this transaction)
        cursor.execute(_CURRENT_SQL)
        _take(cursor.fetchone()[0], version)


def current_release_ids(indicators=None) -> tuple[int, ...]:
    """The current releases; given indicators (ids or slugs), only those holding their current
    values (one partition per dataset instead of every current one: less to plan, nothing else to
    probe)."""
    _read()
    if indicators is None:
        return _cache["ids"]  # type: ignore[return-value]
    by_indicator: dict = _cache["by_indicator"]  # type: ignore[assignment]
    return tuple(sorted({by_indicator[i] for i in indicators if i in by_indicator}))


def releases_as_of(day) -> list[int]:
    """Per dataset, the release current on `day`: the newest published one out by then (by release
    date, then load order), as a list of ids. One statement, by the release table alone."""
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT coalesce(array_agg(id ORDER BY id), ARRAY[]::int[]) FROM (
                SELECT DISTINCT ON (dataset_id) id FROM indicators_release
                WHERE state = 'published' AND release_date <= %s
                ORDER BY dataset_id, release_date DESC, id DESC) r""", [day])
        return list(cursor.fetchone()[0])


def current_forget() -> None:
    _cache["version"] = None


def current_changed() -> None:
    """The current releases change in this transaction: read them again now, and once it ends,
    committed (the data version moves too) or rolled back (the ids read inside it were never true)."""
    current_forget()
    if not any(f is current_forget for _, f, _ in connection.run_on_commit):  # once per transaction
        transaction.on_commit(current_forget)
    # A rollback runs no on_commit hook: the loader and the services forget on the way out of a
    # failure too (indicators.services.release_load), and the tests after a test that changed them.


def current_sql(alias: str = "o", indicators=None) -> str:
    """The predicate `alias` is a current observation (of one of `indicators`, when given), with the
    ids as a constant."""
    ids = ",".join(str(int(i)) for i in current_release_ids(indicators))
    return f"{alias}.release_id = ANY(ARRAY[{ids}]::int[])"


_TOKEN = re.compile(r'CURRENT_RELEASE\(("?\w+"?|\{\w+\})\)')


def current_in(text, indicators=None):
    """`text` (a string, or a psycopg sql.SQL) with each `CURRENT_RELEASE(alias)` written as the
    predicate that alias is a current observation, its ids constants (current_sql): of the releases
    holding `indicators`' values when the statement reads only those."""
    if isinstance(text, sql.SQL):
        return sql.SQL(current_in(text.as_string(None), indicators))
    if "CURRENT_RELEASE(" not in text:
        return text
    return _TOKEN.sub(lambda m: current_sql(m.group(1), indicators), text)

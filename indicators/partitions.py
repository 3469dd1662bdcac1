"""The physical layout of observations: `indicators_observation` is partitioned by LIST (release_id),
one partition per release (migration indicators 0006). A release is loaded into a fresh table of its
own (indicators.ingest.loader), indexed, checked and then attached; retention detaches and drops
old ones. Every statement that creates, attaches or drops a partition is here.

`ATTACH PARTITION` takes a SHARE UPDATE EXCLUSIVE lock on the parent, which does not conflict with
the ACCESS SHARE lock of readers (or with writers' ROW EXCLUSIVE): readers never wait on a load.
The fresh table carries `CHECK (release_id = N)` before it is attached, so ATTACH does not scan it
again under that lock, and indexes identical to the parent's, so ATTACH adopts them instead of
building them."""

from __future__ import annotations

import logging

from django.db import DatabaseError, connection
from psycopg import sql

from levelup_api.core.ingest import execute

log = logging.getLogger(__name__)

PARENT = "indicators_observation"
# How long retiring a partition waits for the transactions already reading the table, at most.
RETIRE_WAIT = "5s"
# The parent's partitioned indexes, and every partition's (indicators.models.Observation.Meta names
# the parent's): one row per indicator, period and area in each release (so one current value per
# key holds by construction, with one current release per dataset), and an area's values.
UNIQUE_INDEX = "observation_one_per_release"
INDEX_COLUMNS = {
    UNIQUE_INDEX: ("UNIQUE ", "indicator_id, period_id, area_id, release_id"),
    "observation_area": ("", "area_id, indicator_id, period_id"),
}


def id_sequence(cursor) -> sql.Composable:
    """The observation id sequence, as a regclass constant for `nextval({})`: resolved once, since
    `nextval(pg_get_serial_sequence(…))` looks the sequence up again on every row (3.0 s of
    810,120 rows, against 0.3 s for the ids themselves)."""
    name = execute(cursor, "SELECT pg_get_serial_sequence(%s, 'id')", [PARENT]).fetchone()[0]
    return sql.SQL("{}::regclass").format(sql.Literal(name))


def partition_name(release_id: int) -> str:
    return f"{PARENT}_r{int(release_id)}"


def parent_indexes_create(cursor) -> None:
    for name, (unique, columns) in INDEX_COLUMNS.items():
        execute(cursor, f"CREATE {unique}INDEX {name} ON {PARENT} ({columns})")


def fresh_create(cursor, release_id: int) -> str:
    """A table with the parent's columns, defaults and checks, not yet a partition: the loader
    fills it with one INSERT, so nothing reads it until `fresh_attach`."""
    table = partition_name(release_id)
    execute(cursor, sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(table)))
    execute(cursor, sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)").format(
        sql.Identifier(table), sql.Identifier(PARENT)))
    return table


def rows_copy(cursor, *, into: str, release_id: int, source: int, except_indicators=()) -> int:
    """Copy release `source`'s rows (but those of `except_indicators`) into the fresh table `into`
    as rows of release `release_id`, with their ranks: a dataset's indicators a new file does not
    hold are carried forward this way (indicators.ingest.loader). Returns the rows copied."""
    return execute(cursor, sql.SQL("""
        INSERT INTO {into}
            (id, indicator_id, area_id, period_id, release_id, value, lci, uci, numerator, denominator,
             status, note, rank, rank_of)
        SELECT nextval({sequence}), o.indicator_id, o.area_id, o.period_id, %s,
               o.value, o.lci, o.uci, o.numerator, o.denominator, o.status, o.note, o.rank, o.rank_of
        FROM indicators_observation o WHERE o.release_id = %s AND NOT (o.indicator_id = ANY(%s))
    """).format(into=sql.Identifier(into), sequence=id_sequence(cursor)),
        [int(release_id), int(source), list(except_indicators)]).rowcount


def fresh_attach(cursor, release_id: int) -> None:
    """Indexes (one sort each), the partition bound as a validated check, then ATTACH."""
    table = partition_name(release_id)
    execute(cursor, "SET LOCAL maintenance_work_mem = '1GB'")
    for name, (unique, columns) in INDEX_COLUMNS.items():
        execute(cursor, sql.SQL("CREATE {}INDEX {} ON {} ({})").format(
            sql.SQL(unique), sql.Identifier(f"{table}_{name.removeprefix('observation_')}"), sql.Identifier(table),
            sql.SQL(columns)))
    execute(cursor, sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} CHECK (release_id = {})").format(
        sql.Identifier(table), sql.Identifier(f"{table}_bound"), sql.Literal(int(release_id))))
    execute(cursor, sql.SQL("ALTER TABLE {} ATTACH PARTITION {} FOR VALUES IN ({})").format(
        sql.Identifier(PARENT), sql.Identifier(table), sql.Literal(int(release_id))))
    # The bound is the partition's own constraint now: the check is no longer needed.
    execute(cursor, sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
        sql.Identifier(table), sql.Identifier(f"{table}_bound")))
    execute(cursor, sql.SQL("ANALYZE {}").format(sql.Identifier(table)))


def partition_retire(release_id: int) -> bool:
    """Detach a release's partition without making readers wait, then drop it. Returns whether it is
    gone. DETACH … CONCURRENTLY (outside a transaction block; inside one, a plain DETACH) waits for
    the transactions already reading the table; after RETIRE_WAIT it gives up, leaving the detach
    pending (or not begun), logged, and a later call finishes it (FINALIZE)."""
    table = partition_name(release_id)
    local = connection.in_atomic_block
    with connection.cursor() as cursor:
        if not execute(cursor, "SELECT to_regclass(%s) IS NOT NULL", [table]).fetchone()[0]:
            return True
        execute(cursor, f"SET {'LOCAL ' if local else ''}lock_timeout = '{RETIRE_WAIT}'")
        try:
            # One partition at a time can be pending detach: an earlier one is finished first.
            pending = [r[0] for r in execute(cursor, "SELECT inhrelid::regclass::text FROM pg_inherits "
                                                     "WHERE inhparent = %s::regclass AND inhdetachpending",
                                             [PARENT]).fetchall()]
            for other in pending if not local else []:
                execute(cursor, sql.SQL("ALTER TABLE {} DETACH PARTITION {} FINALIZE").format(
                    sql.Identifier(PARENT), sql.Identifier(other)))
            if _attached(cursor, table):
                how = "" if local else "CONCURRENTLY"
                execute(cursor, sql.SQL("ALTER TABLE {} DETACH PARTITION {} " + how).format(
                    sql.Identifier(PARENT), sql.Identifier(table)))
            execute(cursor, sql.SQL("DROP TABLE {}").format(sql.Identifier(table)))
        except DatabaseError as exc:
            if local:
                raise
            log.warning("release %s: partition not dropped yet (%s)", release_id, str(exc).splitlines()[0])
            return False
        finally:
            if not local:
                execute(cursor, "RESET lock_timeout")
    return True


def _attached(cursor, table: str) -> bool:
    return execute(cursor, "SELECT EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = %s::regclass)",
                   [table]).fetchone()[0]


def attached_release_ids(cursor) -> set[int]:
    """The releases that have a partition (a release row alone, made in the admin, has none)."""
    rows = execute(cursor, """
        SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = %s::regclass""", [PARENT]).fetchall()
    prefix = f"{PARENT}_r"
    return {int(name.removeprefix(prefix)) for (name,) in rows if name.startswith(prefix)}


def partition_ensure(cursor, release_id: int) -> None:
    """An empty attached partition for a release made outside the loader (tests writing rows through
    the ORM): without one, PostgreSQL has nowhere to put its rows."""
    execute(cursor, sql.SQL("CREATE TABLE IF NOT EXISTS {} PARTITION OF {} FOR VALUES IN ({})").format(
        sql.Identifier(partition_name(release_id)), sql.Identifier(PARENT), sql.Literal(int(release_id))))

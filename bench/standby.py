"""A real PostgreSQL streaming replica of the local primary, on loopback, for as long as a `with`
block lasts: `pg_basebackup -R -X stream` into a temporary directory, a second postmaster on a
free port in hot-standby mode, caught up with the primary before the block starts, and stopped
and removed after it (or earlier, by `stop()`, to play a replica that dies under load).

Needs the PostgreSQL server programs on this machine (`/usr/lib/postgresql/<version>/bin`) and a
primary that accepts replication connections from 127.0.0.1 (scripts/ensure_db.sh adds the
loopback line to pg_hba.conf). Run as root, the cluster runs as the `postgres` user.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from common import free_port

CATCH_UP_TIMEOUT_S = 120.0


def server_bin(primary_dsn: str) -> Path | None:
    """The directory of the primary's own server programs, if they are on this machine."""
    with psycopg.connect(primary_dsn, autocommit=True) as conn:
        major = conn.execute("SHOW server_version_num").fetchone()[0][:2]
    path = Path(f"/usr/lib/postgresql/{major}/bin")
    return path if (path / "pg_basebackup").exists() and (path / "pg_ctl").exists() else None


def unavailable_reason(primary_dsn: str) -> str | None:
    """Why no standby can be started here, or None if one can."""
    if server_bin(primary_dsn) is None:
        return "the PostgreSQL server programs (pg_basebackup, pg_ctl) are not on this machine"
    try:
        with psycopg.connect(primary_dsn, replication="true", autocommit=True) as conn:
            conn.execute("IDENTIFY_SYSTEM")
    except psycopg.Error as exc:
        return f"the primary refuses replication connections from loopback ({str(exc).strip()})"
    return None


@dataclass
class Standby:
    port: int
    datadir: Path
    bin: Path
    prefix: list[str]
    running: bool = False

    def dsn(self, dbname: str) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={dbname}"

    def url(self, dbname: str) -> str:
        return f"postgis://postgres@127.0.0.1:{self.port}/{dbname}"

    def pg_ctl(self, *args: str) -> None:
        subprocess.run([*self.prefix, str(self.bin / "pg_ctl"), "-D", str(self.datadir), "-w", *args],
                       check=True, capture_output=True, text=True)

    def reader_sessions(self, dbname: str) -> int:
        """How many sessions the API's read connections hold on this replica."""
        return reader_sessions(self.dsn(dbname))

    def stop(self, mode: str = "immediate") -> None:
        """Stop the postmaster (`immediate`: as if the machine died; no clean shutdown)."""
        if self.running:
            self.pg_ctl("stop", "-m", mode)
            self.running = False


def reader_sessions(dsn: str) -> int:
    """Sessions opened by the API's replica connections (their application_name) on a server."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'levelup-replica-read'"
                            ).fetchone()[0]


def wait_caught_up(primary_dsn: str, standby_dsn: str, timeout: float = CATCH_UP_TIMEOUT_S) -> None:
    """Wait until the standby has replayed everything the primary had written when this was called."""
    with psycopg.connect(primary_dsn, autocommit=True) as conn:
        target = conn.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
    deadline = time.monotonic() + timeout
    while True:
        try:
            with psycopg.connect(standby_dsn, autocommit=True, connect_timeout=2) as conn:
                done = conn.execute("SELECT pg_is_in_recovery() AND pg_last_wal_replay_lsn() >= %s::pg_lsn",
                                    (target,)).fetchone()[0]
            if done:
                return
        except psycopg.OperationalError:
            pass  # still starting
        if time.monotonic() > deadline:
            raise RuntimeError(f"the standby did not catch up with the primary within {timeout:g} s")
        time.sleep(0.2)


@contextmanager
def streaming_standby(primary_dsn: str, dbname: str) -> Iterator[Standby]:
    """A hot standby of the cluster behind `primary_dsn`, caught up, on a free loopback port."""
    bin_dir = server_bin(primary_dsn)
    if bin_dir is None:
        raise RuntimeError("the PostgreSQL server programs are not on this machine")
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    parent = Path(tempfile.mkdtemp(prefix="levelup-standby-"))
    datadir = parent / "data"
    primary = psycopg.conninfo.conninfo_to_dict(primary_dsn)
    if prefix:
        shutil.chown(parent, "postgres")
    standby = Standby(port=free_port(), datadir=datadir, bin=bin_dir, prefix=prefix)
    try:
        subprocess.run([*prefix, str(bin_dir / "pg_basebackup"), "-h", str(primary.get("host", "127.0.0.1")),
                        "-p", str(primary.get("port", 5432)), "-U", str(primary.get("user", "postgres")),
                        "-D", str(datadir), "-X", "stream", "-R", "--checkpoint=fast", "--no-sync"],
                       check=True, capture_output=True, text=True)
        # Debian keeps postgresql.conf and pg_hba.conf outside the data directory: write our own.
        (datadir / "postgresql.conf").write_text(
            f"port = {standby.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{parent}'\n"
            "hot_standby = on\nmax_connections = 100\nshared_buffers = 64MB\nfsync = off\n"
            "synchronous_commit = off\nfull_page_writes = off\n")
        (datadir / "pg_hba.conf").write_text("local all all trust\nhost all all 127.0.0.1/32 trust\n")
        if prefix:
            shutil.chown(datadir / "postgresql.conf", "postgres")
            shutil.chown(datadir / "pg_hba.conf", "postgres")
        standby.pg_ctl("start", "-l", str(parent / "standby.log"), "-t", "120")
        standby.running = True
        wait_caught_up(primary_dsn, standby.dsn(dbname))
        yield standby
    finally:
        try:
            standby.stop()
        finally:
            shutil.rmtree(parent, ignore_errors=True)

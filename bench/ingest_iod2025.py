"""Indicator ingest against its physical limit, on a real file: the IoD 2025 LSOA file (33,755 rows x
24 columns = 810,120 observations). Issue target: replacing the IoD release takes at most 3x its COPY.

1. Limit: a raw COPY of the same rows, in long form (code, indicator, period, value), into an
   unindexed temporary table on a plain psycopg connection.
   Before both, untimed: VACUUM (ANALYZE) of the tables a replacement rewrites (profile facts above
   all), so that every run starts from the same state and not from the previous run's dead rows.
2. The real loader: `manage.py load_indicators --only iod2025-lsoa21 --force` on the same database.
   A reload of the same label creates a new release: the file is staged and validated, written
   into a fresh partition with its ranks (plus the dataset's other indicators, copied forward from
   its current release), indexed and attached; the new release is made current (coverage and
   profile facts rebuilt), and once the transaction has committed the old release's partition is
   detached CONCURRENTLY and dropped. The time is the one load_indicators prints for the file: its
   transaction, commit and on-commit hooks included (the ANALYZE of the small tables and the bulk
   files written after the run are not).

It prints both, the ratio and the verdict against 3x, and which release replaced which. The load
changes the database (a new current release of the same data): run it against a database you may
reload (--database; default $BENCH_DSN, else `levelup`). Run from the project root:

    .venv/bin/python bench/ingest_iod2025.py [--database levelup]
"""

import argparse
import csv
import io
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("LEVELUP_DATA_DIR", ROOT.parent / "shared" / "data"))
DSN = os.environ.get("BENCH_DSN", "host=127.0.0.1 user=postgres dbname=levelup")
SOURCE = "iod2025-lsoa21"
PROBE_INDICATOR = "iod2025-imd-score"  # one of the file's indicators: its dataset is the file's
TARGET_RATIO = 3.0


def raw_copy_seconds(dsn: str) -> tuple[int, float]:
    path = DATA / "indicators/deprivation/IoD2025_England_LSOA21_scores_ranks_deciles_humaniverse.csv"
    rows = list(csv.reader(open(path, encoding="utf-8")))
    header, data = rows[0], rows[1:]
    buf = io.StringIO()
    writer = csv.writer(buf)
    for r in data:
        for i, col in enumerate(header[1:], start=1):
            writer.writerow([r[0], col, "2025-10-30", r[i]])
    text = buf.getvalue()
    with psycopg.connect(dsn) as conn:
        conn.execute("CREATE TEMP TABLE raw_obs (code text, indicator text, period text, value float8)")
        t0 = time.perf_counter()
        with conn.cursor().copy("COPY raw_obs FROM STDIN WITH (FORMAT csv)") as copy:
            copy.write(text)
        return text.count("\n"), time.perf_counter() - t0


def current_release(dsn: str) -> tuple[int | None, bool]:
    """The current release of the file's dataset, and whether it has a partition."""
    with psycopg.connect(dsn) as conn:
        row = conn.execute("""
            SELECT r.id, to_regclass('indicators_observation_r' || r.id) IS NOT NULL
            FROM indicators_release r JOIN indicators_indicator i ON i.dataset_id = r.dataset_id
            WHERE i.slug = %s AND r.is_current""", (PROBE_INDICATOR,)).fetchone()
    return (row[0], row[1]) if row else (None, False)


def partition_exists(dsn: str, release_id: int) -> bool:
    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT to_regclass(%s) IS NOT NULL",
                            (f"indicators_observation_r{release_id}",)).fetchone()[0]


def vacuum(dsn: str) -> float:
    """VACUUM (ANALYZE) the tables a replacement rewrites, untimed: each run starts from the state
    autovacuum leaves between two releases, not from the dead rows of the previous run (a replacement
    deletes 810k profile facts; three runs in a row without it took 50 s, 60 s and 65 s)."""
    t0 = time.perf_counter()
    with psycopg.connect(dsn, autocommit=True) as conn:
        for table in ("missions_profilefact", "missions_profilespread", "indicators_coverage", "indicators_release"):
            conn.execute(f"VACUUM (ANALYZE) {table}")
    return time.perf_counter() - t0


def loader_run(database_url: str | None) -> tuple[float, int, str]:
    """(seconds, observations written, the command's line for the file)."""
    env = {**os.environ, **({"DATABASE_URL": database_url} if database_url else {})}
    out = subprocess.run([sys.executable, "manage.py", "load_indicators", "--only", SOURCE, "--force"],
                         cwd=ROOT, capture_output=True, text=True, check=True, env=env).stdout
    line = next(line for line in out.splitlines() if SOURCE in line)
    seconds = float(re.search(r"rows\s+([0-9.]+)s", line).group(1))
    observations = int(re.search(r"observations=(\d+)", line).group(1))
    return seconds, observations, line.strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", help="database name (default: $BENCH_DSN, else levelup)")
    args = parser.parse_args()
    dsn = f"host=127.0.0.1 user=postgres dbname={args.database}" if args.database else DSN
    database_url = f"postgis://postgres@127.0.0.1:5432/{args.database}" if args.database else None
    before, _ = current_release(dsn)
    vacuumed = vacuum(dsn)
    n, raw = raw_copy_seconds(dsn)
    full, written, line = loader_run(database_url)
    after, after_partition = current_release(dsn)
    ratio = full / raw
    print("| step | rows | seconds | ratio to COPY | target | result |\n|---|--:|--:|--:|---|---|")
    print(f"| raw COPY (long form) into an unindexed temp table | {n:,} | {raw:.2f} | 1.0x | baseline | – |")
    print(f"| `load_indicators --only {SOURCE} --force` (stage, validate, resolve, fresh partition with ranks, "
          f"copy-forward, indexes, ATTACH, make current: coverage and profile facts; old partition dropped after "
          f"commit) | {written:,} | {full:.2f} | {ratio:.1f}x | ≤ {TARGET_RATIO:g}x | "
          f"{'pass' if ratio <= TARGET_RATIO else 'FAIL'} |")
    replaced = ("first load: no release replaced" if before is None else
                f"release {before} replaced by {after}; its partition "
                f"{'still exists' if partition_exists(dsn, before) else 'dropped'}")
    print(f"\nRelease: {replaced}; the current release's partition {'exists' if after_partition else 'is MISSING'}. "
          f"Loader: `{line}`")
    print(f"Before the run (untimed): VACUUM (ANALYZE) of the profile facts, spreads, coverage and releases, "
          f"{vacuumed:.1f} s.")
    print(f"Command: `{' '.join([Path(sys.executable).name, *sys.argv])}`")
    old_gone = before is None or not partition_exists(dsn, before)
    ok = after is not None and after != before and after_partition and old_gone
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""Load: 64 concurrent clients against gunicorn (the real load, or the 10.7M-row bench database),
with locust (`pip install -r requirements-bench.txt`). Runs: a realistic mix (60 s); the floor, a
view that does nothing (`/healthz`); full profiles of a few areas (served from the profile cache
after the first); full profiles of areas drawn from every LSOA and district (computed nearly every
time); revalidated (304) requests; and the mix again with reads on a real streaming replica
(bench/standby.py) that is stopped half-way. Requests per second (and as a share of the floor),
failures, p50 and p99 per request type. Prints Markdown; exit status 1 if any request failed.

    .venv/bin/python bench/load.py [--database levelup] [--users 64] [--seconds 60] [--short 20]
                                   [--no-replica]
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import free_port, gunicorn_serving  # noqa: E402
from point_lookup import command_line  # noqa: E402
from standby import streaming_standby, unavailable_reason  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def run(port: int, scenario: str, users: int, seconds: int) -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run([str(Path(sys.executable).parent / "locust"), "-f", str(ROOT / "bench/locustfile.py"),
                               "--headless", "-u", str(users), "-r", str(users), "-t", f"{seconds}s", "--host",
                               f"http://127.0.0.1:{port}", "--csv", f"{tmp}/run", "--only-summary"],
                              env={**os.environ, "LEVELUP_LOAD_SCENARIO": scenario}, cwd=ROOT,
                              capture_output=True, text=True, check=False)
        if not Path(f"{tmp}/run_stats.csv").exists():
            raise SystemExit(f"locust ({scenario}) exited with {done.returncode} and no statistics:\n"
                             f"{done.stderr[-3000:]}")
        with open(f"{tmp}/run_stats.csv") as fh:
            return list(csv.DictReader(fh))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="levelup")
    parser.add_argument("--users", type=int, default=64)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--short", type=int, default=20, help="seconds for the profile and 304 runs")
    parser.add_argument("--no-replica", action="store_true", help="skip the run with a replica stopped half-way")
    args = parser.parse_args()
    started = time.perf_counter()
    env = {"DJANGO_SETTINGS_MODULE": "levelup_api.settings.base", "LOG_REQUESTS": "off",
           "DATABASE_URL": f"postgis://postgres@127.0.0.1:5432/{args.database}"}
    server_args = ("-w", "2", "--threads", "8", "--worker-class", "gthread")
    primary_dsn = f"host=127.0.0.1 port=5432 user=postgres dbname={args.database}"
    with psycopg.connect(primary_dsn) as conn:
        real = conn.execute("SELECT EXISTS (SELECT 1 FROM indicators_indicator WHERE slug = 'iod2025-imd-score')"
                            ).fetchone()[0]
    if real:  # the real load: the districts' pay
        os.environ.setdefault("LEVELUP_LOAD_SLICE", "/api/v1/observations/?indicator=gross-median-weekly-pay"
                                                    "&area_type=LAD&period=latest")
    else:  # the synthetic 10.7M-row database: LSOA values only, indicators bench-ind-NNN
        os.environ.setdefault("LEVELUP_LOAD_INDICATOR", "bench-ind-000")
        os.environ.setdefault("LEVELUP_LOAD_SLICE", "/api/v1/observations/?indicator=bench-ind-000"
                                                    "&area_type=LSOA&parent=E08000003&period=latest")
    slice_path = os.environ["LEVELUP_LOAD_SLICE"]
    cold = tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False)
    with psycopg.connect(primary_dsn) as conn:
        cold.write("\n".join(code for (code,) in conn.execute(
            "SELECT a.code FROM geographies_area a JOIN geographies_areamembership m ON m.area_id = a.id "
            "JOIN geographies_vintage v ON v.id = m.vintage_id WHERE v.code IN ('LSOA21', 'LAD24') ORDER BY a.code")))
    cold.close()
    os.environ["LEVELUP_LOAD_COLD_AREAS"] = cold.name
    lines = [f"### Load: {args.users} clients ({args.database}; gunicorn 2 workers x 8 threads, locust on the "
             "same 2 CPUs)", "", "| run | request | requests | failures | req/s | req/s / floor | p50 ms | p99 ms |",
             "|---|---|--:|--:|--:|--:|--:|--:|"]
    import urllib.request

    def ready(port: int) -> None:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5).read()

    failures = 0
    floor = None

    def record(label: str, rows: list[dict]) -> None:
        nonlocal failures, floor
        kinds = [row for row in rows if row["Name"] not in ("first", "Aggregated")]  # ("first": the ETag fetch)
        for row in kinds if len(kinds) == 1 else [*kinds, *(r for r in rows if r["Name"] == "Aggregated")]:
            if row["Name"] != "Aggregated":  # (its failures are the other rows')
                failures += int(row["Failure Count"])
            rate = float(row["Requests/s"])
            if row["Name"] == "healthz":
                floor = rate
            share = f"{rate / floor:.2f}" if floor else "–"
            lines.append(f"| {label} | {row['Name']} | {int(row['Request Count']):,} | {row['Failure Count']} | "
                         f"{rate:,.0f} | {share} | {row['50%']} | {row['99%']} |")

    runs = (("trivial", args.short), ("mix", args.seconds), ("profiles", args.short),
            ("profiles-cold", args.short), ("revalidated", args.short))
    with gunicorn_serving(free_port(), env=env, args=server_args, ready=ready) as port:
        for scenario, seconds in runs:
            record(f"{scenario} ({seconds} s)", run(port, scenario, args.users, seconds))
    notes = []
    if args.no_replica:
        pass
    elif reason := unavailable_reason(primary_dsn):
        notes.append(f"Replica run skipped: {reason}.")
    else:
        with streaming_standby(primary_dsn, args.database) as replica, \
                gunicorn_serving(free_port(), env={**env, "DATABASE_REPLICA_URLS": replica.url(args.database),
                                                   "LEVELUP_REPLICA_CHECK_SECONDS": "1"},
                                 args=server_args, ready=ready) as port:
            half = args.seconds / 2
            sessions = []
            timers = [threading.Timer(half - 1, lambda: sessions.append(replica.reader_sessions(args.database))),
                      threading.Timer(half, replica.stop, kwargs={"mode": "immediate"})]
            for timer in timers:
                timer.daemon = True
                timer.start()
            try:
                rows = run(port, "mix", args.users, args.seconds)
            finally:
                for timer in timers:
                    timer.cancel()
                    timer.join()
            record(f"mix, replica stopped at {half:g} s ({args.seconds} s)", rows)
        notes.append(f"Replica run: reads on a streaming replica of this cluster (`pg_basebackup`, hot standby on "
                     f"loopback) that held {sessions[0] if sessions else '?'} server sessions a second before "
                     f"`pg_ctl stop -m immediate` stopped it at {half:g} s; the rest of the run read from the "
                     "primary.")
    notes.insert(0, f"Slice: `{slice_path}`.")
    os.unlink(cold.name)
    lines += ["", *notes, f"Failures in all: {failures}.", f"Command: `{command_line()}` "
              f"(wall time {time.perf_counter() - started:.0f} s)"]
    print("\n".join(lines))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

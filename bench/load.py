"""Load: 64 concurrent clients against gunicorn (the real load, or the 10.7M-row bench database),
with locust (`pip install -r requirements-bench.txt`), as production serves: quotas on, gunicorn as
the README runs it (`--workers 2 --threads 4 --worker-class gthread`), and every simulated client
sending an API key of its own of the highest tier (partner: 6,000 requests a minute each; one shared
key would be throttled at 100 requests a second, below the floor).

Runs: the floor, `/api/ping` (a view that does nothing but is counted like every API request: DRF,
the key's check, the quota), against the same view on a second server with quotas off and no keys
(two pairs, alternated: what quotas cost); `/healthz` (outside DRF and the quota); a realistic mix
(60 s); full profiles of a few areas (served from the profile cache after the first); full profiles
of areas drawn from every LSOA and district (computed nearly every time); revalidated (304)
requests; and the mix again with reads on a real streaming replica (bench/standby.py) that is
stopped half-way. Requests per second (and as a share of the floor: `/api/ping` with quotas on),
failures, p50 and p99 per request type, then the targets: quotas cost at most 10% of the floor's
throughput; the mix at least 0.3 of the floor with p99 ≤ 250 ms and no failure; profiles of areas
never asked for at least 0.5 of the floor. Prints Markdown; exit status 1 if any request failed
(a missed target is reported, MISSED, not a failure).

    .venv/bin/python bench/load.py [--database levelup] [--users 64] [--seconds 60] [--short 20]
                                   [--no-replica]
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SERVE_ARGS, bench_api_keys, bench_key_tier, free_port, gunicorn_serving  # noqa: E402
from point_lookup import command_line  # noqa: E402
from standby import streaming_standby, unavailable_reason  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


TARGET_QUOTA_COST = 0.10  # quotas cost at most this share of the floor's throughput
TARGET_MIX_SHARE, TARGET_MIX_P99_MS = 0.3, 250.0
TARGET_COLD_SHARE = 0.5


def run(port: int, scenario: str, users: int, seconds: int, keys: str | None) -> list[dict]:
    """One locust run; `keys` is the file of API keys (one per simulated client), None for none."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "LEVELUP_LOAD_SCENARIO": scenario}
        env.pop("LEVELUP_LOAD_KEYS", None)
        if keys:
            env["LEVELUP_LOAD_KEYS"] = keys
        done = subprocess.run([str(Path(sys.executable).parent / "locust"), "-f", str(ROOT / "bench/locustfile.py"),
                               "--headless", "-u", str(users), "-r", str(users), "-t", f"{seconds}s", "--host",
                               f"http://127.0.0.1:{port}", "--csv", f"{tmp}/run", "--only-summary"],
                              env=env, cwd=ROOT, capture_output=True, text=True, check=False)
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
    parser.add_argument("--short", type=int, default=20, help="seconds for the floor, profile and 304 runs")
    parser.add_argument("--no-replica", action="store_true", help="skip the run with a replica stopped half-way")
    args = parser.parse_args()
    started = time.perf_counter()
    database_url = f"postgis://postgres@127.0.0.1:5432/{args.database}"
    env = {"DJANGO_SETTINGS_MODULE": "levelup_api.settings.base", "LOG_REQUESTS": "off", "DATABASE_URL": database_url}
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
    # One key per simulated client, of the highest tier (bench/common.py): made once, reused after.
    tier, rate = bench_key_tier("load", database=database_url, count=args.users)
    keys = tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False)
    keys.write("\n".join(bench_api_keys(args.users, "load", database=database_url)))
    keys.close()
    os.chmod(keys.name, 0o600)
    server = " ".join(SERVE_ARGS[:6])
    lines = [f"### Load: {args.users} clients ({args.database}; gunicorn `{server}`, quotas on, a {tier} key per "
             "client; locust on the same 2 CPUs)", "",
             "| run | request | requests | failures | req/s | req/s / floor | p50 ms | p99 ms |",
             "|---|---|--:|--:|--:|--:|--:|--:|"]
    import urllib.request

    def ready(port: int) -> None:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5).read()

    failures = 0
    floor = None
    measured: dict[str, dict] = {}  # run label -> its Aggregated (or only) row

    def record(label: str, rows: list[dict]) -> None:
        nonlocal failures
        kinds = [row for row in rows if row["Name"] not in ("first", "Aggregated")]  # ("first": the ETag fetch)
        shown = kinds if len(kinds) == 1 else [*kinds, *(r for r in rows if r["Name"] == "Aggregated")]
        for row in shown:
            if row["Name"] != "Aggregated":  # (its failures are the other rows')
                failures += int(row["Failure Count"])
            rate = float(row["Requests/s"])
            share = f"{rate / floor:.2f}" if floor else "–"
            lines.append(f"| {label} | {row['Name']} | {int(row['Request Count']):,} | {row['Failure Count']} | "
                         f"{rate:,.0f} | {share} | {row['50%']} | {row['99%']} |")
        measured[label] = shown[-1]

    with gunicorn_serving(free_port(), env=env, args=SERVE_ARGS, ready=ready, quotas=True) as port, \
            gunicorn_serving(free_port(), env=env, args=SERVE_ARGS, ready=ready, quotas=False) as port_off:
        # The floor with quotas on and off, alternated (the machine is shared: drift hits both alike).
        floor_runs: dict[bool, list[list[dict]]] = {True: [], False: []}
        half = max(args.short // 2, 2)
        for _ in range(2):
            floor_runs[True].append(run(port, "ping", args.users, half, keys.name))
            floor_runs[False].append(run(port_off, "ping", args.users, half, None))
        on_rate = statistics.mean(float(r[-1]["Requests/s"]) for r in floor_runs[True])
        off_rate = statistics.mean(float(r[-1]["Requests/s"]) for r in floor_runs[False])
        floor = on_rate
        for n in range(2):
            record(f"floor, quotas on ({half} s, {n + 1}/2)", floor_runs[True][n])
            record(f"floor, quotas off, no key ({half} s, {n + 1}/2)", floor_runs[False][n])
        for scenario, seconds in (("trivial", args.short), ("mix", args.seconds), ("profiles", args.short),
                                  ("profiles-cold", args.short), ("revalidated", args.short)):
            record(f"{scenario} ({seconds} s)", run(port, scenario, args.users, seconds, keys.name))
    notes = []
    if args.no_replica:
        pass
    elif reason := unavailable_reason(primary_dsn):
        notes.append(f"Replica run skipped: {reason}.")
    else:
        with streaming_standby(primary_dsn, args.database) as replica, \
                gunicorn_serving(free_port(), env={**env, "DATABASE_REPLICA_URLS": replica.url(args.database),
                                                   "LEVELUP_REPLICA_CHECK_SECONDS": "1"},
                                 args=SERVE_ARGS, ready=ready, quotas=True) as port:
            half = args.seconds / 2
            sessions = []
            timers = [threading.Timer(half - 1, lambda: sessions.append(replica.reader_sessions(args.database))),
                      threading.Timer(half, replica.stop, kwargs={"mode": "immediate"})]
            for timer in timers:
                timer.daemon = True
                timer.start()
            try:
                rows = run(port, "mix", args.users, args.seconds, keys.name)
            finally:
                for timer in timers:
                    timer.cancel()
                    timer.join()
            record(f"mix, replica stopped at {half:g} s ({args.seconds} s)", rows)
        notes.append(f"Replica run: reads on a streaming replica of this cluster (`pg_basebackup`, hot standby on "
                     f"loopback) that held {sessions[0] if sessions else '?'} server sessions a second before "
                     f"`pg_ctl stop -m immediate` stopped it at {half:g} s; the rest of the run read from the "
                     "primary.")
    os.unlink(cold.name)
    os.unlink(keys.name)

    mix = measured[f"mix ({args.seconds} s)"]
    cold_profiles = measured[f"profiles-cold ({args.short} s)"]
    cost = 1 - on_rate / off_rate if off_rate else float("nan")
    mix_share, mix_p99 = float(mix["Requests/s"]) / floor, float(mix["99%"])
    cold_share = float(cold_profiles["Requests/s"]) / floor
    targets = [
        ("what quotas cost: 1 - floor with quotas on / floor with quotas off",
         f"≤ {TARGET_QUOTA_COST:.0%}", f"{cost:.1%} ({on_rate:,.0f} against {off_rate:,.0f} req/s)",
         cost <= TARGET_QUOTA_COST),
        ("the realistic mix: req/s / floor", f"≥ {TARGET_MIX_SHARE:g}", f"{mix_share:.2f}", mix_share >= TARGET_MIX_SHARE),
        ("the realistic mix: p99", f"≤ {TARGET_MIX_P99_MS:g} ms", f"{mix_p99:g} ms", mix_p99 <= TARGET_MIX_P99_MS),
        ("the realistic mix: failures", "0", mix["Failure Count"], int(mix["Failure Count"]) == 0),
        ("profiles of areas never asked for: req/s / floor", f"≥ {TARGET_COLD_SHARE:g}", f"{cold_share:.2f}",
         cold_share >= TARGET_COLD_SHARE),
    ]
    lines += ["", "| target | wanted | measured | result |", "|---|---|--:|---|"]
    lines += [f"| {name} | {wanted} | {got} | {'pass' if ok else '**MISSED**'} |" for name, wanted, got, ok in targets]
    missed = sum(not ok for *_, ok in targets)
    notes = [f"Floor: `/api/ping` with quotas on ({on_rate:,.0f} req/s, the mean of its two runs): a view that does "
             "nothing, counted like every API request (DRF, the key's check, the quota in Redis). Quotas off: the "
             "same view on a second server with `LEVELUP_QUOTAS=off` and no key sent (no check, no count). "
             "`/healthz` is outside DRF and the quota.",
             f"Keys: {args.users} {tier} keys ({rate} each), one per simulated client (`bench: load #1` to "
             f"`#{args.users}`, made by bench/common.py `bench_api_keys` and reused): throttled only past "
             f"{args.users} x {rate}; one shared key would be throttled far below the floor (a 429 is a failure).",
             f"Slice: `{slice_path}`.", *notes]
    lines += ["", *notes,
              f"{'MISSED: ' + str(missed) + ' target(s).' if missed else 'Every target met.'} Failures in all: "
              f"{failures}.",
              f"Command: `{command_line()}` (wall time {time.perf_counter() - started:.0f} s)"]
    print("\n".join(lines))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

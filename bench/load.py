"""Load: 64 concurrent clients against gunicorn (the real load, or the 10.7M-row bench database),
with locust (`pip install -r requirements-bench.txt`). Three runs: a realistic mix (60 s), uncached
profiles, and revalidated (304) requests; requests per second, failures, p50 and p99 per request
type, against a trivial view (`/healthz`) measured the same way. Prints Markdown.

    .venv/bin/python bench/load.py [--database levelup] [--users 64] [--seconds 60] [--short 20]
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import free_port, gunicorn_serving  # noqa: E402
from point_lookup import command_line  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def run(port: int, scenario: str, users: int, seconds: int) -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([str(Path(sys.executable).parent / "locust"), "-f", str(ROOT / "bench/locustfile.py"),
                        "--headless", "-u", str(users), "-r", str(users), "-t", f"{seconds}s", "--host",
                        f"http://127.0.0.1:{port}", "--csv", f"{tmp}/run", "--only-summary"],
                       env={**os.environ, "LEVELUP_LOAD_SCENARIO": scenario}, cwd=ROOT,
                       capture_output=True, text=True, check=False)
        with open(f"{tmp}/run_stats.csv") as fh:
            return list(csv.DictReader(fh))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="levelup")
    parser.add_argument("--users", type=int, default=64)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--short", type=int, default=20, help="seconds for the profile and 304 runs")
    args = parser.parse_args()
    started = time.perf_counter()
    env = {"DJANGO_SETTINGS_MODULE": "levelup_api.settings.base", "LOG_REQUESTS": "off",
           "DATABASE_URL": f"postgis://postgres@127.0.0.1:5432/{args.database}"}
    lines = [f"### Load: {args.users} clients ({args.database}; gunicorn 2 workers x 8 threads, locust on the "
             "same 2 CPUs)", "", "| run | request | requests | failures | req/s | p50 ms | p99 ms |",
             "|---|---|--:|--:|--:|--:|--:|"]
    import urllib.request

    with gunicorn_serving(free_port(), env=env, args=("-w", "2", "--threads", "8", "--worker-class", "gthread"),
                          ready=lambda port: urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz",
                                                                    timeout=5).read()) as port:
        failures = 0
        for scenario, seconds in (("mix", args.seconds), ("profiles", args.short), ("revalidated", args.short)):
            for row in run(port, scenario, args.users, seconds):
                if row["Name"] == "first":
                    continue
                failures += int(row["Failure Count"])
                lines.append(f"| {scenario} ({seconds} s) | {row['Name']} | {int(row['Request Count']):,} | "
                             f"{row['Failure Count']} | {float(row['Requests/s']):,.0f} | {row['50%']} | {row['99%']} |")
    lines += ["", f"Failures in all: {failures}.", f"Command: `{command_line()}` "
              f"(wall time {time.perf_counter() - started:.0f} s)"]
    print("\n".join(lines))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

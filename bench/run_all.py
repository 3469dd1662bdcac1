"""Run every benchmark under bench/ and rewrite its figures in docs/benchmarks.md (`make bench`).

Each script prints a Markdown section with its own limit (raw SQL or COPY) measured in the same
run; this runner puts that output, the command behind it, the date and the exit status between the
script's markers in the document:

    <!-- bench:NAME begin ... -->
    ...written here...
    <!-- bench:NAME end -->

and leaves everything outside the markers (the design notes and the analysis) as it is. A
benchmark with no markers yet gets a new section at the end. The document is written after every
benchmark, so an interrupted run keeps what it measured. Exit status 1 if any script failed (a
disagreement with its limit, a failed request under load, or a crash).

    .venv/bin/python bench/run_all.py [--only NAME,...] [--skip-scale] [--doc docs/benchmarks.md]

The scale benchmarks fill and use the separate `levelup_bench` database (10.7 million rows, a few
minutes); the others use the loaded `levelup` database.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Bench:
    name: str
    args: tuple[str, ...]
    scale: bool = False  # needs (and may create) the 10.7M-row levelup_bench database


BENCHMARKS = (
    Bench("point_lookup", ("bench/point_lookup.py",)),
    Bench("endpoints", ("bench/endpoints.py",)),
    Bench("observation_slice", ("bench/observation_slice.py",)),
    Bench("graphql_children", ("bench/graphql_children.py",)),
    Bench("graphql_limits", ("bench/graphql_limits.py",)),
    Bench("ingest_iod2025", ("bench/ingest_iod2025.py",)),
    Bench("profiles", ("bench/profiles.py",)),
    Bench("tiles", ("bench/tiles.py",)),
    Bench("explorer_browser", ("bench/explorer_browser.py",)),
    Bench("load", ("bench/load.py",)),
    Bench("observations", ("bench/observations.py",), scale=True),
    Bench("aggregate", ("bench/aggregate.py",), scale=True),
    Bench("publish", ("bench/publish.py",), scale=True),
    Bench("profiles_scale", ("bench/profiles.py", "--database", "levelup_bench", "--area", "E01005061",
                             "--lsoa", "E01000001"), scale=True),
    Bench("load_scale", ("bench/load.py", "--database", "levelup_bench", "--no-replica"), scale=True),
)


def markers(name: str) -> tuple[str, str]:
    return (f"<!-- bench:{name} begin: written by `make bench` (bench/run_all.py); edits inside are overwritten -->",
            f"<!-- bench:{name} end -->")


def replace_section(document: str, name: str, body: str) -> str:
    begin, end = markers(name)
    block = f"{begin}\n{body.strip()}\n{end}"
    pattern = re.compile(re.escape(f"<!-- bench:{name} begin") + r".*?" + re.escape(end), re.S)
    if pattern.search(document):
        return pattern.sub(lambda _: block, document, count=1)
    return f"{document.rstrip()}\n\n## `{name}`\n\n{block}\n"


def machine() -> str:
    """What this machine is and how fast, so runs on different machines can be told apart: the CPU,
    a fixed Python loop and a fixed PostgreSQL scan (both single-threaded), measured once per run
and written under every section it writes."""
    import platform

    import psycopg

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "unknown CPU")
    started = time.perf_counter()
    total = 0
    for i in range(10_000_000):
        total += i
    python_s = time.perf_counter() - started
    with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]
        started = time.perf_counter()
        conn.execute("SELECT count(*) FROM generate_series(1, 10000000)").fetchone()
        sql_s = time.perf_counter() - started
    return (f"Machine: {os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, PostgreSQL {version}. "
            f"Speed reference (lower is faster): a Python loop of 10 million additions {python_s:.2f} s, "
            f"`SELECT count(*) FROM generate_series(1, 10000000)` {sql_s:.2f} s.")


def run(bench: Bench) -> tuple[int, str, float]:
    command = [sys.executable, *bench.args]
    started = time.perf_counter()
    print(f"[run_all] {' '.join(bench.args)}", file=sys.stderr, flush=True)
    # stdout is the Markdown; progress on stderr goes straight to the terminal.
    done = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, text=True, check=False)
    return done.returncode, done.stdout, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="", help="comma-separated names: " + ", ".join(b.name for b in BENCHMARKS))
    parser.add_argument("--skip-scale", action="store_true", help="leave out the 10.7M-row benchmarks")
    parser.add_argument("--doc", type=Path, default=ROOT / "docs/benchmarks.md")
    args = parser.parse_args()
    only = {n.strip() for n in args.only.split(",") if n.strip()}
    unknown = only - {b.name for b in BENCHMARKS}
    if unknown:
        parser.error(f"--only: unknown benchmark(s) {', '.join(sorted(unknown))}")
    chosen = [b for b in BENCHMARKS if (not only or b.name in only) and not (args.skip_scale and b.scale)]
    failed = []
    reference = machine() if chosen else ""
    for bench in chosen:
        status, output, seconds = run(bench)
        stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        command = " ".join([".venv/bin/python", *bench.args])
        header = (f"_Measured {stamp} by `make bench` with `{command}`: {seconds:.0f} s, exit status {status}"
                  f"{'' if status == 0 else ' (FAILED: see the output below)'}._")
        body = f"{header}\n\n{output.strip() or '(no output)'}\n\n{reference}"
        args.doc.write_text(replace_section(args.doc.read_text(), bench.name, body))
        if status != 0:
            failed.append(bench.name)
    print(f"[run_all] {len(chosen)} benchmark(s) written to {args.doc.relative_to(ROOT)}"
          + (f"; FAILED: {', '.join(failed)}" if failed else ""), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Point-lookup latency on the national LSOA21 boundaries, measured three ways in one run.

1. raw PostGIS: a plain psycopg connection (no Django) running a prepared
   `ST_Contains` query against `geographies_boundary` for LSOA21. This is the physical limit.
2. selector: `geographies.selectors.point_lookup()` called in-process after `django.setup()`
   (one statement over the subdivided `geographies_boundarypiece`, every area type at once).
   Target: p50 within 1.5x of raw.
3. HTTP: `GET /api/v1/lookup/point/?lon=&lat=` over loopback, sequential requests on one
   `http.client.HTTPConnection` (keep-alive is asked for; gunicorn's default sync workers answer
   `Connection: close`, and the output says how often that happened). The script starts its own
   gunicorn (`gunicorn levelup_api.wsgi -b 127.0.0.1:<free port> -w 2`) and stops it at the end,
   unless `--url` points at a server that is already running. Target: p50 under 2 ms.

Points are random points inside a random sample of LSOA21 boundaries, made in SQL with
`setseed` + `ST_GeneratePoints`, so the same `--seed` gives the same points. Every method is
warmed up on its own extra points first, and the script checks that all three return the LSOA
code of the boundary each point was drawn from (disagreements are counted and printed).

Run from the project root, against the loaded database (DATABASE_URL as for Django):

    .venv/bin/python bench/point_lookup.py [--points 2000] [--seed 1] [--warmup 200]
                                           [--url http://127.0.0.1:8000] [--json out.json]

It prints a Markdown table (p50/p90/p99 in ms, p50 ratio to raw, target, pass/fail), the machine
and the exact command, ready to paste into docs/benchmarks.md. Exit status is 1 if the methods
disagree on any point; targets are reported, not enforced.
"""

from __future__ import annotations

import argparse
import gc
import http.client
import ipaddress
import json
import os
import platform
import shlex
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import free_port, gunicorn_serving  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = "levelup_api.settings.base"
DEFAULT_DB_URL = "postgis://postgres@127.0.0.1:5432/levelup"
VINTAGE = "LSOA21"
LOOKUP_PATH = "/api/v1/lookup/point/"
SELECTOR_MAX_RATIO = 1.5
HTTP_MAX_P50_MS = 2.0

# `+ 0` keeps the planner on the GiST index alone: ANDing it with the vintage index builds a
# bitmap of all 35,672 LSOA21 rows per call (0.45 ms instead of ~0.15 ms). The baseline is the
# fastest plain query, not the first one written.
RAW_SQL = """
    SELECT a.code
    FROM geographies_boundary b JOIN geographies_area a ON a.id = b.area_id
    WHERE b.vintage_id + 0 = {vintage_id}
      AND ST_Contains(b.geom, ST_SetSRID(ST_MakePoint(%s, %s), 4326))
"""

# Shuffle the vintage's boundaries with random() drawn in id order (so setseed makes it
# repeatable), keep the first `n`, and put one random point inside each.
POINTS_SQL = """
    WITH shuffled AS MATERIALIZED (
        SELECT id, random() AS r
        FROM (SELECT id FROM geographies_boundary WHERE vintage_id = %(vintage_id)s ORDER BY id) ordered
    ), picked AS MATERIALIZED (
        SELECT id, r FROM shuffled ORDER BY r, id LIMIT %(n)s
    )
    SELECT ST_X(pt), ST_Y(pt), code
    FROM (
        SELECT p.r, a.code, ST_GeometryN(ST_GeneratePoints(b.geom, 1, %(point_seed)s), 1) AS pt
        FROM picked p
        JOIN geographies_boundary b ON b.id = p.id
        JOIN geographies_area a ON a.id = b.area_id
    ) points
    ORDER BY r, code
"""


@dataclass(frozen=True)
class Point:
    lon: float
    lat: float
    code: str  # LSOA21 code of the boundary the point was drawn from


@dataclass
class Method:
    """One way of looking a point up: `call` is timed, `code_of` turns its result into an LSOA code."""

    name: str
    target: str
    call: Callable[[Point], Any]
    code_of: Callable[[Any], str | None]
    check: Callable[[float, float], bool] | None = None  # (p50 ms, p50 ratio to raw) -> passed


@dataclass
class Result:
    name: str
    target: str
    samples_ns: list[int]
    codes: list[str | None]
    passed: bool | None = None

    def percentile_ms(self, q: int) -> float:
        cuts = statistics.quantiles(self.samples_ns, n=100, method="inclusive")
        return cuts[q - 1] / 1e6


# -- setup -------------------------------------------------------------------------------------
def database_url() -> str:
    url = os.environ.get("DATABASE_URL", DEFAULT_DB_URL)
    scheme, sep, rest = url.partition("://")
    return f"postgresql://{rest}" if sep and scheme in {"postgis", "postgres", "pgsql"} else url


def vintage_id(conn: psycopg.Connection, code: str = VINTAGE) -> int:
    row = conn.execute("SELECT id FROM geographies_vintage WHERE code = %s", (code,)).fetchone()
    if row is None:
        raise SystemExit(f"vintage {code} is not loaded; run `make load` first")
    return row[0]


def random_points(conn: psycopg.Connection, *, vintage: int, n: int, seed: int) -> list[Point]:
    conn.execute("SELECT setseed(%s)", ((seed % 2**31) / 2**31,))
    rows = conn.execute(POINTS_SQL, {"vintage_id": vintage, "n": n, "point_seed": seed % 2**31 + 1}).fetchall()
    if len(rows) < n:
        raise SystemExit(f"only {len(rows)} {VINTAGE} boundaries to sample from; ask for fewer points")
    return [Point(lon, lat, code) for lon, lat, code in rows]


def machine(conn: psycopg.Connection) -> dict[str, str]:
    pg = conn.execute("SHOW server_version").fetchone()[0]
    postgis, geos = conn.execute("SELECT postgis_lib_version(), postgis_geos_version()").fetchone()
    return {
        "nproc": str(len(os.sched_getaffinity(0))),
        "cpu": cpu_model(),
        "postgresql": pg,
        "postgis": postgis,
        "geos": geos,
        "python": platform.python_version(),
    }


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def setup_django() -> Callable[..., list]:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS)
    import django

    django.setup()
    from geographies.selectors import point_lookup

    return point_lookup


# -- the three methods -------------------------------------------------------------------------
def raw_method(conn: psycopg.Connection, vintage: int) -> Method:
    query = sql.SQL(RAW_SQL).format(vintage_id=sql.Literal(vintage))  # a constant, like the selector's plan
    cursor = conn.cursor()

    def call(p: Point) -> list[tuple[str]]:
        cursor.execute(query, (p.lon, p.lat), prepare=True)
        return cursor.fetchall()

    return Method("raw PostGIS (psycopg, prepared)", "baseline", call,
                  lambda rows: ",".join(sorted(code for (code,) in rows)) or None)


def selector_method(point_lookup: Callable[..., list]) -> Method:
    def code_of(hits: list) -> str | None:
        return next((h.code for h in hits if h.type_code == "LSOA"), None)

    return Method("selector in-process", f"p50 ≤ {SELECTOR_MAX_RATIO}x raw",
                  lambda p: point_lookup(lon=p.lon, lat=p.lat), code_of,
                  check=lambda p50_ms, ratio: ratio <= SELECTOR_MAX_RATIO)


def lookup_path(p: Point) -> str:
    return f"{LOOKUP_PATH}?{urlencode({'lon': repr(p.lon), 'lat': repr(p.lat)})}"


class LoopbackClient:
    """Sequential GETs on one persistent HTTPConnection (http.client reconnects if the server closes it)."""

    def __init__(self, host: str, port: int, timeout: float = 10) -> None:
        self.conn = http.client.HTTPConnection(host, port, timeout=timeout)
        self.responses = 0
        self.closed_by_server = 0  # gunicorn's sync workers answer `Connection: close`

    def get(self, path: str) -> bytes:
        self.conn.request("GET", path, headers={"Accept": "application/json"})
        response = self.conn.getresponse()
        body = response.read()
        self.responses += 1
        self.closed_by_server += response.will_close
        if response.status != 200:
            raise RuntimeError(f"GET {path} -> {response.status}: {body[:200]!r}")
        return body

    def close(self) -> None:
        self.conn.close()


def http_method(client: LoopbackClient, label: str) -> Method:
    def code_of(body: bytes) -> str | None:
        areas = json.loads(body)["areas"]
        return next((a["code"] for a in areas if a["type"] == "LSOA"), None)

    return Method(f"HTTP over loopback ({label})", f"p50 < {HTTP_MAX_P50_MS:g} ms",
                  lambda p: client.get(lookup_path(p)), code_of,
                  check=lambda p50_ms, ratio: p50_ms < HTTP_MAX_P50_MS)


# -- HTTP server -------------------------------------------------------------------------------
def loopback_only(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme != "http" or not is_loopback(host):
        raise SystemExit(f"--url must be http:// on a loopback address, got {url!r}")
    return host, parts.port or 80


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@contextmanager
def gunicorn(port: int, probe: Point) -> Iterator[tuple[str, int]]:
    """`gunicorn levelup_api.wsgi -b 127.0.0.1:<port> -w 2` (sync workers), answering the probe point."""
    def ready(port: int) -> None:
        client = LoopbackClient("127.0.0.1", port, timeout=5)
        try:
            client.get(lookup_path(probe))
        finally:
            client.close()

    with gunicorn_serving(port, ready=ready, env={"DJANGO_SETTINGS_MODULE": SETTINGS}):
        yield "127.0.0.1", port


# -- measuring ---------------------------------------------------------------------------------
def measure(method: Method, points: Sequence[Point], warmup: Sequence[Point]) -> Result:
    for p in warmup:
        method.code_of(method.call(p))
    gc.collect()
    samples, outputs = [], []
    clock = time.perf_counter_ns
    for p in points:
        start = clock()
        out = method.call(p)
        samples.append(clock() - start)
        outputs.append(out)
    return Result(method.name, method.target, samples, [method.code_of(o) for o in outputs])


def judge(results: list[Result], methods: list[Method]) -> None:
    raw_p50 = results[0].percentile_ms(50)
    for result, method in zip(results, methods, strict=True):
        if method.check is not None:
            p50 = result.percentile_ms(50)
            result.passed = method.check(p50, p50 / raw_p50)


def disagreements(points: Sequence[Point], results: Sequence[Result]) -> list[tuple[Point, list[str | None]]]:
    found = []
    for i, p in enumerate(points):
        codes = [r.codes[i] for r in results]
        if any(c != p.code for c in codes):
            found.append((p, codes))
    return found


# -- reporting ---------------------------------------------------------------------------------
@dataclass
class Report:
    results: list[Result]
    machine: dict[str, str]
    disagreements: list[tuple[Point, list[str | None]]]
    server_url: str
    http_closed: int  # responses after which the server closed the connection
    http_responses: int


def command_line() -> str:
    python = Path(sys.executable)
    try:
        python = python.relative_to(Path.cwd())
    except ValueError:
        pass
    return shlex.join([str(python), *sys.argv])


def markdown(report: Report, args: argparse.Namespace) -> str:
    raw_p50 = report.results[0].percentile_ms(50)
    info, bad = report.machine, report.disagreements
    lines = [
        f"### Point lookup, national {VINTAGE} ({args.points} points, seed {args.seed})",
        "",
        "| method | p50 ms | p90 ms | p99 ms | p50 / raw p50 | target | result |",
        "|---|--:|--:|--:|--:|---|---|",
    ]
    for r in report.results:
        p50, p90, p99 = (r.percentile_ms(q) for q in (50, 90, 99))
        verdict = "–" if r.passed is None else ("pass" if r.passed else "FAIL")
        lines.append(f"| {r.name} | {p50:.3f} | {p90:.3f} | {p99:.3f} | {p50 / raw_p50:.2f}x | {r.target} | {verdict} |")
    lines += [
        "",
        f"Agreement: {args.points - len(bad)}/{args.points} points get the sampled "
        f"{VINTAGE} code from all three methods ({len(bad)} disagreements).",
        keep_alive_note(report.http_closed, report.http_responses),
        f"Machine: {info['nproc']} CPUs ({info['cpu']}), PostgreSQL {info['postgresql']}, "
        f"PostGIS {info['postgis']} (GEOS {info['geos']}), Python {info['python']}.",
        f"Command: `{command_line()}`",
    ]
    return "\n".join(lines)


def keep_alive_note(closed: int, responses: int) -> str:
    if not closed:
        return f"HTTP: one kept-alive connection for all {responses} requests."
    return (f"HTTP: the server closed the connection after {closed} of {responses} responses "
            "(gunicorn sync workers do not keep alive), so those requests each paid a loopback TCP connect.")


def as_json(report: Report, args: argparse.Namespace) -> dict:
    raw = {q: report.results[0].percentile_ms(q) for q in (50, 90, 99)}
    methods = []
    for r in report.results:
        ms = {q: r.percentile_ms(q) for q in (50, 90, 99)}
        methods.append({
            "method": r.name, "target": r.target, "passed": r.passed,
            **{f"p{q}_ms": round(v, 4) for q, v in ms.items()},
            **{f"p{q}_ratio_to_raw": round(v / raw[q], 3) for q, v in ms.items()},
        })
    return {
        "benchmark": "point_lookup", "vintage": VINTAGE, "points": args.points, "seed": args.seed,
        "warmup": args.warmup, "url": report.server_url, "command": command_line(), "machine": report.machine,
        "methods": methods,
        "http_responses": report.http_responses, "http_connections_closed_by_server": report.http_closed,
        "disagreements": [{"lon": p.lon, "lat": p.lat, "expected": p.code, "codes": codes}
                          for p, codes in report.disagreements],
    }


# -- main --------------------------------------------------------------------------------------
def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=2000, help="timed lookups per method (default 2000)")
    parser.add_argument("--seed", type=int, default=1, help="random seed for the points (default 1)")
    parser.add_argument("--warmup", type=int, default=200, help="untimed lookups per method first (default 200)")
    parser.add_argument("--url", help="time this running server (loopback only) instead of starting gunicorn")
    parser.add_argument("--port", type=int, default=0, help="port for the gunicorn it starts (default: any free)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the numbers as JSON")
    args = parser.parse_args(argv)
    if args.points < 2 or args.warmup < 1:
        parser.error("--points must be at least 2 and --warmup at least 1")
    if args.url:
        loopback_only(args.url)
    return args


@contextmanager
def server(args: argparse.Namespace, probe: Point) -> Iterator[tuple[str, int]]:
    """The --url server, or a gunicorn of our own for the duration of the block."""
    if args.url:
        yield loopback_only(args.url)
    else:
        with gunicorn(args.port or free_port(), probe) as address:
            yield address


def run(args: argparse.Namespace) -> Report:
    with psycopg.connect(database_url(), autocommit=True) as conn:
        vintage = vintage_id(conn)
        sample = random_points(conn, vintage=vintage, n=args.warmup + args.points, seed=args.seed)
        warmup, points = sample[:args.warmup], sample[args.warmup:]
        info = machine(conn)
        methods = [raw_method(conn, vintage), selector_method(setup_django())]
        results = [measure(m, points, warmup) for m in methods]

    with server(args, warmup[0]) as (host, port):
        client = LoopbackClient(host, port)
        try:
            methods.append(http_method(client, args.url or "gunicorn -w 2"))
            results.append(measure(methods[-1], points, warmup))
        finally:
            client.close()

    judge(results, methods)
    return Report(results, info, disagreements(points, results), f"http://{host}:{port}",
                  client.closed_by_server, client.responses)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    report = run(args)
    print(markdown(report, args))
    for p, codes in report.disagreements[:10]:
        print(f"  disagreement at ({p.lon!r}, {p.lat!r}): expected {p.code}, raw/selector/http = {codes}")
    if args.json:
        args.json.write_text(json.dumps(as_json(report, args), indent=2) + "\n")
    return 1 if report.disagreements else 0


if __name__ == "__main__":
    sys.exit(main())

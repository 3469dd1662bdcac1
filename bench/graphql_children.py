"""GraphQL: the latest values of a few indicators for every LSOA below a district, against its limits.

The issue asks that `area(code) { children(type: "LSOA") { code name observations(indicator: "a,b,c",
period: "latest") { ... } } }` (the `CHILD_VALUES` query of tests/indicators/test_graphql.py) runs a
fixed number of SQL queries and answers in 10 ms p50 over HTTP or less for a district's ~300 LSOAs x
3 indicators (PostGraphile 5, a compiled-SQL GraphQL server, takes 10 ms for it on the same machine).
Measured in one run, interleaved round by round after warm-up rounds:

1. SQL limit: one hand-written statement on a plain psycopg connection (prepared) - the area's
   descendants in the newest LSOA vintage that has any, via `geographies_areaancestor`, crossed with
   each indicator's latest period (from `indicators_coverage`, as `period: "latest"` resolves it)
   and looked up in the current observations - then shaped in Python into the same JSON document the
   API returns and serialised with `orjson.dumps`, in-process. This is the physical limit.
2. HTTP floor: `{ __typename }` POSTed to `/graphql` on the same server and connection: the least
   any GraphQL request costs there (loopback, gunicorn, Django middleware, graphene).
3. The app's own SQL statements for one request (captured as below), replayed on the psycopg
   connection: the database's share of the API's time.
4. GraphQL in-process: the query through `django.test.Client` after `django.setup()` (no socket).
5. GraphQL over HTTP: POST `/graphql` on one kept-alive `http.client.HTTPConnection` to a gunicorn
   the script starts (`gunicorn levelup_api.wsgi -b 127.0.0.1:<free port> -w 2 --threads 4
   --worker-class gthread`, settings levelup_api.settings.base, DATABASE_URL on --database) and
   always stops. Target: p50 <= 10 ms.

Each timed round starts after `gc.collect()` in the benchmark process; the server's workers collect
on their own schedule, so their periodic full collections show in the HTTP p90.

It also counts the SQL queries one request runs (`CaptureQueriesContext` around an in-process
request), and checks that the API and the SQL limit return the same children and observations
(counts and contents); exit status 1 if they do not. Targets are reported, not enforced.

Run from the project root against the loaded database:

    .venv/bin/python bench/graphql_children.py [--area E08000003]
        [--indicators iod2025-imd-score,iod2025-income-score,population-census-2021]
        [--database levelup] [--repeat 50] [--warmup 10] [--port 0]

It prints one Markdown section (table, query count, agreement, machine, exact command, wall time)
ready to paste into docs/benchmarks.md; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import gc
import http.client
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import orjson
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
import postgraphile  # noqa: E402
from common import app_session_options, current_in, free_port, gunicorn_serving  # noqa: E402
from point_lookup import command_line, cpu_model  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = "levelup_api.settings.base"
PG_SERVER = "postgres@127.0.0.1:5432"
GRAPHQL_PATH = "/graphql"
AREA_TYPE = "LSOA"
DEFAULT_AREA = "E08000003"  # Manchester: 295 LSOA21s
DEFAULT_INDICATORS = "iod2025-imd-score,iod2025-income-score,population-census-2021"
HTTP_MAX_P50_MS = 10.0  # the issue's target, PostGraphile 5's time for this query on the same machine
HTTP_TIMEOUT_S = 30.0
GUNICORN_ARGS = ["-w", "2", "--threads", "4", "--worker-class", "gthread"]

CHILD_VALUES = """query($code: String!, $indicators: String!) { area(code: $code) { children(type: "LSOA") {
  code name observations(indicator: $indicators, period: "latest") { indicatorSlug value period { label } } } } }"""
TYPENAME = "{ __typename }"

# The API's semantics in one statement: children = descendants (not the area itself) in the newest
# vintage of the type that has any; `latest` = per indicator, the coverage period with the latest
# end, then start (any area type); observations are current ones. Every child x indicator pair
# yields a row (`found` is null when there is no observation), ordered like the API: children by
# code, observations by slug then period start. `OFFSET 0` keeps the lookup a parameterised
# subquery on the 3-column unique index: pulled up, the planner scans all ~48 current rows of each
# area through the (area_id, ...) index and filters them (10 ms instead of ~2 ms). `CURRENT_RELEASE(o)`
# is written as the current releases' ids, constants in the prepared statement's text, as the app
# writes them (common.current_in): its plans read only the current partitions.
LIMIT_SQL = """
    WITH parent AS (
        SELECT id FROM geographies_area WHERE code = %(area)s
    ), vintage AS (
        SELECT v.id
        FROM geographies_vintage v JOIN geographies_areatype t ON t.id = v.area_type_id, parent
        WHERE t.code = %(area_type)s AND EXISTS (
            SELECT FROM geographies_areaancestor aa
            WHERE aa.ancestor_id = parent.id AND aa.descendant_vintage_id = v.id AND aa.descendant_id <> parent.id)
        ORDER BY v.effective_from DESC, t.level
        LIMIT 1
    ), children AS (
        SELECT DISTINCT aa.descendant_id AS id
        FROM geographies_areaancestor aa, parent, vintage
        WHERE aa.ancestor_id = parent.id AND aa.descendant_vintage_id = vintage.id AND aa.descendant_id <> parent.id
    ), latest AS (
        SELECT DISTINCT ON (c.indicator_id) c.indicator_id, c.period_id, i.slug, p.label, p.start
        FROM indicators_coverage c
        JOIN indicators_indicator i ON i.id = c.indicator_id JOIN indicators_period p ON p.id = c.period_id
        WHERE i.slug = ANY(%(slugs)s)
        ORDER BY c.indicator_id, p."end" DESC, p.start DESC
    )
    SELECT a.code, a.name, l.slug, o.found, o.value, l.label
    FROM children ch JOIN geographies_area a ON a.id = ch.id CROSS JOIN latest l
    LEFT JOIN LATERAL (
        SELECT true AS found, o.value FROM indicators_observation o
        WHERE o.indicator_id = l.indicator_id AND o.period_id = l.period_id AND o.area_id = a.id AND CURRENT_RELEASE(o)
        OFFSET 0
    ) o ON true
    ORDER BY a.code, l.slug, l.start
"""


# -- small helpers ------------------------------------------------------------------------------
def say(message: str) -> None:
    print(f"[graphql_children {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def percentile(samples: Sequence[float], q: int) -> float:
    if len(samples) == 1:
        return samples[0]
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1]


def version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "?"


@dataclass
class Series:
    name: str
    call: Callable[[], object]
    target: str = ""
    limit: bool = False  # the row ratios are taken against
    check: Callable[[float], bool] | None = None  # p50 ms -> passed
    samples: list[float] | None = None  # ms

    def p(self, q: int) -> float:
        return percentile(self.samples, q)


# -- the SQL limit ------------------------------------------------------------------------------
def limit_document(cursor: psycopg.Cursor, statement: str, params: dict) -> tuple[bytes, int, int]:
    """The statement (LIMIT_SQL, its current releases written in), shaped into the API's JSON
    document: (body, children, observations)."""
    cursor.execute(statement, params, prepare=True)
    children: list[dict] = []
    current: dict | None = None
    observations = 0
    for code, name, slug, found, value, label in cursor.fetchall():
        if current is None or current["code"] != code:
            current = {"code": code, "name": name, "observations": []}
            children.append(current)
        if found:
            current["observations"].append({"indicatorSlug": slug, "value": value, "period": {"label": label}})
            observations += 1
    return orjson.dumps({"data": {"area": {"children": children}}}), len(children), observations


def check_inputs(conn: psycopg.Connection, area: str, slugs: list[str]) -> None:
    if conn.execute("SELECT FROM geographies_area WHERE code = %s", (area,)).fetchone() is None:
        raise SystemExit(f"unknown area {area!r}")
    found = {s for (s,) in conn.execute("SELECT slug FROM indicators_indicator WHERE slug = ANY(%s)", (slugs,))}
    if missing := [s for s in slugs if s not in found]:
        raise SystemExit(f"unknown indicator(s) {', '.join(missing)}; see /api/v1/indicators/?area_type=LSOA")


# -- in-process Django --------------------------------------------------------------------------
def setup_django(database: str):
    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS
    os.environ["DATABASE_URL"] = f"postgis://{PG_SERVER}/{database}"
    os.environ["LOG_REQUESTS"] = "off"  # the in-process request would print its log line
    import django

    django.setup()
    from django.test import Client

    return Client()


def captured_queries(client, body: bytes) -> list[str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        in_process_post(client, body)
    return [q["sql"] for q in ctx.captured_queries]


def in_process_post(client, body: bytes) -> bytes:
    response = client.generic("POST", GRAPHQL_PATH, body, content_type="application/json")
    if response.status_code != 200:
        raise RuntimeError(f"in-process POST {GRAPHQL_PATH} -> {response.status_code}: {response.content[:300]!r}")
    return response.content


# -- HTTP ---------------------------------------------------------------------------------------
class LoopbackClient:
    """Sequential POSTs on one persistent HTTPConnection (http.client reconnects if the server closes it)."""

    def __init__(self, port: int, timeout: float = HTTP_TIMEOUT_S) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        self.responses = 0
        self.closed_by_server = 0

    def post(self, body: bytes) -> bytes:
        self.conn.request("POST", GRAPHQL_PATH, body=body,
                          headers={"Content-Type": "application/json", "Accept": "application/json"})
        response = self.conn.getresponse()
        data = response.read()
        self.responses += 1
        self.closed_by_server += response.will_close
        if response.status != 200:
            raise RuntimeError(f"POST {GRAPHQL_PATH} -> {response.status}: {data[:300]!r}")
        return data

    def close(self) -> None:
        self.conn.close()


@contextmanager
def gunicorn(port: int, database: str) -> Iterator[int]:
    """Start `gunicorn levelup_api.wsgi` (gthread, 2 x 4) on `port`, wait for answers, always stop it."""
    def ready(port: int) -> None:
        client = LoopbackClient(port, timeout=5)
        try:
            client.post(orjson.dumps({"query": TYPENAME}))
        finally:
            client.close()

    with gunicorn_serving(port, ready=ready, args=GUNICORN_ARGS,
                          env={"DJANGO_SETTINGS_MODULE": SETTINGS, "DATABASE_URL": f"postgis://{PG_SERVER}/{database}"}):
        yield port


# -- measuring ----------------------------------------------------------------------------------
def measure(series: list[Series], *, warmup: int, repeat: int) -> None:
    """Warm-up rounds, then `repeat` timed rounds; each round runs every series once, in turn."""
    for _ in range(warmup):
        for s in series:
            s.call()
    for s in series:
        s.samples = []
    clock = time.perf_counter
    for _ in range(repeat):
        gc.collect()  # start each round without the previous round's garbage
        for s in series:
            start = clock()
            s.call()
            s.samples.append((clock() - start) * 1000)


def api_counts(body: bytes) -> tuple[dict | None, int, int]:
    document = orjson.loads(body)
    area = (document.get("data") or {}).get("area")
    if document.get("errors") or area is None:
        return document, -1, -1
    children = area["children"]
    return document, len(children), sum(len(c["observations"]) for c in children)


# -- reporting ----------------------------------------------------------------------------------
@dataclass
class Report:
    series: list[Series]
    queries: list[str]
    limit_counts: tuple[int, int]
    api_counts: tuple[int, int]
    identical: bool
    machine: dict[str, str]
    http_responses: int
    http_closed: int
    wall_s: float
    peer: postgraphile.Result | None = None  # PostGraphile on views of the same tables, same run


def machine(conn: psycopg.Connection) -> dict[str, str]:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return {
        "nproc": str(len(os.sched_getaffinity(0))),
        "cpu": cpu_model(),
        "postgresql": conn.execute("SHOW server_version").fetchone()[0],
        "python": platform.python_version(),
        "stack": f"Django {version('django')}, graphene-django {version('graphene-django')}, "
                 f"graphql-core {version('graphql-core')}, gunicorn {version('gunicorn')}, psycopg {version('psycopg')}",
        "load": load,
    }


def markdown(report: Report, args: argparse.Namespace) -> str:
    limit = next(s for s in report.series if s.limit)
    (lc, lo), (ac, ao) = report.limit_counts, report.api_counts
    info = report.machine
    lines = [
        f"### GraphQL: latest values of {len(args.slugs)} indicators for every {AREA_TYPE} below {args.area} "
        f"({lc} children, {lo} values; {args.repeat} rounds after {args.warmup} warm-up rounds)",
        "",
        f"Indicators: {', '.join(f'`{s}`' for s in args.slugs)}, `period: \"latest\"`.",
        "",
        "| method | p50 ms | p90 ms | p50 / limit p50 | target | result |",
        "|---|--:|--:|--:|---|---|",
    ]
    for s in report.series:
        verdict = "–" if s.check is None else ("pass" if s.check(s.p(50)) else "FAIL")
        ratio = "1.00x (limit)" if s.limit else f"{s.p(50) / limit.p(50):.2f}x"
        lines.append(f"| {s.name} | {s.p(50):.2f} | {s.p(90):.2f} | {ratio} | {s.target or '–'} | {verdict} |")
    http_api, in_process, replay, floor = (report.series[i] for i in (-1, -2, -3, 1))
    if report.peer is not None:
        peer = report.peer
        lines.append(f"| PostGraphile {peer.version} over HTTP (Node, views of the same tables; same children and "
                     f"values: {'yes' if peer.agrees else 'NO'}) | {peer.p50:.2f} | {peer.p90:.2f} | "
                     f"{peer.p50 / limit.p(50):.2f}x | ours faster | "
                     f"{'pass' if http_api.p(50) < peer.p50 else 'FAIL'} ({http_api.p(50) / peer.p50:.2f}x its time) |")
    lines += [
        "",
        f"SQL queries per request: **{len(report.queries)}** (`CaptureQueriesContext` around one in-process "
        f"request).",
        f"Agreement: API {ac} children / {ao} values, SQL limit {lc} children / {lo} values; "
        f"documents {'identical' if report.identical else 'DIFFER'}.",
        f"Over HTTP the API's p50 is {http_api.p(50) / HTTP_MAX_P50_MS:.1f}x the {HTTP_MAX_P50_MS:g} ms target "
        f"and {http_api.p(50) - floor.p(50):.1f} ms above the `{{ __typename }}` floor; roughly "
        f"{floor.p(50):.1f} ms HTTP + Django floor, {replay.p(50):.1f} ms in the app's SQL statements and "
        f"{max(in_process.p(50) - replay.p(50), 0):.1f} ms of Python (ORM instances, graphene/graphql-core execution).",
        f"HTTP: {report.http_responses} requests on one kept-alive connection, "
        f"{report.http_closed} closed by the server.",
        f"Machine: {info['nproc']} CPUs ({info['cpu']}), PostgreSQL {info['postgresql']}, Python {info['python']}, "
        f"{info['stack']}; load average at start {info['load']}.",
        f"Server: `gunicorn levelup_api.wsgi {' '.join(GUNICORN_ARGS)}`, settings `{SETTINGS}`, "
        f"database `{args.database}`.",
        f"Command: `{command_line()}` (wall time {report.wall_s:.0f} s)",
    ]
    return "\n".join(lines)


# -- main ---------------------------------------------------------------------------------------
def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--area", default=DEFAULT_AREA, help=f"GSS code of the parent area (default {DEFAULT_AREA})")
    parser.add_argument("--indicators", default=DEFAULT_INDICATORS,
                        help=f"comma-separated indicator slugs (default {DEFAULT_INDICATORS})")
    parser.add_argument("--database", default="levelup", help="database on postgres@127.0.0.1:5432 (default levelup)")
    parser.add_argument("--repeat", type=int, default=50, help="timed rounds (default 50)")
    parser.add_argument("--warmup", type=int, default=10, help="untimed rounds first (default 10)")
    parser.add_argument("--port", type=int, default=0, help="port for the gunicorn it starts (default: any free)")
    parser.add_argument("--no-postgraphile", action="store_true", help="skip the PostGraphile comparison")
    args = parser.parse_args(argv)
    args.area = args.area.strip().upper()
    args.slugs = [s.strip() for s in args.indicators.split(",") if s.strip()]
    if args.repeat < 2 or args.warmup < 1 or not args.slugs:
        parser.error("--repeat must be at least 2, --warmup at least 1, and --indicators not empty")
    return args


def run(args: argparse.Namespace, started: float) -> Report:
    query_body = orjson.dumps({"query": CHILD_VALUES, "variables": {"code": args.area, "indicators": ",".join(args.slugs)}})
    typename_body = orjson.dumps({"query": TYPENAME})
    params = {"area": args.area, "area_type": AREA_TYPE, "slugs": args.slugs}

    with psycopg.connect(f"postgresql://{PG_SERVER}/{args.database}", autocommit=True,
                         options=app_session_options()) as conn:
        check_inputs(conn, args.area, args.slugs)
        info = machine(conn)
        cursor = conn.cursor()
        statement = current_in(conn, LIMIT_SQL)
        limit_body, *limit_counts = limit_document(cursor, statement, params)

        say("django.setup() and one in-process request to count its SQL queries")
        client = setup_django(args.database)
        in_process_post(client, query_body)  # warm the schema and the connection first
        queries = captured_queries(client, query_body)

        def replay() -> None:
            for statement in queries:
                cursor.execute(statement)
                if cursor.description is not None:  # the transaction and timeout statements return nothing
                    cursor.fetchall()

        series = [
            Series("SQL limit: 1 statement, psycopg (prepared) + orjson, in-process",
                   lambda: limit_document(cursor, statement, params), limit=True),
            Series("HTTP floor: `{ __typename }` over HTTP", lambda: web.post(typename_body)),
            Series(f"the app's {len(queries)} SQL statements replayed (psycopg, no Python objects)", replay),
            Series("GraphQL in-process (`django.test.Client`, no socket)", lambda: in_process_post(client, query_body)),
            Series("GraphQL over HTTP (gunicorn gthread 2x4, keep-alive)", lambda: web.post(query_body),
                   target=f"p50 ≤ {HTTP_MAX_P50_MS:g} ms", check=lambda p50: p50 <= HTTP_MAX_P50_MS),
        ]
        say(f"starting gunicorn on database {args.database}")
        with gunicorn(args.port or free_port(), args.database) as port:
            web = LoopbackClient(port)
            try:
                api_body = web.post(query_body)
                say(f"measuring: {args.warmup} warm-up rounds, then {args.repeat} timed rounds")
                measure(series, warmup=args.warmup, repeat=args.repeat)
                api_body = web.post(query_body)
            finally:
                web.close()

    api_document, *api_total = api_counts(api_body)
    if api_total[0] < 0:
        raise SystemExit(f"the API answered with errors or no area: {orjson.dumps(api_document)[:500]!r}")
    peer = None
    if not args.no_postgraphile:  # after ours, so the two never share the CPUs
        say("PostGraphile: the same query, the same rounds")
        peer = postgraphile.measure(args.repeat, warmup=args.warmup, area=args.area, indicators=args.slugs,
                                    database=args.database, api_document=api_body)
    return Report(series, queries, tuple(limit_counts), tuple(api_total),
                  api_document == orjson.loads(limit_body), info, web.responses, web.closed_by_server,
                  time.monotonic() - started, peer)


def main(argv: Sequence[str] | None = None) -> int:
    started = time.monotonic()
    args = parse_args(argv)
    report = run(args, started)
    print(markdown(report, args))
    agree = (report.limit_counts == report.api_counts and report.identical
             and (report.peer is None or report.peer.agrees))
    if not agree:
        print(f"\nDISAGREEMENT: API (children, values) = {report.api_counts}, SQL limit = {report.limit_counts}, "
              f"documents identical: {report.identical}", file=sys.stderr)
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())

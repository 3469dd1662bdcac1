"""Every REST operation of the OpenAPI document, and the GraphQL hot shapes, over HTTP through gunicorn
with quotas on, each against two references measured in the same run.

Operations: every operation in the OpenAPI document the running server serves (GET /api/schema/),
each with a realistic request on real values (Blackpool E06000009, Manchester E08000003 and its
LSOAs, indicator slugs and mission numbers that exist, a custom area made of Manchester's 295 LSOAs
created at the start through the API with a user's token); an operation in the document with no
request written here is listed as not measured. Profiles are of areas not asked for before: each
request draws another LSOA (or district), so none comes from the server's profile cache. Plus the
GraphQL hot shapes: Manchester's 295 LSOA21s with 3 aliased indicators each (`period: "latest"`),
the `areas` list of the 361 districts of LAD23, and an LSOA's ancestors.

Each request is measured over HTTP on one kept-alive connection (`bench/common.py` `HttpClient`,
with a partner API key: counted, not throttled) to `gunicorn levelup_api.wsgi --workers 2
--threads 4 --worker-class gthread --limit-request-line 8190` (as the README serves it; settings
levelup_api.settings.base, `LEVELUP_QUOTAS=on`, request logs on as in production), started by the
script and always stopped. `--runs` (default 30) timed rounds after `--warmup` rounds; each round
runs every operation once, in turn, after `gc.collect()`; p50 and p90 per operation.

The two references, measured in the same rounds:

- **the HTTP floor**: `GET /api/ping`, a view that does nothing (`{"status": "ok"}`, no SQL) but
  goes through every middleware, DRF's authentication (the API key is checked) and the quota
  (counted in Redis, with its headers), on the same connection; 3 samples a round. /healthz is not
  that floor: it is outside DRF, so no key is checked and no quota counted.
- **the operation's own SQL limit**: the SQL statements the endpoint actually runs for one such
  request, captured in-process (`django.test.Client` after `django.setup()` with the same settings,
  quotas on, the same key; `CaptureQueriesContext` and `connection.execute_wrapper`), re-executed in
  order on a raw psycopg connection, each one a prepared statement with the app's parameters
  (psycopg `prepare=True`; the literal SQL Django sent for a parameter only Django's adapters can
  dump; a statement the app PREPAREd itself, the point lookup's, EXECUTEd as it ran), warmed before
  timing, under the session `plan_cache_mode` (auto, custom or generic) under which these statements
  run fastest (a `set_config` among them still applies), transaction statements as they were, inside
  one transaction rolled back for writes; each result fetched; plus `orjson.dumps` of the response
  document (the JSON body, parsed). Limit = SQL time + orjson time: the cost of the endpoint's own
  queries with no Python around them. The key's own lookup (once per API_KEY_CACHE_SECONDS per
  process) is left out.

Targets: p50 / (limit + floor) ≤ 2 for every operation, p50 / floor ≤ 4 for a request about one
area; the 361-district list p50 ≤ 8x floor; an uncached profile p50 ≤ 3x floor; GraphQL's
Manchester 295 LSOAs x 3 indicators p50 ≤ 2.5x its SQL limit. Targets are reported (MISSED), not
enforced: exit status 1 only for a wrong answer (an unexpected status, a GraphQL error, the wrong
number of areas or values, or HTTP and in-process GraphQL documents that differ) or a crash.

    .venv/bin/python bench/endpoints.py [--runs 30] [--warmup 3] [--database levelup] [--port 0]
        [--seed 1]

It prints one Markdown section for docs/benchmarks.md; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import orjson
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402, I001
    SERVE_ARGS, SETTINGS, HttpClient, app_session_options, bench_api_key, bench_key_tier, free_port, gunicorn_serving)
from point_lookup import command_line, cpu_model  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PG_SERVER = "postgres@127.0.0.1:5432"
FLOOR_PATH = "/api/ping"
FLOOR_SAMPLES = 3  # per round
CUSTOM_NAME = "bench/endpoints.py"  # custom areas made by this script start with it (deleted after)
LAD, MANCHESTER, LSOA, REGION, COUNTY = "E06000009", "E08000003", "E01005061", "E12000002", "E10000017"
LAD_INDICATOR, LSOA_INDICATORS = "gross-median-weekly-pay", ("iod2025-imd-score", "iod2025-income-score",
                                                            "population-census-2021")
SUM_INDICATOR = "population-census-2021"
MISSION, MISSION_WITH_PROGRESS = 1, 7
TARGET_LIMIT, TARGET_FLOOR_SINGLE = 2.0, 4.0
TARGET_DISTRICTS_FLOOR, TARGET_PROFILE_FLOOR, TARGET_GRAPHQL_LIMIT = 8.0, 3.0, 2.5
TARGET_PAGE_FLOOR = 3.0  # the explorer's area page (issue 14)


def say(message: str) -> None:
    print(f"[endpoints {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def percentile(samples: Sequence[float], q: int) -> float:
    if len(samples) == 1:
        return samples[0]
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1]


# -- what is measured ---------------------------------------------------------------------------
@dataclass
class Request:
    method: str
    path: str
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Op:
    label: str
    operation: str  # the OpenAPI operationId, or "graphql"
    make: Callable[[int], Request]  # the request of run i (>= 0 over HTTP, < 0 in-process)
    status: int = 200
    single: bool = False  # a request about one area: p50 / floor ≤ 4
    check: Callable[[dict], str] | None = None  # the answer's document -> "" or what is wrong
    json: bool = True  # a JSON answer (else bytes, a vector tile, whose limit is its statement alone)
    undo: Callable[[], object] | None = None  # after the captured request: remove what it wrote (so it can be replayed)
    samples: list[float] = field(default_factory=list)  # HTTP, ms
    limit_samples: list[float] = field(default_factory=list)  # SQL + orjson, ms
    statements: list[tuple[str, object, bool, str]] = field(default_factory=list)  # (sql, params, many, as run)
    prepared: list[bool] = field(default_factory=list)  # per statement: with the app's parameters (else as run)
    document: object = None  # the in-process answer, for orjson.dumps
    writes: bool = False
    plan_mode: str = "auto"  # the replay connection's plan_cache_mode: the fastest for these statements
    left_out: int = 0  # the key's lookup, when it fell in the captured request
    wrong: str = ""

    def p(self, q: int, samples: Sequence[float] | None = None) -> float:
        return percentile(self.samples if samples is None else samples, q)


def get(path: str, **query) -> Request:
    return Request("GET", f"{path}?{urlencode(query)}" if query else path)


def tile(path: str, **query) -> Request:
    """A vector tile, asked for as a map library asks (its media type)."""
    return Request("GET", f"{path}?{urlencode(query)}", headers={"Accept": "application/vnd.mapbox-vector-tile"})


def page(path: str) -> Request:
    """A page of the explorer, as a browser asks for it."""
    return Request("GET", path, headers={"Accept": "text/html"})


def graphql(query: str, variables: dict | None = None) -> Request:
    return Request("POST", "/graphql", orjson.dumps({"query": query, "variables": variables or {}}))


CHILDREN_X3 = """query($code: String!, $imd: String!, $income: String!, $population: String!) {
  area(code: $code) { children(type: "LSOA", vintage: "LSOA21") { code name
    imd: observations(indicator: $imd, period: "latest") { value }
    income: observations(indicator: $income, period: "latest") { value }
    population: observations(indicator: $population, period: "latest") { value } } } }"""
AREAS_LIST = """{ areas(type: "LAD", vintage: "LAD23", first: 400) { totalCount edges { node { code name } } } }"""
ANCESTORS = """query($code: String!) { area(code: $code) { code ancestors { code name type vintage depth fit } } }"""


def expect_count(key: str, n: int) -> Callable[[dict], str]:
    def check(document: dict) -> str:
        return "" if document.get(key) == n else f"{key} = {document.get(key)!r}, expected {n}"
    return check


def expect_children_x3(children: int) -> Callable[[dict], str]:
    def check(document: dict) -> str:
        if document.get("errors"):
            return f"errors: {document['errors']!r}"[:300]
        found = document["data"]["area"]["children"]
        values = sum(len(c[alias]) for c in found for alias in ("imd", "income", "population"))
        if len(found) != children or values != 3 * children:
            return f"{len(found)} children with {values} values, expected {children} x 3"
        return ""
    return check


def expect_no_errors(document: dict) -> str:
    return f"errors: {document['errors']!r}"[:300] if document.get("errors") else ""


def operations(values: dict) -> list[Op]:
    """One realistic request per operation (and the GraphQL shapes); `values` holds what was drawn."""
    lsoas, lads, custom = values["lsoas"], values["lads"], values["custom_area"]
    token = {"Authorization": f"Token {values['token']}"}

    def draw(pool: list[str], i: int) -> str:
        return pool[i % len(pool)]

    def create(i: int) -> Request:
        codes = [draw(lsoas, 10 * i + k) for k in range(10)]  # ten LSOAs, different in every run
        return Request("POST", "/api/v1/custom-areas/", orjson.dumps({"name": f"{CUSTOM_NAME} {i}", "codes": codes}),
                       {**token, "Content-Type": "application/json"})

    return [
        Op("API root", "api_root", lambda i: get("/api/v1/")),
        Op("area types", "v1_area_types_list", lambda i: get("/api/v1/area-types/")),
        Op("areas: the 361 districts of LAD23", "v1_areas_list",
           lambda i: get("/api/v1/areas/", type="LAD", vintage="LAD23"), check=expect_count("count", 361)),
        Op(f"area {LAD}", "v1_areas_retrieve", lambda i: get(f"/api/v1/areas/{LAD}/"), single=True),
        Op(f"ancestors of {LSOA}", "v1_areas_ancestors_retrieve", lambda i: get(f"/api/v1/areas/{LSOA}/ancestors/"),
           single=True),
        Op(f"boundary of {LAD} (LAD23, simplify 0.001)", "v1_areas_boundary_retrieve",
           lambda i: get(f"/api/v1/areas/{LAD}/boundary/", vintage="LAD23", simplify="0.001"), single=True),
        Op(f"children of {MANCHESTER}: 295 LSOA21s", "v1_areas_children_retrieve",
           lambda i: get(f"/api/v1/areas/{MANCHESTER}/children/", type="LSOA", vintage="LSOA21"),
           check=expect_count("count", 295)),
        Op(f"missions scorecard of {LAD}", "v1_areas_missions_retrieve", lambda i: get(f"/api/v1/areas/{LAD}/missions/"),
           single=True),
        Op("profile of an LSOA not asked for before", "v1_areas_profile_retrieve",
           lambda i: get(f"/api/v1/areas/{draw(lsoas, i)}/profile/"), single=True),
        Op("profile of a district not asked for before", "v1_areas_profile_retrieve",
           lambda i: get(f"/api/v1/areas/{draw(lads, i)}/profile/"), single=True),
        Op(f"series of {LAD}: {LAD_INDICATOR}", "v1_areas_series_retrieve",
           lambda i: get(f"/api/v1/areas/{LAD}/series/", indicator=LAD_INDICATOR), single=True),
        Op(f"areas similar to {LAD}", "v1_areas_similar_retrieve", lambda i: get(f"/api/v1/areas/{LAD}/similar/"),
           single=True),
        Op(f"boundaries below {REGION} (LAD23, simplify 0.001)", "v1_boundaries_retrieve",
           lambda i: get("/api/v1/boundaries/", vintage="LAD23", parent=REGION, simplify="0.001")),
        Op("create a custom area of 10 LSOAs", "v1_custom_areas_create", create, status=201,
           undo=lambda: custom_areas_delete(f"{CUSTOM_NAME} -1")),
        Op("custom area of Manchester's 295 LSOAs", "v1_custom_areas_retrieve",
           lambda i: get(f"/api/v1/custom-areas/{custom}/"), single=True),
        Op(f"custom area observations: {LSOA_INDICATORS[0]}", "v1_custom_areas_observations_retrieve",
           lambda i: get(f"/api/v1/custom-areas/{custom}/observations/", indicator=LSOA_INDICATORS[0]), single=True),
        Op("indicators", "v1_indicators_list", lambda i: get("/api/v1/indicators/")),
        Op(f"indicator {LAD_INDICATOR}", "v1_indicators_retrieve", lambda i: get(f"/api/v1/indicators/{LAD_INDICATOR}/")),
        Op(f"aggregate {SUM_INDICATOR}: LSOA -> LAD below {REGION}", "v1_indicators_aggregate_retrieve",
           lambda i: get(f"/api/v1/indicators/{SUM_INDICATOR}/aggregate/", from_type="LSOA", to_type="LAD",
                         parent=REGION)),
        Op("point lookup (-2.20779, 53.47031)", "v1_lookup_point_retrieve",
           lambda i: get("/api/v1/lookup/point/", lon="-2.20779", lat="53.47031"), single=True),
        Op("missions", "v1_missions_list", lambda i: get("/api/v1/missions/")),
        Op(f"mission {MISSION}", "v1_missions_retrieve", lambda i: get(f"/api/v1/missions/{MISSION}/")),
        Op(f"mission {MISSION_WITH_PROGRESS} progress on LAD23", "v1_missions_progress_retrieve",
           lambda i: get(f"/api/v1/missions/{MISSION_WITH_PROGRESS}/progress/", type="LAD", vintage="LAD23")),
        Op(f"observations: {LAD_INDICATOR}, every LAD, latest", "v1_observations_retrieve",
           lambda i: get("/api/v1/observations/", indicator=LAD_INDICATOR, area_type="LAD", period="latest")),
        Op(f"periods of {LAD_INDICATOR}", "v1_periods_list", lambda i: get("/api/v1/periods/", indicator=LAD_INDICATOR)),
        Op(f"profiles of the 12 districts below {COUNTY} (LAD23)", "v1_profiles_retrieve",
           lambda i: get("/api/v1/profiles/", parent=COUNTY, type="LAD", vintage="LAD23")),
        Op("vintages of LAD", "v1_vintages_list", lambda i: get("/api/v1/vintages/", type="LAD")),
        Op(f"tile LSOA21 8/126/82 with {LSOA_INDICATORS[0]} (4,779 LSOAs)", "v1_tiles_retrieve",
           lambda i: tile("/api/v1/tiles/LSOA21/8/126/82.mvt", indicator=LSOA_INDICATORS[0]), json=False),
        Op(f"tile LAD23 10/503/329 (Blackpool) with {LAD_INDICATOR}", "v1_tiles_retrieve",
           lambda i: tile("/api/v1/tiles/LAD23/10/503/329.mvt", indicator=LAD_INDICATOR), json=False),
        Op(f"tile legend LSOA21 {LSOA_INDICATORS[0]}", "v1_tiles_legend_retrieve",
           lambda i: get("/api/v1/tiles/LSOA21/legend.json", indicator=LSOA_INDICATORS[0])),
        Op(f"GraphQL: {MANCHESTER}'s 295 LSOA21s x 3 aliased indicators", "graphql",
           lambda i: graphql(CHILDREN_X3, {"code": MANCHESTER, **dict(zip(("imd", "income", "population"),
                                                                             LSOA_INDICATORS, strict=True))}), check=expect_children_x3(295)),
        Op("GraphQL: `areas`, the 361 districts of LAD23", "graphql", lambda i: graphql(AREAS_LIST),
           check=lambda d: expect_no_errors(d) or ("" if d["data"]["areas"]["totalCount"] == 361
                                                   else f"totalCount {d['data']['areas']['totalCount']}")),
        Op(f"GraphQL: ancestors of {LSOA}", "graphql", lambda i: graphql(ANCESTORS, {"code": LSOA}), single=True,
           check=lambda d: expect_no_errors(d) or ("" if d["data"]["area"]["ancestors"] else "no ancestors")),
        # The explorer's area page (issue 14: p50 ≤ 3x floor): HTML from the same selectors.
        Op(f"page: /areas/{LAD}/ (HTML)", "page", lambda i: page(f"/areas/{LAD}/"), single=True, json=False),
        # A different LSOA's page every run: rendered afresh (a page is kept per data version and
        # process after its first view), what a reader's first look at an area costs. Reported, not a target.
        Op("page: a different LSOA's page each run (HTML, rendered afresh)", "page-cold",
           lambda i: page(f"/areas/{draw(lsoas, i)}/"), single=True, json=False),
    ]


# -- in-process Django: the statements each request runs ----------------------------------------
def setup_django(database: str, key: str):
    sys.path.insert(0, str(ROOT))
    os.environ.update(DJANGO_SETTINGS_MODULE=SETTINGS, DATABASE_URL=f"postgis://{PG_SERVER}/{database}",
                      LEVELUP_QUOTAS="on", LOG_REQUESTS="off")  # quotas as on the server; no log line per request
    import django

    django.setup()
    from django.test import Client

    try:  # pushed data version and key changes, as in a server process: no statement per request for them
        from levelup_api.core import notify

        listener = notify.listener()
        if listener is not None:
            listener.connected.wait(10)
    except (ImportError, AttributeError):
        pass
    return Client(HTTP_X_API_KEY=key, HTTP_ACCEPT="application/json")


def in_process(client, request: Request):
    headers = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in request.headers.items() if k != "Content-Type"}
    if request.method == "GET":
        response = client.get(request.path, **headers)
    else:
        response = client.generic(request.method, request.path, request.body,
                                  content_type=request.headers.get("Content-Type", "application/json"), **headers)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response.status_code, body


# Statements a process runs once per connection (the point lookup's SQL-level PREPARE), seen in
# any in-process request: run once on the replay connection before the statements that EXECUTE them.
SESSION_SETUP: dict[str, str] = {}


def session_setup_from_app() -> None:
    """Nothing today: the app's hand-written statements (the point lookup's) are prepared by psycopg
    on first use (levelup_api/core/prepared.py), so they are captured and replayed like any other.
    Kept for a statement a connection hook PREPAREs by hand, which the replay would need first."""


def capture(client, op: Op) -> None:
    """One in-process request of the operation (after one to warm it), its statements recorded with
    their parameters (`execute_wrapper`) and as run (`CaptureQueriesContext`)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as warm:
        in_process(client, op.make(-2))
    raw: list[tuple[str, object, bool]] = []

    def record(execute, sql, params, many, context):
        raw.append((sql, params, many))
        return execute(sql, params, many, context)

    with CaptureQueriesContext(connection) as ctx, connection.execute_wrapper(record):
        status, body = in_process(client, op.make(-1))
    for query in [*warm.captured_queries, *ctx.captured_queries]:
        if query["sql"].lstrip().upper().startswith("PREPARE "):
            SESSION_SETUP.setdefault(query["sql"].split()[1].split("(")[0], query["sql"])
    if status != op.status:
        op.wrong = f"in-process {op.make(-1).path} -> {status}: {body[:200]!r}"
        return
    literal = [q["sql"] for q in ctx.captured_queries]
    # Django logs its own BEGIN and COMMIT (atomic blocks), which no cursor runs: pair the rest.
    paired, rest = [], list(raw)
    for text in literal:
        if is_control(text) and not (rest and is_control(rest[0][0])):
            paired.append((text, None, False))
        elif rest:
            paired.append(rest.pop(0))
    if len(paired) != len(literal) or rest:  # (if they still differ, replay the SQL as it ran)
        paired = [(text, None, False) for text in literal]
    for (sql, params, many), text in zip(paired, literal, strict=True):
        if "core_apikey" in sql:
            op.left_out += 1
            continue
        if sql.lstrip().upper().startswith("PREPARE "):
            continue  # once per connection, not per request
        op.statements.append((sql, params, many, text))
    op.writes = any(s[0].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")) for s in op.statements)
    op.document = orjson.loads(body) if op.json else body
    if op.undo is not None:
        op.undo()


# -- the SQL limit: the captured statements on a raw psycopg connection -------------------------
CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "START TRANSACTION", "SAVEPOINT", "RELEASE")


def is_control(sql: str) -> bool:
    return sql.lstrip()[:20].upper().startswith(CONTROL)


def own_transaction(op: Op) -> bool:
    """Whether the captured statements open their own transaction."""
    return any(sql.lstrip().upper().startswith(("BEGIN", "START TRANSACTION")) for sql, *_ in op.statements)


def needs_transaction(op: Op) -> bool:
    """Whether the replay must open one: writes (rolled back), savepoints, or settings local to a
    transaction, that ran inside Django's own (an atomic block's BEGIN is no statement); plain reads
    run in autocommit, as Django runs them."""
    return op.writes or any(is_control(sql) or "set_config" in sql.lower() or sql.lstrip().upper().startswith(
        "SET LOCAL") for sql, *_ in op.statements)


def run_statement(conn: psycopg.Connection, statement: tuple, prepared: bool) -> None:
    sql, params, many, text = statement
    cursor = conn.cursor()
    if is_control(sql):
        cursor.execute(sql)
    elif sql.lstrip()[:8].upper() == "EXECUTE ":  # a statement the app PREPAREd itself: as it ran
        cursor.execute(text)
    elif not prepared:
        cursor.execute(text, prepare=True)
    elif many:
        cursor.executemany(sql, params)
    else:
        cursor.execute(sql, params, prepare=True)
    if cursor.description is not None:
        cursor.fetchall()


def replay(conn: psycopg.Connection, op: Op) -> None:
    """The statements in order on an autocommit connection: inside their own transaction if they
    open one (a write operation's COMMIT made a ROLLBACK), else in one opened here and rolled back
    when they need one (`needs_transaction`), else each on its own."""
    if not own_transaction(op) and needs_transaction(op):
        conn.execute("BEGIN")
    try:
        for statement, prepared in zip(op.statements, op.prepared, strict=True):
            if op.writes and statement[0].lstrip().upper().startswith("COMMIT"):
                conn.execute("ROLLBACK")
                continue
            run_statement(conn, statement, prepared)
    finally:
        if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            conn.execute("ROLLBACK")


PLAN_MODES = ("auto", "force_custom_plan", "force_generic_plan")


def prepare(conn: psycopg.Connection, op: Op) -> None:
    """Whether each statement runs with the app's parameters on a plain psycopg connection, or (a
    parameter only Django's own adapters dump) as the literal SQL Django sent; tried in order, each
    in a savepoint, inside a transaction that is rolled back. Then the session's plan_cache_mode
    under which the statements run fastest (a statement's own set_config still applies inside it)."""
    done = _session_done(conn)
    for name, statement in SESSION_SETUP.items():
        if name not in done:
            conn.execute(statement)
            done.add(name)
    op.prepared = []
    conn.execute("BEGIN")
    try:
        for statement in op.statements:
            if is_control(statement[0]):  # (the validation's own transaction stays open)
                op.prepared.append(True)
                continue
            for prepared in (True, False):
                conn.execute("SAVEPOINT bench_try")
                try:
                    run_statement(conn, statement, prepared)
                except (psycopg.Error, TypeError, ValueError) as exc:
                    conn.execute("ROLLBACK TO SAVEPOINT bench_try")
                    if not prepared:
                        raise RuntimeError(f"{op.label}: cannot re-execute {statement[3][:300]!r}: {exc}") from exc
                    continue
                conn.execute("RELEASE SAVEPOINT bench_try")
                op.prepared.append(prepared)
                break
    finally:
        conn.execute("ROLLBACK")
    timings = {}
    for mode in PLAN_MODES:
        conn.execute(f"SET plan_cache_mode = {mode}")
        replay(conn, op)  # (prepares what this mode plans anew)
        runs = []
        for _ in range(3):
            start = time.perf_counter()
            replay(conn, op)
            runs.append(time.perf_counter() - start)
        timings[mode] = statistics.median(runs)
    op.plan_mode = min(timings, key=timings.get)


_done: dict[int, set[str]] = {}


def _session_done(conn: psycopg.Connection) -> set[str]:
    return _done.setdefault(id(conn), set())


def limit_call(conn: psycopg.Connection, op: Op) -> float:
    conn.execute(f"SET plan_cache_mode = {op.plan_mode}")
    start = time.perf_counter()
    replay(conn, op)
    if op.json:
        orjson.dumps(op.document)
    return (time.perf_counter() - start) * 1000


# -- drawing real values ------------------------------------------------------------------------
def draw_values(conn: psycopg.Connection, seed: int) -> dict:
    def codes(vintage: str) -> list[str]:
        return [c for (c,) in conn.execute(
            "SELECT a.code FROM geographies_area a JOIN geographies_areamembership m ON m.area_id = a.id "
            "JOIN geographies_vintage v ON v.id = m.vintage_id WHERE v.code = %s ORDER BY a.code", (vintage,))]

    lsoas, lads = codes("LSOA21"), codes("LAD24")
    if len(lsoas) < 1000 or not lads:
        raise SystemExit("the database has no LSOA21 or LAD24 areas: run `make load` first")
    rng = random.Random(seed)
    rng.shuffle(lsoas)
    rng.shuffle(lads)
    slugs = [LAD_INDICATOR, SUM_INDICATOR, *LSOA_INDICATORS]
    found = {s for (s,) in conn.execute("SELECT slug FROM indicators_indicator WHERE slug = ANY(%s)", (slugs,))}
    if missing := sorted(set(slugs) - found):
        raise SystemExit(f"indicator(s) {', '.join(missing)} are not loaded: run `make load` first")
    missions = {n for (n,) in conn.execute("SELECT number FROM missions_mission")}
    if not {MISSION, MISSION_WITH_PROGRESS} <= missions:
        raise SystemExit("missions 1 and 7 are not loaded: run `make load` first")
    return {"lsoas": [c for c in lsoas if c != LSOA], "lads": [c for c in lads if c not in (LAD, MANCHESTER)]}


def user_token() -> str:
    """A user's token, for the writes (custom areas); the user is made once and kept."""
    from django.contrib.auth.models import User
    from rest_framework.authtoken.models import Token

    user, _ = User.objects.get_or_create(username="bench-endpoints")
    return Token.objects.get_or_create(user=user)[0].key


def custom_areas_delete(name: str | None = None) -> int:
    """Delete this script's custom areas (or the one named `name`): how many."""
    from geographies.models import CustomArea

    found = CustomArea.objects.filter(name=name) if name else CustomArea.objects.filter(name__startswith=CUSTOM_NAME)
    return found.delete()[1].get(CustomArea._meta.label, 0)


# -- measuring ----------------------------------------------------------------------------------
def http_call(web: HttpClient, op: Op, i: int) -> tuple[float, int, bytes]:
    request = op.make(i)
    start = time.perf_counter()
    status, body = web.request(request.method, request.path, request.body, request.headers)
    return (time.perf_counter() - start) * 1000, status, body


def verify(op: Op, status: int, body: bytes, i: int) -> None:
    if op.wrong:
        return
    if status != op.status:
        op.wrong = f"{op.make(i).method} {op.make(i).path} -> {status}: {body[:200]!r}"
        return
    if not op.json:  # a vector tile: the bytes the in-process request got (a page: its nonces differ)
        if op.operation in ("page", "page-cold"):
            if b"</html>" not in body:
                op.wrong = f"not a whole page: {body[-200:]!r}"
        elif body != op.document:
            op.wrong = f"the HTTP and in-process bodies differ ({len(body):,} and {len(op.document):,} bytes)"
        return
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        op.wrong = f"not JSON: {body[:200]!r}"
        return
    if op.check is not None:
        op.wrong = op.check(document)
    if not op.wrong and op.operation == "graphql" and document != op.document:
        op.wrong = "the HTTP and in-process GraphQL documents differ"


def measure(web: HttpClient, conn: psycopg.Connection, ops: list[Op], floor: list[float], *,
            warmup: int, runs: int) -> None:
    for i in range(warmup + runs):
        timed = i >= warmup
        gc.collect()
        for _ in range(FLOOR_SAMPLES):
            start = time.perf_counter()
            status, body = web.get(FLOOR_PATH)
            if status != 200:
                raise SystemExit(f"GET {FLOOR_PATH} -> {status}: {body[:200]!r}")
            if timed:
                floor.append((time.perf_counter() - start) * 1000)
        for op in ops:
            ms, status, body = http_call(web, op, i)
            verify(op, status, body, i)
            limit_ms = limit_call(conn, op)
            if timed:
                op.samples.append(ms)
                op.limit_samples.append(limit_ms)
        if i == warmup - 1:
            say(f"warmed up; {runs} timed rounds")


# -- reporting ----------------------------------------------------------------------------------
def verdict(ok: bool) -> str:
    return "pass" if ok else "**MISSED**"


def markdown(args, ops: list[Op], floor: list[float], unmeasured: list[str], quota: dict, wall_s: float,
             load: str) -> tuple[str, int]:
    floor_p50 = percentile(floor, 50)
    lines = [f"### Every operation over HTTP with quotas on ({args.database}; {args.runs} rounds after "
             f"{args.warmup} warm-up rounds, one kept-alive connection)", "",
             "| operation | p50 ms | p90 ms | floor ms | SQL limit ms (statements) | p50 / (limit + floor) "
             "| p50 / floor | targets |", "|---|--:|--:|--:|--:|--:|--:|---|"]
    missed = 0
    for op in ops:
        p50, limit = op.p(50), op.p(50, op.limit_samples)
        over_limit = p50 / (limit + floor_p50)
        over_floor = p50 / floor_p50
        problems = []
        if over_limit > TARGET_LIMIT:
            problems.append(f"limit+floor > {TARGET_LIMIT:g}x")
        if op.single and over_floor > TARGET_FLOOR_SINGLE:
            problems.append(f"floor > {TARGET_FLOOR_SINGLE:g}x")
        missed += bool(problems)
        literal = op.prepared.count(False)
        count = f"{len(op.statements)}" + (f", {literal} literal" if literal else "")
        lines.append(f"| {op.label} | {p50:.2f} | {op.p(90):.2f} | {floor_p50:.2f} | {limit:.2f} ({count}) | "
                     f"{over_limit:.2f}x | {over_floor:.2f}x{'' if op.single else ' (list)'} | "
                     f"{'MISSED: ' + ', '.join(problems) if problems else 'pass'} |")
    by_label = {op.label: op for op in ops}
    districts = by_label["areas: the 361 districts of LAD23"]
    profiles = [op for op in ops if op.operation == "v1_areas_profile_retrieve"]
    children = next(op for op in ops if op.label.startswith("GraphQL") and "aliased" in op.label)
    specific = [
        ("the 361-district list", f"p50 ≤ {TARGET_DISTRICTS_FLOOR:g}x floor", districts.p(50) / floor_p50,
         TARGET_DISTRICTS_FLOOR, "floor"),
        *((f"{op.label}", f"p50 ≤ {TARGET_PROFILE_FLOOR:g}x floor", op.p(50) / floor_p50, TARGET_PROFILE_FLOOR,
           "floor") for op in profiles),
        (children.label, f"p50 ≤ {TARGET_GRAPHQL_LIMIT:g}x its SQL limit",
         children.p(50) / children.p(50, children.limit_samples), TARGET_GRAPHQL_LIMIT, "SQL limit"),
        *((op.label, f"p50 ≤ {TARGET_PAGE_FLOOR:g}x floor", op.p(50) / floor_p50, TARGET_PAGE_FLOOR, "floor")
          for op in ops if op.operation == "page"),
    ]
    lines += ["", "| specific target | target | measured | result |", "|---|---|--:|---|"]
    for name, target, ratio, bound, against in specific:
        lines.append(f"| {name} | {target} | {ratio:.2f}x {against} | {verdict(ratio <= bound)} |")
        missed += ratio > bound
    floor_p90 = percentile(floor, 90)
    literal_ops = [op.label for op in ops if False in op.prepared]
    left_out = sum(op.left_out for op in ops)
    lines += [
        "",
        f"Floor: `GET {FLOOR_PATH}` (no SQL; DRF, the key's check and the quota counted), {len(floor)} samples, "
        f"p50 {floor_p50:.2f} ms, p90 {floor_p90:.2f} ms.",
        "SQL limit: the statements the endpoint ran for one such request (captured in-process, same settings), "
        "re-executed in order on a raw psycopg connection as prepared statements, plus `orjson.dumps` of the "
        "response document." + (f" Run as the literal SQL Django sent (a parameter psycopg alone cannot adapt): "
                                f"some statements of {', '.join(literal_ops)}." if literal_ops else "")
        + (f" Left out: {left_out} lookup(s) of the API key (once per key cache period)." if left_out else ""),
        f"{'MISSED: ' + str(missed) + ' target(s).' if missed else 'Every target met.'}",
        f"Not measured (no request written for them): {', '.join(unmeasured)}." if unmeasured else
        "Every operation of the OpenAPI document is measured.",
        f"Quota: a {quota['tier']} API key ({quota['rate']}) on every request; the last answer said "
        f"X-RateLimit-Limit {quota['limit']}, X-RateLimit-Remaining {quota['remaining']}.",
        f"Machine: {len(os.sched_getaffinity(0))} CPUs ({cpu_model()}); load average at the start {load}.",
        f"Server: `gunicorn levelup_api.wsgi {' '.join(SERVE_ARGS)}`, settings `{SETTINGS}`, database "
        f"`{args.database}`, `LEVELUP_QUOTAS=on`.",
        f"Command: `{command_line()}` (wall time {wall_s:.0f} s)",
    ]
    return "\n".join(lines), missed


# -- main ---------------------------------------------------------------------------------------
def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30, help="timed rounds (default 30)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed rounds first (default 3)")
    parser.add_argument("--database", default="levelup", help="database on postgres@127.0.0.1:5432 (default levelup)")
    parser.add_argument("--port", type=int, default=0, help="port for the gunicorn it starts (default: any free)")
    parser.add_argument("--seed", type=int, default=1, help="for the areas drawn (default 1)")
    args = parser.parse_args(argv)
    if args.runs < 2 or args.warmup < 1:
        parser.error("--runs must be at least 2 and --warmup at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    started = time.monotonic()
    args = parse_args(argv)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    database_url = f"postgis://{PG_SERVER}/{args.database}"
    key = bench_api_key(database=database_url)
    tier, rate = bench_key_tier(database=database_url)
    with psycopg.connect(f"postgresql://{PG_SERVER}/{args.database}", autocommit=True,
                         options=app_session_options()) as conn:
        values = draw_values(conn, args.seed)
        say("django.setup() in-process (quotas on, the same key)")
        client = setup_django(args.database, key)
        custom_areas_delete()
        values["token"] = user_token()
        session_setup_from_app()
        env = {"DJANGO_SETTINGS_MODULE": SETTINGS, "DATABASE_URL": database_url}
        port = args.port or free_port()

        def ready(port: int) -> None:
            with HttpClient(port, key, timeout=5) as probe:
                probe.get(FLOOR_PATH)

        say(f"starting gunicorn on database {args.database}, quotas on")
        try:
            with gunicorn_serving(port, ready=ready, args=SERVE_ARGS, env=env, quotas=True, api_key=key), \
                    HttpClient(port, key) as web:
                status, body = web.get(f"/api/v1/areas/{MANCHESTER}/children/?type=LSOA&vintage=LSOA21&page_size=1000")
                codes = [a["code"] for a in orjson.loads(body)["results"]]
                status, body = web.post("/api/v1/custom-areas/", orjson.dumps(
                    {"name": f"{CUSTOM_NAME}: Manchester, by LSOA", "codes": codes}),
                    {"Authorization": f"Token {values['token']}"})
                if status != 201:
                    raise SystemExit(f"POST /api/v1/custom-areas/ -> {status}: {body[:300]!r}")
                values["custom_area"] = orjson.loads(body)["id"]
                ops = operations(values)
                status, body = web.get("/api/schema/?format=json")
                if status != 200:
                    raise SystemExit(f"GET /api/schema/ -> {status}: {body[:200]!r}")
                documented = [op.get("operationId") for path in orjson.loads(body)["paths"].values()
                              for op in path.values() if isinstance(op, dict) and "operationId" in op]
                written = {op.operation for op in ops}
                unmeasured = [o for o in documented if o not in written]
                ops = [op for op in ops if op.operation in ("graphql", "page", "page-cold") or op.operation in documented]
                say(f"capturing the SQL of {len(ops)} requests in-process")
                with psycopg.connect(f"postgresql://{PG_SERVER}/{args.database}", autocommit=True,
                         options=app_session_options()) as replay_conn:
                    for op in ops:
                        capture(client, op)
                        if op.wrong:
                            raise SystemExit(f"{op.label}: {op.wrong}")
                        prepare(replay_conn, op)
                    budget = (args.warmup + args.runs) * (len(ops) + FLOOR_SAMPLES)
                    if budget > int(rate.split("/")[0]):
                        say(f"WARNING: {budget} requests may run into the key's quota ({rate}): fewer --runs")
                    say(f"measuring: {args.warmup} warm-up rounds, then {args.runs} timed rounds "
                        f"({budget} requests on a {rate} key)")
                    floor: list[float] = []
                    measure(web, replay_conn, ops, floor, warmup=args.warmup, runs=args.runs)
                headers = web.last_headers
                quota = {"tier": tier, "rate": rate, "limit": headers.get("X-RateLimit-Limit"),
                         "remaining": headers.get("X-RateLimit-Remaining")}
        finally:
            deleted = custom_areas_delete()
            say(f"deleted the {deleted} custom area(s) this run made")
    text, _missed = markdown(args, ops, floor, unmeasured, quota, time.monotonic() - started, load)
    wrong = [f"{op.label}: {op.wrong}" for op in ops if op.wrong]
    print(text)
    if wrong:
        print("\nWRONG ANSWERS:\n" + "\n".join(f"- {w}" for w in wrong))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

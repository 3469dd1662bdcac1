"""PostGraphile over the same tables, for the GraphQL comparison of bench/graphql_children.py.

PostGraphile compiles a whole GraphQL query into one SQL statement. This module gives it views over
the API's own tables, in a schema of their own (`postgraphile_bench`, made idempotently: dropped and
made again in one transaction), with smart comments so that the API's query
`area(code) { children(type: "LSOA") { code name observations(indicator: ..., period: "latest") } }`
can be asked of it in the same terms:

- `area` (id, code, name) over `geographies_area`: `@primaryKey id`, `@unique code` (so
  `areaByCode(code:)`);
- `descendant` (ancestor_id, descendant_id, vintage) over `geographies_areaancestor`: every area
  below another in a vintage, the area itself left out (the API's `children(type, vintage)`), with
  `@foreignKey`s to `area` both ways (`ancestor`, `descendants`; `area`, `ancestorLinks`);
- `latest_observation` (id, area_id, indicator_slug, value, period) over `indicators_observation`:
  current observations in their indicator's latest period (the coverage period with the latest end,
  then start: what `period: "latest"` means in the API), `@foreignKey (area_id)` to `area`
  (`latestObservations`). Current = of a current release, by a join to `indicators_release WHERE
  is_current`: correct whatever is published later, since the view outlives the run, but not
  pruned at plan time (each lookup is planned over every release's partition; only a nested loop
  driven by the release row may prune at run time). The app writes the current ids in as
  constants (indicators/current.py), which is pruned: this view gives PostGraphile no such help.

The query asked of it (simple collections only; one alias per indicator, as bench/endpoints.py asks
the API):

    areaByCode(code: "E08000003") { descendants(condition: {vintage: "LSOA21"}) { area { code name
      i0: latestObservations(condition: {indicatorSlug: "iod2025-imd-score"}) { indicatorSlug value period }
      ... } } }

`serving()` installs PostGraphile when `bench/postgraphile/node_modules` is missing (`npm ci`, from
bench/postgraphile/package.json and its package-lock.json: PostGraphile 4.14.1, the newest that
runs on Node 20; PostGraphile 5 needs Node 22 or later), starts it on a free loopback port against
DATABASE_URL (`--simple-collections only`, no GraphiQL, no query log, no mutations, one Node
process), waits for it and always stops it. `measure(runs)` times the query over HTTP on one
kept-alive connection and checks that its answer holds the same children and values as the API's
(`api_document`, the API's answer to that logical query in either shape bench/graphql_children.py
or bench/endpoints.py asks it; without one, the API is asked in-process with `django.test.Client`).

    .venv/bin/python bench/postgraphile.py [--runs 50] [--warmup 10] [--area E08000003] [--database levelup]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "bench" / "postgraphile"
BINARY = PACKAGE / "node_modules" / ".bin" / "postgraphile"
SCHEMA = "postgraphile_bench"
DEFAULT_AREA = "E08000003"  # Manchester: 295 LSOA21s
DEFAULT_VINTAGE = "LSOA21"
DEFAULT_INDICATORS = ("iod2025-imd-score", "iod2025-income-score", "population-census-2021")
START_TIMEOUT_S = 60.0

VIEWS_SQL = f"""
DROP SCHEMA IF EXISTS {SCHEMA} CASCADE;
CREATE SCHEMA {SCHEMA};
COMMENT ON SCHEMA {SCHEMA} IS 'Views for bench/postgraphile.py (PostGraphile over the API''s tables); made again by it.';

CREATE VIEW {SCHEMA}.area AS
    SELECT id, code, name FROM public.geographies_area;
COMMENT ON VIEW {SCHEMA}.area IS E'@primaryKey id\\n@unique code\\nAn area, by its GSS code.';

CREATE VIEW {SCHEMA}.descendant AS
    SELECT DISTINCT aa.ancestor_id, aa.descendant_id, v.code::text AS vintage
    FROM public.geographies_areaancestor aa JOIN public.geographies_vintage v ON v.id = aa.descendant_vintage_id
    WHERE aa.descendant_id <> aa.ancestor_id;
COMMENT ON VIEW {SCHEMA}.descendant IS E'@primaryKey ancestor_id,descendant_id,vintage\\n'
    '@foreignKey (ancestor_id) references {SCHEMA}.area (id)|@fieldName ancestor|@foreignFieldName descendants\\n'
    '@foreignKey (descendant_id) references {SCHEMA}.area (id)|@fieldName area|@foreignFieldName ancestorLinks\\n'
    'An area below another, in the descendant''s vintage.';

CREATE VIEW {SCHEMA}.latest_observation AS
    SELECT o.id, o.area_id, i.slug::text AS indicator_slug, o.value,
           (SELECT p.label::text FROM public.indicators_period p WHERE p.id = o.period_id) AS period
    FROM public.indicators_indicator i
    CROSS JOIN LATERAL (
        SELECT c.period_id FROM public.indicators_coverage c JOIN public.indicators_period cp ON cp.id = c.period_id
        WHERE c.indicator_id = i.id ORDER BY cp."end" DESC, cp.start DESC LIMIT 1) latest
    JOIN public.indicators_observation o ON o.indicator_id = i.id AND o.period_id = latest.period_id
    -- current releases by a join: always correct, not pruned at plan time (see the docstring)
    JOIN public.indicators_release r ON r.id = o.release_id AND r.is_current;
COMMENT ON VIEW {SCHEMA}.latest_observation IS E'@primaryKey id\\n'
    '@foreignKey (area_id) references {SCHEMA}.area (id)|@fieldName area|@foreignFieldName latestObservations\\n'
    'A current observation in its indicator''s latest period.';
"""


def say(message: str) -> None:
    print(f"[postgraphile {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def database_url(database: str | None = None) -> str:
    """A postgres:// URL (PostGraphile knows no postgis://) for `database`, else DATABASE_URL."""
    if database:
        return f"postgres://postgres@127.0.0.1:5432/{database}"
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/levelup")
    return "postgres://" + url.split("://", 1)[1]


def views_make(url: str) -> None:
    """The schema of views, made again (idempotent; one transaction)."""
    with psycopg.connect(url) as conn:
        conn.execute(VIEWS_SQL)


def ensure_installed() -> Path:
    """PostGraphile from bench/postgraphile/package-lock.json (`npm ci`) when it is not there yet."""
    if not BINARY.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise SystemExit("npm is not installed: PostGraphile needs Node.js 18+ and npm")
        say("npm ci in bench/postgraphile (PostGraphile, once)")
        subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=PACKAGE, check=True)
    return BINARY


def version() -> str:
    try:
        return json.loads((PACKAGE / "node_modules" / "postgraphile" / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return "?"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Client:
    """Sequential POSTs of GraphQL on one kept-alive connection (reopened if the server closed it)."""

    def __init__(self, port: int, path: str = "/graphql", timeout: float = 30.0) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        self.path = path

    def post(self, body: bytes) -> bytes:
        for attempt in (1, 2):
            try:
                self.conn.request("POST", self.path, body=body,
                                  headers={"Content-Type": "application/json", "Accept": "application/json"})
                response = self.conn.getresponse()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                if attempt == 2:
                    raise
        data = response.read()
        if response.status != 200:
            raise RuntimeError(f"PostGraphile answered {response.status}: {data[:300]!r}")
        return data

    def close(self) -> None:
        self.conn.close()


@contextmanager
def serving(url: str | None = None, port: int = 0) -> Iterator[int]:
    """PostGraphile on 127.0.0.1:`port` (0: any free one) against `url` (default DATABASE_URL) over
    the schema of views (made again first), installed if need be; yields the port, always stops it."""
    url = url or database_url()
    binary = ensure_installed()
    views_make(url)
    port = port or _free_port()
    command = [str(binary), "--connection", url, "--schema", SCHEMA, "--host", "127.0.0.1", "--port", str(port),
               "--simple-collections", "only", "--disable-graphiql", "--disable-query-log",
               "--disable-default-mutations", "--no-setof-functions-contain-nulls", "--legacy-relations", "omit"]
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(command, cwd=PACKAGE, stdout=log, stderr=subprocess.STDOUT,
                                  env={**os.environ, "NODE_ENV": "production"})
        try:
            deadline = time.monotonic() + START_TIMEOUT_S
            while True:
                if server.poll() is not None:
                    log.seek(0)
                    raise SystemExit(f"postgraphile exited with {server.returncode}:\n"
                                     f"{log.read().decode(errors='replace')[-3000:]}")
                try:
                    probe = Client(port, timeout=5)
                    try:
                        probe.post(b'{"query": "{ __typename }"}')
                    finally:
                        probe.close()
                    break
                except (OSError, http.client.HTTPException, RuntimeError):
                    if time.monotonic() > deadline:
                        raise SystemExit(f"postgraphile did not answer on 127.0.0.1:{port} within "
                                         f"{START_TIMEOUT_S:g} s") from None
                    time.sleep(0.2)
            yield port
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


# -- the query and its answer -------------------------------------------------------------------
def query(indicators: Sequence[str]) -> str:
    aliases = "\n".join(f"      i{n}: latestObservations(condition: {{indicatorSlug: $i{n}}}) "
                        "{ indicatorSlug value period }" for n in range(len(indicators)))
    variables = "".join(f", $i{n}: String!" for n in range(len(indicators)))
    return (f"query($code: String!, $vintage: String!{variables}) {{\n"
            "  areaByCode(code: $code) { descendants(condition: {vintage: $vintage}) { area { code name\n"
            f"{aliases}\n    }} }} }}\n}}")


def request_body(area: str, vintage: str, indicators: Sequence[str]) -> bytes:
    return json.dumps({"query": query(indicators), "variables": {
        "code": area, "vintage": vintage, **{f"i{n}": slug for n, slug in enumerate(indicators)}}}).encode()


Values = set[tuple[str, str, float | None]]  # (child code, indicator slug, value)


def postgraphile_values(document: dict, indicators: Sequence[str]) -> tuple[int, Values]:
    if document.get("errors") or not (document.get("data") or {}).get("areaByCode"):
        raise RuntimeError(f"PostGraphile answered with errors or no area: {json.dumps(document)[:500]}")
    links = document["data"]["areaByCode"]["descendants"]
    values = {(link["area"]["code"], o["indicatorSlug"], o["value"])
              for link in links for n in range(len(indicators)) for o in link["area"][f"i{n}"]}
    return len({link["area"]["code"] for link in links}), values


def api_values(document: dict, indicators: Sequence[str]) -> tuple[int, Values]:
    """The API's answer, as bench/graphql_children.py asks it (`observations(indicator: "a,b,c")`
    with `indicatorSlug`) or with one alias per indicator (bench/endpoints.py: lists of `value`, in
    the order of `indicators`)."""
    if document.get("errors"):
        raise RuntimeError(f"the API answered with errors: {json.dumps(document['errors'])[:500]}")
    children = document["data"]["area"]["children"]
    values: Values = set()
    for child in children:
        if "observations" in child:
            values |= {(child["code"], o["indicatorSlug"], o["value"]) for o in child["observations"]}
        else:
            lists = [v for k, v in child.items() if k not in ("code", "name")]
            for slug, observations in zip(indicators, lists, strict=True):
                values |= {(child["code"], slug, o["value"]) for o in observations}
    return len(children), values


API_QUERY = """query($code: String!, $indicators: String!) { area(code: $code) { children(type: "LSOA", vintage: "%s") {
  code name observations(indicator: $indicators, period: "latest") { indicatorSlug value } } } }"""


def api_document_in_process(area: str, vintage: str, indicators: Sequence[str], database: str | None) -> dict:
    """The API's answer to the same logical query, through django.test.Client (Django set up here
    unless the caller has)."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "levelup_api.settings.base")
    os.environ.setdefault("LOG_REQUESTS", "off")
    os.environ.setdefault("LEVELUP_QUOTAS", "off")  # (one request, counted by nobody)
    if database:
        os.environ.setdefault("DATABASE_URL", f"postgis://postgres@127.0.0.1:5432/{database}")
    import django
    from django.apps import apps

    if not apps.ready:
        django.setup()
    from django.test import Client as DjangoClient

    body = json.dumps({"query": API_QUERY % vintage, "variables": {"code": area, "indicators": ",".join(indicators)}})
    response = DjangoClient().generic("POST", "/graphql", body, content_type="application/json")
    if response.status_code != 200:
        raise RuntimeError(f"the API answered {response.status_code}: {response.content[:300]!r}")
    return json.loads(response.content)


# -- measuring ----------------------------------------------------------------------------------
@dataclass
class Result:
    version: str
    samples: list[float] = field(default_factory=list)  # ms
    children: int = 0
    values: int = 0
    api_children: int = 0
    api_values: int = 0
    agrees: bool = False
    difference: str = ""

    def p(self, q: int) -> float:
        if len(self.samples) == 1:
            return self.samples[0]
        return statistics.quantiles(self.samples, n=100, method="inclusive")[q - 1]

    @property
    def p50(self) -> float:
        return self.p(50)

    @property
    def p90(self) -> float:
        return self.p(90)


def measure(runs: int = 50, *, warmup: int = 10, area: str = DEFAULT_AREA, vintage: str = DEFAULT_VINTAGE,
            indicators: Sequence[str] = DEFAULT_INDICATORS, database: str | None = None,
            api_document: dict | bytes | None = None, port: int | None = None) -> Result:
    """PostGraphile's times for the query (`runs` after `warmup`, one kept-alive connection), and
    whether its children and values are the API's. `port`: a PostGraphile already serving (from
    `serving()`); else one is started for the measurement and stopped after it."""
    if isinstance(api_document, bytes):
        api_document = json.loads(api_document)
    if api_document is None:
        api_document = api_document_in_process(area, vintage, indicators, database)
    api_children, api_set = api_values(api_document, indicators)
    if port is None:
        with serving(database_url(database)) as started:
            return measure(runs, warmup=warmup, area=area, vintage=vintage, indicators=indicators,
                           database=database, api_document=api_document, port=started)
    body = request_body(area, vintage, indicators)
    client = Client(port)
    result = Result(version=version(), api_children=api_children, api_values=len(api_set))
    try:
        answer = client.post(body)
        for _ in range(warmup):
            client.post(body)
        clock = time.perf_counter
        for _ in range(runs):
            start = clock()
            client.post(body)
            result.samples.append((clock() - start) * 1000)
    finally:
        client.close()
    result.children, theirs = postgraphile_values(json.loads(answer), indicators)
    result.values = len(theirs)
    result.agrees = result.children == api_children and theirs == api_set
    if not result.agrees:
        only_api, only_them = sorted(api_set - theirs)[:3], sorted(theirs - api_set)[:3]
        result.difference = f"only in the API: {only_api}; only in PostGraphile: {only_them}"
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--area", default=DEFAULT_AREA)
    parser.add_argument("--indicators", default=",".join(DEFAULT_INDICATORS))
    parser.add_argument("--database", default="levelup")
    args = parser.parse_args(argv)
    slugs = [s.strip() for s in args.indicators.split(",") if s.strip()]
    result = measure(args.runs, warmup=args.warmup, area=args.area, indicators=slugs, database=args.database)
    print(f"PostGraphile {result.version} (Node {subprocess.run(['node', '--version'], capture_output=True, text=True).stdout.strip()}): "
          f"{args.area}'s {result.children} {DEFAULT_VINTAGE} children x {len(slugs)} indicators, {result.values} values; "
          f"p50 {result.p50:.2f} ms, p90 {result.p90:.2f} ms over {args.runs} runs after {args.warmup}; "
          f"the API: {result.api_children} children, {result.api_values} values; "
          f"{'the same children and values' if result.agrees else 'DIFFERENT: ' + result.difference}.")
    return 0 if result.agrees else 1


if __name__ == "__main__":
    sys.exit(main())

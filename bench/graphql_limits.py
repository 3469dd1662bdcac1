"""GraphQL refusals over HTTP: how long the server takes to refuse documents built to stall it,
against the least any request costs on the same server.

Before the limits in levelup_api/core/graphql_limits.py, a 0.8 KB query doubling a fragment 20 times
pinned a worker for 7 s before it was refused (30 doublings: hours), 1,000 aliases took 13 s, and a
fragment cycle ended in a RecursionError (500). Target: each refusal in well under 100 ms (p50).

Measured over HTTP with quotas on, as in production: a partner API key is made for the run
(`levelup_api.core.quotas.api_key_make`, the service behind `manage.py create_api_key`) and deleted
after it, and every request carries it (6,000 requests a minute). The server is
`gunicorn levelup_api.wsgi -w 2 --threads 4 --worker-class gthread --limit-request-line 8190` (as
`make run` serves it; settings levelup_api.settings.base, DATABASE_URL on --database), started by
bench/common.py and always stopped. One kept-alive `http.client` connection; each timed round runs
every request once, in turn, after `gc.collect()`:

1. HTTP floor: `GET /healthz` (a view that does nothing).
2. A tiny valid query, `{ __typename }` (200).
3. The 0.8 KB and 1.2 KB queries doubling a fragment 20 and 30 times (400: cost and fields).
4. 2,000 aliases of `missions { number }`, 52 KB (400: document size).
5. A fragment cycle (400: graphql-core's NoFragmentCyclesRule).
6. 2,002 tokens in 4 KB (400: the parser's token limit; the slowest refusal, as the parser reads to
   the limit).

Every answer is checked (status, and the error codes of a refusal); exit status 1 if one is not the
expected answer. The 100 ms target is reported, not enforced.

    .venv/bin/python bench/graphql_limits.py [--database levelup] [--repeat 30] [--warmup 5] [--port 0]

It prints one Markdown section for docs/benchmarks.md; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import gc
import http.client
import json
import os
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import free_port, gunicorn_serving  # noqa: E402
from point_lookup import command_line, cpu_model  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = "levelup_api.settings.base"
PG_SERVER = "postgres@127.0.0.1:5432"
GUNICORN_ARGS = ["-w", "2", "--threads", "4", "--worker-class", "gthread", "--limit-request-line", "8190"]
TARGET_MS = 100.0


def say(message: str) -> None:
    print(f"[graphql_limits {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def doubling(times: int) -> str:
    query = f"query {{ ...F{times} }}\nfragment F0 on Query {{ missions {{ number }} }}\n"
    return query + "".join(f"fragment F{i} on Query {{ ...F{i - 1} ...F{i - 1} }}\n" for i in range(1, times + 1))


ALIASES = "{ " + " ".join(f"a{i}: missions {{ number }}" for i in range(2000)) + " }"
CYCLE = "query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }"
TOKENS = "{ " + "a " * 2000 + "}"


@dataclass
class Case:
    name: str
    method: str
    path: str
    query: str | None = None
    status: int = 400
    codes: frozenset[str] = frozenset()  # the error codes a refusal must carry
    samples: list[float] = field(default_factory=list)  # ms
    floor: bool = False
    wrong: str = ""  # the first unexpected answer, if any

    @property
    def body(self) -> bytes | None:
        return None if self.query is None else json.dumps({"query": self.query}).encode()

    def p(self, q: int) -> float:
        return statistics.quantiles(self.samples, n=100, method="inclusive")[q - 1]


CASES = [
    Case("HTTP floor: `GET /healthz`", "GET", "/healthz", status=200, floor=True),
    Case("tiny valid query `{ __typename }`", "POST", "/graphql", "{ __typename }", status=200),
    Case("fragment doubled 20 times", "POST", "/graphql", doubling(20), codes=frozenset({"COST_LIMIT", "FIELD_LIMIT"})),
    Case("fragment doubled 30 times", "POST", "/graphql", doubling(30), codes=frozenset({"COST_LIMIT", "FIELD_LIMIT"})),
    Case("2,000 aliases of `missions { number }`", "POST", "/graphql", ALIASES, codes=frozenset({"QUERY_TOO_LARGE"})),
    Case("fragment cycle", "POST", "/graphql", CYCLE, codes=frozenset({"GRAPHQL_VALIDATION_FAILED"})),
    Case("2,002 tokens", "POST", "/graphql", TOKENS, codes=frozenset({"GRAPHQL_PARSE_FAILED"})),
]


class Client:
    """Sequential requests on one kept-alive connection, with the API key."""

    def __init__(self, port: int, key: str) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.headers = {"X-API-Key": key, "Accept": "application/json", "Content-Type": "application/json"}
        self.quota: tuple[str | None, str | None] = (None, None)

    def send(self, case: Case) -> None:
        self.conn.request(case.method, case.path, body=case.body, headers=self.headers)
        response = self.conn.getresponse()
        data = response.read()
        if case.path == "/graphql":
            self.quota = (response.getheader("X-RateLimit-Limit"), response.getheader("X-RateLimit-Remaining"))
        if not case.wrong:
            case.wrong = unexpected(case, response.status, data)

    def close(self) -> None:
        self.conn.close()


def unexpected(case: Case, status: int, data: bytes) -> str:
    """Why an answer is not the expected one ('' if it is)."""
    if status != case.status:
        return f"status {status}, expected {case.status}: {data[:200]!r}"
    if case.status == 200 or case.path != "/graphql":
        return ""
    body = json.loads(data)
    codes = {(e.get("extensions") or {}).get("code") for e in body.get("errors", [])}
    if "data" in body or codes != case.codes:
        return f"error codes {sorted(map(str, codes))}, expected {sorted(case.codes)}: {data[:200]!r}"
    return ""


def measure(client: Client, *, warmup: int, repeat: int) -> None:
    for _ in range(warmup):
        for case in CASES:
            client.send(case)
    clock = time.perf_counter
    for _ in range(repeat):
        gc.collect()
        for case in CASES:
            start = clock()
            client.send(case)
            case.samples.append((clock() - start) * 1000)


def setup_django(database: str) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS
    os.environ["DATABASE_URL"] = f"postgis://{PG_SERVER}/{database}"
    import django

    django.setup()


def limits_line() -> str:
    from django.conf import settings

    limits = settings.LEVELUP
    return (f"Limits: {limits['GRAPHQL_MAX_QUERY_BYTES']:,} bytes, {limits['GRAPHQL_MAX_TOKENS']:,} tokens, "
            f"{limits['GRAPHQL_MAX_FRAGMENTS']} fragments, depth {limits['GRAPHQL_MAX_DEPTH']}, "
            f"cost {limits['GRAPHQL_MAX_COST']:,}, {limits['GRAPHQL_MAX_FIELDS']:,} fields, "
            f"{limits['GRAPHQL_MAX_ALIASES']} aliases, {limits['GRAPHQL_MAX_REPEATS']} fields merged at one path "
            "(fragments counted wherever spread).")


def markdown(args: argparse.Namespace, quota: tuple[str | None, str | None], wall_s: float) -> str:
    floor = next(c for c in CASES if c.floor)
    lines = [
        f"### GraphQL refusals over HTTP, quotas on ({args.repeat} rounds after {args.warmup} warm-up rounds)",
        "",
        f"| request | document | answer | p50 ms | p90 ms | p50 / floor p50 | p50 < {TARGET_MS:g} ms |",
        "|---|--:|---|--:|--:|--:|---|",
    ]
    for case in CASES:
        size = "–" if case.body is None else f"{len(case.query.encode()):,} B"
        answer = f"{case.status}" + (f" {', '.join(sorted(case.codes))}" if case.codes else "")
        ratio = "1.00x (floor)" if case.floor else f"{case.p(50) / floor.p(50):.2f}x"
        verdict = "–" if case.floor else ("yes" if case.p(50) < TARGET_MS else "NO")
        lines.append(f"| {case.name} | {size} | {answer} | {case.p(50):.2f} | {case.p(90):.2f} | {ratio} | {verdict} |")
    wrong = [c for c in CASES if c.wrong]
    lines += [
        "",
        "Answers: " + ("every one as expected." if not wrong else
                       "; ".join(f"{c.name}: {c.wrong}" for c in wrong)),
        limits_line(),
        "Before the limits: the 20-doubling query took 7 s to refuse (30 doublings: hours), 1,000 aliases 13 s, "
        "and the cycle was a 500.",
        f"Quota: a partner API key on every request; the last GraphQL answer said X-RateLimit-Limit {quota[0]}, "
        f"X-RateLimit-Remaining {quota[1]}.",
        f"Machine: {len(os.sched_getaffinity(0))} CPUs ({cpu_model()}); load average at the end "
        f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}.",
        f"Server: `gunicorn levelup_api.wsgi {' '.join(GUNICORN_ARGS)}`, settings `{SETTINGS}`, "
        f"database `{args.database}`, `LEVELUP_QUOTAS=on`.",
        f"Command: `{command_line()}` (wall time {wall_s:.0f} s)",
    ]
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="levelup", help="database on postgres@127.0.0.1:5432 (default levelup)")
    parser.add_argument("--repeat", type=int, default=30, help="timed rounds (default 30)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed rounds first (default 5)")
    parser.add_argument("--port", type=int, default=0, help="port for the gunicorn it starts (default: any free)")
    args = parser.parse_args(argv)
    if args.repeat < 2 or args.warmup < 1:
        parser.error("--repeat must be at least 2 and --warmup at least 1")
    # Every request counts against the key's quota: stay well inside a partner's 6,000 a minute.
    if (args.repeat + args.warmup) * len(CASES) > 5000:
        parser.error("that many rounds would run into the partner quota (6,000 requests a minute)")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    started = time.monotonic()
    args = parse_args(argv)
    setup_django(args.database)
    from levelup_api.core.models import ApiKey
    from levelup_api.core.quotas import api_key_make

    key, secret = api_key_make(name="bench/graphql_limits.py (deleted after the run)", tier=ApiKey.Tier.PARTNER)
    try:
        def ready(port: int) -> None:
            Client(port, secret).send(Case("ready", "GET", "/healthz", status=200))

        say(f"starting gunicorn on database {args.database}, quotas on")
        env = {"DJANGO_SETTINGS_MODULE": SETTINGS, "DATABASE_URL": f"postgis://{PG_SERVER}/{args.database}",
               "LEVELUP_QUOTAS": "on", "LOG_REQUESTS": "off"}
        with gunicorn_serving(args.port or free_port(), ready=ready, args=GUNICORN_ARGS, env=env) as port:
            client = Client(port, secret)
            try:
                say(f"measuring: {args.warmup} warm-up rounds, then {args.repeat} timed rounds of {len(CASES)} requests")
                measure(client, warmup=args.warmup, repeat=args.repeat)
            finally:
                client.close()
    finally:
        key.delete()
    print(markdown(args, client.quota, time.monotonic() - started))
    wrong = [c for c in CASES if c.wrong]
    for case in wrong:
        print(f"UNEXPECTED ANSWER: {case.name}: {case.wrong}", file=sys.stderr)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())

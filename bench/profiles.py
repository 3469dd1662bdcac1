"""Area profiles and mission progress over HTTP, against the physical limit measured in the same
run: the profile's own rows fetched with one hand-written statement (psycopg, prepared) and
serialised with orjson, in-process. Issue targets: a profile within 25 ms p50 over HTTP, a
mission's district progress within 300 ms.

    .venv/bin/python bench/profiles.py [--database levelup] [--area E06000009] [--lsoa E01005061]
        [--mission 7] [--vintage LAD23] [--repeat 30] [--warmup 3]

Against `levelup` (the real load) it measures a district's and an LSOA's profile, computed on
every request (a server with `LEVELUP_PROFILE_CACHE=off`) and repeated from the profile cache (a
server with it on), and a mission's district progress; against `levelup_bench` (10.7 million synthetic rows, see bench/observations.py;
no missions are loaded there) the LSOA profile at that scale. Prints one Markdown section.
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import sys
import time
from pathlib import Path

import orjson
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import current_in, current_predicate, free_port, gunicorn_serving  # noqa: E402
from point_lookup import command_line  # noqa: E402

# What the profile reads, written by hand: the area and its region and nation, then every current
# value of those areas (each current partition's (area, indicator, period) index; `CURRENT_RELEASE(o)`
# is written as the current releases' ids, constants in the prepared statement's text, as the app
# writes it: common.current_in).
AREAS_SQL = """
    SELECT a.id FROM geographies_area a WHERE a.code = %(code)s
    UNION
    SELECT x.ancestor_id FROM geographies_areaancestor x JOIN geographies_vintage v ON v.id = x.ancestor_vintage_id
    JOIN geographies_areatype t ON t.id = v.area_type_id JOIN geographies_area a ON a.id = x.descendant_id
    WHERE a.code = %(code)s AND t.code IN ('RGN', 'CTRY', 'UK')
"""
VALUES_SQL = """
    SELECT o.area_id, i.slug, p.iso, p.label, o.value, o.lci, o.uci, o.status, o.rank, o.rank_of
    FROM indicators_observation o JOIN indicators_indicator i ON i.id = o.indicator_id
    JOIN indicators_period p ON p.id = o.period_id
    WHERE CURRENT_RELEASE(o) AND o.area_id = ANY(%(ids)s)
    ORDER BY o.area_id, i.slug, p."end"
"""


def get(conn: http.client.HTTPConnection, path: str) -> bytes:
    conn.request("GET", path)
    response = conn.getresponse()
    body = response.read()
    if response.status != 200:
        raise RuntimeError(f"GET {path} -> {response.status}: {body[:200]!r}")
    return body


def limit(db: psycopg.Connection, values_sql: str, code: str) -> int:
    ids = [r[0] for r in db.execute(AREAS_SQL, {"code": code}, prepare=True).fetchall()]
    rows = db.execute(values_sql, {"ids": ids}, prepare=True).fetchall()
    orjson.dumps([dict(zip(("area", "indicator", "iso", "label", "value", "lci", "uci", "status", "rank", "rank_of"),
                           r, strict=True)) for r in rows])
    return len(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="levelup")
    parser.add_argument("--area", default="E06000009")
    parser.add_argument("--lsoa", default="E01005061")
    parser.add_argument("--mission", type=int, default=7)
    parser.add_argument("--vintage", default="LAD23")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()
    started = time.perf_counter()
    env = {"DJANGO_SETTINGS_MODULE": "levelup_api.settings.base",
           "DATABASE_URL": f"postgis://postgres@127.0.0.1:5432/{args.database}"}
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{args.database}", autocommit=True) as db:
        rows_current = db.execute(
            f"SELECT count(*) FROM indicators_observation o WHERE {current_predicate(db)}").fetchone()[0]
        values_sql = current_in(db, VALUES_SQL)
        has_missions = db.execute("SELECT EXISTS (SELECT 1 FROM missions_mission)").fetchone()[0]
        results = []
        # First computed on every request (the profile cache off), then as a server with the cache
        # answers a repeated request (the first request of each area, a warm-up, fills it).
        for cache in ("off", "on"):
            with gunicorn_serving(free_port(), env={**env, "LEVELUP_PROFILE_CACHE": cache},
                                  args=("-w", "2", "--threads", "4", "--worker-class", "gthread"),
                                  ready=lambda port: get(http.client.HTTPConnection("127.0.0.1", port, timeout=5),
                                                         "/api/v1/missions/")) as port:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                suffix = "" if cache == "off" else ", repeated (profile cache)"
                cases = [(f"profile of {code}{suffix}", f"/api/v1/areas/{code}/profile/", code)
                         for code in (args.area, args.lsoa)]
                if has_missions and cache == "off":
                    cases.append((f"mission {args.mission} progress on {args.vintage}",
                                  f"/api/v1/missions/{args.mission}/progress/?vintage={args.vintage}", None))
                for label, path, code in cases:
                    api, sql, n = [], [], 0
                    for i in range(args.warmup + args.repeat):
                        t0 = time.perf_counter()
                        if code:
                            n = limit(db, values_sql, code)
                        t1 = time.perf_counter()
                        get(conn, path)
                        t2 = time.perf_counter()
                        if i >= args.warmup:
                            sql.append((t1 - t0) * 1000)
                            api.append((t2 - t1) * 1000)
                    results.append((label, n, statistics.median(sql) if code else None, statistics.median(api),
                                    25.0 if code else 300.0))
    lines = [f"### Profiles and progress over HTTP ({args.database}: {rows_current:,} current observations; "
             f"{args.repeat} runs after {args.warmup} warm-ups)", "",
             "| request | rows read | limit p50 ms (SQL + orjson) | API p50 ms | ratio | target | result |",
             "|---|--:|--:|--:|--:|---|---|"]
    for label, n, sql_ms, api_ms, target in results:
        ratio = f"{api_ms / sql_ms:.2f}x" if sql_ms else "–"
        lines.append(f"| {label} | {n or '–'} | {f'{sql_ms:.1f}' if sql_ms else '–'} | {api_ms:.1f} | {ratio} | "
                     f"≤ {target:g} ms | {'pass' if api_ms <= target else 'FAIL'} |")
    lines += ["", f"Command: `{command_line()}` (wall time {time.perf_counter() - started:.0f} s)"]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())

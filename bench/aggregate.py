"""Aggregation up the hierarchy at scale: one indicator from every LSOA 2021 to every LAD24 district,
over HTTP, against the equivalent hand-written SQL `GROUP BY` (psycopg + orjson, in-process) in the
same run. Issue target: within 2x, at the 10-million-row scale of the benchmark database.

Needs the database that `bench/observations.py` fills (default `levelup_bench`). Its synthetic
indicators are loaded as not aggregatable; this script marks the count indicator `bench-ind-003`
as a sum and the rate `bench-ind-000` as a weighted mean weighted by `bench-ind-003` (idempotent
UPDATEs on the bench database only), then measures both:

    .venv/bin/python bench/aggregate.py [--database levelup_bench] [--repeat 20] [--warmup 3]

It prints one Markdown section for docs/benchmarks.md; exit status 1 if the API and the SQL disagree.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import orjson
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import current_in, current_predicate, free_port  # noqa: E402
from observations import (  # noqa: E402
    DEFAULT_DATABASE,
    PROTECTED_DATABASES,
    dsn,
    gunicorn,
    http_get,
    machine,
)
from point_lookup import command_line  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from indicators.precision import derived_places, derived_round  # noqa: E402

SUM, MEAN = "bench-ind-003", "bench-ind-000"
FROM_VINTAGE, TO_VINTAGE = "LSOA21", "LAD24"
TARGET = 2.0

# The same arithmetic the API does, written by hand: children in the hierarchy, their current
# values (and weights), grouped by district. `CURRENT_RELEASE(o)` is written as the current
# releases' ids, constants in the text (common.current_in), as the app writes it: the prepared
# statement's plans then read only the current partitions.
LIMIT_SQL = {
    "sum": """
        SELECT a.code, a.name, sum(o.value) AS value, count(o.value) AS used, count(*) AS expected
        FROM geographies_areaancestor k JOIN geographies_area a ON a.id = k.ancestor_id
        LEFT JOIN indicators_observation o ON o.area_id = k.descendant_id AND o.indicator_id = %(ind)s
             AND o.period_id = %(per)s AND CURRENT_RELEASE(o)
        WHERE k.descendant_vintage_id = %(fv)s AND k.ancestor_vintage_id = %(tv)s
        GROUP BY a.code, a.name ORDER BY a.code""",
    "weighted_mean": """
        SELECT a.code, a.name,
               sum(o.value * w.value) FILTER (WHERE o.value IS NOT NULL)
                 / nullif(sum(w.value) FILTER (WHERE o.value IS NOT NULL), 0) AS value,
               count(o.value) AS used, count(*) AS expected
        FROM geographies_areaancestor k JOIN geographies_area a ON a.id = k.ancestor_id
        LEFT JOIN indicators_observation o ON o.area_id = k.descendant_id AND o.indicator_id = %(ind)s
             AND o.period_id = %(per)s AND CURRENT_RELEASE(o)
        LEFT JOIN indicators_observation w ON w.area_id = k.descendant_id AND w.indicator_id = %(wind)s
             AND w.period_id = %(per)s AND CURRENT_RELEASE(w)
        WHERE k.descendant_vintage_id = %(fv)s AND k.ancestor_vintage_id = %(tv)s
        GROUP BY a.code, a.name ORDER BY a.code""",
}


def p50(samples: list[float]) -> float:
    return statistics.median(samples)


def prepare(conn: psycopg.Connection) -> dict:
    ids = dict(conn.execute("SELECT slug, id FROM indicators_indicator WHERE slug = ANY(%s)", ([SUM, MEAN],)).fetchall())
    decimals = dict(conn.execute("SELECT slug, decimal_places FROM indicators_indicator WHERE slug = ANY(%s)",
                                 ([SUM, MEAN],)).fetchall())
    if len(ids) != 2:
        raise SystemExit(f"{SUM} and {MEAN} are missing: run bench/observations.py first")
    conn.execute("UPDATE indicators_indicator SET aggregation = 'sum', weight_indicator_id = NULL WHERE id = %s",
                 (ids[SUM],))
    conn.execute("UPDATE indicators_indicator SET aggregation = 'weighted_mean', weight_indicator_id = %s WHERE id = %s",
                 (ids[SUM], ids[MEAN]))
    vintages = dict(conn.execute("SELECT code, id FROM geographies_vintage WHERE code = ANY(%s)",
                                 ([FROM_VINTAGE, TO_VINTAGE],)).fetchall())
    period = conn.execute("SELECT p.id, p.iso FROM indicators_coverage c JOIN indicators_period p ON p.id = c.period_id "
                          "WHERE c.indicator_id = %s ORDER BY p.\"end\" DESC LIMIT 1", (ids[SUM],)).fetchone()
    rows = conn.execute(f"SELECT count(*) FROM indicators_observation o WHERE {current_predicate(conn)}").fetchone()[0]
    statements = {method: current_in(conn, text) for method, text in LIMIT_SQL.items()}
    return {"ids": ids, "fv": vintages[FROM_VINTAGE], "tv": vintages[TO_VINTAGE], "period": period, "rows": rows,
            "statements": statements, "decimals": decimals}


def limit(conn: psycopg.Connection, statement: str, params: dict, places: int) -> list[dict]:
    """The statement's rows as the API's documents, values rounded once as the API rounds derived
    numbers (indicators.precision)."""
    rows = conn.execute(statement, params, prepare=True).fetchall()
    return orjson.loads(orjson.dumps([{"area_code": c, "area_name": n, "value": derived_round(v, places),
                                       "children_used": u, "children_expected": e} for c, n, v, u, e in rows]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()
    if args.database in PROTECTED_DATABASES:
        parser.error("use the benchmark database, not the served one")
    started = time.perf_counter()
    bad = []
    with psycopg.connect(dsn(args.database), autocommit=True) as conn:
        info = prepare(conn)
        host = machine(conn)
        port = free_port()
        results = []
        with gunicorn(port, args.database):
            for method, slug in (("sum", SUM), ("weighted_mean", MEAN)):
                params = {"ind": info["ids"][slug], "wind": info["ids"][SUM], "per": info["period"][0],
                          "fv": info["fv"], "tv": info["tv"]}
                path = (f"/api/v1/indicators/{slug}/aggregate/?"
                        + urlencode({"from_vintage": FROM_VINTAGE, "to_vintage": TO_VINTAGE, "period": info["period"][1]}))
                places = derived_places(decimal_places=info["decimals"][slug], method=method)  # as the API rounds
                api_ms, sql_ms = [], []
                for i in range(args.warmup + args.repeat):
                    t0 = time.perf_counter()
                    expected = limit(conn, info["statements"][method], params, places)
                    t1 = time.perf_counter()
                    body = orjson.loads(http_get(port, path))
                    t2 = time.perf_counter()
                    if i >= args.warmup:
                        sql_ms.append((t1 - t0) * 1000)
                        api_ms.append((t2 - t1) * 1000)
                got = {r["area_code"]: r for r in body["results"]}
                for row in expected:
                    mine = got.get(row["area_code"])
                    if mine is None or mine["children_used"] != row["children_used"] or (
                            row["value"] is not None and mine["value"] is not None
                            and abs(mine["value"] - row["value"]) > 10.0 ** -places):
                        bad.append(f"{method} {row['area_code']}: API {mine} vs SQL {row}")
                results.append((method, slug, len(expected), p50(sql_ms), p50(api_ms), max(api_ms)))
    lines = [f"### Aggregation LSOA21 -> LAD24 over {info['rows']:,} current observations "
             f"({args.repeat} interleaved runs after {args.warmup} warm-ups)", "",
             "| method | indicator | districts | SQL GROUP BY p50 ms | API over HTTP p50 ms | ratio | target | result |",
             "|---|---|--:|--:|--:|--:|---|---|"]
    for method, slug, n, s, a, _ in results:
        lines.append(f"| {method} | `{slug}` | {n} | {s:.1f} | {a:.1f} | {a / s:.2f}x | ≤ {TARGET:g}x | "
                     f"{'pass' if a / s <= TARGET else 'FAIL'} |")
    lines += ["", f"Agreement: {'every district agrees' if not bad else f'{len(bad)} disagreements'} "
              "(values, children used).",
              f"Machine: {host['nproc']} CPUs ({host['cpu']}), PostgreSQL {host['postgresql']}, Python {host['python']}.",
              f"Command: `{command_line()}` (wall time {time.perf_counter() - started:.0f} s)"]
    print("\n".join(lines))
    for line in bad[:10]:
        print("  disagreement:", line)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

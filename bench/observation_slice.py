"""A national LSOA slice end to end (IMD 2025 score: 33,755 rows), against its limits, in one run:

- JSON over HTTP (`/api/v1/observations/?...&page_size=100000`) vs a plain psycopg fetch of the same
  rows plus `orjson.dumps` of them as dicts, in-process;
- CSV over HTTP (`format=csv`) vs `COPY (same select) TO STDOUT` on a plain psycopg connection.

It starts its own gunicorn on a free loopback port (or uses --url), repeats each measurement
(--repeat, default 15, after a warm-up) and prints p50s and ratios. Run from the project root against
a loaded database:  .venv/bin/python bench/observation_slice.py
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import orjson
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import current_in, free_port, gunicorn_serving  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DSN = os.environ.get("BENCH_DSN", "host=127.0.0.1 user=postgres dbname=levelup")
QUERY = "indicator=iod2025-imd-score&area_type=LSOA"
SELECT = """
    SELECT a.code, a.name, i.slug, p.label, p.iso, o.value, o.lci, o.uci, nullif(o.status, '')
    FROM indicators_observation o JOIN geographies_area a ON a.id = o.area_id
    JOIN indicators_indicator i ON i.id = o.indicator_id JOIN indicators_period p ON p.id = o.period_id
    WHERE o.indicator_id = (SELECT id FROM indicators_indicator WHERE slug = 'iod2025-imd-score') AND CURRENT_RELEASE(o)
      AND a.area_type_id = (SELECT id FROM geographies_areatype WHERE code = 'LSOA')
    ORDER BY o.indicator_id, o.period_id, o.area_id
"""
# (`CURRENT_RELEASE(o)`: the current releases' ids, written in as constants when the script starts,
# as the app writes them: common.current_in.)
COLUMNS = ["area_code", "area_name", "indicator", "period", "period_iso", "value", "lci", "uci", "status"]


def timed(fn, repeat: int) -> tuple[float, object]:
    fn()  # warm-up
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), result


def raw_json(conn, select: str) -> int:
    rows = conn.execute(select).fetchall()
    body = orjson.dumps({"next": None, "results": [dict(zip(COLUMNS, r, strict=True)) for r in rows]})
    return len(rows) if body else 0


def raw_csv(conn, select: str) -> int:
    n = 0
    with conn.cursor().copy(f"COPY ({select}) TO STDOUT WITH (FORMAT csv, HEADER)") as copy:
        for chunk in copy:
            n += bytes(chunk).count(b"\n")
    return n - 1


def http_get(base: str, path: str) -> bytes:
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    conn.request("GET", path)
    body = conn.getresponse().read()
    conn.close()
    return body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--url", default=None, help="A running server on loopback (default: start one).")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        base = args.url
        if base is None:  # start one, serving on a free port until the measurements are done
            port = stack.enter_context(gunicorn_serving(
                free_port(), ready=lambda port: http_get(f"http://127.0.0.1:{port}", "/api/v1/area-types/")))
            base = f"http://127.0.0.1:{port}"
        with psycopg.connect(DSN) as conn:
            select = current_in(conn, SELECT)
            raw_json_ms, n_json = timed(lambda: raw_json(conn, select), args.repeat)
            raw_csv_ms, n_csv = timed(lambda: raw_csv(conn, select), args.repeat)
        api_json_ms, body = timed(lambda: http_get(base, f"/api/v1/observations/?{QUERY}&page_size=100000"), args.repeat)
        api_csv_ms, csv_body = timed(lambda: http_get(base, f"/api/v1/observations/?{QUERY}&format=csv"), args.repeat)
    api_rows = len(orjson.loads(body)["results"])
    api_csv_rows = csv_body.count(b"\n") - 1
    assert n_json == api_rows == n_csv == api_csv_rows, (n_json, api_rows, n_csv, api_csv_rows)
    print(f"### National LSOA slice, {api_rows:,} rows (median of {args.repeat})\n")
    print("| format | limit (in-process) | API over HTTP | ratio | target |\n|---|--:|--:|--:|---|")
    print(f"| JSON | {raw_json_ms:.0f} ms (psycopg fetch + orjson) | {api_json_ms:.0f} ms | {api_json_ms / raw_json_ms:.2f}x | 1.5x |")
    print(f"| CSV | {raw_csv_ms:.0f} ms (`COPY ... TO STDOUT`) | {api_csv_ms:.0f} ms | {api_csv_ms / raw_csv_ms:.2f}x | 1.3x |")
    print(f"\nCommand: `{' '.join([Path(sys.executable).name, *sys.argv])}`")


if __name__ == "__main__":
    main()

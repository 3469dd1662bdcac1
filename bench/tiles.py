"""Vector tiles over HTTP against the same ST_AsMVT statement run raw, in the same run: a national
LSOA21 tile at zoom 8 over Manchester and Leeds (4,700 areas), coloured by an indicator, through
gunicorn with quotas on and a partner API key (bench/common.py), and the tile's own SQL (TILE_SQL of
indicators/tiles.py with the parameters the server binds: the vintage, the tile, the tolerance, the
indicator's period and class breaks) on a plain psycopg connection, prepared, under the generic plan
the server's connections use. Issue target: p50 ≤ 50 ms over HTTP and ≤ 2x the raw statement.

    .venv/bin/python bench/tiles.py [--database levelup] [--vintage LSOA21] [--tile 8/126/82]
        [--indicator iod2025-imd-score] [--repeat 30] [--warmup 3]

Each round times the raw statement, then the same tile over HTTP (kept-alive connection, no gzip
asked), so both see the same machine; also the tile without an indicator (geometry, codes and
names), and a revalidation (If-None-Match: the 304 answered before any view). The HTTP body must be
the raw statement's bytes: exit status 1 if they differ (or a request fails); targets are reported,
not enforced. Prints one Markdown section for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SERVE_ARGS, HttpClient, free_port, gunicorn_serving, ping_ready  # noqa: E402
from point_lookup import command_line  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
MEDIA_TYPE = "application/vnd.mapbox-vector-tile"
TARGET_MS, TARGET_RATIO = 50.0, 2.0


def app_tiles(database: str):
    """indicators.tiles of the app, set up in-process against `database` (for the statement and the
    parameters the server binds)."""
    os.environ["DATABASE_URL"] = f"postgis://postgres@127.0.0.1:5432/{database}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "levelup_api.settings.base")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from indicators import tiles

    return tiles


def features(body: bytes) -> int | None:
    try:
        import mapbox_vector_tile
    except ImportError:  # a dev requirement; the count is only shown
        return None
    return len(mapbox_vector_tile.decode(body).get("areas", {}).get("features", []))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="levelup")
    parser.add_argument("--vintage", default="LSOA21")
    parser.add_argument("--tile", default="8/126/82", help="z/x/y (default: Manchester and Leeds at zoom 8)")
    parser.add_argument("--indicator", default="iod2025-imd-score")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()
    z, x, y = (int(v) for v in args.tile.split("/"))
    started = time.perf_counter()
    env = {"DJANGO_SETTINGS_MODULE": "levelup_api.settings.base",
           "DATABASE_URL": f"postgis://postgres@127.0.0.1:5432/{args.database}"}
    path = f"/api/v1/tiles/{args.vintage}/{z}/{x}/{y}.mvt"
    accept = {"Accept": MEDIA_TYPE}
    tiles = app_tiles(args.database)
    found = tiles.tile_vintage(code=args.vintage)
    if found is None or not found.boundary_count:
        raise SystemExit(f"no boundaries for {args.vintage} in {args.database}; run `make load` first")
    cases = []
    for indicator in (args.indicator, None):
        classes = tiles.tile_classes(vintage=found, indicator=indicator) if indicator else None
        sql, params = tiles.TILE_SQL, tiles.tile_params(vintage_id=found.id, z=z, x=x, y=y, classes=classes)
        query = f"?{urlencode({'indicator': indicator})}" if indicator else ""
        label = (f"{args.vintage} {z}/{x}/{y} with {indicator} ({classes.period}, {classes.classes} classes)"
                 if indicator else f"{args.vintage} {z}/{x}/{y}, codes and names only")
        cases.append((label, sql, params, path + query, indicator is not None))
    failures = []
    results = []
    # As served (a tile kept per data version after its first request), then with nothing kept
    # (LEVELUP_PROFILE_CACHE=off), so that every request cuts its tile: what a map's first view of
    # each tile costs.
    for mode, extra in (("", {}), (" cut per request (nothing kept)", {"LEVELUP_PROFILE_CACHE": "off"})):
        serve(args, env | extra, mode, cases, results, failures, accept)
    lines = [f"### Vector tiles over HTTP ({args.database}; {args.repeat} runs after {args.warmup} warm-ups)", "",
             "| request | features | bytes | raw SQL p50 ms | HTTP p50 ms | HTTP / raw | target | result |",
             "|---|--:|--:|--:|--:|--:|---|---|"]
    for label, n, size, raw, http, target in results:
        ratio = f"{http / raw:.2f}x" if raw else "–"
        verdict = ("pass" if http <= TARGET_MS and http <= TARGET_RATIO * raw else "MISSED") if target else "–"
        goal = f"≤ {TARGET_MS:g} ms and ≤ {TARGET_RATIO:g}x raw" if target else "–"
        lines.append(f"| {label} | {n if n is not None else '–'} | {size:,} | {f'{raw:.1f}' if raw else '–'} | "
                     f"{http:.1f} | {ratio} | {goal} | {verdict} |")
    lines += ["", "Raw SQL: indicators.tiles.TILE_SQL on a psycopg connection, prepared, generic plan. HTTP: "
                  f"gunicorn {' '.join(SERVE_ARGS)}, quotas on, a partner key, one kept-alive connection. As served, "
                  "a tile is cut once per data version and process and then kept (docs/tiles.md); the rows marked "
                  "'cut per request' run with LEVELUP_PROFILE_CACHE=off, so every request runs the statement.",
              *(f"**Disagreement:** {f}" for f in failures),
              f"Command: `{command_line()}` (wall time {time.perf_counter() - started:.0f} s)"]
    print("\n".join(lines))
    return 1 if failures else 0


def serve(args, env: dict, mode: str, cases: list, results: list, failures: list, accept: dict) -> None:
    """Time each case raw and over HTTP against one gunicorn with `env`, appending to `results`."""
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{args.database}", autocommit=True) as db, \
            gunicorn_serving(free_port(), env=env, args=SERVE_ARGS, ready=ping_ready) as port:
        db.execute("SET plan_cache_mode = force_generic_plan")  # as every server connection (geographies.apps)
        client = HttpClient(port)
        for label, sql, params, url, target in cases:
            label += mode
            raw_ms, http_ms, raw_body, body, etag = [], [], b"", b"", None
            for i in range(args.warmup + args.repeat):
                t0 = time.perf_counter()
                raw_body = bytes(db.execute(sql, params, prepare=True).fetchone()[0] or b"")
                t1 = time.perf_counter()
                status, body = client.get(url, headers=accept)
                t2 = time.perf_counter()
                if status != 200:
                    raise SystemExit(f"GET {url} -> {status}: {body[:300]!r}")
                etag = client.last_headers["ETag"]
                if i >= args.warmup:
                    raw_ms.append((t1 - t0) * 1000)
                    http_ms.append((t2 - t1) * 1000)
            if body != raw_body:
                failures.append(f"{label}: the HTTP body ({len(body):,} bytes) is not the raw statement's "
                                f"({len(raw_body):,} bytes)")
            results.append((label, features(body), len(body), statistics.median(raw_ms), statistics.median(http_ms),
                            target))
            if target:
                revalidated = []
                for i in range(args.warmup + args.repeat):
                    t0 = time.perf_counter()
                    status, _ = client.get(url, headers={**accept, "If-None-Match": etag})
                    if status != 304:
                        failures.append(f"If-None-Match {etag} on {url} -> {status}")
                        break
                    if i >= args.warmup:
                        revalidated.append((time.perf_counter() - t0) * 1000)
                if revalidated:
                    results.append(("the same, revalidated (If-None-Match: 304)", None, 0, None,
                                    statistics.median(revalidated), False))
        client.close()


if __name__ == "__main__":
    sys.exit(main())

"""The map explorer in a real browser: how long from navigation until MapLibre is idle (its `idle`
event after `load`: every tile of the view fetched, decoded and drawn) on /explore/, served by
gunicorn as `make run` serves it (quotas on, bench/common.py), in headless Debian chromium driven by
Playwright with a fresh browser context (cold cache) for each run.

    .venv/bin/python bench/explorer_browser.py [--database levelup] [--runs 5] [--warmup 1]

Maps: the national district map of an indicator (LAD24, fitted to the UK; target ≤ 2 s) and the
national LSOA21 map at zoom 6, 7 and 8 (target ≤ 4 s), centred between Manchester and Leeds (the
densest tiles outside London, as bench/tiles.py's tile). The time is the page's own
`window.levelupMapIdleAt` (performance.now() at the first idle: milliseconds since the navigation
started), so it includes the HTML, MapLibre's 950 kB script and its worker, the tiles and WebGL's
drawing (chromium runs with --disable-gpu: SwiftShader draws on the CPU, beside the server, on this
machine's two cores). Warm-up runs (default 1 per map, not counted) let the server read the tiles'
classes once per data version, as a running server has; the browser's cache is cold every run.

The API key: the browser context sends `X-API-Key` (bench_api_key, partner tier) on every request, as
Playwright's extra_http_headers, as the other benchmarks do. A public page cannot send a key (it
would be anyone's): a visitor's tiles have a count of their own (LEVELUP["QUOTAS"]["tiles"], 3,000
a minute for every client), which the tile request counts printed here are to be read against.

Prints one Markdown section for docs/benchmarks.md: p50 (and min, max) per map with its target,
MISSED where missed (the exit status is 0 all the same), the distinct areas rendered and the tile
requests; exit status 1 only if a page fails (no idle within 60 s, a console error, a request off
the host or a tile that is not 200 or 204).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SERVE_ARGS, bench_api_key, free_port, gunicorn_serving, ping_ready  # noqa: E402
from point_lookup import command_line  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
MAPLIBRE = ROOT / "explorer" / "static" / "explorer" / "vendor" / "maplibre-gl" / "maplibre-gl-csp.js"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
VIEWPORT = {"width": 1280, "height": 900}
CENTRE = (53.65, -1.8)  # lat, lon: between Manchester and Leeds
IDLE_TIMEOUT_MS = 60_000
FEATURES = """() => new Set(window.levelupMap.queryRenderedFeatures({layers: ['areas-fill', 'areas-none']})
                               .map(f => f.properties.code)).size"""


def maps(args) -> list[tuple[str, str, float]]:
    """(label, path, target ms) of each map measured."""
    out = [(f"National LAD24, {args.indicator} (fitted to the UK)",
            "/explore/?" + urlencode({"indicator": args.indicator, "vintage": "LAD24"}), 2000.0)]
    for zoom in (6, 7, 8):
        query = {"indicator": args.lsoa_indicator, "vintage": "LSOA21", "z": zoom, "lat": CENTRE[0], "lon": CENTRE[1]}
        out.append((f"National LSOA21, {args.lsoa_indicator}, zoom {zoom}", "/explore/?" + urlencode(query), 4000.0))
    return out


def one_run(browser, base: str, path: str, key: str) -> dict:
    """One page load in a fresh context: the idle time, the areas rendered, the tile requests and
    anything that went wrong."""
    context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1, extra_http_headers={"X-API-Key": key})
    page = context.new_page()
    problems, tiles = [], []
    host = urlsplit(base).netloc
    page.on("console", lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"uncaught: {e}"))

    def seen(response):
        url = urlsplit(response.url)
        if url.scheme in ("http", "https") and url.netloc != host:
            problems.append(f"off the host: {response.url}")
        if url.path.startswith("/api/v1/tiles/"):
            tiles.append(response.status)

    page.on("response", seen)
    try:
        page.goto(base + path, wait_until="commit")
        try:
            page.wait_for_function("() => window.levelupMapIdleAt !== undefined", timeout=IDLE_TIMEOUT_MS,
                                   polling=50)
        except Exception as exc:  # noqa: BLE001 - Playwright's TimeoutError, reported as a failure
            problems.append(f"not idle within {IDLE_TIMEOUT_MS / 1000:g} s: {exc}")
            return {"idle_ms": None, "features": 0, "tiles": len(tiles), "problems": problems}
        idle = page.evaluate("() => window.levelupMapIdleAt")
        features = page.evaluate(FEATURES)
    finally:
        context.close()
    bad = [s for s in tiles if s not in (200, 204)]
    if bad:
        problems.append(f"tiles answered {sorted(set(bad))}")
    return {"idle_ms": idle, "features": features, "tiles": len(tiles), "problems": problems}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="levelup")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1, help="uncounted runs per map first")
    parser.add_argument("--indicator", default="gross-median-weekly-pay", help="the district map's indicator")
    parser.add_argument("--lsoa-indicator", default="iod2025-imd-score")
    args = parser.parse_args()
    executable = shutil.which("chromium")
    if executable is None:
        raise SystemExit("chromium is not installed (scripts/ensure_chromium.sh installs it)")
    if not MAPLIBRE.is_file():
        raise SystemExit("the vendored MapLibre is missing: run `make explorer-vendor`")
    from playwright.sync_api import sync_playwright

    database = f"postgis://postgres@127.0.0.1:5432/{args.database}"
    env = {"DJANGO_SETTINGS_MODULE": "levelup_api.settings.base", "DATABASE_URL": database, "DEBUG": "0",
           "LOG_REQUESTS": "off"}
    key = bench_api_key(database=database)
    started = time.perf_counter()
    results, failures = [], []
    with gunicorn_serving(free_port(), env=env, args=SERVE_ARGS, ready=ping_ready, api_key=key) as port, \
            sync_playwright() as playwright:
        base = f"http://127.0.0.1:{port}"
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            for label, path, target in maps(args):
                runs = []
                for n in range(args.warmup + args.runs):
                    run = one_run(browser, base, path, key)
                    failures += [f"{label}: {p}" for p in run["problems"]]
                    if n >= args.warmup:
                        runs.append(run)
                results.append((label, path, target, runs))
        finally:
            browser.close()
    lines = [f"### The map explorer in chromium ({args.database}; {args.runs} runs a map, each in a fresh browser "
             f"context, after {args.warmup} warm-up)", "",
             "| map | p50 to idle ms | min | max | target | result | areas rendered | tile requests |",
             "|---|--:|--:|--:|---|---|--:|--:|"]
    for label, _path, target, runs in results:
        times = [r["idle_ms"] for r in runs if r["idle_ms"] is not None]
        if not times:
            lines.append(f"| {label} | – | – | – | ≤ {target / 1000:g} s | FAILED | – | – |")
            continue
        p50 = statistics.median(times)
        verdict = "pass" if p50 <= target and len(times) == len(runs) else "MISSED"
        features = statistics.median(r["features"] for r in runs)
        requests = statistics.median(r["tiles"] for r in runs)
        lines.append(f"| {label} | {p50:,.0f} | {min(times):,.0f} | {max(times):,.0f} | ≤ {target / 1000:g} s | "
                     f"{verdict} | {features:,.0f} | {requests:,.0f} |")
    lines += ["", "Pages: " + ", ".join(f"`{path}`" for _, path, _, _ in results) + ".",
              f"Chromium {executable} headless ({', '.join(CHROMIUM_ARGS)}), viewport "
              f"{VIEWPORT['width']}x{VIEWPORT['height']}; gunicorn {' '.join(SERVE_ARGS)}, quotas on, a partner API key "
              f"sent by the browser context. Time to idle is the page's performance.now() at MapLibre's first "
              f"`idle` after `load`.",
              f"Run with `{command_line()}` in {time.perf_counter() - started:.0f} s on {os.cpu_count()} CPUs."]
    if failures:
        lines += ["", "Failures:", *[f"- {f}" for f in failures[:20]]]
    print("\n".join(lines))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

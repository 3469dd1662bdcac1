"""The `levelup` command: observations, areas and profiles to CSV or JSON, through the client's
cache and retries. `--verbose` logs every request with its status to stderr, a 304 (a cached copy
confirmed by the server) included.

    levelup observations --indicator iod2025-imd-score --type LSOA --parent E08000003 --format csv
    levelup areas --type LAD --vintage LAD23 --format json --output districts.json
    levelup profile E06000009 --format csv"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from ._session import DEFAULT_BASE_URL
from ._version import __version__
from .client import Client
from .errors import LevelUpError
from .results import Results

log = logging.getLogger("levelup_client")


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("connection and output")
    group.add_argument(
        "--base-url",
        default=os.environ.get("LEVELUP_BASE_URL", DEFAULT_BASE_URL),
        help="the API (default: LEVELUP_BASE_URL or %(default)s)",
    )
    group.add_argument("--api-key", default=None, help="sent as X-API-Key (default: LEVELUP_API_KEY)")
    group.add_argument(
        "--cache-dir",
        default=None,
        help="where responses are kept (default: LEVELUP_CACHE_DIR or the user cache directory)",
    )
    group.add_argument("--no-cache", action="store_true", help="neither keep nor revalidate responses")
    group.add_argument("--timeout", type=float, default=120.0, help="seconds per request (default %(default)s)")
    group.add_argument("--format", choices=["csv", "json"], default="csv", help="output format (default csv)")
    group.add_argument("--output", "-o", default=None, help="file to write (default: standard output)")
    group.add_argument(
        "--verbose",
        "-v",
        action="store_true",
        help="log each request, its status and whether the cache answered, to stderr",
    )
    return common


def parser() -> argparse.ArgumentParser:
    common = _common()
    top = argparse.ArgumentParser(prog="levelup", description="Pull data from the Levelling Up open-data API.")
    top.add_argument("--version", action="version", version=f"levelup-client {__version__}")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    obs = commands.add_parser(
        "observations",
        parents=[common],
        help="indicator values in long format",
        description="Values of indicators for areas and periods (CSV: the API's own file).",
    )
    obs.add_argument("--indicator", required=True, help="indicator slug(s), comma-separated")
    obs.add_argument("--area", help="GSS code(s), comma-separated")
    obs.add_argument("--type", help="area type: LSOA, LAD, RGN ...")
    obs.add_argument("--vintage", help="boundary vintage: LAD23, LSOA21 ...")
    obs.add_argument("--parent", help="only areas below this GSS code")
    obs.add_argument("--period", help="ISO period, label, year, latest or latest-N (comma-separated)")
    obs.add_argument("--period-from", help="YYYY-MM-DD")
    obs.add_argument("--period-to", help="YYYY-MM-DD")
    obs.add_argument("--status", help="only rows with this status letter")
    obs.add_argument("--as-of", help="YYYY-MM-DD: values as published on that date")
    obs.add_argument("--harmonise", action="store_true", help="every value on --vintage (converted where needed)")

    areas = commands.add_parser(
        "areas",
        parents=[common],
        help="areas by type, vintage, parent or name",
        description="Areas, with their types, entity codes and lifespans.",
    )
    areas.add_argument("--type", help="area type: LSOA, LAD, RGN ...")
    areas.add_argument("--vintage", help="boundary vintage: LAD23, LSOA21 ...")
    areas.add_argument("--parent", help="every descendant of this GSS code")
    areas.add_argument("--active-on", help="YYYY-MM-DD: only codes in force then")
    areas.add_argument("--q", help="a code prefix or part of a name")

    profile = commands.add_parser(
        "profile",
        parents=[common],
        help="an area's profile",
        description="Every indicator for an area, ranked and compared.",
    )
    profile.add_argument("code", help="GSS code")
    profile.add_argument("--level", type=float, help="confidence level of the comparisons: 95 (default) or 99.8")
    return top


def _split(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def _results(client: Client, args: argparse.Namespace) -> Results:
    if args.command == "observations":
        return client.observations(
            _split(args.indicator),
            area=_split(args.area),
            type=args.type,
            vintage=args.vintage,
            parent=args.parent,
            period=_split(args.period),
            period_from=args.period_from,
            period_to=args.period_to,
            status=args.status,
            as_of=args.as_of,
            harmonise=args.harmonise,
        )
    if args.command == "areas":
        return client.areas(
            type=args.type, vintage=args.vintage, parent=args.parent, active_on=args.active_on, q=args.q
        )
    return client.profile(args.code, level=args.level)


def _json_default(value: object) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _write_json(results: Results, out: IO[bytes]) -> int:
    """A JSON array of the rows, written as the pages arrive."""
    rows = 0
    out.write(b"[")
    for row in results:
        out.write(
            (b",\n" if rows else b"\n") + json.dumps(row.to_dict(), default=_json_default, ensure_ascii=False).encode()
        )
        rows += 1
    out.write(b"\n]\n" if rows else b"]\n")
    return rows


@contextlib.contextmanager
def _output(path: str | None) -> Iterator[IO[bytes]]:
    """Standard output, or a file written beside its name and moved into place only when complete."""
    if path is None or path == "-":
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    target = Path(path)
    partial = target.with_name(target.name + ".part")
    try:
        with open(partial, "wb") as out:
            yield out
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.verbose:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("levelup: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
    try:
        with Client(
            args.base_url, api_key=args.api_key, timeout=args.timeout, cache=not args.no_cache, cache_dir=args.cache_dir
        ) as client:
            results = _results(client, args)
            with _output(args.output) as out:
                if args.format == "csv":
                    size = results.write_csv(out)
                    log.info("wrote %s bytes of CSV to %s", f"{size:,}", args.output or "standard output")
                else:
                    rows = _write_json(results, out)
                    log.info("wrote %s rows of JSON to %s", f"{rows:,}", args.output or "standard output")
            log.info("requests by status: %s", ", ".join(f"{k} x{v}" for k, v in sorted(client.stats.items())))
    except (LevelUpError, ValueError) as exc:
        print(f"levelup: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # the reader went away (`levelup ... | head`): stop quietly, as other command-line tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    return 0


if __name__ == "__main__":
    sys.exit(main())

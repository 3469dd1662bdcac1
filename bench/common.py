"""What every HTTP benchmark here shares: a free loopback port, a gunicorn serving the API that is
started, waited for and always stopped, and the API keys its clients send.

Benchmarks run as production does: the servers started here count quotas (`LEVELUP_QUOTAS=on`,
in Redis at REDIS_URL as `make run` and `make serve` do), and every request carries a partner API
key, so it is counted but not throttled:

- `bench_api_key(name)` makes (or reuses) a key of the highest tier in settings LEVELUP["QUOTAS"]
  (partner, 6,000 requests a minute today) through `levelup_api.core.quotas.api_key_make`, in a
  Django process of its own against the server's DATABASE_URL, and returns its clear text. Only the
  hash is in the database, so the clear text is kept in `.bench/api-keys.json` (git-ignored, mode
  600) and reused while its key is active and of that tier. `bench_api_keys(n, name)` gives n of
  them (one per simulated client under load: one key's quota would throttle a load run).
- `HttpClient(port)` sends requests on one kept-alive connection with the key; `fetch(port, path)`
  sends one.
- `gunicorn_serving(...)` registers the key of the running script for the port it serves, and
  every `http.client` (and so `urllib.request`) request to that loopback port carries it unless the
  caller set an `X-API-Key` of its own: the benchmarks written before quotas were on send it too.

`SERVE_ARGS` are the gunicorn options the README's `make run` / `make serve` use.

A hand-written SQL limit reads current values as the app does (indicators/current.py): each release
is a partition of `indicators_observation`, and the current releases' ids are written into the
statement's text as constants, `o.release_id = ANY(ARRAY[1,2,…]::int[])`, which PostgreSQL 15
prunes partitions on when it plans the statement. `current_release_ids(conn)`,
`current_predicate(conn, alias)` and `current_in(conn, text)` (the app's `CURRENT_RELEASE(o)` token)
read the ids once, when the script builds its statement. The ids are never bound as a parameter of
a prepared statement: a generic plan of `= ANY($1)` is planned over every partition, so the limit
would be slower than the app and its ratio flattering.

The opt-out, only to measure what quotas cost: `gunicorn_serving(..., quotas=False)`, or
`LEVELUP_BENCH_QUOTAS=off` in the environment for every server started here. In-process requests
(a script's own `django.setup()`, used to count and capture SQL) have no quota unless the script
sets `LEVELUP_QUOTAS=on` before setting Django up (bench/endpoints.py does, and sends the key).
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# In-process requests (after a script's own django.setup()) count against no quota unless the
# script asks (see above); the servers started below do, unless told not to.
os.environ.setdefault("LEVELUP_QUOTAS", "off")
START_TIMEOUT_S = 60.0
# gunicorn as the README serves the API (Makefile `run` and `serve`).
SERVE_ARGS = ("--workers", "2", "--threads", "4", "--worker-class", "gthread", "--limit-request-line", "8190")
SETTINGS = "levelup_api.settings.base"
DEFAULT_DATABASE_URL = "postgis://postgres@127.0.0.1:5432/levelup"
KEY_HEADER = "X-API-Key"
KEYS_FILE = ROOT / ".bench" / "api-keys.json"


def app_session_options() -> str:
    """The session settings the app sets on its connections (levelup_api/settings/base.py: the
    planner's random page cost), for a benchmark's raw connection: its SQL limit is then planned as
    the app's statements are."""
    sys.path.insert(0, str(ROOT))
    from levelup_api.settings.base import DATABASES

    return DATABASES["default"]["OPTIONS"]["options"]


def current_release_ids(conn) -> list[int]:
    """The ids of the current releases (one per dataset that has one), read now on a psycopg
    connection: what indicators.current.current_release_ids() gives the app."""
    return list(conn.execute("SELECT coalesce(array_agg(id ORDER BY id), ARRAY[]::int[]) FROM indicators_release "
                             "WHERE is_current").fetchone()[0])


def current_predicate(conn, alias: str = "o", ids: Sequence[int] | None = None) -> str:
    """The predicate that `alias` is a current observation, the ids written in as constants, as
    indicators.current.current_sql() writes it (`ids`: already read; default: read them now)."""
    ids = current_release_ids(conn) if ids is None else ids
    return f"{alias}.release_id = ANY(ARRAY[{','.join(str(int(i)) for i in ids)}]::int[])"


_CURRENT_TOKEN = re.compile(r"CURRENT_RELEASE\((\w+)\)")


def current_in(conn, text: str) -> str:
    """`text` with each `CURRENT_RELEASE(alias)` written as current_predicate(alias), the ids read
    once for the whole text (indicators.current.current_in for a benchmark's own statements)."""
    ids = current_release_ids(conn)
    return _CURRENT_TOKEN.sub(lambda m: current_predicate(conn, m.group(1), ids), text)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_in_use(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def quotas_default() -> bool:
    """Whether servers started here count quotas when the caller does not say: yes, unless
    LEVELUP_BENCH_QUOTAS=off."""
    return os.environ.get("LEVELUP_BENCH_QUOTAS", "on").lower() not in ("0", "off", "false", "no")


def script_name() -> str:
    return Path(sys.argv[0]).stem or "bench"


# -- API keys -----------------------------------------------------------------------------------
# Run in a Django process of its own (so that the calling script's settings and database are its
# own business): checks the keys kept from earlier runs, makes the missing ones with api_key_make,
# and prints {"tier", "rate", "keys"} as JSON.
_KEY_MAKER = r"""
import hashlib, json, sys
import django
django.setup()
from django.conf import settings
from levelup_api.core.quotas import QuotaThrottle
from levelup_api.core.models import ApiKey
from levelup_api.core.quotas import api_key_make

ask = json.load(sys.stdin)
rates = settings.LEVELUP["QUOTAS"]
def per_second(tier):
    number, seconds = QuotaThrottle().parse_rate(rates[tier])
    return number / seconds
tier = max((t for t in ApiKey.Tier.values if t in rates), key=per_second)
keys = []
for name, secret in ask["wanted"]:
    if secret:
        row = ApiKey.objects.filter(prefix=secret.split(".", 1)[0], active=True, tier=tier).first()
        if row is not None and row.key_hash == hashlib.sha256(secret.encode()).hexdigest():
            keys.append(secret)
            continue
    keys.append(api_key_make(name=name, tier=tier)[1])
print(json.dumps({"tier": tier, "rate": rates[tier], "per_second": per_second(tier), "keys": keys}))
"""
_made: dict[tuple[str, str, int], dict] = {}  # (database URL, name, count) -> the key maker's answer


def database_url(env: Mapping[str, str] | None = None) -> str:
    return (env or {}).get("DATABASE_URL") or os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL


def _keys(name: str, count: int, database: str) -> dict:
    cached = _made.get((database, name, count))
    if cached is not None:
        return cached
    names = [name if count == 1 else f"{name} #{i + 1}" for i in range(count)]
    slot = hashlib.sha256(database.encode()).hexdigest()[:12]
    try:
        kept = json.loads(KEYS_FILE.read_text())
    except (OSError, ValueError):
        kept = {}
    wanted = [[n, kept.get(slot, {}).get(n)] for n in names]
    done = subprocess.run([sys.executable, "-c", _KEY_MAKER], cwd=ROOT, input=json.dumps({"wanted": wanted}),
                          capture_output=True, text=True, check=False,
                          env={**os.environ, "DJANGO_SETTINGS_MODULE": SETTINGS, "DATABASE_URL": database,
                               "LOG_REQUESTS": "off"})
    if done.returncode != 0:
        raise SystemExit(f"could not make the benchmark's API keys ({database}):\n{done.stderr[-3000:]}")
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    kept.setdefault(slot, {}).update(zip(names, answer["keys"], strict=True))
    KEYS_FILE.parent.mkdir(exist_ok=True)
    KEYS_FILE.touch(mode=0o600)
    KEYS_FILE.write_text(json.dumps(kept, indent=1, sort_keys=True))
    _made[(database, name, count)] = answer
    return answer


def bench_api_key(name: str | None = None, *, database: str | None = None) -> str:
    """The clear text of an active API key of the highest tier named `bench: <name>` (default: the
    running script's name), made on first use and reused after; `database` is a DATABASE_URL
    (default: $DATABASE_URL, else the `levelup` database)."""
    return _keys(f"bench: {name or script_name()}", 1, database or database_url())["keys"][0]


def bench_api_keys(count: int, name: str | None = None, *, database: str | None = None) -> list[str]:
    """`count` such keys, `bench: <name> #1` to `#count`: one per simulated client."""
    return list(_keys(f"bench: {name or script_name()}", count, database or database_url())["keys"])


def bench_key_tier(name: str | None = None, *, database: str | None = None, count: int = 1) -> tuple[str, str]:
    """(tier, rate) of the keys above, e.g. ("partner", "6000/min")."""
    answer = _keys(f"bench: {name or script_name()}", count, database or database_url())
    return answer["tier"], answer["rate"]


# -- HTTP with the key --------------------------------------------------------------------------
_keyed_ports: dict[int, str] = {}  # loopback port of a server started here -> the key its clients send
_LOOPBACK = ("127.0.0.1", "localhost", "::1")
_request = http.client.HTTPConnection.request


def _request_with_key(self, method, url, body=None, headers=None, **kwargs):
    key = _keyed_ports.get(self.port) if self.host in _LOOPBACK else None
    headers = {} if headers is None else headers
    if key is not None and not any(name.lower() == KEY_HEADER.lower() for name in headers):
        headers = {**headers, KEY_HEADER: key}
    return _request(self, method, url, body, headers, **kwargs)


http.client.HTTPConnection.request = _request_with_key


class HttpClient:
    """Sequential requests on one kept-alive `http.client` connection (reopened if the server
    closes it), each with `X-API-Key`: `key`, or by default the key of the server started here on
    that port (none when it counts no quotas)."""

    def __init__(self, port: int, key: str | None = None, *, host: str = "127.0.0.1", timeout: float = 60.0) -> None:
        self.conn = http.client.HTTPConnection(host, port, timeout=timeout)
        self.key = _keyed_ports.get(port, "") if key is None else key
        self.responses = 0
        self.closed_by_server = 0
        self.reconnects = 0  # after the server closed an idle connection
        self.last_headers: http.client.HTTPMessage | None = None

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: Mapping[str, str] | None = None) -> tuple[int, bytes]:
        sent = {"Accept": "application/json", **({KEY_HEADER: self.key} if self.key else {}), **(headers or {})}
        if body is not None:
            sent.setdefault("Content-Type", "application/json")
        try:
            self.conn.request(method, path, body=body, headers=sent)
            response = self.conn.getresponse()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            # The server closed the idle connection (gunicorn's keep-alive is 2 s): once more on a new one.
            self.conn.close()
            self.reconnects += 1
            self.conn.request(method, path, body=body, headers=sent)
            response = self.conn.getresponse()
        data = response.read()
        self.responses += 1
        self.closed_by_server += response.will_close
        self.last_headers = response.headers
        return response.status, data

    def get(self, path: str, headers: Mapping[str, str] | None = None) -> tuple[int, bytes]:
        return self.request("GET", path, headers=headers)

    def post(self, path: str, body: bytes, headers: Mapping[str, str] | None = None) -> tuple[int, bytes]:
        return self.request("POST", path, body=body, headers=headers)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def fetch(port: int, path: str, *, method: str = "GET", body: bytes | None = None, key: str | None = None,
          headers: Mapping[str, str] | None = None, timeout: float = 60.0) -> tuple[int, bytes]:
    """One request on a connection of its own, with the key: (status, body)."""
    with HttpClient(port, key, timeout=timeout) as client:
        return client.request(method, path, body=body, headers=headers)


# -- the server ---------------------------------------------------------------------------------
def ping_ready(port: int) -> None:
    """A `ready` check for gunicorn_serving: the floor view answers 200 (the API is up, with its
    key check and quota)."""
    with HttpClient(port, timeout=5) as client:
        status, _ = client.get("/api/ping")
        if status != 200:
            raise OSError(f"/api/ping -> {status}")


@contextmanager
def gunicorn_serving(port: int, *, ready: Callable[[int], object], args: Sequence[str] = ("-w", "2"),
                     env: dict[str, str] | None = None, quotas: bool | None = None,
                     api_key: str | None = None) -> Iterator[int]:
    """`gunicorn levelup_api.wsgi -b 127.0.0.1:<port> <args>` from the project root, with `env`
    added to this environment; `ready(port)` is retried (connection errors) until it answers.

    Quotas are counted (`LEVELUP_QUOTAS=on`) unless `quotas=False` or LEVELUP_BENCH_QUOTAS=off; then
    requests to the port carry `api_key` (default: `bench_api_key()` for the server's database)."""
    if port_in_use(port):
        raise SystemExit(f"port {port} is already in use; pick another with --port (0 = any free port)")
    if quotas is None:  # the caller's env may say, as bench/graphql_limits.py's does
        quotas = (env or {}).get("LEVELUP_QUOTAS", "on" if quotas_default() else "off") != "off"
    if quotas:
        _keyed_ports[port] = api_key or bench_api_key(database=database_url(env))
    command = [str(Path(sys.executable).parent / "gunicorn"), "levelup_api.wsgi", "-b", f"127.0.0.1:{port}", *args]
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                  env={**os.environ, **(env or {}), "LEVELUP_QUOTAS": "on" if quotas else "off"})
        try:
            deadline = time.monotonic() + START_TIMEOUT_S
            while True:
                if server.poll() is not None:
                    log.seek(0)
                    raise SystemExit(f"gunicorn exited with {server.returncode}:\n{log.read().decode(errors='replace')}")
                try:
                    ready(port)
                    break
                except (OSError, http.client.HTTPException):
                    if time.monotonic() > deadline:
                        raise SystemExit(f"gunicorn did not answer on 127.0.0.1:{port} within "
                                         f"{START_TIMEOUT_S:g} s") from None
                    time.sleep(0.2)
            yield port
        finally:
            _keyed_ports.pop(port, None)
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()

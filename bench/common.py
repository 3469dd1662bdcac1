"""What every HTTP benchmark here shares: a free loopback port, and a gunicorn serving the API
that is started, waited for and always stopped."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Benchmarks measure the API, not its quotas: neither in-process requests (after django.setup())
# nor the servers started below count against any.
os.environ.setdefault("LEVELUP_QUOTAS", "off")
START_TIMEOUT_S = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_in_use(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def gunicorn_serving(port: int, *, ready: Callable[[int], object], args: Sequence[str] = ("-w", "2"),
                     env: dict[str, str] | None = None) -> Iterator[int]:
    """`gunicorn levelup_api.wsgi -b 127.0.0.1:<port> <args>` from the project root, with `env`
    added to this environment; `ready(port)` is retried (connection errors) until it answers."""
    if port_in_use(port):
        raise SystemExit(f"port {port} is already in use; pick another with --port (0 = any free port)")
    command = [str(Path(sys.executable).parent / "gunicorn"), "levelup_api.wsgi", "-b", f"127.0.0.1:{port}", *args]
    with tempfile.TemporaryFile() as log:
        # Benchmarks measure the API, not its quotas: the server they start has none.
        server = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                  env={**os.environ, "LEVELUP_QUOTAS": "off", **(env or {})})
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
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()

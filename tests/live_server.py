"""A real gunicorn serving the API on loopback against the test database, for the tests that must
go over HTTP as a client would (schemathesis, the contract checks): started once per session after
the national load, always stopped. Quotas are off in it (the fuzzer sends thousands of requests);
tests/core/test_quotas_and_caching.py tests the quotas themselves."""

from __future__ import annotations

import contextlib
import http.client
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT_S = 60.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(port: int) -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        conn.request("GET", "/healthz")
        return conn.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False


def database_url() -> str:
    """DATABASE_URL of the test database (for a server started by a test)."""
    from django.db import connection

    settings = connection.settings_dict
    # The test database's name, whether or not this process has switched its connection to it yet
    # (a session whose tests never ask for the database still has its settings on the real one,
    # and a server started then would serve, and a fuzzer write to, the development database).
    name = settings["NAME"]
    test_name = connection.creation._get_test_db_name()
    if name != test_name and not name.startswith("test_"):
        name = test_name
    return f"postgis://{settings['USER'] or 'postgres'}@{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}/{name}"


@contextlib.contextmanager
def gunicorn(**env: str):
    """A gunicorn (2 workers x 4 threads, as the README serves it) on the test database with the
    base settings and `env` on top; yields its base URL and stops it after."""
    port = _free_port()
    command = [str(Path(sys.executable).parent / "gunicorn"), "levelup_api.wsgi", "-b", f"127.0.0.1:{port}",
               "--workers", "2", "--threads", "4", "--worker-class", "gthread", "--limit-request-line", "8190"]
    from django.conf import settings

    # The bulk files are the test settings' (tests/indicators/bulk_helpers.py writes them there), never the checkout's.
    env = {**os.environ, "DATABASE_URL": database_url(), "DJANGO_SETTINGS_MODULE": "levelup_api.settings.base",
           "LEVELUP_QUOTAS": "off", "LOG_REQUESTS": "off", "DEBUG": "0",
           "LEVELUP_BULK_DIR": str(settings.LEVELUP["BULK_DIR"]), "LEVELUP_BULK_ON_LOAD": "off", **env}
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            deadline = time.monotonic() + START_TIMEOUT_S
            while not _answers(port):
                if server.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    pytest.fail(f"gunicorn did not start: {log.read().decode(errors='replace')[-3000:]}")
                time.sleep(0.2)
            yield f"http://127.0.0.1:{port}"
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


@pytest.fixture(scope="session")
def live_api(django_db_setup, django_db_blocker) -> str:
    """The base URL of a gunicorn on the test database, for the whole session (quotas off)."""
    with gunicorn() as url:
        yield url

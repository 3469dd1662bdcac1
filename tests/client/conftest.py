"""Fixtures for the client's tests (clients/python, levelup-client): a client on the session's live
gunicorn (tests/live_server.py) with a cache directory of its own, a second gunicorn with a tiny
quota for the 429 tests, and a tap recording what each request sent and got on the wire."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import httpx
import pytest
from levelup_client import Client, Retry

from tests.live_server import gunicorn

# The anonymous quota of the second server: small enough that a few quick requests pass it, with a
# window short enough (Retry-After: 1) that the tests really wait for it.
TINY_QUOTA = "2/s"


class Tap(httpx.BaseTransport):
    """The network under a client's cache: each request as it was sent (with the If-None-Match the
    cache added) and the status that came back, so a revalidation shows as the 304 it was."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.requests: list[httpx.Request] = []
        self.responses: list[httpx.Response] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        # a copy: the cache puts the request's own headers back once it is sent
        self.requests.append(httpx.Request(request.method, request.url, headers=request.headers.copy()))
        response = self.inner.handle_request(request)
        self.responses.append(response)
        return response

    def close(self) -> None:
        self.inner.close()

    @property
    def statuses(self) -> list[int]:
        return [r.status_code for r in self.responses]


class AsyncTap(httpx.AsyncBaseTransport):
    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.requests: list[httpx.Request] = []
        self.responses: list[httpx.Response] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(httpx.Request(request.method, request.url, headers=request.headers.copy()))
        response = await self.inner.handle_async_request(request)
        self.responses.append(response)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()

    @property
    def statuses(self) -> list[int]:
        return [r.status_code for r in self.responses]


def tapped(base_url: str, **kwargs) -> tuple[Client, Tap]:
    """A client whose requests are recorded as they go out."""
    tap = Tap()
    return Client(base_url, transport=tap, **kwargs), tap


@dataclass
class Sleeps:
    """A Retry's sleep that records what it was asked to wait and waits for real (at most `cap`)."""

    asked: list[float] = field(default_factory=list)
    cap: float = 5.0

    def __call__(self, seconds: float) -> None:
        import time

        self.asked.append(seconds)
        time.sleep(min(seconds, self.cap))


@pytest.fixture
def tap() -> Tap:
    return Tap()


@pytest.fixture
def client(live_api, tmp_path, tap):
    """A client on the live server, with a cache directory of its own and its requests in `tap`."""
    with Client(live_api, cache_dir=tmp_path / "cache", transport=tap) as api:
        yield api


@pytest.fixture(scope="module")
def quota_api(django_db_setup, django_db_blocker):
    """A gunicorn on the test database with quotas on: anonymous clients get TINY_QUOTA, counted
    one request at a time, in Redis under a prefix of its own (nothing shared with other servers)."""
    with gunicorn(
        LEVELUP_QUOTAS="on",
        LEVELUP_ANON_RATE=TINY_QUOTA,
        LEVELUP_QUOTA_LEASE="1",
        LEVELUP_REDIS_PREFIX=f"levelup:test-client:{uuid.uuid4().hex[:12]}:",
    ) as url:
        yield url


def no_wait_retry(**kwargs) -> tuple[Retry, list[float]]:
    """A Retry whose sleeps (sync or async) are recorded, not waited for, and whose jitter is nil."""
    asked: list[float] = []

    async def async_sleep(seconds: float) -> None:
        asked.append(seconds)

    return Retry(sleep=asked.append, async_sleep=async_sleep, random=lambda: 0.0, **kwargs), asked

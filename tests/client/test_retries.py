"""Retries: 429 and 503 are retried after the server's Retry-After (seconds or an HTTP date), other
failures after an exponential backoff with jitter, within a cap; connection errors, 502 and 504 only
for GETs. First against a scripted transport (every wait measured, none waited for), then against a
real gunicorn with a tiny quota, whose 429 the client waits out and then succeeds."""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils

import httpx
import pytest
from levelup_client import (
    AsyncClient,
    Client,
    ConnectionFailed,
    RateLimited,
    Retry,
    ServerError,
    parse_retry_after,
)

from tests.client.conftest import Sleeps, no_wait_retry, tapped

BASE = "http://api.test"
AREA = {"code": "E06000009", "name": "Blackpool", "type": "LAD", "status": "live"}


def scripted(*answers):
    """A transport answering each request with the next of `answers` (a response, or an exception
    to raise), and the requests it got."""
    seen: list[httpx.Request] = []
    queue = list(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = queue.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return httpx.MockTransport(handler), seen


def too_many(retry_after: str | None) -> httpx.Response:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return httpx.Response(
        429, headers=headers, json={"status": 429, "error": "too_many_requests", "message": "Request was throttled."}
    )


def test_retry_after_in_seconds_is_waited_for_then_the_call_succeeds():
    retry, asked = no_wait_retry()
    transport, seen = scripted(too_many("7"), httpx.Response(200, json=AREA))
    with Client(BASE, transport=transport, retry=retry, cache=False) as api:
        assert api.area("E06000009").name == "Blackpool"
    assert asked == [7.0]
    assert len(seen) == 2
    assert api.stats["429"] == 1 and api.stats["200"] == 1 and api.stats["retries"] == 1


def test_retry_after_as_an_http_date():
    when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30)
    retry, asked = no_wait_retry()
    transport, _ = scripted(too_many(email.utils.format_datetime(when, usegmt=True)), httpx.Response(200, json=AREA))
    with Client(BASE, transport=transport, retry=retry, cache=False) as api:
        api.area("E06000009")
    [wait] = asked
    assert 27 <= wait <= 30  # the date has a one-second resolution, and time passes


def test_parse_retry_after():
    now = dt.datetime(2026, 12, 1, 12, 0, 0, tzinfo=dt.UTC)
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(" 0 ") == 0.0
    assert parse_retry_after("-5") == 0.0
    assert parse_retry_after("Tue, 01 Dec 2026 12:01:30 GMT", now=now) == 90.0
    assert parse_retry_after("Tue, 01 Dec 2026 11:00:00 GMT", now=now) == 0.0  # already past
    assert parse_retry_after("soon") is None and parse_retry_after("") is None and parse_retry_after(None) is None
    assert parse_retry_after("nan") is None


def test_jitter_adds_at_most_a_tenth_and_at_most_a_second():
    retry = Retry(random=lambda: 1.0)
    assert retry.delay(1, 5.0) == 5.5
    assert retry.delay(1, 60.0) == 61.0
    assert retry.delay(1, 0.0) == 0.0


def test_without_retry_after_the_backoff_doubles_with_jitter_and_is_capped():
    low, high = (
        Retry(random=lambda: 0.0, backoff=0.5, max_backoff=4),
        Retry(random=lambda: 1.0, backoff=0.5, max_backoff=4),
    )
    assert [low.backoff_delay(n) for n in range(1, 6)] == [0.25, 0.5, 1.0, 2.0, 2.0]
    assert [high.backoff_delay(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    retry, asked = no_wait_retry(backoff=0.5)
    transport, _ = scripted(httpx.Response(503), httpx.Response(503), httpx.Response(200, json=AREA))
    with Client(BASE, transport=transport, retry=retry, cache=False) as api:
        api.area("E06000009")
    assert asked == [0.25, 0.5]


def test_a_retry_after_beyond_the_cap_is_not_waited_for():
    retry, asked = no_wait_retry(max_retry_after=120)
    transport, seen = scripted(too_many("3600"))
    with Client(BASE, transport=transport, retry=retry, cache=False) as api, pytest.raises(RateLimited) as caught:
        api.area("E06000009")
    assert asked == [] and len(seen) == 1
    assert caught.value.retry_after == 3600.0 and caught.value.status == 429
    assert caught.value.error == "too_many_requests"


def test_the_attempts_run_out():
    retry, asked = no_wait_retry(attempts=3)
    transport, seen = scripted(too_many("1"), too_many("1"), too_many("1"))
    with Client(BASE, transport=transport, retry=retry, cache=False) as api, pytest.raises(RateLimited):
        api.area("E06000009")
    assert len(seen) == 3 and asked == [1.0, 1.0]


def test_connection_errors_502_and_504_are_retried_for_gets_only():
    retry, asked = no_wait_retry()
    transport, seen = scripted(
        httpx.ConnectError("refused"), httpx.Response(502), httpx.Response(504), httpx.Response(200, json=AREA)
    )
    with Client(BASE, transport=transport, retry=retry, cache=False) as api:
        assert api.area("E06000009").code == "E06000009"
    assert len(seen) == 4 and len(asked) == 3

    retry, asked = no_wait_retry()
    transport, seen = scripted(httpx.ConnectError("refused"))
    with Client(BASE, transport=transport, retry=retry, cache=False) as api, pytest.raises(ConnectionFailed):
        api.create_custom_area("Town centre", token="t", codes=["E01005061"])
    assert len(seen) == 1 and asked == []

    retry, asked = no_wait_retry()
    transport, seen = scripted(httpx.Response(502))
    with Client(BASE, transport=transport, retry=retry, cache=False) as api, pytest.raises(ServerError):
        api.create_custom_area("Town centre", token="t", codes=["E01005061"])
    assert len(seen) == 1 and asked == []

    # 503 says the request was not served: safe to repeat for a POST too
    retry, asked = no_wait_retry()
    transport, seen = scripted(httpx.Response(503, headers={"Retry-After": "2"}), httpx.Response(201, json={"id": "x"}))
    with Client(BASE, transport=transport, retry=retry, cache=False) as api:
        assert api.create_custom_area("Town centre", token="t", codes=["E01005061"]) == {"id": "x"}
    assert asked == [2.0] and seen[1].headers["Authorization"] == "Token t"


def test_the_async_client_waits_the_same_way():
    retry, asked = no_wait_retry()
    transport, seen = scripted(too_many("3"), httpx.Response(503), httpx.Response(200, json=AREA))

    async def pull():
        async with AsyncClient(BASE, transport=transport, retry=retry, cache=False) as api:
            return await api.area("E06000009")

    assert asyncio.run(pull()).name == "Blackpool"
    assert asked == [3.0, 0.5] and len(seen) == 3  # the second retry: half of 2 x 0.5 s, without jitter


def test_tls_verification_cannot_be_turned_off():
    with pytest.raises(ValueError, match="TLS verification cannot be turned off"):
        Client("https://api.test", verify=False)


# -- a real 429 -------------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_a_real_429_is_retried_after_retry_after_and_the_call_succeeds(quota_api, tmp_path):
    """Past a 2-a-second quota the server answers 429 with Retry-After: 1; the client waits that
    long (measured) and its call then succeeds."""
    sleeps = Sleeps()
    api, sent = tapped(quota_api, cache=False, retry=Retry(sleep=sleeps))
    names = []
    with api:
        for _ in range(20):  # quick calls until one goes past the quota (the third, unless the machine crawls)
            names.append(api.area("E06000009").name)
            if sleeps.asked:
                break
    assert names == ["Blackpool"] * len(names)
    refused = [r for r in sent.responses if r.status_code == 429]
    assert refused, f"no 429 in {sent.statuses}"
    assert len(sleeps.asked) == len(refused) and sent.statuses[-1] == 200  # each 429 waited out, then a 200
    for response, asked in zip(refused, sleeps.asked, strict=True):
        retry_after = float(response.headers["Retry-After"])
        assert retry_after >= 1
        assert retry_after <= asked <= retry_after * 1.1  # the server's figure, plus at most 10% jitter
        assert response.headers["X-RateLimit-Remaining"] == "0"
    assert sent.statuses.count(200) == len(names)


@pytest.mark.django_db
def test_a_revalidation_costs_no_quota(quota_api, tmp_path):
    """Over the quota, a response the client holds is still confirmed with a 304: the server answers
    a matching If-None-Match before counting."""
    api, sent = tapped(quota_api, cache_dir=tmp_path, retry=Retry(attempts=1))
    with api:
        first = api.area("E06000009")
        with pytest.raises(RateLimited) as caught:
            for n in range(1, 11):  # each a new URL: nothing held, so each is counted
                api.area(f"E0800000{n}" if n < 10 else "E08000010")
        assert caught.value.retry_after is not None and caught.value.retry_after >= 1
        again = api.area("E06000009")
    assert again == first
    assert sent.statuses[-1] == 304

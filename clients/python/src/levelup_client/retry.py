"""When to retry a request and how long to wait: exponential backoff with jitter, and the server's
`Retry-After` (seconds or an HTTP date) when it sends one, within a cap."""

from __future__ import annotations

import datetime as dt
import email.utils
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import anyio

# The server refused or could not serve, and did nothing: safe to repeat for any method.
RETRY_ALWAYS = frozenset({429, 503})
# A proxy or gateway failed: the request may or may not have reached the API, so only a GET (which
# changes nothing) is repeated.
RETRY_IDEMPOTENT = frozenset({502, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def parse_retry_after(value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After value: delay-seconds or an HTTP date (RFC 9110 10.2.3);
    None when absent or unreadable, never negative."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if seconds == seconds and seconds != float("inf") else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # an HTTP date is always GMT
        when = when.replace(tzinfo=dt.UTC)
    now = now or dt.datetime.now(dt.UTC)
    return max(0.0, (when - now).total_seconds())


@dataclass(frozen=True)
class Retry:
    """How a client retries. `attempts` counts every try, the first included (1 = never retry).

    Without Retry-After, the n-th retry waits between half and all of
    min(max_backoff, backoff * 2 ** (n - 1)) seconds ("equal jitter": never nothing, and clients
    that failed together do not come back together). With Retry-After, it waits that long plus up
    to 10% (at most a second) of jitter; a Retry-After over `max_retry_after` is not waited for:
    RateLimited (or ServerError) is raised at once with the server's figure.

    `sleep` and `async_sleep` are what waits (swap them to record or shorten waits in tests)."""

    attempts: int = 5
    backoff: float = 0.5
    max_backoff: float = 30.0
    max_retry_after: float = 120.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    async_sleep: Callable[[float], Awaitable[None]] = field(default=anyio.sleep, repr=False)
    random: Callable[[], float] = field(default=random.random, repr=False)

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if self.backoff < 0 or self.max_backoff < 0 or self.max_retry_after < 0:
            raise ValueError("backoff, max_backoff and max_retry_after must not be negative")

    def retries_status(self, method: str, status: int) -> bool:
        return status in RETRY_ALWAYS or (status in RETRY_IDEMPOTENT and method.upper() in IDEMPOTENT_METHODS)

    def retries_connection_error(self, method: str) -> bool:
        return method.upper() in IDEMPOTENT_METHODS

    def backoff_delay(self, retry: int) -> float:
        """The wait before the `retry`-th retry (1-based) when the server said nothing."""
        ceiling = min(self.max_backoff, self.backoff * 2 ** (retry - 1))
        return ceiling / 2 + self.random() * ceiling / 2

    def delay(self, retry: int, retry_after: float | None) -> float | None:
        """The wait before the `retry`-th retry, or None when it should not be waited for (the server
        asks for longer than max_retry_after)."""
        if retry_after is None:
            return self.backoff_delay(retry)
        if retry_after > self.max_retry_after:
            return None
        return retry_after + self.random() * min(1.0, retry_after / 10)


NO_RETRY = Retry(attempts=1)

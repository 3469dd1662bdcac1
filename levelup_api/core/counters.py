"""Quota counters: a sliding window of request times per client. In Redis (LEVELUP["REDIS_URL"],
redis:// or rediss://) they are shared by every process and machine, one round trip per request (a
Lua script, atomic in Redis); with `locmem://` each process keeps its own, which is right only for a
single-process deployment. When Redis does not answer, requests are counted in the process for a
few seconds and Redis is tried again: the quota is then per process, never a 500 (a warning is
logged once per outage)."""

from __future__ import annotations

import collections
import itertools
import logging
import secrets
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

log = logging.getLogger(__name__)

# Redis is local or near: a reply takes well under a millisecond. These bound what a Redis that
# has gone away costs a request before it is counted in the process instead.
TIMEOUT_SECONDS = 0.25
RETRY_SECONDS = 5.0


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    remaining: int
    reset: float  # seconds until the oldest request counted leaves the window (the window when none is)


class LocalCounter:
    """Per process. The same arithmetic as the Redis script, and as DRF's SimpleRateThrottle, which
    counted before: the requests of the last `window` seconds, a refused one not counted."""

    MAX_CLIENTS = 100_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[float, collections.deque]] = {}

    def hit(self, key: str, limit: int, window: float) -> Verdict:
        now = time.monotonic()
        with self._lock:
            if key not in self._windows and len(self._windows) >= self.MAX_CLIENTS:
                self._forget_idle(now)
                if len(self._windows) >= self.MAX_CLIENTS:  # all busy: start afresh rather than grow
                    self._windows.clear()
            entry = self._windows.get(key)
            times = entry[1] if entry is not None else collections.deque()
            self._windows[key] = (window, times)
            while times and times[0] <= now - window:
                times.popleft()
            allowed = len(times) < limit
            if allowed:
                times.append(now)
            reset = times[0] + window - now if times else window
            return Verdict(allowed, max(0, limit - len(times)), reset)

    def _forget_idle(self, now: float) -> None:
        idle = [k for k, (window, times) in self._windows.items() if not times or times[-1] <= now - window]
        for k in idle:
            del self._windows[k]

    def clear(self) -> None:
        with self._lock:
            self._windows.clear()


# KEYS[1] the client's window (a sorted set of request times in microseconds, by Redis's clock, so
# every process agrees); ARGV: the limit, the window in microseconds, a member unique to this
# request. Returns whether it is allowed, what remains, and microseconds until the window's oldest
# request leaves it.
_SLIDING_WINDOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
local allowed = 0
if count < limit then
    redis.call('ZADD', KEYS[1], now, ARGV[3])
    count = count + 1
    allowed = 1
end
redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000))
local reset = window
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if oldest[2] then
    reset = tonumber(oldest[2]) + window - now
end
return {allowed, math.max(0, limit - count), reset}
"""


class RedisCounter:
    def __init__(self, url: str, prefix: str) -> None:
        import redis

        self.prefix, self.where = prefix, _where(url)
        self.client = redis.Redis.from_url(url, socket_timeout=TIMEOUT_SECONDS,
                                           socket_connect_timeout=TIMEOUT_SECONDS)
        self._script = self.client.register_script(_SLIDING_WINDOW)
        self._errors = redis.RedisError
        self._fallback = LocalCounter()
        self._down_until = 0.0
        self._members = itertools.count()
        self._process = secrets.token_hex(4)

    def hit(self, key: str, limit: int, window: float) -> Verdict:
        if time.monotonic() < self._down_until:
            return self._fallback.hit(key, limit, window)
        member = f"{self._process}:{next(self._members)}"
        try:
            allowed, remaining, reset = self._script(keys=[self.prefix + key],
                                                     args=[limit, int(window * 1_000_000), member])
        except self._errors as exc:
            if not self._down_until:
                log.warning("quota counters: Redis at %s does not answer (%s); counting in this process until it "
                            "does (retried every %g s)", self.where, type(exc).__name__, RETRY_SECONDS)
            self._down_until = time.monotonic() + RETRY_SECONDS
            return self._fallback.hit(key, limit, window)
        if self._down_until:
            log.warning("quota counters: Redis at %s answers again", self.where)
            self._down_until = 0.0
            self._fallback.clear()
        return Verdict(bool(allowed), int(remaining), int(reset) / 1_000_000)

    def clear(self) -> None:
        """Forget every counter under this prefix (tests)."""
        self._fallback.clear()
        pattern = "".join(f"\\{c}" if c in "*?[]\\" else c for c in self.prefix) + "*"
        keys = list(self.client.scan_iter(match=pattern, count=1000))
        if keys:
            self.client.delete(*keys)


def _where(url: str) -> str:
    """host:port/db of a Redis URL, without any password, for messages."""
    parts = urlsplit(url)
    return f"{parts.hostname or 'localhost'}:{parts.port or 6379}{parts.path or ''}"


_lock = threading.Lock()
_counters: dict[tuple[str, str], LocalCounter | RedisCounter] = {}


def counter() -> LocalCounter | RedisCounter:
    """The counters for the configured REDIS_URL and prefix (made once per process)."""
    url, prefix = settings.LEVELUP["REDIS_URL"], settings.LEVELUP["REDIS_PREFIX"]
    found = _counters.get((url, prefix))
    if found is None:
        with _lock:
            found = _counters.get((url, prefix))
            if found is None:
                scheme = urlsplit(url).scheme
                if scheme == "locmem":
                    found = LocalCounter()
                elif scheme in ("redis", "rediss", "unix"):
                    found = RedisCounter(url, prefix)
                else:
                    raise ImproperlyConfigured(f"REDIS_URL must be redis://, rediss://, unix:// or locmem://, "
                                               f"not {scheme}://")
                _counters[(url, prefix)] = found
    return found

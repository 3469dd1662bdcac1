"""Quota counters: a sliding window of request times per client. In Redis (LEVELUP["REDIS_URL"],
redis:// or rediss://) they are shared by every process and machine (a Lua script, atomic in
Redis); with `locmem://` each process keeps its own, which is right only for a single-process
deployment. When Redis does not answer, requests are counted in the process for a few seconds and
Redis is tried again: the quota is then per process, never a 500 (a warning is logged once per
outage).

Leases: a process does not go to Redis for every request of a busy client. One round trip counts
up to LEVELUP["QUOTA_LEASE"] requests in the window at once (at most a quarter of what the window
has left, so near the limit every request is counted on its own and the 429 comes at exactly the
limit), and the process spends them locally for at most LEASE_SECONDS; what it has not spent by
then is handed back in its next round trip. A request counted ahead leaves the window up to
LEASE_SECONDS early; a process that stops holds at most one lease per client until the window
forgets it. With QUOTA_LEASE = 1, every request is one round trip, as before."""

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
LEASE_SECONDS = 1.0  # a lease's requests are spent within this, or handed back


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
# every process agrees); ARGV: the limit, the window in microseconds, a member prefix unique to
# this call, how many requests to count at most (the lease), then the members of this process's
# previous lease that it did not spend (handed back). Counts min(lease, a quarter of what is left)
# requests, at least one while any is left. Returns how many it counted, what remains after them,
# and microseconds until the window's oldest request leaves it.
_SLIDING_WINDOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local want = tonumber(ARGV[4])
if #ARGV > 4 then
    redis.call('ZREM', KEYS[1], unpack(ARGV, 5))
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
local granted = 0
if count < limit then
    granted = math.max(1, math.min(want, math.floor((limit - count) / 4)))
    for i = 1, granted do
        redis.call('ZADD', KEYS[1], now, ARGV[3] .. ':' .. i)
    end
    count = count + granted
end
redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000))
local reset = window
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if oldest[2] then
    reset = tonumber(oldest[2]) + window - now
end
return {granted, math.max(0, limit - count), reset}
"""


@dataclass
class _Lease:
    """Requests counted in Redis ahead of use, for one client in this process."""

    members: list[str]  # the unspent ones, by name (handed back when the lease ends)
    remaining: int  # what the window had left after them, plus them: what the client may still make
    reset_at: float  # monotonic time when the window's oldest request leaves it
    until: float  # monotonic time when the lease ends


class RedisCounter:
    def __init__(self, url: str, prefix: str, lease: int = 1) -> None:
        import redis

        self.prefix, self.where, self.lease = prefix, _where(url), max(1, lease)
        self.client = redis.Redis.from_url(url, socket_timeout=TIMEOUT_SECONDS,
                                           socket_connect_timeout=TIMEOUT_SECONDS)
        self._script = self.client.register_script(_SLIDING_WINDOW)
        self._errors = redis.RedisError
        self._fallback = LocalCounter()
        self._down_until = 0.0
        self._calls = itertools.count()
        self._process = secrets.token_hex(4)
        self._leases: dict[str, _Lease] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, limit: int, window: float) -> Verdict:
        now = time.monotonic()
        if now < self._down_until:
            return self._fallback.hit(key, limit, window)
        with self._lock:
            lease = self._leases.get(key)
            if lease is not None and lease.members and now < lease.until:
                lease.members.pop()
                lease.remaining -= 1
                return Verdict(True, lease.remaining, max(0.0, lease.reset_at - now))
            if lease is not None:
                del self._leases[key]
        unspent = lease.members if lease is not None else []
        want = min(self.lease, max(1, limit // 100))
        member = f"{self._process}:{next(self._calls)}"
        try:
            granted, remaining, reset = self._script(keys=[self.prefix + key],
                                                     args=[limit, int(window * 1_000_000), member, want, *unspent])
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
        granted, remaining, reset = int(granted), int(remaining), int(reset) / 1_000_000
        if granted > 1:
            with self._lock:  # this request spends the first; the rest are the lease
                self._leases[key] = _Lease([f"{member}:{i}" for i in range(granted, 1, -1)],
                                           remaining + granted - 1, now + reset, now + LEASE_SECONDS)
        return Verdict(granted > 0, remaining + granted - 1 if granted else remaining, reset)

    def clear(self) -> None:
        """Forget every counter under this prefix (tests)."""
        self._fallback.clear()
        with self._lock:
            self._leases.clear()
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
                    found = RedisCounter(url, prefix, lease=settings.LEVELUP["QUOTA_LEASE"])
                else:
                    raise ImproperlyConfigured(f"REDIS_URL must be redis://, rediss://, unix:// or locmem://, "
                                               f"not {scheme}://")
                _counters[(url, prefix)] = found
    return found

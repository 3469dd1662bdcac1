"""One HTTP session per client: an httpx connection pool behind hishel's RFC 9111 cache (kept in
SQLite in the cache directory), the retry loop, and one log line per request sent. Sync and async
share everything but the awaits."""

from __future__ import annotations

import collections
import json
import logging
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import hishel
import httpx
from hishel.httpx import AsyncCacheTransport, CacheTransport

from ._version import __version__
from .errors import ConnectionFailed, error_for
from .retry import Retry, parse_retry_after

log = logging.getLogger("levelup_client")

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
USER_AGENT = f"levelup-client/{__version__}"
API_KEY_HEADER = "X-API-Key"  # levelup_api.core.quotas reads HTTP_X_API_KEY
# A request carrying this extension goes past the HTTP cache (bulk files: they are kept by their
# checksum instead, see downloads.py).
NO_CACHE = "levelup_no_cache"
CACHE_FILE = "http-cache.sqlite"


def default_cache_dir() -> Path:
    """LEVELUP_CACHE_DIR, else the user's cache directory for this package (platformdirs)."""
    env = os.environ.get("LEVELUP_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("levelup-client", appauthor=False))


def resolve_api_key(api_key: str | None) -> str | None:
    """The key given, else LEVELUP_API_KEY; None (anonymous) when neither is set."""
    key = api_key if api_key is not None else os.environ.get("LEVELUP_API_KEY")
    return (key.strip() or None) if key else None


def encode_params(params: Mapping[str, Any] | None) -> dict[str, str]:
    """Query parameters as the API reads them: lists comma-separated, booleans true/false, dates
    ISO 8601; None means not given."""
    out: dict[str, str] = {}
    for name, value in (params or {}).items():
        if value is None:
            continue
        if isinstance(value, bool):
            out[name] = "true" if value else "false"
        elif isinstance(value, list | tuple | set | frozenset):
            items = sorted(value) if isinstance(value, set | frozenset) else value
            out[name] = ",".join(str(v) for v in items)
        elif hasattr(value, "isoformat"):
            out[name] = value.isoformat()
        else:
            out[name] = str(value)
    return out


def wire_status(response: httpx.Response) -> str:
    """What crossed the network for this response: its status, `304` when a stored response was
    revalidated, or `cache` when the cache answered without asking (a fresh entry)."""
    caching = response.extensions.get("caching")
    if caching and caching.get("from_cache"):
        return "304" if caching.get("revalidated") else "cache"
    return str(response.status_code)


def _describe(response: httpx.Response) -> str:
    caching = response.extensions.get("caching")
    if caching and caching.get("from_cache"):
        if caching.get("revalidated"):
            return "304 Not Modified (revalidated: body from the cache)"
        return f"{response.status_code} from the cache (fresh: no request sent)"
    status = f"{response.status_code} {response.reason_phrase}".strip()
    if caching and caching.get("stored"):
        status += " (stored in the cache)"
    return status


class _Router(httpx.BaseTransport):
    """Every request through the cache, except those that ask to go past it; one pool for both."""

    def __init__(self, network: httpx.BaseTransport, cache: httpx.BaseTransport | None) -> None:
        self.network, self.cache = network, cache

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.cache is None or request.extensions.get(NO_CACHE):
            return self.network.handle_request(request)
        return self.cache.handle_request(request)

    def close(self) -> None:
        (self.cache or self.network).close()  # the cache transport closes the network one too


class _AsyncRouter(httpx.AsyncBaseTransport):
    def __init__(self, network: httpx.AsyncBaseTransport, cache: httpx.AsyncBaseTransport | None) -> None:
        self.network, self.cache = network, cache

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.cache is None or request.extensions.get(NO_CACHE):
            return await self.network.handle_async_request(request)
        return await self.cache.handle_async_request(request)

    async def aclose(self) -> None:
        await (self.cache or self.network).aclose()


class _Base:
    """What both sessions hold: the base URL, headers, retry policy, cache settings and counters."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None,
        timeout: float | httpx.Timeout,
        cache: bool,
        cache_dir: str | os.PathLike | None,
        revalidate: bool,
        retry: Retry | None,
        verify: Any,
        user_agent: str | None,
    ) -> None:
        if verify is False:
            # Never: a client that turns certificate checks off on an SSL error (as some do) hands
            # the data, and the key, to whoever is in the middle. Give a CA bundle instead.
            raise ValueError("TLS verification cannot be turned off; pass verify=<CA bundle path or SSLContext>")
        split = urlsplit(base_url)
        if split.scheme not in ("http", "https") or not split.netloc:
            raise ValueError(f"base_url must be an http(s) URL, got {base_url!r}")
        self.base_url = base_url.rstrip("/") + "/"
        self.api_key = resolve_api_key(api_key)
        self.timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self.cache_enabled = bool(cache)
        self.cache_dir = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
        self.revalidate = revalidate
        self.retry = retry or Retry()
        self.verify = True if verify is None else verify
        self.headers = {"User-Agent": user_agent or USER_AGENT}
        if self.api_key:
            self.headers[API_KEY_HEADER] = self.api_key
        # What crossed the network, by status ("200", "304", "429" ...; "cache": answered from a
        # fresh entry without a request), and how many retries were made.
        self.stats: collections.Counter[str] = collections.Counter()

    def url(self, path_or_url: str) -> str:
        """An absolute URL on this API: a path is joined to the base URL. A `next` link the server
        built for another origin (a proxy's) is rebased onto ours, so the API key never leaves it."""
        if "://" not in path_or_url:
            return urljoin(self.base_url, path_or_url.lstrip("/"))
        base, target = urlsplit(self.base_url), urlsplit(path_or_url)
        if (target.scheme, target.netloc) == (base.scheme, base.netloc):
            return path_or_url
        rebased = target._replace(scheme=base.scheme, netloc=base.netloc)
        return rebased.geturl()

    def request_headers(self, headers: Mapping[str, str] | None) -> dict[str, str]:
        out = dict(headers or {})
        if self.cache_enabled and self.revalidate:
            # Use a stored response only once the server has confirmed it (a 304: no quota, no
            # query), rather than for the server's max-age: a pull is never older than the data.
            out.setdefault("Cache-Control", "no-cache")
        return out

    def storage_path(self) -> Path:
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        return self.cache_dir / CACHE_FILE

    def record(self, request: httpx.Request, response: httpx.Response, started: float, attempt: int) -> None:
        self.stats[wire_status(response)] += 1
        retry = f" (retry {attempt - 1})" if attempt > 1 else ""
        log.info(
            "%s %s -> %s in %.3fs%s",
            request.method,
            request.url,
            _describe(response),
            time.perf_counter() - started,
            retry,
        )

    def failure(self, response: httpx.Response, content: bytes) -> Exception:
        body: Any = None
        if "json" in response.headers.get("Content-Type", ""):
            try:
                body = json.loads(content)
            except ValueError:
                body = None
        message = body.get("message") if isinstance(body, dict) else None
        return error_for(
            response.status_code,
            message or response.reason_phrase or "error",
            url=str(response.url),
            body=body,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )

    def retry_delay(self, method: str, response: httpx.Response, attempt: int) -> float | None:
        """Seconds to wait before trying again, or None to give up now."""
        if attempt >= self.retry.attempts or not self.retry.retries_status(method, response.status_code):
            return None
        return self.retry.delay(attempt, parse_retry_after(response.headers.get("Retry-After")))

    def connection_delay(self, method: str, exc: Exception, attempt: int) -> float | None:
        if attempt >= self.retry.attempts or not self.retry.retries_connection_error(method):
            return None
        return self.retry.backoff_delay(attempt)


class SyncSession(_Base):
    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        api_key: str | None = None,
        timeout: float | httpx.Timeout = 60.0,
        cache: bool = True,
        cache_dir: str | os.PathLike | None = None,
        revalidate: bool = True,
        retry: Retry | None = None,
        verify: Any = None,
        user_agent: str | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(
            base_url,
            api_key=api_key,
            timeout=timeout,
            cache=cache,
            cache_dir=cache_dir,
            revalidate=revalidate,
            retry=retry,
            verify=verify,
            user_agent=user_agent,
        )
        network = transport or httpx.HTTPTransport(verify=self.verify)
        cached = None
        if self.cache_enabled:
            storage = hishel.SqliteStorage(database_path=self.storage_path())
            cached = CacheTransport(next_transport=network, storage=storage, rfc=hishel.CacheOptions(shared=False))
        self.http = httpx.Client(
            transport=_Router(network, cached), headers=self.headers, timeout=self.timeout, follow_redirects=True
        )

    def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        stream: bool = False,
        cache: bool = True,
    ) -> httpx.Response:
        """One request with retries; a response with an error status is raised as ApiError. With
        `stream`, the caller reads and closes the response."""
        url = self.url(path)
        encoded = encode_params(params)
        attempt = 0
        while True:
            attempt += 1
            request = self.http.build_request(
                method,
                url,
                params=encoded or None,
                json=json,
                headers=self.request_headers(headers),
                extensions={} if cache else {NO_CACHE: True},
            )
            started = time.perf_counter()
            try:
                response = self.http.send(request, stream=stream)
            except httpx.TransportError as exc:
                delay = self.connection_delay(method, exc, attempt)
                if delay is None:
                    raise ConnectionFailed(f"{method} {url}: {exc!r}") from exc
                log.info("%s %s failed (%s); retrying in %.2fs", method, url, exc.__class__.__name__, delay)
                self.stats["retries"] += 1
                self.retry.sleep(delay)
                continue
            self.record(request, response, started, attempt)
            if response.status_code < 400:
                return response
            content = response.read()
            response.close()
            delay = self.retry_delay(method, response, attempt)
            if delay is None:
                raise self.failure(response, content)
            log.info("%s %s: %s; retrying in %.2fs", method, url, response.status_code, delay)
            self.stats["retries"] += 1
            self.retry.sleep(delay)

    def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        response = self.send("GET", path, params=params)
        return response.json()

    def close(self) -> None:
        self.http.close()


class AsyncSession(_Base):
    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        api_key: str | None = None,
        timeout: float | httpx.Timeout = 60.0,
        cache: bool = True,
        cache_dir: str | os.PathLike | None = None,
        revalidate: bool = True,
        retry: Retry | None = None,
        verify: Any = None,
        user_agent: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(
            base_url,
            api_key=api_key,
            timeout=timeout,
            cache=cache,
            cache_dir=cache_dir,
            revalidate=revalidate,
            retry=retry,
            verify=verify,
            user_agent=user_agent,
        )
        network = transport or httpx.AsyncHTTPTransport(verify=self.verify)
        cached = None
        if self.cache_enabled:
            storage = hishel.AsyncSqliteStorage(database_path=self.storage_path())
            cached = AsyncCacheTransport(next_transport=network, storage=storage, rfc=hishel.CacheOptions(shared=False))
        self.http = httpx.AsyncClient(
            transport=_AsyncRouter(network, cached), headers=self.headers, timeout=self.timeout, follow_redirects=True
        )

    async def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        stream: bool = False,
        cache: bool = True,
    ) -> httpx.Response:
        url = self.url(path)
        encoded = encode_params(params)
        attempt = 0
        while True:
            attempt += 1
            request = self.http.build_request(
                method,
                url,
                params=encoded or None,
                json=json,
                headers=self.request_headers(headers),
                extensions={} if cache else {NO_CACHE: True},
            )
            started = time.perf_counter()
            try:
                response = await self.http.send(request, stream=stream)
            except httpx.TransportError as exc:
                delay = self.connection_delay(method, exc, attempt)
                if delay is None:
                    raise ConnectionFailed(f"{method} {url}: {exc!r}") from exc
                log.info("%s %s failed (%s); retrying in %.2fs", method, url, exc.__class__.__name__, delay)
                self.stats["retries"] += 1
                await self.retry.async_sleep(delay)
                continue
            self.record(request, response, started, attempt)
            if response.status_code < 400:
                return response
            content = await response.aread()
            await response.aclose()
            delay = self.retry_delay(method, response, attempt)
            if delay is None:
                raise self.failure(response, content)
            log.info("%s %s: %s; retrying in %.2fs", method, url, response.status_code, delay)
            self.stats["retries"] += 1
            await self.retry.async_sleep(delay)

    async def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        response = await self.send("GET", path, params=params)
        return response.json()

    async def aclose(self) -> None:
        await self.http.aclose()

"""HTTP caching for the read API: every GET answers with an ETag and Last-Modified derived from the
data version (the newest successful load or curator edit; for a custom area's resources, that
area's own stamp as well). A request whose If-None-Match holds the current tag gets a 304 before any
view or quota runs; every other precondition is evaluated as RFC 9110 says, once the view has
shown that the resource exists.

The data version is pushed, not polled: every table it is computed from has a statement trigger
that sends NOTIFY levelup_data_version at commit (migration core 0003), and each process's listener
(levelup_api.core.notify) re-reads it then, so a request costs no statement for it. While the
listener is not connected, a request re-reads it at most every DATA_VERSION_SECONDS, as before."""

from __future__ import annotations

import datetime
import hashlib
import re
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import caches
from django.db import connection
from django.http import HttpResponse, HttpResponseNotModified
from django.utils.cache import get_conditional_response, patch_vary_headers
from django.utils.http import http_date, parse_etags, urlencode
from rest_framework.response import Response

from . import notify
from .compression import MIN_LENGTH, accepts_gzip, gzip_response, gzipped
from .errors import error_response
from .renderers import ORJSONRenderer

# Everything that changes what the API answers: loads, and edits curators make in the admin
# (each of these tables has an index on its date, and a trigger that notifies the listeners:
# migration core 0003 names the same tables). Custom areas are not here: a user creating one
# changes nothing anyone else reads, so it must not invalidate every cache (see _custom_area_stamp).
VERSION_TABLES = ["core_ingestrun", "indicators_historicalindicator", "indicators_historicalrelease",
                  "indicators_historicaldataset", "geographies_historicalarea", "geographies_historicalareachange",
                  "geographies_historicalarealink", "missions_historicalmission", "missions_historicalmetric",
                  "missions_historicaltarget"]
CHANNEL = "levelup_data_version"
_VERSION_SQL = """
    SELECT extract(epoch FROM greatest(
        (SELECT max(finished_at) FROM core_ingestrun WHERE state = 'succeeded' AND NOT dry_run),
        (SELECT max(history_date) FROM indicators_historicalindicator),
        (SELECT max(history_date) FROM indicators_historicalrelease),
        (SELECT max(history_date) FROM indicators_historicaldataset),
        (SELECT max(history_date) FROM geographies_historicalarea),
        (SELECT max(history_date) FROM geographies_historicalareachange),
        (SELECT max(history_date) FROM geographies_historicalarealink),
        (SELECT max(history_date) FROM missions_historicalmission),
        (SELECT max(history_date) FROM missions_historicalmetric),
        (SELECT max(history_date) FROM missions_historicaltarget),
        'epoch'::timestamptz))::float8
"""
_cache: dict[str, float] = {"at": float("-inf"), "version": 0.0}  # "at": when read (monotonic)
# What other apps read with the version, in the same statement, so that it costs no request a
# statement of its own: each a SQL expression and a function given its value and the version
# (indicators' current releases: indicators.current).
VERSION_COMPANIONS: list[tuple[str, Callable[[object, float], None]]] = []


def _version_read(cursor) -> float:
    cursor.execute(_VERSION_SQL + "".join(f", ({expression})" for expression, _ in VERSION_COMPANIONS))
    row = cursor.fetchone()
    _cache["version"], _cache["at"] = row[0], time.monotonic()
    for (_, take), value in zip(VERSION_COMPANIONS, row[1:], strict=True):
        take(value, row[0])
    return _cache["version"]


def _version_pushed(payload: str | None, conn) -> None:
    """The listener's handler: a notification (or a new connection) means read the version again."""
    with conn.cursor() as cursor:
        _version_read(cursor)


notify.subscribe(CHANNEL, _version_pushed)


def data_version() -> float:
    """Seconds since the epoch of the newest change: as pushed to this process, or, while nothing is
    pushed, re-read at most every DATA_VERSION_SECONDS."""
    if notify.listening():
        return _cache["version"]
    if time.monotonic() - _cache["at"] >= settings.LEVELUP["DATA_VERSION_SECONDS"]:
        with connection.cursor() as cursor:
            _version_read(cursor)
    return _cache["version"]


def data_version_known() -> float:
    """The data version as this process last heard it, without re-reading a stale one (the pushed
    version, or the one the last request's conditional check read); read once if never read."""
    if _cache["at"] == float("-inf"):
        return data_version()
    return _cache["version"]


def data_version_refresh() -> float:
    """Re-read the data version now, on this request's connection (so inside a transaction it sees
    that transaction's own writes, which no notification announces before the commit)."""
    with connection.cursor() as cursor:
        return _version_read(cursor)


def data_version_iso() -> str:
    """The data version as an ISO 8601 timestamp (UTC)."""
    return datetime.datetime.fromtimestamp(data_version(), tz=datetime.UTC).isoformat()


def rendered_once(key: str, build: Callable[[], object], request=None, *,
                  content_type: str = ORJSONRenderer.media_type, store: str = "profiles") -> HttpResponse:
    """The JSON document `build()` returns (a document, or JSON bytes already written, say by
    PostgreSQL; or, with another `content_type`, the bytes of that type: a page's HTML), rendered
    once per data version and `key` (say which resource; never the raw query
    string, which a client could vary without end) and kept in this process's profile cache
    (settings.LEVELUP["PROFILE_CACHE"]); later requests get the same bytes without touching the
    database, and from the second request of a `request` that accepts gzip, its gzip, compressed
    once (the first is compressed per request, as any body, by compression.GZipMiddleware: a
    document asked for once costs no slow compression). An error raised by `build()` is never
    cached, nor is a response it returns instead of a body (a page's redirect or 404, an empty
    tile's 204): that is answered as it is. `store` names the cache (settings.CACHES): vector tiles have their own, so that a map's
    hundreds of tiles never push the profiles out."""
    cache = caches[store] if settings.LEVELUP["PROFILE_CACHE"] else None
    versioned = f"kept:{data_version()!r}:{key}" if cache is not None else None
    kept = cache.get(versioned) if cache is not None else None
    if kept is None:
        body = build()
        if isinstance(body, HttpResponse):
            return body
        if not isinstance(body, bytes):
            body = ORJSONRenderer().render(body)
        if cache is not None:
            cache.set(versioned, (body, None))
        return HttpResponse(body, content_type=content_type)
    body, compressed = kept
    response = HttpResponse(body, content_type=content_type)
    if request is None or len(body) < MIN_LENGTH:
        return response
    patch_vary_headers(response, ("Accept-Encoding",))
    if accepts_gzip(request):
        if compressed is None:
            compressed = gzipped(body)
            cache.set(versioned, (body, compressed))
        if len(compressed) < len(body):
            gzip_response(response, compressed)
    return response


def document_once(request, build: Callable[[], object]) -> HttpResponse:
    """rendered_once for a read whose JSON document depends only on its URL (the host too, for the
    links it holds) and its parameters (declared, so already checked: an unknown one is a 400
    before this), not on who asks: the catalogues (area types, vintages, indicators, periods,
    missions), mission progress and an area's document. Any other format than JSON (the browsable
    API) is rendered afresh."""
    renderer = getattr(request, "accepted_renderer", None)
    if renderer is not None and renderer.format != "json":
        return Response(build())
    query = sorted((k, v) for k, values in request.GET.lists() if k != "format" for v in values)
    return rendered_once(f"{request.scheme}://{request.get_host()}{request.path}?{urlencode(query)}", build, request)


# /api/v1/custom-areas/<id>/ and everything below it (Django's uuid converter: lower-case hex).
_CUSTOM_AREA_PATH = re.compile(r"^/api/v1/custom-areas/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/")


def _custom_area_stamp(area_id: str) -> tuple[float, str] | None:
    """When a custom area was made and its name (staff may rename one; its members never change),
    or None when there is no such area. Raw SQL: core sits below the geographies app."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT extract(epoch FROM created_at)::float8, name FROM geographies_customarea WHERE id = %s",
                       [area_id])
        return cursor.fetchone()


def resource_validators(request) -> tuple[str | None, int]:
    """The weak ETag and the Last-Modified (epoch seconds) of the representation a GET would return;
    the tag is None when the resource is known not to exist (an unknown custom area)."""
    version = data_version()
    stamp = ""
    custom = _CUSTOM_AREA_PATH.match(request.path)
    if custom:
        found = _custom_area_stamp(custom.group(1))
        if found is None:
            return None, int(version)
        created, name = found
        version, stamp = max(version, created), f"{created}|{name}"
    vary = "|".join(request.META.get(h, "") for h in ("HTTP_ACCEPT", "HTTP_ACCEPT_ENCODING"))
    digest = hashlib.sha1(f"{version}|{stamp}|{request.get_full_path()}|{vary}".encode()).hexdigest()[:32]
    return f'W/"{digest}"', int(version)


def _weak_match(etag: str, tags: list[str]) -> bool:
    """RFC 9110 weak comparison, the one If-None-Match uses: opaque tags equal, W/ ignored."""
    opaque = etag.removeprefix("W/")
    return any(tag.removeprefix("W/") == opaque for tag in tags)


class ConditionalGetMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (not settings.LEVELUP["HTTP_CACHING"] or request.method not in ("GET", "HEAD")
                or not request.path.startswith("/api/v1/")):
            return self.get_response(request)
        etag, modified = resource_validators(request)
        # A tag the client holds can only come from a 200 for this URL under this data version, so
        # the resource exists: answer before any view, query or quota. `*` proves nothing (it is
        # sent by clients holding nothing), so it waits for the view like every other precondition.
        tags = parse_etags(request.META.get("HTTP_IF_NONE_MATCH", ""))
        if etag is not None and tags and tags != ["*"] and _weak_match(etag, tags):
            response = HttpResponseNotModified()
            self._headers(response, etag, modified)
            return response
        response = self.get_response(request)
        if response.status_code != 200 or etag is None:
            return response  # preconditions apply only to a resource that exists (RFC 9110 13.2.1)
        if response.has_header("ETag"):
            # A resource with validators of its own (a bulk file: the strong ETag of its SHA-256) has
            # answered its preconditions itself.
            return response
        self._headers(response, etag, modified)
        # If-None-Match (`*` or a list), If-Modified-Since, If-Match and If-Unmodified-Since, in
        # RFC 9110's order, by Django's implementation of it.
        answer = get_conditional_response(request, etag=etag, last_modified=modified, response=response)
        if answer.status_code == 412:
            answer = error_response(request, 412, "A precondition (If-Match or If-Unmodified-Since) failed: "
                                                  f"the current ETag is {etag}.")
        return answer

    @staticmethod
    def _headers(response, etag: str, modified: int) -> None:
        response["ETag"] = etag
        response["Last-Modified"] = http_date(modified)
        response["Cache-Control"] = f"public, max-age={settings.LEVELUP['CACHE_MAX_AGE']}"
        patch_vary_headers(response, ("Accept", "Accept-Encoding"))

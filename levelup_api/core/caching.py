"""HTTP caching for the read API: every GET answers with an ETag and Last-Modified derived from the
data version (the newest successful load or curator edit), and a conditional request that
matches gets a 304 before any view or quota runs."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import caches
from django.db import connection
from django.http import HttpResponse, HttpResponseNotModified
from django.utils.http import http_date, parse_http_date_safe
from rest_framework.response import Response

from .renderers import ORJSONRenderer

# Everything that changes what the API answers: loads, and edits curators make in the admin
# (each of these tables has an index on its date).
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
        (SELECT max(created_at) FROM geographies_customarea),
        'epoch'::timestamptz))::float8
"""
_cache: dict[str, float] = {"at": 0.0, "version": 0.0}


def data_version() -> float:
    """Seconds since the epoch of the newest change, re-read at most every few seconds per process."""
    now = time.monotonic()
    if now - _cache["at"] >= settings.LEVELUP["DATA_VERSION_SECONDS"]:
        with connection.cursor() as cursor:
            cursor.execute(_VERSION_SQL)
            _cache["version"] = cursor.fetchone()[0]
        _cache["at"] = now
    return _cache["version"]


def rendered_once(key: str, build: Callable[[], object]) -> HttpResponse:
    """The JSON document `build()` returns, rendered once per data version and `key` (say which
    resource; never the raw query string, which a client could vary without end) and kept in this
    process's profile cache (settings.LEVELUP["PROFILE_CACHE"]); later requests get the same bytes
    without touching the database. An error raised by `build()` is never cached."""
    if not settings.LEVELUP["PROFILE_CACHE"]:
        return Response(build())
    cache = caches["profiles"]
    versioned = f"json:{data_version()!r}:{key}"
    body = cache.get(versioned)
    if body is None:
        body = ORJSONRenderer().render(build())
        cache.set(versioned, body)
    return HttpResponse(body, content_type=ORJSONRenderer.media_type)


class ConditionalGetMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (not settings.LEVELUP["HTTP_CACHING"] or request.method not in ("GET", "HEAD")
                or not request.path.startswith("/api/v1/")):
            return self.get_response(request)
        version = data_version()
        modified = int(version)
        vary = "|".join(request.META.get(h, "") for h in ("HTTP_ACCEPT", "HTTP_ACCEPT_ENCODING"))
        digest = hashlib.sha1(f"{version}|{request.get_full_path()}|{vary}".encode()).hexdigest()[:32]
        etag = f'W/"{digest}"'
        match = request.META.get("HTTP_IF_NONE_MATCH")
        since = parse_http_date_safe(request.META.get("HTTP_IF_MODIFIED_SINCE", ""))
        if (match and (match.strip() == "*" or etag in [t.strip() for t in match.split(",")])) or (
                not match and since is not None and modified <= since):
            response = HttpResponseNotModified()
            self._headers(response, etag, modified)
            return response
        response = self.get_response(request)
        if response.status_code == 200:
            self._headers(response, etag, modified)
        return response

    @staticmethod
    def _headers(response, etag: str, modified: int) -> None:
        response["ETag"] = etag
        response["Last-Modified"] = http_date(modified)
        response["Cache-Control"] = f"public, max-age={settings.LEVELUP['CACHE_MAX_AGE']}"
        response["Vary"] = "Accept, Accept-Encoding"

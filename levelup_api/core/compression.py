"""Response compression. Django's GZipMiddleware compresses every body at level 6, again for every
request: for the JSON documents this API sends (50-100 KB) that was a millisecond of CPU a request,
more than building many of them. Here a body is compressed at LEVELUP["GZIP_LEVEL"] (1 by default:
a quarter of level 6's time, a third larger), and a document the process keeps (caching.
rendered_once) is compressed once, at level 6, and sent as it is. The data is public, so there is
no secret for a compression side channel (BREACH) to find."""

from __future__ import annotations

import gzip

from django.conf import settings
from django.middleware.gzip import GZipMiddleware as DjangoGZipMiddleware
from django.utils.cache import patch_vary_headers
from django.utils.regex_helper import _lazy_re_compile

KEPT_LEVEL = 6  # for a body compressed once and sent many times
MIN_LENGTH = 200  # shorter bodies are sent as they are (as Django does)
_ACCEPTS_GZIP = _lazy_re_compile(r"\bgzip\b")


def accepts_gzip(request) -> bool:
    return bool(_ACCEPTS_GZIP.search(request.META.get("HTTP_ACCEPT_ENCODING", "")))


def gzipped(body: bytes, level: int = KEPT_LEVEL) -> bytes:
    """The gzip member for `body` (no file name, time 0: the same bytes every time)."""
    return gzip.compress(body, compresslevel=level, mtime=0)


def gzip_response(response, body: bytes) -> None:
    """Send `body` (gzip of the response's content) as the response's content."""
    response.content = body
    response.headers["Content-Length"] = str(len(body))
    response.headers["Content-Encoding"] = "gzip"
    if response.has_header("ETag") and not response["ETag"].startswith("W/"):
        response.headers["ETag"] = "W/" + response["ETag"]  # another representation (RFC 9110 8.8.1)


class GZipMiddleware(DjangoGZipMiddleware):
    """Django's, with the level from LEVELUP["GZIP_LEVEL"] for bodies in memory (streamed ones,
    the CSV files, are Django's, at level 6), and a body already compressed, or served in byte
    ranges, left alone."""

    def process_response(self, request, response):
        if response.get("Accept-Ranges") == "bytes":
            # A stored file served in byte ranges (a bulk download: already compressed): its bytes,
            # length, checksum and ranges are the file's, so it is sent as it is.
            return response
        if response.streaming:
            return super().process_response(request, response)
        if len(response.content) < MIN_LENGTH or response.has_header("Content-Encoding"):
            return response
        patch_vary_headers(response, ("Accept-Encoding",))
        if not accepts_gzip(request):
            return response
        compressed = gzipped(response.content, settings.LEVELUP["GZIP_LEVEL"])
        if len(compressed) < len(response.content):
            gzip_response(response, compressed)
        return response

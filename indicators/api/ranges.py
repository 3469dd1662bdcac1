"""Serving a stored file as HTTP does it for a static file (RFC 9110): a strong ETag from its SHA-256,
`Repr-Digest` (RFC 9530), Last-Modified, the conditional requests (304, 412), and one byte range
(206, If-Range, 416), streamed from disk (sendfile under gunicorn), never read whole into memory.

Django has no range support of its own, and the Django packages that add it are unmaintained or serve
only development static files, so this is a small implementation, tested in
tests/indicators/test_datasets_api.py."""

from __future__ import annotations

import base64
import datetime as dt
import re
from pathlib import Path

from django.http import FileResponse, HttpResponse
from django.utils.cache import get_conditional_response
from django.utils.http import http_date, parse_http_date_safe

from levelup_api.core.errors import error_response

# One range: first-last, first- (to the end) or -suffix (the last bytes); ASCII digits only.
_FIRST_LAST = re.compile(r"([0-9]+)-([0-9]*)")
_SUFFIX = re.compile(r"-([0-9]+)")
BLOCK_SIZE = 1 << 20  # bytes per read where the server cannot sendfile (runserver, tests)


class Unsatisfiable(Exception):
    """The range starts past the end of the file: a 416."""


def byte_range(header: str, size: int) -> tuple[int, int] | None:
    """The one range (first, last; inclusive) a Range header asks for in a file of `size` bytes;
    None when the header is to be ignored (another unit, bad syntax, or several ranges: RFC 9110
    14.2 lets a server send the whole file for those); Unsatisfiable when it starts past the end."""
    unit, sep, spec = header.partition("=")
    if not sep or unit.strip().lower() != "bytes":
        return None
    specs = [s.strip() for s in spec.split(",") if s.strip()]
    if len(specs) != 1:
        return None
    if m := _FIRST_LAST.fullmatch(specs[0]):
        first = int(m.group(1))
        last = int(m.group(2)) if m.group(2) else None
        if last is not None and last < first:
            return None  # not a valid range-spec: the header is invalid, and ignored
        if first >= size:
            raise Unsatisfiable
        return first, size - 1 if last is None else min(last, size - 1)
    if m := _SUFFIX.fullmatch(specs[0]):
        length = int(m.group(1))
        if length == 0 or size == 0:
            raise Unsatisfiable
        return max(size - length, 0), size - 1
    return None


def _if_range_holds(value: str, *, etag: str, modified: int) -> bool:
    """If-Range (RFC 9110 13.1.5): the range applies only to the representation the client has. An
    entity tag must match strongly (a weak one never does); a date must be the Last-Modified."""
    value = value.strip()
    if value.startswith(('"', "W/")):
        return value == etag
    return parse_http_date_safe(value) == modified


class _Slice:
    """`length` bytes of an open file from its current position: what Django streams, and, through
    `fileno`, what gunicorn sends with sendfile (from the file's position, Content-Length bytes)."""

    def __init__(self, fh, length: int):
        self.fh, self.remaining = fh, length

    def read(self, size: int = -1) -> bytes:
        if self.remaining <= 0:
            return b""
        data = self.fh.read(self.remaining if size < 0 else min(size, self.remaining))
        self.remaining -= len(data)
        return data

    def fileno(self) -> int:
        return self.fh.fileno()

    def close(self) -> None:
        self.fh.close()


def file_response(
    request,
    *,
    path: Path,
    size: int,
    sha256: str,
    modified: dt.datetime,
    content_type: str,
    filename: str,
    cache_control: str,
) -> HttpResponse:
    """The file at `path` (of `size` bytes, whose SHA-256 is `sha256` in hex) for a GET or HEAD, with
    preconditions evaluated first (RFC 9110 13.2.2), then Range."""
    etag = f'"{sha256}"'
    last_modified = int(modified.timestamp())
    digest = base64.b64encode(bytes.fromhex(sha256)).decode()
    headers = {
        "ETag": etag,
        "Last-Modified": http_date(last_modified),
        "Cache-Control": cache_control,
        "Accept-Ranges": "bytes",
        # RFC 9530: the digest of the whole representation, whichever part of it a response carries;
        # Digest (RFC 3230, which it obsoletes) for the clients that read only that.
        "Repr-Digest": f"sha-256=:{digest}:",
        "Digest": f"SHA-256={digest}",
    }
    base = HttpResponse(content_type=content_type)
    for name, value in headers.items():
        base[name] = value
    answer = get_conditional_response(request, etag=etag, last_modified=last_modified, response=base)
    if answer is not base:
        if answer.status_code == 412:
            return error_response(
                request, 412, f"A precondition (If-Match or If-Unmodified-Since) failed: the file's ETag is {etag}."
            )
        return answer  # 304, with the validators
    span = None
    sent_range = request.META.get("HTTP_RANGE")
    # Only a GET has ranges (RFC 9110 14.2); If-Range for another representation means "send it all".
    if (
        sent_range
        and request.method == "GET"
        and (
            "HTTP_IF_RANGE" not in request.META
            or _if_range_holds(request.META["HTTP_IF_RANGE"], etag=etag, modified=last_modified)
        )
    ):
        try:
            span = byte_range(sent_range, size)
        except Unsatisfiable:
            refused = error_response(
                request,
                416,
                f"The range {sent_range!r} starts past the end of the file ({size:,} bytes).",
                error="range_not_satisfiable",
            )
            refused["Content-Range"] = f"bytes */{size}"
            refused["Accept-Ranges"] = "bytes"
            return refused
    if request.method == "HEAD":
        base["Content-Length"] = str(size)
        base["Content-Disposition"] = f'attachment; filename="{filename}"'
        return base
    fh = open(path, "rb")  # noqa: SIM115 - closed by the response once sent
    if span is None:
        response = FileResponse(fh, content_type=content_type, as_attachment=True, filename=filename)
        response["Content-Length"] = str(size)
    else:
        first, last = span
        fh.seek(first)
        response = FileResponse(
            _Slice(fh, last - first + 1), content_type=content_type, as_attachment=True, filename=filename, status=206
        )
        response["Content-Range"] = f"bytes {first}-{last}/{size}"
        response["Content-Length"] = str(last - first + 1)
    response.block_size = BLOCK_SIZE
    for name, value in headers.items():
        response[name] = value
    return response

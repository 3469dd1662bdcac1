"""Request guards that apply to every endpoint, and the request log."""

import re
import uuid

import orjson
from django.conf import settings

from .errors import body_too_large_message, error_body, error_response

# An incoming X-Request-ID is kept only when it looks like an id (a proxy's or a client's), so that
# a log line can never be broken or forged through it.
_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:=+/-]{0,127}")


def request_id(request) -> str:
    """The id of this request: the caller's X-Request-ID when it is a sane token, else a new one."""
    incoming = request.META.get("HTTP_X_REQUEST_ID", "")
    return incoming if _REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex


class URILengthMiddleware:
    """Refuses a request URI (path and query) longer than LEVELUP["MAX_URI_LENGTH"] with a 414 in
    the error shape. gunicorn refuses request lines past its --limit-request-line with its own plain
    400 before Django sees them, so that limit is set above this one (Makefile, Dockerfile)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = settings.LEVELUP["MAX_URI_LENGTH"]
        length = len(request.get_full_path())
        if length > limit:
            return error_response(request, 414, f"The request URI is {length:,} characters long; at most {limit:,} "
                                                "are accepted. Send fewer values, or split the request.")
        return self.get_response(request)


class BodySizeMiddleware:
    """A request body over DATA_UPLOAD_MAX_MEMORY_SIZE (by its Content-Length, the figure Django
    checks) is a 413 naming the limit before any view reads it: Django itself raises a
    RequestDataTooBig that graphene-django would turn into a bare 400. File uploads (multipart) are
    left to Django, which counts only their non-file fields."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and request.content_type != "multipart/form-data":
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > limit:
                return error_response(request, 413, body_too_large_message())
        return self.get_response(request)


class GraphQLErrorShapeMiddleware:
    """graphene-django answers its HTTP errors (a query that fails validation or parsing, no query,
    a method it does not take) as `{"errors": [...]}`: give them the API's `status`, `error` and
    `message` too, keeping `errors` for GraphQL clients. Results with errors inside a 200 are
    GraphQL's business and left alone."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (request.path_info != "/graphql" or response.status_code < 400 or response.streaming
                or not response.get("Content-Type", "").startswith("application/json")):
            return response
        try:
            body = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            return response
        if isinstance(body, dict) and "status" not in body and isinstance(body.get("errors"), list) and body["errors"]:
            first = body["errors"][0]
            message = first.get("message") if isinstance(first, dict) else first
            response.content = orjson.dumps(error_body(response.status_code, str(message), **body))
            if response.has_header("Content-Length"):
                response["Content-Length"] = str(len(response.content))
        return response


class RejectNulBytesMiddleware:
    """PostgreSQL text cannot hold NUL: refuse such input up front with a 400 naming where it was,
    rather than letting the database raise (a 500) deep inside a query."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        culprit = None
        if "\x00" in request.path:
            culprit = "path"
        else:
            for key, values in request.GET.lists():
                if "\x00" in key or any("\x00" in v for v in values):
                    culprit = key.replace("\x00", "\\x00")
                    break
        if culprit is not None:
            message = "NUL bytes are not allowed in requests"
            body = error_body(400, message, parameter=culprit, errors=[{"parameter": culprit, "message": message}])
            return error_response(request, **body)
        return self.get_response(request)


class RequestLogMiddleware:
    """One JSON line per request on the `levelup.requests` logger: its id, method, path, status,
    time in ms, SQL statements run and their total time, and the quota client (IP or key prefix).
    The id goes back in X-Request-ID and in the body of a 500, so a report can be matched to its line."""

    def __init__(self, get_response):
        import logging

        self.get_response = get_response
        self.log = logging.getLogger("levelup.requests")

    def __call__(self, request):
        import time

        from django.db import connection

        counter = {"n": 0, "ms": 0.0}

        def count(execute, sql, params, many, context):
            t0 = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                counter["n"] += 1
                counter["ms"] += (time.perf_counter() - t0) * 1000

        started = time.perf_counter()
        request.levelup_request_id = request_id(request)
        with connection.execute_wrapper(count):
            response = self.get_response(request)
        response["X-Request-ID"] = request.levelup_request_id
        if self.log.isEnabledFor(20):
            quota = getattr(request, "levelup_quota", None)
            self.log.info(orjson.dumps({
                "request_id": request.levelup_request_id, "method": request.method, "path": request.path, "query": request.META.get("QUERY_STRING", ""),
                "status": response.status_code, "ms": round((time.perf_counter() - started) * 1000, 2),
                "sql": counter["n"], "sql_ms": round(counter["ms"], 2),
                "client": request.META.get("REMOTE_ADDR"), "quota_remaining": quota[1] if quota else None,
            }).decode())
        return response

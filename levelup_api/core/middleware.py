"""Request guards that apply to every endpoint."""

import orjson
from django.http import HttpResponse


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
            body = {"status": 400, "error": "bad_request", "parameter": culprit,
                    "message": "NUL bytes are not allowed in requests"}
            return HttpResponse(orjson.dumps(body), status=400, content_type="application/json")
        return self.get_response(request)


class RequestLogMiddleware:
    """One JSON line per request on the `levelup.requests` logger: method, path, status, time in
    ms, SQL statements run and their total time, and the quota client (IP or key prefix)."""

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
        with connection.execute_wrapper(count):
            response = self.get_response(request)
        if self.log.isEnabledFor(20):
            quota = getattr(request, "levelup_quota", None)
            self.log.info(orjson.dumps({
                "method": request.method, "path": request.path, "query": request.META.get("QUERY_STRING", ""),
                "status": response.status_code, "ms": round((time.perf_counter() - started) * 1000, 2),
                "sql": counter["n"], "sql_ms": round(counter["ms"], 2),
                "client": request.META.get("REMOTE_ADDR"), "quota_remaining": quota[1] if quota else None,
            }).decode())
        return response

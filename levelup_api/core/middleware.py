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

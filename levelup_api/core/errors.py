"""One JSON error shape for the whole API: never an HTML page, never a 500 for bad input."""

from __future__ import annotations

import orjson
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpResponse
from django.template.loader import render_to_string
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .params import ParameterError

# A query parameter that cannot be used: the one error type of the parameter layer.
BadParameter = ParameterError


class NotFound(exceptions.NotFound):
    def __init__(self, message: str, **extra):
        super().__init__(detail={"message": message, **extra})


# The short code for each status; every error body carries it as `error`.
ERROR_CODES = {
    400: "bad_request", 401: "not_authenticated", 403: "permission_denied", 404: "not_found",
    405: "method_not_allowed", 406: "not_acceptable", 412: "precondition_failed", 413: "payload_too_large",
    414: "uri_too_long", 415: "unsupported_media_type", 429: "too_many_requests", 500: "server_error",
    503: "unavailable",
}
# Paths whose errors are always JSON, whoever asks.
API_PREFIXES = ("/api/", "/graphql")


def error_body(status: int, message: str, *, error: str | None = None, **extra) -> dict:
    """The one error shape: `status`, `error` (a short code), `message`, then anything specific."""
    return {"status": status, "error": error or ERROR_CODES.get(status, "error"), "message": message, **extra}


def wants_html(request) -> bool:
    """HTML only for a page a browser asks for outside the API; everyone else gets JSON."""
    if request.path_info.startswith(API_PREFIXES):
        return False
    return "text/html" in request.META.get("HTTP_ACCEPT", "")


def error_response(request, status: int, message: str, *, error: str | None = None, **extra) -> HttpResponse:
    """An error outside DRF (Django's handlers, middleware): JSON, or a small page for a browser."""
    body = error_body(status, message, error=error, **extra)
    if wants_html(request):
        return HttpResponse(render_to_string("levelup/error.html", {"error": body}), status=status)
    return HttpResponse(orjson.dumps(body), status=status, content_type="application/json")


def body_too_large_message() -> str:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return f"The request body is larger than the {limit:,} bytes ({limit / 2**20:g} MiB) allowed."


def _flatten(detail, prefix: str | None = None) -> list[dict]:
    """Turn DRF/django-filter error dicts into a list of {parameter, message}; a nested field is
    named by its path (`geometry.coordinates`, `codes[2]`)."""
    if isinstance(detail, dict):
        if "parameter" in detail and "message" in detail:
            return [dict(detail)]
        out = []
        for key, value in detail.items():
            name = (f"{prefix}[{key}]" if isinstance(key, int) else f"{prefix}.{key}") if prefix else str(key)
            if key == "non_field_errors" or key == "detail":
                name = prefix
            out.extend(_flatten(value, name))
        return out
    if isinstance(detail, list):
        return [e for m in detail for e in _flatten(m, prefix)]
    return [{"parameter": prefix, "message": str(detail)}]


def parameter_error_body(exc: ParameterError) -> dict:
    return {"status": 400, "error": "bad_request", "parameter": exc.parameter, "message": exc.message,
            "errors": exc.as_dicts()}


def exception_handler(exc, context):
    """DRF's errors in the one shape, always rendered as JSON (not as CSV, GeoJSON or the browsable
    API's HTML). Anything else (a bug, a database failure) is left to Django's handler500, whose
    body says nothing about the internals."""
    request = context.get("request")
    if request is not None:
        from .renderers import ORJSONRenderer

        request.accepted_renderer = ORJSONRenderer()
        request.accepted_media_type = ORJSONRenderer.media_type
    if isinstance(exc, ParameterError):
        return Response(parameter_error_body(exc), status=400)
    if isinstance(exc, RequestDataTooBig):  # Django's DATA_UPLOAD_MAX_MEMORY_SIZE, met reading request.data
        return Response(error_body(413, body_too_large_message()), status=413)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    status = response.status_code
    if status == 400:
        # A body that is not JSON at all cannot name a field: it names the body.
        errors = _flatten(response.data, "body" if isinstance(exc, exceptions.ParseError) else None)
        first = errors[0] if errors else {"parameter": None, "message": "Bad request"}
        body = error_body(400, first["message"], parameter=first["parameter"], errors=errors)
    elif status == 404:
        data = response.data if isinstance(response.data, dict) else {}
        message = data.get("message") or str(data.get("detail", "Not found."))
        body = error_body(404, message, **{k: v for k, v in data.items() if k not in {"message", "detail"}})
    else:
        detail = response.data.get("detail") if isinstance(response.data, dict) else response.data
        # 401 and 403 keep DRF's finer code (not_authenticated, authentication_failed, permission_denied).
        code = getattr(exc, "default_code", None) if status in (401, 403) else None
        body = error_body(status, str(detail), error=code)
    return Response(body, status=status, headers=dict(response.headers.items()))


class JSONErrorsMixin:
    """Errors are JSON even when the client asked for CSV or GeoJSON."""

    def handle_exception(self, exc):
        from .renderers import ORJSONRenderer

        self.request.accepted_renderer = ORJSONRenderer()
        self.request.accepted_media_type = ORJSONRenderer.media_type
        return super().handle_exception(exc)


def filterset_valid(filterset):
    """The FilterSet, validated: its first invalid parameter is a 400 naming it."""
    if not filterset.is_valid():
        name, errors = next(iter(filterset.errors.items()))
        raise ParameterError(name, errors[0])
    return filterset

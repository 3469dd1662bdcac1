"""One JSON error shape for the whole API: never an HTML page, never a 500 for bad input."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class BadParameter(exceptions.APIException):
    """A query parameter that cannot be used: the body names it."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "bad_parameter"

    def __init__(self, parameter: str, message: str):
        self.parameter = parameter
        super().__init__(detail={"parameter": parameter, "message": message})


class NotFound(exceptions.NotFound):
    def __init__(self, message: str, **extra):
        super().__init__(detail={"message": message, **extra})


def _flatten(detail) -> list[dict]:
    """Turn DRF/django-filter error dicts into a list of {parameter, message}."""
    if isinstance(detail, dict):
        if "parameter" in detail and "message" in detail:
            return [dict(detail)]
        out = []
        for key, value in detail.items():
            messages = value if isinstance(value, list) else [value]
            for m in messages:
                out.append({"parameter": key, "message": str(m)})
        return out
    if isinstance(detail, list):
        return [{"parameter": None, "message": str(m)} for m in detail]
    return [{"parameter": None, "message": str(detail)}]


def exception_handler(exc, context):
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if response.status_code == 400:
        errors = _flatten(response.data)
        first = errors[0] if errors else {"parameter": None, "message": "Bad request"}
        body = {"status": 400, "error": "bad_request", "parameter": first["parameter"],
                "message": first["message"], "errors": errors}
    elif response.status_code == 404:
        data = response.data if isinstance(response.data, dict) else {}
        message = data.get("message") or str(data.get("detail", "Not found."))
        body = {"status": 404, "error": "not_found", "message": message,
                **{k: v for k, v in data.items() if k not in {"message", "detail"}}}
    else:
        detail = response.data.get("detail") if isinstance(response.data, dict) else response.data
        body = {"status": response.status_code, "error": getattr(exc, "default_code", "error"),
                "message": str(detail)}
    return Response(body, status=response.status_code, headers=dict(response.headers.items()))


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
        raise BadParameter(name, errors[0])
    return filterset

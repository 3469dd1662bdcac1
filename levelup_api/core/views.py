"""The service's front door for clients (the API root; the home page is the explorer's) and the answers Django gives when no
view can: unmatched routes, bad requests, server errors, and /metrics behind its setting."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django_prometheus.exports import ExportToDjangoView
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.permissions import AllowAny, IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from .caching import data_version_iso
from .errors import NotFound, body_too_large_message, error_response

API_PREFIX = "api/v1/"
LICENCE = {"name": "Open Government Licence v3.0",
           "url": "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/"}

# A value each path converter accepts, to reverse a route with parameters into a URL template.
_SAMPLES = {"int": 918273645, "uuid": uuid.UUID("9e1f2d3c-4b5a-4697-8877-665544332211")}


def _route_template(name: str, pattern: URLPattern) -> str:
    """The route's path from reverse(), its parameters shown as {name} (RFC 6570)."""
    samples = {}
    for param, converter in pattern.pattern.converters.items():
        kind = type(converter).__name__.removesuffix("Converter").lower()
        samples[param] = _SAMPLES.get(kind, f"zz{param}zz")
    path = reverse(name, kwargs=samples)
    for param, value in samples.items():
        path = path.replace(str(value), "{" + param + "}")
    return path


def api_routes() -> dict[str, str]:
    """Every named route under /api/v1/, by name, as found in the URLconf (so it stays complete)."""
    routes = {}
    for entry in get_resolver().url_patterns:
        if isinstance(entry, URLResolver) and str(entry.pattern) == API_PREFIX:
            for pattern in entry.url_patterns:
                if isinstance(pattern, URLPattern) and pattern.name:
                    routes[pattern.name] = _route_template(pattern.name, pattern)
    return dict(sorted(routes.items(), key=lambda item: item[1]))


class LicenceSerializer(serializers.Serializer):
    name = serializers.CharField()
    url = serializers.URLField()


class QuotasSerializer(serializers.Serializer):
    enabled = serializers.BooleanField(help_text="False when this deployment counts no quota.")
    header = serializers.CharField(help_text="The request header that carries an API key.")
    tiers = serializers.DictField(child=serializers.CharField(),
                                  help_text="Requests allowed per tier: anon (per IP address), then per key tier.")


class ApiRootSerializer(serializers.Serializer):
    name = serializers.CharField()
    version = serializers.CharField()
    resources = serializers.DictField(
        child=serializers.CharField(),
        help_text="Every resource by route name; a URL template, parameters in braces ({code}).")
    docs = serializers.URLField(help_text="Swagger UI.")
    schema = serializers.URLField(help_text="The OpenAPI 3 document.")
    graphql = serializers.URLField(help_text="GraphQL endpoint (GraphiQL in a browser).")
    data_version = serializers.DateTimeField(help_text="When the data last changed (a load or a curator's edit); "
                                                       "ETags change with it.")
    licence = LicenceSerializer()
    quotas = QuotasSerializer()


class ApiRootView(APIView):
    @extend_schema(
        tags=["service"], operation_id="api_root",
        summary="The API root: resources, documentation, data version, licence, quotas",
        description=("Where to start: every resource of this version as a URL template (parameters in braces, "
                     "e.g. `/api/v1/areas/{code}/`), the documentation, the OpenAPI schema and GraphQL, when the data "
                     "last changed, the licence, and the request quotas per tier (raise yours with `X-API-Key`)."),
        responses={200: ApiRootSerializer})
    def get(self, request):
        base = request.build_absolute_uri("/").removesuffix("/")

        def url(path: str) -> str:
            return base + path  # not build_absolute_uri(path): it would escape a template's braces

        return Response({
            "name": settings.SPECTACULAR_SETTINGS["TITLE"],
            "version": settings.SPECTACULAR_SETTINGS["VERSION"],
            "resources": {name: url(path) for name, path in api_routes().items()},
            "docs": url(reverse("swagger-ui")),
            "schema": url(reverse("schema")),
            "graphql": url(reverse("graphql")),
            "data_version": data_version_iso(),
            "licence": LICENCE,
            "quotas": {"enabled": settings.LEVELUP["QUOTAS_ENABLED"], "header": "X-API-Key",
                       "tiers": dict(settings.LEVELUP["QUOTAS"])},
        })


class PingView(APIView):
    """`GET /api/ping`: the least a counted API request costs. It goes through every middleware, DRF's
    authentication (an `X-API-Key` is checked) and the quota (counted, with the X-RateLimit-*
    headers), and answers `{"status": "ok"}` without SQL: the HTTP floor of bench/endpoints.py and
    bench/load.py, and a way for a client to see its key's quota. /healthz is outside the quota, so
    it cannot be that floor. Outside the schema (it has no data)."""

    schema = None

    def get(self, request):
        return Response({"status": "ok"})


class MetricsView(APIView):
    """Prometheus metrics, by LEVELUP["METRICS"]: staff only (a staff session or a staff user's
    token; anyone else gets a 403), public, or off (404). Outside the quota and the schema."""

    authentication_classes = [SessionAuthentication, TokenAuthentication]
    throttle_classes = []
    schema = None

    def get_permissions(self):
        return [AllowAny()] if settings.LEVELUP["METRICS"] == "public" else [IsAdminUser()]

    def initial(self, request, *args, **kwargs):
        if settings.LEVELUP["METRICS"] not in ("staff", "public"):
            raise NotFound("Metrics are not served here.")
        super().initial(request, *args, **kwargs)

    def get(self, request):
        return ExportToDjangoView(request._request)


# -- Django's error handlers (levelup_api.urls) ------------------------------------------------
def not_found(request, exception=None):
    return error_response(request, 404, f"Nothing here: no route matches {request.path!r}. "
                                        "The API root, /api/v1/, lists every resource.", path=request.path)


def bad_request(request, exception=None):
    # Django answers a body over DATA_UPLOAD_MAX_MEMORY_SIZE (outside DRF: GraphQL, forms) as a
    # SuspiciousOperation, a 400; it is a 413 that says the limit.
    if isinstance(exception, RequestDataTooBig):
        return error_response(request, 413, body_too_large_message())
    return error_response(request, 400, "The request could not be understood.")


def permission_denied(request, exception=None):
    return error_response(request, 403, "You may not do this.")


def server_error(request):
    request_id = getattr(request, "levelup_request_id", None)
    return error_response(request, 500, "Something went wrong on our side; it has been logged. Quote the "
                                        "request id if you report it.", request_id=request_id)

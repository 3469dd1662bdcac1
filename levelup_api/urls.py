from django.contrib import admin
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from levelup_api.core.graphql_limits import LimitedGraphQLView
from levelup_api.core.health import healthz, readyz
from levelup_api.core.views import ApiRootView, MetricsView, PingView

urlpatterns = [
    # The explorer's pages: the home page (name "home") and /areas/{code}/ (explorer/urls.py).
    path("", include("explorer.urls")),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    # Same name as django_prometheus.urls; who may read it is LEVELUP["METRICS"].
    path("metrics", MetricsView.as_view(), name="prometheus-django-metrics"),
    path("admin/", admin.site.urls),
    # Counted like any API request, with no data: the floor of bench/endpoints.py and bench/load.py.
    path("api/ping", PingView.as_view(), name="api-ping"),
    path("api/", RedirectView.as_view(pattern_name="api-root"), name="api"),
    # Vector tiles are served under the API (quotas, errors, caching): /tiles/... is the short name.
    path("tiles/<path:rest>", RedirectView.as_view(url="/api/v1/tiles/%(rest)s", permanent=True, query_string=True),
         name="tiles-short"),
    path("api/v1/", ApiRootView.as_view(), name="api-root"),
    path("api/v1/", include("geographies.api.urls")),
    path("api/v1/", include("indicators.api.urls")),
    path("api/v1/", include("missions.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's init script as a file, so the CSP needs no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
    path("graphql", csrf_exempt(LimitedGraphQLView.as_view(graphiql=True)), name="graphql"),
]

# JSON in the one error shape under /api/ and /graphql (and for clients that are not browsers),
# a small HTML page for a browser elsewhere (levelup_api.core.errors.error_response).
handler400 = "levelup_api.core.views.bad_request"
handler403 = "levelup_api.core.views.permission_denied"
handler404 = "levelup_api.core.views.not_found"
handler500 = "levelup_api.core.views.server_error"

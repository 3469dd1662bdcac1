from django.contrib import admin
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from levelup_api.core.graphql_limits import LimitedGraphQLView
from levelup_api.core.health import healthz, readyz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("", include("django_prometheus.urls")),  # /metrics
    path("admin/", admin.site.urls),
    path("api/v1/", include("geographies.api.urls")),
    path("api/v1/", include("indicators.api.urls")),
    path("api/v1/", include("missions.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("graphql", csrf_exempt(LimitedGraphQLView.as_view(graphiql=True)), name="graphql"),
]

"""GET /api/ping: counted like every API request and nothing more (the floor of bench/endpoints.py
and bench/load.py). No database access is allowed here, so any SQL it ran would fail the test."""

import pytest
from django.conf import settings

from tests.builders import levelup


@levelup(QUOTAS_ENABLED=True, QUOTAS={**settings.LEVELUP["QUOTAS"], "anon": "2/min"})
def test_ping_is_counted_then_refused_and_runs_no_sql(client, fresh_counters):
    for remaining in ("1", "0"):
        response = client.get("/api/ping", HTTP_ACCEPT="application/json")
        assert response.status_code == 200 and response.json() == {"status": "ok"}
        assert (response["X-RateLimit-Limit"], response["X-RateLimit-Remaining"]) == ("2", remaining)
    assert client.get("/api/ping").status_code == 429


@pytest.mark.django_db  # the schema lists the vintages that have boundaries (the tiles' path parameter)
def test_ping_is_not_in_the_schema():
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    assert "/api/ping" not in paths and "/api/v1/areas/" in paths

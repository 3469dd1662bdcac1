"""Quotas, HTTP caching, GraphQL limits and health checks, each switched on as in production."""

import json

import pytest
from django.conf import settings

from levelup_api.core.quotas import api_key_make
from tests.builders import levelup

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_counters")]

AREA = "/api/v1/areas/E06000009/"


@levelup(QUOTAS_ENABLED=True, QUOTAS={**settings.LEVELUP["QUOTAS"], "anon": "5/min"})
def test_anonymous_quota_then_429_with_retry_after_and_a_key_lifts_it(client):
    for n in range(5):
        response = client.get(AREA)
        assert response.status_code == 200
        assert (response["X-RateLimit-Limit"], response["X-RateLimit-Remaining"]) == ("5", str(4 - n))
        assert 0 < int(response["X-RateLimit-Reset"]) <= 60
    refused = client.get(AREA)
    assert refused.status_code == 429 and 0 < int(refused["Retry-After"]) <= 60
    assert client.get(AREA, HTTP_X_FORWARDED_FOR="10.9.9.9").status_code == 429  # not a way round it
    assert refused.json()["status"] == 429 and refused["X-RateLimit-Remaining"] == "0"
    _, key = api_key_make(name="partner")
    with_key = client.get(AREA, HTTP_X_API_KEY=key)
    assert with_key.status_code == 200 and with_key["X-RateLimit-Limit"] == "600"
    assert client.get(AREA, HTTP_X_API_KEY=key + "x").status_code == 401


@levelup(QUOTAS_ENABLED=True, QUOTAS={**settings.LEVELUP["QUOTAS"], "anon": "3/min"})
def test_graphql_counts_against_the_same_quota(client):
    query = json.dumps({"query": '{ area(code: "E06000009") { name } }'})
    assert client.get(AREA)["X-RateLimit-Remaining"] == "2"
    answered = client.post("/graphql", query, content_type="application/json")
    assert answered.status_code == 200 and answered.json()["data"]["area"]["name"] == "Blackpool"
    assert answered["X-RateLimit-Remaining"] == "1"
    client.post("/graphql", query, content_type="application/json")
    refused = client.post("/graphql", query, content_type="application/json")
    assert refused.status_code == 429 and 0 < int(refused["Retry-After"]) <= 60
    assert "throttled" in refused.json()["errors"][0]["message"]
    assert client.get(AREA).status_code == 429  # one budget for REST and GraphQL
    _, key = api_key_make(name="dashboard")
    with_key = client.post("/graphql", query, content_type="application/json", HTTP_X_API_KEY=key)
    assert with_key.status_code == 200 and with_key["X-RateLimit-Limit"] == "600"
    assert client.post("/graphql", query, content_type="application/json",
                       HTTP_X_API_KEY="bad.key").status_code == 401


@levelup(HTTP_CACHING=True)
def test_etag_and_last_modified_answer_conditional_requests_with_304(client):
    first = client.get(AREA)
    etag, modified = first["ETag"], first["Last-Modified"]
    assert etag.startswith('W/"') and "public" in first["Cache-Control"]
    again = client.get(AREA, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again.content == b"" and again["ETag"] == etag
    assert client.get(AREA, HTTP_IF_MODIFIED_SINCE=modified).status_code == 304
    assert client.get(AREA, HTTP_IF_NONE_MATCH='W/"stale"').status_code == 200
    assert client.get("/api/v1/areas/E08000003/", HTTP_IF_NONE_MATCH=etag).status_code == 200  # another resource


@levelup(HTTP_CACHING=True, QUOTAS_ENABLED=True, QUOTAS={**settings.LEVELUP["QUOTAS"], "anon": "2/min"})
def test_a_304_does_not_count_against_the_quota(client):
    etag = client.get(AREA)["ETag"]
    for _ in range(5):
        assert client.get(AREA, HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert client.get("/api/v1/areas/E08000003/").status_code == 200
    assert client.get("/api/v1/areas/E08000001/").status_code == 429


def gql(client, query: str):
    return client.post("/graphql", json.dumps({"query": query}), content_type="application/json")


def test_graphql_refuses_deep_and_costly_queries_with_clear_errors(client):
    deep = '{ area(code: "E06000009") { ' + "children { " * 20 + "code" + " }" * 20 + " } }"
    response = gql(client, deep)
    assert response.status_code == 400 and "exceeds maximum operation depth" in response.json()["errors"][0]["message"]
    costly = gql(client, """{ areas(first: 1000) { edges { node { code children { code
        observations(indicator: "iod2025-imd-score") { value } } } } } }""")
    assert costly.status_code == 400 and "query too costly" in costly.json()["errors"][0]["message"]
    huge = gql(client, "{ areas(first: 10000) { edges { node { code } } } }")
    assert huge.status_code in (200, 400)
    assert "exceeds the `first` limit of 1000" in huge.json()["errors"][0]["message"]


def test_health_and_readiness(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["postgis"].startswith("3.")


def test_every_request_is_logged_as_one_json_line_with_timing_and_query_count(client, caplog):
    with caplog.at_level("INFO", logger="levelup.requests"):
        client.get(AREA)
    [record] = [r for r in caplog.records if r.name == "levelup.requests"]
    line = json.loads(record.getMessage())
    assert (line["method"], line["path"], line["status"]) == ("GET", AREA, 200)
    assert line["sql"] >= 1 and line["ms"] >= line["sql_ms"] >= 0


def test_cors_lets_browsers_read_the_api_but_not_the_admin(client):
    response = client.get(AREA, HTTP_ORIGIN="https://dashboard.example.org")
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "X-RateLimit-Remaining" in response["Access-Control-Expose-Headers"]
    assert "Access-Control-Allow-Origin" not in client.get("/admin/login/", HTTP_ORIGIN="https://x.example.org")


def test_prometheus_metrics(client, admin_user):
    client.get(AREA)
    assert client.get("/metrics").status_code == 403  # staff only by default (tests/core/test_http.py)
    client.force_login(admin_user)
    body = client.get("/metrics").content.decode()
    assert "django_http_requests_total_by_view_transport_method_total" in body
    assert 'view="area-detail"' in body

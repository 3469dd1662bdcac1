"""Quotas, HTTP caching, GraphQL limits and health checks, each switched on as in production. The
quota counters are the real Redis's, under this test run's own prefix."""

import json
import logging
import socket
import threading
import time

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from levelup_api.core import counters, quotas
from levelup_api.core.models import ApiKey
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


# Each with what a repeat costs: nothing, or the lookup that checks a parameter naming a type,
# an indicator or a vintage (the parameter layer's, before the view).
CATALOGUES = [("/api/v1/area-types/", 0), ("/api/v1/vintages/?type=LAD", 1), ("/api/v1/indicators/?q=pay", 0),
              ("/api/v1/indicators/gross-median-weekly-pay/", 0),
              ("/api/v1/periods/?indicator=gross-median-weekly-pay", 1), ("/api/v1/missions/", 0),
              ("/api/v1/missions/7/", 0), ("/api/v1/missions/7/progress/?area_type=LAD&vintage=LAD23", 1),
              ("/api/v1/areas/E06000009/", 0), ("/api/v1/areas/E07000026/", 0)]


@pytest.mark.parametrize(("url", "repeat"), CATALOGUES)
def test_catalogue_documents_are_rendered_once_per_data_version(client, settings, monkeypatch,
                                                                 django_assert_num_queries, url, repeat):
    """The documents that change only with the data come from the process's cache for the same
    path and parameters until the data version moves; errors and the browsable API never do."""
    from django.core.cache import caches

    import levelup_api.core.caching

    fresh = client.get(url)
    assert fresh.status_code == 200
    settings.LEVELUP = {**settings.LEVELUP, "PROFILE_CACHE": True}
    caches["profiles"].clear()
    version = [1.0]
    monkeypatch.setattr(levelup_api.core.caching, "data_version", lambda: version[0])
    assert client.get(url).json() == fresh.json()
    with django_assert_num_queries(repeat):
        again = client.get(url)
    assert again.json() == fresh.json() and again["Content-Type"] == "application/json"
    version[0] = 2.0
    with CaptureQueriesContext(connection) as built:
        assert client.get(url).json() == fresh.json()
    assert len(built.captured_queries) > 0  # a new data version: built again
    page = client.get(url, HTTP_ACCEPT="text/html")
    if page["Content-Type"].startswith("text/html"):  # the browsable API, where the view offers it
        assert b"<html" in page.content[:2000]


def test_catalogue_errors_are_not_kept(client, settings):
    settings.LEVELUP = {**settings.LEVELUP, "PROFILE_CACHE": True}
    for _ in range(2):
        assert client.get("/api/v1/indicators/no-such-indicator/").status_code == 404
        assert client.get("/api/v1/missions/13/").status_code == 404
        assert client.get("/api/v1/areas/E99999999/").status_code == 404
    here, there = client.get("/api/v1/areas/E06000009/"), client.get("/api/v1/areas/E06000009/", HTTP_HOST="testserver:8000")
    assert here.json()["links"] != there.json()["links"]  # the links are the host's
    assert client.get("/api/v1/vintages/?type=LAD").json() != client.get("/api/v1/vintages/?type=LSOA").json()


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


# -- the counters: Redis, per process, and Redis gone ----------------------------------------------
REDIS_URL, PREFIX = settings.LEVELUP["REDIS_URL"], settings.LEVELUP["REDIS_PREFIX"]  # the test run's


def redis_counter() -> counters.RedisCounter:
    """Another process's view of the same counters: its own client and connection."""
    return counters.RedisCounter(REDIS_URL, PREFIX)


def test_counters_in_redis_are_shared_by_processes_and_counted_atomically():
    first, second = redis_counter(), redis_counter()
    verdicts = []

    def client(counter):
        verdicts.extend(counter.hit("quota:ip:192.0.2.7", 150, 60) for _ in range(25))

    threads = [threading.Thread(target=client, args=(c,)) for c in [first, second] * 4]  # 8 clients x 25
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(v.allowed for v in verdicts) == 150 and len(verdicts) == 200
    assert sorted(v.remaining for v in verdicts if v.allowed) == list(range(150))
    assert all(0 < v.reset <= 60 for v in verdicts)
    key = PREFIX + "quota:ip:192.0.2.7"
    assert first.client.zcard(key) == 150 and 0 < first.client.pttl(key) <= 60_000
    refused = second.hit("quota:ip:192.0.2.7", 150, 60)
    assert not refused.allowed and refused.remaining == 0
    assert second.hit("quota:ip:192.0.2.8", 150, 60).remaining == 149  # another client, its own window


def test_a_busy_clients_requests_are_counted_in_leases_that_never_pass_the_limit(monkeypatch):
    """With leases (LEVELUP["QUOTA_LEASE"]) a partner's 300 requests cost 5 round trips to Redis,
    not 300, and its X-RateLimit-Remaining still falls by one a request; what a process has not
    spent when its lease ends is handed back; and two processes together never pass the limit,
    with every request counted in Redis."""
    first = counters.RedisCounter(REDIS_URL, PREFIX, lease=100)
    trips = []
    script = first._script
    monkeypatch.setattr(first, "_script", lambda **kw: trips.append(kw) or script(**kw))
    verdicts = [first.hit("quota:key:partner", 6000, 60) for _ in range(300)]
    assert len(trips) == 5  # a lease of 60 (a hundredth of 6,000) each
    assert [v.remaining for v in verdicts] == list(range(5999, 5699, -1)) and all(v.allowed for v in verdicts)
    key = PREFIX + "quota:key:partner"
    assert first.client.zcard(key) == 300

    monkeypatch.setattr(counters, "LEASE_SECONDS", 0.05)
    lone = counters.RedisCounter(REDIS_URL, PREFIX, lease=100)
    assert lone.hit("quota:key:lone", 6000, 60).remaining == 5999
    assert lone.client.zcard(PREFIX + "quota:key:lone") == 60  # one spent, 59 held by this process
    time.sleep(0.06)
    assert lone.hit("quota:key:lone", 6000, 60).remaining == 5998  # the 59 handed back, a new lease
    assert lone.client.zcard(PREFIX + "quota:key:lone") == 2 + 59

    monkeypatch.setattr(counters, "LEASE_SECONDS", 60.0)
    a, b = (counters.RedisCounter(REDIS_URL, PREFIX, lease=100) for _ in range(2))
    allowed = []

    def client(counter):
        allowed.extend(counter.hit("quota:key:shared", 400, 60).allowed for _ in range(60))

    threads = [threading.Thread(target=client, args=(c,)) for c in [a, b] * 4]  # 480 requests for 400
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Near the limit each request is counted on its own; only what the other process still holds
    # (at most a lease of 4 each) can go unspent.
    assert 400 - 8 <= sum(allowed) <= 400 and a.client.zcard(PREFIX + "quota:key:shared") == 400
    assert not a.hit("quota:key:shared", 400, 60).allowed or not b.hit("quota:key:shared", 400, 60).allowed


@pytest.mark.parametrize("make", [redis_counter, counters.LocalCounter], ids=["redis", "per-process"])
def test_a_window_slides_and_a_refused_request_is_not_counted(make):
    counter = make()
    assert [counter.hit("quota:ip:198.51.100.1", 2, 1.0).allowed for _ in range(4)] == [True, True, False, False]
    time.sleep(1.05)  # the window is one second: both requests have left it
    back = counter.hit("quota:ip:198.51.100.1", 2, 1.0)
    assert back.allowed and back.remaining == 1


def test_clearing_this_runs_counters_leaves_other_prefixes_alone():
    mine = counters.counter()
    other = counters.RedisCounter(REDIS_URL, PREFIX.rstrip(":") + "-x:")
    try:
        mine.hit("quota:ip:203.0.113.5", 5, 60)
        other.hit("quota:ip:203.0.113.5", 5, 60)
        mine.clear()
        assert mine.hit("quota:ip:203.0.113.5", 5, 60).remaining == 4
        assert other.hit("quota:ip:203.0.113.5", 5, 60).remaining == 3
    finally:
        other.clear()


@levelup(QUOTAS_ENABLED=True, REDIS_URL="locmem://", QUOTAS={**settings.LEVELUP["QUOTAS"], "anon": "3/min"})
def test_locmem_counts_in_the_process_with_the_same_headers(client):
    assert isinstance(counters.counter(), counters.LocalCounter)
    counters.counter().clear()
    remaining = [client.get(AREA)["X-RateLimit-Remaining"] for _ in range(3)]
    assert remaining == ["2", "1", "0"]
    refused = client.get(AREA)
    assert refused.status_code == 429 and 0 < int(refused["Retry-After"]) <= 60
    assert not list(redis_counter().client.scan_iter(match=PREFIX + "*"))  # nothing went to Redis


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_redis_gone_is_counted_in_the_process_with_one_warning_and_no_500(client, caplog):
    nowhere = f"redis://127.0.0.1:{free_port()}/0"  # a port nothing listens on
    with levelup(QUOTAS_ENABLED=True, REDIS_URL=nowhere, QUOTAS={**settings.LEVELUP["QUOTAS"], "anon": "3/min"}), \
            caplog.at_level(logging.WARNING, logger="levelup_api.core.counters"):
        answers = [client.get(AREA) for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        assert [a["X-RateLimit-Remaining"] for a in answers] == ["2", "1", "0", "0"]
        assert answers[0].json()["name"] == "Blackpool"
    [warning] = [r for r in caplog.records if r.name == "levelup_api.core.counters"]
    assert "does not answer" in warning.getMessage() and f"{nowhere.split('//')[1]}" in warning.getMessage()


# -- API keys: verified once per process, forgotten when changed ------------------------------------
@levelup(QUOTAS_ENABLED=True)
def test_a_key_is_looked_up_once_and_forgotten_when_an_admin_deactivates_it(client, admin_client,
                                                                           django_assert_num_queries):
    key, secret = api_key_make(name="dashboard", tier="partner")
    with django_assert_num_queries(2):  # the key, the area
        assert client.get(AREA, HTTP_X_API_KEY=secret)["X-RateLimit-Limit"] == "6000"
    with django_assert_num_queries(1):  # the area: the key is remembered
        assert client.get(AREA, HTTP_X_API_KEY=secret)["X-RateLimit-Remaining"] == "5998"
    with django_assert_num_queries(0):  # a wrong secret with a known prefix is refused from memory too
        assert client.get(AREA, HTTP_X_API_KEY=key.prefix + ".wrong").status_code == 401
    with django_assert_num_queries(1):  # an unknown prefix is looked up once ...
        assert client.get(AREA, HTTP_X_API_KEY="0badcafe.x").status_code == 401
    with django_assert_num_queries(0):  # ... and remembered as unknown
        assert client.get(AREA, HTTP_X_API_KEY="0badcafe.y").status_code == 401
    changed = admin_client.post(f"/admin/core/apikey/{key.pk}/change/", {"name": "dashboard", "tier": "partner"})
    assert changed.status_code == 302 and not ApiKey.objects.get(pk=key.pk).active
    refused = client.get(AREA, HTTP_X_API_KEY=secret)
    assert refused.status_code == 401 and refused.json()["message"] == "unknown or inactive API key"


@levelup(QUOTAS_ENABLED=True)
@pytest.mark.parametrize("header", ["x" * 5000, "é.key", "abc\x00def.x", ".", "0123456789abcdef.x", "a-b.c"])
def test_keys_that_cannot_exist_are_refused_without_a_query(client, django_assert_num_queries, header):
    with django_assert_num_queries(0):
        refused = client.get("/api/v1/", HTTP_X_API_KEY=header)
    assert refused.status_code == 401 and refused.json()["error"] == "authentication_failed"


@levelup(QUOTAS_ENABLED=True, HTTP_CACHING=True)
def test_quota_key_and_data_version_cost_no_statement(client, listening, django_assert_num_queries):
    """With everything switched on, a request runs the statements of its data and nothing more."""
    _, secret = api_key_make(name="budget")
    client.get(AREA, HTTP_X_API_KEY=secret)
    with django_assert_num_queries(1):
        on = client.get(AREA, HTTP_X_API_KEY=secret)
    assert on["X-RateLimit-Remaining"] == "598" and on["ETag"].startswith('W/"')
    assert quotas._known  # the key, remembered
    with levelup(QUOTAS_ENABLED=False, HTTP_CACHING=False), django_assert_num_queries(1):
        off = client.get(AREA)
    assert off.content == on.content

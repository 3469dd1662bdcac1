"""HTTP behaviour a client sees: one JSON error shape for every status, the roots, conditional
requests as RFC 9110 says, per-resource validators for custom areas, API key and token together,
CORS preflight, CSV media types, /metrics, the Content-Security-Policy, and request ids."""

from __future__ import annotations

import datetime
import json
import re

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.db import DatabaseError
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from explorer import views as explorer_views
from geographies.api import urls as geography_urls
from geographies.models import CustomArea
from indicators.api import urls as indicator_urls
from levelup_api.core import caching, views
from levelup_api.core.quotas import api_key_make
from missions.api import urls as mission_urls
from tests.builders import levelup

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_counters")]

AREA = "/api/v1/areas/E06000009/"
CENTRE = {"type": "Polygon", "coordinates": [[[-2.26, 53.47], [-2.22, 53.47], [-2.22, 53.49], [-2.26, 53.49],
                                              [-2.26, 53.47]]]}
SHAPE = {"status", "error", "message"}


@pytest.fixture
def token() -> str:
    return Token.objects.create(user=User.objects.create_user("writer", password="x")).key


@pytest.fixture
def author(token) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def error_of(response, status: int, code: str) -> dict:
    """The body of an error response, checked for the one shape."""
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert SHAPE <= set(body), body
    assert (body["status"], body["error"]) == (status, code)
    assert isinstance(body["message"], str) and body["message"]
    return body


# -- one error shape ---------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/api/v1/no-such-thing/", "/api/nothing", "/graphql/extra", "/api/v2/areas/"])
def test_unmatched_routes_under_the_api_are_json_404s(client, path):
    body = error_of(client.get(path, HTTP_ACCEPT="text/html,application/xhtml+xml"), 404, "not_found")
    assert body["path"] == path and "/api/v1/" in body["message"]


def test_unmatched_routes_elsewhere_are_a_page_for_a_browser_and_json_for_others(client):
    page = client.get("/no-such-page/", HTTP_ACCEPT="text/html,application/xhtml+xml,*/*;q=0.8")
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")
    assert b"404" in page.content and b"/api/v1/" in page.content
    error_of(client.get("/no-such-page/"), 404, "not_found")


def test_405_406_and_415_in_the_shape(author):
    refused = author.delete(AREA)
    assert "not allowed" in error_of(refused, 405, "method_not_allowed")["message"]
    assert "GET" in refused["Allow"]
    assert "Accept" in error_of(author.get(AREA, HTTP_ACCEPT="application/xml"), 406, "not_acceptable")["message"]
    text = author.post("/api/v1/custom-areas/", "name=x", content_type="text/plain")
    assert "text/plain" in error_of(text, 415, "unsupported_media_type")["message"]


def test_401_and_403_in_the_shape(api):
    error_of(api.post("/api/v1/custom-areas/", {"name": "x", "codes": ["E01005061"]}, format="json"), 401,
             "not_authenticated")
    error_of(api.post("/api/v1/custom-areas/", {}, format="json", HTTP_AUTHORIZATION="Token nope"), 401,
             "authentication_failed")


def test_a_body_over_the_upload_limit_is_a_413_that_says_the_limit(author, client):
    big = json.dumps({"name": "x", "codes": ["E01005061"] * 250_000})
    assert len(big) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    body = error_of(author.post("/api/v1/custom-areas/", big, content_type="application/json"), 413,
                    "payload_too_large")
    assert "2,621,440 bytes (2.5 MiB)" in body["message"]
    graphql = client.post("/graphql", json.dumps({"query": "{ areaTypes { code } }", "pad": "x" * 2_700_000}),
                          content_type="application/json")
    assert "2,621,440 bytes" in error_of(graphql, 413, "payload_too_large")["message"]
    assert CustomArea.objects.count() == 0


def test_a_uri_over_the_limit_is_a_json_414(client):
    limit = settings.LEVELUP["MAX_URI_LENGTH"]
    long_query = "E06000009," * (limit // 10)
    body = error_of(client.get("/api/v1/observations/", {"area": long_query}), 414, "uri_too_long")
    assert f"at most {limit:,}" in body["message"]
    assert client.get("/api/v1/areas/", {"q": "a" * 100}).status_code == 200  # an ordinary one is fine


@levelup(QUOTAS_ENABLED=True, QUOTAS={**settings.LEVELUP["QUOTAS"], "anon": "1/min"})
def test_429_in_the_shape_on_rest_and_graphql(client):
    assert client.get(AREA).status_code == 200
    rest = client.get(AREA)
    assert "throttled" in error_of(rest, 429, "too_many_requests")["message"] and int(rest["Retry-After"]) > 0
    graphql = client.post("/graphql", json.dumps({"query": "{ areaTypes { code } }"}), content_type="application/json")
    body = error_of(graphql, 429, "too_many_requests")
    assert body["errors"][0]["message"] == body["message"]  # what a GraphQL client reads
    bad_key = client.post("/graphql", json.dumps({"query": "{ areaTypes { code } }"}),
                          content_type="application/json", HTTP_X_API_KEY="nope.nope")
    assert error_of(bad_key, 401, "authentication_failed")["errors"][0]["message"] == "unknown or inactive API key"


def test_graphql_http_errors_have_the_shape_and_keep_their_errors_list(client):
    refused = client.put("/graphql", json.dumps({"query": "{ areaTypes { code } }"}), content_type="application/json")
    assert error_of(refused, 405, "method_not_allowed")["errors"][0]["message"] == refused.json()["message"]
    deep = "{ areaTypes { " + "vintages { " * 12 + "code" + " }" * 12 + " } }"
    invalid = client.post("/graphql", json.dumps({"query": deep}), content_type="application/json")
    body = error_of(invalid, 400, "bad_request")
    assert body["message"] == body["errors"][0]["message"] and "depth" in body["message"]
    assert int(invalid["Content-Length"]) == len(invalid.content)
    error_of(client.post("/graphql", "{}", content_type="application/json"), 400, "bad_request")


def test_a_500_says_nothing_of_the_internals_and_carries_the_request_id(monkeypatch, caplog):
    def broken():
        raise DatabaseError('relation "geographies_secret" does not exist\nLINE 1: SELECT ...')

    monkeypatch.setattr(views, "api_routes", broken)
    client = Client(raise_request_exception=False)
    with caplog.at_level("INFO", logger="levelup.requests"):
        response = client.get("/api/v1/", HTTP_ACCEPT="text/html")
    body = error_of(response, 500, "server_error")
    assert "geographies_secret" not in response.content.decode() and "LINE" not in body["message"]
    assert body["request_id"] == response["X-Request-ID"]
    [line] = [json.loads(r.getMessage()) for r in caplog.records if r.name == "levelup.requests"]
    assert (line["request_id"], line["status"]) == (body["request_id"], 500)


def test_a_500_outside_the_api_is_a_page_for_a_browser(monkeypatch):
    def broken(self, **kwargs):
        raise RuntimeError("internal detail")

    monkeypatch.setattr(explorer_views.HomeView, "get_context_data", broken)
    page = Client(raise_request_exception=False).get("/", HTTP_ACCEPT="text/html")
    assert page.status_code == 500 and page["Content-Type"].startswith("text/html")
    assert page["X-Request-ID"].encode() in page.content and b"internal detail" not in page.content


def test_400s_keep_their_parameter_and_errors_list(client):
    for response in (client.get("/api/v1/lookup/point/", {"lon": "-2.2", "lat": "91"}),
                     client.get("/api/v1/areas/", {"q": "a\x00b"})):
        body = error_of(response, 400, "bad_request")
        assert body["parameter"] in ("lat", "q") and body["errors"][0]["parameter"] == body["parameter"]


def test_readiness_failure_does_not_show_the_driver_message(client, monkeypatch):
    class Down:
        def cursor(self):
            raise DatabaseError('connection to server at "10.1.2.3", port 5432 failed: password authentication '
                                'failed for user "levelup"')

    monkeypatch.setattr("levelup_api.core.health.connection", Down())
    response = client.get("/readyz")
    assert response.status_code == 503 and response.json()["status"] == "unavailable"
    assert b"10.1.2.3" not in response.content and b"levelup" not in response.content


# -- roots -------------------------------------------------------------------------------------
def test_the_api_root_links_every_resource_the_docs_and_says_version_licence_and_quotas(client):
    response = client.get("/api/v1/")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/json")
    root = response.json()
    names = {p.name for module in (geography_urls, indicator_urls, mission_urls) for p in module.urlpatterns}
    assert set(root["resources"]) == names
    base = "http://testserver"
    assert root["resources"]["area-detail"] == f"{base}/api/v1/areas/{{code}}/"
    assert root["resources"]["custom-area-observations"] == f"{base}/api/v1/custom-areas/{{id}}/observations/"
    assert root["resources"]["mission-progress"] == f"{base}/api/v1/missions/{{number}}/progress/"
    assert root["resources"]["indicator-detail"] == f"{base}/api/v1/indicators/{{slug}}/"
    assert root["resources"]["observation-list"] == f"{base}/api/v1/observations/"
    assert (root["docs"], root["schema"], root["graphql"]) == (f"{base}/api/docs/", f"{base}/api/schema/",
                                                               f"{base}/graphql")
    loaded = datetime.datetime.fromisoformat(root["data_version"])
    assert loaded.year >= 2024 and loaded.tzinfo is not None  # the test database's loads
    assert root["licence"]["name"] == "Open Government Licence v3.0"
    assert root["licence"]["url"].startswith("https://www.nationalarchives.gov.uk/doc/open-government-licence/")
    assert root["quotas"]["tiers"] == settings.LEVELUP["QUOTAS"] and root["quotas"]["header"] == "X-API-Key"
    followed = client.get(root["resources"]["area-detail"].replace("{code}", "E06000009"))
    assert followed.json()["name"] == "Blackpool"


def test_api_redirects_to_the_root_and_home_is_a_page_of_links(client):
    assert client.get("/api/", follow=True).json()["licence"]["name"] == "Open Government Licence v3.0"
    home = client.get("/")
    assert home.status_code == 200 and home["Content-Type"].startswith("text/html")
    for href in ("/api/v1/", "/api/docs/", "/api/schema/", "/graphql"):
        assert f'href="{href}"'.encode() in home.content


def test_the_api_root_and_the_custom_area_post_are_described_in_openapi(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()
    root = schema["paths"]["/api/v1/"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    component = schema["components"]["schemas"][root["$ref"].rsplit("/", 1)[1]]
    assert {"resources", "docs", "schema", "graphql", "data_version", "licence", "quotas"} <= set(component["properties"])
    post = schema["paths"]["/api/v1/custom-areas/"]["post"]
    request = post["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert {"name", "codes", "geometry", "method", "vintage"} == set(schema["components"]["schemas"][request]["properties"])
    created = post["responses"]["201"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert "members" in schema["components"]["schemas"][created]["properties"]
    assert {"400", "401", "403", "413", "415"} <= set(post["responses"])
    assert "apiKey" in schema["components"]["securitySchemes"]


# -- conditional requests --------------------------------------------------------------------
@levelup(HTTP_CACHING=True)
def test_if_none_match_star_is_a_304_only_for_a_resource_that_exists(client):
    assert client.get(AREA, HTTP_IF_NONE_MATCH="*").status_code == 304
    error_of(client.get("/api/v1/areas/E99999999/", HTTP_IF_NONE_MATCH="*"), 404, "not_found")
    error_of(client.get("/api/v1/custom-areas/00000000-0000-0000-0000-000000000000/", HTTP_IF_NONE_MATCH="*"),
             404, "not_found")
    error_of(client.get("/api/v1/nothing-here/", HTTP_IF_NONE_MATCH="*"), 404, "not_found")


@levelup(HTTP_CACHING=True)
def test_if_none_match_uses_weak_comparison(client):
    etag = client.get(AREA)["ETag"]
    strong = etag.removeprefix("W/")
    assert etag.startswith('W/"') and strong.startswith('"')
    for header in (etag, strong, f'"other", {strong}', f'W/"a,b", {etag}'):
        answer = client.get(AREA, HTTP_IF_NONE_MATCH=header)
        assert answer.status_code == 304 and answer.content == b"" and answer["ETag"] == etag, header
    assert client.get(AREA, HTTP_IF_NONE_MATCH='W/"other"').status_code == 200
    # If-None-Match wins over If-Modified-Since (RFC 9110 13.1.3): a stale tag is a 200 whatever the date.
    assert client.get(AREA, HTTP_IF_NONE_MATCH='"stale"',
                      HTTP_IF_MODIFIED_SINCE="Fri, 01 Jan 2100 00:00:00 GMT").status_code == 200
    # If-Modified-Since for something that does not exist is the 404, not a 304.
    assert client.get("/api/v1/areas/E99999999/",
                      HTTP_IF_MODIFIED_SINCE="Fri, 01 Jan 2100 00:00:00 GMT").status_code == 404
    assert client.get(AREA, HTTP_IF_MODIFIED_SINCE="Fri, 01 Jan 2100 00:00:00 GMT").status_code == 304
    # If-Match compares strongly, and a weak tag never matches strongly.
    error_of(client.get(AREA, HTTP_IF_MATCH=etag), 412, "precondition_failed")


@levelup(HTTP_CACHING=True)
def test_a_custom_area_write_changes_only_custom_area_validators(client, author):
    area_etag = client.get(AREA)["ETag"]
    first = author.post("/api/v1/custom-areas/", {"name": "Centre", "geometry": CENTRE, "method": "centroid"},
                        format="json")
    assert first.status_code == 201
    caching.data_version_refresh()  # re-read the data version now, not in a few seconds
    assert client.get(AREA)["ETag"] == area_etag
    assert client.get(AREA, HTTP_IF_NONE_MATCH=area_etag).status_code == 304
    mine = f"/api/v1/custom-areas/{first.json()['id']}/"
    got = client.get(mine)
    mine_etag = got["ETag"]
    assert got.status_code == 200 and mine_etag.startswith('W/"')
    created = datetime.datetime.fromisoformat(first.json()["created_at"].replace("Z", "+00:00"))
    assert got["Last-Modified"] == datetime.datetime.fromtimestamp(int(created.timestamp()), datetime.UTC).strftime(
        "%a, %d %b %Y %H:%M:%S GMT")
    assert client.get(mine, HTTP_IF_NONE_MATCH=mine_etag).status_code == 304
    # Another user's area changes nothing here; staff renaming this one changes its tag.
    author.post("/api/v1/custom-areas/", {"name": "Other", "codes": ["E01005061"]}, format="json")
    caching.data_version_refresh()
    assert client.get(mine)["ETag"] == mine_etag and client.get(AREA)["ETag"] == area_etag
    CustomArea.objects.filter(id=first.json()["id"]).update(name="Town centre")
    renamed = client.get(mine, HTTP_IF_NONE_MATCH=mine_etag)
    assert renamed.status_code == 200 and renamed.json()["name"] == "Town centre" and renamed["ETag"] != mine_etag


# -- API key and token together --------------------------------------------------------------
@levelup(QUOTAS_ENABLED=True)
def test_a_key_sets_the_quota_and_a_token_the_permission(token):
    _, key = api_key_make(name="dashboard")
    client = APIClient()
    created = client.post("/api/v1/custom-areas/", {"name": "Mine", "codes": ["E01005061"]}, format="json",
                          HTTP_X_API_KEY=key, HTTP_AUTHORIZATION=f"Token {token}")
    assert created.status_code == 201, created.content
    assert created.json()["member_count"] == 1
    assert (created["X-RateLimit-Limit"], created["X-RateLimit-Remaining"]) == ("600", "599")
    _, partner = api_key_make(name="partner", tier="partner")
    read = client.get(AREA, HTTP_X_API_KEY=partner, HTTP_AUTHORIZATION=f"Token {token}")
    assert read.status_code == 200 and read["X-RateLimit-Limit"] == "6000"
    # Either one wrong is a 401, whichever is right.
    error_of(client.post("/api/v1/custom-areas/", {"name": "x", "codes": ["E01005061"]}, format="json",
                         HTTP_X_API_KEY=key + "x", HTTP_AUTHORIZATION=f"Token {token}"), 401, "authentication_failed")
    error_of(client.get(AREA, HTTP_X_API_KEY=key, HTTP_AUTHORIZATION="Token nope"), 401, "authentication_failed")
    # A key alone reads, with its quota, but does not write.
    assert client.get(AREA, HTTP_X_API_KEY=key)["X-RateLimit-Limit"] == "600"
    error_of(client.post("/api/v1/custom-areas/", {"name": "x", "codes": ["E01005061"]}, format="json",
                         HTTP_X_API_KEY=key), 401, "not_authenticated")


def test_cors_preflight_allows_the_api_key_and_conditional_headers(client):
    preflight = client.options("/api/v1/custom-areas/", HTTP_ORIGIN="https://dashboard.example.org",
                               HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
                               HTTP_ACCESS_CONTROL_REQUEST_HEADERS="x-api-key, authorization, content-type")
    assert preflight.status_code == 200 and preflight["Access-Control-Allow-Origin"] == "*"
    allowed = {h.strip() for h in preflight["Access-Control-Allow-Headers"].split(",")}
    assert {"x-api-key", "authorization", "content-type", "if-none-match"} <= allowed
    assert "POST" in preflight["Access-Control-Allow-Methods"]
    read = client.get(AREA, HTTP_ORIGIN="https://dashboard.example.org")
    assert "X-Request-ID" in read["Access-Control-Expose-Headers"]


# -- CSV, request ids -----------------------------------------------------------------------
def test_csv_is_text_csv_in_utf8(client):
    for path, params in (("/api/v1/areas/", {"type": "RGN", "format": "csv"}),
                         ("/api/v1/observations/", {"indicator": "gross-median-weekly-pay", "area": "E06000009",
                                                    "format": "csv"})):
        response = client.get(path, params)
        assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8", path
        assert b"".join(response.streaming_content).count(b"\n") >= 2


def test_request_ids_are_echoed_only_when_sane(client):
    assert client.get("/healthz", HTTP_X_REQUEST_ID="lb-7f3a.42")["X-Request-ID"] == "lb-7f3a.42"
    for insane in ("has spaces in it", "x" * 200, "<script>", ""):
        given = client.get("/healthz", HTTP_X_REQUEST_ID=insane)["X-Request-ID"]
        assert given != insane and re.fullmatch(r"[0-9a-f]{32}", given)


# -- /metrics ----------------------------------------------------------------------------------
@levelup(QUOTAS_ENABLED=True)
def test_metrics_are_for_staff_by_default(client, token):
    error_of(client.get("/metrics"), 403, "not_authenticated")
    client.force_login(User.objects.get(username="writer"))
    error_of(client.get("/metrics"), 403, "permission_denied")
    staff = User.objects.create_user("ops", password="x", is_staff=True)
    client.force_login(staff)
    scraped = client.get("/metrics")
    assert scraped.status_code == 200 and b"django_http_requests_total_by_view_transport_method_total" in scraped.content
    assert "X-RateLimit-Limit" not in scraped  # outside the quota
    by_token = Client().get("/metrics", HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=staff).key}")
    assert by_token.status_code == 200


def test_metrics_can_be_public_or_off(client, admin_user):
    with levelup(METRICS="public"):
        assert client.get("/metrics").status_code == 200
    client.force_login(admin_user)
    with levelup(METRICS="off"):
        error_of(client.get("/metrics"), 404, "not_found")


# -- Content-Security-Policy -----------------------------------------------------------------
def csp_of(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    directives = {}
    for part in policy.split(";"):
        name, *values = part.split()
        directives[name] = values
    assert not re.search(r"https?:", policy), policy  # no other origin
    return directives


def assert_inline_code_has_the_nonce(response):
    policy = csp_of(response)
    html = response.content.decode()
    nonces = {v.removeprefix("'nonce-").removesuffix("'") for v in policy["script-src"] if v.startswith("'nonce-")}
    for tag in re.findall(r"<(?:script|style)\b[^>]*>", html):
        if "src=" in tag:
            assert re.search(r'src="/[^/]', tag), tag  # served here, never from a CDN
        elif 'type="application/json"' not in tag:  # data, not code
            assert re.search(r'nonce="([^"]+)"', tag) and re.search(r'nonce="([^"]+)"', tag)[1] in nonces, tag
    for tag in re.findall(r"<link\b[^>]*>", html):
        assert re.search(r'href="/[^/]', tag), tag


def test_html_pages_carry_a_csp_that_allows_no_other_origin(client, admin_user):
    home = client.get("/")
    assert csp_of(home)["default-src"] == ["'self'"] and csp_of(home)["object-src"] == ["'none'"]
    assert_inline_code_has_the_nonce(home)
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert_inline_code_has_the_nonce(docs)
    init = client.get("/api/docs/", {"script": ""})  # Swagger UI's init script, as a file
    assert init.status_code == 200 and init["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in init.content
    graphiql = client.get("/graphql", HTTP_ACCEPT="text/html")
    assert graphiql.status_code == 200 and b"GRAPHENE_SETTINGS" in graphiql.content
    assert b"cdn." not in graphiql.content
    assert_inline_code_has_the_nonce(graphiql)
    assert client.get("/admin/login/")["Content-Security-Policy"]
    client.force_login(admin_user)
    admin = client.get("/admin/geographies/area/")
    assert admin.status_code == 200
    csp_of(admin)

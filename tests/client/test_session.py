"""The client's session: repeated pulls are revalidated with their ETags and cost 304s (hishel's
cache, in the cache directory), the cache can be turned off, the API key goes in X-API-Key from the
argument or LEVELUP_API_KEY, and the User-Agent names the client."""

from __future__ import annotations

import httpx
import pytest
from levelup_client import AuthenticationFailed, Client, NotFound, __version__

from tests.client.conftest import tapped

CACHE_FILE = "http-cache.sqlite"


@pytest.mark.django_db
def test_a_second_pull_costs_a_304(client, tap, tmp_path):
    sent = tap
    first = client.children("E08000003", type="LSOA", vintage="LSOA21").to_list()
    second = client.children("E08000003", type="LSOA", vintage="LSOA21").to_list()
    assert len(first) == 295 and second == first
    assert sent.statuses == [200, 304]
    etag = sent.responses[0].headers["ETag"]
    assert sent.requests[1].headers["If-None-Match"] == etag
    assert client.stats["200"] == 1 and client.stats["304"] == 1
    # what hishel says about each answer, on the response the caller gets
    response = client.session.send(
        "GET", "/api/v1/areas/E08000003/children/", params={"type": "LSOA", "vintage": "LSOA21"}
    )
    assert response.status_code == 200 and len(response.json()["results"]) == 295
    assert response.extensions["caching"] == {"from_cache": True, "revalidated": True, "stored": False}
    assert (tmp_path / "cache" / CACHE_FILE).exists()


@pytest.mark.django_db
def test_the_cache_outlives_the_client(live_api, tmp_path):
    with Client(live_api, cache_dir=tmp_path) as api:
        blackpool = api.area("E06000009")
    api, sent = tapped(live_api, cache_dir=tmp_path)
    with api:
        assert api.area("E06000009") == blackpool
    assert sent.statuses == [304]


@pytest.mark.django_db
def test_without_the_cache_every_pull_is_a_200(live_api, tmp_path):
    api, sent = tapped(live_api, cache=False, cache_dir=tmp_path)
    with api:
        api.area("E06000009")
        api.area("E06000009")
    assert sent.statuses == [200, 200]
    assert all("If-None-Match" not in r.headers for r in sent.requests)
    assert not (tmp_path / CACHE_FILE).exists()


@pytest.mark.django_db
def test_without_revalidation_a_fresh_entry_is_used_unasked(live_api, tmp_path):
    api, sent = tapped(live_api, cache_dir=tmp_path, revalidate=False)
    with api:
        first, second = api.area("E06000009"), api.area("E06000009")
    assert first == second
    assert sent.statuses == [200]  # the server's max-age (300 s) lets the second be answered locally
    assert api.stats["cache"] == 1


@pytest.mark.django_db
def test_an_error_is_raised_with_the_api_s_words(client):
    with pytest.raises(NotFound) as caught:
        client.area("E99999999")
    assert caught.value.status == 404 and caught.value.error == "not_found"
    assert "E99999999" in caught.value.message


# -- the API key and the User-Agent ----------------------------------------------------------------------------
def _echo():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"code": "E06000009", "name": "Blackpool"})

    return httpx.MockTransport(handler), seen


@pytest.mark.parametrize(
    "argument,env,sent",
    [
        ("abc123.secret", None, "abc123.secret"),
        (None, "fromenv.secret", "fromenv.secret"),
        ("abc123.secret", "fromenv.secret", "abc123.secret"),  # the argument wins
        (None, None, None),
        ("", "fromenv.secret", None),  # an empty argument means anonymous, whatever the environment says
    ],
)
def test_the_api_key_is_sent_as_x_api_key(monkeypatch, argument, env, sent):
    if env is None:
        monkeypatch.delenv("LEVELUP_API_KEY", raising=False)
    else:
        monkeypatch.setenv("LEVELUP_API_KEY", env)
    transport, seen = _echo()
    with Client("http://api.test", api_key=argument, transport=transport, cache=False) as api:
        api.area("E06000009")
    assert seen[0].headers.get("X-API-Key") == sent
    assert seen[0].headers["User-Agent"] == f"levelup-client/{__version__}"


@pytest.fixture(scope="module")
def api_key(django_db_setup, django_db_blocker):
    """A real key of the standard tier, committed to the test database (the live servers read it
    from there), deleted after."""
    from levelup_api.core.quotas import api_key_make

    with django_db_blocker.unblock():
        key, secret = api_key_make(name="levelup-client test")
    yield secret
    with django_db_blocker.unblock():
        key.delete()


@pytest.mark.django_db
def test_a_real_key_raises_the_quota(quota_api, api_key, tmp_path, monkeypatch):
    monkeypatch.setenv("LEVELUP_API_KEY", api_key)
    keyed, sent_keyed = tapped(quota_api, cache=False)
    anonymous, sent_anonymous = tapped(quota_api, cache=False, api_key="")
    with keyed, anonymous:
        keyed.area("E06000009")
        anonymous.area("E06000009")
    assert sent_keyed.responses[0].headers["X-RateLimit-Limit"] == "600"  # the standard tier
    assert sent_anonymous.responses[0].headers["X-RateLimit-Limit"] == "2"


@pytest.mark.django_db
def test_a_bad_key_is_refused_by_name(live_api, tmp_path):
    with (
        Client(live_api, api_key="deadbeef.nothing", cache=False) as api,
        pytest.raises(AuthenticationFailed) as caught,
    ):
        api.area("E06000009")
    assert caught.value.status == 401 and caught.value.error == "authentication_failed"


def test_a_next_link_to_another_origin_is_followed_on_ours(monkeypatch):
    """A `next` built by a proxy with another host is rebased on the client's base URL, so the key is
    never sent anywhere else."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if "page=2" in str(request.url):
            return httpx.Response(200, json={"count": 2, "next": None, "results": [{"code": "E2", "name": "Two"}]})
        return httpx.Response(
            200,
            json={
                "count": 2,
                "next": "http://internal:9000/api/v1/areas/?page=2",
                "results": [{"code": "E1", "name": "One"}],
            },
        )

    with Client("https://api.test", api_key="k.secret", transport=httpx.MockTransport(handler), cache=False) as api:
        assert [a.code for a in api.areas()] == ["E1", "E2"]
    assert [str(r.url) for r in seen] == ["https://api.test/api/v1/areas/", "https://api.test/api/v1/areas/?page=2"]
    assert all(r.headers["X-API-Key"] == "k.secret" for r in seen)

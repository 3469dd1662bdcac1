"""Compression: bodies gzipped at LEVELUP["GZIP_LEVEL"] when the client accepts gzip, kept
documents compressed once and sent as they are, streamed CSV compressed as Django does."""

import gzip

import pytest
from django.core.cache import caches

from levelup_api.core.compression import KEPT_LEVEL, gzipped

pytestmark = pytest.mark.django_db

GZIP = {"HTTP_ACCEPT_ENCODING": "gzip, deflate, br"}


def test_a_json_body_is_gzipped_when_asked_and_decompresses_to_the_same_bytes(client):
    plain = client.get("/api/v1/areas/", {"type": "LAD", "vintage": "LAD23"})
    packed = client.get("/api/v1/areas/", {"type": "LAD", "vintage": "LAD23"}, **GZIP)
    assert "Content-Encoding" not in plain and packed["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in plain["Vary"] and "Accept-Encoding" in packed["Vary"]
    assert gzip.decompress(packed.content) == plain.content and len(plain.json()["results"]) == 361
    assert int(packed["Content-Length"]) == len(packed.content) < len(plain.content) / 4
    small = client.get("/api/ping", **GZIP)
    assert "Content-Encoding" not in small  # under 200 bytes: as it is


def test_a_kept_profile_is_compressed_once_and_sent_as_it_is(client, settings):
    settings.LEVELUP = {**settings.LEVELUP, "PROFILE_CACHE": True}
    caches["profiles"].clear()
    first = client.get("/api/v1/areas/E06000009/profile/", **GZIP)  # built, compressed as any body
    plain = client.get("/api/v1/areas/E06000009/profile/")
    second = client.get("/api/v1/areas/E06000009/profile/", **GZIP)  # compressed at 6, kept
    third = client.get("/api/v1/areas/E06000009/profile/", **GZIP)
    assert first["Content-Encoding"] == second["Content-Encoding"] == third["Content-Encoding"] == "gzip"
    assert gzip.decompress(first.content) == gzip.decompress(second.content) == plain.content
    assert second.content == third.content == gzipped(plain.content, KEPT_LEVEL)  # compressed once, at 6
    assert len(second.content) < len(first.content)  # level 6 against the per-request level 1
    assert len(plain.json()["indicators"]) == 121 and "Accept-Encoding" in plain["Vary"]


def test_a_streamed_csv_is_compressed_too(client):
    response = client.get("/api/v1/areas/", {"vintage": "LAD23", "format": "csv"}, **GZIP)
    assert response["Content-Encoding"] == "gzip"
    lines = gzip.decompress(b"".join(response.streaming_content)).decode().splitlines()
    assert lines[0].startswith("code,name") and len(lines) == 1 + 361

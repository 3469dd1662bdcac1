"""Read quotas: anonymous clients by IP, API-key holders by their key's tier, with the standard
quota headers on every answer and `Retry-After` on a 429 (DRF's throttling does the counting).
A key sets the quota and nothing else: who the user is (for writes) comes from a token or a
session, so a client may send both."""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets

from django.conf import settings
from django.http import JsonResponse
from rest_framework import authentication, exceptions
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from .models import ApiKey

HEADER = "HTTP_X_API_KEY"


def api_key_make(*, name: str, tier: str = ApiKey.Tier.STANDARD) -> tuple[ApiKey, str]:
    """A new key; the clear text is returned once and never stored."""
    prefix = secrets.token_hex(4)
    secret = f"{prefix}.{secrets.token_urlsafe(24)}"
    key = ApiKey.objects.create(name=name, tier=tier, prefix=prefix,
                                key_hash=hashlib.sha256(secret.encode()).hexdigest())
    return key, secret


def api_key_from(request) -> ApiKey | None:
    """The active key named by X-API-Key (checked once per request), None without the header;
    AuthenticationFailed (a 401) for an unknown or inactive one."""
    django_request = getattr(request, "_request", request)
    if hasattr(django_request, "levelup_api_key"):
        return django_request.levelup_api_key
    raw = django_request.META.get(HEADER)
    key = None
    if raw:
        key = ApiKey.objects.filter(prefix=raw.split(".", 1)[0], active=True).first()
        if key is None or not hmac.compare_digest(key.key_hash, hashlib.sha256(raw.encode()).hexdigest()):
            raise exceptions.AuthenticationFailed("unknown or inactive API key")
    django_request.levelup_api_key = key
    return key


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """`X-API-Key: <key>`. A key raises the read quota; it is not a login, so this never
    authenticates anyone: it refuses a bad key with a 401 and lets the token or session
    authenticators (which come first in DEFAULT_AUTHENTICATION_CLASSES) say who the user is.
    Listed so that drf-spectacular describes the header (levelup_api.core.openapi.ApiKeyScheme)."""

    def authenticate(self, request):
        api_key_from(request)
        return None

    def authenticate_header(self, request):
        return "X-API-Key"


class QuotaThrottle(SimpleRateThrottle):
    """Per-IP for anonymous clients, per key for key holders; rates from LEVELUP["QUOTAS"]."""

    scope = "anon"

    def get_rate(self):
        return settings.LEVELUP["QUOTAS"]["anon"]

    def allow_request(self, request, view):
        key = api_key_from(request)  # a bad key is a 401 whether or not quotas are counted
        if not settings.LEVELUP["QUOTAS_ENABLED"]:
            return True
        self.rate = settings.LEVELUP["QUOTAS"][key.tier if key else "anon"]
        self.num_requests, self.duration = self.parse_rate(self.rate)
        allowed = super().allow_request(request, view)
        oldest = self.history[-1] if self.history else self.now
        remaining = max(0, self.num_requests - len(self.history))
        request._request.levelup_quota = (self.num_requests, remaining,
                                          max(0, int(oldest + self.duration - self.now + 0.999)))
        return allowed

    def get_cache_key(self, request, view):
        key = api_key_from(request)
        if key is not None:
            return f"quota:key:{key.pk}"
        return f"quota:ip:{self.get_ident(request)}"


def _graphql_refusal(status: int, message: str, error: str | None = None) -> JsonResponse:
    """The API's error shape, with the `errors` list a GraphQL client reads."""
    from .errors import error_body  # not at the top: DRF imports this module while rest_framework.views loads

    return JsonResponse(error_body(status, message, error=error, errors=[{"message": message}]), status=status)


def quota_refusal(request) -> JsonResponse | None:
    """The REST API's quota for a view outside DRF (GraphQL): the same key check and counters, the
    same headers; None when the request may go on, else a 401 or 429."""
    if not settings.LEVELUP["QUOTAS_ENABLED"]:
        return None
    wrapped = Request(request)
    try:
        api_key_from(wrapped)
    except exceptions.AuthenticationFailed as exc:
        return _graphql_refusal(401, str(exc.detail), error="authentication_failed")
    throttle = QuotaThrottle()
    if throttle.allow_request(wrapped, None):
        return None
    wait = math.ceil(throttle.wait() or 1)
    refused = _graphql_refusal(429, f"Request was throttled: {throttle.rate}. Expected available in {wait} seconds.")
    refused["Retry-After"] = str(wait)
    return refused


class QuotaHeadersMiddleware:
    """Copies the throttle's verdict onto the response: X-RateLimit-Limit, -Remaining, -Reset."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        quota = getattr(request, "levelup_quota", None)
        if quota is not None:
            limit, remaining, reset = quota
            response["X-RateLimit-Limit"] = str(limit)
            response["X-RateLimit-Remaining"] = str(remaining)
            response["X-RateLimit-Reset"] = str(reset)
        return response

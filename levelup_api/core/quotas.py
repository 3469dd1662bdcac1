"""Read quotas: anonymous clients by IP, API-key holders by their key's tier, with the standard
quota headers on every answer and `Retry-After` on a 429 (DRF's throttling does the counting)."""

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


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """`X-API-Key: <key>`. A key raises the read quota; it is not a login (writes need a token)."""

    def authenticate(self, request):
        raw = request.META.get(HEADER)
        if not raw:
            return None
        prefix = raw.split(".", 1)[0]
        key = ApiKey.objects.filter(prefix=prefix, active=True).first()
        if key is None or not hmac.compare_digest(key.key_hash, hashlib.sha256(raw.encode()).hexdigest()):
            raise exceptions.AuthenticationFailed("unknown or inactive API key")
        return (None, key)

    def authenticate_header(self, request):
        return "X-API-Key"


class QuotaThrottle(SimpleRateThrottle):
    """Per-IP for anonymous clients, per key for key holders; rates from LEVELUP["QUOTAS"]."""

    scope = "anon"

    def get_rate(self):
        return settings.LEVELUP["QUOTAS"]["anon"]

    def allow_request(self, request, view):
        if not settings.LEVELUP["QUOTAS_ENABLED"]:
            return True
        key = request.auth if isinstance(request.auth, ApiKey) else None
        self.rate = settings.LEVELUP["QUOTAS"][key.tier if key else "anon"]
        self.num_requests, self.duration = self.parse_rate(self.rate)
        allowed = super().allow_request(request, view)
        oldest = self.history[-1] if self.history else self.now
        remaining = max(0, self.num_requests - len(self.history))
        request._request.levelup_quota = (self.num_requests, remaining,
                                          max(0, int(oldest + self.duration - self.now + 0.999)))
        return allowed

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiKey):
            return f"quota:key:{request.auth.pk}"
        return f"quota:ip:{self.get_ident(request)}"


def quota_refusal(request) -> JsonResponse | None:
    """The REST API's quota for a view outside DRF (GraphQL): the same key check and counters, the
    same headers; None when the request may go on, else the GraphQL-shaped 401 or 429."""
    if not settings.LEVELUP["QUOTAS_ENABLED"]:
        return None
    wrapped = Request(request, authenticators=[ApiKeyAuthentication()])
    try:
        wrapped.auth  # noqa: B018  (authenticates the key, if one is given)
    except exceptions.AuthenticationFailed as exc:
        return JsonResponse({"errors": [{"message": str(exc.detail)}]}, status=401)
    throttle = QuotaThrottle()
    if throttle.allow_request(wrapped, None):
        return None
    wait = math.ceil(throttle.wait() or 1)
    refused = JsonResponse({"errors": [{"message": f"Request was throttled: {throttle.rate}. "
                                                   f"Expected available in {wait} seconds."}]}, status=429)
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

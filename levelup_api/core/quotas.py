"""Read quotas: anonymous clients by IP, API-key holders by their key's tier, with the standard
quota headers on every answer and `Retry-After` on a 429. The counting is levelup_api.core.counters
(Redis, one round trip per request); a key verified once is remembered in the process for
LEVELUP["API_KEY_CACHE_SECONDS"], and forgotten as soon as it is changed or deleted (a trigger
notifies every process: levelup_api.core.notify), so a request costs no SQL statement for either.
A key sets the quota and nothing else: who the user is (for writes) comes from a token or a
session, so a client may send both."""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import threading
import time

from django.conf import settings
from django.http import JsonResponse
from rest_framework import authentication, exceptions
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from . import notify
from .counters import Verdict, counter
from .models import ApiKey

HEADER = "HTTP_X_API_KEY"
CHANNEL = "levelup_api_keys"


def api_key_make(*, name: str, tier: str = ApiKey.Tier.STANDARD) -> tuple[ApiKey, str]:
    """A new key; the clear text is returned once and never stored."""
    prefix = secrets.token_hex(4)
    secret = f"{prefix}.{secrets.token_urlsafe(24)}"
    key = ApiKey.objects.create(name=name, tier=tier, prefix=prefix,
                                key_hash=hashlib.sha256(secret.encode()).hexdigest())
    api_key_forget(prefix)
    return key, secret


# prefix -> (when it was read, the active key with that prefix or None). Unknown prefixes are
# remembered too, so a client repeating a bad key costs no query either; bounded, since a client
# can invent prefixes without end.
_known: dict[str, tuple[float, ApiKey | None]] = {}
_known_lock = threading.Lock()
KNOWN_MAX = 10_000


def api_key_forget(prefix: str | None = None) -> None:
    """Drop a remembered key (all of them without a prefix): after it was changed or deleted."""
    with _known_lock:
        if prefix is None:
            _known.clear()
        else:
            _known.pop(prefix, None)


def _key_pushed(payload: str | None, conn) -> None:
    """The listener's handler: a key changed (its prefix), or the listener (re)connected (None)."""
    api_key_forget(payload)


notify.subscribe(CHANNEL, _key_pushed)


def _active_key(prefix: str) -> ApiKey | None:
    ttl = settings.LEVELUP["API_KEY_CACHE_SECONDS"]
    notify.listener()  # started here too, so that a deactivated key is forgotten at once
    now = time.monotonic()
    known = _known.get(prefix)
    if known is not None and now - known[0] < ttl:
        return known[1]
    key = ApiKey.objects.filter(prefix=prefix, active=True).first()
    if ttl > 0:
        with _known_lock:
            if len(_known) >= KNOWN_MAX:
                _known.clear()
            _known[prefix] = (now, key)
    return key


def api_key_from(request) -> ApiKey | None:
    """The active key named by X-API-Key (checked once per request), None without the header;
    AuthenticationFailed (a 401) for an unknown or inactive one."""
    django_request = getattr(request, "_request", request)
    if hasattr(django_request, "levelup_api_key"):
        return django_request.levelup_api_key
    raw = django_request.META.get(HEADER)
    key = None
    if raw:
        prefix = raw.split(".", 1)[0]
        # Keys are made with a short hex prefix: anything else cannot be one, and is not looked up.
        if prefix.isascii() and prefix.isalnum() and len(prefix) <= 12:
            key = _active_key(prefix)
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
    """Per-IP for anonymous clients, per key for key holders; rates from LEVELUP["QUOTAS"], counted
    by levelup_api.core.counters (DRF's parse_rate and get_ident, none of its cache)."""

    scope = "anon"
    verdict: Verdict | None = None

    def get_rate(self):
        return settings.LEVELUP["QUOTAS"]["anon"]

    def allow_request(self, request, view):
        key = api_key_from(request)  # a bad key is a 401 whether or not quotas are counted
        if not settings.LEVELUP["QUOTAS_ENABLED"]:
            return True
        # A view may be counted apart (`quota_scope`: map tiles, a dozen or two per view of a map,
        # from browsers that cannot send a key), at its own rate for every client.
        scope = getattr(view, "quota_scope", None)
        self.rate = settings.LEVELUP["QUOTAS"][scope or (key.tier if key else "anon")]
        self.num_requests, self.duration = self.parse_rate(self.rate)
        bucket = self.get_cache_key(request, view)
        if scope:
            bucket = bucket.replace("quota:", f"quota:{scope}:", 1)
        self.verdict = counter().hit(bucket, self.num_requests, self.duration)
        request._request.levelup_quota = (self.num_requests, self.verdict.remaining,
                                          max(0, int(self.verdict.reset + 0.999)))
        return self.verdict.allowed

    def wait(self):
        """Seconds until a request would be counted again: when the oldest in the window leaves it."""
        if self.verdict is None or self.verdict.allowed:
            return None
        return self.verdict.reset

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

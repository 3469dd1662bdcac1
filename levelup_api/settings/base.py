"""Base settings, driven by environment variables so one codebase serves dev, test and production."""

import os
from pathlib import Path

import dj_database_url
from corsheaders.defaults import default_headers as default_cors_headers
from csp.constants import NONCE, NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-insecure-key-change-me")
DEBUG = os.environ.get("DEBUG", "0") == "1"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "django.contrib.postgres",
    "corsheaders",
    "csp",
    "django_prometheus",
    "rest_framework",
    "rest_framework.authtoken",
    "rest_framework_gis",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "graphene_django",
    "simple_history",
    "levelup_api.core",
    "geographies",
    "indicators",
    "missions",
    "explorer",
]

MIDDLEWARE = [
    # Prometheus: request counts, latencies and status codes per view, at /metrics.
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "levelup_api.core.middleware.RequestLogMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    # After CORS, so that a browser on another origin can read the 414 or 413.
    "levelup_api.core.middleware.URILengthMiddleware",
    "levelup_api.core.middleware.BodySizeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy on every response (settings below); HTML pages use its nonce.
    "csp.middleware.CSPMiddleware",
    # Large JSON and CSV bodies compress ~5-10x; public data, so no secret to leak (BREACH).
    "levelup_api.core.compression.GZipMiddleware",
    # Serves admin and API-docs assets under gunicorn without a separate web server.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "levelup_api.core.middleware.RejectNulBytesMiddleware",
    # Before sessions, auth and quotas: a 304 costs one cached query and counts against nothing.
    "levelup_api.core.caching.ConditionalGetMiddleware",
    "levelup_api.core.replicas.PrimaryForWritesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "levelup_api.core.quotas.QuotaHeadersMiddleware",
    # Inside CommonMiddleware, which sets Content-Length after it has rewritten a body.
    "levelup_api.core.middleware.GraphQLErrorShapeMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

# Shared state outside PostgreSQL lives in Redis: the quota counters (levelup_api/core/counters.py,
# LEVELUP["REDIS_URL"]). REDIS_URL=locmem:// keeps it in each process instead (one process only).
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
CACHES = {
    # Nothing uses Django's default cache today; it is at REDIS_URL like everything shared.
    "default": ({"BACKEND": "django.core.cache.backends.locmem.LocMemCache"} if REDIS_URL.startswith("locmem:")
                else {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL,
                      "KEY_PREFIX": "levelup:cache"}),
    # Per process: rendered profile documents (levelup_api.core.caching.rendered_once), by data version.
    "profiles": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "levelup-profiles",
                 "TIMEOUT": 3600, "OPTIONS": {"MAX_ENTRIES": int(os.environ.get("LEVELUP_PROFILE_CACHE_ENTRIES", "1000"))}},
    # Vector tiles kept per data version (indicators.api.tiles): a national LSOA tile at zoom 8 is
    # 180 KB and 40 ms of ST_AsMVT; 500 of them are under 100 MB a process.
    "tiles": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "levelup-tiles",
              "TIMEOUT": 3600, "OPTIONS": {"MAX_ENTRIES": int(os.environ.get("LEVELUP_TILE_CACHE_ENTRIES", "500"))}},
}

ROOT_URLCONF = "levelup_api.urls"
WSGI_APPLICATION = "levelup_api.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # Searched before the apps' own templates, so that the pages graphene-django and
        # drf-spectacular render can be given the CSP nonce and local assets (levelup_api/core/templates).
        "DIRS": [BASE_DIR / "levelup_api" / "core" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", "postgis://postgres@127.0.0.1:5432/levelup"),
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
# Streaming replicas for reads (levelup_api/core/replicas.py): DATABASE_REPLICA_URLS, comma-separated.
for _n, _url in enumerate(u.strip() for u in os.environ.get("DATABASE_REPLICA_URLS", "").split(",") if u.strip()):
    DATABASES[f"replica_{_n + 1}"] = dj_database_url.parse(_url, conn_max_age=60, conn_health_checks=True)
    DATABASES[f"replica_{_n + 1}"]["TEST"] = {"MIRROR": "default"}
    DATABASES[f"replica_{_n + 1}"]["OPTIONS"] = {"connect_timeout": 2, "application_name": "levelup-replica-read"}
# The planner's cost of a random page read (PostgreSQL's default, 4, is for spinning disks): this
# database is read from memory or SSD, where an index read of a few hundred rows beats scanning the
# 65,828 areas (a district's children counted in 1.7 ms, not 13). LEVELUP_RANDOM_PAGE_COST=4 for
# PostgreSQL's default.
RANDOM_PAGE_COST = float(os.environ.get("LEVELUP_RANDOM_PAGE_COST", "1.1"))
# JIT compilation off: these statements run in milliseconds, but a plan over many release partitions
# (indicators.partitions) has a total cost that crosses jit_above_cost, and compiling its ~950
# expressions took 10 s of a 10 s aggregate (EXPLAIN ANALYZE: "JIT: Functions: 948").
# dj-database-url maps postgis:// to the GeoDjango backend; make sure a plain postgres:// URL does too.
for _db in DATABASES.values():
    _db["ENGINE"] = "django.contrib.gis.db.backends.postgis"
    _db.setdefault("OPTIONS", {})["options"] = f"-c random_page_cost={RANDOM_PAGE_COST:g} -c jit=off"
DATABASE_ROUTERS = ["levelup_api.core.replicas.ReplicaRouter"]

# Debian's GDAL/GEOS are found by ctypes; allow an override for unusual installs.
if os.environ.get("GDAL_LIBRARY_PATH"):
    GDAL_LIBRARY_PATH = os.environ["GDAL_LIBRARY_PATH"]
if os.environ.get("GEOS_LIBRARY_PATH"):
    GEOS_LIBRARY_PATH = os.environ["GEOS_LIBRARY_PATH"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# GeoDjango warns (gis.W001) that Debian's GDAL 3.6 is older than it tests against; it works here.
SILENCED_SYSTEM_CHECKS = ["gis.W001"]

# Where the real open data lives. Read at run and test time, never copied into the repository.
LEVELUP_DATA_DIR = Path(os.environ.get("LEVELUP_DATA_DIR", BASE_DIR.parent / "shared" / "data")).resolve()

# Project-specific knobs, in one namespaced dict.
LEVELUP = {
    "FIXTURES_DIR": BASE_DIR / "fixtures",
    "MAX_PAGE_SIZE": int(os.environ.get("LEVELUP_MAX_PAGE_SIZE", "10000")),
    "DEFAULT_PAGE_SIZE": int(os.environ.get("LEVELUP_DEFAULT_PAGE_SIZE", "1000")),
    # Tolerance passed to ST_Subdivide: vertices per piece of the point-lookup index.
    "SUBDIVIDE_MAX_VERTICES": 64,
    # Read quotas (DRF rate strings): anonymous clients per IP, key holders per key tier, counted
    # in Redis under REDIS_PREFIX (locmem://: per process); a verified key is remembered per
    # process for API_KEY_CACHE_SECONDS (forgotten at once when changed: a trigger notifies).
    "QUOTAS_ENABLED": os.environ.get("LEVELUP_QUOTAS", "on") != "off",
    "REDIS_URL": REDIS_URL,
    "REDIS_PREFIX": os.environ.get("LEVELUP_REDIS_PREFIX", "levelup:"),
    # Up to this many of a busy client's requests are counted in one Redis round trip and spent in
    # the process (a hundredth of its quota at most; levelup_api.core.counters). 1: one round trip
    # per request.
    "QUOTA_LEASE": int(os.environ.get("LEVELUP_QUOTA_LEASE", "100")),
    # gzip level of bodies compressed per request (levelup_api.core.compression; kept documents are
    # compressed once at 6).
    "GZIP_LEVEL": int(os.environ.get("LEVELUP_GZIP_LEVEL", "1")),
    "API_KEY_CACHE_SECONDS": float(os.environ.get("LEVELUP_API_KEY_CACHE_SECONDS", "30")),
    # HTTP caching: ETags from the data version, pushed by PostgreSQL to a listener thread per
    # process (LISTEN/NOTIFY on the primary); while that is not connected (or with
    # LEVELUP_DATA_VERSION_LISTEN=off), re-read at most every DATA_VERSION_SECONDS.
    "HTTP_CACHING": True,
    "DATA_VERSION_LISTEN": os.environ.get("LEVELUP_DATA_VERSION_LISTEN", "on") != "off",
    "DATA_VERSION_SECONDS": float(os.environ.get("LEVELUP_DATA_VERSION_SECONDS", "2")),
    # Rendered profile documents, deprivation-summary peers and each slice's latest periods kept
    # per process for the data version (off: built on every request, from the profile facts).
    "PROFILE_CACHE": os.environ.get("LEVELUP_PROFILE_CACHE", "on").lower() not in ("0", "off", "false", "no"),
    "CACHE_MAX_AGE": 300,
    # GraphQL: estimated cost limit (field values), list sizes assumed for unpaged list fields,
    # the page assumed when first/last is a variable, and a statement timeout per request.
    "GRAPHQL_MAX_COST": 500_000,
    "GRAPHQL_LIST_SIZES": {"children": 1000, "observations": 50, "profile": 250, "series": 50, "members": 5000,
                           "rows": 400, "missions": 12, "metrics": 10, "targets": 5, "edges": 1},
    "GRAPHQL_DEFAULT_PAGE": 100,
    "GRAPHQL_STATEMENT_TIMEOUT_MS": int(os.environ.get("LEVELUP_GRAPHQL_TIMEOUT_MS", "10000")),
    # GraphQL documents (levelup_api/core/graphql_limits.py): bytes before parsing, tokens (and
    # comments) while parsing, fragments defined, then with every fragment counted where it is
    # spread: nesting depth, fields, aliases, and fields merged at one response path
    # (graphql-core's overlap check is quadratic in fragments and in merged fields).
    "GRAPHQL_MAX_QUERY_BYTES": int(os.environ.get("LEVELUP_GRAPHQL_MAX_QUERY_BYTES", "20000")),
    "GRAPHQL_MAX_TOKENS": 2000,
    "GRAPHQL_MAX_FRAGMENTS": 50,
    "GRAPHQL_MAX_DEPTH": 10,
    "GRAPHQL_MAX_FIELDS": 1000,
    "GRAPHQL_MAX_ALIASES": 100,
    "GRAPHQL_MAX_REPEATS": 10,
    # "tiles": map tiles (indicators/api/tiles.py `quota_scope`), counted apart and at one rate for
    # every client, key or none: a browser panning a map asks for a dozen or two at a time.
    "QUOTAS": {"anon": os.environ.get("LEVELUP_ANON_RATE", "60/min"), "standard": "600/min", "partner": "6000/min",
               "tiles": os.environ.get("LEVELUP_TILES_RATE", "3000/min"),
               # Bulk downloads (indicators/api/datasets.py `quota_scope`), counted apart: a reader of a
               # remote Parquet file (DuckDB, Arrow) asks for it in many byte ranges.
               "downloads": os.environ.get("LEVELUP_DOWNLOADS_RATE", "600/min")},
    # Custom areas: at most this many small areas, and a drawn polygon at most this large.
    "CUSTOM_AREA_MAX_MEMBERS": 5000,
    # Replicas: how often a replica's health is checked per process, and the lag it may have.
    "REPLICA_CHECK_SECONDS": float(os.environ.get("LEVELUP_REPLICA_CHECK_SECONDS", "5")),
    "REPLICA_MAX_LAG_SECONDS": float(os.environ.get("LEVELUP_REPLICA_MAX_LAG_SECONDS", "30")),
    # Mission progress: the baseline is the first period starting on or after this date (the
    # White Paper used 2019-2022 figures).
    "MISSION_BASELINE_FROM": os.environ.get("LEVELUP_MISSION_BASELINE_FROM", "2019-01-01"),
    "CUSTOM_AREA_MAX_KM2": 20000,
    # Bulk files (indicators.bulk, docs/bulk.md): each dataset's current observations and the national
    # snapshot as Parquet and gzipped CSV, written here (a folder per database) after a load or a
    # publish (BULK_ON_LOAD; off: only `manage.py bulk_write` writes them).
    "BULK_DIR": Path(os.environ.get("LEVELUP_BULK_DIR", BASE_DIR / "var" / "bulk")).resolve(),
    "BULK_ON_LOAD": os.environ.get("LEVELUP_BULK_ON_LOAD", "on").lower() not in ("0", "off", "false", "no"),
    # Releases kept online per dataset (each a partition of indicators_observation): after a load,
    # releases beyond the newest this many are detached and dropped, logged (never the current one).
    # 0 keeps every release, for `as_of` and comparisons (indicators.services.releases_retire).
    "RELEASES_KEEP": int(os.environ.get("LEVELUP_RELEASES_KEEP", "0")),
    # The longest request URI (path and query string) answered; longer ones get a 414. gunicorn's
    # --limit-request-line (Makefile, Dockerfile: 8190, its maximum) must stay above it.
    "MAX_URI_LENGTH": int(os.environ.get("LEVELUP_MAX_URI_LENGTH", "8000")),
    # /metrics: "staff" (a staff session or a staff user's token), "public", or "off" (404).
    "METRICS": os.environ.get("LEVELUP_METRICS", "staff").lower(),
    # Populations that weight a value converted from predecessor areas (a merged district's rate
    # from its former districts'), tried after the indicator's own weight, in this order; the
    # period nearest the value's is taken.
    "CONVERSION_WEIGHTS": ["population-census-2021-ltla", "population-mid-2022", "population-mid-2023",
                           "population-mid-2020-lsoa11", "population-census-2021"],
}

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "levelup_api.core.schema.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_RENDERER_CLASSES": [
        "levelup_api.core.renderers.ORJSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PAGINATION_CLASS": "levelup_api.core.pagination.PageNumberPagination",
    "EXCEPTION_HANDLER": "levelup_api.core.errors.exception_handler",
    # A token or a session says who the user is; the API key (last: it never authenticates a user)
    # only sets the quota, so a client may send both.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
        "levelup_api.core.quotas.ApiKeyAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_THROTTLE_CLASSES": ["levelup_api.core.quotas.QuotaThrottle"],
    # Clients are told apart by the address that connects: X-Forwarded-For is trusted only for as
    # many proxies as LEVELUP_NUM_PROXIES says sit in front (none by default), so it cannot be forged.
    "NUM_PROXIES": int(os.environ.get("LEVELUP_NUM_PROXIES", "0")),
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Levelling Up open-data API",
    "DESCRIPTION": (
        "Granular, harmonised statistics for the UK Levelling Up missions. Geographies are keyed by "
        "GSS code and carry their boundary versions (vintages), hierarchies and code history, so a "
        "code that has ended still resolves and names its successors. All data is Open Government "
        "Licence v3.0 unless an indicator says otherwise.\n\n"
        "**Limits.** Anonymous clients may make 60 requests a minute per IP address (REST and GraphQL "
        "together); an API key "
        "(`X-API-Key` header; ask the service's staff) raises that to 600, or 6,000 for partners. Every "
        "response carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset`; over the "
        "limit the answer is 429 with `Retry-After`. Nothing is truncated silently: lists page with a "
        "`next` cursor, and CSV is complete.\n\n"
        "**Caching.** Every GET carries an `ETag` and `Last-Modified` that change only when data is loaded "
        "or edited; send `If-None-Match` with the tag you hold for a 304 (empty body), answered before any "
        "query and not counted against the quota (`If-Modified-Since` and the other preconditions are "
        "evaluated as RFC 9110 says, once the resource is known to exist). Large bodies are gzipped when "
        "asked (`Accept-Encoding: gzip`).\n\n"
        "**Parameters.** Each has one name on every endpoint; an unknown or repeated parameter is a 400 that "
        "names it (and the closest accepted name), numbers are ASCII digits, and old spellings marked "
        "`deprecated` still work, answered with a `Deprecation` header.\n\n"
        "**GraphQL** validates every document by the GraphQL specification and refuses (400, the message "
        "naming the limit) documents over 20,000 bytes or 2,000 tokens, more than 50 fragments, nesting "
        "deeper than 10 levels, connection pages over 1,000 items, more than 1,000 fields, 100 aliases or 10 "
        "copies of a field at one place (fragments counted wherever spread), and queries whose estimated "
        "size exceeds 500,000 field values; it stops any SQL statement after 10 s."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI assets ship with drf-spectacular-sidecar and are served locally (no CDN needed).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Choice sets the response serializers share under different field names.
    "ENUM_NAME_OVERRIDES": {
        "DirectionEnum": ["better", "worse", "no change"],
        "AggregationMethodEnum": "indicators.api.serializers.AGGREGATION_METHODS",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "levelup_api.core.openapi.describe_format_parameter",
        "levelup_api.core.schema.add_error_responses",
    ],
}

GRAPHENE = {
    "SCHEMA": "levelup_api.schema.schema",
    "RELAY_CONNECTION_MAX_LIMIT": 1000,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "formatters": {"json_line": {"format": "%(message)s"}},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # One JSON object per request (core.middleware.RequestLogMiddleware); LOG_REQUESTS=off silences it.
        "levelup.requests": {"handlers": ["requests"], "propagate": False,
                             "level": "INFO" if os.environ.get("LOG_REQUESTS", "on") != "off" else "WARNING"},
    },
}
LOGGING["handlers"]["requests"] = {"class": "logging.StreamHandler", "formatter": "json_line"}

# Serve static files straight from the installed apps as well, so a fresh `make run` needs no
# collectstatic step for the admin and Swagger UI to look right.
WHITENOISE_USE_FINDERS = True


# CORS: browsers on any origin may read the public API and GraphQL (open data); credentials are
# never shared cross-origin. CORS_ALLOWED_ORIGINS (comma-separated) narrows it to a list.
CORS_URLS_REGEX = r"^/(api/v1/|graphql)"
CORS_ALLOWED_ORIGINS = [o.strip() for o in os.environ.get("CORS_ALLOWED_ORIGINS", "").split(",") if o.strip()]
CORS_ALLOW_ALL_ORIGINS = not CORS_ALLOWED_ORIGINS
CORS_ALLOW_CREDENTIALS = False
CORS_EXPOSE_HEADERS = ["ETag", "Last-Modified", "Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining",
                       "X-RateLimit-Reset", "X-Request-ID"]
# What a browser app may send: the defaults, an API key, its own request id, and the validators
# of a conditional GET.
CORS_ALLOW_HEADERS = [*default_cors_headers, "x-api-key", "x-request-id", "if-none-match", "if-modified-since"]

# Request bodies: Django's default, stated because the 413 message quotes it.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440  # 2.5 MiB

# Content-Security-Policy (django-csp 4): nothing from another origin. Inline scripts and styles
# run only with the per-response nonce (the home page, GraphiQL's settings, Swagger UI's style).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        # Swagger UI and GraphiQL draw icons from data: URIs in their CSS.
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [SELF],
    },
}

# /metrics on its own port instead (django-prometheus starts one HTTP server per process, on the
# first free port of the range: give as many ports as processes, workers and commands included).
if os.environ.get("LEVELUP_METRICS_PORTS"):
    _low, _, _high = os.environ["LEVELUP_METRICS_PORTS"].partition("-")
    PROMETHEUS_METRICS_EXPORT_PORT_RANGE = range(int(_low), int(_high or _low) + 1)
    PROMETHEUS_METRICS_EXPORT_ADDRESS = os.environ.get("LEVELUP_METRICS_ADDRESS", "127.0.0.1")

# -- GraphQL compiled to SQL (levelup_api/core/graphql_sql.py, docs/graphql.md) ---------------------
# Queries made only of fields with declared SQL are answered by one statement; "off" sends every
# query to graphql-core (a request can ask for that itself with `X-GraphQL-Path: resolved`).
LEVELUP["GRAPHQL_COMPILED"] = os.environ.get("LEVELUP_GRAPHQL_COMPILED", "on").lower() not in ("0", "off", "false", "no")

"""Test settings: the same PostGIS database server, a throwaway test database."""

import os
import tempfile
import uuid
from pathlib import Path

from .base import *  # noqa: F401,F403

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
STATIC_ROOT = None  # nothing is collected in tests

# Quotas are tested on their own (tests/core/test_quotas_and_caching.py turns them on), counted in
# the real Redis under a prefix of this test run's own, so that runs side by side never meet
# (tests/conftest.py deletes its keys at the end).
LEVELUP["QUOTAS_ENABLED"] = False  # noqa: F405
LEVELUP["REDIS_PREFIX"] = f"levelup:test:{uuid.uuid4().hex[:12]}:"  # noqa: F405
CACHES = {**CACHES, "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}  # noqa: F405
# Tests run inside transactions, whose notifications are never delivered: the data version is
# polled, and re-read at once with caching.data_version_refresh(); tests/core/test_notify.py listens.
LEVELUP["DATA_VERSION_LISTEN"] = False  # noqa: F405
LEVELUP["HTTP_CACHING"] = False  # noqa: F405  (tests/core/test_quotas_and_caching.py turns it on)
LEVELUP["PROFILE_CACHE"] = False  # noqa: F405  (tests/missions/test_missions.py turns it on)

# One test database per checkout or helper when several suites run on one server (default test_levelup).
if os.environ.get("LEVELUP_TEST_DATABASE"):
    DATABASES["default"]["TEST"] = {"NAME": os.environ["LEVELUP_TEST_DATABASE"]}  # noqa: F405

# Bulk files (indicators.bulk): not written by the loads the tests make (tests/indicators/test_bulk.py
# writes them itself), and never into the checkout's var/bulk.
LEVELUP["BULK_ON_LOAD"] = False  # noqa: F405
LEVELUP["BULK_DIR"] = Path(tempfile.gettempdir()) / "levelup-test-bulk"  # noqa: F405  (a folder per database in it)

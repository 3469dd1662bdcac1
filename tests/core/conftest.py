"""Fixtures for the shared plumbing's tests (quotas, caching, HTTP)."""

import pytest
from django.core.cache import cache

from levelup_api.core import caching


@pytest.fixture
def fresh_counters():
    """Quota counters and the per-process data version start afresh, and are cleared after."""
    cache.clear()
    caching._cache.update(at=0.0, version=0.0)
    yield
    cache.clear()

"""Test set-up: the real geography and indicator files are loaded once per session into the test
database (a couple of minutes on a fresh database; seconds with --reuse-db, since unchanged files
are skipped)."""

from io import StringIO

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        call_command("load_geographies", stdout=StringIO())
        call_command("load_indicators", stdout=StringIO())
        call_command("load_missions", stdout=StringIO())


@pytest.fixture
def api(db) -> APIClient:
    return APIClient()


from tests.live_server import live_api  # noqa: E402,F401  (session fixture: a real gunicorn on the test database)

"""Test set-up: the real geography and indicator files are loaded once per session into the test
database (a couple of minutes on a fresh database; seconds with --reuse-db, since unchanged files
are skipped)."""

from io import StringIO

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    from django.db import connection

    # pytest-django sets up the test database only when a collected test asks for the database; a
    # session of tests that only reach it through the live server (the fuzzer) must not load into,
    # or serve, the development database (tests/live_server.py names the test database).
    if not connection.settings_dict["NAME"].startswith("test"):
        pytest.fail("no test database is set up for this session: mark the tests that use the live server "
                    "with pytest.mark.django_db")
    with django_db_blocker.unblock():
        call_command("load_geographies", stdout=StringIO())
        call_command("load_indicators", stdout=StringIO())
        call_command("load_missions", stdout=StringIO())
        _versions_read()


def _versions_read() -> None:
    """The data version, and the current releases read with it, as a server process holds them once
    it has answered a request (so that a test's statement counts do not include reading them)."""
    from indicators.current import current_forget, current_release_ids
    from levelup_api.core.caching import data_version_refresh

    current_forget()
    data_version_refresh()
    current_release_ids()


@pytest.fixture
def api(db) -> APIClient:
    return APIClient()


@pytest.fixture
def fresh_counters():
    """Quota counters (this test run's keys in Redis), remembered API keys and the per-process data
    version start afresh, and are cleared after."""
    from django.core.cache import cache

    from levelup_api.core import caching, counters, quotas

    def clear():
        counters.counter().clear()
        cache.clear()
        quotas.api_key_forget()

    clear()
    caching._cache.update(at=float("-inf"), version=0.0)
    yield
    clear()


@pytest.fixture
def listening():
    """This process's listener for pushed changes (levelup_api.core.notify), connected to the test
    database and stopped after the test: the data version and API keys as a server keeps them. What
    a test writes inside its own transaction is never announced; committed writes are."""
    from levelup_api.core import notify
    from tests.builders import levelup

    with levelup(DATA_VERSION_LISTEN=True):
        listener = notify.listener()
        assert listener.connected.wait(15), "the listener did not connect to the test database"
        yield listener
        notify.listener_stop()


@pytest.fixture(scope="session", autouse=True)
def redis_keys_removed_at_the_end():
    """Quota counters go to the real Redis under this run's own prefix (levelup_api.settings.test):
    delete them when the session ends, and stop a listener a test may have left running."""
    yield
    from levelup_api.core import counters, notify

    notify.listener_stop()
    try:
        counters.counter().clear()
    except Exception:  # noqa: BLE001 - a Redis gone by now leaves keys that expire within the window
        pass


from tests.live_server import live_api  # noqa: E402,F401  (session fixture: a real gunicorn on the test database)


@pytest.fixture(scope="session")
def bulk_session(django_db_setup, django_db_blocker):
    """Bulk files of IoD 2025, pay and the snapshot, written once a session and removed at its end
    (tests/indicators/bulk_helpers.py)."""
    from tests.indicators.bulk_helpers import bulk_files_written

    yield from bulk_files_written(django_db_blocker)


@pytest.fixture(scope="module")
def written(bulk_session, django_db_blocker):
    """The session's bulk files, brought up to date for each module that reads them (an earlier
    module may have reloaded a dataset as a new release): what changed is written again."""
    from tests.indicators.bulk_helpers import bulk_files_current

    return bulk_files_current(bulk_session, django_db_blocker)


@pytest.fixture(autouse=True)
def current_releases_restored(request):
    """A test's transaction is rolled back, and with it any release it made current; some tests start
    the data version afresh (fresh_counters); a test's manage.py commits loads. So each test that uses
    the database first reads the data version and the current releases this process keeps
    (indicators.current) again, from what is committed (its own transaction is open and still empty
    here), so that its statement counts see them as a server would."""
    # Always, for a test that uses the database: another process (a test's manage.py) may have
    # committed a load since, which a server would hear of from its listener.
    uses_db = request.node.get_closest_marker("django_db") is not None or bool(
        {"db", "transactional_db", "api"} & set(request.fixturenames))
    if uses_db:
        marker = request.node.get_closest_marker("django_db")
        transactional = "transactional_db" in request.fixturenames or bool(marker and marker.kwargs.get("transaction"))
        request.getfixturevalue("transactional_db" if transactional else "db")
        _versions_read()
    yield

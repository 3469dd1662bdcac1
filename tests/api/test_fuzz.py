"""Fuzzing the REST API from its own OpenAPI document (schemathesis, in-process through WSGI):
every operation gets generated valid and invalid input, and must never answer 5xx nor give a
response its schema does not describe. Bounded: LEVELUP_FUZZ_EXAMPLES examples per operation."""

import os

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from levelup_api.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
EXAMPLES = int(os.environ.get("LEVELUP_FUZZ_EXAMPLES", "50"))


@pytest.fixture(autouse=True)
def keep_the_test_connection():
    """As Django's test client does: the WSGI handler would otherwise close the connection (and the
    test's transaction) at the end of every request."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
def test_no_server_errors_and_responses_match_the_schema(case):
    # identity: the in-process WSGI transport does not undo gzip.
    case.call_and_validate(headers={"Accept-Encoding": "identity"}, checks=[not_a_server_error, response_schema_conformance])

"""The OpenAPI document is valid and describes every endpoint and parameter."""

import pytest
import yaml
from openapi_spec_validator import validate

pytestmark = pytest.mark.django_db


def test_openapi_schema_is_valid_and_documented(api):
    response = api.get("/api/schema/")
    assert response.status_code == 200
    spec = yaml.safe_load(response.content)
    validate(spec)
    paths = spec["paths"]
    for path in ["/api/v1/areas/", "/api/v1/areas/{code}/", "/api/v1/areas/{code}/children/",
                 "/api/v1/areas/{code}/ancestors/", "/api/v1/areas/{code}/boundary/", "/api/v1/boundaries/",
                 "/api/v1/lookup/point/", "/api/v1/area-types/", "/api/v1/vintages/", "/api/v1/indicators/",
                 "/api/v1/indicators/{slug}/", "/api/v1/indicators/{slug}/aggregate/", "/api/v1/observations/",
                 "/api/v1/periods/", "/api/v1/areas/{code}/series/", "/api/v1/custom-areas/",
                 "/api/v1/custom-areas/{id}/", "/api/v1/custom-areas/{id}/observations/"]:
        assert path in paths, path
    # Every operation, and every parameter of it, says what it is.
    for path, operations in paths.items():
        for method, op in operations.items():
            assert op.get("description"), (method, path)
            for param in op.get("parameters", []):
                assert param.get("description"), (method, path, param["name"])


def test_swagger_ui_is_served(api):
    response = api.get("/api/docs/")
    assert response.status_code == 200 and b"swagger" in response.content.lower()


def test_production_settings_pass_the_deploy_check(monkeypatch):
    import subprocess
    import sys

    env = {"SECRET_KEY": "x" * 60 + "-production-check-only", "ALLOWED_HOSTS": "api.example.org",
           "DATABASE_URL": "postgis://postgres@127.0.0.1:5432/levelup", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING",
                           "--settings=levelup_api.settings.production"], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout

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

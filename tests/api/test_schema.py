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
                 "/api/v1/lookup/point/", "/api/v1/area-types/", "/api/v1/vintages/"]:
        op = paths[path]["get"]
        assert op.get("description"), path
        for param in op.get("parameters", []):
            assert param.get("description"), (path, param["name"])


def test_swagger_ui_is_served(api):
    response = api.get("/api/docs/")
    assert response.status_code == 200 and b"swagger" in response.content.lower()

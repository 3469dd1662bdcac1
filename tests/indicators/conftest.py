"""Fixtures shared by the indicators' tests."""

import pytest
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token


@pytest.fixture
def manchester(api) -> str:
    """The id of a custom area made of Manchester's 295 LSOAs (2021), created through the API."""
    user = User.objects.create_user("manchester-lsoas", password="x")
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    children = api.get("/api/v1/areas/E08000003/children/", {"type": "LSOA", "vintage": "LSOA21", "page_size": 1000})
    codes = [a["code"] for a in children.json()["results"]]
    created = api.post("/api/v1/custom-areas/", {"name": "Manchester, by LSOA", "codes": codes}, format="json")
    assert created.status_code == 201, created.content
    api.credentials()
    return created.json()["id"]

"""Curating missions in the admin."""

import pytest

pytestmark = pytest.mark.django_db


def test_admin_mission_page_lists_metrics_and_target_status(client):
    from django.contrib.auth import get_user_model

    from missions.models import Mission

    client.force_login(get_user_model().objects.create_superuser("curator", "c@example.org", "pw"))
    page = client.get(f"/admin/missions/mission/{Mission.objects.get(number=7).pk}/change/")
    assert page.status_code == 200
    assert b"healthy-life-expectancy-male" in page.content or b"Healthy life expectancy" in page.content
    for model in ("objective", "mission", "metric", "target"):
        assert client.get(f"/admin/missions/{model}/").status_code == 200

"""The curator admin: pages load for staff with bounded queries, geometry is read-only, and
anonymous users are sent to log in."""

import pytest
from django.contrib.auth import get_user_model

from geographies.models import Area, Boundary

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    user = get_user_model().objects.create_superuser("curator", "curator@example.org", "pw")
    client.force_login(user)
    return client


def test_anonymous_users_are_sent_to_log_in(client):
    response = client.get("/admin/geographies/area/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.mark.parametrize("model", ["areatype", "vintage", "area", "areamembership", "arealink", "areaancestor",
                                   "areachange", "arealifespan", "boundary", "customarea"])
def test_changelists_load(staff, model, django_assert_max_num_queries):
    with django_assert_max_num_queries(10):
        assert staff.get(f"/admin/geographies/{model}/").status_code == 200


def test_area_page_shows_memberships_links_and_history(staff, django_assert_max_num_queries):
    cumberland = Area.objects.get(code="E06000063")
    with django_assert_max_num_queries(12):
        page = staff.get(f"/admin/geographies/area/{cumberland.pk}/change/").content.decode()
    assert "Allerdale" in page and "LAD23" in page and "North West" in page
    assert staff.get(f"/admin/geographies/area/{cumberland.pk}/history/").status_code == 200
    search = staff.get("/admin/geographies/area/", {"q": "E0600006"}).content.decode()
    assert "Cumberland" in search


def test_boundary_geometry_is_read_only(staff):
    boundary = Boundary.objects.select_related("area", "vintage").get(area__code="E08000003", vintage__code="LAD23")
    page = staff.get(f"/admin/geographies/boundary/{boundary.pk}/change/").content.decode()
    assert 'name="geom"' not in page
    assert "/api/v1/areas/E08000003/boundary/?vintage=LAD23" in page


def test_ingest_runs_are_read_only(staff):
    assert staff.get("/admin/core/ingestrun/").status_code == 200
    assert staff.get("/admin/core/ingestrun/add/").status_code == 403


def test_custom_area_page_lists_members_read_only(staff, django_assert_max_num_queries):
    from geographies.models import CustomArea, CustomAreaMember, Vintage

    custom = CustomArea.objects.create(name="Centre", method="codes", vintage=Vintage.objects.get(code="LSOA21"))
    CustomAreaMember.objects.bulk_create(CustomAreaMember(custom_area=custom, area=a, weight=1.0)
                                         for a in Area.objects.filter(code__startswith="E0100506")[:5])
    with django_assert_max_num_queries(20):
        page = staff.get(f"/admin/geographies/customarea/{custom.id}/change/")
    assert page.status_code == 200 and b"E0100506" in page.content

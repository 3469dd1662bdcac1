"""Curators upload a release as CSV in the API's own format: preview first, nothing written until
confirmed, and a draft stays invisible to the public API until published."""

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile

from indicators.models import Dataset, Observation, Release

pytestmark = pytest.mark.django_db

CSV = (b"area_code,area_name,indicator,period,period_iso,value,lci,uci,status\n"
       b"E06000009,Blackpool,gross-median-weekly-pay,2026,2026-04-29,560.0,510.0,610.0,p\n"
       b"E08000003,Manchester,gross-median-weekly-pay,2026,2026-04-29,640.0,600.0,680.0,p\n")


@pytest.fixture
def staff(client):
    client.force_login(get_user_model().objects.create_superuser("curator", "c@example.org", "pw"))
    return client


def form(file_bytes=None, **extra):
    data = {"dataset": Dataset.objects.get(slug="gross-median-weekly-pay").pk, "label": "ASHE 2026 test",
            "release_date": "2026-11-01", "state": "draft", **extra}
    if file_bytes is not None:
        data["file"] = SimpleUploadedFile("upload.csv", file_bytes, content_type="text/csv")
    return data


def test_preview_confirm_and_publish(staff, api):
    before = Observation.objects.count()
    page = staff.post("/admin/indicators/release/upload/", form(CSV))
    assert page.status_code == 200 and b"checks passed" in page.content and b"observations: 2" in page.content
    assert Observation.objects.count() == before  # the preview wrote nothing
    token = page.context["token"]
    done = staff.post("/admin/indicators/release/upload/", form(token=token, confirm="1"))
    assert done.status_code == 302
    release = Release.objects.get(label="ASHE 2026 test")
    assert release.state == "draft" and release.observations.count() == 2
    params = {"indicator": "gross-median-weekly-pay", "area": "E06000009", "period": "latest"}
    assert api.get("/api/v1/observations/", params).json()["results"][0]["value"] == 539.9  # draft is hidden
    staff.post("/admin/indicators/release/", {"action": "publish", "_selected_action": [release.pk]})
    assert api.get("/api/v1/observations/", params).json()["results"][0]["value"] == 560.0


def test_a_bad_file_shows_line_and_column(staff):
    bad = CSV.replace(b"E08000003", b"E08999999")
    page = staff.post("/admin/indicators/release/upload/", form(bad))
    assert b"unknown area code" in page.content and b"line 3" in page.content and b"column area_code" in page.content
    assert not Release.objects.filter(label="ASHE 2026 test").exists()

"""Pinned pulls: `client.pinned(as_of=...)` (or `release=`) sends the pin on every data call, so a
pull can be repeated exactly; an operation the API cannot pin refuses the pin by name instead of
answering unpinned; geography and catalogue calls do not depend on a release and carry no pin."""

from __future__ import annotations

import datetime as dt

import pytest
from levelup_client import BadRequest

pytestmark = pytest.mark.django_db

IMD = "iod2025-imd-score"


def test_as_of_gives_the_values_as_published_then(client, tap):
    sent = tap
    before = client.pinned(as_of="2025-01-01")  # IoD 2025 was published on 2025-10-30
    after = client.pinned(as_of=dt.date(2025, 11, 1))
    assert before.observations(IMD, area="E01000001").to_list() == []
    [row] = after.observations(IMD, area="E01000001").to_list()
    assert row.value == 8.742
    assert [r.url.params["as_of"] for r in sent.requests] == ["2025-01-01", "2025-11-01"]
    assert before.pins == {"as_of": dt.date(2025, 1, 1)}


def test_a_pinned_view_shares_the_session_and_pins_only_data_calls(client, tap):
    pinned = client.pinned(as_of="2025-11-01")
    assert pinned.session is client.session
    sent = tap
    assert pinned.area("E06000009").name == "Blackpool"
    assert pinned.children("E08000003", type="LSOA", vintage="LSOA21").count == 295
    assert all("as_of" not in r.url.params for r in sent.requests)
    pinned.close()  # the view does not own the session
    assert client.area("E06000009").name == "Blackpool"


def test_a_call_cannot_unpin_itself(client):
    pinned = client.pinned(as_of="2025-11-01")
    with pytest.raises(ValueError, match="pinned to as_of=2025-11-01"):
        pinned.observations(IMD, area="E01000001", as_of="2025-01-01")


def test_an_operation_the_api_cannot_pin_refuses_rather_than_answers_unpinned(client, tap):
    """The profile is computed from the current release only; as long as the API does not take
    `as_of` there, a pinned profile is a 400 naming it, never today's values."""
    sent = tap
    pinned = client.pinned(as_of="2025-11-01")
    try:
        rows = pinned.profile("E06000009").to_list()
    except BadRequest as refused:
        assert refused.parameter == "as_of"
    else:
        assert rows  # the API has learnt to pin profiles
    assert sent.requests[-1].url.params["as_of"] == "2025-11-01"


def test_a_release_pin_is_sent_as_release(client, tap):
    from indicators.models import Release

    release = Release.objects.get(dataset__slug="iod2025", label="IoD2025")
    sent = tap
    try:
        rows = client.pinned(release=release.id).observations(IMD, area="E01000001").to_list()
    except BadRequest as refused:
        assert refused.parameter == "release"  # the API does not take `release` on observations (yet)
    else:
        assert [r.value for r in rows] == [8.742]
    assert sent.requests[-1].url.params["release"] == str(release.id)


def test_pins_compose_and_the_view_keeps_the_parents():
    from levelup_client import Client

    with Client("http://api.test", cache=False) as api:
        both = api.pinned(as_of="2025-11-01").pinned(release=7)
        assert both.pins == {"as_of": dt.date(2025, 11, 1), "release": 7}
        assert api.pins == {}
        with pytest.raises(ValueError, match="give as_of or release"):
            api.pinned()

"""Geography selectors and the derived tables, checked against published ONS figures."""

import datetime

import pytest
from django.db.models import Count

from geographies import selectors
from geographies.models import Area, AreaChange, AreaMembership, AreaType, Vintage

pytestmark = pytest.mark.django_db


def test_lsoa_change_indicator_counts_match_ons():
    # ONS LSOA (2011) to LSOA (2021) lookup: 33,647 U, 1,900 S, 239 M and 9 X rows.
    counts = dict(
        AreaChange.objects.filter(from_vintage__code="LSOA11", to_vintage__code="LSOA21")
        .values_list("change_type").annotate(n=Count("id"))
    )
    assert counts == {"U": 33647, "S": 1900, "M": 239, "X": 9}


def test_vintage_sizes_match_ons():
    sizes = dict(Vintage.objects.values_list("code", "area_count"))
    # GEOGRAPHY.md: LADs 382 (2019), 379 (2020), 374 (2021, 2022), 361 (2023 on); LSOA 34,753 / 35,672;
    # MSOA 7,201 / 7,264.
    assert (sizes["LAD19"], sizes["LAD20"], sizes["LAD21"], sizes["LAD22"]) == (382, 379, 374, 374)
    assert (sizes["LAD23"], sizes["LAD24"], sizes["LAD25"]) == (361, 361, 361)
    assert (sizes["LSOA11"], sizes["LSOA21"], sizes["MSOA11"], sizes["MSOA21"]) == (34753, 35672, 7201, 7264)
    england_lads = AreaMembership.objects.filter(vintage__code="LAD23", area__code__startswith="E").count()
    assert england_lads == 296


@pytest.mark.parametrize(
    ("code", "active_from", "active_to"),
    [
        ("E06000063", "2023-04-01", None),  # Cumberland
        ("E07000026", None, "2023-03-31"),  # Allerdale (start unknown to our sources: any)
        ("E06000060", "2020-04-01", None),  # Buckinghamshire
        ("E07000004", None, "2020-03-31"),  # Aylesbury Vale
        ("E10000006", None, "2023-03-31"),  # Cumbria County Council
        ("E08000016", None, "2025-03-31"),  # Barnsley's old code (boundary change with Sheffield)
    ],
)
def test_active_dates_from_code_history(code, active_from, active_to):
    area = Area.objects.get(code=code)
    if active_from:
        assert area.active_from == datetime.date.fromisoformat(active_from)
    assert area.active_to == (datetime.date.fromisoformat(active_to) if active_to else None)


def test_primary_type_from_entity_code():
    assert Area.objects.get(code="E06000063").area_type.code == "LAD"  # a unitary is a LAD first
    assert Area.objects.get(code="E10000006").area_type.code == "CTY"
    assert Area.objects.get(code="K02000001").area_type.code == "UK"
    assert Area.objects.get(code="S01006506").area_type.code == "DZ"


def test_children_default_to_direct_children_in_newest_vintage():
    children = selectors.area_children(area=Area.objects.get(code="E92000001"))
    assert children.vintage.code == "RGN" and children.areas.count() == 9


def test_children_of_a_type_pick_the_newest_vintage_with_rows():
    manchester = Area.objects.get(code="E08000003")
    lsoas = selectors.area_children(area=manchester, area_type=AreaType.objects.get(code="LSOA"))
    assert lsoas.vintage.code == "LSOA21" and lsoas.areas.count() == 295
    old = selectors.area_children(area=manchester, vintage=Vintage.objects.get(code="LSOA11"))
    assert old.areas.count() == 282  # Manchester had 282 LSOAs in 2011


def test_cumberland_is_made_of_allerdale_carlisle_and_copeland_lsoas():
    cumberland = selectors.area_children(area=Area.objects.get(code="E06000063"),
                                         vintage=Vintage.objects.get(code="LSOA21")).areas
    parts = [selectors.area_children(area=Area.objects.get(code=c), vintage=Vintage.objects.get(code="LSOA21")).areas
             for c in ("E07000026", "E07000028", "E07000029")]
    assert set(cumberland.values_list("code", flat=True)) == set().union(*(p.values_list("code", flat=True) for p in parts))


def test_ancestors_default_to_newest_vintage_of_own_type():
    area = selectors.area_get(code="E08000003")
    vintage, rows = selectors.area_ancestors(area=area)
    assert vintage.code == "LAD25"
    assert [(r.ancestor.code, r.ancestor_vintage.code) for r in rows] == [
        ("E12000002", "RGN"), ("E92000001", "CTRY"), ("K02000001", "UK")]


def test_ancestors_reject_a_vintage_the_area_is_not_in():
    area = selectors.area_get(code="E08000003")
    with pytest.raises(selectors.SelectorError) as exc:
        selectors.area_ancestors(area=area, vintage=Vintage.objects.get(code="LSOA21"))
    assert exc.value.parameter == "vintage"


def test_point_lookup_uses_requested_vintage_for_its_type_only():
    hits = selectors.point_lookup(lon=-2.20779, lat=53.47031, vintages=[Vintage.objects.get(code="LAD19")])
    by_type = {h.type_code: (h.code, h.vintage) for h in hits}
    assert by_type["LAD"] == ("E08000003", "LAD19")
    assert by_type["LSOA"] == ("E01005061", "LSOA21")


def test_latest_boundary_vintage():
    assert selectors.latest_boundary_vintage(area_type=AreaType.objects.get(code="LAD")).code == "LAD24"
    assert selectors.latest_boundary_vintage(area_type=AreaType.objects.get(code="WD")) is None


def test_prepared_point_lookup_gives_the_same_answers(django_assert_num_queries):
    from django.db import connection

    plain = selectors.point_lookup(lon=-3.1347, lat=54.6013)
    plain_lad22 = selectors.point_lookup(lon=-3.1347, lat=54.6013, vintages=[Vintage.objects.get(code="LAD22")])
    assert selectors.point_lookup_prepare(connection)
    with django_assert_num_queries(1):
        prepared = selectors.point_lookup(lon=-3.1347, lat=54.6013)
    assert prepared == plain
    assert selectors.point_lookup(lon=-3.1347, lat=54.6013,
                                  vintages=[Vintage.objects.get(code="LAD22")]) == plain_lad22
    assert {h.type_code: h.code for h in plain_lad22}["LAD"] == "E07000026"
    assert {h.type_code: h.code for h in plain}["LAD"] == "E06000063"

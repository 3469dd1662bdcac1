"""The geography and harmonisation helpers over a real server: children, ancestors, the areas at a
point, what replaced an ended code, and an area's series on one boundary vintage."""

from __future__ import annotations

import datetime as dt

import pytest
from levelup_client import Ancestor, Area, PointArea, SeriesPoint

pytestmark = pytest.mark.django_db


def test_an_area_and_an_ended_code(client):
    cumberland = client.area("E06000063")
    assert isinstance(cumberland, Area) and cumberland.status == "live"
    assert {p.code for p in cumberland.predecessors} == {"E07000026", "E07000028", "E07000029"}
    allerdale = client.area("E07000026")
    assert allerdale.status == "terminated" and allerdale.active_to == dt.date(2023, 3, 31)
    assert "E06000063" in allerdale.message


def test_successors_of_an_ended_code(client):
    [successor] = client.successors("E07000026")
    assert (successor.code, successor.name, successor.change_type, successor.effective_date) == (
        "E06000063",
        "Cumberland",
        "merged",
        dt.date(2023, 4, 1),
    )
    assert [s.code for s in client.successors("E07000026", current=True)] == ["E06000063"]
    assert client.successors("E06000063") == []  # live: nothing replaced it


def test_children_and_ancestors(client):
    lsoas = client.children("E08000003", type="LSOA", vintage="LSOA21")
    assert lsoas.count == 295
    ancestors = client.ancestors("E01005061").to_list()
    assert all(isinstance(a, Ancestor) for a in ancestors)
    by_type = {(a.type, a.vintage): a.code for a in ancestors}
    assert by_type[("MSOA", "MSOA21")] == "E02001062"
    assert by_type[("LAD", "LAD24")] == "E08000003"
    assert by_type[("RGN", "RGN")] == "E12000002" and by_type[("CTRY", "CTRY")] == "E92000001"
    # a row from one call is an argument to the next
    [first] = next(client.children(ancestors[0], type="LSOA", vintage="LSOA21", page_size=1).pages())
    assert first.code.startswith("E01")


def test_the_areas_at_a_point(client):
    areas = client.point(53.47031, -2.20779).to_list()
    assert all(isinstance(a, PointArea) for a in areas)
    by_type = {a.type: a.code for a in areas}
    assert by_type["LSOA"] == "E01005061" and by_type["LAD"] == "E08000003" and by_type["RGN"] == "E12000002"
    keswick = {a.type: a.code for a in client.point(54.6013, -3.1347, vintage="LAD22")}
    assert keswick["LAD"] == "E07000026"  # Allerdale, on the boundaries of 2022
    with pytest.raises(ValueError, match="lat must be"):
        client.point(91, 0)


def test_a_series_on_one_vintage(client):
    results = client.series("E06000063", "wellbeing-life-satisfaction", vintage="LAD23")
    points = results.to_list()
    assert results.meta["vintage"] == "LAD23" and results.meta["area"]["name"] == "Cumberland"
    assert all(isinstance(p, SeriesPoint) for p in points)
    assert points[0].period == "2011/12"
    by_period = {p.period: p for p in points}
    assert by_period["2011/12"].flag == "converted"  # before Cumberland existed: from its predecessors
    assert {p.flag for p in points} <= {"published", "converted"} and all(
        p.method for p in points if p.flag == "converted"
    )
    # the same value as the harmonised observation of that period
    [harmonised] = client.observations(
        "wellbeing-life-satisfaction", area="E06000063", vintage="LAD23", harmonise=True, period="2022/23"
    ).to_list()
    assert by_period["2022/23"].value == harmonised.value

"""Observations, indicators and periods over REST, against the real IoD and population files."""

import pytest

pytestmark = pytest.mark.django_db


def csv_lines(response) -> list[str]:
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    return b"".join(response.streaming_content).decode().splitlines()


def test_imd_2019_rank_and_decile_of_e01000001(api):
    body = api.get("/api/v1/observations/", {"indicator": "iod2019-imd-rank,iod2019-imd-decile",
                                             "area": "E01000001"}).json()
    values = {r["indicator"]: r["value"] for r in body["results"]}
    assert values == {"iod2019-imd-rank": 29199, "iod2019-imd-decile": 9}


def test_national_lsoa_slice_in_one_csv_request(api):
    lines = csv_lines(api.get("/api/v1/observations/", {"indicator": "iod2019-imd-rank", "area_type": "LSOA",
                                                        "format": "csv"}))
    assert lines[0] == "area_code,area_name,indicator,period,period_iso,value,lci,uci,status"
    assert len(lines) == 1 + 32844
    assert lines[1].startswith("E01000001,City of London 001A,iod2019-imd-rank,")


def test_iod2025_slice_and_score(api):
    lines = csv_lines(api.get("/api/v1/observations/", {"indicator": "iod2025-imd-score", "vintage": "LSOA21"},
                              HTTP_ACCEPT="text/csv"))
    assert len(lines) == 1 + 33755
    row = next(line for line in lines if line.startswith("E01000001,"))
    assert ",8.742," in row


def test_latest_period(api):
    body = api.get("/api/v1/observations/", {"indicator": "iod2025-imd-score", "area": "E01000001",
                                             "period": "latest"}).json()
    assert [r["value"] for r in body["results"]] == [8.742]


def test_a_slices_latest_period_is_found_once_per_data_version(api, settings, monkeypatch,
                                                                 django_assert_num_queries):
    """Where the process keeps derived documents, `period=latest` for the same slice is resolved
    once per data version: the repeat costs one statement fewer and answers the same rows."""
    import indicators.selectors

    settings.LEVELUP = {**settings.LEVELUP, "PROFILE_CACHE": True}
    version = [1.0]
    monkeypatch.setattr(indicators.selectors, "data_version", lambda: version[0])
    indicators.selectors._latest_periods.cache_clear()
    params = {"indicator": "gross-median-weekly-pay", "area_type": "LAD", "period": "latest"}
    with django_assert_num_queries(4):  # the type, the indicator, the latest period, the rows
        first = api.get("/api/v1/observations/", params).json()["results"]
    with django_assert_num_queries(3):
        assert api.get("/api/v1/observations/", params).json()["results"] == first
    assert len(first) == 361 and {r["period"] for r in first} == {"2025-04-30"}
    blackpool = next(r for r in first if r["area_code"] == "E06000009")
    assert blackpool["value"] == 539.9
    version[0] = 2.0  # a load or an edit: found again
    with django_assert_num_queries(4):
        assert api.get("/api/v1/observations/", params).json()["results"] == first


def test_json_pages_with_a_cursor_cover_the_slice_once(api, django_assert_max_num_queries):
    seen, url, params = [], "/api/v1/observations/", {"indicator": "iod2025-imd-decile", "page_size": "10000"}
    pages = 0
    while url:
        with django_assert_max_num_queries(4):
            body = api.get(url, params).json()
        seen += [r["area_code"] for r in body["results"]]
        url, params = body["next"], None
        pages += 1
    assert pages == 4 and len(seen) == len(set(seen)) == 33755


def test_parent_filter_gives_manchester_lsoas(api):
    body = api.get("/api/v1/observations/", {"indicator": "iod2025-imd-decile", "parent": "E08000003",
                                             "vintage": "LSOA21"}).json()
    assert len(body["results"]) == 295


def test_indicator_list_and_detail(api, django_assert_num_queries):
    with django_assert_num_queries(1):  # indicators, their datasets and publishers' names: one statement
        indicators = api.get("/api/v1/indicators/").json()
    from indicators.api.serializers import IndicatorSerializer
    from indicators.models import Indicator

    assert len(indicators) == Indicator.objects.count() >= 90
    for ind in indicators:
        assert ind["unit"] is not None and ind["polarity"] and ind["source"] and ind["licence"]
        assert list(ind) == list(IndicatorSerializer().fields)  # the document OpenAPI describes
    pay = next(i for i in indicators if i["slug"] == "gross-median-weekly-pay")
    assert (pay["dataset"], pay["source"], pay["decimal_places"], pay["experimental"]) == (
        "gross-median-weekly-pay", ["Office for National Statistics", "Northern Ireland Statistics and Research Agency"],
        0, False)  # two publishers, in the order they were linked
    with django_assert_num_queries(2):  # the area type, the indicators with values for it
        for_lsoas = api.get("/api/v1/indicators/", {"type": "LSOA", "topic": "deprivation"}).json()
    assert for_lsoas and all("deprivation" in i["topics"] for i in for_lsoas)
    detail = api.get("/api/v1/indicators/iod2025-imd-score/").json()
    assert detail["releases"][0]["label"] == "IoD2025"
    lsoa = next(a for a in detail["availability"] if a["area_type"] == "LSOA")
    assert lsoa["periods"] == [{"period": "2025-10-30", "iso": "2025-10-30", "areas": 33755}]
    assert api.get("/api/v1/indicators/no-such-thing/").status_code == 404


def test_periods_for_an_indicator(api, django_assert_num_queries):
    with django_assert_num_queries(2):  # the indicator, its periods
        periods = api.get("/api/v1/periods/", {"indicator": "population-census-2021"}).json()
    assert periods == [{"iso": "2021-03-21", "label": "2021-03-21", "type": "point_in_time", "start": "2021-03-21",
                        "end": "2021-03-21", "duration": ""}]


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"indicator": "nope"}, "indicator"),
        ({}, "indicator"),
        ({"indicator": "iod2025-imd-score", "area": "E99999999"}, "area"),
        ({"indicator": "iod2025-imd-score", "period": "1066"}, "period"),
        ({"indicator": "iod2025-imd-score", "page_size": "0"}, "page_size"),
        ({"indicator": "iod2025-imd-score", "cursor": "!!"}, "cursor"),
        ({"indicator": "iod2025-imd-score", "as_of": "2025-02-30"}, "as_of"),
        ({"indicator": "iod2025-imd-score", "area_type": "LSOA", "vintage": "LAD23"}, "vintage"),
        ({"indicator": "iod2025-imd-score", "period_from": "2025-01-01", "period_to": "2024-01-01"}, "period_from"),
        ({"indicator": "iod2025-imd-score", "format": "csv", "area": "nowhere"}, "area"),
    ],
)
def test_bad_parameters_are_400s(api, params, parameter):
    response = api.get("/api/v1/observations/", params)
    assert response.status_code == 400, response.content
    assert response.json()["parameter"] == parameter


def test_as_of_before_the_release_returns_nothing(api):
    body = api.get("/api/v1/observations/", {"indicator": "iod2025-imd-score", "area": "E01000001",
                                             "as_of": "2025-01-01"}).json()
    assert body["results"] == []


def test_healthy_life_expectancy_uk_2011_2013(api):
    body = api.get("/api/v1/observations/", {"indicator": "healthy-life-expectancy-male", "area": "K02000001",
                                             "period": "2011-2013"}).json()
    [row] = body["results"]
    assert (row["value"], row["lci"], row["uci"], row["period_iso"]) == (62.7, 62.6, 62.9, "2011-01-01/P3Y")


def test_blackpool_pay_2025_and_latest(api):
    for period in ("2025-04-30", "latest"):
        [row] = api.get("/api/v1/observations/", {"indicator": "gross-median-weekly-pay", "area": "E06000009",
                                                  "period": period}).json()["results"]
        assert row["value"] == 539.9 and row["period"] == "2025-04-30"
        assert round(row["lci"], 1) == 489.1 and round(row["uci"], 1) == 590.7


def test_manchester_gigabit_coverage(api):
    [row] = api.get("/api/v1/observations/", {"indicator": "gigabit-broadband", "area": "E08000003",
                                              "period": "2026-01-01"}).json()["results"]
    assert row["value"] == 90.0


def test_statistics_only_geographies_were_created(api):
    pfa = api.get("/api/v1/areas/", {"type": "PFA"}).json()
    assert pfa["count"] >= 40 and all(a["code"][:3] in {"E23", "W15"} for a in pfa["results"])
    itl1 = api.get("/api/v1/areas/", {"type": "ITL1"}).json()
    assert "TLD" in {a["code"] for a in itl1["results"]}


def test_a_draft_release_is_invisible_until_published(api):
    from indicators.models import Release
    from indicators.services import release_state_set

    # A dataset of one release (ONS's R&D funded by the public sector, 28 rows: its derived tables
    # are rebuilt in no time, where IoD's took 45 s of this test).
    dataset = "research-and-development-public-funded"
    release = Release.objects.get(dataset__slug=dataset, is_current=True)
    assert Release.objects.filter(dataset__slug=dataset).count() == 1
    params = {"indicator": "rd-public-expenditure", "area": "E12000002", "period": "2021-04-01/P1Y"}
    assert api.get("/api/v1/observations/", params).json()["results"][0]["value"] == 1221
    assert release_state_set(release=release, state=Release.State.DRAFT) is True  # no release is current now
    assert Release.objects.filter(dataset__slug=dataset, is_current=True).count() == 0
    assert api.get("/api/v1/observations/", params).json()["results"] == []
    assert api.get("/api/v1/observations/", {**params, "release": release.id}).status_code == 400  # never served
    assert api.get("/api/v1/indicators/rd-public-expenditure/").json()["availability"] == []
    release_state_set(release=release, state=Release.State.PUBLISHED)
    assert api.get("/api/v1/observations/", params).json()["results"][0]["value"] == 1221

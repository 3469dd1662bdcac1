"""missions.profile_facts: the profile rows precomputed in SQL. Each method is checked against
missions.statistics (the reference implementation) row by row, on real data and on an indicator
made here with numerators and denominators (no loaded file has them); then that the facts follow a
load in its own transaction, and that a failed load leaves them as they were."""

from __future__ import annotations

import datetime as dt
import math
import statistics

import pytest
from django.contrib.admin import site
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from geographies.models import Area
from indicators.models import Dataset, Indicator, Observation, Period, Release
from indicators.partitions import partition_ensure
from indicators.services import release_currency_set
from missions import statistics as stats
from missions.selectors import profiles
from tests.builders import data_path

pytestmark = pytest.mark.django_db

ELS = "indicators/explore_local_statistics"
PAY = f"{ELS}/gross-median-weekly-pay.csv"


def facts(indicator: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT f.* FROM missions_profilefact f JOIN indicators_indicator i ON i.id = f.indicator_id "
                       "WHERE i.slug = %s ORDER BY f.area_id", [indicator])
        return cursor.fetchall()


def row(code: str, indicator: str, level: float = 95.0) -> dict:
    (found,) = [r for r in profiles(areas=[Area.objects.get(code=code)], level=level) if r["indicator"] == indicator]
    return found


def points(area: Area, indicator: Indicator) -> list[stats.Point]:
    series = (Observation.objects.filter(area=area, indicator=indicator, release__is_current=True, value__isnull=False)
              .order_by("period__end", "period__start"))
    return [stats.Point(o.value, o.lci, o.uci, o.numerator, o.denominator) for o in series][-stats.TREND_POINTS:]


@pytest.fixture
def counted() -> Indicator:
    """A percentage and a rate with numerators and denominators for four North West districts and
    the region, over five years (made up, so that every interval method has a case)."""
    dataset = Dataset.objects.create(slug="test-counts", title="Counts")
    release = Release.objects.create(dataset=dataset, label="test", release_date=dt.date(2026, 1, 1),
                                     state=Release.State.PUBLISHED)
    with connection.cursor() as cursor:
        partition_ensure(cursor, release.id)  # the loader's job; rows made here need a partition
    periods = [Period.objects.get_or_create(iso=f"{y}-01-01/P1Y", defaults={
        "label": f"{y}", "type": Period.Type.CALENDAR_YEAR, "start": dt.date(y, 1, 1), "end": dt.date(y, 12, 31),
        "duration": "P1Y"})[0] for y in range(2019, 2024)]
    made = {}
    for slug, measure, polarity in (("test-share", "percentage", "lower_is_better"),
                                    ("test-rate", "rate", "higher_is_better")):
        made[slug] = Indicator.objects.create(slug=slug, title=slug, dataset=dataset, measure=measure,
                                              polarity=polarity, aggregation="ratio_of_sums", unit="per cent",
                                              decimal_places=1)
    cases = {  # area: numerators over the five years (denominator 1,000), and the rate's events
        "E06000009": ([100, 120, 140, 160, 180], [3, 4, 5, 6, 8]),  # exact Poisson below 10 events
        "E06000008": ([200, 190, 180, 170, 160], [50, 52, 49, 51, 50]),
        "E08000003": ([150, 150, 150, 150, 150], [900, 950, 1000, 1100, 1200]),
        "E06000006": ([0, 1000, 0, 5, 7], [0, 12, 30, 40, 41]),  # 0 and 100%, 0 events
        "E12000002": ([140, 140, 141, 139, 140], [400, 410, 420, 430, 440]),
    }
    for code, (shares, events) in cases.items():
        area = Area.objects.get(code=code)
        for p, share, count in zip(periods, shares, events, strict=True):
            Observation.objects.create(indicator=made["test-share"], area=area, period=p, release=release,
                                       value=share / 10, numerator=share, denominator=1000)
            Observation.objects.create(indicator=made["test-rate"], area=area, period=p, release=release,
                                       value=count / 50 * 100, numerator=count, denominator=5000)
    release_currency_set(dataset_id=dataset.id, files=False)  # its rebuild of the facts covers these
    return made


@pytest.mark.parametrize("level", [95.0, 99.8])
def test_wilson_byar_exact_and_chi_squared_are_missions_statistics(counted, level):
    for indicator in counted.values():
        for code in ("E06000009", "E06000008", "E08000003", "E06000006"):
            area = Area.objects.get(code=code)
            got = row(code, indicator.slug, level)
            latest = Observation.objects.filter(area=area, indicator=indicator).order_by("-period__end").first()
            region = Observation.objects.get(area__code="E12000002", indicator=indicator, period=latest.period)
            interval = stats.area_interval(value=latest.value, lci=None, uci=None, numerator=latest.numerator,
                                           denominator=latest.denominator, measure=indicator.measure, level=level)
            expected = stats.compare(value=latest.value, interval=interval, benchmark=region.value,
                                     polarity=indicator.polarity, rank=None, rank_of=None)
            assert (got["region_comparison"], got["comparison_method"]) == (expected.outcome, expected.method), code
            assert got["region_comparator_source"] == "published" and got["region_value"] == region.value
            trend = stats.trend(points(area, indicator), indicator.polarity, measure=indicator.measure, level=level)
            assert (got["trend"], got["trend_method"], got["trend_points"]) == (*trend, 5), code
    methods = {row(c, "test-rate")["comparison_method"] for c in ("E06000009", "E06000008")}
    assert methods == {stats.POISSON_EXACT, stats.BYAR}
    assert row("E06000009", "test-share")["comparison_method"] == stats.WILSON
    assert row("E06000009", "test-share")["trend_method"] == stats.TREND_CHI2
    # Blackpool's share rose every year (lower is better): a significant rise, getting worse.
    assert row("E06000009", "test-share")["trend"] == "increasing, getting worse"


def test_the_facts_of_real_profiles_are_missions_statistics(api):
    """Blackpool's and Manchester 018A's rows: interval, quintile and placement comparisons, and
    trends by interval overlap and by monotonic change, as missions.statistics gives them."""
    for code in ("E06000009", "E01005173", "E12000002"):
        area = Area.objects.get(code=code)
        rows = {r["indicator"]: r for r in profiles(areas=[area])}
        indicators = {i.slug: i for i in Indicator.objects.filter(slug__in=rows)}
        for slug, got in rows.items():
            indicator = indicators[slug]
            trend = stats.trend(points(area, indicator), indicator.polarity, measure=indicator.measure)
            assert (got["trend"], got["trend_method"]) == trend, (code, slug)
            assert got["trend_points"] == len(points(area, indicator))
            if got["region_value"] is None or got["value"] is None:
                continue
            interval = stats.area_interval(value=got["value"], lci=got["lci"], uci=got["uci"], numerator=None,
                                           denominator=None, measure=indicator.measure, level=95.0)
            expected = stats.compare(
                value=got["value"], interval=interval, benchmark=got["region_value"], polarity=indicator.polarity,
                rank=got["rank"], rank_of=got["rank_of"], totals=indicator.measure == "count" or
                indicator.aggregation == "sum", placement=indicator.measure in ("rank", "decile"))
            assert got["region_comparison"] == expected.outcome, (code, slug)
            assert math.isclose(got["region_difference"], round(got["value"] - got["region_value"],
                                                                indicator.decimal_places + 2), abs_tol=1e-9)


def pay_spread(period_iso: str) -> tuple[int, float]:
    """(areas, lower quartile) of English districts' pay at the period, as the spine chart reads it."""
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT s.areas, s.q1 FROM missions_profilespread s JOIN indicators_indicator i ON i.id = s.indicator_id
            JOIN indicators_period p ON p.id = s.period_id JOIN geographies_areatype t ON t.id = s.area_type_id
            WHERE i.slug = 'gross-median-weekly-pay' AND p.iso = %s AND t.code = 'LAD' AND s.country = 'E'""",
                       [period_iso])
        return cursor.fetchone()


def test_a_load_rebuilds_its_facts_in_its_transaction(tmp_path, api):
    before = row("E06000009", "gross-median-weekly-pay")
    assert (before["value"], before["region_comparison"]) == (539.9, "worse")  # North West 615.9
    spread_before = pay_spread(before["period_iso"])
    for rel in (PAY, f"{ELS}/gross-median-weekly-pay.meta.json"):
        dest = tmp_path / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        raw = data_path(rel).read_bytes()
        if rel == PAY:  # Blackpool's 2025 pay, far above the North West's, with the same interval width
            raw = raw.replace(b"E06000009,Blackpool,County or Unitary Authority,Gross median weekly pay,2025-04-30,"
                              b"539.9,Pounds,\xc2\xa3,489.106208,590.693792",
                              b"E06000009,Blackpool,County or Unitary Authority,Gross median weekly pay,2025-04-30,"
                              b"939.9,Pounds,\xc2\xa3,889.106208,990.693792")
        dest.write_bytes(raw)
    call_command("load_indicators", "--data-dir", str(tmp_path), "--only", "els-gross-median-weekly-pay", "--force",
                 stdout=None)
    after = row("E06000009", "gross-median-weekly-pay")
    assert (after["value"], after["uci"], after["region_comparison"]) == (939.9, 990.693792, "better")
    assert after["region_difference"] == round(939.9 - after["region_value"], 3)
    # The spine's range follows the load too (missions.models.ProfileSpread): Blackpool moved from
    # the bottom quarter of England's 294 districts to the top one, so the lower quartile rose.
    spread_after = pay_spread(after["period_iso"])
    assert spread_after[0] == spread_before[0] == 294 and spread_after[1] > spread_before[1]
    # A file that fails leaves the facts as they were: they are written in the load's transaction.
    unchanged = facts("gross-median-weekly-pay")
    (tmp_path / PAY).write_bytes((tmp_path / PAY).read_bytes().replace(b"939.9", b"nine", 1))
    with pytest.raises(CommandError):
        call_command("load_indicators", "--data-dir", str(tmp_path), "--only", "els-gross-median-weekly-pay",
                     "--force", stdout=None)
    assert facts("gross-median-weekly-pay") == unchanged


def test_a_curators_edit_of_polarity_rebuilds_the_indicators_facts(admin_user, rf):
    indicator = Indicator.objects.get(slug="gross-median-weekly-pay")
    assert row("E06000009", indicator.slug)["polarity"] == "higher_is_better"
    outcome = row("E08000003", indicator.slug)["national_comparison"]
    assert outcome in ("better", "worse")
    request = rf.post("/admin/indicators/indicator/")
    request.user = admin_user
    indicator.polarity = Indicator.Polarity.LOWER_IS_BETTER
    site.get_model_admin(Indicator).save_model(request, indicator, form=None, change=True)
    assert row("E08000003", indicator.slug)["national_comparison"] == {"better": "worse", "worse": "better"}[outcome]


@pytest.mark.parametrize(("slug", "type_code"), [("gross-median-weekly-pay", "LAD"), ("iod2025-imd-score", "LSOA")])
def test_the_spreads_are_the_count_extremes_and_quartiles_of_the_peers_values(slug, type_code):
    """missions.models.ProfileSpread: for each period a fact holds, over the current values of the
    areas of the type, per country letter and over all of them ("")."""
    indicator = Indicator.objects.get(slug=slug)
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT s.period_id, s.country, s.areas, s.low, s.q1, s.q3, s.high FROM missions_profilespread s
            JOIN geographies_areatype t ON t.id = s.area_type_id WHERE s.indicator_id = %s AND t.code = %s""",
                       [indicator.id, type_code])
        spreads = cursor.fetchall()
        assert {s[1] for s in spreads} >= {"E", ""}
        for period_id, country, areas, low, q1, q3, high in spreads:
            cursor.execute("""
                SELECT o.value FROM indicators_observation o JOIN geographies_area a ON a.id = o.area_id
                JOIN geographies_areatype t ON t.id = a.area_type_id
                WHERE o.indicator_id = %s AND o.period_id = %s AND o.value IS NOT NULL
                  AND o.release_id IN (SELECT id FROM indicators_release WHERE is_current)
                  AND t.code = %s AND (%s = '' OR left(a.code, 1) = %s)""",
                           [indicator.id, period_id, type_code, country, country])
            values = [v for (v,) in cursor.fetchall()]
            quartiles = statistics.quantiles(values, n=4, method="inclusive")  # percentile_cont's interpolation
            places = indicator.decimal_places + 2
            assert (areas, low, high) == (len(values), min(values), max(values)), (period_id, country)
            assert math.isclose(q1, quartiles[0], abs_tol=0.6 * 10**-places), (period_id, country)
            assert math.isclose(q3, quartiles[2], abs_tol=0.6 * 10**-places), (period_id, country)
            assert round(q1, places) == q1 and round(q3, places) == q3
    if type_code == "LSOA":  # England's 33,755 LSOAs of 2021 at IoD 2025
        assert any(s[1] == "E" and s[2] == 33755 for s in spreads)

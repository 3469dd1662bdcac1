"""Releases as partitions (indicators.partitions, indicators.current, indicators.revisions): the real
earlier releases of pay and healthy life expectancy, `as_of` and `release=`, the comparison of two
releases, a reload of IoD 2025 with ten values changed, unpublishing, and the planner reading only
current partitions."""

from __future__ import annotations

import csv
import datetime as dt
import re

import pytest
from django.db import IntegrityError, connection, transaction

from indicators import partitions
from indicators.current import current_release_ids, current_sql
from indicators.ingest.spec import sources_all
from indicators.models import Observation, Release
from indicators.services import release_load, release_state_set
from tests.builders import data_path

pytestmark = pytest.mark.django_db

PAY = "gross-median-weekly-pay"
HLE = "healthy-life-expectancy"


def releases(slug: str) -> dict[str, Release]:
    return {r.label: r for r in Release.objects.filter(dataset__slug=slug)}


def uk_2024(api, **extra) -> float:
    rows = api.get("/api/v1/observations/", {"indicator": PAY, "area": "K02000001", "period": "2024", **extra}).json()
    (row,) = rows["results"]
    return row["value"]


def compare(api, slug: str, old: int, new: int, **params) -> dict:
    response = api.get(f"/api/v1/datasets/{slug}/releases/{old}/compare/{new}/", params)
    assert response.status_code == 200, response.content
    return response.json()


def test_each_dataset_s_releases_load_in_date_order_and_the_newest_is_current(api):
    pay = releases(PAY)
    assert sorted(pay) == ["ELS 2024-12-04", "ELS 2025-11-25", "ELS 2026-04-29"]
    assert [r.label for r in pay.values() if r.is_current] == ["ELS 2026-04-29"]
    listed = api.get(f"/api/v1/datasets/{PAY}/releases/").json()
    assert [(r["label"], r["is_current"]) for r in listed] == [
        ("ELS 2026-04-29", True), ("ELS 2025-11-25", False), ("ELS 2024-12-04", False)]
    assert sorted(releases(HLE)) == ["ELS 2024-12-19", "ELS 2026-01-12", "ELS 2026-02-20"]
    # Every release is a partition of its own, holding that release's rows only.
    with connection.cursor() as cursor:
        attached = partitions.attached_release_ids(cursor)
    assert set(Release.objects.filter(state=Release.State.PUBLISHED).values_list("id", flat=True)) <= attached
    assert Observation.objects.filter(release=pay["ELS 2024-12-04"]).count() == 7103  # every row, as published


def test_as_of_and_release_serve_the_values_published_then(api):
    pay = releases(PAY)
    assert uk_2024(api) == 613.5
    assert uk_2024(api, as_of="2025-01-01") == 613.3  # ASHE's provisional 2024 figure
    assert uk_2024(api, as_of="2026-01-01") == 613.5  # revised a year later
    assert uk_2024(api, release=pay["ELS 2024-12-04"].id) == 613.3
    assert api.get("/api/v1/observations/", {"indicator": PAY, "as_of": "2024-01-01"}).json()["results"] == []
    both = api.get("/api/v1/observations/", {"indicator": PAY, "release": 1, "as_of": "2025-01-01"})
    assert both.status_code == 400 and both.json()["parameter"] == "release"
    unknown = api.get("/api/v1/observations/", {"indicator": PAY, "release": 2**31 - 1})
    assert unknown.status_code == 400 and unknown.json()["parameter"] == "release"


def test_comparing_the_pay_releases_lists_the_441_revisions_matching_periods_written_two_ways(api):
    pay = releases(PAY)
    doc = compare(api, PAY, pay["ELS 2024-12-04"].id, pay["ELS 2025-11-25"].id, change="revised", page_size=500)
    assert doc["counts"] == {"revised": 441, "precision": 0, "added": 496, "removed": 523, "unchanged": 6139}
    assert doc["count"] == len(doc["results"]) == 441 and doc["next"] is None
    by_area = {r["area_code"]: r for r in doc["results"] if r["old_period"] == "2024-04"}
    assert by_area["K02000001"] | {"area_name": None} == {
        "indicator": PAY, "area_code": "K02000001", "area_name": None, "old_period": "2024-04",
        "new_period": "2024-04-17", "old_value": 613.3, "new_value": 613.5, "old_status": "", "new_status": "",
        "change": "revised"}
    assert (by_area["E07000245"]["old_value"], by_area["E07000245"]["new_value"]) == (585.1, 586.6)  # Harlow
    page = compare(api, PAY, pay["ELS 2024-12-04"].id, pay["ELS 2025-11-25"].id, change="revised", page_size=400)
    assert len(page["results"]) == 400 and page["next"].endswith("page=2")
    rest = api.get(page["next"]).json()
    assert len(rest["results"]) == 41


def test_comparing_the_hle_releases_tells_notation_and_precision_from_revision(api):
    hle = releases(HLE)
    same = compare(api, HLE, hle["ELS 2024-12-19"].id, hle["ELS 2026-01-12"].id)
    # 37 values were written differently (64 and 64.0), and periods with a time (T00:00:00): no change.
    assert same["counts"] == {"revised": 0, "precision": 0, "added": 0, "removed": 0, "unchanged": 4202}
    later = compare(api, HLE, hle["ELS 2026-01-12"].id, hle["ELS 2026-02-20"].id, change="precision", page_size=5000)
    counts = later["counts"]
    assert counts["revised"] + counts["precision"] == 3635  # the values that differ
    # Precision: the old value (2 decimals) rounded half away from zero to the new one's 1 decimal.
    assert counts == {"revised": 350, "precision": 3285, "added": 1810, "removed": 198, "unchanged": 369}
    wales = next(r for r in later["results"] if r["area_code"] == "W06000003"
                 and r["indicator"] == "healthy-life-expectancy-male" and r["new_period"] == "2021-01-01/P3Y")
    assert (wales["old_value"], wales["new_value"], wales["change"]) == (62.18, 62.2, "precision")


def test_no_two_current_releases_per_dataset():
    pay = releases(PAY)
    old = pay["ELS 2024-12-04"]
    old.is_current = True
    with pytest.raises(IntegrityError), transaction.atomic():
        old.save(update_fields=["is_current"])


def test_a_current_read_is_planned_over_the_current_partitions_only():
    current = {partitions.partition_name(i) for i in current_release_ids()}
    every = {partitions.partition_name(i) for i in Release.objects.values_list("id", flat=True)}
    assert len(every - current) >= 4  # the earlier releases of pay and HLE, at least
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN SELECT o.indicator_id, o.period_id, o.value FROM indicators_observation o "
                       f"JOIN geographies_area a ON a.id = o.area_id WHERE a.code = 'E06000009' AND {current_sql('o')}")
        plan = "\n".join(r[0] for r in cursor.fetchall())
    read = set(re.findall(r"indicators_observation_r\d+", plan))
    assert read and read <= current, plan
    # And through the ORM, as /observations/ reads an area's profile.
    from indicators.selectors import observation_filter

    plan = observation_filter(Observation.objects.all(), areas=["E06000009"]).explain()
    read = set(re.findall(r"indicators_observation_r\d+", plan))
    assert read and read <= current and not read & (every - current)


@pytest.fixture
def iod_changed(tmp_path):
    """IoD 2025 as a new release dated 2026-06-01, with ten LSOAs' IMD scores changed."""
    source = data_path("indicators/deprivation/IoD2025_England_LSOA21_scores_ranks_deciles_humaniverse.csv")
    rows = list(csv.DictReader(source.open(encoding="utf-8")))
    changed = {}
    for row in rows[:10]:
        new = round(float(row["IMD_score"]) + 1.25, 3)
        changed[row["lsoa21_code"]] = (float(row["IMD_score"]), new)
        row["IMD_score"] = f"{new}"
    target = tmp_path / "indicators/deprivation/iod2025_revised.csv"
    target.parent.mkdir(parents=True)
    with target.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    spec = next(s for s in sources_all(data_path("")) if s.name == "iod2025-lsoa21")
    spec.file, spec.release_label, spec.release_date = "indicators/deprivation/iod2025_revised.csv", "IoD2025 r1", \
        "2026-06-01"
    return spec, tmp_path, changed


def test_a_new_release_of_iod_with_ten_values_changed(api, iod_changed):
    spec, data_dir, changed = iod_changed
    old = Release.objects.get(dataset__slug="iod2025", is_current=True)
    loader = release_load(spec, data_dir, files=False)
    new = loader.release
    assert Release.objects.get(dataset__slug="iod2025", is_current=True) == new
    codes = ",".join(changed)
    params = {"indicator": "iod2025-imd-score", "area": codes}

    def served(**extra) -> dict[str, float]:
        return {r["area_code"]: r["value"] for r in api.get("/api/v1/observations/", {**params, **extra}).json()["results"]}

    assert served() == {code: after for code, (_, after) in changed.items()}
    assert served(as_of=(dt.date(2026, 6, 1) - dt.timedelta(days=1)).isoformat()) == {
        code: before for code, (before, _) in changed.items()}
    doc = compare(api, "iod2025", old.id, new.id)
    assert doc["counts"]["revised"] == 10 and doc["count"] == 10
    assert {r["area_code"]: (r["old_value"], r["new_value"]) for r in doc["results"]} == changed
    assert doc["counts"]["added"] == doc["counts"]["removed"] == 0
    # Unpublishing the new release brings the old values back at once: one release row each way.
    with connection.cursor() as cursor:
        cursor.execute("SELECT sum(n_tup_upd) FROM pg_stat_xact_user_tables WHERE relname LIKE 'indicators_observation%%'")
        before_updates = cursor.fetchone()[0] or 0
    assert release_state_set(release=new, state=Release.State.DRAFT)
    assert served() == {code: before for code, (before, _) in changed.items()}
    with connection.cursor() as cursor:
        cursor.execute("SELECT sum(n_tup_upd) FROM pg_stat_xact_user_tables WHERE relname LIKE 'indicators_observation%%'")
        assert (cursor.fetchone()[0] or 0) == before_updates  # no observation row rewritten
    assert api.get("/api/v1/observations/", {**params, "release": new.id}).status_code == 400  # a draft


def test_attaching_a_release_takes_a_lock_readers_never_wait_on():
    """Inside a load's transaction, once the new partition is attached: the parent is held in SHARE UPDATE
    EXCLUSIVE mode (not ACCESS EXCLUSIVE), and another session reads current values at once."""
    import psycopg

    pay = Release.objects.get(dataset__slug=PAY, is_current=True)
    new = Release.objects.create(dataset=pay.dataset, label="lock probe", release_date="2026-12-01")
    with connection.cursor() as cursor:
        table = partitions.fresh_create(cursor, new.id)
        cursor.execute(f"INSERT INTO {table} (id, indicator_id, area_id, period_id, release_id, value, status, note) "
                       f"SELECT nextval(pg_get_serial_sequence('indicators_observation', 'id')), indicator_id, area_id, "
                       f"period_id, %s, value, status, note FROM indicators_observation WHERE release_id = %s",
                       [new.id, pay.id])
        partitions.fresh_attach(cursor, new.id)
        cursor.execute("SELECT mode FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'relation' "
                       "AND relation = 'indicators_observation'::regclass")
        modes = {r[0] for r in cursor.fetchall()}
    assert "ShareUpdateExclusiveLock" in modes and "AccessExclusiveLock" not in modes, modes
    db = connection.settings_dict
    with psycopg.connect(host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"],
                         dbname=db["NAME"], autocommit=True) as other:
        other.execute("SET lock_timeout = '500ms'")
        (n,) = other.execute(f"SELECT count(*) FROM indicators_observation o WHERE o.release_id = {pay.id}").fetchone()
    assert n == Observation.objects.filter(release=pay).count() > 7000


def test_retention_keeps_the_newest_releases_and_never_the_current_one(caplog):
    from indicators.services import releases_retire
    from tests.builders import levelup

    pay = releases(PAY)
    with levelup(RELEASES_KEEP=2), caplog.at_level("INFO", logger="indicators.services"):
        dropped = releases_retire(dataset_id=pay["ELS 2026-04-29"].dataset_id)
    assert dropped == [pay["ELS 2024-12-04"].id]
    assert sorted(releases(PAY)) == ["ELS 2025-11-25", "ELS 2026-04-29"]
    assert f"release {pay['ELS 2024-12-04'].id} of dataset" in caplog.text
    with connection.cursor() as cursor:
        assert pay["ELS 2024-12-04"].id not in partitions.attached_release_ids(cursor)

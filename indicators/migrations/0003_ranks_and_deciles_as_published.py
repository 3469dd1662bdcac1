"""Ranks and deciles as their publishers give them, in databases loaded before the loader knew the
difference (indicators/ingest/loader.py, RANK_SQL): a rank indicator's `rank` is its own value
(IoD: 1 = most deprived) and `rank_of` the number ranked; a decile indicator has no rank, only
`rank_of`. Until now both were ranked again by value, so Manchester 018A's IMD 2019 barriers rank
4421 showed as rank 28424. One indicator at a time (about 33,000 rows each); a loaded database
records the rebuild as an ingest run, so the data version, and with it every ETag and cached
profile, moves on."""

from django.db import migrations
from django.utils import timezone

RANKS = """
    UPDATE indicators_observation o SET rank = x.rank, rank_of = x.rank_of
    FROM (SELECT o.id, CASE WHEN o.value >= 1 THEN round(o.value)::int END AS rank,
                 greatest(count(o.value) OVER p, round(max(o.value) OVER p))::int AS rank_of
          FROM indicators_observation o JOIN geographies_area a ON a.id = o.area_id
          WHERE o.indicator_id = %s AND o.value IS NOT NULL
          WINDOW p AS (PARTITION BY o.release_id, o.period_id, a.area_type_id)) x
    WHERE o.id = x.id AND (o.rank, o.rank_of) IS DISTINCT FROM (x.rank, x.rank_of)
"""
DECILES = "UPDATE indicators_observation SET rank = NULL WHERE indicator_id = %s AND rank IS NOT NULL"
# Back to the old rule: every value ranked within its load, 1 = best by polarity.
BY_VALUE = """
    UPDATE indicators_observation o SET rank = x.rank, rank_of = x.rank_of
    FROM (SELECT o.id, rank() OVER (p ORDER BY CASE WHEN i.polarity = 'lower_is_better' THEN -o.value
                                                     ELSE o.value END DESC) AS rank,
                 count(o.value) OVER p AS rank_of
          FROM indicators_observation o JOIN geographies_area a ON a.id = o.area_id
          JOIN indicators_indicator i ON i.id = o.indicator_id
          WHERE o.indicator_id = %s AND o.value IS NOT NULL
          WINDOW p AS (PARTITION BY o.release_id, o.period_id, a.area_type_id)) x
    WHERE o.id = x.id
"""


def _run(apps, schema_editor, statements: dict[str, str]) -> None:
    Indicator = apps.get_model("indicators", "Indicator")
    IngestRun = apps.get_model("core", "IngestRun")
    changed = 0
    with schema_editor.connection.cursor() as cursor:
        for pk, measure in Indicator.objects.filter(measure__in=statements).order_by("id").values_list("id", "measure"):
            cursor.execute(statements[measure], [pk])
            changed += cursor.rowcount
    if changed:
        now = timezone.now()
        IngestRun.objects.create(dataset="indicators", source="derived: ranks and deciles as published", path="",
                                 checksum="", state="succeeded", started_at=now, finished_at=now, seconds=0,
                                 counts={"observations_reranked": changed})


def forwards(apps, schema_editor):
    _run(apps, schema_editor, {"rank": RANKS, "decile": DECILES})


def backwards(apps, schema_editor):
    _run(apps, schema_editor, {"rank": BY_VALUE, "decile": BY_VALUE})


class Migration(migrations.Migration):
    dependencies = [
        ("indicators", "0002_observation_precomputed_rank"),
        ("geographies", "0004_custom_areas"),
        ("core", "0002_api_keys"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]

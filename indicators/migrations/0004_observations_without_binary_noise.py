"""Published numbers without binary noise, in databases loaded before the loader removed it
(indicators/ingest/loader.py, _ci_noise_free): a value, numerator or denominator becomes the float8
nearest its first 15 significant digits (all a float8 holds exactly, so a number the source wrote
with up to 15 digits is unchanged), and a noisy CI bound (ELS pay: 563.8392719999999) is rounded to
its value's decimals plus 2. One indicator at a time; a loaded database records the change as an
ingest run, so the data version, every ETag and cached profile moves on. The raw text stays in
each release's file (the ingest run names it). Not reversed: the noise is not worth restoring."""

from django.db import migrations
from django.utils import timezone

CLEAN = """
    UPDATE indicators_observation o
    SET value = o.value::numeric::float8,
        lci = {lci}, uci = {uci},
        numerator = o.numerator::numeric::float8, denominator = o.denominator::numeric::float8
    WHERE o.indicator_id = %s
      AND (o.value::numeric::float8 <> o.value OR o.lci::numeric::float8 <> o.lci
           OR o.uci::numeric::float8 <> o.uci OR o.numerator::numeric::float8 <> o.numerator
           OR o.denominator::numeric::float8 <> o.denominator)
"""
BOUND = ("coalesce(CASE WHEN o.{c}::numeric::float8 <> o.{c} "
         "THEN round(o.{c}::numeric, min_scale(o.value::numeric) + 2)::float8 END, o.{c}::numeric::float8)")
CLEAN = CLEAN.format(lci=BOUND.format(c="lci"), uci=BOUND.format(c="uci"))


def forwards(apps, schema_editor):
    Indicator = apps.get_model("indicators", "Indicator")
    IngestRun = apps.get_model("core", "IngestRun")
    changed = 0
    with schema_editor.connection.cursor() as cursor:
        for pk in Indicator.objects.order_by("id").values_list("id", flat=True):
            cursor.execute(CLEAN, [pk])
            changed += cursor.rowcount
    if changed:
        now = timezone.now()
        IngestRun.objects.create(dataset="indicators", source="derived: published numbers without binary noise",
                                 path="", checksum="", state="succeeded", started_at=now, finished_at=now, seconds=0,
                                 counts={"observations_noise_removed": changed})


class Migration(migrations.Migration):
    dependencies = [
        ("indicators", "0003_ranks_and_deciles_as_published"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]

"""Bulk files (indicators.bulk): the record of each Parquet and gzipped CSV file written for a
dataset's current release, and of the national snapshot."""

import django.contrib.postgres.fields
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("indicators", "0004_observations_without_binary_noise"),
    ]

    operations = [
        migrations.CreateModel(
            name="BulkFile",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("release_ids", django.contrib.postgres.fields.ArrayField(
                    base_field=models.IntegerField(), blank=True, default=list,
                    help_text="Every release with rows in the file (more than one where a dataset's indicators are "
                              "current from different releases).", size=None)),
                ("format", models.CharField(choices=[("parquet", "Parquet"), ("csv.gz", "Csv Gz")], max_length=10)),
                ("path", models.CharField(help_text="Relative to the database's folder in LEVELUP['BULK_DIR'].", max_length=300)),
                ("size", models.BigIntegerField()),
                ("sha256", models.CharField(max_length=64)),
                ("rows", models.BigIntegerField()),
                ("fingerprint", models.CharField(
                    help_text="What the file was written from (indicators.bulk): an unchanged fingerprint is not "
                              "written again.", max_length=64)),
                ("summary", models.JSONField(blank=True, default=dict,
                                             help_text="Periods, area types and nations the rows cover (for the "
                                                       "catalogue).")),
                ("written_at", models.DateTimeField()),
                ("dataset", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE,
                                              related_name="bulk_files", to="indicators.dataset")),
                ("release", models.ForeignKey(blank=True, help_text="The newest release whose rows the file holds; "
                                                                   "null for the snapshot.",
                                              null=True, on_delete=django.db.models.deletion.CASCADE,
                                              related_name="bulk_files", to="indicators.release")),
            ],
            options={
                "ordering": ["dataset", "release", "format"],
                "constraints": [
                    models.UniqueConstraint(condition=models.Q(("release__isnull", False)), fields=("release", "format"),
                                            name="bulkfile_one_per_release_format"),
                    models.UniqueConstraint(condition=models.Q(("release__isnull", True)), fields=("format",),
                                            name="bulkfile_one_snapshot_per_format"),
                ],
            },
        ),
    ]

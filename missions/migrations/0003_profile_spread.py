"""The profile spreads (missions.models.ProfileSpread), filled from the facts a loaded database
already holds: loads that change nothing rebuild nothing, so without this a database migrated
after its load would show no spine ranges until its next load."""

import django.db.models.deletion
from django.db import migrations, models


def spreads_fill(apps, schema_editor):
    from missions.profile_facts import profile_spreads_rebuild

    with schema_editor.connection.cursor() as cursor:
        profile_spreads_rebuild(cursor, scope=None)


class Migration(migrations.Migration):

    dependencies = [
        ('geographies', '0005_boundary_web_mercator_copy'),
        ('indicators', '0004_observations_without_binary_noise'),
        ('missions', '0002_profile_facts'),
    ]

    operations = [
        migrations.CreateModel(
            name='ProfileSpread',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('country', models.CharField(blank=True, max_length=1)),
                ('areas', models.IntegerField(help_text='Areas with a value.')),
                ('low', models.FloatField()),
                ('q1', models.FloatField(help_text="25th percentile, interpolated, rounded to the indicator's derived places.")),
                ('q3', models.FloatField(help_text="75th percentile, interpolated, rounded to the indicator's derived places.")),
                ('high', models.FloatField()),
                ('area_type', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='geographies.areatype')),
                ('indicator', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='indicators.indicator')),
                ('period', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='indicators.period')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('indicator', 'period', 'area_type', 'country'), name='profilespread_key')],
            },
        ),
        migrations.RunPython(spreads_fill, migrations.RunPython.noop),
    ]

# Pushed changes (levelup_api/core/notify.py): PostgreSQL tells every server process when the data
# version may have changed, and when an API key was changed or removed, instead of each request
# asking. NOTIFY is delivered at commit, once per channel and payload per transaction, and only to
# sessions on the primary.
from django.db import migrations

# The tables levelup_api.core.caching reads the data version from (its VERSION_TABLES; a test checks
# that every one of them has the trigger).
VERSION_TABLES = [
    "core_ingestrun",
    "indicators_historicalindicator",
    "indicators_historicalrelease",
    "indicators_historicaldataset",
    "geographies_historicalarea",
    "geographies_historicalareachange",
    "geographies_historicalarealink",
    "missions_historicalmission",
    "missions_historicalmetric",
    "missions_historicaltarget",
]

FUNCTIONS = """
CREATE OR REPLACE FUNCTION levelup_notify_data_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- One statement, one notification; the same (empty) payload, so a transaction sends one.
    PERFORM pg_notify('levelup_data_version', '');
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION levelup_notify_api_key() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('levelup_api_keys', OLD.prefix);
    RETURN NULL;
END $$;

CREATE TRIGGER levelup_api_key_changed AFTER UPDATE OR DELETE ON core_apikey
    FOR EACH ROW EXECUTE FUNCTION levelup_notify_api_key();
"""

TRIGGERS = "\n".join(
    f"CREATE TRIGGER levelup_data_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
    "FOR EACH STATEMENT EXECUTE FUNCTION levelup_notify_data_version();"
    for table in VERSION_TABLES
)

REVERSE = "\n".join(f"DROP TRIGGER IF EXISTS levelup_data_version ON {table};" for table in VERSION_TABLES) + """
DROP TRIGGER IF EXISTS levelup_api_key_changed ON core_apikey;
DROP FUNCTION IF EXISTS levelup_notify_data_version();
DROP FUNCTION IF EXISTS levelup_notify_api_key();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0002_api_keys"),
        # The history tables the triggers go on.
        ("geographies", "0004_custom_areas"),
        ("indicators", "0004_observations_without_binary_noise"),
        ("missions", "0001_missions_metrics_targets"),
    ]

    operations = [migrations.RunSQL(FUNCTIONS + TRIGGERS, reverse_sql=REVERSE)]

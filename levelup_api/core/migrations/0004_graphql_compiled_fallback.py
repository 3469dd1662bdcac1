# GraphQL compiled to SQL (levelup_api/core/graphql_sql.py): where a statement meets something only
# graphql-core answers correctly (a row a resolver would refuse, a NaN in a Float, a binding whose
# rows changed), it calls this function, which stops the statement with SQLSTATE LG001; the view
# then answers the request with graphql-core, so the error comes from the one place that writes
# errors. VOLATILE, so that the planner never evaluates it ahead of time: it runs only where a row
# reaches it. Polymorphic in its second argument so that it fits any expression's type.
from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION levelup_graphql_fallback(reason text, result anyelement) RETURNS anyelement
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'LG001', MESSAGE = 'compiled GraphQL hands over to graphql-core: ' || reason;
END $$;
"""

DROP = "DROP FUNCTION IF EXISTS levelup_graphql_fallback(text, anyelement);"


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0003_data_version_and_api_key_notify"),
    ]

    operations = [
        migrations.RunSQL(CREATE, reverse_sql=DROP),
    ]

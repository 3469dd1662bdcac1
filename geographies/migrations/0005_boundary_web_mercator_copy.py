# Vector tiles (indicators/tiles.py, docs/tiles.md) are cut in Web Mercator (EPSG:3857). Boundaries are
# stored in EPSG:4326, and ST_Transform costs about 1.3 µs a vertex under PROJ 9: 40 ms of a national
# LSOA tile's 70 ms at zoom 8. So each boundary keeps a Web Mercator copy, written by PostgreSQL itself
# (a stored generated column), so that every load path (COPY staging, INSERT ... ON CONFLICT, the
# admin) keeps it right without a derived step, with a GiST index for the tiles' bounding-box filter.
#
# Raw SQL, not a Django field: the column is read only by the tile SQL, and a model field would be
# fetched by every ORM read of a boundary (area documents prefetch boundaries for their vintages).

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('geographies', '0004_custom_areas'),
    ]

    operations = [
        migrations.RunSQL(
            sql=[
                "ALTER TABLE geographies_boundary ADD COLUMN geom_3857 geometry(MultiPolygon, 3857) "
                "GENERATED ALWAYS AS (ST_Transform(geom, 3857)) STORED",
                "CREATE INDEX boundary_geom_3857 ON geographies_boundary USING gist (geom_3857)",
                "ANALYZE geographies_boundary",
            ],
            reverse_sql=[
                "DROP INDEX IF EXISTS boundary_geom_3857",
                "ALTER TABLE geographies_boundary DROP COLUMN IF EXISTS geom_3857",
            ],
        ),
    ]

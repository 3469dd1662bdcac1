"""Writes: loading the reference fixtures and source files, and rebuilding derived tables."""

from __future__ import annotations

import hashlib
import math
import time
import tomllib
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count
from psycopg import sql

from levelup_api.core.ingest import (
    LoadReport,
    RunRecorder,
    SourceOutcome,
    execute,
    last_success,
    run_source,
    sources_run,
    sources_select,
)
from levelup_api.core.models import IngestRun
from levelup_api.core.params import ParameterError

from .ingest.loader import GSS, SourceLoader
from .ingest.spec import SourceSpec, specs_all
from .models import AreaType, Vintage
from .signals import hierarchy_changed

DATASET = "geographies"
DERIVED_SOURCE = "_derived"
REFERENCE_DIR = Path(settings.LEVELUP["FIXTURES_DIR"]) / "geographies"


def reference_data_load() -> dict[str, int]:
    """Upsert area types and vintages from fixtures/geographies/*.toml (small facts we write ourselves)."""
    types = tomllib.loads((REFERENCE_DIR / "area_types.toml").read_text("utf-8"))["types"]
    vintages = tomllib.loads((REFERENCE_DIR / "vintages.toml").read_text("utf-8"))["vintages"]
    with transaction.atomic():
        for t in types:
            AreaType.objects.update_or_create(
                code=t["code"],
                defaults={"name": t["name"], "level": t["level"], "description": t.get("description", ""),
                          "entity_codes": t.get("entity_codes", []), "code_pattern": t.get("code_pattern", "")},
            )
        by_code = {t.code: t for t in AreaType.objects.all()}
        for v in vintages:
            Vintage.objects.update_or_create(
                code=v["code"],
                defaults={"area_type": by_code[v["type"]], "name": v["name"], "effective_from": v["effective_from"]},
            )
    return {"area_types": len(types), "vintages": len(vintages)}


def source_load(spec: SourceSpec, *, data_dir: Path, dry_run: bool = False, force: bool = False) -> SourceOutcome:
    """Load one geography file in its own transaction (skipped when unchanged)."""
    return run_source(dataset=DATASET, name=spec.name, file=spec.file, path=spec.path(data_dir),
                      spec_bytes=spec.spec_bytes, load=lambda: _load_one(spec, data_dir),
                      dry_run=dry_run, force=force)


def _load_one(spec: SourceSpec, data_dir: Path):
    loader = SourceLoader(spec, data_dir)
    result = loader.load()
    return result.rows_read, result.counts


def geographies_load(
    *, data_dir: Path, only: list[str] | None = None, dry_run: bool = False, force: bool = False,
    progress: Callable[[SourceOutcome], None] | None = None,
) -> LoadReport:
    """Load every geography source in order, stopping at the first failure; then rebuild derived
    tables if anything changed (also after a failure, for the sources that did load).

    A dry run loads everything in one transaction (later files depend on earlier ones), rolls it
    back, and then records each run as a dry run."""
    report, committed = sources_run(
        dataset=DATASET, sources=sources_select(specs_all(), only), dry_run=dry_run, progress=progress,
        before=reference_data_load,
        run_one=lambda spec: source_load(spec, data_dir=data_dir, dry_run=dry_run, force=force),
    )
    if not committed:
        return report
    # Rebuild when data changed, or when the derivation itself changed since the last rebuild.
    derived_checksum = hashlib.sha256(repr(DERIVED_SQL).encode()).hexdigest()
    previous = last_success(DATASET, DERIVED_SOURCE)
    if any(o.state == IngestRun.State.SUCCEEDED for o in report.outcomes) or (
        previous is None or previous.checksum != derived_checksum
    ):
        recorder = RunRecorder(dataset=DATASET, source=DERIVED_SOURCE, path="geographies/services.py",
                               checksum=derived_checksum, dry_run=False)
        report.derived = derived_rebuild()
        recorder.finish(IngestRun.State.SUCCEEDED, counts={k: v["rows"] for k, v in report.derived.items()})
    return report


DERIVED_SQL: list[tuple[str, str]] = [
    # JIT compilation costs seconds on these one-off statements and saves nothing; the closure sort
    # fits in memory with a larger work_mem.
    ("session", "SET LOCAL jit = off; SET LOCAL work_mem = '256MB'"),
    ("vintage_effective_to", """
        UPDATE geographies_vintage v SET effective_to = n.next_from - 1
        FROM (SELECT id, lead(effective_from) OVER (PARTITION BY area_type_id ORDER BY effective_from) AS next_from
              FROM geographies_vintage) n
        WHERE n.id = v.id AND v.effective_to IS DISTINCT FROM n.next_from - 1
    """),
    ("vintage_counts", """
        UPDATE geographies_vintage v SET area_count = coalesce(m.n, 0), boundary_count = coalesce(b.n, 0)
        FROM geographies_vintage v2
        LEFT JOIN (SELECT vintage_id, count(*) n FROM geographies_areamembership GROUP BY 1) m ON m.vintage_id = v2.id
        LEFT JOIN (SELECT vintage_id, count(*) n FROM geographies_boundary GROUP BY 1) b ON b.vintage_id = v2.id
        WHERE v.id = v2.id AND (v.area_count, v.boundary_count) IS DISTINCT FROM (coalesce(m.n, 0), coalesce(b.n, 0))
    """),
    ("point_lookup_pieces", """
        WITH latest AS (
            SELECT array_agg(id) AS ids FROM (
                SELECT DISTINCT ON (area_type_id) id FROM geographies_vintage WHERE boundary_count > 0
                ORDER BY area_type_id, effective_from DESC) l
        ), want AS (
            SELECT p.id, p.vintage_id = ANY(latest.ids) AS is_default, a.code, m.name, t.code AS type_code,
                   t.name AS type_name, v.code AS vintage_code, t.level
            FROM geographies_boundarypiece p CROSS JOIN latest
            JOIN geographies_area a ON a.id = p.area_id
            JOIN geographies_vintage v ON v.id = p.vintage_id
            JOIN geographies_areatype t ON t.id = p.area_type_id
            JOIN geographies_areamembership m ON m.area_id = p.area_id AND m.vintage_id = p.vintage_id
        )
        UPDATE geographies_boundarypiece p SET is_default = w.is_default, code = w.code, name = w.name,
            type_code = w.type_code, type_name = w.type_name, vintage_code = w.vintage_code, level = w.level
        FROM want w
        WHERE w.id = p.id AND (p.is_default, p.code, p.name, p.type_code, p.type_name, p.vintage_code, p.level)
              IS DISTINCT FROM (w.is_default, w.code, w.name, w.type_code, w.type_name, w.vintage_code, w.level)
    """),
    ("area_names", """
        UPDATE geographies_area a SET name = x.name
        FROM (SELECT DISTINCT ON (m.area_id) m.area_id, m.name FROM geographies_areamembership m
              JOIN geographies_vintage v ON v.id = m.vintage_id
              ORDER BY m.area_id, v.effective_from DESC, v.id DESC) x
        WHERE x.area_id = a.id AND a.name <> x.name
    """),
    ("area_welsh_names", """
        UPDATE geographies_area a SET name_cy = x.name_cy
        FROM (SELECT DISTINCT ON (m.area_id) m.area_id, m.name_cy FROM geographies_areamembership m
              JOIN geographies_vintage v ON v.id = m.vintage_id WHERE m.name_cy <> ''
              ORDER BY m.area_id, v.effective_from DESC, v.id DESC) x
        WHERE x.area_id = a.id AND a.name_cy <> x.name_cy
    """),
    # Start: the date a change created the code, else a stated lifespan, else the first vintage we hold.
    # End: the day before a change replaced it, else a stated lifespan (the register is not consistent
    # about inclusive end dates, so code history wins), else, for codes missing from later vintages of
    # their type, the last day of the last vintage that held them.
    ("area_active_dates", """
        WITH life AS (
            SELECT area_id, min(start) AS s, min("end") AS e FROM geographies_arealifespan GROUP BY area_id
        ), ch_start AS (
            SELECT successor_id AS area_id, max(effective_date) AS s FROM geographies_areachange
            WHERE predecessor_id <> successor_id AND change_type <> 'U' GROUP BY successor_id
        ), ch_end AS (
            SELECT predecessor_id AS area_id, min(effective_date) - 1 AS e FROM geographies_areachange
            WHERE predecessor_id <> successor_id AND change_type <> 'U' GROUP BY predecessor_id
        ), vint AS (
            SELECT a.id AS area_id, min(v.effective_from) AS s,
                   max(v.effective_from) FILTER (WHERE v.area_type_id = a.area_type_id) AS last_own
            FROM geographies_area a JOIN geographies_areamembership m ON m.area_id = a.id
            JOIN geographies_vintage v ON v.id = m.vintage_id GROUP BY a.id
        ), vint_end AS (
            SELECT vint.area_id, (SELECT min(n.effective_from) - 1 FROM geographies_vintage n
                                 WHERE n.area_type_id = a.area_type_id AND n.effective_from > vint.last_own) AS e
            FROM vint JOIN geographies_area a ON a.id = vint.area_id
        ), dates AS (
            SELECT a.id, coalesce(ch_start.s, life.s, vint.s) AS s, coalesce(ch_end.e, life.e, vint_end.e) AS e
            FROM geographies_area a
            LEFT JOIN life ON life.area_id = a.id LEFT JOIN ch_start ON ch_start.area_id = a.id
            LEFT JOIN ch_end ON ch_end.area_id = a.id LEFT JOIN vint ON vint.area_id = a.id
            LEFT JOIN vint_end ON vint_end.area_id = a.id
        )
        UPDATE geographies_area a SET active_from = CASE WHEN d.e < d.s THEN NULL ELSE d.s END, active_to = d.e
        FROM dates d WHERE d.id = a.id
          AND (a.active_from IS DISTINCT FROM CASE WHEN d.e < d.s THEN NULL ELSE d.s END
               OR a.active_to IS DISTINCT FROM d.e)
    """),
    # Deferred FK checks from this transaction's inserts must run before TRUNCATE is allowed.
    ("ancestors_clear", "SET CONSTRAINTS ALL IMMEDIATE; TRUNCATE geographies_areaancestor"),
    # Closure along vintage-consistent paths: a link continues only from the vintage it arrived in.
    ("ancestors", """
        INSERT INTO geographies_areaancestor
            (descendant_id, descendant_vintage_id, ancestor_id, ancestor_vintage_id, depth, fit)
        WITH RECURSIVE c(d, dv, a, av, depth, best_fit) AS (
            SELECT child_id, child_vintage_id, parent_id, parent_vintage_id, 1, fit = 'best_fit'
            FROM geographies_arealink
            UNION ALL
            SELECT c.d, c.dv, l.parent_id, l.parent_vintage_id, c.depth + 1, c.best_fit OR l.fit = 'best_fit'
            FROM c JOIN geographies_arealink l ON l.child_id = c.a AND l.child_vintage_id = c.av
            WHERE c.depth < 10
        )
        SELECT DISTINCT ON (d, dv, a, av) d, dv, a, av, depth, CASE WHEN best_fit THEN 'best_fit' ELSE 'exact' END
        FROM c WHERE NOT (d = a AND dv = av)
        ORDER BY d, dv, a, av, best_fit, depth
    """),
    # Fresh statistics: without them the planner ANDs the GiST index with the vintage index and a
    # point lookup takes 0.8 ms instead of 0.15 ms (autovacuum may be off or not have run yet).
    ("analyze", "ANALYZE geographies_areatype, geographies_vintage, geographies_area, geographies_areamembership, "
                "geographies_arealink, geographies_areaancestor, geographies_areachange, geographies_arealifespan, "
                "geographies_boundary, geographies_boundarypiece"),
]


def derived_rebuild() -> dict[str, dict]:
    """Rebuild derived columns and tables in one transaction; returns rows and seconds per step."""
    out: dict[str, dict] = {}
    with transaction.atomic(), connection.cursor() as cursor:
        for name, statement in DERIVED_SQL:
            t0 = time.perf_counter()
            cursor.execute(statement)
            out[name] = {"rows": max(cursor.rowcount, 0), "seconds": round(time.perf_counter() - t0, 3)}
        hierarchy_changed.send(sender=derived_rebuild)
    return out


def areas_create_staged(*, staging_table: str, vintage_by_type: dict[str, str], source: str) -> int:
    """Create the areas listed in a temporary table (columns code, name, type_id, type_code) that
    only statistics files carry (former districts and counties, ...), each with its membership of
    the vintage `vintage_by_type` names for its type, recorded as from `source`. Set-based, in the
    caller's transaction; names, dates and counts follow from the next derived_rebuild(). Returns
    the number of areas created. Geographies owns its tables: the indicator loader calls this
    rather than writing them itself."""
    table = sql.Identifier(staging_table)
    with connection.cursor() as cursor:
        n = execute(cursor, sql.SQL("""
            INSERT INTO geographies_area (code, name, name_cy, entity, area_type_id)
            SELECT code, name, '', CASE WHEN code ~ %s THEN left(code, 3) ELSE '' END, type_id FROM {table}
        """).format(table=table), [GSS]).rowcount
        if not vintage_by_type:
            return n
        whens = sql.SQL(" ").join(sql.SQL("WHEN {} THEN {}").format(sql.Literal(t), sql.Literal(v))
                                  for t, v in vintage_by_type.items())
        execute(cursor, sql.SQL("""
            INSERT INTO geographies_areamembership (area_id, vintage_id, name, name_cy, source)
            SELECT a.id, v.id, n.name, '', {src} FROM {table} n JOIN geographies_area a ON a.code = n.code
            JOIN geographies_vintage v ON v.code = (CASE n.type_code {whens} END)
            ON CONFLICT (area_id, vintage_id) DO NOTHING
        """).format(src=sql.Literal(source), table=table, whens=whens))
    return n


# The one parameter error (levelup_api.core.params); this name is kept for the callers that catch it.
CustomAreaError = ParameterError


SMALL_AREA_TYPES = ("LSOA", "MSOA")
POLYGON_TYPES = ("Polygon", "MultiPolygon")


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _ring_problem(ring, where: str) -> str | None:
    if not isinstance(ring, list) or len(ring) < 4:
        return f"{where}: a linear ring is a list of at least 4 positions (the first repeated last)"
    for n, position in enumerate(ring):
        if not (isinstance(position, list) and len(position) in (2, 3) and all(_number(v) for v in position)):
            return f"{where}[{n}]: a position is [longitude, latitude] in numbers, got {_shown(position)}"
        if not (-180 <= position[0] <= 180 and -90 <= position[1] <= 90):
            return f"{where}[{n}]: [longitude, latitude] must lie within [-180..180, -90..90], got {_shown(position)}"
    if ring[0][:2] != ring[-1][:2]:
        return f"{where}: a linear ring must end where it starts"
    return None


def _shown(value) -> str:
    text = repr(value)  # repr escapes control characters, NUL included
    return text if len(text) <= 60 else text[:57] + "..."


def geojson_polygon_problem(geometry) -> str | None:
    """What is wrong with a GeoJSON Polygon or MultiPolygon (EPSG:4326), checked in Python before
    GEOS or PostGIS sees it (their messages are not for users), or None. Closed rings of numeric
    positions within longitude/latitude bounds; validity (self-intersection) is GEOS's to judge."""
    if not isinstance(geometry, dict):
        return 'a GeoJSON object such as {"type": "Polygon", "coordinates": [[[lon, lat], ...]]}'
    kind = geometry.get("type")
    if kind not in POLYGON_TYPES:
        return f"a Polygon or MultiPolygon, not {kind if isinstance(kind, str) and kind.isalnum() else _shown(kind)}"
    coordinates = geometry.get("coordinates")
    polygons = [coordinates] if kind == "Polygon" else coordinates
    if not isinstance(polygons, list) or not polygons:
        return "coordinates: a MultiPolygon is a non-empty list of polygons"
    for p, rings in enumerate(polygons):
        where = "coordinates" if kind == "Polygon" else f"coordinates[{p}]"
        if not isinstance(rings, list) or not rings:
            return f"{where}: a polygon is a non-empty list of linear rings"
        for r, ring in enumerate(rings):
            problem = _ring_problem(ring, f"{where}[{r}]")
            if problem:
                return problem
    return None


def _text_problem(value, *, longest: int) -> str | None:
    """Why a value is not usable text here (PostgreSQL text cannot hold NUL), or None."""
    if not isinstance(value, str):
        return f"must be a string, got {type(value).__name__}"
    if "\x00" in value:
        return "NUL characters are not allowed"
    if len(value) > longest:
        return f"at most {longest} characters"
    return None


def custom_area_create(*, name: str, user, codes: list[str] | None = None, geometry: dict | None = None,
                       method: str | None = None, vintage_code: str | None = None):
    """A custom area from small-area codes (weight 1 each), or from a GeoJSON polygon: `centroid`
    takes the small areas whose representative point lies inside (weight 1), `overlap` every small
    area the polygon touches, weighted by the share of its area inside. One transaction."""
    import orjson
    from django.contrib.gis.geos import GEOSException, GEOSGeometry, MultiPolygon

    from .models import Area, AreaMembership, CustomArea, CustomAreaMember

    limits = settings.LEVELUP
    # The REST view validates the body first (geographies.api.serializers.CustomAreaCreateSerializer);
    # these checks keep any other caller from reaching PostgreSQL or GEOS with bad input.
    if not isinstance(name, str) or _text_problem(name, longest=200) or not name.strip():
        raise CustomAreaError("name", "give a name of 1 to 200 characters (a string, no NUL)")
    name = name.strip()
    if vintage_code is not None and (problem := _text_problem(vintage_code, longest=20)):
        raise CustomAreaError("vintage", problem)
    if (codes is None) == (geometry is None):
        raise CustomAreaError("codes", "give either `codes` (LSOA or MSOA codes) or `geometry` (a GeoJSON polygon)")
    if codes is not None:
        if not isinstance(codes, list) or not codes or any(_text_problem(c, longest=20) for c in codes):
            raise CustomAreaError("codes", "a non-empty list of LSOA or MSOA codes (strings, no NUL)")
        wanted = list(dict.fromkeys(c.strip().upper() for c in codes))
        if len(wanted) > limits["CUSTOM_AREA_MAX_MEMBERS"]:
            raise CustomAreaError("codes", f"at most {limits['CUSTOM_AREA_MAX_MEMBERS']:,} codes")
        found = dict(Area.objects.filter(code__in=wanted).values_list("code", "id"))
        unknown = [c for c in wanted if c not in found]
        if unknown:
            raise CustomAreaError("codes", f"unknown code(s): {', '.join(unknown[:20])}")
        # The small-area vintages that hold every code, in one grouped query.
        complete = sorted(
            (AreaMembership.objects.filter(area_id__in=found.values(), vintage__area_type__code__in=SMALL_AREA_TYPES)
             .values("vintage__code").annotate(n=Count("area_id", distinct=True)).filter(n=len(found))
             .values_list("vintage__code", flat=True)), reverse=True)
        if not complete:
            raise CustomAreaError("codes", "every code must be an LSOA or MSOA of one vintage (e.g. all LSOA 2021)")
        vintage = Vintage.objects.get(code=vintage_code.upper() if vintage_code and vintage_code.upper() in complete
                                      else complete[0])
        with transaction.atomic():
            area = CustomArea.objects.create(name=name, method=CustomArea.Method.CODES, vintage=vintage, created_by=user)
            CustomAreaMember.objects.bulk_create(
                [CustomAreaMember(custom_area=area, area_id=i, weight=1.0) for i in found.values()])
        return area
    if method not in (CustomArea.Method.CENTROID, CustomArea.Method.OVERLAP):
        raise CustomAreaError("method", "with a geometry, method is centroid or overlap")
    if problem := geojson_polygon_problem(geometry):
        raise CustomAreaError("geometry", problem)
    vintage = Vintage.objects.filter(code=(vintage_code or "LSOA21").upper(), area_type__code__in=SMALL_AREA_TYPES).first()
    if vintage is None:
        raise CustomAreaError("vintage", "an LSOA or MSOA vintage with boundaries, e.g. LSOA21")
    try:
        # Only the members GEOS needs: a `crs` or `bbox` member is not its business.
        geom = GEOSGeometry(orjson.dumps({"type": geometry["type"], "coordinates": geometry["coordinates"]}).decode(),
                            srid=4326)
    except (GEOSException, ValueError, TypeError, orjson.JSONEncodeError):
        # Checked above, so this is rare; GEOS's own words stay in the server.
        raise CustomAreaError("geometry", "not a GeoJSON Polygon or MultiPolygon that GEOS can read") from None
    if geom.geom_type == "Polygon":
        geom = MultiPolygon(geom, srid=4326)
    if geom.geom_type != "MultiPolygon" or geom.empty:
        raise CustomAreaError("geometry", f"a Polygon or MultiPolygon, not {geom.geom_type}")
    if not geom.valid:
        raise CustomAreaError("geometry", f"invalid polygon: {geom.valid_reason}")
    with connection.cursor() as cursor:
        cursor.execute("SELECT ST_Area(%s::geography) / 1e6", [geom.hexewkb.decode()])
        km2 = cursor.fetchone()[0]
    if km2 > limits["CUSTOM_AREA_MAX_KM2"]:
        raise CustomAreaError("geometry", f"{km2:,.0f} km2 is larger than the {limits['CUSTOM_AREA_MAX_KM2']:,} km2 allowed")
    inside = ("ST_Contains(g.shape, ST_PointOnSurface(b.geom))" if method == CustomArea.Method.CENTROID
              else "ST_Intersects(g.shape, b.geom)")
    weight = ("1.0" if method == CustomArea.Method.CENTROID
              else "least(1.0, ST_Area(ST_Intersection(g.shape, b.geom)::geography) / nullif(ST_Area(b.geom::geography), 0))")
    with transaction.atomic():
        area = CustomArea.objects.create(name=name, method=method, vintage=vintage, geometry=geom, created_by=user)
        with connection.cursor() as cursor:
            cursor.execute(f"""
                INSERT INTO geographies_customareamember (custom_area_id, area_id, weight)
                SELECT %s, b.area_id, w FROM (
                    SELECT b.area_id, {weight} AS w
                    FROM geographies_boundary b, (SELECT ST_GeomFromEWKB(decode(%s, 'hex')) AS shape) g
                    WHERE b.vintage_id = %s AND b.geom && g.shape AND {inside}
                ) b WHERE w > 0
            """, [area.id, geom.hexewkb.decode(), vintage.id])
            n = cursor.rowcount
        if n == 0:
            raise CustomAreaError("geometry", f"no {vintage.code} area lies in the polygon")
        if n > limits["CUSTOM_AREA_MAX_MEMBERS"]:
            raise CustomAreaError("geometry", f"{n:,} small areas: at most {limits['CUSTOM_AREA_MAX_MEMBERS']:,}")
    return area

"""The one parameterised geography importer: stage a source file with COPY, validate it with
set-based SQL, and merge it, all inside the caller's transaction.

Every failure raises IngestError naming the file, line (or feature), column, value and reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import orjson
from django.conf import settings
from django.contrib.gis.gdal import DataSource, GDALException
from django.db import DataError, InternalError, connection, transaction
from psycopg import sql

from levelup_api.core.ingest import IngestError, copy_rows, create_staging, decode_text, execute, stage_csv

from ..models import AreaType, Vintage
from .spec import BoundariesEntry, ChangesEntry, LifespansEntry, LinksEntry, SourceSpec, SpecError

GSS = r"^[EWSNK][0-9]{8}$"
STAGE = "stg_geo"
T_AREA = "geographies_area"
T_MEMBER = "geographies_areamembership"
T_LINK = "geographies_arealink"
T_CHANGE = "geographies_areachange"
T_LIFE = "geographies_arealifespan"
T_BOUNDARY = "geographies_boundary"
T_PIECE = "geographies_boundarypiece"
DATE_RE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
VALID_CHANGE_TYPES = ("U", "S", "M", "X")


@dataclass
class TypeInfo:
    id: int
    entity_codes: list[str]
    pattern: str


@dataclass
class LoadResult:
    rows_read: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, key: str, n: int) -> None:
        if n:
            self.counts[key] = self.counts.get(key, 0) + n


_q = execute


class SourceLoader:
    """Loads one SourceSpec. Call inside transaction.atomic()."""

    def __init__(self, spec: SourceSpec, data_dir: Path):
        self.spec = spec
        self.path = spec.path(data_dir)
        self.label = spec.file
        self.result = LoadResult()
        self.vintages = {v.code: v for v in Vintage.objects.select_related("area_type")}
        self.types = {
            t.id: TypeInfo(t.id, list(t.entity_codes), t.code_pattern) for t in AreaType.objects.all()
        }
        patterns = [t.pattern for t in self.types.values() if t.pattern]
        self.code_re = "|".join([GSS, *patterns])

    # -- helpers -----------------------------------------------------------------------------
    def fail(self, reason: str, line=None, column=None, value=None, unit: str | None = None):
        unit = unit or ("line" if self.spec.format == "csv" else "feature")
        raise IngestError(self.label, reason, line, column, value, unit)

    def vintage_id(self, code: str) -> int:
        try:
            return self.vintages[code].id
        except KeyError:
            raise SpecError(f"{self.spec.name}: unknown vintage {code!r}") from None

    def vintage_sql(self, ref, code_expr: sql.Composable) -> sql.Composable:
        """Vintage id for a row: a constant, or chosen by the code's GSS entity."""
        if isinstance(ref, str):
            return sql.Literal(self.vintage_id(ref))
        whens = [
            sql.SQL("WHEN {} THEN {}").format(sql.Literal(entity), sql.Literal(self.vintage_id(v)))
            for entity, v in ref.items()
        ]
        return sql.SQL("CASE left({}, 3) {} END").format(code_expr, sql.SQL(" ").join(whens))

    def type_fits(self, code: sql.Composable, vintage_id_expr: sql.Composable) -> sql.Composable:
        """SQL that is true when a code's entity belongs to its vintage's area type."""
        return sql.SQL(
            "EXISTS (SELECT 1 FROM geographies_vintage v JOIN geographies_areatype t ON t.id = v.area_type_id "
            "WHERE v.id = {vid} AND ((left({c}, 3) = ANY(t.entity_codes) AND {c} ~ {gss}) "
            "OR (t.code_pattern <> '' AND {c} ~ t.code_pattern)))"
        ).format(vid=vintage_id_expr, c=code, gss=sql.Literal(GSS))

    @staticmethod
    def col(name: str) -> sql.Composable:
        return sql.SQL("nullif(btrim(s.{}), '')").format(sql.Identifier(name))

    def filters(self, entry, code_cols: list[str]) -> sql.Composable:
        parts: list[sql.Composable] = [sql.SQL("TRUE")]
        for column, allowed in entry.where.items():
            parts.append(sql.SQL("btrim(s.{}) = ANY({})").format(sql.Identifier(column), sql.Literal(list(allowed))))
        for column in code_cols:
            c = self.col(column)
            if entry.only_prefixes:
                likes = [p + "%" for p in entry.only_prefixes]
                parts.append(sql.SQL("({c} IS NULL OR {c} LIKE ANY({l}))").format(c=c, l=sql.Literal(likes)))
            if entry.skip_prefixes:
                likes = [p + "%" for p in entry.skip_prefixes]
                parts.append(sql.SQL("({c} IS NULL OR NOT {c} LIKE ANY({l}))").format(c=c, l=sql.Literal(likes)))
        return sql.SQL(" AND ").join(parts)

    def first_bad(self, cursor, table: str, condition: sql.Composable, value: str, column: str, reason: str):
        row = _q(
            cursor,
            sql.SQL("SELECT _line, ({v})::text FROM {t} WHERE {cond} ORDER BY _line LIMIT 1").format(
                v=sql.SQL(value), t=sql.Identifier(table), cond=condition
            ),
        ).fetchone()
        if row:
            self.fail(reason, row[0], column, row[1])

    def check_codes(self, cursor, table: str, columns: dict[str, str], optional: bool) -> None:
        """Blank codes (unless optional: then those rows are dropped and counted) and malformed codes."""
        for field_name, source_col in columns.items():
            if optional:
                n = _q(cursor, sql.SQL("DELETE FROM {} WHERE {} IS NULL").format(
                    sql.Identifier(table), sql.Identifier(field_name))).rowcount
                self.result.add("skipped_blank", n)
            else:
                self.first_bad(cursor, table, sql.SQL("{} IS NULL").format(sql.Identifier(field_name)),
                               "''", source_col, "missing code")
            self.first_bad(
                cursor, table,
                sql.SQL("{f} !~ {re}").format(f=sql.Identifier(field_name), re=sql.Literal(self.code_re)),
                field_name, source_col, "not a GSS code (nine characters: E01234567) or a known code pattern",
            )

    # -- entry point -------------------------------------------------------------------------
    def load(self) -> LoadResult:
        if not self.path.is_file():
            self.fail("file not found: " + str(self.path))
        self.remove_previous()
        if self.spec.format == "csv":
            self.stage_csv()
            with connection.cursor() as cursor:
                for i, entry in enumerate(self.spec.areas):
                    self.load_areas(cursor, entry, i)
                for i, entry in enumerate(self.spec.links):
                    self.load_links(cursor, entry, i)
                for i, entry in enumerate(self.spec.changes):
                    self.load_changes(cursor, entry, i)
                for i, entry in enumerate(self.spec.lifespans):
                    self.load_lifespans(cursor, entry, i)
        else:
            for entry in self.spec.boundaries:
                self.load_boundaries(entry)
        return self.result

    def remove_previous(self) -> None:
        """A source is replaced whole on reload (memberships are kept: codes are never reused)."""
        with connection.cursor() as cursor:
            # Django cascades deletes in Python, not in the database: remove the derived pieces first.
            _q(cursor, sql.SQL("DELETE FROM {p} WHERE boundary_id IN (SELECT id FROM {b} WHERE source = %s)").format(
                p=sql.Identifier(T_PIECE), b=sql.Identifier(T_BOUNDARY)), [self.spec.name])
            for table in (T_LINK, T_CHANGE, T_LIFE, T_BOUNDARY):
                n = _q(cursor, sql.SQL("DELETE FROM {} WHERE source = %s").format(sql.Identifier(table)),
                       [self.spec.name]).rowcount
                self.result.add(f"replaced_{table.split('_', 1)[1]}", n)

    def stage_csv(self) -> None:
        self.header, self.result.rows_read = stage_csv(
            self.path, STAGE, encoding=self.spec.encoding, label=self.label, header_line=self.spec.header_line,
            required=sorted(self.spec.columns()))

    # -- areas -------------------------------------------------------------------------------
    def load_areas(self, cursor, entry, i: int) -> None:
        t = f"stg_areas_{i}"
        code = self.col(entry.code)
        name = self.col(entry.name)
        name_cy = self.col(entry.name_cy) if entry.name_cy else sql.SQL("NULL")
        _q(cursor, sql.SQL(
            "DROP TABLE IF EXISTS {t}; CREATE TEMP TABLE {t} ON COMMIT DROP AS SELECT s._line, {code} AS code, {name} AS name, "
            "{cy} AS name_cy, {vid} AS vintage_id FROM {stage} s WHERE {filters}"
        ).format(t=sql.Identifier(t), code=code, name=name, cy=name_cy, vid=self.vintage_sql(entry.vintage, code),
                 stage=sql.Identifier(STAGE), filters=self.filters(entry, [entry.code])))
        self.check_codes(cursor, t, {"code": entry.code}, entry.optional)
        self.first_bad(cursor, t, sql.SQL("vintage_id IS NULL"), "code", entry.code,
                       f"no vintage for this code's entity in the mapping {entry.vintage}")
        self.first_bad(cursor, t, sql.SQL("NOT ") + self.type_fits(sql.Identifier(t, "code"), sql.Identifier(t, "vintage_id")),
                       "code", entry.code, "code's entity does not belong to the vintage's area type")
        self.first_bad(cursor, t, sql.SQL("name IS NULL"), "code", entry.name, "missing name")
        self.first_bad(cursor, t, sql.SQL(
            "EXISTS (SELECT 1 FROM {t} o WHERE o.code = {t}.code AND o.vintage_id = {t}.vintage_id "
            "AND o.name <> {t}.name AND o._line < {t}._line)").format(t=sql.Identifier(t)),
            "code || ': ' || name", entry.name, "duplicate code with a different name")
        n = _q(cursor, sql.SQL(
            "INSERT INTO {area} (code, name, name_cy, entity, area_type_id) "
            "SELECT DISTINCT ON (r.code) r.code, r.name, coalesce(r.name_cy, ''), "
            "  CASE WHEN r.code ~ {gss} THEN left(r.code, 3) ELSE '' END, v.area_type_id "
            "FROM {t} r JOIN geographies_vintage v ON v.id = r.vintage_id "
            "ORDER BY r.code, r._line ON CONFLICT (code) DO NOTHING"
        ).format(area=sql.Identifier(T_AREA), gss=sql.Literal(GSS), t=sql.Identifier(t))).rowcount
        self.result.add("areas_created", n)
        n = _q(cursor, sql.SQL(
            "INSERT INTO {m} AS m (area_id, vintage_id, name, name_cy, source) "
            "SELECT DISTINCT ON (a.id, r.vintage_id) a.id, r.vintage_id, r.name, coalesce(r.name_cy, ''), %s "
            "FROM {t} r JOIN {area} a ON a.code = r.code ORDER BY a.id, r.vintage_id, r._line "
            "ON CONFLICT (area_id, vintage_id) DO UPDATE SET name_cy = EXCLUDED.name_cy "
            "WHERE m.name_cy = '' AND EXCLUDED.name_cy <> ''"
        ).format(m=sql.Identifier(T_MEMBER), t=sql.Identifier(t), area=sql.Identifier(T_AREA)),
            [self.spec.name]).rowcount
        self.result.add("memberships", n)

    def require_members(self, cursor, t: str, code_field: str, vid_field: str, column: str) -> None:
        self.first_bad(cursor, t, sql.SQL(
            "NOT EXISTS (SELECT 1 FROM {m} m JOIN {a} a ON a.id = m.area_id "
            "WHERE a.code = {c} AND m.vintage_id = {v})").format(
                m=sql.Identifier(T_MEMBER), a=sql.Identifier(T_AREA),
                c=sql.Identifier(t, code_field), v=sql.Identifier(t, vid_field)),
            sql.SQL("{} || ' in ' || (SELECT code FROM geographies_vintage WHERE id = {})").format(
                sql.Identifier(t, code_field), sql.Identifier(t, vid_field)).as_string(cursor.cursor),
            column, "unknown code: not in that vintage (load its code list first)")

    # -- links -------------------------------------------------------------------------------
    def load_links(self, cursor, entry: LinksEntry, i: int) -> None:
        t = f"stg_links_{i}"
        child, parent = self.col(entry.child), self.col(entry.parent)
        _q(cursor, sql.SQL(
            "DROP TABLE IF EXISTS {t}; CREATE TEMP TABLE {t} ON COMMIT DROP AS SELECT s._line, {c} AS child, {cv} AS child_vid, "
            "{p} AS parent, {pv} AS parent_vid FROM {stage} s WHERE {filters}"
        ).format(t=sql.Identifier(t), c=child, p=parent, cv=self.vintage_sql(entry.child_vintage, child),
                 pv=self.vintage_sql(entry.parent_vintage, parent), stage=sql.Identifier(STAGE),
                 filters=self.filters(entry, [entry.child, entry.parent])))
        self.check_codes(cursor, t, {"child": entry.child, "parent": entry.parent}, entry.optional)
        self.first_bad(cursor, t, sql.SQL("child_vid IS NULL"), "child", entry.child,
                       "no vintage for this code's entity in the mapping")
        self.first_bad(cursor, t, sql.SQL("parent_vid IS NULL"), "parent", entry.parent,
                       "no vintage for this code's entity in the mapping")
        if entry.restrict_to_members:
            n = _q(cursor, sql.SQL(
                "DELETE FROM {t} r WHERE NOT EXISTS (SELECT 1 FROM {m} m JOIN {a} a ON a.id = m.area_id "
                "WHERE a.code = r.child AND m.vintage_id = r.child_vid)").format(
                    t=sql.Identifier(t), m=sql.Identifier(T_MEMBER), a=sql.Identifier(T_AREA))).rowcount
            self.result.add("links_outside_vintage", n)
        self.require_members(cursor, t, "child", "child_vid", entry.child)
        self.require_members(cursor, t, "parent", "parent_vid", entry.parent)
        fit = entry.fit
        if entry.resolve == "majority":
            # Keep the parent holding most rows of each child (ties: lowest code); mark as best fit
            # where the rows disagreed.
            _q(cursor, sql.SQL(
                "DROP TABLE IF EXISTS {r}; CREATE TEMP TABLE {r} ON COMMIT DROP AS SELECT DISTINCT ON (child, child_vid, parent_vid) "
                "min(_line) AS _line, child, child_vid, parent, parent_vid, "
                "count(*) OVER (PARTITION BY child, child_vid, parent_vid) AS candidates "
                "FROM {t} GROUP BY child, child_vid, parent, parent_vid "
                "ORDER BY child, child_vid, parent_vid, count(*) DESC, parent").format(
                    r=sql.Identifier(t + "_r"), t=sql.Identifier(t)))
            t = t + "_r"
            fit_sql = sql.SQL("CASE WHEN r.candidates > 1 THEN 'best_fit' ELSE {} END").format(sql.Literal(fit))
        else:
            self.first_bad(cursor, t, sql.SQL(
                "EXISTS (SELECT 1 FROM {t} o WHERE o.child = {t}.child AND o.child_vid = {t}.child_vid "
                "AND o.parent_vid = {t}.parent_vid AND o.parent <> {t}.parent AND o._line < {t}._line)").format(
                    t=sql.Identifier(t)),
                "child || ' -> ' || parent", entry.parent, "child has a different parent on an earlier line")
            fit_sql = sql.Literal(fit)
        self.first_bad(cursor, t, sql.SQL(
            "EXISTS (SELECT 1 FROM {l} l JOIN {a} c ON c.id = l.child_id JOIN {a} p ON p.id = l.parent_id "
            "WHERE c.code = {t}.child AND l.child_vintage_id = {t}.child_vid "
            "AND l.parent_vintage_id = {t}.parent_vid AND p.code <> {t}.parent)").format(
                l=sql.Identifier(T_LINK), a=sql.Identifier(T_AREA), t=sql.Identifier(t)),
            "child || ' -> ' || parent", entry.parent, "conflicts with a parent already loaded from another source")
        n = _q(cursor, sql.SQL(
            "INSERT INTO {l} (child_id, child_vintage_id, parent_id, parent_vintage_id, fit, source) "
            "SELECT DISTINCT ON (c.id, r.child_vid, r.parent_vid) c.id, r.child_vid, p.id, r.parent_vid, {fit}, %s "
            "FROM {t} r JOIN {a} c ON c.code = r.child JOIN {a} p ON p.code = r.parent "
            "WHERE NOT (c.id = p.id AND r.child_vid = r.parent_vid) "
            "ORDER BY c.id, r.child_vid, r.parent_vid, r._line "
            "ON CONFLICT (child_id, child_vintage_id, parent_vintage_id) DO NOTHING").format(
                l=sql.Identifier(T_LINK), t=sql.Identifier(t), a=sql.Identifier(T_AREA), fit=fit_sql),
            [self.spec.name]).rowcount
        self.result.add("links", n)

    # -- changes -----------------------------------------------------------------------------
    def date_sql(self, entry, constant: str | None, year_col: str | None) -> sql.Composable:
        if constant:
            return sql.SQL("{}::date").format(sql.Literal(constant))
        if year_col:
            return sql.SQL("btrim(s.{}) || '-' || {}").format(sql.Identifier(year_col), sql.Literal(entry.month_day))
        return sql.SQL("NULL")

    def load_changes(self, cursor, entry: ChangesEntry, i: int) -> None:
        t = f"stg_changes_{i}"
        pred, succ = self.col(entry.predecessor), self.col(entry.successor)
        ctype = self.col(entry.change_type) if entry.change_type else sql.SQL("NULL")
        if entry.type_map:
            ctype = sql.SQL("coalesce(({m}::jsonb ->> {c}), {c})").format(
                m=sql.Literal(orjson.dumps(entry.type_map).decode()), c=ctype)
        _q(cursor, sql.SQL(
            "DROP TABLE IF EXISTS {t}; CREATE TEMP TABLE {t} ON COMMIT DROP AS SELECT s._line, {p} AS pred, {s} AS succ, {ct} AS ctype, "
            "({d})::text AS eff FROM {stage} s WHERE {filters}").format(
                t=sql.Identifier(t), p=pred, s=succ, ct=ctype,
                d=self.date_sql(entry, entry.effective_date, entry.effective_year),
                stage=sql.Identifier(STAGE), filters=self.filters(entry, [entry.predecessor, entry.successor])))
        self.check_codes(cursor, t, {"pred": entry.predecessor, "succ": entry.successor}, entry.optional)
        self.first_bad(cursor, t, sql.SQL("eff IS NULL OR eff !~ {}").format(sql.Literal(DATE_RE)), "eff",
                       entry.effective_year or "effective_date", "not a date (YYYY-MM-DD) or a year")
        for field_name, vintage, column in (("pred", entry.from_vintage, entry.predecessor),
                                            ("succ", entry.to_vintage, entry.successor)):
            if vintage:
                _q(cursor, sql.SQL("ALTER TABLE {t} ADD COLUMN {f}_vid bigint DEFAULT {v}").format(
                    t=sql.Identifier(t), f=sql.SQL(field_name), v=sql.Literal(self.vintage_id(vintage))))
                self.require_members(cursor, t, field_name, f"{field_name}_vid", column)
            else:
                self.first_bad(cursor, t, sql.SQL("NOT EXISTS (SELECT 1 FROM {a} a WHERE a.code = {f})").format(
                    a=sql.Identifier(T_AREA), f=sql.Identifier(t, field_name)), field_name, column, "unknown code")
        if entry.derive:
            if not entry.include_unchanged:
                _q(cursor, sql.SQL("DELETE FROM {} WHERE pred = succ").format(sql.Identifier(t)))
            # ONS semantics from the shape of the mapping: one-to-many is a split, many-to-one a
            # merge, anything else that changed code is irregular.
            _q(cursor, sql.SQL(
                "UPDATE {t} r SET ctype = CASE WHEN r.pred = r.succ THEN 'U' "
                "WHEN np.n > 1 AND ns.n = 1 THEN 'M' WHEN np.n = 1 AND ns.n > 1 THEN 'S' ELSE 'X' END "
                "FROM (SELECT succ, count(DISTINCT pred) n FROM {t} GROUP BY succ) np, "
                "(SELECT pred, count(DISTINCT succ) n FROM {t} GROUP BY pred) ns "
                "WHERE np.succ = r.succ AND ns.pred = r.pred").format(t=sql.Identifier(t)))
        self.first_bad(cursor, t, sql.SQL("ctype IS NULL OR ctype <> ALL({})").format(
            sql.Literal(list(VALID_CHANGE_TYPES))), "ctype", entry.change_type or "change_type",
            "change type must be U, S, M or X (or mapped by type_map)")
        self.first_bad(cursor, t, sql.SQL(
            "EXISTS (SELECT 1 FROM {t} o WHERE o.pred = {t}.pred AND o.succ = {t}.succ "
            "AND (o.ctype, o.eff) <> ({t}.ctype, {t}.eff) AND o._line < {t}._line)").format(t=sql.Identifier(t)),
            "pred || ' -> ' || succ", entry.successor, "duplicate change with a different type or date")
        from_v = sql.Literal(self.vintage_id(entry.from_vintage)) if entry.from_vintage else sql.SQL("NULL")
        to_v = sql.Literal(self.vintage_id(entry.to_vintage)) if entry.to_vintage else sql.SQL("NULL")
        n = _q(cursor, sql.SQL(
            "INSERT INTO {c} (predecessor_id, successor_id, change_type, effective_date, from_vintage_id, "
            "to_vintage_id, source) SELECT DISTINCT ON (p.id, s.id) p.id, s.id, r.ctype, r.eff::date, {fv}, {tv}, %s "
            "FROM {t} r JOIN {a} p ON p.code = r.pred JOIN {a} s ON s.code = r.succ ORDER BY p.id, s.id, r._line "
            "ON CONFLICT (predecessor_id, successor_id) DO NOTHING").format(
                c=sql.Identifier(T_CHANGE), t=sql.Identifier(t), a=sql.Identifier(T_AREA), fv=from_v, tv=to_v),
            [self.spec.name]).rowcount
        self.result.add("changes", n)

    # -- lifespans ---------------------------------------------------------------------------
    def load_lifespans(self, cursor, entry: LifespansEntry, i: int) -> None:
        t = f"stg_life_{i}"
        start = self.col(entry.start) if entry.start else sql.SQL("NULL")
        end = self.date_sql(entry, None, entry.end_year) if entry.end_year else (
            self.col(entry.end) if entry.end else sql.SQL("NULL"))
        _q(cursor, sql.SQL(
            "DROP TABLE IF EXISTS {t}; CREATE TEMP TABLE {t} ON COMMIT DROP AS SELECT s._line, {c} AS code, {st} AS start, ({en})::text AS "
            "finish FROM {stage} s WHERE {filters}").format(
                t=sql.Identifier(t), c=self.col(entry.code), st=start, en=end, stage=sql.Identifier(STAGE),
                filters=self.filters(entry, [entry.code])))
        self.check_codes(cursor, t, {"code": entry.code}, entry.optional)
        for field_name, column in (("start", entry.start), ("finish", entry.end or entry.end_year)):
            self.first_bad(cursor, t, sql.SQL("{f} IS NOT NULL AND {f} !~ {re}").format(
                f=sql.Identifier(field_name), re=sql.Literal(DATE_RE)), field_name, column, "not a date (YYYY-MM-DD)")
        if entry.known_only:
            n = _q(cursor, sql.SQL("DELETE FROM {t} r WHERE NOT EXISTS (SELECT 1 FROM {a} a WHERE a.code = r.code)").format(
                t=sql.Identifier(t), a=sql.Identifier(T_AREA))).rowcount
            self.result.add("lifespans_unknown_code", n)
        else:
            self.first_bad(cursor, t, sql.SQL("NOT EXISTS (SELECT 1 FROM {a} a WHERE a.code = {t}.code)").format(
                a=sql.Identifier(T_AREA), t=sql.Identifier(t)), "code", entry.code, "unknown code")
        shift = sql.SQL(" - 1") if entry.end_exclusive else sql.SQL("")
        self.first_bad(cursor, t, sql.SQL("start::date > finish::date{}").format(shift), "start || '..' || finish",
                       entry.end or "end", "ends before it starts")
        n = _q(cursor, sql.SQL(
            "INSERT INTO {l} (area_id, start, \"end\", source) SELECT DISTINCT ON (a.id) a.id, r.start::date, "
            "r.finish::date{shift}, %s FROM {t} r JOIN {a} a ON a.code = r.code ORDER BY a.id, r._line "
            "ON CONFLICT (area_id, source) DO NOTHING").format(
                l=sql.Identifier(T_LIFE), t=sql.Identifier(t), a=sql.Identifier(T_AREA), shift=shift),
            [self.spec.name]).rowcount
        self.result.add("lifespans", n)

    # -- boundaries --------------------------------------------------------------------------
    def features(self, entry: BoundariesEntry):
        """Yield (feature number, code, start year, end year, GeoJSON geometry text)."""
        if self.spec.format == "geojson":
            raw = self.path.read_bytes()
            decode_text(raw, encoding="utf-8", label=self.label)  # NUL and encoding checks with positions
            try:
                doc = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                self.fail(f"invalid JSON: {exc.msg}", exc.lineno, exc.colno, unit="line")
            if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
                self.fail("not a GeoJSON FeatureCollection", 1, "type")
            for n, feat in enumerate(doc.get("features") or [], start=1):
                props = feat.get("properties") or {}
                geom = feat.get("geometry")
                if geom is None:
                    self.fail("feature has no geometry", None, f"features[{n}].geometry")
                yield n, props.get(entry.code), None, None, orjson.dumps(geom).decode()
        else:
            try:
                ds = DataSource(str(self.path))
                layer = next((lyr for lyr in ds if lyr.name == entry.layer), None)
            except GDALException as exc:
                self.fail(f"cannot read TopoJSON: {exc}")
            if layer is None:
                self.fail(f"no layer named {entry.layer!r}", None, "objects")
            fields = set(layer.fields)
            for n, feat in enumerate(layer, start=1):
                start = feat.get("start") if "start" in fields else None
                end = feat.get("end") if "end" in fields else None
                yield n, feat.get(entry.code), start, end, feat.geom.json

    def load_boundaries(self, entry: BoundariesEntry) -> None:
        if bool(entry.vintage) == bool(entry.vintages_by_year):
            raise SpecError(f"{self.spec.name}: give either vintage or vintages_by_year")
        targets = [(entry.vintage, None)] if entry.vintage else list(entry.vintages_by_year.items())
        rows = []
        where = f"{entry.layer}." if entry.layer else ""
        for n, code, start, end, geojson in self.features(entry):
            code = (str(code).strip() if code is not None else "")
            if not code:
                self.fail("feature has no code", n, f"{where}properties.{entry.code}")
            if any(code.startswith(p) for p in entry.skip_prefixes) or (
                entry.only_prefixes and not any(code.startswith(p) for p in entry.only_prefixes)
            ):
                continue
            for vintage, year in targets:
                if year is not None and ((start and int(start) > year) or (end and int(end) < year)):
                    continue
                rows.append((n, self.vintage_id(vintage), code, geojson))
        self.result.rows_read += len(rows)
        t = "stg_geom"
        create_staging(t, ["_line", "vintage_id", "code", "geojson"], ["integer", "bigint", "text", "text"])
        copy_rows(t, ["_line", "vintage_id", "code", "geojson"], rows)
        with connection.cursor() as cursor:
            self.first_bad(cursor, t, sql.SQL("code !~ {}").format(sql.Literal(self.code_re)), "code",
                           f"{where}properties.{entry.code}", "not a GSS code")
            if entry.restrict_to_members:
                n = _q(cursor, sql.SQL(
                    "DELETE FROM {t} r WHERE NOT EXISTS (SELECT 1 FROM {m} m JOIN {a} a ON a.id = m.area_id "
                    "WHERE a.code = r.code AND m.vintage_id = r.vintage_id)").format(
                        t=sql.Identifier(t), m=sql.Identifier(T_MEMBER), a=sql.Identifier(T_AREA))).rowcount
                self.result.add("boundaries_outside_vintage", n)
            self.require_members(cursor, t, "code", "vintage_id", f"{where}properties.{entry.code}")
            self.first_bad(cursor, t, sql.SQL(
                "EXISTS (SELECT 1 FROM {t} o WHERE o.code = {t}.code AND o.vintage_id = {t}.vintage_id "
                "AND o._line < {t}._line)").format(t=sql.Identifier(t)), "code",
                f"{where}properties.{entry.code}", "duplicate feature for this code")
            try:
                with transaction.atomic():
                    _q(cursor, sql.SQL(
                        "DROP TABLE IF EXISTS stg_geom_parsed; CREATE TEMP TABLE stg_geom_parsed ON COMMIT DROP AS SELECT _line, vintage_id, code, "
                        "ST_SetSRID(ST_GeomFromGeoJSON(geojson), 4326) AS geom FROM {t}").format(t=sql.Identifier(t)))
            except (DataError, InternalError) as exc:
                self.locate_bad_geometry(cursor, t, entry, where, exc)
            self.first_bad(cursor, "stg_geom_parsed", sql.SQL("GeometryType(geom) NOT IN ('POLYGON', 'MULTIPOLYGON')"),
                           "GeometryType(geom)", f"{where}geometry", "geometry is not a polygon or multipolygon")
            repaired = _q(cursor, "UPDATE stg_geom_parsed SET geom = ST_Multi(ST_CollectionExtract("
                                  "ST_MakeValid(geom), 3)) WHERE NOT ST_IsValid(geom)").rowcount
            self.result.add("geometries_repaired", repaired)
            n = _q(cursor, sql.SQL(
                "INSERT INTO {b} (area_id, vintage_id, geom, resolution, source) "
                "SELECT a.id, r.vintage_id, ST_Multi(r.geom), %s, %s FROM stg_geom_parsed r "
                "JOIN {a} a ON a.code = r.code ON CONFLICT (area_id, vintage_id) DO UPDATE SET "
                "geom = EXCLUDED.geom, resolution = EXCLUDED.resolution, source = EXCLUDED.source").format(
                    b=sql.Identifier(T_BOUNDARY), a=sql.Identifier(T_AREA)),
                [entry.resolution, self.spec.name]).rowcount
            self.result.add("boundaries", n)
            _q(cursor, "DROP TABLE stg_geom_parsed")
            # Point lookup index: small pieces of every boundary this source wrote, carrying what a
            # lookup returns; derived_rebuild marks the newest vintage's pieces as default.
            n = _q(cursor, sql.SQL(
                "INSERT INTO {p} (boundary_id, area_id, vintage_id, area_type_id, geom, is_default, code, name, "
                "type_code, type_name, vintage_code, level) "
                "SELECT b.id, b.area_id, b.vintage_id, v.area_type_id, ST_Subdivide(b.geom, %s), FALSE, a.code, "
                "m.name, t.code, t.name, v.code, t.level "
                "FROM {b} b JOIN geographies_vintage v ON v.id = b.vintage_id "
                "JOIN geographies_areatype t ON t.id = v.area_type_id JOIN {a} a ON a.id = b.area_id "
                "JOIN {m} m ON m.area_id = b.area_id AND m.vintage_id = b.vintage_id "
                "WHERE b.source = %s AND NOT EXISTS (SELECT 1 FROM {p} x WHERE x.boundary_id = b.id)").format(
                    p=sql.Identifier(T_PIECE), b=sql.Identifier(T_BOUNDARY), a=sql.Identifier(T_AREA),
                    m=sql.Identifier(T_MEMBER)),
                [settings.LEVELUP["SUBDIVIDE_MAX_VERTICES"], self.spec.name]).rowcount
            self.result.add("boundary_pieces", n)

    def locate_bad_geometry(self, cursor, table: str, entry, where: str, exc: Exception) -> None:
        """Bulk parsing failed: find the first feature PostGIS rejects, row by row (failure path only)."""
        lines = _q(cursor, sql.SQL("SELECT _line, code FROM {} ORDER BY _line").format(sql.Identifier(table))).fetchall()
        for line, code in lines:
            try:
                with transaction.atomic():
                    _q(cursor, sql.SQL("SELECT ST_GeomFromGeoJSON(geojson) FROM {} WHERE _line = %s").format(
                        sql.Identifier(table)), [line])
            except (DataError, InternalError) as row_exc:
                self.fail(f"invalid geometry: {str(row_exc).splitlines()[0]}", line, f"{where}geometry", code)
        self.fail(f"invalid geometry: {str(exc).splitlines()[0]}")

"""The one parameterised indicator importer: COPY a file into staging, normalise it to long form,
validate with set-based SQL, and merge it as a new release, in the caller's transaction."""

from __future__ import annotations

from pathlib import Path

import orjson
from django.db import IntegrityError, connection, transaction
from psycopg import sql

from geographies.ingest.loader import GSS
from geographies.services import areas_create_staged
from levelup_api.core.ingest import IngestError, copy_rows, execute, stage_csv

from .. import partitions
from ..models import Dataset, Indicator, Period, Publisher, Release
from ..precision import CI_EXTRA_PLACES
from .periods import PeriodError, period_parse
from .spec import IndicatorSource

# What a reload of a release's label calls the release it replaces, until that one is dropped
# after the commit (indicators.services.releases_retire finds it by this).
REPLACED_MARK = " (replaced by a reload, #"
UNIQUE_VIOLATION = "23505"  # the release's unique index met a repeated indicator, area and period

NUMBER = r"^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$"
# Markers ONS and others put in value cells instead of a number; the value is then null and
# the status says why.
SUPPRESSION_MARKERS = {"x": "x", "..": "x", ":": "x", "c": "c", "*": "x", "-": "x", "u": "u", "na": "x"}
STATUS_CODES = {"x", "u", "c", "p", "e", "r", "b", "f"}
# Each observation's rank among the areas of its type for the same indicator and period (window
# `w`: value `s.value`, indicator `i`). The measure decides what that rank is. A rank indicator's
# value *is* the publisher's rank (IoD: 1 = most deprived), so it is kept, not ranked again, and
# `rank_of` is the number ranked (at least the highest rank, should a file hold only part of the
# ranking). A decile is a category: it has no rank of its own, only `rank_of`, the areas placed.
# Anything else is ranked by value, 1 = best by polarity (highest first when neutral); ties share
# a rank. Migration indicators 0003 applies the same rule to databases loaded before it.
RANK_SQL = sql.SQL("""CASE WHEN s.value IS NULL OR i.measure = 'decile' THEN NULL
                          WHEN i.measure = 'rank' THEN CASE WHEN s.value >= 1 THEN round(s.value)::int END
                          ELSE rank() OVER w END""")
RANK_OF_SQL = sql.SQL("""CASE WHEN s.value IS NOT NULL THEN
                             CASE WHEN i.measure = 'rank'
                                  THEN greatest(count(s.value) OVER wall, round(max(s.value) OVER wall))::int
                                  ELSE count(s.value) OVER wall END END""")


def _ci_noise_free(bound: str) -> sql.Composable:
    """A CI bound typed without the binary noise some publishers print (ELS pay: 563.8392719999999,
    computed as value + 1.96 SE), from the staged columns `f<bound>` (the bound as float8), `n<bound>`
    (that as numeric) and `nv` (the value as numeric). float8 -> numeric keeps 15 significant digits,
    all a float8 holds exactly, so it gives back any source text of up to 15 digits unchanged and
    tells noise apart; a noisy bound is rounded to its value's decimals plus precision.CI_EXTRA_PLACES
    (2). Values are typed as `x::float8::numeric::float8`, which only ever drops noise (migration 0004
    does the same for loaded databases; the raw text stays in the release's file, line `_line`).
    Each text is parsed once and converted to numeric once (they were three parses and two
    conversions a bound)."""
    f, n = sql.Identifier(f"f{bound}"), sql.Identifier(f"n{bound}")
    return sql.SQL("CASE WHEN {n}::float8 <> {f} AND nv IS NOT NULL THEN round({n}, min_scale(nv) + {extra})::float8 "
                   "ELSE {n}::float8 END").format(f=f, n=n, extra=sql.Literal(CI_EXTRA_PLACES))


_q = execute


def _repeat_found(exc: IntegrityError) -> bool:
    """Whether the error is the release's unique index meeting a repeated key (and not another
    constraint, which the load reports as it is)."""
    cause = exc.__cause__
    constraint = getattr(getattr(cause, "diag", None), "constraint_name", None) or ""
    return getattr(cause, "sqlstate", None) == UNIQUE_VIOLATION and constraint.endswith(
        "_" + partitions.UNIQUE_INDEX.removeprefix("observation_"))


class IndicatorLoader:
    def __init__(self, spec: IndicatorSource, data_dir: Path, state: str = Release.State.PUBLISHED):
        self.spec = spec
        self.state = state
        self.release: Release | None = None
        self.replaced: list[int] = []
        self.path = spec.path(data_dir)
        self.label = spec.file
        self.counts: dict[str, int] = {}
        self.rows_read = 0
        self.typed_rows = 0
        self.defs = {d.key: d for d in spec.indicators}

    def add(self, key: str, n: int) -> None:
        if n:
            self.counts[key] = self.counts.get(key, 0) + n

    def fail(self, reason, line=None, column=None, value=None):
        raise IngestError(self.label, reason, line, column, value)

    def first_bad(self, cursor, condition: str, value: str, column: str, reason: str, params=None):
        self.checks_run(cursor, [(condition, value, column, reason, params or [])])

    def checks_run(self, cursor, checks: list[tuple[str, str, str, str, list]]) -> None:
        """Row checks in one scan of the staged rows: the first failing check (in list order) is
        reported at its first line, with its value and column."""
        firsts = sql.SQL(", ").join(sql.SQL("min(_line) FILTER (WHERE {})").format(sql.SQL(c[0])) for c in checks)
        lines = _q(cursor, sql.SQL("SELECT {} FROM stg_obs").format(firsts),
                   [p for c in checks for p in c[4]]).fetchone()
        for (condition, value, column, reason, params), line in zip(checks, lines, strict=True):
            if line is not None:
                row = _q(cursor, f"SELECT ({value})::text, vcol FROM stg_obs WHERE _line = %s AND {condition} LIMIT 1",
                         [line, *params]).fetchone()
                self.fail(reason, line, row[1] or column, row[0])

    # -- staging ---------------------------------------------------------------------------
    def stage(self, cursor) -> None:
        """COPY the file into stg_raw, then one pass into stg_obs: one row per indicator, area and
        period, trimmed, with the numbers typed, the status and note split and the CI checked.
        Nothing is rejected yet: `validate` reads the outcome from the columns."""
        _, self.rows_read = stage_csv(self.path, "stg_raw", encoding=self.spec.encoding, label=self.label,
                                      header_line=self.spec.header_line, required=self.spec.required_columns())
        _q(cursor, "DROP TABLE IF EXISTS stg_obs")
        c = self.spec.columns

        def text(expr):
            return sql.SQL("nullif(btrim({}), '')").format(expr)

        def col(key):
            name = c.get(key) if self.spec.layout == "long" else None
            return text(sql.SQL("s.{}").format(sql.Identifier(name))) if name else sql.SQL("NULL::text")

        value = col("value")
        if self.spec.layout == "long":
            select = sql.SQL(
                "SELECT s._line, upper({code}) AS code, {name} AS name, {geo} AS geography, {ind} AS ikey, "
                "{period} AS period, {value} AS raw_value, {lci} AS raw_lci, {uci} AS raw_uci, {status} AS raw_status, "
                "{note} AS note, NULL::text AS vcol FROM stg_raw s").format(
                    code=col("code"), name=col("name"), geo=col("geography"), ind=col("indicator"),
                    period=col("period"), value=value, lci=col("lci"), uci=col("uci"), status=col("status"),
                    note=col("note"))
        else:
            pairs = sql.SQL(", ").join(
                sql.SQL("({}, s.{})").format(sql.Literal(d.key), sql.Identifier(d.key)) for d in self.spec.indicators)
            select = sql.SQL(
                "SELECT s._line, upper(nullif(btrim(s.{code}), '')) AS code, NULL::text AS name, NULL::text AS geography, "
                "v.ikey, {period}::text AS period, nullif(btrim(v.val), '') AS raw_value, NULL::text AS raw_lci, "
                "NULL::text AS raw_uci, NULL::text AS raw_status, NULL::text AS note, v.ikey AS vcol "
                "FROM stg_raw s CROSS JOIN LATERAL (VALUES {pairs}) v(ikey, val)").format(
                    code=sql.Identifier(self.spec.code_column), period=sql.Literal(self.spec.period), pairs=pairs)
        number = (sql.SQL("replace(raw_value, ',', '')") if self.spec.thousands_separator else sql.SQL("raw_value"))
        # Status letters and free-text notes share ONS's status column: letters are statuses,
        # anything longer is kept as a note. Suppression markers in the value cell become a null
        # value with that status. A published CI that does not contain the (rounded) value
        # cannot be right: the value is kept, that CI dropped, and the rows counted.
        # (OFFSET 0 keeps each level a level of its own: pulled up into the next, every use of
        # `value` or `ci_ok` would evaluate its regular expressions again, five times the work.)
        _q(cursor, sql.SQL("""
            CREATE TEMP TABLE stg_obs ON COMMIT DROP AS
            SELECT _line, code, name, geography, ikey, period, raw_value, raw_lci, raw_uci, raw_status, vcol, value,
                   CASE WHEN ci_ok THEN lci END AS lci, CASE WHEN ci_ok THEN uci END AS uci,
                   NOT ci_ok AS ci_dropped, status, note_out AS note, not_number
            FROM (
                SELECT t.*,
                       (value IS NULL OR ((lci IS NULL OR lci <= value) AND (uci IS NULL OR uci >= value))) AS ci_ok,
                       CASE WHEN lower(raw_status) = ANY({codes}) THEN lower(raw_status)
                            WHEN lower(raw_value) = ANY({markers}) THEN ({marker_status}::jsonb ->> lower(raw_value))
                            ELSE '' END AS status,
                       concat_ws('; ', CASE WHEN NOT lower(raw_status) = ANY({codes}) THEN raw_status END, note)
                           AS note_out,
                       CASE WHEN raw_value IS NOT NULL AND value IS NULL AND NOT lower(raw_value) = ANY({markers})
                            THEN 'value'
                            WHEN raw_lci IS NOT NULL AND lci IS NULL AND NOT lower(raw_lci) = ANY({markers}) THEN 'lci'
                            WHEN raw_uci IS NOT NULL AND uci IS NULL AND NOT lower(raw_uci) = ANY({markers}) THEN 'uci'
                       END AS not_number
                FROM (
                    SELECT g.*, nv::float8 AS value, {lci_clean} AS lci, {uci_clean} AS uci
                    FROM (
                        SELECT f.*, fv::numeric AS nv, fl::numeric AS nl, fu::numeric AS nu
                        FROM (
                            SELECT n.*, CASE WHEN {number} ~ {num} THEN ({number})::float8 END AS fv,
                                   CASE WHEN raw_lci ~ {num} THEN raw_lci::float8 END AS fl,
                                   CASE WHEN raw_uci ~ {num} THEN raw_uci::float8 END AS fu
                            FROM ({select} OFFSET 0) n OFFSET 0) f
                        OFFSET 0) g
                    OFFSET 0) t
                OFFSET 0
            ) c
        """).format(select=select, number=number, codes=sql.Literal(sorted(STATUS_CODES)),
                    lci_clean=_ci_noise_free("l"), uci_clean=_ci_noise_free("u"),
                    markers=sql.Literal(sorted(SUPPRESSION_MARKERS)), num=sql.Literal(NUMBER),
                    marker_status=sql.Literal(orjson.dumps(SUPPRESSION_MARKERS).decode())))
        if self.spec.skip:
            _q(cursor, "DROP TABLE IF EXISTS stg_skip")
            _q(cursor, "CREATE TEMP TABLE stg_skip (geography text, code text, ikey text) ON COMMIT DROP")
            copy_rows("stg_skip", ["geography", "code", "ikey"],
                      ((r.get("geography"), (r.get("code") or "").upper() or None, r.get("indicator")) for r in self.spec.skip))
            n = _q(cursor, "DELETE FROM stg_obs s USING stg_skip k WHERE (k.geography IS NULL OR k.geography = s.geography) "
                           "AND (k.code IS NULL OR k.code = s.code) AND (k.ikey IS NULL OR k.ikey = s.ikey)").rowcount
            self.add("skipped_rows", n)
        for key, fixed in self.spec.code_fixes.items():
            code, name = key.split("|")
            n = _q(cursor, "UPDATE stg_obs SET code = %s WHERE code = %s AND name = %s",
                   [fixed.upper(), code.upper(), name]).rowcount
            self.add("codes_corrected", n)
        # Temporary tables get no statistics of their own: without them the planner takes a
        # million-row file for a few thousand rows and probes the area index once per row.
        _q(cursor, "ANALYZE stg_obs")

    # -- validation ------------------------------------------------------------------------
    def validate(self, cursor) -> None:
        """Row checks in one scan of the typed rows (repeats are `repeats_collapse`'s)."""
        cols = self.spec.columns
        self.checks_run(cursor, [
            ("code IS NULL", "''", cols.get("code", self.spec.code_column), "missing area code", []),
            ("NOT (ikey = ANY(%s))", "ikey", cols.get("indicator", "indicator"),
             "indicator not in this source's mapping", [list(self.defs)]),
            ("period IS NULL", "''", cols.get("period", "period"), "missing period", []),
            *((f"not_number = '{field}'", f"raw_{field}", cols.get(field, field), "not a number", [])
              for field in ("value", "lci", "uci")),
            ("lci > uci", "raw_lci || ' > ' || raw_uci", cols.get("lci", "lci"),
             "lower confidence limit above the upper one", []),
        ])
        self.typed = "stg_obs"
        self.typed_count(cursor)

    def typed_count(self, cursor) -> None:
        """The rows to write (`self.typed`), with how many are suppressed and lost their CI."""
        row = _q(cursor, sql.SQL("SELECT count(*) FILTER (WHERE value IS NULL), count(*) FILTER (WHERE ci_dropped), "
                                 "count(*) FROM {}").format(sql.Identifier(self.typed))).fetchone()
        self.typed_rows = row[2]
        for key, n in (("suppressed_values", row[0]), ("ci_dropped_not_containing_value", row[1])):
            self.counts.pop(key, None)
            self.add(key, n)

    def repeats_collapse(self, cursor, period_ids: dict[tuple[str, str], int]) -> None:
        """Repeats of an indicator, area and period: identical ones collapsed (ELS lists some areas
        under two geography labels with the same figures), differing ones fail. Run only when the
        release's unique index found a repeat (`load`): most files have none, and looking for them
        in every file was a hashed pass over all its rows (25 s of 10.7 million)."""
        cols = self.spec.columns
        dup = _q(cursor, "SELECT max(_line), ikey || ' / ' || code || ' / ' || period FROM stg_obs "
                         "GROUP BY ikey, code, period HAVING count(DISTINCT (raw_value, raw_lci, raw_uci, raw_status)) > 1 "
                         "ORDER BY 1 LIMIT 1").fetchone()
        if dup:
            self.fail("duplicate row for this indicator, area and period with different figures", dup[0],
                      cols.get("code", self.spec.code_column), dup[1])
        _q(cursor, "DROP TABLE IF EXISTS stg_typed")
        _q(cursor, "CREATE TEMP TABLE stg_typed ON COMMIT DROP AS SELECT DISTINCT ON (ikey, code, period) * "
                   "FROM stg_obs ORDER BY ikey, code, period, _line")
        _q(cursor, "ANALYZE stg_typed")
        self.typed = "stg_typed"
        staged = self.typed_rows
        self.typed_count(cursor)
        # What is left repeated is one key written two ways: two spellings of one period.
        keys = list(period_ids.items())
        twice = _q(cursor, """
            SELECT max(s._line), s.ikey || ' / ' || s.code || ' / ' || string_agg(DISTINCT s.period, ' = ')
            FROM stg_typed s JOIN unnest(%s::text[], %s::text[], %s::int[]) p(ikey, period, period_id)
                 ON p.ikey = s.ikey AND p.period = s.period
            GROUP BY s.ikey, s.code, p.period_id HAVING count(*) > 1 ORDER BY 1 LIMIT 1""",
                   [[k for (k, _), _ in keys], [t for (_, t), _ in keys], [i for _, i in keys]]).fetchone()
        if twice:
            self.fail("duplicate row for this indicator, area and period (the period written two ways)", twice[0],
                      cols.get("period", "period"), twice[1])
        self.add("identical_repeats_collapsed", staged - self.typed_rows)

    def resolve_areas(self, cursor) -> None:
        """Codes must be known areas; codes of types that only statistics files carry are created."""
        cols = self.spec.columns
        _q(cursor, "DROP TABLE IF EXISTS stg_new_areas")
        _q(cursor, """
            CREATE TEMP TABLE stg_new_areas ON COMMIT DROP AS
            SELECT DISTINCT ON (s.code) s._line, s.code, s.name, t.id AS type_id, t.code AS type_code
            FROM stg_obs s
            LEFT JOIN LATERAL (
                SELECT t.id, t.code FROM geographies_areatype t
                WHERE (left(s.code, 3) = ANY(t.entity_codes) AND s.code ~ %s)
                   OR (t.code_pattern <> '' AND s.code ~ t.code_pattern)
                ORDER BY t.code = ANY(%s) DESC, t.level LIMIT 1) t ON TRUE
            WHERE NOT EXISTS (SELECT 1 FROM geographies_area a WHERE a.code = s.code)
            ORDER BY s.code, s._line
        """, [GSS, list(self.spec.create)])
        creatable = self.spec.create
        limited = [f"{t}:{c}" for t, codes in self.spec.create_only.items() for c in codes]
        row = _q(cursor, "SELECT _line, code, type_code FROM stg_new_areas WHERE type_code IS NULL OR "
                         "NOT (type_code = ANY(%s)) OR (type_code = ANY(%s) AND NOT (type_code || ':' || code) = ANY(%s)) "
                         "ORDER BY _line LIMIT 1",
                 [list(creatable), list(self.spec.create_only), limited]).fetchone()
        if row:
            kind = f"a {row[2]} code not in any vintage loaded" if row[2] else "not a code of any known area type"
            self.fail(f"unknown area code: {kind}", row[0], cols.get("code", self.spec.code_column), row[1])
        self.first_bad(cursor, "code IN (SELECT code FROM stg_new_areas) AND name IS NULL", "code",
                       cols.get("name", "name"), "a new area needs a name")
        if not creatable:  # every code was known (else the check above failed)
            return
        # The areas and their memberships are geographies' tables: its service writes them.
        self.add("areas_created", areas_create_staged(staging_table="stg_new_areas", vintage_by_type=creatable,
                                                      source=self.spec.name))

    def resolve_periods(self, cursor) -> dict[tuple[str, str], int]:
        rows = _q(cursor, "SELECT ikey, period, min(_line) FROM stg_obs GROUP BY ikey, period").fetchall()
        ids = {}
        for ikey, text, line in rows:
            try:
                fixed = self.defs[ikey].period_map.get(text) or self.spec.period_map.get(text)
                if fixed:
                    self.add("periods_corrected", 1)
                p = period_parse(fixed or text)
            except PeriodError as exc:
                self.fail(str(exc), line, self.spec.columns.get("period", "period"), text)
            obj, _ = Period.objects.get_or_create(
                iso=p.iso, defaults={"start": p.start, "end": p.end, "duration": p.duration, "type": p.type,
                                     "label": p.label})
            ids[ikey, text] = obj.id
        return ids

    # -- merge -----------------------------------------------------------------------------
    def merge(self, cursor, period_ids: dict[tuple[str, str], int]) -> Release:
        """The release in a fresh table of its own (indicators.partitions): the typed rows with their
        ranks, from the one sort the rank window needs, then the rows of the dataset's other
        indicators copied forward from its current release, so that the release is the whole
        dataset; then indexes, the bound check and ATTACH. Whether it becomes current is
        indicators.services.release_currency_set's decision, made after."""
        spec = self.spec
        dataset, _ = Dataset.objects.update_or_create(
            slug=spec.dataset, defaults={"title": spec.dataset_title, "description": spec.dataset_description,
                                         "source_url": spec.source_url, "licence": spec.licence})
        dataset.publishers.set([Publisher.objects.get_or_create(name=n)[0] for n in spec.publishers])
        label = spec.release_label or f"{spec.release_date}"
        # Reloading the same release replaces it: the old one gives up its label now and its
        # partition once this transaction has committed (dropping an attached partition would lock
        # out every reader until then); an older release keeps its rows for `as_of`.
        self.replaced = []
        for old in Release.objects.filter(dataset=dataset, label=label):
            old.label = f"{label[:90]}{REPLACED_MARK}{old.id})"
            old.state = Release.State.DRAFT
            old.save(update_fields=["label", "state"])
            self.replaced.append(old.id)
        # The release this one follows: the dataset's newest published one with rows, once those this
        # load replaces are set aside (its current one, unless that is what is reloaded).
        loaded = partitions.attached_release_ids(cursor)
        previous = next((r for r in Release.objects.filter(dataset=dataset, state=Release.State.PUBLISHED)
                         .order_by("-release_date", "-id").values_list("id", flat=True) if r in loaded), None)
        release = Release.objects.create(dataset=dataset, label=label, release_date=spec.release_date,
                                         source_url=spec.source_url, licence=spec.licence, notes=spec.release_notes,
                                         state=self.state)
        ind_ids = {}
        for d in spec.indicators:
            # Curators may have edited the metadata in the admin: a reload does not overwrite it.
            ind, _ = Indicator.objects.get_or_create(slug=d.slug, defaults={
                "title": d.title, "subtitle": d.subtitle, "description": d.description, "caveats": d.caveats,
                "dataset": dataset, "unit": d.unit, "unit_symbol": d.unit_symbol, "decimal_places": d.decimal_places,
                "measure": d.measure, "polarity": d.polarity, "aggregation": d.aggregation, "topics": d.topics,
                "capitals": d.capitals, "experimental": d.experimental, "category_values": d.category_values})
            ind_ids[d.key] = ind.id
        _q(cursor, "DROP TABLE IF EXISTS stg_keys")
        _q(cursor, "CREATE TEMP TABLE stg_keys (ikey text, indicator_id int) ON COMMIT DROP")
        copy_rows("stg_keys", ["ikey", "indicator_id"], ind_ids.items())
        _q(cursor, "DROP TABLE IF EXISTS stg_periods")
        _q(cursor, "CREATE TEMP TABLE stg_periods (ikey text, period text, period_id int) ON COMMIT DROP")
        copy_rows("stg_periods", ["ikey", "period", "period_id"], ((k, t, i) for (k, t), i in period_ids.items()))
        # Their sizes, or the planner takes them for a thousand rows each and sorts the staged rows
        # for a merge join with them (1.2 s of 810,120 rows) instead of hashing these few.
        _q(cursor, "ANALYZE stg_keys; ANALYZE stg_periods")
        fresh = partitions.fresh_create(cursor, release.id)
        table = sql.Identifier(fresh)
        # The insert's order is the rank window's (indicator, period, area type, value): no sort
        # beyond the one the ranks need.
        n = _q(cursor, sql.SQL("""
            INSERT INTO {table}
                (id, indicator_id, area_id, period_id, release_id, value, lci, uci, status, note, rank, rank_of)
            SELECT nextval({sequence}), k.indicator_id, a.id,
                   p.period_id, %s, s.value, s.lci, s.uci, s.status, s.note, {rank}, {rank_of}
            FROM {typed} s JOIN stg_keys k ON k.ikey = s.ikey JOIN stg_periods p ON p.ikey = s.ikey AND p.period = s.period
            JOIN geographies_area a ON a.code = s.code
            JOIN indicators_indicator i ON i.id = k.indicator_id
            WINDOW w AS (PARTITION BY k.indicator_id, p.period_id, a.area_type_id
                         ORDER BY CASE WHEN i.polarity = 'lower_is_better' THEN -s.value ELSE s.value END DESC NULLS LAST),
                   wall AS (w ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
        """).format(table=table, typed=sql.Identifier(self.typed), rank=RANK_SQL, rank_of=RANK_OF_SQL,
                     sequence=partitions.id_sequence(cursor)),
                [release.id]).rowcount
        self.add("observations", n)
        if previous is not None:  # the dataset's indicators this file does not hold (another file does)
            self.add("copied_forward", partitions.rows_copy(cursor, into=fresh, release_id=release.id,
                                                            source=previous, except_indicators=ind_ids.values()))
        partitions.fresh_attach(cursor, release.id)
        self.release = release
        return release

    def load(self) -> dict:
        if not self.path.is_file():
            self.fail(f"file not found: {self.path}")
        with connection.cursor() as cursor:
            # Hashing and sorting a few million staged rows in memory rather than in temp files;
            # for this transaction only.
            _q(cursor, "SET LOCAL work_mem = '256MB'")
            self.stage(cursor)
            self.validate(cursor)
            self.resolve_areas(cursor)
            periods = self.resolve_periods(cursor)
            counts = dict(self.counts)
            try:
                with transaction.atomic():  # a savepoint: a repeat undoes the merge, nothing else
                    self.merge(cursor, periods)
            except IntegrityError as exc:
                if not _repeat_found(exc):
                    raise
                self.counts = counts
                self.repeats_collapse(cursor, periods)
                self.merge(cursor, periods)
        return self.counts



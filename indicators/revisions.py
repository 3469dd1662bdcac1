"""What changed between two releases of a dataset (`/datasets/{slug}/releases/{a}/compare/{b}/`): rows
added, removed and revised, with old and new values, in one SQL statement over the two partitions.

A publisher's releases differ in notation as well as in figures, and the comparison tells the two
apart (docs/indicators.md "Comparing releases"):
- **Periods are matched by year where they can be.** ASHE wrote the 2024 period `2024-04` in one
  release and `2024-04-17` (its reference date) in the next. A row's key is its indicator, area and
  the year its period starts, when that year holds only that one period of the indicator and area
  in the release; otherwise (monthly or quarterly series) it is the period itself.
- **A number written differently is the same number.** `64` and `64.0` are equal floats: unchanged.
- **A value republished at fewer (or more) decimals is a precision change, not a revision.** Each
  release's precision for an indicator is the most decimals any of its values has; when the two
  differ and the finer value rounded to the coarser precision is the coarser value (HLE's 62.18
  republished as 62.2), the change is `precision`. Any other difference in value, or in status, is
  `revised`."""

from __future__ import annotations

from dataclasses import dataclass

import orjson
from django.db import connection

CHANGES = ("revised", "precision", "added", "removed")

_SIDE = """
    SELECT o.indicator_id, o.area_id, p.iso, o.value, o.status, extract(year FROM p.start)::int AS yr,
           count(*) OVER (PARTITION BY o.indicator_id, o.area_id, extract(year FROM p.start)) AS in_year,
           max(min_scale(o.value::numeric)) OVER (PARTITION BY o.indicator_id) AS places
    FROM indicators_observation o JOIN indicators_period p ON p.id = o.period_id
    WHERE o.release_id = {release}
"""
COMPARE_SQL = f"""
    WITH a AS MATERIALIZED ({_SIDE.format(release="%(a)s")}),
         b AS MATERIALIZED ({_SIDE.format(release="%(b)s")}),
    j AS MATERIALIZED (
        SELECT coalesce(a.indicator_id, b.indicator_id) AS indicator_id, coalesce(a.area_id, b.area_id) AS area_id,
               a.iso AS old_period, b.iso AS new_period, a.value AS old_value, b.value AS new_value,
               a.status AS old_status, b.status AS new_status,
               CASE WHEN a.indicator_id IS NULL THEN 'added'
                    WHEN b.indicator_id IS NULL THEN 'removed'
                    WHEN a.value IS NOT DISTINCT FROM b.value AND a.status = b.status THEN 'unchanged'
                    WHEN a.status = b.status AND a.value IS NOT NULL AND b.value IS NOT NULL AND (
                         (b.places < a.places AND round(a.value::numeric, b.places) = b.value::numeric)
                      OR (a.places < b.places AND round(b.value::numeric, a.places) = a.value::numeric))
                    THEN 'precision'
                    ELSE 'revised' END AS change
        FROM (SELECT *, CASE WHEN in_year = 1 THEN yr::text ELSE iso END AS k FROM a) a
        FULL JOIN (SELECT *, CASE WHEN in_year = 1 THEN yr::text ELSE iso END AS k FROM b) b
             ON b.indicator_id = a.indicator_id AND b.area_id = a.area_id AND b.k = a.k
    )
    SELECT (SELECT coalesce(json_object_agg(change, n), '{{}}') FROM (SELECT change, count(*) AS n FROM j GROUP BY change) c),
           (SELECT coalesce(json_agg(json_build_array(i.slug, ar.code, ar.name, r.old_period, r.new_period,
                                                      r.old_value, r.new_value, r.old_status, r.new_status, r.change)
                                     ORDER BY i.slug, ar.code, coalesce(r.new_period, r.old_period)), '[]')
            FROM (SELECT * FROM j WHERE change = ANY(%(changes)s)
                  ORDER BY indicator_id, area_id, coalesce(new_period, old_period)
                  LIMIT %(limit)s OFFSET %(offset)s) r
            JOIN indicators_indicator i ON i.id = r.indicator_id JOIN geographies_area ar ON ar.id = r.area_id)
"""
ROW_FIELDS = ("indicator", "area_code", "area_name", "old_period", "new_period", "old_value", "new_value",
              "old_status", "new_status", "change")


@dataclass
class Comparison:
    counts: dict[str, int]  # every change kind, and "unchanged"
    rows: list[dict]  # the page asked for, of the kinds asked for


def release_compare(*, old: int, new: int, changes: list[str], limit: int, offset: int = 0) -> Comparison:
    with connection.cursor() as cursor:
        cursor.execute(COMPARE_SQL, {"a": old, "b": new, "changes": list(changes), "limit": limit, "offset": offset})
        counts, rows = cursor.fetchone()
    counts = orjson.loads(counts) if isinstance(counts, str | bytes) else counts
    rows = orjson.loads(rows) if isinstance(rows, str | bytes) else rows
    return Comparison(counts={k: int(counts.get(k, 0)) for k in (*CHANGES, "unchanged")},
                      rows=[dict(zip(ROW_FIELDS, r, strict=True)) for r in rows])

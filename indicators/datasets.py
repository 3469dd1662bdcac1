"""Reads for datasets, their releases and their bulk files: the datasets routes
(indicators/api/datasets.py), the bulk writer (indicators.bulk) and the DCAT catalogue (missions.catalog)
share them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Max, Min, Q

from levelup_api.core.views import LICENCE

from .models import BulkFile, Coverage, Dataset, Indicator, Release

# Licences by the name a dataset gives, with their address.
LICENCE_URLS = {LICENCE["name"]: LICENCE["url"]}

# The release each indicator's current values come from: its dataset's one current release
# (Release.is_current; the partial unique index on it finds it).
CURRENT_RELEASE_SQL = """
    SELECT r.id AS release_id FROM indicators_release r WHERE r.dataset_id = i.dataset_id AND r.is_current
"""
_DATASETS_SQL = f"""
    SELECT d.id, d.slug, d.title, d.description, d.licence, d.source_url, pubs.names, inds.slugs,
           coalesce(cur.release_ids, ARRAY[]::int[]), r.id, r.label, r.release_date
    FROM indicators_dataset d
    CROSS JOIN LATERAL (
        SELECT coalesce(array_agg(p.name ORDER BY dp.id), ARRAY[]::text[]) AS names
        FROM indicators_dataset_publishers dp JOIN indicators_publisher p ON p.id = dp.publisher_id
        WHERE dp.dataset_id = d.id) pubs
    CROSS JOIN LATERAL (
        SELECT coalesce(array_agg(i.slug ORDER BY i.slug), ARRAY[]::text[]) AS slugs
        FROM indicators_indicator i WHERE i.dataset_id = d.id) inds
    CROSS JOIN LATERAL (
        SELECT array_agg(DISTINCT x.release_id ORDER BY x.release_id) AS release_ids
        FROM indicators_indicator i CROSS JOIN LATERAL ({CURRENT_RELEASE_SQL}) x
        WHERE i.dataset_id = d.id) cur
    LEFT JOIN LATERAL (
        SELECT r.id, r.label, r.release_date FROM indicators_release r
        WHERE r.id = ANY(cur.release_ids) AND r.state = 'published'
        ORDER BY r.release_date DESC, r.id DESC LIMIT 1) r ON TRUE
    {{where}}
    ORDER BY d.slug
"""


@dataclass
class CurrentRelease:
    id: int
    label: str
    release_date: dt.date


@dataclass
class DatasetRow:
    id: int
    slug: str
    title: str
    description: str
    licence: str
    source_url: str
    publishers: list[str]
    indicators: list[str]
    # Every release the dataset's current values come from; `current` is the newest of them.
    release_ids: list[int] = field(default_factory=list)
    current: CurrentRelease | None = None


def _rows(where: str = "", params: list | None = None) -> list[DatasetRow]:
    with connection.cursor() as cursor:
        cursor.execute(_DATASETS_SQL.format(where=where), params or [])
        rows = cursor.fetchall()
    return [
        DatasetRow(
            id=r[0],
            slug=r[1],
            title=r[2],
            description=r[3],
            licence=r[4],
            source_url=r[5],
            publishers=list(r[6]),
            indicators=list(r[7]),
            release_ids=list(r[8]),
            current=CurrentRelease(r[9], r[10], r[11]) if r[9] is not None else None,
        )
        for r in rows
    ]


def dataset_list() -> list[DatasetRow]:
    """Every dataset, by slug, with its publishers, indicators and current release: one statement."""
    return _rows()


def dataset_get(*, slug: str) -> DatasetRow | None:
    found = _rows("WHERE d.slug = %s", [slug])
    return found[0] if found else None


def dataset_releases(*, dataset_id: int) -> list[Release]:
    """The dataset's published releases, newest first (drafts are never public)."""
    return list(
        Release.objects.filter(dataset_id=dataset_id, state=Release.State.PUBLISHED)
        .order_by("-release_date", "-id")
        .only("id", "label", "release_date", "state", "is_current", "source_url", "notes")
    )


def bulk_files(*, release_ids: list[int], snapshot: bool = False) -> dict[int | None, dict[str, BulkFile]]:
    """The bulk files recorded under these releases (and the snapshot's, under None), by release and
    format: one statement."""
    match = Q(release_id__in=release_ids)
    if snapshot:
        match |= Q(release__isnull=True)
    out: dict[int | None, dict[str, BulkFile]] = {}
    for record in BulkFile.objects.filter(match).order_by("id"):
        out.setdefault(record.release_id, {})[record.format] = record
    return out


def bulk_file_get(*, slug: str | None, release_id: int | None, fmt: str) -> BulkFile | None:
    """A published release's file in `fmt` (the snapshot's when `slug` is None), or None."""
    if slug is None:
        return BulkFile.objects.filter(release__isnull=True, format=fmt).first()
    return (
        BulkFile.objects.filter(
            release_id=release_id, release__dataset__slug=slug, release__state=Release.State.PUBLISHED, format=fmt
        )
        .select_related("release")
        .first()
    )


def release_get(*, slug: str, release_id: int) -> Release | None:
    """A published release of the dataset `slug`, or None (unknown, another dataset's, or a draft)."""
    return (
        Release.objects.filter(id=release_id, dataset__slug=slug, state=Release.State.PUBLISHED)
        .select_related("dataset")
        .first()
    )


def licence_url(name: str) -> str | None:
    """The licence's address, for the licences this service knows (None for another)."""
    return LICENCE_URLS.get(name)


def dataset_exists(*, slug: str) -> bool:
    return Dataset.objects.filter(slug=slug).exists()


@dataclass
class DatasetCoverage:
    start: dt.date | None = None
    end: dt.date | None = None
    area_types: list[tuple[str, str]] = field(default_factory=list)  # (code, name), largest areas last
    capitals: list[str] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)


def dataset_coverage() -> dict[int, DatasetCoverage]:
    """Per dataset: the first and last day its current values cover, the area types they are for
    (from the coverage table), and its indicators' capitals and topics. Three statements."""
    out: dict[int, DatasetCoverage] = {}
    spans = (
        Coverage.objects.values("indicator__dataset_id")
        .annotate(start=Min("period__start"), end=Max("period__end"))
        .order_by()
    )
    for row in spans:
        out[row["indicator__dataset_id"]] = DatasetCoverage(start=row["start"], end=row["end"])
    types = (
        Coverage.objects.values_list("indicator__dataset_id", "area_type__code", "area_type__name")
        .order_by("indicator__dataset_id", "area_type__level", "area_type__code")
        .distinct()
    )
    for dataset_id, code, name in types:
        out.setdefault(dataset_id, DatasetCoverage()).area_types.append((code, name))
    for dataset_id, capitals, topics in Indicator.objects.values_list("dataset_id", "capitals", "topics").order_by(
        "slug"
    ):
        entry = out.setdefault(dataset_id, DatasetCoverage())
        entry.capitals += [c for c in capitals if c not in entry.capitals]
        entry.topics += [t for t in topics if t not in entry.topics]
    return out

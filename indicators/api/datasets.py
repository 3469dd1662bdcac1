"""REST views for datasets, their releases and their bulk files (indicators.bulk): the lists are read
from indicators.datasets; a download is the stored file, served by .ranges (ETag, digests, ranges)."""

from __future__ import annotations

import functools

from django.conf import settings
from django.urls import reverse
from django.utils.http import parse_etags
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.renderers import BaseRenderer
from rest_framework.views import APIView

from levelup_api.core.caching import data_version, document_once
from levelup_api.core.errors import NotFound
from levelup_api.core.params import ChoiceParam, ParameterError, Params, page_param, page_size_param
from levelup_api.core.rest import ParamsMixin

from .. import datasets as selectors
from .. import revisions
from ..bulk import MEDIA_TYPES, bulk_path
from ..models import BulkFile
from .ranges import file_response

FORMATS = [BulkFile.Format.PARQUET, BulkFile.Format.CSV_GZ]
ROUTE_SUFFIX = {BulkFile.Format.PARQUET: "parquet", BulkFile.Format.CSV_GZ: "csv-gz"}
MAX_ID = 2**31 - 1  # release ids are PostgreSQL integers


# -- documents ------------------------------------------------------------------------------------------
class _Links:
    """Absolute URLs for one request (documents are kept per host: levelup_api.core.caching)."""

    def __init__(self, request):
        self.base = request.build_absolute_uri("/").removesuffix("/")

    def dataset(self, slug: str) -> str:
        return self.base + reverse("dataset-detail", kwargs={"slug": slug})

    def release(self, slug: str, release_id: int) -> str:
        return self.base + reverse("dataset-release-detail", kwargs={"slug": slug, "id": release_id})

    def download(self, record: BulkFile, slug: str | None) -> str:
        suffix = ROUTE_SUFFIX[record.format]
        if slug is None:
            return self.base + reverse(f"dataset-snapshot-{suffix}")
        return self.base + reverse(f"dataset-release-{suffix}", kwargs={"slug": slug, "id": record.release_id})


def downloads(links: _Links, files: dict[str, BulkFile], slug: str | None) -> dict:
    return {
        fmt: {
            "url": links.download(f, slug),
            "size": f.size,
            "sha256": f.sha256,
            "rows": f.rows,
            "media_type": MEDIA_TYPES[fmt],
            "written_at": f.written_at,
        }
        for fmt in FORMATS
        if (f := files.get(fmt)) is not None
    }


def dataset_item(links: _Links, row: selectors.DatasetRow, files: dict) -> dict:
    current = None
    if row.current is not None:
        current = {
            "id": row.current.id,
            "label": row.current.label,
            "release_date": row.current.release_date,
            "url": links.release(row.slug, row.current.id),
            "release_ids": row.release_ids,
            "downloads": downloads(links, files.get(row.current.id, {}), row.slug),
        }
    return {
        "slug": row.slug,
        "title": row.title,
        "description": row.description,
        "publishers": row.publishers,
        "licence": row.licence,
        "licence_url": selectors.licence_url(row.licence),
        "source_url": row.source_url,
        "url": links.dataset(row.slug),
        "indicators": row.indicators,
        "current_release": current,
    }


def snapshot_item(links: _Links, files: dict) -> dict | None:
    own = files.get(None, {})
    if not own:
        return None
    first = next(iter(own.values()))
    return {
        "rows": first.rows,
        "release_ids": first.release_ids,
        "written_at": first.written_at,
        "downloads": downloads(links, own, None),
    }


# -- what OpenAPI says they are ---------------------------------------------------------------------
class DatasetDownloadSerializer(serializers.Serializer):
    url = serializers.URLField(help_text="The file (GET; HEAD and byte ranges work).")
    size = serializers.IntegerField(help_text="Bytes.")
    sha256 = serializers.CharField(help_text="SHA-256 of the file, in hex; the download's ETag is this, quoted.")
    rows = serializers.IntegerField(help_text="Observations in the file.")
    media_type = serializers.CharField(help_text="application/vnd.apache.parquet or application/gzip.")
    written_at = serializers.DateTimeField()


class DatasetDownloadsSerializer(serializers.Serializer):
    parquet = DatasetDownloadSerializer(required=False, help_text="Parquet, zstd-compressed, typed columns.")
    csv_gz = DatasetDownloadSerializer(required=False, help_text="The same rows as gzipped CSV (key `csv.gz`).")

    def get_fields(self):
        fields = super().get_fields()
        fields["csv.gz"] = fields.pop("csv_gz")
        return fields


class DatasetCurrentReleaseSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    label = serializers.CharField()
    release_date = serializers.DateField()
    url = serializers.URLField(help_text="The release.")
    release_ids = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="Every release the dataset's current values come from (more than "
        "one where its files were loaded as releases of their own); the "
        "files hold them all, each row naming its release.",
    )
    downloads = DatasetDownloadsSerializer(help_text="Empty until the files are written (after the load).")


class DatasetSerializer(serializers.Serializer):
    slug = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    publishers = serializers.ListField(child=serializers.CharField())
    licence = serializers.CharField()
    licence_url = serializers.URLField(allow_null=True)
    source_url = serializers.CharField(allow_blank=True)
    url = serializers.URLField(help_text="This dataset with its releases.")
    indicators = serializers.ListField(child=serializers.CharField(), help_text="The indicators' slugs.")
    current_release = DatasetCurrentReleaseSerializer(allow_null=True, help_text="Null when no value is current.")


class DatasetSnapshotSerializer(serializers.Serializer):
    rows = serializers.IntegerField()
    release_ids = serializers.ListField(child=serializers.IntegerField())
    written_at = serializers.DateTimeField()
    downloads = DatasetDownloadsSerializer()


class DatasetListSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    snapshot = DatasetSnapshotSerializer(
        allow_null=True, help_text="Every current observation of every dataset in one file; null until written."
    )
    results = DatasetSerializer(many=True)


class DatasetReleaseRowSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    label = serializers.CharField()
    release_date = serializers.DateField()
    state = serializers.CharField()
    is_current = serializers.BooleanField(help_text="Current values come from this release.")
    url = serializers.URLField()


class DatasetDetailSerializer(DatasetSerializer):
    releases = DatasetReleaseRowSerializer(many=True, help_text="Published releases, newest first.")


class DatasetReleaseSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    dataset = serializers.CharField()
    dataset_url = serializers.URLField()
    label = serializers.CharField()
    release_date = serializers.DateField()
    state = serializers.CharField()
    is_current = serializers.BooleanField()
    source_url = serializers.CharField(allow_blank=True)
    notes = serializers.CharField(allow_blank=True)
    downloads = DatasetDownloadsSerializer(help_text="The files kept under this release; empty when none is.")


SLUG = OpenApiParameter("slug", OpenApiTypes.STR, OpenApiParameter.PATH, description="Dataset slug.")
RELEASE_ID = OpenApiParameter(
    "id",
    {"type": "integer", "minimum": 1, "maximum": MAX_ID},
    OpenApiParameter.PATH,
    description="Release id (from the dataset's `releases`).",
)


def _release_id(raw: str, name: str = "id") -> int:
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_ID:
        raise ParameterError(name, f"must be a release id (a whole number from 1 to {MAX_ID:,}), got {raw!r}")
    return int(raw)


# -- views ------------------------------------------------------------------------------------------------
class DatasetListView(ParamsMixin, APIView):
    @extend_schema(
        tags=["datasets"],
        summary="Datasets, their current release and its bulk files",
        description=(
            "Every dataset (a publisher's product: IoD 2025, ASHE pay, ...) with its publishers, licence, indicators "
            "and current release. The current release carries `downloads`: its current observations as Parquet and as "
            "gzipped CSV (the same rows and columns; docs/bulk.md lists them), each with its URL, size, SHA-256 and row "
            "count. `snapshot` (top level) is every current observation of every dataset in one file, in both formats."
        ),
        responses={200: DatasetListSerializer},
        operation_id="v1_datasets_list",
    )
    def get(self, request):
        def document() -> dict:
            rows = selectors.dataset_list()
            files = selectors.bulk_files(release_ids=[r.current.id for r in rows if r.current], snapshot=True)
            links = _Links(request)
            return {
                "count": len(rows),
                "snapshot": snapshot_item(links, files),
                "results": [dataset_item(links, row, files) for row in rows],
            }

        return document_once(request, document)


@extend_schema(
    tags=["datasets"],
    summary="One dataset with its releases",
    description="The dataset as in the list, with its published releases (newest first), each saying whether current "
    "values come from it.",
    parameters=[SLUG],
    responses={200: DatasetDetailSerializer, 404: OpenApiResponse(description="Unknown slug.")},
)
class DatasetDetailView(ParamsMixin, APIView):
    def get(self, request, slug: str):
        def document() -> dict:
            row = selectors.dataset_get(slug=slug)
            if row is None:
                raise NotFound(f"No dataset {slug!r}; see /api/v1/datasets/.", slug=slug)
            releases = selectors.dataset_releases(dataset_id=row.id)
            files = selectors.bulk_files(release_ids=[row.current.id] if row.current else [])
            links = _Links(request)
            return {
                **dataset_item(links, row, files),
                "releases": [_release_row(links, slug, r) for r in releases],
            }

        return document_once(request, document)


@extend_schema(
    tags=["datasets"],
    summary="One release of a dataset, with its files",
    description="A published release: its date, label, source, whether current values come from it, and the bulk "
    "files kept under it (those of a superseded release stay downloadable while they are kept).",
    parameters=[SLUG, RELEASE_ID],
    responses={
        200: DatasetReleaseSerializer,
        404: OpenApiResponse(description="Unknown dataset, or no such published release of it."),
    },
)
class ReleaseDetailView(ParamsMixin, APIView):
    def get(self, request, slug: str, id: str):
        release_id = _release_id(id)

        def document() -> dict:
            release = selectors.release_get(slug=slug, release_id=release_id)
            if release is None:
                _not_found(slug, release_id)
            files = selectors.bulk_files(release_ids=[release.id])
            links = _Links(request)
            return {
                "id": release.id,
                "dataset": slug,
                "dataset_url": links.dataset(slug),
                "label": release.label,
                "release_date": release.release_date,
                "state": release.state,
                "is_current": release.is_current,
                "source_url": release.source_url,
                "notes": release.notes,
                "downloads": downloads(links, files.get(release.id, {}), slug),
            }

        return document_once(request, document)


class ReleaseCompareParams(Params):
    change = ChoiceParam(choices=[("all", "all"), *((c, c) for c in revisions.CHANGES)], help_text=(
        "Which rows to list: `revised` (a new value or status), `precision` (the same value republished "
        "at other decimals), `added`, `removed`, or `all` of them (the default). The counts cover every kind."))
    page_size = page_size_param(default=1000, maximum=10000)
    page = page_param()


class ReleaseCompareSerializer(serializers.Serializer):
    dataset = serializers.CharField()
    old = DatasetReleaseRowSerializer(help_text="The release compared from.")
    new = DatasetReleaseRowSerializer(help_text="The release compared to.")
    counts = serializers.DictField(child=serializers.IntegerField(), help_text=(
        "Rows of each kind: revised, precision, added, removed and unchanged (matched by indicator, area and "
        "period, a period by its year where the year holds only it: docs/indicators.md)."))
    count = serializers.IntegerField(help_text="Rows of the kinds asked for (all pages).")
    next = serializers.URLField(allow_null=True)
    results = serializers.ListField(child=serializers.DictField(), help_text=(
        "indicator, area_code, area_name, old_period, new_period, old_value, new_value, old_status, "
        "new_status, change; ordered by indicator, area and period."))


@extend_schema(
    tags=["datasets"],
    summary="What changed between two releases of a dataset",
    description=(
        "Rows added, removed and revised between release `id` (old) and `other` (new), with old and new values, "
        "in one SQL statement over the two releases' partitions. A period written two ways (`2024-04` and "
        "`2024-04-17`) is matched by its year; a number written two ways (`64`, `64.0`) is unchanged; a value "
        "republished at other decimals (62.18 as 62.2) is a `precision` change, not a revision."),
    parameters=[SLUG, RELEASE_ID, OpenApiParameter(
        "other", {"type": "integer", "minimum": 1, "maximum": MAX_ID}, OpenApiParameter.PATH,
        description="The release to compare to (another release of the same dataset).")],
    responses={200: ReleaseCompareSerializer,
               404: OpenApiResponse(description="Unknown dataset, or no such published release of it.")},
)
class ReleaseCompareView(ParamsMixin, APIView):
    params_class = ReleaseCompareParams

    def get(self, request, slug: str, id: str, other: str):
        old_id, new_id = _release_id(id), _release_id(other, name="other")
        size, page = self.cleaned.get("page_size") or 1000, self.cleaned.get("page") or 1
        change = self.cleaned.get("change") or "all"
        changes = list(revisions.CHANGES) if change == "all" else [change]

        def document() -> dict:
            old = selectors.release_get(slug=slug, release_id=old_id)
            new = selectors.release_get(slug=slug, release_id=new_id)
            if old is None or new is None:
                _not_found(slug, old_id if old is None else new_id)
            found = revisions.release_compare(old=old.id, new=new.id, changes=changes, limit=size + 1,
                                              offset=(page - 1) * size)
            links = _Links(request)
            count = sum(found.counts[c] for c in changes)
            more = len(found.rows) > size
            return {
                "dataset": slug,
                "old": _release_row(links, slug, old),
                "new": _release_row(links, slug, new),
                "counts": found.counts,
                "count": count,
                "next": request.build_absolute_uri(f"?{_query(request, page=page + 1)}") if more else None,
                "results": found.rows[:size],
            }

        return document_once(request, document)


@extend_schema(
    tags=["datasets"],
    summary="A dataset's releases",
    description="Every published release of the dataset, newest first, each saying whether current values come "
    "from it. Each one's values: `/api/v1/observations/?release={id}`; as of a date: `as_of=`.",
    parameters=[SLUG],
    responses={200: DatasetReleaseRowSerializer(many=True), 404: OpenApiResponse(description="Unknown slug.")},
)
class DatasetReleasesView(ParamsMixin, APIView):
    def get(self, request, slug: str):
        def document() -> list:
            row = selectors.dataset_get(slug=slug)
            if row is None:
                raise NotFound(f"No dataset {slug!r}; see /api/v1/datasets/.", slug=slug)
            links = _Links(request)
            return [_release_row(links, slug, r) for r in selectors.dataset_releases(dataset_id=row.id)]

        return document_once(request, document)


def _release_row(links: _Links, slug: str, r) -> dict:
    return {"id": r.id, "label": r.label, "release_date": r.release_date, "state": r.state,
            "is_current": r.is_current, "url": links.release(slug, r.id)}


def _query(request, **changes) -> str:
    query = request.GET.copy()
    for key, value in changes.items():
        query[key] = str(value)
    return query.urlencode()


def _not_found(slug: str, release_id: int) -> None:
    if not selectors.dataset_exists(slug=slug):
        raise NotFound(f"No dataset {slug!r}; see /api/v1/datasets/.", slug=slug)
    raise NotFound(
        f"No published release {release_id} of {slug!r}; its releases: /api/v1/datasets/{slug}/.",
        slug=slug,
        release=release_id,
    )


class _FileRenderer(BaseRenderer):
    """Names the media type a download is served as, for content negotiation and OpenAPI; the view
    streams the file itself (errors are JSON: levelup_api.core.errors)."""

    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return b""


class ParquetRenderer(_FileRenderer):
    media_type = MEDIA_TYPES[BulkFile.Format.PARQUET]
    format = "parquet"


class GzipRenderer(_FileRenderer):
    media_type = MEDIA_TYPES[BulkFile.Format.CSV_GZ]
    format = "csv.gz"


DOWNLOAD_HEADERS = (
    " Served as a static file is: `Content-Length`, a strong `ETag` (the SHA-256, quoted), `Repr-Digest` (RFC 9530) "
    "and `Digest`, `Last-Modified`, and `Accept-Ranges: bytes`. `Range: bytes=first-last` (or `first-`, or `-n` "
    "for the last n bytes) gets a 206 with `Content-Range`; a range past the end, a 416; `If-Range` with the ETag "
    "or the Last-Modified sends the range only if the file is still that one. `If-None-Match` with the ETag gets a "
    "304, counted against no quota. Downloads have a quota of their own (`downloads`, the API root says how many a "
    "minute), since a reader of a remote Parquet file asks for it in many ranges."
)


def _download_schema(fmt: str, what: str, parameters: list, operation_id: str):
    media = MEDIA_TYPES[fmt]
    return extend_schema_view(
        get=extend_schema(
            operation_id=operation_id,
            tags=["datasets"],
            summary=f"{what} as {'Parquet' if fmt == 'parquet' else 'gzipped CSV'}",
            description=(
                f"{what}: columns indicator, area_code, area_name, area_type, period, period_start, period_end, "
                "value, lci, uci, numerator, denominator, status, rank, rank_of, release_id, release_label, "
                "dataset, ordered by indicator, period and area code (docs/bulk.md)."
                + (
                    " Parquet with zstd compression; dates are date32, numbers float64, ranks and ids int32."
                    if fmt == "parquet"
                    else " A gzip file of the CSV (RFC 4180, a header line, ISO dates), "
                    "sent as it is stored (no Content-Encoding)."
                )
                + DOWNLOAD_HEADERS
            ),
            parameters=parameters,
            responses={
                (200, media): OpenApiTypes.BINARY,
                (206, media): OpenApiResponse(OpenApiTypes.BINARY, description="The byte range asked for."),
                304: OpenApiResponse(description="Not modified: the If-None-Match tag (or date) is the file's."),
                (412, "application/json"): OpenApiResponse(
                    OpenApiTypes.OBJECT, description="If-Match or If-Unmodified-Since failed."
                ),
                (416, "application/json"): OpenApiResponse(
                    OpenApiTypes.OBJECT,
                    description="The range starts past the end of the file (`Content-Range: bytes */size`).",
                ),
                404: OpenApiResponse(
                    description="Unknown dataset or release, or no file is kept for it (the message says which)."
                ),
            },
        )
    )


@functools.lru_cache(maxsize=512)
def _file_found(version: float | None, slug: str | None, release_id: int | None, fmt: str) -> BulkFile | None:
    """The record of a download, remembered per data version where the process keeps derived documents
    (LEVELUP["PROFILE_CACHE"]): a reader of a remote Parquet file asks for it range by range, and every
    write of a file moves the data version on (it is recorded as an ingest run). `version` only keys it."""
    return selectors.bulk_file_get(slug=slug, release_id=release_id, fmt=fmt)


class _Download(ParamsMixin, APIView):
    """A bulk file: the snapshot's (`snapshot`) or a release's, in `fmt`."""

    fmt: str = BulkFile.Format.PARQUET
    snapshot = False
    quota_scope = "downloads"
    record: BulkFile | None = None

    def find(self) -> BulkFile | None:
        slug, release_id = (None, None) if self.snapshot else (self.kwargs["slug"], _release_id(self.kwargs["id"]))
        if settings.LEVELUP["PROFILE_CACHE"]:
            return _file_found(data_version(), slug, release_id, self.fmt)
        return _file_found.__wrapped__(None, slug, release_id, self.fmt)

    def check_throttles(self, request):
        # The file is found before the quota is counted, so that a 304 for it counts against nothing,
        # as a 304 anywhere in the API does (levelup_api.core.caching answers those before the quota).
        self.record = self.find()
        if self.record is not None and request.method in ("GET", "HEAD"):
            tags = parse_etags(request.META.get("HTTP_IF_NONE_MATCH", ""))
            if any(t == "*" or t.removeprefix("W/") == f'"{self.record.sha256}"' for t in tags):
                return
        super().check_throttles(request)

    def get(self, request, **kwargs):
        record = self.record
        if record is None:
            self.missing()
        path = bulk_path(record)
        try:
            on_disk = path.stat().st_size
        except OSError:
            on_disk = None
        if on_disk != record.size:
            raise NotFound(
                "The file is recorded but not on this server's disk (manage.py bulk_write writes it again).",
                file=record.path,
            )
        name = (
            f"levelup-snapshot.{self.fmt}"
            if record.release_id is None
            else f"{self.kwargs['slug']}-release-{record.release_id}.{self.fmt}"
        )
        return file_response(
            request,
            path=path,
            size=record.size,
            sha256=record.sha256,
            modified=record.written_at,
            content_type=MEDIA_TYPES[self.fmt],
            filename=name,
            cache_control=f"public, max-age={settings.LEVELUP['CACHE_MAX_AGE']}",
        )

    def missing(self) -> None:
        if self.snapshot:
            raise NotFound("The snapshot has not been written yet (manage.py bulk_write, or the next load).")
        slug, release_id = self.kwargs["slug"], _release_id(self.kwargs["id"])
        release = selectors.release_get(slug=slug, release_id=release_id)
        if release is None:
            _not_found(slug, release_id)
        raise NotFound(
            f"Release {release_id} of {slug!r} ({release.label}, {release.release_date}) is held, but no {self.fmt} "
            f"file is kept for it: files are written for the current release (see /api/v1/datasets/{slug}/). Its "
            f"values are served by /api/v1/observations/ with as_of={release.release_date}.",
            slug=slug,
            release=release_id,
        )


@_download_schema(
    BulkFile.Format.PARQUET, "A release's current observations", [SLUG, RELEASE_ID], "v1_datasets_releases_parquet"
)
class ReleaseParquetView(_Download):
    fmt = BulkFile.Format.PARQUET
    renderer_classes = [ParquetRenderer]


@_download_schema(
    BulkFile.Format.CSV_GZ, "A release's current observations", [SLUG, RELEASE_ID], "v1_datasets_releases_csv_gz"
)
class ReleaseCsvGzView(_Download):
    fmt = BulkFile.Format.CSV_GZ
    renderer_classes = [GzipRenderer]


@_download_schema(
    BulkFile.Format.PARQUET,
    "Every current observation of every dataset (the national snapshot)",
    [],
    "v1_datasets_snapshot_parquet",
)
class SnapshotParquetView(_Download):
    fmt = BulkFile.Format.PARQUET
    snapshot = True
    renderer_classes = [ParquetRenderer]


@_download_schema(
    BulkFile.Format.CSV_GZ,
    "Every current observation of every dataset (the national snapshot)",
    [],
    "v1_datasets_snapshot_csv_gz",
)
class SnapshotCsvGzView(_Download):
    fmt = BulkFile.Format.CSV_GZ
    snapshot = True
    renderer_classes = [GzipRenderer]

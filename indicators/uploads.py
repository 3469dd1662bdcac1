"""Curator uploads: a CSV in the API's own long format becomes a release of a dataset, after a
validation preview. The upload runs through the same loader as the real files."""

from __future__ import annotations

import csv
import io
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction

from levelup_api.core.ingest import IngestError, decode_text, run_source

from .ingest.loader import IndicatorLoader
from .ingest.spec import IndicatorDef, IndicatorSource
from .models import Dataset, Indicator
from .services import release_load

UPLOAD_COLUMNS = {"code": "area_code", "indicator": "indicator", "period": "period_iso", "value": "value",
                  "lci": "lci", "uci": "uci", "status": "status"}
UPLOAD_DIR = Path(tempfile.gettempdir()) / "levelup-uploads"


class Preview(Exception):
    pass


@dataclass
class UploadResult:
    counts: dict
    rows: list[list[str]]
    error: IngestError | None = None


def upload_source(*, path: Path, dataset: Dataset, label: str, release_date: str) -> IndicatorSource:
    """A long-format source whose indicators are the existing ones the file names."""
    text = decode_text(path.read_bytes(), encoding="utf-8-sig", label=path.name)
    slugs = sorted({row.get("indicator", "").strip() for row in csv.DictReader(io.StringIO(text))} - {""})
    known = {i.slug: i for i in Indicator.objects.filter(slug__in=slugs)}
    missing = [s for s in slugs if s not in known]
    if missing:
        raise IngestError(path.name, f"unknown indicator(s) {', '.join(missing)}: create them in the admin first",
                          column="indicator")
    defs = [IndicatorDef(key=s, slug=s, title=known[s].title, measure=known[s].measure) for s in slugs]
    return IndicatorSource(name=f"upload-{dataset.slug}-{label}", file=path.name, layout="long", dataset=dataset.slug,
                           dataset_title=dataset.title, dataset_description=dataset.description,
                           source_url=dataset.source_url, release_date=release_date, release_label=label,
                           columns=dict(UPLOAD_COLUMNS), indicators=defs, create={},
                           publishers=[p.name for p in dataset.publishers.all()] or ["Unknown"],
                           licence=dataset.licence, spec_bytes=label.encode())


def upload_preview(*, path: Path, dataset: Dataset, label: str, release_date: str) -> UploadResult:
    """Validate and load inside a transaction that is rolled back: counts, or the first error."""
    rows = list(csv.reader(io.StringIO(path.read_text("utf-8-sig", errors="replace"))))[:21]
    try:
        spec = upload_source(path=path, dataset=dataset, label=label, release_date=release_date)
        with transaction.atomic():
            loader = IndicatorLoader(spec, path.parent)
            counts = loader.load()
            raise Preview
    except Preview:
        return UploadResult(counts=counts, rows=rows)
    except IngestError as exc:
        return UploadResult(counts={}, rows=rows, error=exc)


def upload_confirm(*, path: Path, dataset: Dataset, label: str, release_date: str, state: str) -> UploadResult:
    """Load for real as a recorded run; a draft stays invisible until published."""
    spec = upload_source(path=path, dataset=dataset, label=label, release_date=release_date)
    outcome = run_source(dataset="indicators", name=spec.name, file=spec.file, path=path, spec_bytes=spec.spec_bytes,
                         load=lambda: (0, release_load(spec, path.parent, state=state).counts), force=True)
    if outcome.error:
        return UploadResult(counts={}, rows=[], error=outcome.error)
    return UploadResult(counts=outcome.counts, rows=[])



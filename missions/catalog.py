"""The DCAT catalogue (`/api/v1/catalog`): every dataset as JSON-LD in DCAT-AP terms, typed as a
schema.org Dataset too, for portals that harvest DCAT (CKAN's ckanext-dcat, data.europa.eu) and for
dataset search engines. Built here, above indicators, because its keywords are the missions its
indicators measure (docs/bulk.md, "The catalogue")."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse

from geographies.models import Area
from indicators import datasets as indicator_datasets
from indicators.api.datasets import ROUTE_SUFFIX
from indicators.bulk import MEDIA_TYPES, NATIONS
from indicators.models import BulkFile

from .models import Metric

CONTEXT = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "schema": "https://schema.org/",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "spdx": "http://spdx.org/rdf/terms#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}
IANA = "http://www.iana.org/assignments/media-types/"
FILE_TYPE = "http://publications.europa.eu/resource/authority/file-type/"
# ONS's linked-data address of a statistical geography, by GSS code.
STATISTICAL_GEOGRAPHY = "http://statistics.data.gov.uk/id/statistical-geography/"
CAPITALS = {
    "physical": "physical capital",
    "intangible": "intangible capital",
    "human": "human capital",
    "financial": "financial capital",
    "social": "social capital",
    "institutional": "institutional capital",
}
# The API's formats of the observations of a dataset (format=... on /observations/): JSON-stat and the
# CSV's CSVW metadata (Link: rel="describedby" on every CSV response) are levelup_api.core's.
API_FORMATS = [
    ("json", "JSON through the API", "application/json", "JSON", None),
    (
        "csv",
        "CSV through the API, with CSV on the Web metadata (each CSV response links to it: Link rel=describedby)",
        "text/csv",
        "CSV",
        "http://www.w3.org/ns/csvw",
    ),
    (
        "jsonstat",
        "JSON-stat 2.0 through the API",
        "application/vnd.json-stat+json",
        "JSON",
        "https://json-stat.org/format/",
    ),
]


def _date(value: dt.date | None) -> dict | None:
    return {"@value": value.isoformat(), "@type": "xsd:date"} if value else None


def _integer(value: int) -> dict:
    return {"@value": str(value), "@type": "xsd:nonNegativeInteger"}


def _agent(name: str) -> dict:
    return {"@type": ["foaf:Agent", "schema:Organization"], "foaf:name": name, "schema:name": name}


def _file(base: str, record: BulkFile, slug: str | None, title: str) -> dict:
    suffix = ROUTE_SUFFIX[record.format]
    path = (
        reverse(f"dataset-snapshot-{suffix}")
        if slug is None
        else reverse(f"dataset-release-{suffix}", kwargs={"slug": slug, "id": record.release_id})
    )
    parquet = record.format == BulkFile.Format.PARQUET
    media = MEDIA_TYPES[record.format] if parquet else "text/csv"
    node = {
        "@id": base + path,
        "@type": ["dcat:Distribution", "schema:DataDownload"],
        "dct:title": f"{title}: {'Parquet (zstd)' if parquet else 'gzipped CSV'}",
        "dcat:downloadURL": {"@id": base + path},
        "dcat:accessURL": {"@id": base + path},
        "dcat:mediaType": {"@id": IANA + media},
        "dct:format": {"@id": FILE_TYPE + ("PARQUET" if parquet else "CSV")},
        "dcat:byteSize": _integer(record.size),
        "spdx:checksum": {
            "@type": "spdx:Checksum",
            "spdx:algorithm": {"@id": "spdx:checksumAlgorithm_sha256"},
            "spdx:checksumValue": {"@value": record.sha256, "@type": "xsd:hexBinary"},
        },
        "dct:modified": {"@value": record.written_at.isoformat(), "@type": "xsd:dateTime"},
        "schema:contentUrl": base + path,
        "schema:encodingFormat": MEDIA_TYPES[record.format],
        "schema:contentSize": f"{record.size} B",
    }
    if not parquet:
        node["dcat:compressFormat"] = {"@id": IANA + "application/gzip"}
    return node


def _api_distributions(base: str, slug: str, indicators: list[str]) -> list[dict]:
    out = []
    for fmt, title, media, file_type, conforms in API_FORMATS:
        query = {"indicator": ",".join(indicators), **({} if fmt == "json" else {"format": fmt})}
        url = base + reverse("observation-list") + "?" + urlencode(query, safe=",")
        node = {
            "@id": url,
            "@type": ["dcat:Distribution", "schema:DataDownload"],
            "dct:title": title,
            "dcat:accessURL": {"@id": url},
            "dcat:accessService": {"@id": base + reverse("api-root")},
            "dcat:mediaType": {"@id": IANA + media},
            "dct:format": {"@id": FILE_TYPE + file_type},
            "schema:contentUrl": url,
            "schema:encodingFormat": media,
        }
        if conforms:
            node["dct:conformsTo"] = {"@id": conforms}
        if fmt == "csv":  # the CSV's CSVW metadata document: the same query with format=csvw
            node["foaf:page"] = {"@id": url.removesuffix("format=csv") + "format=csvw"}
        out.append(node)
    return out


def catalog_document(*, base: str, modified: str) -> dict:
    """The catalogue, for the API at `base` (scheme and host) as of the data version `modified`:
    seven statements, whatever the number of datasets."""
    rows = indicator_datasets.dataset_list()
    files = indicator_datasets.bulk_files(release_ids=[r.current.id for r in rows if r.current], snapshot=True)
    coverage = indicator_datasets.dataset_coverage()
    missions: dict[int, list[str]] = {}
    for dataset_id, number, name in (
        Metric.objects.values_list("indicator__dataset_id", "mission__number", "mission__short_name")
        .order_by("mission__number")
        .distinct()
    ):
        keyword = f"Levelling Up mission {number}: {name}"
        if keyword not in missions.setdefault(dataset_id, []):
            missions[dataset_id].append(keyword)
    nations = dict(Area.objects.filter(code__in=NATIONS.values()).values_list("code", "name"))
    service = base + reverse("api-root")
    datasets = []
    for row in rows:
        if row.current is None:
            continue  # nothing is served: nothing to catalogue
        cover = coverage.get(row.id, indicator_datasets.DatasetCoverage())
        own = files.get(row.current.id, {})
        summary = next(iter(own.values())).summary if own else {}
        keywords = [*missions.get(row.id, []), *(CAPITALS.get(c, c) for c in cover.capitals), *cover.topics]
        spatial = [
            {
                "@id": STATISTICAL_GEOGRAPHY + code,
                "@type": "dct:Location",
                "dct:identifier": code,
                "skos:prefLabel": nations.get(code, code),
            }
            for code in summary.get("nations", [])
        ]
        spatial += [
            {
                "@type": "dct:Location",
                "dct:identifier": code,
                "skos:prefLabel": f"{name} ({code})",
                "dct:type": "area type",
            }
            for code, name in cover.area_types
        ]
        url = base + reverse("dataset-detail", kwargs={"slug": row.slug})
        node = {
            "@id": url,
            "@type": ["dcat:Dataset", "schema:Dataset"],
            "dct:identifier": row.slug,
            "dct:title": row.title,
            "schema:name": row.title,
            "dct:description": row.description or row.title,
            "schema:description": row.description or row.title,
            "dct:publisher": [_agent(name) for name in row.publishers],
            "schema:publisher": [_agent(name) for name in row.publishers],
            "dct:modified": _date(row.current.release_date),
            "dcat:version": row.current.label,
            "dcat:landingPage": {"@id": url},
            "schema:url": url,
            "dcat:keyword": keywords,
            "schema:keywords": keywords,
            "dct:spatial": spatial,
            "schema:spatialCoverage": [s["skos:prefLabel"] for s in spatial if "@id" in s],
            "dcat:distribution": [
                *_api_distributions(base, row.slug, row.indicators),
                *(_file(base, own[fmt], row.slug, row.title) for fmt in BulkFile.Format.values if fmt in own),
            ],
        }
        if row.source_url:
            node["dct:source"] = {"@id": row.source_url}
        licence = indicator_datasets.licence_url(row.licence)
        if licence:
            node["dct:license"] = {"@id": licence}
            node["schema:license"] = licence
        if cover.start:
            node["dct:temporal"] = {
                "@type": "dct:PeriodOfTime",
                "dcat:startDate": _date(cover.start),
                "dcat:endDate": _date(cover.end),
            }
            node["schema:temporalCoverage"] = f"{cover.start.isoformat()}/{cover.end.isoformat()}"
        datasets.append(node)
    snapshot = files.get(None, {})
    if snapshot:
        title = "Every current observation (the national snapshot)"
        datasets.append(
            {
                "@id": base + reverse("dataset-list") + "#snapshot",
                "@type": ["dcat:Dataset", "schema:Dataset"],
                "dct:identifier": "snapshot",
                "dct:title": title,
                "schema:name": title,
                "dct:description": "Every current observation of every dataset above, in one file.",
                "schema:description": "Every current observation of every dataset above, in one file.",
                "dct:hasPart": [{"@id": d["@id"]} for d in datasets],
                "dct:license": {"@id": indicator_datasets.licence_url("Open Government Licence v3.0")},
                "dcat:distribution": [
                    _file(base, snapshot[fmt], None, title) for fmt in BulkFile.Format.values if fmt in snapshot
                ],
            }
        )
    return {
        "@context": CONTEXT,
        "@id": base + reverse("catalog"),
        "@type": ["dcat:Catalog", "schema:DataCatalog"],
        "dct:title": settings.SPECTACULAR_SETTINGS["TITLE"],
        "schema:name": settings.SPECTACULAR_SETTINGS["TITLE"],
        "dct:description": "Granular, harmonised statistics for the UK Levelling Up missions, by GSS area code.",
        "dct:modified": {"@value": modified, "@type": "xsd:dateTime"},
        "dct:license": {"@id": indicator_datasets.licence_url("Open Government Licence v3.0")},
        "foaf:homepage": {"@id": service},
        "dcat:service": {
            "@id": service,
            "@type": "dcat:DataService",
            "dct:title": "The REST API",
            "dcat:endpointURL": {"@id": service},
            "dcat:endpointDescription": {"@id": base + reverse("schema")},
        },
        "dcat:dataset": datasets,
    }

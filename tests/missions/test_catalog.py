"""The DCAT catalogue (/api/v1/catalog), read as a harvester reads it: JSON-LD parsed into RDF with
rdflib, then the triples a DCAT-AP harvester looks for, checked against the database and the bulk
files written from the real load (tests/indicators/bulk_helpers.py)."""

from __future__ import annotations

import datetime as dt

import pytest
from rdflib import RDF, Graph, Literal, Namespace, URIRef

from indicators.models import BulkFile, Dataset
from tests.indicators.bulk_helpers import sha256_of

pytestmark = pytest.mark.django_db

# Open namespaces (rdflib's own DCAT and XSD are closed ones, which pytest's collection warns about).
DCAT = Namespace("http://www.w3.org/ns/dcat#")
DCTERMS = Namespace("http://purl.org/dc/terms/")
XSD = Namespace("http://www.w3.org/2001/XMLSchema#")
SCHEMA = Namespace("https://schema.org/")
SPDX = Namespace("http://spdx.org/rdf/terms#")
BASE = "http://testserver/api/v1/"
OGL = URIRef("https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/")
PARQUET = URIRef("http://www.iana.org/assignments/media-types/application/vnd.apache.parquet")


@pytest.fixture
def catalog(written, api, django_assert_num_queries) -> Graph:
    from levelup_api.core.caching import data_version_refresh

    data_version_refresh()  # read now, so that the request finds it read (as a server's listener keeps it)
    # The datasets, their files, coverage (spans, area types), the indicators' tags, the missions and the
    # nations' names.
    with django_assert_num_queries(7):
        response = api.get("/api/v1/catalog")
    assert response.status_code == 200 and response["Content-Type"] == "application/ld+json"
    graph = Graph()
    graph.parse(data=response.content, format="json-ld")
    return graph


def test_every_dataset_with_a_title_and_a_licence(catalog):
    catalogue = URIRef(BASE + "catalog")
    assert (catalogue, RDF.type, DCAT.Catalog) in catalog
    listed = set(catalog.objects(catalogue, DCAT.dataset))
    current = [d for d in Dataset.objects.all() if d.releases.filter(is_current=True).exists()]
    assert len(listed) == len(current) + 1  # and the snapshot
    for dataset in current:
        node = URIRef(f"{BASE}datasets/{dataset.slug}/")
        assert node in listed
        assert (node, RDF.type, DCAT.Dataset) in catalog and (node, RDF.type, SCHEMA.Dataset) in catalog
        assert catalog.value(node, DCTERMS.title) == Literal(dataset.title)
        assert catalog.value(node, DCTERMS.license) == OGL
        assert catalog.value(node, DCTERMS.identifier) == Literal(dataset.slug)
        publishers = {
            catalog.value(p, URIRef("http://xmlns.com/foaf/0.1/name")).toPython()
            for p in catalog.objects(node, DCTERMS.publisher)
        }
        assert publishers == set(dataset.publishers.values_list("name", flat=True))


def test_a_parquet_distribution_with_its_size_and_checksum(catalog, written):
    node = URIRef(BASE + "datasets/iod2025/")
    files = [d for d in catalog.objects(node, DCAT.distribution) if catalog.value(d, DCAT.mediaType) == PARQUET]
    assert len(files) == 1
    parquet = files[0]
    path = written.files["iod2025", "parquet"]
    assert catalog.value(parquet, DCAT.byteSize) == Literal(path.stat().st_size, datatype=XSD.nonNegativeInteger)
    assert catalog.value(parquet, DCAT.byteSize).toPython() == path.stat().st_size
    assert catalog.value(parquet, DCAT.downloadURL) == URIRef(
        f"{BASE}datasets/iod2025/releases/{written.release_ids['iod2025']}/download.parquet"
    )
    checksum = catalog.value(parquet, SPDX.checksum)
    assert catalog.value(checksum, SPDX.algorithm) == SPDX.checksumAlgorithm_sha256
    assert str(catalog.value(checksum, SPDX.checksumValue)) == sha256_of(path)
    media = {
        str(catalog.value(d, DCAT.mediaType)).rsplit("/", 2)[-2:][1] for d in catalog.objects(node, DCAT.distribution)
    }
    assert media == {"json", "csv", "vnd.json-stat+json", "vnd.apache.parquet"}  # the CSV twice: API and gzipped file
    gz = next(d for d in catalog.objects(node, DCAT.distribution) if catalog.value(d, DCAT.compressFormat))
    assert catalog.value(gz, DCAT.byteSize).toPython() == written.files["iod2025", "csv.gz"].stat().st_size


def test_api_distributions_name_the_formats(catalog):
    node = URIRef(BASE + "datasets/gross-median-weekly-pay/")
    urls = {str(catalog.value(d, DCAT.accessURL)) for d in catalog.objects(node, DCAT.distribution)}
    assert f"{BASE}observations/?indicator=gross-median-weekly-pay" in urls
    assert f"{BASE}observations/?indicator=gross-median-weekly-pay&format=csv" in urls
    assert f"{BASE}observations/?indicator=gross-median-weekly-pay&format=jsonstat" in urls
    csvw = next(
        d for d in catalog.objects(node, DCAT.distribution) if str(catalog.value(d, DCAT.accessURL)).endswith("csv")
    )
    assert catalog.value(csvw, DCTERMS.conformsTo) == URIRef("http://www.w3.org/ns/csvw")


def test_temporal_and_spatial_coverage_and_keywords(catalog):
    pay = URIRef(BASE + "datasets/gross-median-weekly-pay/")
    period = catalog.value(pay, DCTERMS.temporal)
    assert catalog.value(period, DCAT.startDate).toPython() == dt.date(2008, 4, 16)
    assert catalog.value(period, DCAT.endDate).toPython() == dt.date(2025, 4, 30)
    keywords = {str(k) for k in catalog.objects(pay, DCAT.keyword)}
    assert {"Levelling Up mission 1: Living standards", "human capital", "pay"} <= keywords
    iod = URIRef(BASE + "datasets/iod2025/")
    places = list(catalog.objects(iod, DCTERMS.spatial))
    england = URIRef("http://statistics.data.gov.uk/id/statistical-geography/E92000001")
    assert england in places
    assert URIRef("http://statistics.data.gov.uk/id/statistical-geography/W92000004") not in places
    types = {str(catalog.value(p, DCTERMS.identifier)) for p in places if p != england}
    assert types == {"LSOA"}
    assert {str(k) for k in catalog.objects(iod, DCAT.keyword)} == {"social capital", "deprivation"}


def test_the_snapshot_is_a_dataset_of_every_other(catalog, written):
    snapshot = URIRef(BASE + "datasets/#snapshot")
    parts = set(catalog.objects(snapshot, DCTERMS.hasPart))
    assert URIRef(BASE + "datasets/iod2025/") in parts
    sizes = {catalog.value(d, DCAT.byteSize).toPython() for d in catalog.objects(snapshot, DCAT.distribution)}
    assert sizes == {
        written.files["snapshot", "parquet"].stat().st_size,
        written.files["snapshot", "csv.gz"].stat().st_size,
    }
    assert BulkFile.objects.filter(release__isnull=True).count() == 2


def test_json_when_asked_and_unknown_parameters_refused(written, api):
    response = api.get("/api/v1/catalog", HTTP_ACCEPT="application/json")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert response.json()["@type"] == ["dcat:Catalog", "schema:DataCatalog"]
    assert api.get("/api/v1/catalog", {"q": "x"}).status_code == 400

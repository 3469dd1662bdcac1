"""CSV on the Web: every CSV response names its CSVW metadata in a `Link` header, the metadata
describes that CSV (its URL, columns, datatypes, units, licence, source, releases, and the foreign
key from area_code to the areas list) without reading a row, and the csvw library validates real
CSV responses against it over HTTP, as a user would."""

from __future__ import annotations

import orjson
import pytest
import requests
from django.db.models import Count, F, Max, Min

from indicators.models import Release
from tests.formats import csvw_problems

pytestmark = pytest.mark.django_db

OGL = "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/"


def metadata(api, path: str, query: dict) -> dict:
    response = api.get(path, {**query, "format": "csvw"})
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == "application/csvm+json"
    return orjson.loads(response.content)


def columns(doc: dict) -> dict[str, dict]:
    return {c["name"]: c for c in doc["tables"][0]["tableSchema"]["columns"]}


def test_the_observations_metadata_describes_the_csv(api):
    query = {"indicator": "gross-median-weekly-pay", "type": "LAD", "period": "latest"}
    doc = metadata(api, "/api/v1/observations/", query)
    assert "http://www.w3.org/ns/csvw" in doc["@context"]
    table = doc["tables"][0]
    assert table["url"] == (
        "http://testserver/api/v1/observations/?indicator=gross-median-weekly-pay&type=LAD&period=latest&format=csv"
    )
    described = columns(doc)
    assert list(described) == [
        "area_code",
        "area_name",
        "indicator",
        "period",
        "period_iso",
        "value",
        "lci",
        "uci",
        "status",
    ]
    assert {n: c["datatype"] for n, c in described.items() if c["datatype"] != "string"} == {
        "value": "number",
        "lci": "number",
        "uci": "number",
    }
    assert described["value"]["schema:unitText"] == "Pounds (£)"
    assert all(c["titles"] == n and c["dc:description"] for n, c in described.items())
    assert table["tableSchema"]["foreignKeys"] == [
        {
            "columnReference": "area_code",
            "reference": {"resource": "http://testserver/api/v1/areas/?format=csv", "columnReference": "code"},
        }
    ]
    areas = doc["tables"][1]
    assert areas["url"] == "http://testserver/api/v1/areas/?format=csv"
    assert areas["tableSchema"]["primaryKey"] == "code"
    assert doc["dc:license"]["@id"] == OGL
    # The release the rows come from: the dataset's newest published one.
    release = (
        Release.objects.filter(dataset__indicators__slug="gross-median-weekly-pay", state="published")
        .order_by("-release_date", "-id")
        .first()
    )
    assert doc["prov:wasDerivedFrom"] == [
        {
            **(
                {"@id": release.source_url or release.dataset.source_url}
                if release.source_url or release.dataset.source_url
                else {}
            ),
            "dc:title": release.dataset.title,
            "dc:identifier": str(release.id),
            "rdfs:label": release.label,
            "dc:issued": {"@value": release.release_date.isoformat(), "@type": "xsd:date"},
        }
    ]
    assert doc["dc:modified"]["@value"] == release.release_date.isoformat()
    assert doc["dc:source"]


def test_as_of_names_the_release_then_current(api):
    """With as_of, the release each dataset's rows come from is the one out then."""
    dataset = (
        Release.objects.filter(state="published")
        .values("dataset_id")
        .annotate(n=Count("id"), first=Min("release_date"), last=Max("release_date"))
        .filter(n__gte=2)
        .exclude(first=F("last"))
        .order_by("dataset_id")
        .first()
    )
    older, newer = (
        Release.objects.filter(dataset_id=dataset["dataset_id"], state="published")
        .order_by("release_date", "id")
        .select_related("dataset")
    )[:2]
    slug = older.dataset.indicators.order_by("slug").first().slug
    for as_of, expected in ((older.release_date, older), (newer.release_date, newer)):
        doc = metadata(api, "/api/v1/observations/", {"indicator": slug, "as_of": as_of.isoformat()})
        assert [d["dc:identifier"] for d in doc["prov:wasDerivedFrom"]] == [str(expected.id)]


@pytest.mark.parametrize(
    "path,query,statements",
    [
        ("/api/v1/observations/", {"indicator": "gross-median-weekly-pay", "type": "LAD", "period": "latest"}, 3),
        ("/api/v1/areas/E06000009/profile/", {}, 2),
        ("/api/v1/profiles/", {"parent": "E12000002", "type": "LAD", "vintage": "LAD23"}, 3),
        (
            "/api/v1/indicators/iod2025-imd-score/aggregate/",
            {"from_vintage": "LSOA21", "to_vintage": "LAD24", "parent": "E12000002"},
            5,
        ),
        ("/api/v1/areas/", {"type": "LAD"}, 2),
        ("/api/v1/missions/1/progress/", {"type": "LAD"}, 6),
    ],
)
def test_metadata_reads_no_row(api, django_assert_num_queries, path, query, statements):
    """Describing a CSV costs its parameters' look-ups and the releases, never a read of the rows."""
    with django_assert_num_queries(statements) as captured:
        metadata(api, path, query)
    read = " ".join(q["sql"] for q in captured.captured_queries)
    assert "indicators_observation" not in read and "missions_profilefact" not in read


def test_a_custom_areas_metadata_has_no_foreign_key(api, django_user_model):
    from geographies.services import custom_area_create

    area = custom_area_create(
        name="Central Manchester",
        user=django_user_model.objects.create_user("csvw-test"),
        codes=["E01005061", "E01005063", "E01005065"],
    )
    doc = metadata(api, f"/api/v1/custom-areas/{area.id}/observations/", {"indicator": "iod2025-imd-decile"})
    assert len(doc["tables"]) == 1 and "foreignKeys" not in doc["tables"][0]["tableSchema"]
    assert columns(doc)["value"]["schema:unitText"] == "proportion of the child areas (0 to 1)"


def test_what_the_csv_refuses_the_metadata_refuses(api):
    for path, query, parameter in [
        ("/api/v1/observations/", {"indicator": "gross-median-weekly-pay", "type": "NOPE"}, "type"),
        ("/api/v1/observations/", {"indicator": "gross-median-weekly-pay,no-such-indicator"}, "indicator"),
        ("/api/v1/observations/", {"indicator": "gross-median-weekly-pay", "area": "E99999999"}, "area"),
        (
            "/api/v1/indicators/iod2025-imd-rank/aggregate/",
            {"from_vintage": "LSOA21", "to_vintage": "LAD24"},
            "indicator",
        ),
        ("/api/v1/areas/E06000009/profile/", {"summaries": "true"}, "summaries"),
    ]:
        response = api.get(path, {**query, "format": "csvw"})
        assert response.status_code == 400 and response.json()["parameter"] == parameter, response.content
    assert api.get("/api/v1/areas/E99999999/profile/", {"format": "csvw"}).status_code == 404


# Every CSV of the API, each fetched as a client would, with its Link header followed.
CSVS = [
    ("/api/v1/observations/", "indicator=gross-median-weekly-pay&type=LAD&period=latest&format=csv"),
    (
        "/api/v1/observations/",
        "indicator=wellbeing-life-satisfaction&area=E06000063&vintage=LAD23&harmonise=true&format=csv",
    ),
    ("/api/v1/areas/E06000009/profile/", "format=csv"),
    ("/api/v1/profiles/", "parent=E12000002&type=LAD&vintage=LAD23&format=csv"),
    (
        "/api/v1/indicators/iod2025-imd-score/aggregate/",
        "from_vintage=LSOA21&to_vintage=LAD24&parent=E12000002&format=csv",
    ),
    ("/api/v1/areas/", "type=LAD&vintage=LAD23&format=csv"),
    ("/api/v1/missions/7/progress/", "type=LAD&format=csv"),
]


@pytest.mark.parametrize("path,query", CSVS, ids=[p for p, _ in CSVS])
def test_every_csv_links_to_metadata_describing_it(live_api, path, query):
    url = f"{live_api}{path}?{query}"
    response = requests.get(url, timeout=120)
    assert response.status_code == 200 and response.headers["Content-Type"] == "text/csv; charset=utf-8"
    link = response.links["describedby"]
    assert link["type"] == "application/csvm+json"
    assert link["url"] == url.replace("format=csv", "format=csvw")
    described = requests.get(link["url"], timeout=60)
    assert described.headers["Content-Type"] == "application/csvm+json"
    doc = described.json()
    assert doc["tables"][0]["url"] == url
    header = response.text.split("\r\n" if "\r\n" in response.text else "\n", 1)[0].split(",")
    assert [c["name"] for c in doc["tables"][0]["tableSchema"]["columns"]] == header


def test_a_csv_asked_for_by_accept_links_to_its_metadata(live_api):
    response = requests.get(f"{live_api}/api/v1/areas/E06000009/profile/", headers={"Accept": "text/csv"}, timeout=60)
    assert response.links["describedby"]["url"] == f"{live_api}/api/v1/areas/E06000009/profile/?format=csvw"


@pytest.mark.parametrize(
    "path,query",
    [
        # The user check: Blackpool's profile.
        ("/api/v1/areas/E06000009/profile/", "format=csv"),
        ("/api/v1/observations/", "indicator=gross-median-weekly-pay&type=LAD&period=latest&format=csv"),
        (
            "/api/v1/indicators/iod2025-imd-score/aggregate/",
            "from_vintage=LSOA21&to_vintage=LAD24&parent=E12000002&format=csv",
        ),
        ("/api/v1/areas/", "type=LAD&vintage=LAD23&format=csv"),
    ],
    ids=["profile", "observations", "aggregate", "areas"],
)
def test_csvw_validates_the_csv_against_its_metadata(live_api, path, query):
    """csvw finds the metadata by the Link header, checks every cell against its column's datatype,
    the required cells, the areas list's primary key and every area_code against it."""
    assert csvw_problems(f"{live_api}{path}?{query}") == []


def test_csvw_sees_a_csv_that_breaks_its_metadata(live_api, tmp_path):
    """The check is real: the same metadata over a CSV with a word in a number column fails."""
    doc = requests.get(
        f"{live_api}/api/v1/observations/?indicator=gross-median-weekly-pay&area=E06000009&period=latest&format=csvw",
        timeout=60,
    ).json()
    (tmp_path / "broken.csv").write_text(
        "area_code,area_name,indicator,period,period_iso,value,lci,uci,status\r\n"
        "E06000009,Blackpool,gross-median-weekly-pay,2025,2025-04-30,lots,,,\r\n"
    )
    meta = tmp_path / "broken.csv-metadata.json"
    meta.write_bytes(orjson.dumps({**doc, "tables": [{**doc["tables"][0], "url": "broken.csv"}, doc["tables"][1]]}))
    problems = csvw_problems(str(meta))
    assert len(problems) == 1 and "broken.csv:2:6 value: invalid lexical value for float: lots" in problems[0]
    # A code the areas list does not hold breaks the foreign key.
    (tmp_path / "broken.csv").write_text(
        "area_code,area_name,indicator,period,period_iso,value,lci,uci,status\r\n"
        "E99999999,Nowhere,gross-median-weekly-pay,2025,2025-04-30,539.9,,,\r\n"
    )
    problems = csvw_problems(str(meta))
    assert problems and "E99999999" in " ".join(problems)

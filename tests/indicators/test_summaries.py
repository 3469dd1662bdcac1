"""MHCLG's deprivation summary measures as aggregation methods (average rank, average score, share
in decile 1, extent, local concentration, scale, each with its rank), proved against MHCLG's own
district summaries: IoD 2025 (LAD 2024, from the LSOA 2021 file, with Census 2021 populations,
which MHCLG did not use) and IoD 2019 File 10 (LAD 2019, with File 6, the populations it did use).
Then the areas MHCLG does not publish: combined authorities, post-2023 districts from LSOA 2011
data, and a custom area; the published figure beside the computed one; refusals; query counts."""

from __future__ import annotations

import csv
import re
import xml.etree.ElementTree as ET
import zipfile

import pytest
from django.conf import settings

from geographies.models import AreaAncestor
from indicators.models import Indicator, Observation
from tests.clients import gql

pytestmark = pytest.mark.django_db

AGG = "/api/v1/indicators/{}/aggregate/"
DEPRIVATION = settings.LEVELUP_DATA_DIR / "indicators" / "deprivation"
# method -> (indicator aggregated, published value column, published rank column) in the IoD 2025 file.
IOD2025 = {
    "average_rank": ("iod2025-imd-rank", "imd_average_rank", "imd_rank_of_average_rank"),
    "average_score": ("iod2025-imd-score", "imd_average_score", "imd_rank_of_average_score"),
    "share_in_category": ("iod2025-imd-decile", "imd_proportion_of_lso_as_in_most_deprived_10_percent_nationally",
                          "imd_rank_of_proportion_of_lso_as_in_most_deprived_10_percent_nationally"),
    "extent": ("iod2025-imd-rank", "imd25_extent", "imd25_rank_of_extent"),
    "local_concentration": ("iod2025-imd-rank", "imd25_local_concentration", "imd25_rank_of_local_concentration"),
}
# The slugs MHCLG's district file is loaded under (fixtures/indicators/sources/016_*.toml).
LOADED_AS = {"average_rank": "iod2025-imd-lad-average-rank", "average_score": "iod2025-imd-lad-average-score",
             "share_in_category": "iod2025-imd-lad-share-decile-1", "extent": "iod2025-imd-lad-extent",
             "local_concentration": "iod2025-imd-lad-local-concentration"}
GM = [f"E080000{n:02d}" for n in range(1, 11)]


def summary(api, method: str, slug: str | None = None, **params) -> dict:
    slug = slug or IOD2025[method][0]
    args = {"from_vintage": "LSOA21", "to_vintage": "LAD24", "method": method, **params}
    if method != "share_in_category" and "weight" not in params:
        args["weight"] = "population-census-2021"
    response = api.get(AGG.format(slug), args)
    assert response.status_code == 200, response.content
    return response.json()


def by_code(body: dict) -> dict[str, dict]:
    return {r["area_code"]: r for r in body["results"]}


def iod2025_published() -> dict[str, dict]:
    with open(DEPRIVATION / "IoD2025_England_LAD24_summaries_humaniverse.csv", encoding="utf-8") as fh:
        return {r["ltla24_code"]: r for r in csv.DictReader(fh)}


def xlsx_rows(path, sheet: str) -> list[list[str | None]]:
    """The cells of one sheet of an .xlsx workbook (the standard library reads its XML)."""
    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
    rel = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
    with zipfile.ZipFile(path) as z:
        rids = {s.get("name"): s.get(rel) for s in ET.fromstring(z.read("xl/workbook.xml")).find("m:sheets", ns)}
        targets = {r.get("Id"): r.get("Target") for r in ET.fromstring(z.read("xl/_rels/workbook.xml.rels"))}
        strings = ["".join(t.text or "" for t in si.iter(f"{{{ns['m']}}}t"))
                   for si in ET.fromstring(z.read("xl/sharedStrings.xml"))]
        root = ET.fromstring(z.read("xl/" + targets[rids[sheet]].removeprefix("/xl/")))
    rows = []
    for row in root.iter(f"{{{ns['m']}}}row"):
        cells: dict[int, str | None] = {}
        for c in row:
            letters = re.match(r"[A-Z]+", c.get("r")).group()
            col = sum((ord(ch) - 64) * 26 ** i for i, ch in enumerate(reversed(letters))) - 1
            v = c.find("m:v", ns)
            cells[col] = strings[int(v.text)] if v is not None and c.get("t") == "s" else (v.text if v is not None else None)
        rows.append([cells.get(i) for i in range(max(cells) + 1)] if cells else [])
    return rows


def test_iod2025_district_summaries_agree_with_mhclgs(api, record_property):
    """From the LSOA 2021 file with Census 2021 populations (MHCLG weights by its own mid-year
    estimates): the targets of issue 12, and the largest difference per measure, printed."""
    theirs = iod2025_published()
    assert len(theirs) == 296
    report = {}
    for method, (_, value_col, rank_col) in IOD2025.items():
        body = summary(api, method)
        assert body["rank_order"] == "1 = highest value" and body["via"] is None
        ours = by_code(body)
        assert set(theirs) <= set(ours)
        rows = [(ours[code], float(p[value_col]), int(p[rank_col])) for code, p in theirs.items()]
        assert all(r["rank_of"] == 296 and r["reason"] is None for r, _, _ in rows)
        # The published figure rides beside ours, from the loaded district file.
        assert all(r["published_value"] == pytest.approx(v, abs=1e-9) for r, v, _ in rows)
        assert {r["published_indicator"] for r, _, _ in rows} == {LOADED_AS[method]}
        diffs = sorted(((abs(r["value"] - v), r["area_name"], r["value"], v) for r, v, _ in rows), reverse=True)
        relative = sorted(abs(r["value"] - v) / v if v else float(r["value"] != 0) for r, v, _ in rows)
        ranks = sorted(abs(r["rank"] - k) for r, _, k in rows)
        report[method] = {
            "largest": diffs[0], "largest_relative": relative[-1],
            "within_1pct": sum(x <= 0.01 for x in relative) / 296,
            "within_0.01": sum(d[0] <= 0.01 for d in diffs) / 296,
            "rank_exact": sum(x == 0 for x in ranks) / 296, "rank_within_3": sum(x <= 3 for x in ranks) / 296,
            "largest_rank_difference": ranks[-1],
        }
    for method, r in report.items():
        name, ours, published = r["largest"][1:]
        print(f"\nIoD 2025 {method}: largest difference {r['largest'][0]:.6g} ({name}: {ours:.6g} against "
              f"{published:g}; {r['largest_relative']:.3%}); within 1%: {r['within_1pct']:.1%}; within 0.01: "
              f"{r['within_0.01']:.1%}; rank exact {r['rank_exact']:.1%}, within 3 places {r['rank_within_3']:.1%}, "
              f"largest rank difference {r['largest_rank_difference']}")
        record_property(f"iod2025_{method}", repr(r))
    # The share of LSOAs in decile 1 is a count: exact, at the published precision, and so its rank.
    share = by_code(summary(api, "share_in_category"))
    assert all(round(share[code]["value"], 4) == float(p[IOD2025["share_in_category"][1]])
               for code, p in theirs.items())
    assert report["share_in_category"]["rank_exact"] == 1.0
    assert report["average_rank"]["within_1pct"] >= 0.95
    assert report["local_concentration"]["within_1pct"] >= 0.95
    assert report["extent"]["within_0.01"] >= 0.95
    assert all(r["rank_within_3"] >= 0.90 for r in report.values())
    hartlepool = by_code(summary(api, "average_rank", parent="E06000001"))["E06000001"]
    # One district asked for, still ranked among all 296, as MHCLG ranks it (30th).
    assert (hartlepool["rank"], hartlepool["rank_of"], hartlepool["published_value"]) == (30, 296, 23075.98)
    assert abs(hartlepool["value"] - 23075.98) < 10


def test_iod2019_file10_is_reproduced_with_mhclgs_own_populations(api, record_property):
    """LSOA 2011 ranks to LAD 2019, weighted by File 6 (mid-2015, excluding prisoners), the
    denominators MHCLG used: the definitions, not the weights, are what is tested here."""
    rows = xlsx_rows(DEPRIVATION / "IoD2019_File10_LAD19_Summaries_lower_tier.xlsx", "IMD")
    assert rows[0][2].strip() == "IMD - Average rank" and rows[0][10].strip() == "IMD 2019 - Local concentration"
    theirs = {r[0]: r for r in rows[1:] if r and r[0]}
    assert len(theirs) == 317
    args = {"from_vintage": "LSOA11", "to_vintage": "LAD19", "weight": "population-mid-2015-total"}
    worst = {}
    for method, col in (("average_rank", 2), ("extent", 8), ("local_concentration", 10)):
        response = api.get(AGG.format("iod2019-imd-rank"), {**args, "method": method})
        assert response.status_code == 200, response.content
        ours = by_code(response.json())
        diffs = [abs(ours[code]["value"] - float(p[col])) for code, p in theirs.items()]
        ranks = [abs(ours[code]["rank"] - int(p[col + 1])) for code, p in theirs.items()]
        worst[method] = (max(diffs), max(ranks), sum(r == 0 for r in ranks))
        print(f"\nIoD 2019 {method}: largest difference {max(diffs):.6g}, ranks exact for {worst[method][2]} of 317, "
              f"largest rank difference {max(ranks)}")
        record_property(f"iod2019_{method}", repr(worst[method]))
    # Extent to the published 4 places (percentile = ceil(100 r / N)), every rank exact.
    assert worst["extent"][0] < 0.0001 and worst["extent"][2] == 317
    assert worst["average_rank"][0] < 0.2 and worst["average_rank"][2] == 317
    assert worst["local_concentration"][0] < 0.2 and worst["local_concentration"][1] <= 1


def test_combined_authorities_of_2024_from_their_districts(api):
    """No hierarchy links LSOA 2021 to CAUTH24: the LAD24 districts' representative points in the
    CAUTH24 boundaries do. Every measure that is a population-weighted mean of its parts must equal
    the mean of the district figures, weighted by their populations."""
    population = by_code(api.get(AGG.format("population-census-2021"),
                                 {"from_vintage": "LSOA21", "to_vintage": "LAD24"}).json())
    lsoas = by_code(api.get(AGG.format("iod2025-imd-decile"), {"from_vintage": "LSOA21", "to_vintage": "LAD24"}).json())
    for method in ("average_rank", "average_score", "extent", "share_in_category", "local_concentration"):
        body = summary(api, method, to_vintage="CAUTH24")
        assert body["via"] == "LAD24"
        cas = by_code(body)
        assert len(cas) == 11 and sorted(r["rank"] for r in cas.values()) == list(range(1, 12))
        assert {r["rank_of"] for r in cas.values()} == {11} and all(r["coverage"] == 1.0 for r in cas.values())
        gm = cas["E47000001"]
        assert (gm["area_name"], gm["children_used"]) == ("Greater Manchester", sum(lsoas[d]["children_used"] for d in GM))
        assert gm["published_value"] is None  # MHCLG publishes no combined-authority summaries
        if method == "local_concentration":
            continue  # the most deprived tenth of a whole is not a mean of its parts' tenths
        districts = by_code(summary(api, method))
        weights = ({d: lsoas[d]["children_used"] for d in GM} if method == "share_in_category"
                   else {d: population[d]["value"] for d in GM})
        expected = sum(districts[d]["value"] * weights[d] for d in GM) / sum(weights.values())
        # Both sides are rounded to the method's places (docs/indicators.md, "Precision"): within one unit of the last.
        places = {"average_rank": 2, "average_score": 3, "extent": 4, "share_in_category": 4}[method]
        assert gm["value"] == pytest.approx(expected, abs=10 ** -places), method
    # Ranked among the 11, the most deprived (highest average rank) first.
    ranked = sorted(summary(api, "average_rank", to_vintage="CAUTH24")["results"], key=lambda r: r["rank"])
    assert all(a["value"] > b["value"] for a, b in zip(ranked, ranked[1:], strict=False))


def test_post_2023_districts_from_lsoa_2011_data(api):
    """IoD 2019 (LSOA 2011) on 2024 boundaries, which MHCLG never published: through LAD21, whose
    districts lie whole inside the merged ones. Cumberland is Allerdale, Carlisle and Copeland."""
    args = {"from_vintage": "LSOA11", "weight": "population-mid-2015-total"}
    new = api.get(AGG.format("iod2019-imd-rank"), {**args, "to_vintage": "LAD24", "method": "average_rank"}).json()
    assert new["via"] == "LAD21"
    districts = {c: r for c, r in by_code(new).items() if r["value"] is not None}  # England's: IoD is English
    cumberland = districts["E06000063"]
    assert len(districts) == 296 and cumberland["rank_of"] == 296 and cumberland["children_used"] == 177
    old = by_code(api.get(AGG.format("iod2019-imd-rank"), {**args, "to_vintage": "LAD21", "method": "average_rank"}).json())
    people = by_code(api.get(AGG.format("population-mid-2015-total"),
                             {"from_vintage": "LSOA11", "to_vintage": "LAD21"}).json())
    parts = ["E07000026", "E07000028", "E07000029"]
    expected = sum(old[p]["value"] * people[p]["value"] for p in parts) / sum(people[p]["value"] for p in parts)
    assert cumberland["value"] == pytest.approx(expected, abs=0.01)  # average ranks are given to 2 places
    assert districts["E06000001"]["value"] == pytest.approx(old["E06000001"]["value"], rel=1e-12)  # unchanged



def test_a_custom_area_of_manchesters_lsoas_is_manchester(api, client, manchester):
    url = f"/api/v1/custom-areas/{manchester}/observations/"
    for method, (slug, _, _) in IOD2025.items():
        params = {"indicator": slug, "method": method}
        if method != "share_in_category":
            params["weight"] = "population-census-2021"
        response = api.get(url, params)
        assert response.status_code == 200, response.content
        (mine,) = response.json()["results"]
        district = by_code(summary(api, method, parent="E08000003"))["E08000003"]
        assert mine["value"] == pytest.approx(district["value"], rel=1e-12), method
        assert (mine["method"], mine["children_used"], mine["rank"], mine["published_value"]) == (method, 295, None, None)
    # The weight defaults to the IoD 2025 dataset's own (Census 2021), for ranks too; GraphQL agrees.
    rest = api.get(url, {"indicator": "iod2025-imd-rank", "method": "local_concentration"}).json()["results"][0]
    assert rest["weight_indicator"] == "population-census-2021"
    body = gql(client, """query($id: ID!) { customArea(id: $id) { observations(indicator: "iod2025-imd-rank",
        method: "local_concentration") { value childrenUsed rank } } }""", {"id": manchester})
    assert body["data"]["customArea"]["observations"] == [{"value": rest["value"], "childrenUsed": 295, "rank": None}]
    refused = gql(client, """query($id: ID!) { customArea(id: $id) { observations(indicator: "iod2025-imd-decile",
        method: "sum") { value } } }""", {"id": manchester})
    assert "deciles are categories" in refused["errors"][0]["message"]


def test_published_counts_beside_the_sum_of_lsoa_counts(api):
    """Census 2021: LSOA counts are perturbed for disclosure control, so their sums differ from the
    published district counts in 325 of the 331 districts of England and Wales."""
    rows = api.get(AGG.format("population-census-2021"), {"from_vintage": "LSOA21", "to_vintage": "LAD22"}).json()
    rows = by_code(rows)
    assert len(rows) == 331 and all(r["published_indicator"] == "population-census-2021-ltla" for r in rows.values())
    assert sum(r["value"] != r["published_value"] for r in rows.values()) == 325
    assert (rows["E06000001"]["value"], rows["E06000001"]["published_value"]) == (92341, 92347)
    assert rows["E06000001"]["rank"] is None  # sums are not ranked


def test_scale_sums_the_numerators(api):
    """Scale is the number of people deprived: the sum of the numerators. The IoD 2025 file has
    scores only, so this test gives its income scores numerators (score x Census 2021 population)."""
    refused = api.get(AGG.format("iod2025-income-score"), {"from_type": "LSOA", "to_type": "LAD", "method": "scale"})
    assert refused.status_code == 400 and "no numerators" in refused.json()["message"]
    income = Indicator.objects.get(slug="iod2025-income-score")
    people = dict(Observation.objects.filter(indicator__slug="population-census-2021", release__is_current=True)
                  .values_list("area_id", "value"))
    scores = list(Observation.objects.filter(indicator=income, release__is_current=True))
    for o in scores:
        o.numerator, o.denominator = round(o.value * people[o.area_id]), people[o.area_id]
    Observation.objects.bulk_update(scores, ["numerator", "denominator"], batch_size=5000)
    body = api.get(AGG.format("iod2025-income-score"), {"from_vintage": "LSOA21", "to_vintage": "LAD24",
                                                        "method": "scale"}).json()
    assert body["weight"] is None and body["min_coverage"] == 1.0
    districts = by_code(body)
    hartlepool = set(AreaAncestor.objects.filter(
        ancestor__code="E06000001", ancestor_vintage__code="LAD24", descendant_vintage__code="LSOA21",
    ).values_list("descendant_id", flat=True))
    expected = sum(o.numerator for o in scores if o.area_id in hartlepool)
    assert districts["E06000001"]["value"] == expected and districts["E06000001"]["children_used"] == 57
    ranked = sorted((r for r in districts.values() if r["rank"] is not None), key=lambda r: r["rank"])
    assert len(ranked) == 296 and all(r["value"] is None for r in districts.values() if r["rank"] is None)
    assert ranked[0]["area_name"] == "Birmingham" and ranked[0]["rank"] == 1 and ranked[0]["rank_of"] == 296
    assert all(a["value"] >= b["value"] for a, b in zip(ranked, ranked[1:], strict=False))


@pytest.mark.parametrize(("slug", "params", "parameter", "says"), [
    # A decile is a category: neither summed nor averaged.
    ("iod2025-imd-decile", {"method": "sum"}, "method", "deciles are categories"),
    ("iod2025-imd-decile", {"method": "average_score"}, "method", "needs a score indicator"),
    # A rank averages only as MHCLG's average rank, which says that it reverses the ranks.
    ("iod2019-imd-rank", {"from_vintage": "LSOA11", "to_vintage": "LAD24", "method": "weighted_mean",
                          "weight": "population-mid-2015-total"}, "method", "method=average_rank"),
    ("iod2025-imd-rank", {}, "indicator", "cannot be summed or averaged"),
    ("iod2025-imd-rank", {"method": "average_score"}, "method", "marked not aggregatable"),
    ("iod2025-imd-score", {"method": "extent"}, "method", "needs a rank indicator, not a score (e.g. iod2025-imd-rank)"),
    ("iod2025-imd-score", {"method": "local_concentration"}, "method", "needs a rank indicator"),
    ("iod2025-imd-rank", {"method": "average_rank", "weight": "iod2025-imd-score"}, "weight", "not a count"),
    ("iod2019-imd-rank", {"from_vintage": "LSOA11", "to_vintage": "LAD24", "method": "extent"}, "weight",
     "weight=population-mid-2015-total"),
    ("iod2025-income-score", {"method": "scale", "weight": "population-census-2021"}, "weight", "takes no weight"),
    ("iod2025-imd-rank", {"method": "extent", "to_vintage": "LAD19"}, "to_vintage", "not linked to LAD19"),
    ("iod2025-imd-rank", {"method": "median"}, "method", "median"),
])
def test_refusals_still_refuse(api, slug, params, parameter, says):
    response = api.get(AGG.format(slug), {"from_type": "LSOA", "to_type": "LAD", **params})
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["parameter"] == parameter and says in body["message"], body


def test_graphql_gives_the_same_summaries(api, client):
    rest = by_code(summary(api, "extent", parent="E08000003"))["E08000003"]
    body = gql(client, """{ aggregate(indicator: "iod2025-imd-rank", fromVintage: "LSOA21", toVintage: "CAUTH24",
        method: "extent", weight: "population-census-2021") { method via rankOrder rows { areaCode rank rankOf } } }""")
    agg = body["data"]["aggregate"]
    assert (agg["method"], agg["via"], agg["rankOrder"], len(agg["rows"])) == ("extent", "LAD24", "1 = highest value", 11)
    body = gql(client, """{ aggregate(indicator: "iod2025-imd-rank", fromVintage: "LSOA21", toVintage: "LAD24",
        method: "extent", parent: "E08000003") { rows { value rank rankOf publishedValue publishedIndicator } } }""")
    assert body["data"]["aggregate"]["rows"] == [{
        "value": rest["value"], "rank": rest["rank"], "rankOf": 296, "publishedValue": 0.5877,
        "publishedIndicator": "iod2025-imd-lad-extent"}]
    error = gql(client, '{ aggregate(indicator: "iod2025-imd-decile", fromType: "LSOA", toType: "LAD", '
                        'method: "sum") { method } }')
    assert error["errors"][0]["extensions"]["parameter"] == "method"


def test_summaries_take_a_fixed_number_of_queries(api, django_assert_num_queries):
    # One aggregation statement whatever the method: the rest is parameters, periods and names.
    for parent in ("E12000002", "E12000007"):  # 35 and 33 districts, ranked among all 296: the same count
        with django_assert_num_queries(10):
            rows = summary(api, "local_concentration", parent=parent)["results"]
        assert {r["rank_of"] for r in rows} == {296}


# -- the summaries a profile and a custom area offer (summaries=true) ----------------------------
PROFILE = "/api/v1/areas/{}/profile/"
OFFERED = [(slug, method) for method, (slug, _, _) in IOD2025.items()] + [
    ("iod2019-imd-rank", "average_rank"), ("iod2019-imd-decile", "share_in_category"),
    ("iod2019-imd-rank", "extent"), ("iod2019-imd-rank", "local_concentration")]


def offered(api, code: str) -> list[dict]:
    response = api.get(PROFILE.format(code), {"summaries": "true"})
    assert response.status_code == 200, response.content
    return response.json()["deprivation_summaries"]


def test_a_combined_authoritys_profile_offers_the_summaries_nobody_publishes(api):
    rows = offered(api, "E47000001")  # Greater Manchester
    assert [(r["indicator"], r["method"]) for r in rows] == OFFERED
    first = rows[0]
    assert (first["value"], first["rank"], first["to_vintage"], first["published_value"]) == (
        20926.32, 3, "CAUTH25", None)
    # Each is the figure, and the rank, the aggregate call it names gives for the area.
    for row in rows:
        response = api.get(row["api"])
        assert response.status_code == 200, (row["api"], response.content)
        (same,) = [r for r in response.json()["results"] if r["area_code"] == "E47000001"]
        assert {k: row[k] for k in same} == same, row["api"]
        assert row["value"] is not None and row["rank_of"] == len(response.json()["results"]), row
    assert "deprivation_summaries" not in api.get(PROFILE.format("E47000001")).json()  # only when asked


def test_a_districts_profile_summaries_stand_beside_mhclgs_figures(api):
    rows = {(r["indicator"], r["method"]): r for r in offered(api, "E06000009")}  # Blackpool
    average = rows["iod2025-imd-rank", "average_rank"]
    assert (average["value"], average["published_value"], average["published_indicator"], average["rank"],
            average["rank_of"], average["to_vintage"]) == (
        26501.81, 26536.86, "iod2025-imd-lad-average-rank", 1, 296, "LAD24")
    concentration = rows["iod2025-imd-rank", "local_concentration"]
    assert concentration["value"] == concentration["published_value"] == 33748.14
    # IoD 2019 on the districts of 2024, from LSOA 2011 and File 6's mid-2015 populations: nobody publishes it.
    old = rows["iod2019-imd-rank", "average_rank"]
    assert (old["weight_indicator"], old["rank_of"], old["published_value"]) == ("population-mid-2015-total", 296, None)


def test_a_small_area_has_no_summary_and_csv_says_where_they_are(api):
    assert offered(api, "E01005173") == []  # an LSOA is what the summaries are made of
    refused = api.get(PROFILE.format("E06000009"), {"summaries": "true", "format": "csv"})
    assert refused.status_code == 400 and refused.json()["parameter"] == "summaries"
    assert "format=csv to the `api` call" in refused.json()["message"]


def test_a_custom_areas_summaries_are_its_districts(api, client, manchester):
    url = f"/api/v1/custom-areas/{manchester}/observations/"
    response = api.get(url, {"indicator": "iod2025-imd-score", "summaries": "true"})
    assert response.status_code == 200, response.content
    mine = response.json()["deprivation_summaries"]
    district = {(r["indicator"], r["method"]): r for r in offered(api, "E08000003")}
    # The custom area is on LSOA 2021, so it gets the IoD 2025 summaries, each Manchester's, unranked.
    assert [(r["indicator"], r["method"]) for r in mine] == OFFERED[:5]
    for row in mine:
        same = district[row["indicator"], row["method"]]
        assert (row["value"], row["children_used"], row["rank"]) == (same["value"], 295, None), row["method"]
    body = gql(client, """query($id: ID!) { customArea(id: $id) { deprivationSummaries { method value } } }""",
               {"id": manchester})
    assert body["data"]["customArea"]["deprivationSummaries"] == [
        {"method": r["method"], "value": r["value"]} for r in mine]


def test_graphql_offers_an_areas_summaries(api, client):
    rest = offered(api, "E12000002")  # North West
    body = gql(client, '{ area(code: "E12000002") { deprivationSummaries { indicator method value rank rankOf '
                       'toVintage api } } }')
    assert body["data"]["area"]["deprivationSummaries"] == [
        {"indicator": r["indicator"], "method": r["method"], "value": r["value"], "rank": r["rank"],
         "rankOf": r["rank_of"], "toVintage": r["to_vintage"], "api": r["api"]} for r in rest]
    assert [r["rank_of"] for r in rest] == [9] * 9

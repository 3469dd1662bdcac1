"""GraphQL geography queries: the same answers as REST, and fixed query counts."""

import pytest

from tests.clients import REQUEST_OVERHEAD, gql

pytestmark = pytest.mark.django_db


def test_area_by_code_with_predecessors(client):
    body = gql(client, '{ area(code: "E06000063") { name predecessors { area { code } changeType effectiveDate } } }')
    area = body["data"]["area"]
    assert area["name"] == "Cumberland"
    assert sorted(p["area"]["code"] for p in area["predecessors"]) == ["E07000026", "E07000028", "E07000029"]
    assert {p["changeType"] for p in area["predecessors"]} == {"merged"}
    assert {p["effectiveDate"] for p in area["predecessors"]} == {"2023-04-01"}


def test_the_issue_query_works_as_written(client):
    body = gql(client, '{ area(code: "E06000063") { name predecessors { code } } }')
    assert body == {"data": {"area": {"name": "Cumberland", "predecessors": [
        {"code": "E07000026"}, {"code": "E07000028"}, {"code": "E07000029"}]}}}


def test_ended_code_in_graphql(client):
    area = gql(client, '{ area(code: "E07000026") { status activeTo successors { area { code name } } } }')["data"]["area"]
    assert area == {"status": "terminated", "activeTo": "2023-03-31",
                    "successors": [{"area": {"code": "E06000063", "name": "Cumberland"}}]}


def test_unknown_area_is_null(client):
    assert gql(client, '{ area(code: "E99999999") { name } }')["data"]["area"] is None


CHILDREN = """query($code: String!) { area(code: $code) {
  children(vintage: "LAD22") { code name parents { vintage code type } successors { code name } } } }"""


def test_region_children_with_parents_and_successors_in_fixed_queries(client, django_assert_num_queries):
    # graphql-core: 1 area + 1 vintage lookup + 1 children + 1 parents + 1 successors, whatever the
    # number of children.
    with django_assert_num_queries(5 + REQUEST_OVERHEAD):
        north_west = gql(client, CHILDREN, {"code": "E12000002"}, path="resolved")["data"]["area"]["children"]
    # Compiled (the vintage's lookup cached by then): one statement.
    with django_assert_num_queries(1 + REQUEST_OVERHEAD):
        north_east = gql(client, CHILDREN, {"code": "E12000001"})["data"]["area"]["children"]
    assert len(north_west) == 39 and len(north_east) == 12
    allerdale = next(c for c in north_west if c["code"] == "E07000026")
    assert allerdale["successors"] == [{"code": "E06000063", "name": "Cumberland"}]
    assert {"vintage": "LAD22", "code": "E12000002", "type": "RGN"} in allerdale["parents"]


def test_areas_connection_uses_the_shared_filterset(client, django_assert_num_queries):
    query = """{ areas(type: "LAD", vintage: "LAD23", first: 400) { totalCount edges { node { code vintages { code } } } } }"""
    with django_assert_num_queries(4 + REQUEST_OVERHEAD):  # the vintage (its type with it), count, page, prefetch
        body = gql(client, query, path="resolved")
    with django_assert_num_queries(1 + REQUEST_OVERHEAD):  # compiled: one statement
        assert gql(client, query) == body
    assert body["data"]["areas"]["totalCount"] == 361
    assert len(body["data"]["areas"]["edges"]) == 361


def test_filter_errors_name_the_parameter(client):
    body = gql(client, '{ areas(vintage: "LAD99") { totalCount } }')
    assert "vintage" in body["errors"][0]["message"] and "LAD99" in body["errors"][0]["message"]
    body = gql(client, '{ area(code: "E08000003") { children(vintage: "NOPE") { code } } }')
    assert body["errors"][0]["extensions"]["parameter"] == "vintage"


def test_boundary_and_ancestors(client):
    area = gql(client, '{ area(code: "E01005061") { ancestors { area { code } vintage } '
                       'boundary(simplify: 0.0001) } }')["data"]["area"]
    assert {"E02001062", "E08000003", "E12000002", "E92000001"} <= {a["area"]["code"] for a in area["ancestors"]}
    assert area["boundary"]["type"] == "Feature" and area["boundary"]["properties"]["vintage"] == "LSOA21"


def test_relay_id_filter(client):
    node_id = gql(client, '{ areas(q: "Cumberland", vintage: "LAD23") { edges { node { id code } } } }')
    first = node_id["data"]["areas"]["edges"][0]["node"]
    again = gql(client, "query($id: ID) { areas(id: $id) { edges { node { code } } } }", {"id": first["id"]})
    assert again["data"]["areas"]["edges"][0]["node"]["code"] == first["code"] == "E06000063"

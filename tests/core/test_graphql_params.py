"""GraphQL arguments go through the same declarations as REST (levelup_api.core.params): the same
types, bounds and messages, and a problem is a GraphQL error naming the argument, with the
standard code and the field's path."""

import pytest

from tests.clients import gql  # both paths, compared (graphql-core reports every one of these errors)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("query,parameter,path,says", [
    ('{ areas(type: "NOPE") { totalCount } }', "type", ["areas"], "unknown area type NOPE"),
    ('{ areas(type: "LSOA", vintage: "LAD23") { totalCount } }', "vintage", ["areas"], "LAD23 is a LAD vintage"),
    ('{ observations(indicator: "nope") { totalCount } }', "indicator", ["observations"], "unknown indicator(s) nope"),
    ('{ observations(indicator: "gross-median-weekly-pay", period: "latest-999") { totalCount } }', "period",
     ["observations"], "latest-N goes back at most 50"),
    ('{ area(code: "E06000009") { children(vintage: "NOPE") { code } } }', "vintage", ["area", "children"],
     "unknown vintage NOPE"),
    ('{ area(code: "E06000009") { boundary(simplify: 2) } }', "simplify", ["area", "boundary"],
     "must be between 0 and 1"),
    ('{ area(code: "E06000009") { similar(n: 0) } }', "n", ["area", "similar"], "must be at least 1"),
    ('{ mission(number: 7) { progress(type: "NOPE") } }', "type", ["mission", "progress"], "unknown area type NOPE"),
    ('{ aggregate(indicator: "iod2025-imd-score", minCoverage: 2) { method } }', "minCoverage", ["aggregate"],
     "must be between 0 and 1"),
])
def test_a_bad_argument_is_an_error_naming_it(client, query, parameter, path, says):
    body = gql(client, query)
    error = body["errors"][0]
    assert error["extensions"] == {"parameter": parameter, "code": "BAD_USER_INPUT"}
    assert error["path"] == path
    assert says in error["message"]


def test_rest_and_graphql_give_the_same_message(client, api):
    rest = api.get("/api/v1/areas/", {"type": "NOPE"}).json()
    graphql = gql(client, '{ areas(type: "NOPE") { totalCount } }')
    assert rest["message"] == graphql["errors"][0]["message"]


def test_the_one_name_and_the_deprecated_one_give_the_same_rows(client):
    new = gql(client, '{ observations(indicator: "gross-median-weekly-pay", type: "RGN", period: "latest") '
                      '{ totalCount edges { node { areaCode value } } } }')
    old = gql(client, '{ observations(indicator: "gross-median-weekly-pay", areaType: "RGN", period: "latest") '
                      '{ totalCount edges { node { areaCode value } } } }')
    assert new["data"] == old["data"]
    assert new["data"]["observations"]["totalCount"] == 9  # the nine English regions
    progress = gql(client, '{ mission(number: 7) { a: progress(type: "LAD", vintage: "LAD23") '
                           'b: progress(areaType: "LAD", vintage: "LAD23") } }')["data"]["mission"]
    assert progress["a"] == progress["b"] and progress["a"]["vintage"] == "LAD23"


def test_deprecated_arguments_are_marked_in_the_schema(client):
    body = gql(client, '{ __type(name: "Query") { fields { name args(includeDeprecated: true) '
                       '{ name isDeprecated deprecationReason } } } }')
    fields = {f["name"]: {a["name"]: a for a in f["args"]} for f in body["data"]["__type"]["fields"]}
    assert fields["observations"]["areaType"]["isDeprecated"] is True
    assert fields["observations"]["type"]["isDeprecated"] is False
    assert fields["indicators"]["areaType"]["deprecationReason"] == "Use `type`."

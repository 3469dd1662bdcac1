"""GraphQL documents are validated by graphql-core's specified rules and refused over their limits
(size, tokens, fragments, depth, cost, fields, aliases, merged fields), each refusal a GraphQL error
with status 400 that names the limit; fragments are counted wherever they are spread."""

import json

import pytest
from graphql import get_introspection_query

from tests.clients import PATH_HEADER, both_paths_agree

pytestmark = pytest.mark.django_db


def post(client, query: str, variables: dict | None = None):
    response = client.post("/graphql", data=json.dumps({"query": query, "variables": variables or {}}),
                           content_type="application/json")
    if response.get(PATH_HEADER) == "compiled":  # the same document as graphql-core's
        both_paths_agree(client, query, variables, response)
    return response


def refusal(response) -> list[dict]:
    """The errors of a refused request: status 400, a GraphQL body with errors and no data."""
    assert response.status_code == 400, response.content[:500]
    body = response.json()
    assert "data" not in body and body["errors"], body
    return body["errors"]


def doubling(times: int, fields: str = "missions { number }") -> str:
    """F1 spreads F0 twice, F2 spreads F1 twice, ...: the operation asks for `fields` 2^times times."""
    query = f"query {{ ...F{times} }}\nfragment F0 on Query {{ {fields} }}\n"
    return query + "".join(f"fragment F{i} on Query {{ ...F{i - 1} ...F{i - 1} }}\n" for i in range(1, times + 1))


def nested_successors(levels: int) -> str:
    """`area { successors { area { successors ... } } }` with `levels` fields that have selections."""
    query, close = "{ ", " }"
    for level in range(levels):
        query += 'area(code: "E07000026") { ' if level == 0 else ("successors { " if level % 2 else "area { ")
        close += " }"
    return query + "code" + close


# -- what still works ------------------------------------------------------------------------------


def test_a_normal_query_is_answered(client):
    response = post(client, "{ missions { number } }")
    assert response.status_code == 200
    assert [m["number"] for m in response.json()["data"]["missions"]] == list(range(1, 13))


def test_graphiqls_introspection_query_is_within_the_limits(client):
    query = get_introspection_query(descriptions=True, specified_by_url=True, directive_is_repeatable=True,
                                    schema_description=True, input_value_deprecation=True)
    response = post(client, query)
    assert response.status_code == 200, response.content[:500]
    schema = response.json()["data"]["__schema"]
    assert schema["queryType"]["name"] == "Query"
    assert "Area" in {t["name"] for t in schema["types"]}


def test_ten_levels_are_answered_and_eleven_refused_with_graphenes_message(client):
    response = post(client, nested_successors(10))
    assert response.status_code == 200
    # Allerdale's successor is Cumberland, which has none.
    assert response.json()["data"] == {"area": {"successors": [{"area": {"successors": []}}]}}
    [error] = refusal(post(client, nested_successors(11)))
    assert error["message"] == "'anonymous' exceeds maximum operation depth of 10."
    assert error["extensions"] == {"code": "DEPTH_LIMIT", "limit": 10, "actual": 11}


# -- the specified rules -------------------------------------------------------------------------


def test_an_unknown_field_is_a_validation_error_naming_it(client):
    [error] = refusal(post(client, "{ missionz { number } }"))
    assert error["message"].startswith("Cannot query field 'missionz' on type 'Query'.")
    assert "missions" in error["message"]  # the suggestion
    assert error["locations"] == [{"line": 1, "column": 3}]
    assert error["extensions"] == {"code": "GRAPHQL_VALIDATION_FAILED"}


def test_the_same_over_get(client):
    [error] = refusal(client.get("/graphql", {"query": "{ missionz { number } }"}))
    assert "'missionz'" in error["message"]
    response = client.get("/graphql", {"query": "{ missions { number } }"})
    assert response.status_code == 200 and len(response.json()["data"]["missions"]) == 12
    errors = refusal(client.get("/graphql", {"query": doubling(20)}))
    assert {e["extensions"]["code"] for e in errors} == {"COST_LIMIT", "FIELD_LIMIT"}
    # The schema has no mutations: POSTed, one is a validation error; over GET, the method is wrong.
    [error] = refusal(post(client, "mutation { x }"))
    assert error["message"] == "Schema is not configured to execute mutation operation."
    response = client.get("/graphql", {"query": "mutation { x }"})
    assert response.status_code == 405
    assert response.json()["errors"][0]["message"] == "Can only perform a mutation operation from a POST request."


def test_a_fragment_cycle_is_a_validation_error(client):
    errors = refusal(post(client, "query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }"))
    assert [e["message"] for e in errors] == ["Cannot spread fragment 'A' within itself via 'B'."]
    # A fragment that spreads itself, inside a field.
    errors = refusal(post(client, "{ missions { ...M } } fragment M on MissionType { number ...M }"))
    assert [e["message"] for e in errors] == ["Cannot spread fragment 'M' within itself."]


def test_a_syntax_error_is_a_parse_error(client):
    [error] = refusal(post(client, "{ missions { number }"))
    assert error["message"].startswith("Syntax Error: Expected Name, found <EOF>.")
    assert error["extensions"] == {"code": "GRAPHQL_PARSE_FAILED"}


# -- the limits ----------------------------------------------------------------------------------


@pytest.mark.parametrize("times", [20, 30])
def test_a_small_document_doubling_a_fragment_is_refused(client, times):
    query = doubling(times)
    assert len(query) < 1300  # 0.8 KB for 20 doublings, 1.2 KB for 30
    errors = refusal(post(client, query))
    by_code = {e["extensions"]["code"]: e for e in errors}
    assert set(by_code) == {"COST_LIMIT", "FIELD_LIMIT"}
    fields = 2 * 2**times  # missions and number, 2^times times
    assert by_code["FIELD_LIMIT"]["message"] == (
        f"'anonymous' asks for {fields:,} fields, counting each fragment wherever it is spread (limit 1,000); "
        "ask for fewer fields or spread fewer fragments")
    assert by_code["FIELD_LIMIT"]["extensions"] == {"code": "FIELD_LIMIT", "limit": 1000, "actual": fields}
    # 12 missions, each with its number: 24 field values per copy.
    assert by_code["COST_LIMIT"]["message"].startswith(f"query too costly: about {24 * 2**times:,} field values "
                                                       "(limit 500,000)")


def test_the_cost_estimate_multiplies_through_lists_and_fragments_alike(client):
    inline = "{ areas(first: 1000) { edges { node { children { code } } } } }"
    spread = "{ areas(first: 1000) { edges { node { ...C } } } } fragment C on Area { children { code } }"
    for query in (inline, spread):
        # areas 1,000 x (itself + edges 1 x (itself + node 1 x (itself + children 1,000 x (itself + code))))
        [error] = refusal(post(client, query))
        assert error["message"] == (
            "query too costly: about 2,003,000 field values (limit 500,000); ask for fewer items (first/last), "
            "fewer nested lists, or use the REST CSV endpoints for bulk data")
    # A negative page counts as no items, not as fewer than none.
    [error] = refusal(post(client, '{ a: areas(first: -1000000) { totalCount } '
                                   'b: areas(first: 1000) { edges { node { children { code } } } } }'))
    assert error["extensions"]["code"] == "COST_LIMIT" and error["extensions"]["actual"] == 2_003_000


def test_two_thousand_aliases_are_refused_by_size_then_tokens_then_aliases(client, settings):
    query = "{ " + " ".join(f"a{i}: missions {{ number }}" for i in range(2000)) + " }"
    [error] = refusal(post(client, query))
    size = len(query.encode())
    assert error["message"] == (f"query too large: {size:,} bytes (limit 20,000); send a smaller document, "
                                "with variables for long values")
    assert error["extensions"] == {"code": "QUERY_TOO_LARGE", "limit": 20000, "actual": size}

    settings.LEVELUP = {**settings.LEVELUP, "GRAPHQL_MAX_QUERY_BYTES": 100_000}
    [error] = refusal(post(client, query))
    assert error["message"] == "Syntax Error: Document contains more than 2000 tokens. Parsing aborted."

    settings.LEVELUP = {**settings.LEVELUP, "GRAPHQL_MAX_TOKENS": 20_000}
    errors = refusal(post(client, query))
    by_code = {e["extensions"]["code"]: e["message"] for e in errors}
    assert by_code["ALIAS_LIMIT"] == ("'anonymous' has 2,000 aliases, counting each fragment wherever it is spread "
                                      "(limit 100)")
    assert "4,000 fields" in by_code["FIELD_LIMIT"]


def test_aliases_hidden_in_a_fragment_count_where_it_is_spread(client):
    fragment = "fragment M on Query { " + " ".join(f"m{i}: missions {{ number }}" for i in range(30)) + " }"
    assert post(client, "{ ...M } " + fragment).status_code == 200
    [error] = refusal(post(client, "query Dashboard { ...M a: __typename ...M ...M ...M } " + fragment))
    assert error["message"].startswith("'Dashboard' has 121 aliases")
    assert error["locations"] == [{"line": 1, "column": 1}]


def test_a_field_merged_more_than_ten_times_is_refused(client):
    assert post(client, "{ " + "missions { number } " * 10 + "}").status_code == 200
    [error] = refusal(post(client, "{ " + "missions { number } " * 11 + "}"))
    assert error["message"] == ("'anonymous' asks for 'missions' 11 times, counting each fragment wherever it is "
                                "spread (limit 10); ask for each field once")
    assert error["extensions"] == {"code": "REPEAT_LIMIT", "limit": 10, "actual": 11, "path": "missions"}
    # Merged across the fields that share a response name: 4 x 3 numbers at missions.number.
    [error] = refusal(post(client, "{ " + "missions { number number number } " * 4 + "}"))
    assert error["extensions"]["path"] == "missions.number" and error["extensions"]["actual"] == 12
    # In a fragment no operation spreads, which the specified rules would still compare.
    [error] = refusal(post(client, "{ __typename } fragment X on Query { " + "missions { number } " * 11 + "}"))
    assert error["message"].startswith("fragment 'X' asks for 'missions' 11 times")


def test_too_many_fragments_or_tokens_are_refused(client):
    fragments = " ".join(f"fragment F{i} on Query {{ __typename }}" for i in range(51))
    [error] = refusal(post(client, "{ ...F0 } " + fragments))
    assert error["message"] == "query defines 51 fragments (limit 50)"

    assert error["extensions"] == {"code": "FRAGMENT_LIMIT", "limit": 50, "actual": 51}

    query = "{ " + "a " * 2000 + "}"  # 2,002 tokens in 4 KB
    [error] = refusal(post(client, query))
    assert error["message"] == "Syntax Error: Document contains more than 2000 tokens. Parsing aborted."
    assert error["extensions"] == {"code": "GRAPHQL_PARSE_FAILED"}


def test_fragments_nested_past_two_hundred_levels_are_refused(client, settings):
    settings.LEVELUP = {**settings.LEVELUP, "GRAPHQL_MAX_FRAGMENTS": 1000}
    # F205 spreads F204 ... spreads F0: 207 selection sets deep, in 1,650 tokens.
    chain = " ".join(f"fragment F{i} on Query {{ ...F{i - 1} }}" for i in range(1, 206))
    [error] = refusal(post(client, "{ ...F205 } fragment F0 on Query { __typename } " + chain))
    assert error["message"] == "query nests selections more than 200 levels deep, counting fragments"
    assert error["extensions"] == {"code": "NESTING_LIMIT", "limit": 200}


def test_a_query_that_is_not_a_string_is_refused(client):
    response = client.post("/graphql", data=json.dumps({"query": ["{ missions { number } }"]}),
                           content_type="application/json")
    [error] = refusal(response)
    assert error["message"] == "the query must be a string"


def test_a_statement_stopped_by_the_timeout_says_so_without_postgresql_words(client, settings):
    settings.LEVELUP = {**settings.LEVELUP, "GRAPHQL_STATEMENT_TIMEOUT_MS": 1}
    response = post(client, '{ observations(indicator: "iod2025-imd-score", type: "LSOA", first: 1000) '
                            '{ totalCount edges { node { areaCode value } } } }')
    errors = response.json()["errors"]
    assert errors[0]["message"].startswith("the query was stopped after 1 ms")
    assert errors[0]["extensions"] == {"code": "INTERNAL_SERVER_ERROR"}
    text = response.content.decode().lower()
    assert "canceling statement" not in text and "statement_timeout" not in text and "sql" not in text

"""GraphQL fuzzing: queries built at random from the schema itself (every root field, arguments
of every scalar type with hostile values, nested selections), plus malformed documents. The
server must answer every one with JSON and never with a 5xx, and a query it answers on the compiled
path with the same document as graphql-core's."""

import json

import pytest
from graphql import GraphQLEnumType, GraphQLNonNull, GraphQLObjectType, GraphQLScalarType, get_named_type
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from levelup_api.schema import schema
from tests.clients import PATH_HEADER, both_paths_agree

pytestmark = pytest.mark.django_db

SCHEMA = schema.graphql_schema
STRINGS = st.sampled_from(["E06000009", "E08000003", "E01005061", "LSOA", "LAD", "LAD23", "iod2025-imd-score",
                           "latest", "2021", "", " ", "x" * 300, "é\u2028", "E99999999", "0", "-1", "null", "\\",
                           "'; DROP TABLE x; --", "%", "E06000009,E08000003"]) | st.text(max_size=12)
INTS = st.sampled_from([0, 1, 2, 5, -1, 100, 1001, 2**31 - 1, -(2**31)])
FLOATS = st.sampled_from([0.0, 0.5, 1.0, -1.0, 1e9, 53.48])


def literal(draw, type_):
    named = get_named_type(type_)
    if isinstance(named, GraphQLEnumType):
        return draw(st.sampled_from(list(named.values)))
    if isinstance(named, GraphQLScalarType):
        value = {"Int": INTS, "Float": FLOATS, "Boolean": st.booleans()}.get(named.name, STRINGS)
        return json.dumps(draw(value))
    return '""'


@st.composite
def selection(draw, type_, depth):
    named = get_named_type(type_)
    if not isinstance(named, GraphQLObjectType):
        return ""
    fields = list(named.fields.items())
    picked = draw(st.lists(st.sampled_from(fields), min_size=1, max_size=3, unique_by=lambda f: f[0]))
    parts = []
    for name, field in picked:
        args = []
        for arg_name, arg in field.args.items():
            if isinstance(arg.type, GraphQLNonNull) or draw(st.booleans()):
                args.append(f"{arg_name}: {literal(draw, arg.type)}")
        inner = get_named_type(field.type)
        sub = ""
        if isinstance(inner, GraphQLObjectType):
            if depth >= 3:
                continue
            sub = draw(selection(inner, depth + 1)) or "__typename"
            sub = "{ " + sub + " }"
        parts.append(name + (f"({', '.join(args)})" if args else "") + (" " + sub if sub else ""))
    return " ".join(parts) or "__typename"


QUERIES = st.builds(lambda s: "{ " + s + " }", selection(SCHEMA.query_type, 0))
GARBAGE = st.sampled_from(["{", "}", "{ area }", "{ nope }", "query { area(code: 1) { code } }", "mutation { x }",
                           "{ area(code: \"E06000009\") { code code code } }", "", "{ __schema { types { name } } }",
                           "query($c: String!) { area(code: $c) { code } }"]) | st.text(max_size=40)


def post(client, query):
    response = client.post("/graphql", json.dumps({"query": query}), content_type="application/json")
    assert response.status_code < 500, (query, response.content[:300])
    assert isinstance(response.json(), dict)
    if response.get(PATH_HEADER) == "compiled":  # hostile arguments too: the same document as graphql-core's
        both_paths_agree(client, query, None, response)


@settings(max_examples=300, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(query=QUERIES)
def test_random_valid_queries_never_fail_the_server(client, query):
    post(client, query)


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=GARBAGE)
def test_malformed_queries_are_clean_errors(client, query):
    post(client, query)

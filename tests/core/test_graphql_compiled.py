"""GraphQL compiled to SQL (levelup_api/core/graphql_sql.py): which documents compile and which go
to graphql-core, what a compiled one costs, and that either way the document is the one graphql-core
writes. gql() (tests/clients.py) answers every document both ways and compares them, here and in
every GraphQL test; these tests also say which path answered (the X-GraphQL-Path header)."""

import json

import pytest
from django.db import connection
from graphql import get_operation_ast, parse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geographies.models import Vintage
from indicators.models import Observation
from levelup_api.core.graphql_sql import document_key
from levelup_api.schema import compiled
from tests.builders import levelup
from tests.clients import PATH_HEADER, PATHS, REQUEST_OVERHEAD, canonical, gql, post
from tests.geographies.test_graphql import CHILDREN
from tests.indicators.test_graphql import CHILD_VALUES

pytestmark = pytest.mark.django_db

THREE = "iod2025-imd-score,iod2025-income-score,population-census-2021"
AREA_FIELDS = "id code name nameCy entity activeFrom activeTo type status __typename"

# The hot shapes: each is answered by one statement.
COMPILED = {
    "the issue's query: a district's LSOAs with three indicators' latest values": (CHILD_VALUES, {"code": "E08000003"}),
    "three aliased observations per child, with variables": (
        """query($code: String!, $vintage: String, $latest: String) { area(code: $code) {
             children(type: "LSOA", vintage: $vintage) { code name
               score: observations(indicator: "iod2025-imd-score", period: $latest) { value period { label } }
               income: observations(indicator: "iod2025-income-score", period: $latest) { value }
               people: observations(indicator: "population-census-2021", period: "latest") { value status } } } }""",
        {"code": "E08000003", "vintage": "LSOA21", "latest": "latest"}),
    "a region's districts with their parents and successors": (CHILDREN, {"code": "E12000002"}),
    "profiles at both levels, from the profile facts": (
        """{ area(code: "E06000009") { profile { indicator value comparisonLevel regionComparison trend missions }
             strict: profile(level: "99.8") { indicator regionCode comparisonMethod comparisonLevel
               nationalComparison trend trendMethod } } }""", None),
    "the areas list, paged, with cursors and page info": (
        """{ areas(type: "LAD", vintage: "LAD23", first: 5, offset: 3) { totalCount __typename
             edges { cursor node { code name type vintages { code } } }
             pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }""", None),
    "the areas list after a cursor, searched": (
        '{ areas(q: "manchester", first: 3, after: "YXJyYXljb25uZWN0aW9uOjA=") { totalCount edges { cursor '
        'node { code } } pageInfo { hasNextPage endCursor } } }', None),
    "ancestors, and an LSOA's parents": (
        """{ area(code: "E01005061") { code ancestors { code name type vintage depth fit area { code status } }
             lsoa21: ancestors(vintage: "LSOA21") { code depth } parents { vintage parentVintage type code fit } } }""",
        None),
    "an area with every compiled field of its own": (
        f"""{{ area(code: " e06000063 ") {{ {AREA_FIELDS} areaType {{ code name level entityCodes codePattern }}
             vintages {{ code name effectiveFrom effectiveTo areaCount boundaryCount areaType {{ code }} }}
             boundaryVintages predecessors {{ code name changeType changeCode effectiveDate weight area {{ code }} }}
             successors {{ code }} }} }}""", None),
    "observations with every field, periods by year, label and latest-N": (
        """{ area(code: "E06000009") { observations(indicator: "gross-median-weekly-pay,healthy-life-expectancy-male",
             period: "2021,2019/20,latest-1") { id value lci uci status note areaCode areaName indicatorSlug
             period { iso label type start end duration }
             indicator { slug title unit measure polarity aggregation topics capitals experimental decimalPlaces licence }
             area { code } } } }""", None),
    "observations in every period": (
        '{ area(code: "E06000009") { observations(indicator: "gross-median-weekly-pay") { value period { iso } } } }', None),
    "an unknown area is null": ('{ area(code: "E99999999") { code children { code } } }', None),
    "direct children in the newest vintage": ('{ area(code: "E92000001") { children { code type } } }', None),
}

# Documents for graphql-core: what the compiled path does not write, and every error.
RESOLVED = {
    "a fragment": ('{ area(code: "E08000003") { ...A } } fragment A on Area { code }', None),
    "an inline fragment": ('{ area(code: "E08000003") { ... on Area { code } } }', None),
    "a directive": ('query($no: Boolean!) { area(code: "E08000003") { code name @include(if: $no) } }', {"no": False}),
    "introspection": ('{ __type(name: "Area") { name } }', None),
    "a field asked twice under one key": ('{ area(code: "E08000003") { code code } }', None),
    "series (harmonisation)": ('{ area(code: "E06000063") { series(indicator: "wellbeing-life-satisfaction", '
                               'vintage: "LAD23") { periodIso value flag } } }', None),
    "a boundary": ('{ area(code: "E08000003") { boundary(simplify: 0.01) } }', None),
    "parents of an area reached through a link (unordered there)":
        ('{ area(code: "E01005061") { ancestors { area { parents { code } } } } }', None),
    "the areas list by last": ('{ areas(type: "RGN", last: 2) { edges { node { code } } } }', None),
    "an unknown vintage": ('{ area(code: "E08000003") { children(vintage: "NOPE") { code } } }', None),
    "a type that is not the vintage's": ('{ areas(type: "LSOA", vintage: "LAD23") { totalCount } }', None),
    "a vintage the area is not in (the resolver refuses it per area)":
        ('{ area(code: "E01005061") { ancestors(vintage: "LAD22") { code } } }', None),
    "an unknown indicator (the statement stops)": ('{ area(code: "E08000003") { observations(indicator: '
                                                   '"iod2025-imd-score,nope") { value } } }', None),
    "a period that matches nothing": ('{ area(code: "E08000003") { observations(indicator: "iod2025-imd-score", '
                                      'period: "1850") { value } } }', None),
    "year 0 beside a real year (Django cannot make its date)": (
        '{ area(code: "E06000009") { observations(indicator: "gross-median-weekly-pay", period: "0000,2021") '
        '{ value } } }', None),
    "latest-N too far back": ('{ area(code: "E08000003") { observations(indicator: "iod2025-imd-score", '
                              'period: "latest-51") { value } } }', None),
    "a variable of the wrong type": ('query($c: String!) { area(code: $c) { code } }', {"c": 5}),
    "a page too large": ('{ areas(first: 1001) { totalCount } }', None),
    "mutations (the schema has none)": ("mutation { x }", None),
    "nothing to read": ("{ __typename }", None),
}


@pytest.mark.parametrize("name", COMPILED)
def test_the_hot_shapes_are_compiled(client, name):
    query, variables = COMPILED[name]
    gql(client, query, variables)  # and graphql-core's document is the same
    assert PATHS[-1] == (query, "compiled")


@pytest.mark.parametrize("name", RESOLVED)
def test_everything_else_goes_to_graphql_core(client, name):
    query, variables = RESOLVED[name]
    gql(client, query, variables)
    assert PATHS[-1] == (query, "resolved")


def test_errors_come_from_graphql_core(client):
    body = gql(client, RESOLVED["a vintage the area is not in (the resolver refuses it per area)"][0])
    assert body["data"] == {"area": None}
    assert body["errors"][0]["message"].startswith("E01005061 is not in LAD22")
    assert body["errors"][0]["path"] == ["area", "ancestors"]
    body = gql(client, RESOLVED["an unknown indicator (the statement stops)"][0])
    assert body["errors"][0]["extensions"] == {"parameter": "indicator", "code": "BAD_USER_INPUT"}


@pytest.mark.parametrize("name", ["the issue's query: a district's LSOAs with three indicators' latest values",
                                  "three aliased observations per child, with variables",
                                  "the areas list, paged, with cursors and page info",
                                  "ancestors, and an LSOA's parents"])
def test_a_compiled_request_is_one_statement(client, django_assert_num_queries, name):
    query, variables = COMPILED[name]
    gql(client, query, variables)  # its arguments' lookups (a type, a vintage) are cached from here on
    with django_assert_num_queries(1 + REQUEST_OVERHEAD) as captured:
        gql(client, query, variables)
    assert PATHS[-1] == (query, "compiled")
    [statement] = [q["sql"] for q in captured.captured_queries if "levelup_graphql_fallback" in q["sql"]]
    assert statement.startswith("SELECT ")


def test_the_statement_is_cached_per_shape_prepared_and_its_values_bound(client):
    query = 'query($code: String!, $v: String) { area(code: $code) { code children(vintage: $v) { code } } }'
    operation = get_operation_ast(parse(query))
    key = document_key(query)
    a = compiled.prepare(key, operation, None, {"code": "E12000002", "v": "LAD22"})
    b = compiled.prepare(key, operation, None, {"code": "E12000001", "v": "LAD22"})
    assert a.sql is b.sql  # one shape, one text
    assert "E12000002" not in a.sql and "LAD22" not in a.sql and "E12000002" in a.params.values()
    c = compiled.prepare(key, operation, None, {"code": "E12000002", "v": None})  # a null variable: another shape
    assert c.sql != a.sql
    gql(client, query, {"code": "E12000002", "v": "LAD22"})
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE statement LIKE %s",
                       ["%levelup_graphql_fallback%"])
        prepared = [row[0] for row in cursor.fetchall()]
    assert prepared and all("$1" in text and "E12000002" not in text for text in prepared)


def test_a_binding_whose_row_changed_hands_over_and_is_made_again(client):
    query = '{ area(code: "E12000002") { children(vintage: "LAD22") { code } } }'
    assert len(gql(client, query)["data"]["area"]["children"]) == 39
    assert PATHS[-1][1] == "compiled"
    Vintage.objects.filter(code="LAD22").update(code="LAD22X")  # the cached binding's vintage changes
    body = gql(client, query)
    assert PATHS[-1][1] == "resolved"
    assert body["errors"][0]["extensions"]["parameter"] == "vintage"
    Vintage.objects.filter(code="LAD22X").update(code="LAD22")
    assert len(gql(client, query)["data"]["area"]["children"]) == 39
    assert PATHS[-1][1] == "compiled"


OBSERVATION = '{ area(code: "E01005061") { observations(indicator: "iod2025-imd-score") { value lci uci status } } }'


def _set_value(value) -> None:
    # As text, through float8's own input: Django would write -0.0 as the SQL expression -0.0, which
    # PostgreSQL reads as minus numeric zero, that is 0.
    with connection.cursor() as cursor:
        cursor.execute("UPDATE indicators_observation o SET value = %s::float8, lci = NULL, uci = NULL "
                       "FROM indicators_indicator i, geographies_area a WHERE i.id = o.indicator_id "
                       "AND a.id = o.area_id AND i.slug = 'iod2025-imd-score' AND a.code = 'E01005061'",
                       [None if value is None else repr(value)])


@pytest.mark.parametrize("value", [0.0, -0.0, 1791.0, -3.0, 54.054, 1e16, 9999999999999998.0, 2500000000000000.5,
                                   1.5e-07, 0.0001, 1e300, None])
def test_floats_are_written_as_graphql_core_writes_them(client, value):
    _set_value(value)
    body = gql(client, OBSERVATION)  # the same text as graphql-core's once parsed: 1791.0 stays a float
    assert PATHS[-1][1] == "compiled"
    got = body["data"]["area"]["observations"][0]["value"]
    assert got == value and type(got) is type(value) and str(got) == str(value)


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_a_float_graphql_cannot_write_is_graphql_cores_error(client, value):
    _set_value(value)
    body = gql(client, OBSERVATION)
    assert PATHS[-1][1] == "resolved"
    assert "Float cannot represent non numeric value" in body["errors"][0]["message"]


@pytest.mark.parametrize("status,expected,path", [("", None, "compiled"), ("x", "X", "compiled"),
                                                  ("p", "P", "compiled"), ("z", None, "resolved")])
def test_enums_are_the_schemas_own(client, status, expected, path):
    Observation.objects.filter(area__code="E01005061", indicator__slug="iod2025-imd-score").update(status=status)
    body = gql(client, OBSERVATION)
    assert PATHS[-1][1] == path
    if path == "compiled":
        assert body["data"]["area"]["observations"][0]["status"] == expected
    else:  # a letter the enum does not have: graphql-core's error
        assert "errors" in body


def test_pretty_get_and_the_switch(client):
    query = '{ area(code: "E06000063") { code name vintages { code } } }'
    pretty = [client.post("/graphql?pretty=1", json.dumps({"query": query}), content_type="application/json", **h)
              for h in ({}, {"HTTP_X_GRAPHQL_PATH": "resolved"})]
    assert [r[PATH_HEADER] for r in pretty] == ["compiled", "resolved"]
    assert pretty[0].content == pretty[1].content  # graphene-django's pretty form, byte for byte
    got = client.get("/graphql", {"query": query}, HTTP_ACCEPT="application/json")
    assert got[PATH_HEADER] == "compiled"
    assert canonical(got.json()) == canonical(json.loads(pretty[1].content))
    with levelup(GRAPHQL_COMPILED=False):
        assert post(client, query)[PATH_HEADER] == "resolved"


def test_the_request_log_counts_the_compiled_statement(client, caplog):
    query = '{ area(code: "E06000063") { code } }'
    post(client, query)
    with caplog.at_level("INFO", logger="levelup.requests"):
        response = post(client, query)
    assert response[PATH_HEADER] == "compiled"
    [line] = {r.getMessage() for r in caplog.records if response["X-Request-ID"] in r.getMessage()}
    line = json.loads(line)
    assert line["sql"] == 1 + REQUEST_OVERHEAD and line["status"] == 200


def test_a_compiled_statement_stopped_by_the_timeout_is_graphql_cores_error(client):
    query = '{ areas(type: "LSOA", first: 1000) { totalCount edges { node { code name } } } }'
    gql(client, query.replace("1000", "1"))  # bindings cached: the statement itself meets the timeout
    with levelup(GRAPHQL_STATEMENT_TIMEOUT_MS=1):
        body = gql(client, query)
    assert PATHS[-1][1] == "resolved"
    assert body["errors"][0]["message"].startswith("the query was stopped after 1 ms")


# -- hostile and ordinary arguments at random, on the compiled fields: the same document both ways --
CODES = st.sampled_from(["E08000003", "E06000063", "E01005061", "E12000002", "E07000026", "E99999999",
                         " e06000009 ", "", "%", "x" * 40, "E0800000\u0130"])
TYPES = st.sampled_from(["LSOA", "lsoa", "LAD", "MSOA", "WD", "RGN", "CTRY", "NOPE", " ", "é"])
VINTAGES = st.sampled_from(["LAD22", "lad23", "LSOA21", "LSOA11", "MSOA21", "WD24", "RGN", "UTLA23", "NOPE", ""])
INDICATORS = st.sampled_from(["iod2025-imd-score", THREE, "gross-median-weekly-pay", "population-census-2021,nope",
                              "iod2025-imd-decile, iod2025-imd-score", ",", "", "%", "a" * 300])
PERIODS = st.sampled_from(["latest", "latest-1", "LATEST-2", "latest-51", "2021", "2025-10-30", "2019/20", "0000",
                           "latest,2019", "0000,2021", "2021,2019/20,latest-0", ",", "", "٢٠٢١"])


def _arguments(draw, **choices) -> str:
    given = [f"{name}: {json.dumps(draw(values))}" for name, values in choices.items() if draw(st.booleans())]
    return f"({', '.join(given)})" if given else ""


@st.composite
def area_selection(draw, depth: int) -> str:
    fields = draw(st.lists(st.sampled_from(AREA_FIELDS.split()), min_size=1, max_size=4, unique=True))
    if draw(st.booleans()):
        fields.append("areaType { code level }")
    if depth == 0 and draw(st.booleans()):
        fields.append(f"children{_arguments(draw, type=TYPES, vintage=VINTAGES)} {{ {draw(area_selection(1))} }}")
    if draw(st.booleans()):
        inner = draw(area_selection(2)) if depth == 0 and draw(st.booleans()) else "code"
        fields.append(f"ancestors{_arguments(draw, vintage=VINTAGES)} {{ code type vintage depth fit area {{ {inner} }} }}")
    if depth < 2 and draw(st.booleans()):
        period = f", period: {json.dumps(draw(PERIODS))}" if draw(st.booleans()) else ""
        fields.append(f"observations(indicator: {json.dumps(draw(INDICATORS))}{period}) "
                      "{ value lci status indicatorSlug areaCode period { iso label type } }")
    if depth == 0 and draw(st.booleans()):
        fields.append("parents { code vintage type } vintages { code } boundaryVintages")
    return " ".join(fields)


@st.composite
def compiled_queries(draw) -> str:
    if draw(st.booleans()):
        return f"{{ area(code: {json.dumps(draw(CODES))}) {{ {draw(area_selection(0))} }} }}"
    paging = draw(st.sampled_from(["first: 0", "first: 2", "first: 3, offset: 2", "first: 2, offset: -1",
                                   'first: 2, after: "YXJyYXljb25uZWN0aW9uOjM="', 'first: 2, after: "junk"',
                                   'first: 1, after: "YXJyYXljb25uZWN0aW9uOi01"']))
    filters = _arguments(draw, type=TYPES, vintage=VINTAGES, parent=CODES, q=CODES, activeOn=st.sampled_from(
        ["2022-06-01", "2030-01-01", "2022-13-01", "x"])).strip("()")
    arguments = ", ".join(a for a in (paging, filters) if a)
    return (f"{{ areas({arguments}) {{ totalCount edges {{ cursor node {{ {draw(area_selection(1))} }} }} "
            "pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }")


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(query=compiled_queries())
def test_random_queries_on_the_compiled_fields_say_what_graphql_core_says(client, query):
    gql(client, query)

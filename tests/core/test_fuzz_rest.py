"""Fuzzing every REST operation over real HTTP: schemathesis reads the OpenAPI document from the
gunicorn of tests/live_server.py, sends every operation valid and invalid input from each of its
phases (explicit examples, coverage, fuzzing), and puts every response through all its checks: no
5xx, only documented statuses, content types and headers, bodies that match their schema, valid
input accepted, invalid input refused, writes refused without a token. Then a list of real requests
that generated ones seldom assemble goes through the same checks.

LEVELUP_FUZZ_EXAMPLES is Hypothesis' max_examples for the fuzzing phase (default 200: with the
coverage phase's cases, every operation gets at least 200, which a test asserts). Derandomized:
a run is reproducible. LEVELUP_FUZZ_SEED=N explores other inputs than the derandomized ones;
LEVELUP_FUZZ_CONTINUE=1, when fixing what it finds, reports every failure of an operation, unshrunk,
instead of the first one shrunk."""

from __future__ import annotations

import os
import re
import secrets
from collections import Counter

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# The fuzzer reaches the database only through the live server, which serves the test database:
# this mark makes pytest-django set it up even when the file runs on its own.
pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("LEVELUP_FUZZ_EXAMPLES", "200"))
MIN_CASES = min(200, EXAMPLES)
CONTINUE = os.environ.get("LEVELUP_FUZZ_CONTINUE") == "1"
SEED = int(os.environ["LEVELUP_FUZZ_SEED"]) if os.environ.get("LEVELUP_FUZZ_SEED") else None

# Cases sent per operation label ("GET /api/v1/areas/"), counted by the fuzz test for the next one.
CASES: Counter[str] = Counter()


# What the parameter layer says when one value on its own breaks its declaration
# (levelup_api.core.params, Django's form fields). A schema-valid value must never earn one of
# these: that would be the document and the declaration disagreeing.
SINGLE_VALUE_REFUSALS = re.compile("|".join([
    r"^unknown parameter", r"^unknown field", r"^given more than once", r"^is required$", r"^must be ",
    r"^at most \d+ comma-separated values", r"^Ensure this ", r"^This field ", r"^Not a valid ",
    r"^Enter a valid ", r"^A valid ", r"^Expected a ", r"^Invalid ",
]))


def schema_valid_values_pass_single_value_validation(ctx, response, case):
    """A schema-valid (positive) case may still be refused with 400 for what a schema cannot say:
    a code, slug or vintage that does not exist, or values that do not go together (`type=LSOA` with
    `vintage=LAD23`). It may not be refused for the shape of one value, which the schema does say."""
    if case.meta is None or not case.meta.generation.mode.is_positive or response.status_code != 400:
        return None
    errors = (response.json() or {}).get("errors") or []
    single = [e for e in errors if SINGLE_VALUE_REFUSALS.search(str(e.get("message", "")))]
    assert not single, f"schema-valid input refused for the shape of a value: {single}"
    return None


# Accept headers the fuzzing phase adds to its cases (the schema says nothing about them), so that
# content negotiation gets fuzzed too, and operations with no parameters get more than a handful of
# cases: a list of media ranges with weights, in any order, holding one the operation serves (its
# success media types, their type/* and */*) among ones no view serves; a schema-violating case may
# also get only the latter (a 406). Not with `format`, which overrides Accept.
FOREIGN = ["application/xml", "image/png", "application/pdf", "audio/ogg", "application/vnd.ms-excel"]


def _weighted(media: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    weight = st.one_of(st.just(""), st.integers(1, 1000).map(lambda n: f";q={n / 1000:g}"))
    return st.tuples(media, weight).map("".join)


def accepts(operation, *, negative: bool) -> st.SearchStrategy[str | None]:
    responses = operation.definition.raw.get("responses", {})
    offered = sorted({m for code, r in responses.items() if code.startswith("2") for m in r.get("content", {})})
    servable = sorted({*offered, *(m.split("/")[0] + "/*" for m in offered), "*/*"})
    foreign = st.lists(_weighted(st.sampled_from(FOREIGN)), max_size=3)
    mixed = st.tuples(_weighted(st.sampled_from(servable)), foreign).flatmap(
        lambda t: st.permutations([t[0], *t[1]])).map(", ".join)
    options = [st.none(), mixed]
    if negative:
        options.append(foreign.filter(bool).map(", ".join))
    return st.one_of(options)


def flatmap_case(context, case):
    if case.query and case.query.get("format"):
        return st.just(case)
    negative = case.meta is not None and case.meta.generation.mode.is_negative

    def with_accept(accept):
        if accept is not None:
            case.headers = {**(case.headers or {}), "Accept": accept}
        return case

    return accepts(context.operation, negative=negative).map(with_accept)


@pytest.fixture(scope="module")
def fuzz_user(django_db_blocker):
    """A user with a token and one custom area, committed to the test database so that the live
    server (its own connection) sees them; removed at the end with what the fuzzer created."""
    from django.contrib.auth.models import User
    from rest_framework.authtoken.models import Token

    from geographies.models import CustomArea
    from geographies.services import custom_area_create

    with django_db_blocker.unblock():
        user = User.objects.create_user(f"fuzz-{secrets.token_hex(4)}", password=secrets.token_hex(16))
    try:
        with django_db_blocker.unblock():
            token = Token.objects.create(user=user).key
            area = custom_area_create(name="Fuzz: central Manchester", user=user, codes=MANCHESTER_LSOAS)
        yield {"token": token, "custom_area": str(area.id)}
    finally:
        with django_db_blocker.unblock():
            CustomArea.objects.filter(created_by=user).delete()
            user.delete()


# Real identifiers, mixed into generated values so that cases get past the lookups to the code
# behind them, instead of stopping at a 404 or an "unknown code".
MANCHESTER_LSOAS = ["E01005061", "E01005063", "E01005065", "E01005066", "E01005067", "E01005068"]
AREA_CODES = ["E08000003", "E06000063", "E07000026", "E01005061", "E02001062", "E12000002", "E92000001",
              "K02000001", "W06000015", "S12000036", "N09000003", "E47000001", "E05011351"]
# A few of each: enough for a type, a vintage and a parent drawn apart to fit together now and then.
TYPES = ["LSOA", "MSOA", "WD", "LAD", "UTLA", "CTY", "CAUTH", "RGN", "CTRY", "UK"]
VINTAGES = ["LSOA21", "LSOA11", "MSOA21", "WD24", "LAD19", "LAD23", "LAD24", "LAD25", "UTLA23", "CTY23", "CAUTH25",
            "RGN", "CTRY", "UK"]
# Indicators with LSOA values, one of each aggregation (custom areas are made of LSOAs); the mission
# metrics follow.
SMALL_AREA_INDICATORS = ["iod2025-imd-decile", "iod2025-health-score", "population-census-2021", "iod2025-crime-rank"]
WEIGHTS = ["population-census-2021", "population-mid-2022", "population-census-2021-ltla"]
PERIODS = ["latest", "latest-1", "latest-5", "2021", "2019", "2021/22", "2022-04-01/P1Y"]


@pytest.fixture(scope="module")
def dictionaries(django_db_blocker, fuzz_user) -> dict[str, list]:
    from indicators.models import Indicator

    with django_db_blocker.unblock():
        missions = sorted(set(Indicator.objects.filter(mission_metrics__isnull=False).values_list("slug", flat=True)))
    return {"codes": AREA_CODES, "vintages": VINTAGES, "types": TYPES, "indicators": SMALL_AREA_INDICATORS + missions,
            "weights": WEIGHTS, "periods": PERIODS, "from_types": ["LSOA", "MSOA", "LAD"],
            "from_vintages": ["LSOA21", "MSOA21", "LAD23"], "to_types": ["LAD", "RGN", "UTLA", "CTRY"],
            "to_vintages": ["LAD24", "RGN", "UTLA23", "CTRY"], "lsoas": MANCHESTER_LSOAS,
            "small_vintages": ["LSOA21", "LSOA11", "MSOA21"], "custom_areas": [fuzz_user["custom_area"]],
            "missions": list(range(1, 13))}


BINDINGS = {
    "path.code": "codes", "query.parent": "codes", "query.area": "codes",
    "query.vintage": "vintages", "query.type": "types", "query.area_type": "types",
    "query.from_type": "from_types", "query.from_vintage": "from_vintages",
    "query.to_type": "to_types", "query.to_vintage": "to_vintages",
    "path.slug": "indicators", "query.indicator": "indicators", "query.indicators": "indicators",
    "query.weight": "weights", "query.period": "periods", "path.id": "custom_areas", "path.number": "missions",
    "body.codes[*]": "lsoas", "body.vintage": "small_vintages",
}


@pytest.fixture(scope="module")
def api_schema(live_api, fuzz_user, dictionaries):
    config = schemathesis.Config.from_dict({
        "generation": {"mode": "all", "max-examples": EXAMPLES, "deterministic": True, "no-shrink": CONTINUE},
        # Every check is on (the default). positive_data_acceptance takes its default statuses and
        # a 400, for values a schema cannot rule out; the custom check below holds those 400s to
        # that reason.
        "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "3xx", "400", "401", "403", "404",
                                                                       "409", "429", "5xx"]}},
        "continue-on-failure": CONTINUE,
        **({"seed": SEED} if SEED is not None else {}),
        # The token goes with every case (reads take it too); schemathesis' ignored_auth check
        # also sends each write without it, and with an invalid one, and expects a 401.
        "auth": {"openapi": {"tokenAuth": {"api_key": f"Token {fuzz_user['token']}"}}},
        "dictionaries": {name: {"values": values} for name, values in dictionaries.items()},
        # A binding also adds its parameter when the case left it out: half the time, a weight less
        # often (most aggregations take none).
        "parameters": {key: {"dictionary": name, "probability": 0.15 if key == "query.weight" else 0.5}
                       for key, name in BINDINGS.items()},
    })
    schema = schemathesis.openapi.from_url(live_api + "/api/schema/", config=config, timeout=60)
    schema.hook(flatmap_case)
    return schema


@pytest.fixture(scope="module")
def http():
    """Kept-alive connections to the live server. Without default headers: schemathesis lets a
    session's own (Accept: */* among them) override the case's."""
    with requests.Session() as session:
        session.headers.clear()
        yield session


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture(autouse=True)
def _node_id_for_schemathesis(request):
    """schemathesis 4.32's from_fixture reads and renames `node._nodeid`, which pytest 9.2 no longer
    has (it became `_id`): give it the attribute to read. Subtests still carry the operation label."""
    request.node._nodeid = request.node.nodeid


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=SEED is None, suppress_health_check=list(HealthCheck))
def test_every_operation_survives_the_fuzzer(case, http):
    CASES[case.operation.label] += 1
    case.call_and_validate(session=http, timeout=120, additional_checks=[schema_valid_values_pass_single_value_validation])


def test_every_operation_got_enough_cases(api_schema):
    """Runs after the fuzz test, which counts its cases."""
    labels = [result.ok().label for result in api_schema.get_all_operations()]
    counts = {label: CASES[label] for label in labels}
    print("\ncases per operation:", *(f"{n:5d}  {label}" for label, n in sorted(counts.items())), sep="\n")
    assert len(labels) >= 26
    short = {label: n for label, n in counts.items() if n < MIN_CASES}
    assert not short, f"operations with fewer than {MIN_CASES} cases: {short}"


# Requests with real data that generated ones seldom assemble (a type, vintage, parent and
# indicator that fit together): each answer goes through the same checks, and must be a success
# carrying rows, so that every response schema is held to real responses of every shape.
CUSTOM = "{custom_area}"
REAL = [
    ("GET /api/v1/indicators/{slug}/aggregate/", {"slug": "iod2025-imd-decile"},
     {"from_vintage": "LSOA21", "to_vintage": "LAD24", "parent": "E08000003"}, "results"),
    ("GET /api/v1/indicators/{slug}/aggregate/", {"slug": "iod2025-health-score"}, {"from_type": "LSOA", "to_type": "RGN"},
     "results"),
    ("GET /api/v1/indicators/{slug}/aggregate/", {"slug": "population-census-2021"},
     {"from_vintage": "LSOA21", "to_vintage": "LAD24", "format": "csv"}, None),
    ("GET /api/v1/areas/{code}/series/", {"code": "E06000063"}, {"indicator": "gross-median-weekly-pay", "explain": "true"},
     "series"),
    ("GET /api/v1/observations/", {}, {"indicator": "gross-median-weekly-pay", "vintage": "LAD23", "harmonise": "true",
                                       "explain": "true", "parent": "E12000002"}, "results"),
    ("GET /api/v1/observations/", {}, {"indicator": "gross-median-weekly-pay", "area": "E06000009", "period": "latest"},
     "results"),
    ("GET /api/v1/observations/", {}, {"indicator": "healthy-life-expectancy-male", "type": "LAD", "format": "csv"}, None),
    ("GET /api/v1/custom-areas/{id}/", {"id": CUSTOM}, {}, "members"),
    ("GET /api/v1/custom-areas/{id}/observations/", {"id": CUSTOM},
     {"indicator": "iod2025-imd-decile,iod2025-health-score,population-census-2021"}, "results"),
    *(("GET /api/v1/missions/{number}/", {"number": n}, {}, "metrics") for n in range(1, 13)),
    *(("GET /api/v1/missions/{number}/progress/", {"number": n}, {"type": "LAD"}, "metrics") for n in range(1, 13)),
    ("GET /api/v1/missions/{number}/progress/", {"number": 1}, {"type": "LAD", "format": "csv"}, None),
    ("GET /api/v1/missions/", {}, {}, ""),
    ("GET /api/v1/areas/{code}/profile/", {"code": "E08000003"}, {}, "indicators"),
    ("GET /api/v1/areas/{code}/profile/", {"code": "E06000063"}, {"format": "csv"}, None),
    ("GET /api/v1/profiles/", {}, {"parent": "E12000002", "type": "LAD"}, "rows"),
    ("GET /api/v1/areas/{code}/missions/", {"code": "E08000003"}, {}, "missions"),
    ("GET /api/v1/areas/{code}/missions/", {"code": "W06000015"}, {}, "missions"),
    ("GET /api/v1/areas/{code}/similar/", {"code": "E08000003"}, {"n": "5"}, "similar"),
    ("GET /api/v1/areas/{code}/boundary/", {"code": "E08000003"}, {}, "geometry"),
    ("GET /api/v1/areas/{code}/boundary/", {"code": "E08000003"}, {"simplify": "0.02", "format": "json"}, "geometry"),
    ("GET /api/v1/boundaries/", {}, {"vintage": "LAD23", "parent": "E12000002", "simplify": "0.01"}, "features"),
    ("GET /api/v1/areas/{code}/", {"code": "E07000026"}, {}, "successors"),
    ("GET /api/v1/areas/{code}/children/", {"code": "E08000003"}, {"type": "LSOA"}, "results"),
    ("GET /api/v1/areas/{code}/ancestors/", {"code": "E01005061"}, {}, "ancestors"),
    ("GET /api/v1/lookup/point/", {}, {"lon": "-2.20779", "lat": "53.47031"}, "areas"),
    ("GET /api/v1/areas/", {}, {"parent": "E12000002", "vintage": "LAD23"}, "results"),
    ("GET /api/v1/indicators/{slug}/", {"slug": "gross-median-weekly-pay"}, {}, "releases"),
    ("GET /api/v1/indicators/{slug}/", {"slug": "iod2025-health-score"}, {}, "availability"),
    ("GET /api/v1/periods/", {}, {"indicator": "healthy-life-expectancy-male"}, ""),
]


@pytest.mark.parametrize("label,path,query,rows", REAL, ids=[f"{r[0]} {r[1]} {r[2]}" for r in REAL])
def test_real_responses_meet_their_schema(api_schema, fuzz_user, http, label, path, query, rows):
    path = {k: (fuzz_user["custom_area"] if v == CUSTOM else v) for k, v in path.items()}
    case = api_schema.find_operation_by_label(label).Case(path_parameters=path, query=query)
    response = case.call_and_validate(session=http, timeout=120)
    assert response.status_code == 200, response.text[:500]
    if rows is None:  # CSV: a header and rows
        assert response.headers["content-type"] == ["text/csv; charset=utf-8"]
        assert response.text.count("\n") > 1
    else:
        body = response.json()
        assert body[rows] if rows else body

"""How tests talk to the GraphQL endpoint (through Django's test client, in the test's transaction).

Every document `gql()` sends is answered twice: once as the API answers it (compiled to one SQL
statement when every field of it has declared SQL, levelup_api/core/graphql_sql.py), and once by
graphql-core alone (`X-GraphQL-Path: resolved`); the two documents must be identical, keys in the
same order and values of the same JSON types. The second request's statements are left out of any
query count around the call. `PATHS` records which path answered each document."""

import json

from django.db import connections

# Every GraphQL request runs in its own transaction with a statement timeout (SET LOCAL): inside a
# test's transaction that is a savepoint, the SET and the release: 3 statements besides the data.
# A compiled request's data is 1 statement (once its arguments' lookups are cached, see
# docs/graphql.md); graphql-core's is one per list level and relation.
REQUEST_OVERHEAD = 3

PATH_HEADER = "X-GraphQL-Path"
PATHS: list[tuple[str, str | None]] = []


def post(client, query: str, variables: dict | None = None, *, path: str | None = None, **extra):
    headers = {"HTTP_X_GRAPHQL_PATH": path} if path else {}
    return client.post("/graphql", data=json.dumps({"query": query, "variables": variables or {}}),
                       content_type="application/json", **headers, **extra)


def canonical(body: dict) -> str:
    """The document as text: key order and JSON types (1 is not 1.0) count."""
    return json.dumps(body, ensure_ascii=False)


def both_paths_agree(client, query: str, variables: dict | None, response, *, path: str | None = None) -> None:
    """Asks the other path for the same document (uncounted) and checks that it says the same."""
    logs = [(c.queries_log, len(c.queries_log)) for c in connections.all(initialized_only=True)]
    other = post(client, query, variables, path=None if path == "resolved" else "resolved")
    for log, mark in logs:  # not counted by django_assert_num_queries around the caller
        while len(log) > mark:
            log.pop()
    assert other.status_code == response.status_code, (other.content[:500], response.content[:500])
    assert canonical(other.json()) == canonical(response.json()), (
        f"the compiled and resolved documents differ for {query!r} {variables!r}:\n"
        f"{response[PATH_HEADER]}: {response.content[:2000]!r}\n{other[PATH_HEADER]}: {other.content[:2000]!r}")


def gql(client, query: str, variables: dict | None = None, *, path: str | None = None) -> dict:
    """The response body; `path="resolved"` asks for graphql-core first (to count its queries)."""
    response = post(client, query, variables, path=path)
    assert response.status_code in (200, 400), response.content
    PATHS.append((query, response.get(PATH_HEADER)))
    both_paths_agree(client, query, variables, response, path=path)
    return response.json()

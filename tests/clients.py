"""How tests talk to the GraphQL endpoint (through Django's test client, in the test's transaction)."""

import json

# Every GraphQL request runs in its own transaction with a statement timeout (SET LOCAL): inside a
# test's transaction that is a savepoint, the SET and the release: 3 statements besides the data.
REQUEST_OVERHEAD = 3


def gql(client, query: str, variables: dict | None = None) -> dict:
    response = client.post("/graphql", data=json.dumps({"query": query, "variables": variables or {}}),
                           content_type="application/json")
    assert response.status_code in (200, 400), response.content
    return response.json()

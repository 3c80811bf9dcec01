"""A clash the rule checks could not see (another request committed it meanwhile) is a 409."""

import pytest
from fastapi.testclient import TestClient

from app.sources import rules as source_rules


def test_unique_constraint_clash_is_409_not_500(
    client: TestClient, auth: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert client.post("/v1/sources", json={"name": "Twice", "kind": "ngo"}, headers=auth).status_code == 201
    # Simulate the race: the other request's row is committed after this one's checks ran.
    monkeypatch.setattr(source_rules, "check_unique_names", lambda *args, **kwargs: None)
    response = client.post("/v1/sources", json={"name": "TWICE", "kind": "ngo"}, headers=auth)
    assert response.status_code == 409
    assert response.headers["content-type"].startswith("application/problem+json")
    assert len(client.get("/v1/sources").json()["items"]) == 1

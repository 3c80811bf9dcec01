"""A read already answered at the current data version is sent before routing (app.api.kept):
the same bytes and headers as the route sends, no session opened, still counted and logged
under its route, and never to a request the route would answer differently."""

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from app.api import kept
from app.db.session import session_factory
from app.kit import deps, responses
from app.kit.answers import data_version
from tests.events.data import dataset

SENT_AS_IS = ("etag", "cache-control", "link", "content-type", "vary")


@pytest.fixture
def sessions(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The read sessions the routes' dependencies open, in order."""
    opened: list[object] = []

    def counting(*args: Any, **kwargs: Any) -> Any:
        opened.append(args)
        return session_factory(*args, **kwargs)

    monkeypatch.setattr(deps, "session_factory", counting)
    return opened


@pytest.fixture
def versions_read_in_sessions(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    calls: list[object] = []

    def counting(session: Any) -> Any:
        calls.append(session)
        return data_version(session)

    monkeypatch.setattr(responses, "data_version", counting)
    return calls


@pytest.fixture
def data(load: Callable[[dict[str, Any]], Any]) -> None:
    load(dataset())


def first_event_id(client: TestClient) -> int:
    return int(client.get("/v1/events", params={"limit": 1}).json()["items"][0]["id"])


READS = ("/v1/events?limit=2", "/v1/events/{id}", "/v1/events/facets?field=type", "/v1/actors")


def test_a_kept_answer_is_sent_as_the_route_sends_it_without_a_session(
    client: TestClient, data: None, sessions: list[object]
) -> None:
    event_id = first_event_id(client)
    paths = [path.format(id=event_id) for path in READS]
    first = [client.get(path) for path in paths]
    assert all(answer.status_code == 200 for answer in first)
    assert "link" in first[0].headers  # a list page with a next page
    opened = len(sessions)
    again = [client.get(path) for path in paths]
    assert len(sessions) == opened, "a kept answer opened a session"
    for before, after in zip(first, again, strict=True):
        assert after.status_code == 200 and after.content == before.content
        assert {h: after.headers.get(h) for h in SENT_AS_IS} == {h: before.headers.get(h) for h in SENT_AS_IS}
    # a client holding the ETag gets a bare 304; HEAD gets the headers alone
    etag = first[1].headers["etag"]
    unchanged = client.get(paths[1], headers={"If-None-Match": etag})
    assert unchanged.status_code == 304 and unchanged.content == b"" and unchanged.headers["etag"] == etag
    head = client.head(paths[1])
    assert head.status_code == 200 and head.content == b"" and head.headers["etag"] == etag
    assert len(sessions) == opened


def test_a_kept_answer_is_counted_under_its_route(client: TestClient, data: None) -> None:
    event_id = first_event_id(client)
    labels = {"method": "GET", "route": "/v1/events/{event_id}", "status": "200"}

    def answered() -> float:
        return REGISTRY.get_sample_value("conflict_events_requests_total", labels) or 0.0

    before = answered()
    for _ in range(3):
        assert client.get(f"/v1/events/{event_id}").status_code == 200
    assert answered() - before == 3


def test_after_a_write_the_route_computes_with_the_version_read_before_it(
    client: TestClient,
    data: None,
    auth: dict[str, str],
    sessions: list[object],
    versions_read_in_sessions: list[object],
) -> None:
    first = client.get("/v1/events/facets", params={"field": "type"})
    assert versions_read_in_sessions and sessions  # nothing kept yet: the route reads it
    created = client.post(
        "/v1/events", json={"title": "A riot", "type": "riot", "start_date": "2025-05-02"}, headers=auth
    )
    assert created.status_code == 201, created.text
    read_before, opened = len(versions_read_in_sessions), len(sessions)
    fresh = client.get("/v1/events/facets", params={"field": "type"})
    assert fresh.content != first.content
    counts = {value["value"]: value["count"] for value in fresh.json()["facets"]["type"]}
    assert counts["riot"] == 2
    assert len(sessions) == opened + 1, "the answer was computed in one session"
    assert len(versions_read_in_sessions) == read_before, "the version was read twice"
    again = client.get("/v1/events/facets", params={"field": "type"})
    assert again.content == fresh.content and len(sessions) == opened + 1


def test_a_failing_version_read_leaves_the_answer_to_the_route(
    client: TestClient, data: None, sessions: list[object], monkeypatch: pytest.MonkeyPatch
) -> None:
    kept_answer = client.get("/v1/events/facets")

    def unreachable(_: object) -> tuple[object, ...]:
        raise ConnectionError("database unreachable")

    monkeypatch.setattr(kept, "engine_data_version", unreachable)
    opened = len(sessions)
    answer = client.get("/v1/events/facets")
    assert answer.status_code == 200 and answer.content == kept_answer.content
    assert len(sessions) == opened + 1


def test_an_answer_kept_for_a_key_holder_is_not_sent_without_a_key(
    locked_client: TestClient, data: None, make_key: Callable[[str, str], str]
) -> None:
    key = {"Authorization": f"Bearer {make_key('reader', 'read')}"}
    for path in ("/v1/events", "/v1/events/facets"):
        assert locked_client.get(path, headers=key).status_code == 200
        assert locked_client.get(path, headers=key).status_code == 200
        refused = locked_client.get(path)
        assert refused.status_code == 401, path
        assert refused.headers["content-type"] == "application/problem+json"


def test_a_malformed_consistency_token_is_refused_though_the_answer_is_kept(
    client: TestClient, data: None
) -> None:
    """The route checks the token's form even without replicas; a kept answer must not skip it."""
    assert client.get("/v1/events").status_code == 200
    refused = client.get("/v1/events", headers={"X-Consistency-Token": "not a position"})
    assert refused.status_code == 400
    assert refused.headers["content-type"] == "application/problem+json"
    assert "X-Consistency-Token" in refused.json()["detail"]

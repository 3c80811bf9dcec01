"""Two clients PATCH the same row with the same If-Match at the same moment: exactly one wins."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from app.db.session import session_factory
from app.kit import crud
from app.sources.routes import SOURCE_SPEC

ROUNDS = 5


@pytest.fixture
def slow_read_form(monkeypatch: pytest.MonkeyPatch) -> None:
    """Widen the window between reading the row and writing it, so the race really happens."""
    original: Callable[..., Any] = crud.read_form
    barrier_wait = threading.Event()

    def delayed(session: Any, spec: Any, row: Any) -> Any:
        result = original(session, spec, row)
        barrier_wait.wait(0.05)
        return result

    monkeypatch.setattr(crud, "read_form", delayed)


def test_exactly_one_of_two_racing_patches_wins(
    client: TestClient, auth: dict[str, str], slow_read_form: None
) -> None:
    source = client.post("/v1/sources", json={"name": "Contested", "kind": "ngo"}, headers=auth)
    assert source.status_code == 201
    url = f"/v1/sources/{source.json()['id']}"
    for round_number in range(ROUNDS):
        etag = client.get(url).headers["etag"]
        start = threading.Barrier(2)
        statuses: list[int] = []

        def patch(description: str, start: threading.Barrier = start, etag: str = etag) -> None:
            with httpx.Client(transport=client._transport, base_url=str(client.base_url)) as racer:
                start.wait()
                response = racer.patch(
                    url, json={"description": description}, headers={**auth, "If-Match": etag}
                )
                statuses.append(response.status_code)  # noqa: B023 - joined within the round

        # Different new values, so that neither PATCH is a no-op that keeps the ETag.
        threads = [threading.Thread(target=patch, args=(f"{round_number}-{n}",)) for n in (1, 2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(statuses) == [200, 412], f"round {round_number}: {statuses}"
    with session_factory()() as session:
        assert session.get(SOURCE_SPEC.model, source.json()["id"]) is not None

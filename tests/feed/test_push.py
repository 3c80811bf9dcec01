"""Changes pushed to consumers: long-poll (`wait=`) and the Server-Sent Events stream."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from app.db.session import transaction
from app.feed import notify
from app.feed.changes import record_change
from tests.faults.support import feed, live_rows, mirror_of
from tests.servers import free_port, serve


def commit_change_later(delay: float, ref: str) -> threading.Thread:
    """A change committed `delay` seconds from now, in a thread (as another client would)."""

    def write() -> None:
        time.sleep(delay)
        with transaction(author="test") as session:
            record_change(session, "sources", 10_000 + len(ref), ref, "upsert")

    thread = threading.Thread(target=write)
    thread.start()
    return thread


def test_long_poll_answers_as_soon_as_a_change_commits(client: TestClient) -> None:
    head = client.get("/v1/changes").json()["next_after"]
    writer = commit_change_later(0.4, "later")
    started = time.monotonic()
    answer = client.get("/v1/changes", params={"after": head, "wait": 20})
    elapsed = time.monotonic() - started
    writer.join()
    assert answer.status_code == 200
    assert [item["ref"] for item in answer.json()["items"]] == ["later"]
    assert 0.35 < elapsed < 5, elapsed  # woken by the commit (NOTIFY, or a 0.5 s poll on SQLite)
    assert answer.json()["next_after"] == answer.json()["items"][0]["seq"]


def test_long_poll_without_a_change_answers_empty_when_the_wait_is_over(client: TestClient) -> None:
    started = time.monotonic()
    answer = client.get("/v1/changes", params={"after": 0, "wait": 0.6})
    assert time.monotonic() - started >= 0.6
    assert answer.json() == {"items": [], "next_after": 0}


def test_long_poll_with_changes_waiting_answers_at_once(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing wakes this waiter (no LISTEN, no look for a minute), so one that waited before
    looking would answer when its 30 s are up; the bound leaves room for a loaded machine (a
    CI run once took 6 s for the request)."""
    silent = notify.ChangeSignal(None)
    monkeypatch.setattr(notify, "change_signal", lambda: silent)
    monkeypatch.setattr(notify.ChangeSignal, "recheck_interval", lambda self: 60.0)
    with transaction() as session:
        record_change(session, "actors", 1, "a", "upsert")
    started = time.monotonic()
    answer = client.get("/v1/changes", params={"after": 0, "wait": 30})
    assert time.monotonic() - started < 15
    assert len(answer.json()["items"]) == 1


@pytest.mark.parametrize("wait", ["61", "-1", "soon"])
def test_wait_out_of_bounds_is_a_422(client: TestClient, wait: str) -> None:
    answer = client.get("/v1/changes", params={"wait": wait})
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")


def test_a_rolled_back_write_wakes_nobody_with_a_change(client: TestClient) -> None:
    def roll_back() -> None:
        time.sleep(0.2)
        with pytest.raises(RuntimeError), transaction() as session:
            record_change(session, "actors", 2, "never", "upsert")
            raise RuntimeError("abandoned")

    thread = threading.Thread(target=roll_back)
    thread.start()
    answer = client.get("/v1/changes", params={"after": 0, "wait": 1})
    thread.join()
    assert answer.json()["items"] == []


# --- Server-Sent Events ------------------------------------------------------------------------


def test_stream_rejects_a_malformed_last_event_id(client: TestClient) -> None:
    answer = client.get("/v1/changes/stream", headers={"Last-Event-ID": "twelve"})
    assert answer.status_code == 400
    assert "Last-Event-ID" in answer.json()["detail"]


def test_head_of_the_stream_sends_its_headers_only(client: TestClient) -> None:
    answer = client.head("/v1/changes/stream")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/event-stream")
    assert answer.content == b""


def events_of(response: httpx.Response) -> Iterator[tuple[str | None, str]]:
    """(id, data) of each event of an SSE answer; comments and `retry:` lines skipped."""
    event_id: str | None = None
    data: list[str] = []
    for line in response.iter_lines():
        if line == "":
            if data:
                yield event_id, "\n".join(data)
            event_id, data = None, []
        elif line.startswith("id:"):
            event_id = line[3:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())


@pytest.fixture
def live(database_url: str, make_key: Callable[[str, str], str]) -> Iterator[tuple[str, str]]:
    """A real server whose streams end after 2 s (so reconnects happen), and a write key."""
    key = make_key("stream-writer", "write")
    port = free_port()
    process = serve({**os.environ, "DATABASE_URL": database_url, "FEED_STREAM_MAX": "2"}, port)
    try:
        yield f"http://127.0.0.1:{port}", key
    finally:
        process.terminate()
        process.wait(timeout=30)


class StreamMirror(threading.Thread):
    """A consumer that keeps a copy of every source through the stream, reconnecting with
    Last-Event-ID whenever the stream ends and, on purpose, every 25 events."""

    def __init__(self, base: str) -> None:
        super().__init__(daemon=True)
        self.base = base
        self.rows: dict[tuple[str, int], Any] = {}
        self.seen: list[tuple[int, str, int, str]] = []
        self.connections = 0
        self.stop = threading.Event()
        self.errors: list[str] = []

    def run(self) -> None:
        with httpx.Client(base_url=self.base, timeout=30) as http:
            while not self.stop.is_set():
                headers = {"Last-Event-ID": str(self.seen[-1][0])} if self.seen else {}
                self.connections += 1
                try:
                    with http.stream("GET", "/v1/changes/stream", headers=headers) as response:
                        for count, (event_id, data) in enumerate(events_of(response), 1):
                            self.apply(http, event_id, httpx.Response(200, content=data).json())
                            if count % 25 == 0 or self.stop.is_set():
                                break  # the client goes away; it resumes on the next connection
                except httpx.HTTPError as error:
                    self.errors.append(f"stream: {type(error).__name__}: {error}")
                    time.sleep(0.2)

    def apply(self, http: httpx.Client, event_id: str | None, change: dict[str, Any]) -> None:
        if event_id != str(change["seq"]):
            self.errors.append(f"event id {event_id} is not the seq {change['seq']}")
        self.seen.append((change["seq"], change["resource"], change["id"], change["op"]))
        key = (change["resource"], change["id"])
        if change["op"] == "delete":
            self.rows.pop(key, None)
            return
        row = http.get(f"/v1/{change['resource']}/{change['id']}")
        if row.status_code == 200:
            self.rows[key] = row.json()
        elif row.status_code == 404:  # deleted since: its tombstone follows
            self.rows.pop(key, None)
        else:
            self.errors.append(f"read → {row.status_code}")


def write_sources(base: str, key: str, number: int, stop: threading.Event, failures: list[str]) -> None:
    """Create sources, rename each twice, delete every third; until told to stop."""
    try:
        _write_sources(base, key, number, stop)
    except (AssertionError, httpx.HTTPError) as error:
        failures.append(f"writer {number}: {error}")


def _write_sources(base: str, key: str, number: int, stop: threading.Event) -> None:
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30) as http:
        serial = 0
        while not stop.is_set():
            serial += 1
            created = http.post(
                "/v1/sources",
                json={
                    "ref": f"w{number}-{serial}",
                    "name": f"Source {number}·{serial}",
                    "kind": "news_outlet",
                },
            )
            assert created.status_code == 201, created.text
            row_id = created.json()["id"]
            for step in (1, 2):
                renamed = http.patch(
                    f"/v1/sources/{row_id}", json={"name": f"Source {number}·{serial} r{step}"}
                )
                assert renamed.status_code == 200, renamed.text
            if serial % 3 == 0:
                assert http.delete(f"/v1/sources/{row_id}").status_code == 204


def test_a_mirror_through_the_stream_equals_the_store(live: tuple[str, str], database_url: str) -> None:
    """Writers run while a consumer mirrors the store through the stream, reconnecting often
    (the server ends each stream after 2 s, the client leaves every 25 events): it sees every
    change exactly once and in order, and its copy equals the store."""
    base, key = live
    mirror = StreamMirror(base)
    mirror.start()
    stop = threading.Event()
    failures: list[str] = []
    writers = [threading.Thread(target=write_sources, args=(base, key, n, stop, failures)) for n in (1, 2)]
    for writer in writers:
        writer.start()
    # at least 5 s of writing, and on until the consumer has reconnected a few times (a loaded
    # machine writes fewer changes per second, so the client's every-25-events exits come later)
    started = time.monotonic()
    while time.monotonic() - started < 5 or (mirror.connections <= 3 and time.monotonic() - started < 60):
        time.sleep(0.1)
    stop.set()
    for writer in writers:
        writer.join(timeout=60)
    head = feed(database_url)[-1][0]
    deadline = time.monotonic() + 30
    while (not mirror.seen or mirror.seen[-1][0] < head) and time.monotonic() < deadline:
        time.sleep(0.1)
    mirror.stop.set()
    mirror.join(timeout=30)

    assert failures == []
    assert mirror.errors == []
    assert mirror.seen == feed(database_url)  # every change once, in seq order, none missing
    assert mirror.connections > 3
    assert set(mirror.rows) == mirror_of(mirror.seen) == live_rows(database_url)
    with httpx.Client(base_url=base, timeout=30) as http:
        store = {k: http.get(f"/v1/{k[0]}/{k[1]}").json() for k in live_rows(database_url)}
    assert mirror.rows == store
    assert len(mirror.seen) > 30

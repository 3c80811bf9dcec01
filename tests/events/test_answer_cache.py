"""Timeline, facet and list answers are computed once per question and data version: a repeated
question is answered from the worker's cache, any committed write (or a database emptied and
reloaded) makes the next answer fresh, and the cache stays within its byte budget."""

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from app.db.base import table_of
from app.events import aggregates, dashboards
from app.kit import crud, items, pagination
from app.kit.answers import Answer, AnswerCache, SharedAnswers, clear_answer_caches
from app.kit.model import SharedAnswer
from tests.events.data import dataset


@pytest.fixture
def computed(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The names of the aggregates computed, in order, as the routes call them."""
    calls: list[str] = []

    def counting(name: str, compute: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            calls.append(name)
            return compute(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(dashboards, "facets", counting("facets", aggregates.facets))
    monkeypatch.setattr(dashboards, "timeline", counting("timeline", aggregates.timeline))
    monkeypatch.setattr(items, "list_page", counting("list", pagination.list_page))
    yield calls


@pytest.fixture
def rows_read(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The ids the single-read route read from the database, in order."""
    ids: list[int] = []
    read_one = crud.read_one

    def counting(session: Any, spec: Any, row_id: int) -> Any:
        ids.append(row_id)
        return read_one(session, spec, row_id)

    monkeypatch.setattr(crud, "read_one", counting)
    return ids


@pytest.fixture
def data(load: Callable[[dict[str, Any]], Any]) -> None:
    load(dataset())


def type_counts(client: TestClient, **params: Any) -> dict[str, int]:
    response = client.get("/v1/events/facets", params={"field": "type", **params})
    assert response.status_code == 200, response.text
    return {value["value"]: value["count"] for value in response.json()["facets"]["type"]}


def test_a_repeated_question_is_computed_once(client: TestClient, data: None, computed: list[str]) -> None:
    first = client.get("/v1/events/facets")
    second = client.get("/v1/events/facets")
    assert first.status_code == second.status_code == 200
    assert second.content == first.content and second.headers["etag"] == first.headers["etag"]
    assert computed == ["facets"]
    timeline = [client.get("/v1/events/timeline", params={"group_by": "type"}) for _ in range(3)]
    assert len({answer.content for answer in timeline}) == 1
    assert computed == ["facets", "timeline"]
    # a client holding the ETag gets a 304 without anything computed
    again = client.get("/v1/events/facets", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and computed == ["facets", "timeline"]


def test_other_questions_are_other_answers(
    client: TestClient, data: None, auth: dict[str, str], computed: list[str]
) -> None:
    before = datetime.now(UTC).isoformat()
    created = client.post(
        "/v1/events", json={"title": "A riot", "type": "riot", "start_date": "2025-05-02"}, headers=auth
    )
    assert created.status_code == 201, created.text
    assert type_counts(client) == {"armed_clash": 2, "riot": 2, "protest": 1}
    assert type_counts(client, country="BY") == {"armed_clash": 1, "riot": 1}
    assert type_counts(client, country="by") == {"armed_clash": 1, "riot": 1}  # its own entry
    assert type_counts(client, as_of=before) == {"armed_clash": 2, "protest": 1, "riot": 1}
    assert computed == ["facets"] * 4


def test_a_write_makes_the_next_answer_fresh(
    client: TestClient, data: None, auth: dict[str, str], computed: list[str]
) -> None:
    assert type_counts(client) == {"armed_clash": 2, "protest": 1, "riot": 1}
    created = client.post(
        "/v1/events",
        json={"title": "Another riot", "type": "riot", "start_date": "2025-05-02"},
        headers=auth,
    )
    assert created.status_code == 201, created.text
    assert type_counts(client) == {"armed_clash": 2, "riot": 2, "protest": 1}
    deleted = client.delete(f"/v1/events/{created.json()['id']}", headers=auth)
    assert deleted.status_code == 204, deleted.text
    assert type_counts(client) == {"armed_clash": 2, "protest": 1, "riot": 1}
    assert type_counts(client) == {"armed_clash": 2, "protest": 1, "riot": 1}
    assert computed == ["facets"] * 3


def test_a_database_emptied_and_reloaded_is_not_answered_from_before(
    client: TestClient,
    load: Callable[[dict[str, Any]], Any],
    engine: Any,
    computed: list[str],
) -> None:
    """The feed counts from 1 again after a restore: the same seq names other data."""
    from tests.conftest import _truncate_pg
    from tests.factories import dataset as records
    from tests.factories import event

    def reload(event_type: str) -> None:
        if engine.dialect.name == "postgresql":
            _truncate_pg(str(engine.url))
        else:
            with engine.begin() as connection:
                for table in ("event_actor", "citation", "event_relation", "event", "change"):
                    connection.exec_driver_sql(f"DELETE FROM {table}")
                connection.exec_driver_sql("DELETE FROM sqlite_sequence")
        load(records(event("e:one", type=event_type)))

    reload("riot")
    assert type_counts(client) == {"riot": 1}
    reload("protest")
    assert type_counts(client) == {"protest": 1}
    assert computed == ["facets", "facets"]


def test_without_a_budget_every_answer_is_computed(
    client: TestClient, data: None, computed: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.core.config import get_settings

    monkeypatch.setenv("ANSWER_CACHE_BYTES", "0")
    get_settings.cache_clear()
    assert type_counts(client) == type_counts(client)
    assert computed == ["facets", "facets"]


def test_the_cache_keeps_to_its_budget_least_recently_used_out_first() -> None:
    cache = AnswerCache(max_bytes=100)
    for key in "abcd":
        cache.put(key, Answer(b"x" * 25, key))
    assert cache.get("a") is not None  # a is now the most recently used
    cache.put("e", Answer(b"y" * 25, "e"))
    assert cache.get("b") is None
    assert [key for key in "acde" if cache.get(key)] == ["a", "c", "d", "e"]
    cache.put("big", Answer(b"z" * 26, "big"))  # over a quarter of the budget: not kept
    assert cache.get("big") is None and cache.get("e") is not None
    cache.put("a", Answer(b"w" * 10, "a2"))  # replacing an entry frees what it held
    cache.put("f", Answer(b"v" * 15, "f"))
    assert [key for key in "acdef" if cache.get(key)] == ["a", "c", "d", "e", "f"]


def titles(client: TestClient, **params: Any) -> list[str]:
    response = client.get("/v1/events", params=params)
    assert response.status_code == 200, response.text
    return [event["title"] for event in response.json()["items"]]


def test_a_repeated_list_page_is_read_once_and_keeps_its_link(
    client: TestClient, data: None, computed: list[str]
) -> None:
    first = client.get("/v1/events", params={"limit": 2})
    second = client.get("/v1/events", params={"limit": 2})
    assert first.status_code == second.status_code == 200
    assert second.content == first.content and second.headers["etag"] == first.headers["etag"]
    assert first.json()["next_cursor"] and second.headers["link"] == first.headers["link"]
    assert computed == ["list"]
    following = client.get("/v1/events", params={"limit": 2, "cursor": first.json()["next_cursor"]})
    assert following.status_code == 200 and following.json()["items"] != first.json()["items"]
    assert client.get("/v1/events", headers={"If-None-Match": first.headers["etag"]}).status_code == 200
    held = client.get("/v1/events", params={"limit": 2}, headers={"If-None-Match": first.headers["etag"]})
    assert held.status_code == 304
    assert computed == ["list", "list", "list"]


def test_the_link_of_a_kept_page_follows_the_request(
    client: TestClient, data: None, computed: list[str]
) -> None:
    """The page is kept, its Link header is not: it is built from the request's root path."""
    from app.main import app

    direct = client.get("/v1/events", params={"limit": 1})
    with TestClient(app, root_path="/behind/proxy") as proxied:
        via_proxy = proxied.get("/v1/events", params={"limit": 1})
    assert via_proxy.content == direct.content
    assert direct.headers["link"].startswith("</v1/events?")
    assert via_proxy.headers["link"].startswith("</behind/proxy/v1/events?")
    assert computed == ["list"]


def test_a_write_makes_the_next_list_page_fresh(
    client: TestClient, data: None, auth: dict[str, str], computed: list[str]
) -> None:
    before = titles(client, type="riot")
    created = client.post(
        "/v1/events", json={"title": "A new riot", "type": "riot", "start_date": "2999-01-01"}, headers=auth
    )
    assert created.status_code == 201, created.text
    assert titles(client, type="riot") == ["A new riot", *before]
    changed = client.patch(
        f"/v1/events/{created.json()['id']}", json={"title": "A renamed riot"}, headers=auth
    )
    assert changed.status_code == 200, changed.text
    assert titles(client, type="riot") == ["A renamed riot", *before]
    assert client.delete(f"/v1/events/{created.json()['id']}", headers=auth).status_code == 204
    assert titles(client, type="riot") == before == titles(client, type="riot")
    assert computed == ["list"] * 4


def test_a_single_read_is_kept_until_a_write_and_a_404_is_not(
    client: TestClient, data: None, auth: dict[str, str], rows_read: list[int]
) -> None:
    event_id = client.get("/v1/events", params={"limit": 1}).json()["items"][0]["id"]
    first, second = (client.get(f"/v1/events/{event_id}") for _ in range(2))
    assert first.status_code == second.status_code == 200
    assert second.content == first.content and second.headers["etag"] == first.headers["etag"]
    assert rows_read == [event_id]
    assert client.get("/v1/events/999999").status_code == client.get("/v1/events/999999").status_code == 404
    assert rows_read == [event_id, 999999, 999999]
    changed = client.patch(
        f"/v1/events/{event_id}",
        json={"title": "Renamed"},
        headers={**auth, "If-Match": first.headers["etag"]},
    )
    assert changed.status_code == 200, changed.text
    after = client.get(f"/v1/events/{event_id}")
    assert after.json()["title"] == "Renamed" and after.headers["etag"] == changed.headers["etag"]
    assert after.headers["etag"] != first.headers["etag"]


# --- answers shared by the workers (PostgreSQL) -------------------------------------------------


def another_worker() -> None:
    """What a request served by another worker finds: an answer cache of its own, empty."""
    clear_answer_caches()


def test_an_aggregate_one_worker_computed_is_not_computed_by_another(
    client: TestClient, data: None, auth: dict[str, str], computed: list[str], engine: Any
) -> None:
    first = client.get("/v1/events/facets")
    another_worker()
    second = client.get("/v1/events/facets")
    assert second.content == first.content and second.headers["etag"] == first.headers["etag"]
    # SQLite's workers share no answers: the second computes it again
    assert computed == (["facets"] if engine.dialect.name == "postgresql" else ["facets", "facets"])
    created = client.post(
        "/v1/events", json={"title": "A riot", "type": "riot", "start_date": "2025-05-02"}, headers=auth
    )
    assert created.status_code == 201, created.text
    computed.clear()
    assert type_counts(client)["riot"] == 2  # a new version: computed, never the shared old answer
    another_worker()
    assert type_counts(client)["riot"] == 2
    assert computed == (["facets"] if engine.dialect.name == "postgresql" else ["facets", "facets"])


def test_list_pages_and_single_reads_are_not_shared(
    client: TestClient, data: None, computed: list[str], rows_read: list[int]
) -> None:
    event_id = client.get("/v1/events", params={"limit": 1}).json()["items"][0]["id"]
    client.get(f"/v1/events/{event_id}")
    another_worker()
    client.get("/v1/events", params={"limit": 1})
    client.get(f"/v1/events/{event_id}")
    assert computed == ["list", "list"] and rows_read == [event_id, event_id]


@pytest.fixture
def postgresql(engine: Any) -> Any:
    if engine.dialect.name != "postgresql":
        pytest.skip("answers are shared on PostgreSQL only")
    return engine


def test_without_its_table_an_aggregate_is_computed_and_answered(
    client: TestClient, data: None, computed: list[str], postgresql: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with postgresql.begin() as connection:
        connection.exec_driver_sql("ALTER TABLE shared_answer RENAME TO shared_answer_away")
    try:
        first = client.get("/v1/events/facets")
        another_worker()
        second = client.get("/v1/events/facets")
    finally:
        with postgresql.begin() as connection:
            connection.exec_driver_sql("ALTER TABLE shared_answer_away RENAME TO shared_answer")
    assert first.status_code == second.status_code == 200 and second.content == first.content
    assert computed == ["facets", "facets"]
    assert "shared answers unreadable" in caplog.text and "shared answer not stored" in caplog.text


def test_shared_answers_not_stored_for_an_hour_are_forgotten(postgresql: Any) -> None:
    table = table_of(SharedAnswer)
    with postgresql.begin() as connection:
        connection.execute(
            table.insert(),
            [
                {"question": name, "version": "1|x", "etag": '"e"', "body": b"{}", "stored_at": stored_at}
                for name, stored_at in (
                    ("old", datetime.now(UTC) - timedelta(hours=1, seconds=5)),
                    ("recent", datetime.now(UTC) - timedelta(minutes=59)),
                )
            ],
        )
    shared = SharedAnswers(postgresql)
    shared.put(("db", "/v1/events/facets", b""), (2, "y"), Answer(b'{"facets":{}}', '"f"'))
    with postgresql.connect() as connection:
        kept = set(connection.execute(sa.select(table.c.question)).scalars())
    assert kept == {"recent", SharedAnswers.key(("db", "/v1/events/facets", b""))}
    found = shared.get(("db", "/v1/events/facets", b""), (2, "y"))
    assert found == Answer(b'{"facets":{}}', '"f"')
    assert shared.get(("db", "/v1/events/facets", b""), (3, "y")) is None  # another version


def test_a_shared_answer_of_other_code_is_not_read(postgresql: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A release that answers a question otherwise must not read an older release's answer at
    the same data version (a rolling deploy runs both)."""
    from app.kit import answers

    question, version = ("db", "/v1/events/timeline", b""), (7, "t")
    shared = SharedAnswers(postgresql)
    shared.put(question, version, Answer(b'{"buckets":[]}', '"old"'))
    assert shared.get(question, version) == Answer(b'{"buckets":[]}', '"old"')
    monkeypatch.setattr(answers, "code_identity", lambda: "another release")
    assert shared.get(question, version) is None

"""Small builders for dataset dicts (the file format of API.md §4) and helpers for reading answers.

Every builder returns `(resource, record)`; `dataset(...)` groups them into one dataset dict, so
a test states exactly the rows it needs and the loader gives them ids.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

# 1,000 real UCDP GED events, shipped with the tests (CC BY 4.0, see tests/data/README.md)
UCDP_SAMPLE = Path(__file__).resolve().parent / "data" / "ucdp_ged_sample.csv"

Record = tuple[str, dict[str, Any]]


def source(ref: str, name: str | None = None, reliability: str = "F", **fields: Any) -> Record:
    return "sources", {
        "ref": ref,
        "name": name or f"Source {ref}",
        "kind": fields.pop("kind", "news_outlet"),
        "reliability": reliability,
        **fields,
    }


def document(ref: str, source: str, title: str | None = None, **fields: Any) -> Record:
    return "documents", {"ref": ref, "source": source, "title": title or f"Document {ref}", **fields}


def actor(
    ref: str,
    name: str | None = None,
    parent: str | None = None,
    aliases: Iterable[str] = (),
    **fields: Any,
) -> Record:
    record: dict[str, Any] = {
        "ref": ref,
        "name": name or f"Actor {ref}",
        "kind": fields.pop("kind", "state"),
        "aliases": list(aliases),
        **fields,
    }
    if parent is not None:
        record["parent"] = parent
    return "actors", record


def link(actor_ref: str, role: str = "participant") -> dict[str, Any]:
    return {"actor": actor_ref, "role": role}


def cite(document_ref: str, credibility: int = 6, excerpt: str | None = None) -> dict[str, Any]:
    return {"document": document_ref, "credibility": credibility, "excerpt": excerpt}


def event(
    ref: str,
    start: str = "2025-01-01",
    end: str | None = None,
    title: str | None = None,
    actors: Iterable[dict[str, Any]] = (),
    citations: Iterable[dict[str, Any]] = (),
    **fields: Any,
) -> Record:
    record: dict[str, Any] = {
        "ref": ref,
        "title": title or f"Event {ref}",
        "type": fields.pop("type", "armed_clash"),
        "start_date": start,
        "actors": list(actors),
        "citations": list(citations),
        **fields,
    }
    if end is not None:
        record["end_date"] = end
    return "events", record


def statement(
    ref: str,
    speaker: str,
    stated_on: str = "2025-01-01",
    text: str | None = None,
    mentions: Iterable[str] = (),
    **fields: Any,
) -> Record:
    return "statements", {
        "ref": ref,
        "speaker": speaker,
        "stated_on": stated_on,
        "kind": fields.pop("kind", "claim"),
        "text": text or f"Statement {ref}",
        "mentions": list(mentions),
        **fields,
    }


def dataset(*records: Record) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for resource, record in records:
        out.setdefault(resource, []).append(record)
    return out


# --- reading answers ---------------------------------------------------------------------------


def refs(response: Any) -> list[str]:
    """The refs of a list answer's items, in order; the answer must be a 200."""
    assert response.status_code == 200, response.text
    return [item["ref"] for item in response.json()["items"]]


def ref_set(client: TestClient, path: str, params: Any = None) -> set[str]:
    return set(refs(client.get(path, params=params)))


def ids_by_ref(client: TestClient, path: str) -> dict[str, int]:
    return {item["ref"]: item["id"] for item in walk(client, path, {}, limit=500)}


def walk(client: TestClient, path: str, params: Any, limit: int) -> list[dict[str, Any]]:
    """Follow `next_cursor` to the end and return every item served, in order."""
    items: list[dict[str, Any]] = []
    base = list(params.items()) if isinstance(params, dict) else list(params)
    cursor: str | None = None
    for _ in range(10_000):
        query = [*base, ("limit", limit), *([("cursor", cursor)] if cursor else [])]
        response = client.get(path, params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["items"]) <= limit
        items.extend(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            assert "link" not in response.headers
            return items
        assert 'rel="next"' in response.headers["link"]
        assert body["items"], "a page with a next_cursor must not be empty"
    raise AssertionError("pagination did not end")


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    """An RFC 9457 problem with the contract's fields; 422s carry `errors` of {loc, msg}."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body: dict[str, Any] = response.json()
    for name, kind in (("type", str), ("title", str), ("status", int), ("detail", str)):
        assert isinstance(body.get(name), kind), body
    assert body["status"] == status
    assert body["detail"]
    if status == 422:
        assert isinstance(body.get("errors"), list) and body["errors"], body
        for error in body["errors"]:
            assert isinstance(error["loc"], list)
            assert isinstance(error["msg"], str) and error["msg"]
    return body

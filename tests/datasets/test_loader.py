"""The dataset loader: upsert by ref, all or nothing, errors naming resource, ref and field."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import col

from app.actors.model import Actor
from app.core.errors import DatasetError
from app.db import session as db_session
from app.events.model import Event
from app.feed.model import Change
from app.sources.model import Document, Source
from app.statements.model import Statement

Load = Callable[[dict[str, Any]], dict[str, dict[str, int]]]
RESOURCES = ("sources", "documents", "actors", "events", "statements")


def small_dataset() -> dict[str, Any]:
    """One record of every resource, with every kind of reference."""
    return {
        "sources": [{"ref": "src:a", "name": "Source A", "kind": "news_outlet", "reliability": "b"}],
        "documents": [{"ref": "doc:a", "source": "src:a", "title": "Doc A", "url": "https://a.example/1"}],
        "actors": [
            {"ref": "act:child", "name": "Child", "kind": "armed_force", "parent": "act:parent"},
            {"ref": "act:parent", "name": "Parent", "kind": "state", "aliases": ["Parentland"]},
        ],
        "events": [
            {
                "ref": "ev:a",
                "title": "Event A",
                "type": "armed_clash",
                "start_date": "2025-01-02",
                "actors": [{"actor": "act:parent", "role": "side_a"}],
                "citations": [{"document": "doc:a", "credibility": 2, "excerpt": "x"}],
            }
        ],
        "statements": [
            {
                "ref": "st:a",
                "speaker": "act:child",
                "event": "ev:a",
                "document": "doc:a",
                "mentions": ["act:parent"],
                "stated_on": "2025-01-03",
                "text": "Said something",
                "measure": "personnel",
                "value_best": 10,
            }
        ],
    }


def counts(engine: sa.Engine) -> dict[str, int]:
    models = {"sources": Source, "documents": Document, "actors": Actor, "events": Event}
    models["statements"] = Statement
    with engine.connect() as conn:
        result = {
            name: int(conn.scalar(sa.select(sa.func.count()).select_from(model)) or 0)
            for name, model in models.items()
        }
        result["changes"] = int(conn.scalar(sa.select(sa.func.count()).select_from(Change)) or 0)
    return result


def load_error(load: Load, dataset: dict[str, Any]) -> DatasetError:
    with pytest.raises(DatasetError) as info:
        load(dataset)
    return info.value


def test_load_creates_everything_and_reports_counts(load: Load, engine: sa.Engine) -> None:
    report = load(small_dataset())
    assert report == {
        "sources": {"created": 1, "updated": 0, "unchanged": 0},
        "documents": {"created": 1, "updated": 0, "unchanged": 0},
        "actors": {"created": 2, "updated": 0, "unchanged": 0},
        "events": {"created": 1, "updated": 0, "unchanged": 0},
        "statements": {"created": 1, "updated": 0, "unchanged": 0},
    }
    assert counts(engine) == {
        "sources": 1,
        "documents": 1,
        "actors": 2,
        "events": 1,
        "statements": 1,
        "changes": 6,
    }
    with db_session.session_factory()() as session:
        child = session.scalar(sa.select(Actor).where(col(Actor.ref) == "act:child"))
        parent = session.scalar(sa.select(Actor).where(col(Actor.ref) == "act:parent"))
        assert child is not None and parent is not None
        assert child.parent_id == parent.id
        source = session.scalar(sa.select(Source).where(col(Source.ref) == "src:a"))
        assert source is not None and source.reliability == "B"


def test_loading_twice_changes_nothing(load: Load, engine: sa.Engine) -> None:
    load(small_dataset())
    before = counts(engine)
    with engine.connect() as conn:
        stamps = sorted(conn.execute(sa.select(col(Event.ref), col(Event.updated_at))).all())
    report = load(small_dataset())
    for resource in RESOURCES:
        assert report[resource]["created"] == 0
        assert report[resource]["updated"] == 0
    assert sum(r["unchanged"] for r in report.values()) == 6
    assert counts(engine) == before  # no new rows, no new change-feed entries
    with engine.connect() as conn:
        assert sorted(conn.execute(sa.select(col(Event.ref), col(Event.updated_at))).all()) == stamps


def test_demo_loads_twice_idempotently(load: Load, engine: sa.Engine) -> None:
    from app.datasets.demo import demo_dataset

    first = load(demo_dataset())
    before = counts(engine)
    second = load(demo_dataset())
    for resource in RESOURCES:
        assert second[resource] == {"created": 0, "updated": 0, "unchanged": first[resource]["created"]}
    assert counts(engine) == before


def test_upsert_by_ref_updates_in_place(load: Load, engine: sa.Engine) -> None:
    load(small_dataset())
    with engine.connect() as conn:
        event_id = conn.scalar(sa.select(col(Event.id)).where(col(Event.ref) == "ev:a"))
    changed = small_dataset()
    changed["events"][0]["title"] = "Event A, renamed"
    changed["events"][0]["actors"].append({"actor": "act:child", "role": "side_b"})
    changed["actors"][1]["aliases"] = ["Parentland", "Fatherland"]
    report = load(changed)
    assert report["events"] == {"created": 0, "updated": 1, "unchanged": 0}
    assert report["actors"] == {"created": 0, "updated": 1, "unchanged": 1}
    assert report["statements"] == {"created": 0, "updated": 0, "unchanged": 1}
    with engine.connect() as conn:
        assert conn.scalar(sa.select(col(Event.id)).where(col(Event.ref) == "ev:a")) == event_id
        assert conn.scalar(sa.select(col(Event.title)).where(col(Event.ref) == "ev:a")) == "Event A, renamed"
        feed = conn.execute(sa.select(col(Change.resource), col(Change.ref)).order_by(col(Change.seq))).all()
    assert feed[-2:] in (
        [("actors", "act:parent"), ("events", "ev:a")],
        [("events", "ev:a"), ("actors", "act:parent")],
    )
    assert len(feed) == 8


def test_new_record_added_to_loaded_file(load: Load) -> None:
    load(small_dataset())
    more = small_dataset()
    more["sources"].append({"ref": "src:b", "name": "Source B", "kind": "ngo"})
    report = load(more)
    assert report["sources"] == {"created": 1, "updated": 0, "unchanged": 1}


def test_partial_file_leaves_other_rows_alone(load: Load, engine: sa.Engine) -> None:
    load(small_dataset())
    report = load(
        {"sources": [{"ref": "src:a", "name": "Source A", "kind": "news_outlet", "reliability": "B"}]}
    )
    assert report["sources"] == {"created": 0, "updated": 0, "unchanged": 1}
    assert counts(engine)["events"] == 1


@pytest.mark.parametrize(
    ("resource", "index", "field", "value", "ref", "named_field"),
    [
        ("sources", 0, "kind", "newspaper", "src:a", "kind"),
        ("sources", 0, "country", "XX", "src:a", "country"),
        ("documents", 0, "published_on", "not-a-date", "doc:a", "published_on"),
        ("actors", 1, "kind", "nation", "act:parent", "kind"),
        ("events", 0, "end_date", "2024-12-31", "ev:a", "end_date"),
        ("events", 0, "longitude", 20.5, "ev:a", "latitude"),
        ("events", 0, "fatalities_low", -1, "ev:a", "fatalities_low"),
        ("events", 0, "latitude", 91, "ev:a", "latitude"),
        ("statements", 0, "credibility", 7, "st:a", "credibility"),
        ("statements", 0, "measure", None, "st:a", "measure"),
        ("statements", 0, "value_low", 11, "st:a", "value_best"),
    ],
)
def test_invalid_record_loads_nothing(
    load: Load,
    engine: sa.Engine,
    resource: str,
    index: int,
    field: str,
    value: Any,
    ref: str,
    named_field: str | None,
) -> None:
    dataset = small_dataset()
    dataset[resource][index][field] = value
    error = load_error(load, dataset)
    assert error.resource == resource
    assert error.ref == ref
    if named_field:
        assert error.field == named_field
        assert named_field in str(error)
    assert ref in str(error)
    assert counts(engine) == dict.fromkeys(
        ("sources", "documents", "actors", "events", "statements", "changes"), 0
    )


def test_invalid_last_record_rolls_back_earlier_resources(load: Load, engine: sa.Engine) -> None:
    dataset = small_dataset()
    dataset["statements"][0]["kind"] = "rumour"
    error = load_error(load, dataset)
    assert (error.resource, error.ref, error.field) == ("statements", "st:a", "kind")
    assert sum(counts(engine).values()) == 0


def test_invalid_update_keeps_stored_rows(load: Load, engine: sa.Engine) -> None:
    load(small_dataset())
    before = counts(engine)
    dataset = small_dataset()
    dataset["sources"][0]["name"] = "Renamed"
    dataset["events"][0]["type"] = "skirmish"
    load_error(load, dataset)
    assert counts(engine) == before
    with engine.connect() as conn:
        assert conn.scalar(sa.select(col(Source.name))) == "Source A"


@pytest.mark.parametrize(
    ("mutate", "resource", "ref", "field"),
    [
        (lambda d: d["documents"][0].update(source="src:nope"), "documents", "doc:a", "source"),
        (lambda d: d["actors"][0].update(parent="act:nope"), "actors", "act:child", "parent"),
        (
            lambda d: d["events"][0]["actors"][0].update(actor="act:nope"),
            "events",
            "ev:a",
            "actors.0.actor",
        ),
        (
            lambda d: d["events"][0]["citations"][0].update(document="doc:nope"),
            "events",
            "ev:a",
            "citations.0.document",
        ),
        (lambda d: d["statements"][0].update(speaker="act:nope"), "statements", "st:a", "speaker"),
        (lambda d: d["statements"][0].update(event="ev:nope"), "statements", "st:a", "event"),
        (lambda d: d["statements"][0].update(document="doc:nope"), "statements", "st:a", "document"),
        (
            lambda d: d["statements"][0].update(mentions=["act:parent", "act:nope"]),
            "statements",
            "st:a",
            "mentions.1",
        ),
    ],
)
def test_unknown_ref_reference(
    load: Load,
    engine: sa.Engine,
    mutate: Callable[[dict[str, Any]], None],
    resource: str,
    ref: str,
    field: str,
) -> None:
    dataset = small_dataset()
    mutate(dataset)
    error = load_error(load, dataset)
    assert (error.resource, error.ref, error.field) == (resource, ref, field)
    assert "nope" in error.message
    assert sum(counts(engine).values()) == 0


def test_reference_to_row_loaded_earlier(load: Load) -> None:
    load(small_dataset())
    report = load(
        {
            "actors": [
                {"ref": "act:grandchild", "name": "Grandchild", "kind": "person", "parent": "act:child"}
            ],
            "statements": [
                {
                    "ref": "st:b",
                    "speaker": "act:grandchild",
                    "event": "ev:a",
                    "stated_on": "2025-01-05",
                    "text": "t",
                }
            ],
        }
    )
    assert report["actors"]["created"] == 1
    assert report["statements"]["created"] == 1


def test_parent_defined_after_child_in_deep_chain(load: Load, engine: sa.Engine) -> None:
    dataset = {
        "actors": [
            {"ref": "a:4", "name": "Four", "kind": "person", "parent": "a:3"},
            {"ref": "a:3", "name": "Three", "kind": "armed_group", "parent": "a:2"},
            {"ref": "a:2", "name": "Two", "kind": "armed_force", "parent": "a:1"},
            {"ref": "a:1", "name": "One", "kind": "state"},
        ]
    }
    assert load(dataset)["actors"]["created"] == 4
    with engine.connect() as conn:
        rows = dict(conn.execute(sa.select(col(Actor.ref), col(Actor.id))).tuples().all())
        parents = dict(conn.execute(sa.select(col(Actor.ref), col(Actor.parent_id))).tuples().all())
    assert parents == {"a:1": None, "a:2": rows["a:1"], "a:3": rows["a:2"], "a:4": rows["a:3"]}
    assert load(dataset)["actors"] == {"created": 0, "updated": 0, "unchanged": 4}


@pytest.mark.parametrize("size", [1, 2, 3])
def test_parent_cycle_inside_the_file(load: Load, engine: sa.Engine, size: int) -> None:
    refs = [f"a:{n}" for n in range(size)]
    dataset = {
        "actors": [
            {"ref": ref, "name": ref.upper(), "kind": "other", "parent": refs[(n + 1) % size]}
            for n, ref in enumerate(refs)
        ]
    }
    error = load_error(load, dataset)
    assert error.resource == "actors"
    assert error.ref in refs
    assert error.field in ("parent", "parent_id")
    assert counts(engine)["actors"] == 0


def test_cycle_through_stored_actors(load: Load, engine: sa.Engine) -> None:
    load(small_dataset())
    dataset = small_dataset()
    dataset["actors"][1]["parent"] = "act:child"  # parent under its own child, both in the file
    error = load_error(load, dataset)
    assert (error.resource, error.field) == ("actors", "parent")
    assert error.ref in ("act:parent", "act:child")
    # only the parent in the file: the loop closes through the stored child
    parent = {**small_dataset()["actors"][1], "parent": "act:child"}
    error = load_error(load, {"actors": [parent]})
    assert (error.resource, error.ref, error.field) == ("actors", "act:parent", "parent")
    with engine.connect() as conn:
        assert conn.scalar(sa.select(col(Actor.parent_id)).where(col(Actor.ref) == "act:parent")) is None


def test_duplicate_refs_in_file(load: Load, engine: sa.Engine) -> None:
    dataset = small_dataset()
    dataset["sources"].append({"ref": "src:a", "name": "Other", "kind": "ngo"})
    error = load_error(load, dataset)
    assert (error.resource, error.ref, error.field) == ("sources", "src:a", "ref")
    assert sum(counts(engine).values()) == 0


def test_missing_ref(load: Load) -> None:
    error = load_error(load, {"sources": [{"name": "No ref", "kind": "ngo"}]})
    assert (error.resource, error.field) == ("sources", "ref")


@pytest.mark.parametrize(
    ("actors", "bad_ref", "field"),
    [
        # the same alias, in another case, on two actors
        (
            [
                {"ref": "a:1", "name": "One", "kind": "state", "aliases": ["Shared"]},
                {"ref": "a:2", "name": "Two", "kind": "state", "aliases": ["SHARED"]},
            ],
            "a:2",
            "aliases",
        ),
        # an alias equal to another actor's name
        (
            [
                {"ref": "a:1", "name": "One", "kind": "state"},
                {"ref": "a:2", "name": "Two", "kind": "state", "aliases": ["one"]},
            ],
            "a:2",
            "aliases",
        ),
        # two names equal case-insensitively
        (
            [
                {"ref": "a:1", "name": "One", "kind": "state"},
                {"ref": "a:2", "name": "ONE", "kind": "state"},
            ],
            "a:2",
            "name",
        ),
    ],
)
def test_name_and_alias_clashes_in_file(
    load: Load, engine: sa.Engine, actors: list[dict[str, Any]], bad_ref: str, field: str
) -> None:
    error = load_error(load, {"actors": actors})
    assert (error.resource, error.ref, error.field) == ("actors", bad_ref, field)
    assert counts(engine)["actors"] == 0


def test_alias_clash_with_stored_actor(load: Load, engine: sa.Engine) -> None:
    load(small_dataset())
    error = load_error(
        load, {"actors": [{"ref": "a:new", "name": "New", "kind": "state", "aliases": ["parentLAND"]}]}
    )
    assert (error.resource, error.ref, error.field) == ("actors", "a:new", "aliases")
    error = load_error(load, {"actors": [{"ref": "a:new", "name": "parentland", "kind": "state"}]})
    assert (error.resource, error.ref, error.field) == ("actors", "a:new", "name")
    assert counts(engine)["actors"] == 2


def test_alias_can_move_between_actors_in_one_file(load: Load, engine: sa.Engine) -> None:
    """Taking an alias from one actor and giving it to another in the same load is fine."""
    load(small_dataset())
    dataset = small_dataset()
    dataset["actors"][1]["aliases"] = []
    dataset["actors"][0]["aliases"] = ["Parentland"]
    report = load(dataset)
    assert report["actors"] == {"created": 0, "updated": 2, "unchanged": 0}


def test_duplicate_source_name_case_insensitive(load: Load) -> None:
    load(small_dataset())
    error = load_error(load, {"sources": [{"ref": "src:b", "name": "SOURCE a", "kind": "ngo"}]})
    assert (error.resource, error.ref, error.field) == ("sources", "src:b", "name")


def test_duplicate_document_url(load: Load) -> None:
    load(small_dataset())
    error = load_error(
        load, {"documents": [{"ref": "doc:b", "source": "src:a", "title": "B", "url": "https://a.example/1"}]}
    )
    assert (error.resource, error.ref, error.field) == ("documents", "doc:b", "url")


@pytest.mark.parametrize(
    "dataset",
    [
        [],
        {"sources": {"ref": "x"}},
        {"widgets": []},
        {"sources": ["not an object"]},
        {"events": [{"ref": "e", "title": "t", "type": "riot", "start_date": "2025-01-01", "actors": "x"}]},
    ],
)
def test_malformed_files(load: Load, dataset: Any) -> None:
    load_error(load, dataset)


def test_read_only_keys_are_ignored(load: Load) -> None:
    dataset = small_dataset()
    dataset["sources"][0].update(id=999, created_at="2000-01-01T00:00:00Z")
    assert load(dataset)["sources"]["created"] == 1


def test_end_date_defaults_to_start_date(load: Load, engine: sa.Engine) -> None:
    load(small_dataset())
    with engine.connect() as conn:
        row = conn.execute(sa.select(col(Event.start_date), col(Event.end_date))).one()
    assert row.start_date == row.end_date


def test_unchanged_file_after_modification_is_updated_back(load: Load) -> None:
    original = small_dataset()
    load(original)
    modified = copy.deepcopy(original)
    modified["statements"][0]["mentions"] = []
    assert load(modified)["statements"]["updated"] == 1
    assert load(original)["statements"]["updated"] == 1
    assert load(original)["statements"]["unchanged"] == 1

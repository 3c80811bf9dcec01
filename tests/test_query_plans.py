"""No read query scans a whole table where an index could serve it, on either database.

The SQL is not written down here: the test issues real requests through the app (every list with
each filter family, cursor pages, single reads, exports, timeline, facets, claims), captures every
statement the engine sends with its parameters, and asks the database for each one's plan
(`EXPLAIN QUERY PLAN` on SQLite, `EXPLAIN (FORMAT JSON)` on PostgreSQL). So the test keeps
checking whatever SQL the read path issues after it is rewritten.

The rule, the same on both databases:

- a lookup by key (SQLite `SEARCH`, PostgreSQL an index scan with an `Index Cond`, or a bitmap
  index scan) is always fine;
- reading a table in full (SQLite `SCAN t`, `SCAN t USING [COVERING] INDEX i`; PostgreSQL a
  `Seq Scan`, or an index scan with no `Index Cond`) is a failure, with two exceptions:
  * the *ordered walk* of the driving table of a sorted, LIMITed statement ("newest 50":
    `SCAN event USING INDEX ix_event_start_date_id` under a LIMIT with no sort step). It stops
    after LIMIT rows and is how both databases answer a sorted page; on SQLite only the
    outermost loop of the top-level query qualifies, on PostgreSQL only an index scan that feeds
    a Limit without passing through a Sort;
  * a table the request reads in full by its nature, declared with the request below: an
    unfiltered aggregate counts every row, and `q` (a substring match, which no B-tree index can
    serve) may scan the table it searches, and nothing else.
- the embedded-row tables (citation, event_actor, statement_mention, actor_alias) are never
  exempt as a driving table: their rows are looked up by owner id, so a full read of them is a
  missing index. Documents, sources and actors fetched by id for a page are caught too: such a
  lookup has no LIMIT, and only a walk under a LIMIT qualifies (their own lists may walk).

Plans are taken as the databases would make them on production-sized tables. Both are ANALYZEd
on a dataset of a few thousand rows made through the loader plus the demo data; then, inside a
transaction that is rolled back, every table's row count is multiplied by 1,000 with the rows per
key unchanged (`sqlite_stat1` on SQLite, `pg_class.reltuples` on PostgreSQL). Without that, a
small table is cheaper to read whole, and an `IN` of 500 page ids on a 1,500-row table is a scan
on both databases whatever the indexes. PostgreSQL additionally plans with `enable_seqscan`,
`enable_hashjoin` and `enable_mergejoin` off, so it uses any index that can serve; a full read
that remains means none can.

A cursor page must start its walk at the cursor: for those requests the ordered-walk exception
does not apply. Known gaps whose fix lies in the list SQL, not in an index, are listed in
KNOWN_GAPS with the reason.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from app.core.enums import ActorKind, ActorRole, EventType, RelationType, SourceKind, StatementKind
from app.events.read import EventSort

# --- a dataset big enough for realistic plans ------------------------------------------------------

COUNTRIES = ["UA", "BY", "RU", "PL", "LT", "LV", "EE", "SY", "ML", "SD", "CD", "MM"]
RELIABILITY_MIX = "AABBBBCCCCCDDEF"


def bulk_dataset(events: int = 1500, seed: int = 7) -> dict[str, Any]:
    """Deterministic data of dashboard shape: actor trees, graded sources, 0-4 citations per
    event, multi-day events, heavy-tailed fatalities, statements with competing claims."""
    rng = random.Random(seed)
    sources: list[dict[str, Any]] = [
        {
            "ref": f"bs:{i}",
            "name": f"Bulk source {i}",
            "kind": rng.choice(list(SourceKind)).value,
            "country": rng.choice(COUNTRIES),
            "reliability": rng.choice(RELIABILITY_MIX),
        }
        for i in range(60)
    ]
    documents = [
        {
            "ref": f"bd:{i}",
            "source": f"bs:{rng.randrange(60)}",
            "title": f"Bulk document {i}",
            "published_on": (date(2020, 1, 1) + timedelta(days=rng.randrange(2000))).isoformat(),
        }
        for i in range(400)
    ]
    actors: list[dict[str, Any]] = []
    for root in range(12):
        actors.append(
            {
                "ref": f"ba:{root}",
                "name": f"Bulk state {root}",
                "kind": ActorKind.state.value,
                "country": COUNTRIES[root],
                "aliases": [f"Republic {root}"],
            }
        )
        for child in range(4):
            actors.append(
                {
                    "ref": f"ba:{root}.{child}",
                    "name": f"Bulk force {root}.{child}",
                    "kind": ActorKind.armed_force.value,
                    "parent": f"ba:{root}",
                }
            )
            for grandchild in range(2):
                actors.append(
                    {
                        "ref": f"ba:{root}.{child}.{grandchild}",
                        "name": f"Bulk unit {root}.{child}.{grandchild}",
                        "kind": ActorKind.armed_group.value,
                        "parent": f"ba:{root}.{child}",
                    }
                )
    actor_refs = [a["ref"] for a in actors]
    event_records = []
    for i in range(events):
        start = date(2020, 1, 1) + timedelta(days=rng.randrange(2190))
        best = int(rng.paretovariate(1.2)) - 1
        record: dict[str, Any] = {
            "ref": f"be:{i}",
            "title": f"Bulk event {i} {rng.choice(['clash', 'shelling', 'raid', 'march'])}",
            "type": rng.choice(list(EventType)).value,
            "start_date": start.isoformat(),
            "end_date": (start + timedelta(days=rng.choice([0, 0, 0, 1, 3]))).isoformat(),
            "country": rng.choice([*COUNTRIES, None]),
            "fatalities_low": best,
            "fatalities_best": best,
            "fatalities_high": best * 2,
            "description": rng.choice([None, "Reported by local media.", "Artillery exchange."]),
        }
        if rng.random() < 0.7:
            record["latitude"] = round(rng.uniform(35, 60), 4)
            record["longitude"] = round(rng.uniform(20, 45), 4)
        pairs = {(rng.choice(actor_refs), rng.choice(list(ActorRole)).value) for _ in range(rng.randrange(4))}
        record["actors"] = [{"actor": a, "role": r} for a, r in sorted(pairs)]
        record["citations"] = [
            {"document": f"bd:{d}", "credibility": rng.randint(1, 6)}
            for d in rng.sample(range(400), rng.randrange(5))
        ]
        event_records.append(record)
    statements = []
    for i in range(500):
        statement: dict[str, Any] = {
            "ref": f"bst:{i}",
            "speaker": rng.choice(actor_refs),
            "stated_on": (date(2020, 1, 1) + timedelta(days=rng.randrange(2190))).isoformat(),
            "kind": rng.choice(list(StatementKind)).value,
            "text": f"Bulk statement {i}",
            "credibility": rng.randint(1, 6),
            "mentions": sorted(set(rng.sample(actor_refs, rng.randrange(3)))),
        }
        if rng.random() < 0.8:
            statement["event"] = f"be:{rng.randrange(events)}"
        if rng.random() < 0.7:
            statement["document"] = f"bd:{rng.randrange(400)}"
        if "event" in statement and rng.random() < 0.6:
            statement["measure"] = rng.choice(["fatalities", "personnel"])
            statement["value_best"] = rng.choice([10, 20, 100, 1000])
        statements.append(statement)
    # aliases of some sources, relations between some events (part_of only to an earlier
    # event, so never a cycle), drawn apart so the rest of the data stays as it was
    extra = random.Random(seed + 1)
    for number, record in enumerate(sources):
        if number % 3 == 0:
            record["aliases"] = [f"Bulk outlet {number}", f"BO{number}"]
    for number, record in enumerate(event_records):
        if number and extra.random() < 0.4:
            kinds = [kind.value for kind in RelationType]
            chosen = {(extra.choice(kinds), extra.randrange(number)) for _ in range(extra.randint(1, 3))}
            record["relations"] = [{"type": kind, "event": f"be:{other}"} for kind, other in sorted(chosen)]
    return {
        "sources": sources,
        "documents": documents,
        "actors": actors,
        "events": event_records,
        "statements": statements,
    }


# --- capturing the SQL the app issues ---------------------------------------------------------------


@dataclass(frozen=True)
class Captured:
    """One statement the app sent, and what the request that sent it may read in full."""

    request: str
    sql: str
    parameters: Any
    full_reads: frozenset[str]
    resumes: bool = False  # a cursor page: its walk must start at the cursor, through the index


@contextmanager
def capture(
    engine: sa.Engine, sink: list[Captured], request: str, full_reads: frozenset[str], resumes: bool = False
) -> Iterator[None]:
    """Record every SELECT the engine executes while the block runs."""

    def record(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
    ) -> None:
        if not executemany and re.match(r"\s*(WITH|SELECT)\b", statement, re.IGNORECASE):
            sink.append(Captured(request, statement, parameters, full_reads, resumes))

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


# --- the plan classifier ------------------------------------------------------------------------------

EMBEDDED = frozenset({"citation", "event_actor", "statement_mention", "actor_alias"})
LIMITED = re.compile(r"\bLIMIT\s+\S+(\s+OFFSET\s+\S+)?\s*$", re.IGNORECASE)

SQLITE_ACCESS = re.compile(
    r"^(?P<op>SCAN|SEARCH) (?P<table>\w+)(?: AS (?P<alias>\w+))?"
    r"(?: USING (?P<how>COVERING INDEX|INDEX|INTEGER PRIMARY KEY|PRIMARY KEY)(?: (?P<index>\w+))?)?"
)


def sqlite_violations(
    rows: list[tuple[int, int, str]],
    tables: frozenset[str],
    full_reads: frozenset[str],
    walks: bool = True,
) -> list[str]:
    """Full reads in an `EXPLAIN QUERY PLAN` answer (rows of id, parent, detail)."""
    top_level = [detail for _, parent, detail in rows if parent == 0]
    sorted_afterwards = any("TEMP B-TREE FOR ORDER BY" in d for d in top_level)
    first_loop = next((d for d in top_level if SQLITE_ACCESS.match(d)), None)
    found = []
    for _, parent, detail in rows:
        access = SQLITE_ACCESS.match(detail)
        if not access or access["table"] not in tables or access["op"] == "SEARCH":
            continue
        table = access["table"]
        if table in full_reads:
            continue
        ordered_walk = (
            walks
            and parent == 0
            and detail == first_loop
            and access["how"] in ("INDEX", "COVERING INDEX")
            and not sorted_afterwards
            and table not in EMBEDDED
        )
        if not ordered_walk:
            found.append(detail)
    return found


def _pg_nodes(node: dict[str, Any], under_limit: bool) -> Iterator[tuple[dict[str, Any], bool]]:
    """Every plan node, with whether rows flow from it to a Limit without a Sort between."""
    kind = node["Node Type"]
    if kind == "Limit":
        under_limit = True
    elif kind in ("Sort", "Incremental Sort", "Aggregate", "Hash", "Materialize", "Unique", "Hash Join"):
        under_limit = False
    yield node, under_limit
    for child in node.get("Plans", []):
        relationship = child.get("Parent Relationship")
        # a subplan's rows, or a nested loop's inner side, are not what the Limit stops early
        if relationship in ("InitPlan", "SubPlan") or (kind == "Nested Loop" and relationship == "Inner"):
            yield from _pg_nodes(child, False)
        else:
            yield from _pg_nodes(child, under_limit)


def postgresql_violations(
    plan: dict[str, Any], tables: frozenset[str], full_reads: frozenset[str], walks: bool = True
) -> list[str]:
    """Full reads in an `EXPLAIN (FORMAT JSON)` plan."""
    found = []
    for node, under_limit in _pg_nodes(plan["Plan"], False):
        table = node.get("Relation Name")
        if table not in tables or table in full_reads:
            continue
        kind = node["Node Type"]
        if kind == "Seq Scan":
            found.append(f"Seq Scan on {table}")
        elif kind in ("Index Scan", "Index Only Scan") and "Index Cond" not in node:
            ordered_walk = walks and under_limit and table not in EMBEDDED
            if not ordered_walk:
                found.append(f"{kind} using {node.get('Index Name')} on {table} (no Index Cond)")
    return found


# --- explaining captured statements -------------------------------------------------------------------


def explain(conn: sa.Connection, captured: Captured) -> tuple[str, Any]:
    if conn.dialect.name == "sqlite":
        rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {captured.sql}", captured.parameters).all()
        return "\n".join(f"{r[0]:>3} {r[1]:>3} {r[3]}" for r in rows), [(r[0], r[1], r[3]) for r in rows]
    plan = conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {captured.sql}", captured.parameters).scalar_one()
    plan = plan if isinstance(plan, list) else json.loads(plan)
    return json.dumps(plan, indent=1), plan[0]


def violations_of(conn: sa.Connection, captured: Captured, tables: frozenset[str]) -> tuple[list[str], str]:
    text, plan = explain(conn, captured)
    if conn.dialect.name == "sqlite":
        walks = bool(LIMITED.search(captured.sql.strip())) and not captured.resumes
        return sqlite_violations(plan, tables, captured.full_reads, walks), text
    return postgresql_violations(plan, tables, captured.full_reads, not captured.resumes), text


STATISTICS_SCALE = 1000


def scale_sqlite_statistics(conn: sa.Connection, factor: int) -> None:
    """Make SQLite plan as if every table had `factor` times its rows, with the same rows per
    key: the ANALYZE figures of the test data stand for production-sized tables."""
    rows = conn.exec_driver_sql("SELECT tbl, idx, stat FROM sqlite_stat1").all()
    for table, index, stat in rows:
        count, *per_key = stat.split(" ")
        scaled = " ".join([str(int(count) * factor), *per_key])
        conn.exec_driver_sql(
            "UPDATE sqlite_stat1 SET stat = ? WHERE tbl = ? AND idx IS ?", (scaled, table, index)
        )
    conn.exec_driver_sql("ANALYZE sqlite_schema")  # reload the statistics into the planner


def scale_postgresql_statistics(conn: sa.Connection, factor: int) -> None:
    """The same on PostgreSQL: the planner takes a table's rows as its pages times the ANALYZEd
    rows per page, so scaling `reltuples` scales every table and index (this transaction only)."""
    conn.exec_driver_sql(
        "UPDATE pg_class SET reltuples = reltuples * %(factor)s "
        "WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'i') AND reltuples > 0",
        {"factor": factor},
    )


@contextmanager
def planning_connection(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A connection in a transaction that is always rolled back; on PostgreSQL with the planner
    told to use any index that can serve."""
    with engine.connect() as conn:
        transaction = conn.begin()
        try:
            if conn.dialect.name == "postgresql":
                scale_postgresql_statistics(conn, STATISTICS_SCALE)
                for setting in ("enable_seqscan", "enable_hashjoin", "enable_mergejoin"):
                    conn.exec_driver_sql(f"SET LOCAL {setting} = off")
            else:
                scale_sqlite_statistics(conn, STATISTICS_SCALE)
            yield conn
        finally:
            transaction.rollback()


def report(failures: list[tuple[Captured, list[str], str]]) -> str:
    parts = []
    for captured, found, plan in failures:
        parts.append(
            f"request: {captured.request}\nfull reads: {found}\nsql: {captured.sql}\n"
            f"parameters: {captured.parameters}\nplan:\n{plan}\n"
        )
    return "\n".join(parts)


# --- the requests ---------------------------------------------------------------------------------------

Request = tuple[str, dict[str, Any], frozenset[str]]
NONE: frozenset[str] = frozenset()
EVENTS = frozenset({"event"})
# An unfiltered aggregate counts every event, and every actor link or citation per field.
EVERYTHING = frozenset({"event", "event_actor", "citation", "document"})


def event_filters() -> list[dict[str, Any]]:
    return [
        {"actor": "Bulk state 3"},
        {"actor": "Bulk state 3", "date_from": "2024-01-01", "date_to": "2024-03-31"},
        {"actor": "Bulk force 3.1", "include_descendants": "false", "role": ["side_a", "side_b"]},
        {"actor_id": "1"},
        {"date_from": "2023-06-01", "date_to": "2023-06-30"},
        {"date_from": "2025-06-01"},
        {"type": ["protest", "riot"]},
        {"country": "ua"},
        {"country": ["by", "pl"], "type": "armed_clash"},
        {"min_reliability": "b"},
        {"min_credibility": "2"},
        {"min_sources": "2"},
        {"min_reliability": "b", "min_sources": "2", "country": "ua"},
        {"bbox": "24,50,32,56"},
        {"bbox": "24,50,32,56", "type": "armed_clash"},
        {"contested": "true"},
        {"contested": "false", "country": "ua"},
    ]


def requests_for(client: TestClient) -> list[Request]:
    """Every read route with each filter family; ids come from the data itself."""
    lists: list[Request] = []
    for params in event_filters():
        lists.append(("/v1/events", params, NONE))
    for sort in (s.value for s in EventSort):
        lists.append(("/v1/events", {"sort": sort}, NONE))
        lists.append(("/v1/events", {"sort": sort, "country": "ua", "limit": "10"}, NONE))
    lists += [
        ("/v1/events", {}, NONE),
        ("/v1/events", {"limit": "500"}, NONE),
        ("/v1/events", {"q": "shelling"}, EVENTS),
        ("/v1/events", {"q": "artillery", "country": "ua"}, EVENTS),
        ("/v1/statements", {}, NONE),
        ("/v1/statements", {"sort": "stated_on"}, NONE),
        ("/v1/statements", {"actor": "Bulk state 2"}, NONE),
        ("/v1/statements", {"actor": "Bulk state 2", "role": "mentioned"}, NONE),
        ("/v1/statements", {"actor": "Bulk state 2", "role": "speaker"}, NONE),
        ("/v1/statements", {"event_id": "5"}, NONE),
        ("/v1/statements", {"kind": "claim", "min_credibility": "3"}, NONE),
        ("/v1/statements", {"measure": "PERSONNEL"}, NONE),
        ("/v1/statements", {"min_reliability": "b"}, NONE),
        ("/v1/statements", {"date_from": "2022-01-01", "date_to": "2022-02-01"}, NONE),
        ("/v1/statements", {"q": "statement 4"}, frozenset({"statement"})),
        ("/v1/actors", {}, NONE),
        ("/v1/actors", {"kind": "state"}, NONE),
        ("/v1/actors", {"country": "by"}, NONE),
        ("/v1/actors", {"parent_id": "1"}, NONE),
        ("/v1/actors", {"q": "republic"}, frozenset({"actor", "actor_alias"})),
        ("/v1/sources", {}, NONE),
        ("/v1/sources", {"min_reliability": "b"}, NONE),
        ("/v1/sources", {"kind": "government", "country": "ua"}, NONE),
        ("/v1/sources", {"q": "source 1"}, frozenset({"source"})),
        ("/v1/documents", {}, NONE),
        ("/v1/documents", {"source_id": "3"}, NONE),
        ("/v1/documents", {"date_from": "2023-01-01", "date_to": "2023-03-01"}, NONE),
        ("/v1/documents", {"q": "document 1"}, frozenset({"document"})),
    ]
    requests = list(lists)
    # cursor pages: the second and third page of the main lists and sorts
    for path, params in [
        ("/v1/events", {}),
        ("/v1/events", {"sort": "fatalities_best"}),
        ("/v1/events", {"sort": "-updated_at"}),
        ("/v1/events", {"country": "ua"}),
        ("/v1/statements", {}),
        ("/v1/actors", {}),
        ("/v1/sources", {}),
        ("/v1/documents", {}),
    ]:
        page = client.get(path, params={**params, "limit": "20"}).json()
        for _ in range(2):
            if page["next_cursor"] is None:
                break
            requests.append((path, {**params, "limit": "20", "cursor": page["next_cursor"]}, NONE))
            page = client.get(path, params={**params, "limit": "20", "cursor": page["next_cursor"]}).json()
    # single reads
    for resource in ("events", "statements", "actors", "sources", "documents"):
        for item in client.get(f"/v1/{resource}", params={"limit": "3"}).json()["items"]:
            requests.append((f"/v1/{resource}/{item['id']}", {}, NONE))
    requests.append(("/v1/events/999999", {}, NONE))
    # claims of events that have some
    for statement in client.get("/v1/statements", params={"measure": "fatalities", "limit": "3"}).json()[
        "items"
    ]:
        requests.append((f"/v1/events/{statement['event_id']}/claims", {}, NONE))
    # event relations, both ways, to every depth
    related = client.get("/v1/events", params={"limit": "5", "sort": "-updated_at"}).json()["items"]
    for item in related:
        for depth in ("1", "3"):
            requests.append((f"/v1/events/{item['id']}/related", {"depth": depth}, NONE))
    # sources by name or alias
    requests += [
        ("/v1/events", {"source": "Bulk source 3"}, NONE),
        ("/v1/events", {"source": ["BO3", "Bulk source 7"], "country": "ua"}, NONE),
        ("/v1/events", {"source": "bulk outlet 6", "min_sources": "2"}, NONE),
        ("/v1/documents", {"source": "BO9"}, NONE),
        ("/v1/statements", {"source": "Bulk source 4"}, NONE),
        ("/v1/events/timeline", {"interval": "month", "source": "BO3"}, NONE),
    ]
    # exports (1,500+ events: more than one chunk)
    for fmt in ("csv", "ndjson", "geojson"):
        requests.append(("/v1/events/export", {"format": fmt}, NONE))
    requests += [
        ("/v1/events/export", {"format": "csv", "country": "ua", "sort": "fatalities_best"}, NONE),
        ("/v1/events/export", {"format": "ndjson", "actor": "Bulk state 3"}, NONE),
        ("/v1/statements/export", {"format": "csv"}, NONE),
        ("/v1/statements/export", {"format": "ndjson", "actor": "Bulk state 2"}, NONE),
    ]
    # dashboards
    requests += [
        ("/v1/events/timeline", {"interval": "month"}, EVENTS),
        ("/v1/events/timeline", {"interval": "month", "group_by": "type"}, EVENTS),
        (
            "/v1/events/timeline",
            {"interval": "year", "group_by": "actor"},
            frozenset({"event", "event_actor"}),
        ),
        ("/v1/events/timeline", {"interval": "month", "country": "ua"}, NONE),
        ("/v1/events/timeline", {"interval": "month", "group_by": "type", "country": "ua"}, NONE),
        (
            "/v1/events/timeline",
            {"interval": "week", "date_from": "2024-01-01", "date_to": "2024-06-30"},
            NONE,
        ),
        ("/v1/events/timeline", {"interval": "month", "group_by": "actor", "actor": "Bulk state 3"}, NONE),
        # A count of qualifying sources is taken per event: with no other filter to narrow the
        # events, every event is counted (a list stops after its page; an aggregate cannot).
        ("/v1/events/timeline", {"interval": "month", "min_reliability": "b", "min_sources": "2"}, EVENTS),
        ("/v1/events/facets", {}, EVERYTHING),
        ("/v1/events/facets", {"country": "ua"}, NONE),
        ("/v1/events/facets", {"actor": "Bulk state 3", "date_from": "2024-01-01"}, NONE),
        ("/v1/events/facets", {"type": "armed_clash", "field": ["actor", "source"]}, NONE),
        ("/v1/events/facets", {"date_from": "2024-01-01", "date_to": "2024-02-01"}, NONE),
        ("/v1/events/facets", {"min_reliability": "b", "min_sources": "2", "country": "ua"}, NONE),
        ("/v1/events/facets", {"bbox": "24,50,32,56"}, NONE),
        ("/v1/events/facets", {"q": "shelling"}, EVENTS),
    ]
    return requests


# --- the tests --------------------------------------------------------------------------------------------


@pytest.fixture
def planned(client: TestClient, load: Callable[[dict[str, Any]], Any], engine: sa.Engine) -> list[Captured]:
    """Demo data plus the bulk dataset, ANALYZEd; then every captured read statement."""
    from app.datasets.demo import demo_dataset
    from app.events.read import STORED_EVENTS

    load(demo_dataset())
    load(bulk_dataset())
    # The stored event forms as the server's refresher keeps them, but for the last event
    # written: exports read stored forms and build the missing ones, and both are planned.
    STORED_EVENTS.refresh(engine)
    with engine.begin() as conn:
        conn.execute(
            sa.delete(STORED_EVENTS.table).where(
                STORED_EVENTS.id_column == sa.select(sa.func.max(STORED_EVENTS.id_column)).scalar_subquery()
            )
        )
        conn.exec_driver_sql("ANALYZE")
    captured: list[Captured] = []
    for path, params, full_reads in requests_for(client):
        name = f"GET {path} {params}"
        with capture(engine, captured, name, full_reads, resumes="cursor" in params):
            response = client.get(path, params=params)
        assert response.status_code in (200, 404), (name, response.text)
    # JSON-LD answers (Accept: application/ld+json)
    statements = client.get("/v1/statements", params={"measure": "fatalities", "limit": "3"}).json()["items"]
    linked = [f"/v1/statements/{item['id']}" for item in statements]
    linked += [f"/v1/events/{item['event_id']}/claims" for item in statements]
    for path in linked:
        name = f"GET {path} (JSON-LD)"
        with capture(engine, captured, name, NONE):
            response = client.get(path, headers={"Accept": "application/ld+json"})
        assert response.status_code == 200, (name, response.text)
    assert len(captured) > 100
    return captured


def tables_of(engine: sa.Engine) -> frozenset[str]:
    with engine.connect() as conn:
        return frozenset(sa.inspect(conn).get_table_names())


@dataclass(frozen=True)
class KnownGap:
    """A full read found by this test whose fix lies in the list SQL (app/kit/pagination.py and
    the sort keys of app/<resource>/read.py), not in an index; exempt by name until that SQL
    changes."""

    dialects: frozenset[str]
    requests: re.Pattern[str]
    why: str


KNOWN_GAPS: list[KnownGap] = []


def known_gap(dialect: str, captured: Captured) -> KnownGap | None:
    return next(
        (g for g in KNOWN_GAPS if dialect in g.dialects and g.requests.search(captured.request)), None
    )


def test_no_read_query_reads_a_table_an_index_could_serve(planned: list[Captured], engine: sa.Engine) -> None:
    tables = tables_of(engine)
    failures = []
    with planning_connection(engine) as conn:
        for captured in planned:
            found, plan = violations_of(conn, captured, tables)
            if found and known_gap(conn.dialect.name, captured) is None:
                failures.append((captured, found, plan))
    assert not failures, f"{len(failures)} of {len(planned)} statements read a whole table:\n" + report(
        failures
    )


def test_a_dropped_index_is_caught(planned: list[Captured], engine: sa.Engine) -> None:
    """The rule has teeth: without the indexes led by `event_id` that serve a page's embedded
    citations, the statements that load them read a whole table (citation, or the document
    table when the planner turns the join around)."""
    tables = tables_of(engine)
    with planning_connection(engine) as conn:
        conn.exec_driver_sql("DROP INDEX ix_citation_event_id_document_id")
        conn.exec_driver_sql("DROP INDEX ix_citation_event_id_position_id")
        found = [
            (captured.request, violations)
            for captured in planned
            if known_gap(conn.dialect.name, captured) is None
            for violations in [violations_of(conn, captured, tables)[0]]
            if violations and "citation" in captured.sql
        ]
    assert any(request.startswith("GET /v1/events/") or "/v1/events " in request for request, _ in found), (
        found
    )


# --- the classifier on known plans --------------------------------------------------------------------

TABLES = frozenset({"event", "citation", "event_actor", "actor", "statement"})


def test_sqlite_rule_on_known_plans() -> None:
    newest = [(3, 0, "SCAN event USING INDEX ix_event_start_date_id")]
    assert sqlite_violations(newest, TABLES, NONE) == []
    sorted_after = [
        (3, 0, "SCAN event USING INDEX ix_event_type_start_date"),
        (9, 0, "USE TEMP B-TREE FOR ORDER BY"),
    ]
    assert sqlite_violations(sorted_after, TABLES, NONE) == [
        "SCAN event USING INDEX ix_event_type_start_date"
    ]
    embedded = [(2, 0, "SCAN citation USING INDEX ix_citation_event_id_document_id")]
    assert sqlite_violations(embedded, TABLES, NONE) != []
    inner = [
        (3, 0, "SEARCH event USING INDEX ix_event_country_start_date (country=?)"),
        (7, 0, "SCAN event_actor"),
    ]
    assert sqlite_violations(inner, TABLES, NONE) == ["SCAN event_actor"]
    assert sqlite_violations([(2, 0, "SCAN event")], TABLES, NONE) == ["SCAN event"]
    assert sqlite_violations([(2, 0, "SCAN event")], TABLES, EVENTS) == []
    subquery = [(2, 0, "SCAN matching"), (5, 2, "SEARCH citation USING COVERING INDEX ix_c (event_id=?)")]
    assert sqlite_violations(subquery, TABLES, NONE) == []
    nested = [
        (2, 0, "SEARCH event USING INTEGER PRIMARY KEY (rowid=?)"),
        (5, 2, "SCAN event USING INDEX ix_x"),
    ]
    assert sqlite_violations(nested, TABLES, NONE) == ["SCAN event USING INDEX ix_x"]


def test_postgresql_rule_on_known_plans() -> None:
    def scan(kind: str, table: str, **extra: Any) -> dict[str, Any]:
        return {"Node Type": kind, "Relation Name": table, "Index Name": "ix", **extra}

    newest = {"Plan": {"Node Type": "Limit", "Plans": [scan("Index Scan", "event")]}}
    assert postgresql_violations(newest, TABLES, NONE) == []
    sorted_after = {
        "Plan": {
            "Node Type": "Limit",
            "Plans": [{"Node Type": "Sort", "Plans": [scan("Index Scan", "event")]}],
        }
    }
    assert postgresql_violations(sorted_after, TABLES, NONE) != []
    assert postgresql_violations({"Plan": scan("Seq Scan", "citation")}, TABLES, NONE) == [
        "Seq Scan on citation"
    ]
    assert postgresql_violations({"Plan": scan("Seq Scan", "event")}, TABLES, EVENTS) == []
    keyed = {"Plan": scan("Index Scan", "citation", **{"Index Cond": "(event_id = ANY ($1))"})}
    assert postgresql_violations(keyed, TABLES, NONE) == []
    embedded_walk = {"Plan": {"Node Type": "Limit", "Plans": [scan("Index Only Scan", "citation")]}}
    assert postgresql_violations(embedded_walk, TABLES, NONE) != []
    inner_walk = {
        "Plan": {
            "Node Type": "Limit",
            "Plans": [
                {
                    "Node Type": "Nested Loop",
                    "Plans": [
                        scan("Index Scan", "event", **{"Parent Relationship": "Outer"}),
                        scan("Index Scan", "event", **{"Parent Relationship": "Inner"}),
                    ],
                }
            ],
        }
    }
    assert len(postgresql_violations(inner_walk, TABLES, NONE)) == 1

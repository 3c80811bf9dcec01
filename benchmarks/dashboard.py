"""Dashboard workloads, side by side: the service, Datasette on the same SQLite file, and the raw
SQL the service issues run directly with the driver (the floor).

Each question is asked of every system in turn, request by request (round-robin, the starting
system rotating each round), so a slow minute on the shared machine hurts all three alike.
Concurrency 8 alternates one-second slices between the service and Datasette. Results go to
benchmarks/results/results-<backend>-<size>.json (committed); report.py turns them into the README table and
the chart.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
ROOT = HERE.parent
DATASETTE_VENV = OUT / "datasette-venv"
HEADERS = {"Accept-Encoding": "identity"}  # no compression for either system: time the answers

Params = list[tuple[str, str]]


@dataclass
class Ask:
    """One HTTP request: path and query parameters."""

    path: str
    params: Params = field(default_factory=list)

    def url(self) -> str:
        return self.path + ("?" + urlencode(self.params) if self.params else "")


@dataclass
class Question:
    name: str
    title: str
    kind: str  # list | single | aggregate | export
    service: Ask
    datasette: list[Ask] | None  # several requests are timed together
    datasette_note: str = ""
    index_bound: bool = False
    export_format: str | None = None


# --- processes and memory --------------------------------------------------------------------------


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def process_tree(pid: int) -> list[int]:
    """The process and all its descendants (uvicorn's workers are children of its supervisor)."""
    found = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for child in children:
            found.extend(process_tree(int(child)))
    return found


def tree_rss_mib(pid: int) -> float:
    return sum(rss_kib(p) for p in process_tree(pid)) / 1024


class RssSampler:
    """Peak resident memory of a process tree, sampled every 20 ms in a thread (when `active`;
    otherwise it samples nothing and costs the timed request nothing)."""

    def __init__(self, pid: int, active: bool = True) -> None:
        self.pid = pid
        self.active = active
        self.start = tree_rss_mib(pid) if active else 0.0
        self.peak = self.start
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._done.is_set():
            self.peak = max(self.peak, tree_rss_mib(self.pid))
            time.sleep(0.02)

    def __enter__(self) -> RssSampler:
        if self.active:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.active:
            self._done.set()
            self._thread.join()


def free_port() -> int:
    """A port nobody listens on: two benchmark runs at once must not answer each other's requests."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


SERVICE_PORT = free_port()
DATASETTE_PORT = free_port()


def wait_ready(url: str, server: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server for {url} exited with status {server.returncode}")
        try:
            if httpx.get(url, timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {timeout:.0f} s")


def forget_shared_answers(database_url: str) -> None:
    """Each run starts with no answers shared by an earlier run's workers (PostgreSQL's
    `shared_answer`): the statements captured for the floor are then the aggregates' own, and
    every aggregate is computed once in the run, not read from a run before it."""
    if not database_url.startswith("postgresql"):
        return
    import sqlalchemy as sa

    engine = sa.create_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("TRUNCATE shared_answer")
    finally:
        engine.dispose()


def start_service(database_url: str, workers: int = 2) -> subprocess.Popen[bytes]:
    # every benchmark request comes from one address: the rate limits stay off, as they would
    # for a trusted internal client
    limits_off = {"RATE_LIMIT_PER_MINUTE": "0", "AUTH_FAILURES_PER_MINUTE": "0"}
    env = {**os.environ, "DATABASE_URL": database_url, **limits_off}
    command = [
        sys.executable, "-m", "uvicorn", "app.main:app", "--port", str(SERVICE_PORT),
        "--workers", str(workers), "--log-level", "warning", "--no-access-log",
    ]  # fmt: skip
    server = subprocess.Popen(command, cwd=ROOT, env=env)
    wait_ready(f"http://127.0.0.1:{SERVICE_PORT}/readyz", server)
    return server


def ensure_datasette() -> Path:
    """Datasette in its own venv, so it cannot disturb the project's dependencies."""
    binary = DATASETTE_VENV / "bin" / "datasette"
    if not binary.exists():
        subprocess.run([sys.executable, "-m", "venv", str(DATASETTE_VENV)], check=True)
        subprocess.run(
            [str(DATASETTE_VENV / "bin" / "pip"), "install", "--quiet", "datasette", "sqlite-utils"],
            check=True,
        )
    return binary


def start_datasette(sqlite_file: Path) -> subprocess.Popen[bytes]:
    command = [
        str(ensure_datasette()), "serve", str(sqlite_file), "--port", str(DATASETTE_PORT),
        "--setting", "suggest_facets", "off",
        "--setting", "sql_time_limit_ms", "120000",
        "--setting", "facet_time_limit_ms", "120000",
        # the zero-filled timeline has more rows than the default 1,000
        "--setting", "max_returned_rows", "50000",
        "--setting", "default_page_size", "50",
    ]  # fmt: skip
    server = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_ready(f"http://127.0.0.1:{DATASETTE_PORT}/-/versions.json", server)
    return server


def stop(server: subprocess.Popen[bytes] | None) -> None:
    if server is None:
        return
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


# --- the questions ----------------------------------------------------------------------------------

PAGE = 50
PAGE_NUMBER = 200


def where(*clauses: str) -> Params:
    return [("_where", f"({c})") for c in clauses]


def ds_table(db: str, params: Params) -> Ask:
    return Ask(f"/{db}/event.json", [*params, ("_shape", "objects"), ("_nocount", "1")])


def ds_sql(db: str, sql: str, **values: Any) -> Ask:
    return Ask(
        f"/{db}.json", [("sql", sql), ("_shape", "objects"), *((k, str(v)) for k, v in values.items())]
    )


ACTOR_SCOPE = (
    "id in (select event_id from event_actor where actor_id in ("
    "with recursive tree(id) as (select {actor} union select actor.id from actor "
    "join tree on actor.parent_id = tree.id) select id from tree))"
)
QUALIFIED_SOURCES = (
    "(select count(distinct document.source_id) from citation join document on document.id = "
    "citation.document_id join source on source.id = document.source_id where citation.event_id = "
    "event.id and source.reliability <= 'B') >= 2"
)
ONE_EVENT_SQL = """select event.*,
 (select json_group_array(json_object('actor_id', ea.actor_id, 'role', ea.role, 'name', actor.name))
  from (select * from event_actor where event_id = event.id order by position) ea
  join actor on actor.id = ea.actor_id) as actors,
 (select json_group_array(json_object('document_id', c.document_id, 'credibility', c.credibility,
   'excerpt', c.excerpt, 'source_id', source.id, 'source_name', source.name,
   'reliability', source.reliability, 'url', document.url))
  from (select * from citation where event_id = event.id order by position) c
  join document on document.id = c.document_id join source on source.id = document.source_id) as citations
from event where id = :id"""
TIMELINE_SQL = """with recursive b as (
  select substr(start_date, 1, 7) as m, type as k, count(*) as n,
    sum(coalesce(fatalities_low, 0)) as lo, sum(coalesce(fatalities_best, 0)) as be,
    sum(coalesce(fatalities_high, 0)) as hi
  from event group by 1, 2),
months(m) as (select min(m) from b union all
  select strftime('%Y-%m', date(m || '-01', '+1 month')) from months where m < (select max(m) from b)),
keys(k) as (select distinct k from b)
select months.m || '-01' as period, keys.k as key, coalesce(b.n, 0) as events,
  coalesce(b.lo, 0) as fatalities_low, coalesce(b.be, 0) as fatalities_best,
  coalesce(b.hi, 0) as fatalities_high
from months cross join keys left join b on b.m = months.m and b.k = keys.k order by 1, 2"""
FACETS_SQL = """select * from (select 'actor' as field, ea.actor_id as value, actor.name as name,
  count(distinct ea.event_id) as count from event_actor ea join actor on actor.id = ea.actor_id
  group by ea.actor_id order by count desc, value limit 20)
union all select * from (select 'source', document.source_id, source.name, count(distinct citation.event_id)
  from citation join document on document.id = citation.document_id
  join source on source.id = document.source_id group by document.source_id
  order by 4 desc, 2 limit 20)"""
CLAIMS_SQL = """select statement.id as statement_id, statement.measure, statement.unit,
  statement.speaker_id, speaker.name as speaker_name, source.id as source_id, source.name as source_name,
  source.reliability, statement.credibility, statement.stated_on,
  statement.value_low, statement.value_best, statement.value_high
from statement join actor speaker on speaker.id = statement.speaker_id
left join document on document.id = statement.document_id
left join source on source.id = document.source_id
where statement.event_id = :id and statement.measure is not null
order by statement.measure, statement.unit, statement.stated_on, statement.id"""


@dataclass
class Fixture:
    """Values the questions need, looked up once in the data."""

    actor_id: int
    event_id: int
    claims_event_id: int
    window: tuple[str, str] = ("2024-07-01", "2024-09-28")
    country: str = "SY"
    bbox: str = "30,46,36,52"
    bbox_type: str = "remote_violence"
    q: str = "ambush"


def questions(fx: Fixture, db: str | None) -> list[Question]:
    """The dashboard questions; `db` is Datasette's database name, None without Datasette."""
    d_from, d_to = fx.window
    min_lon, min_lat, max_lon, max_lat = fx.bbox.split(",")
    newest = [("_sort_desc", "start_date"), ("_size", str(PAGE))]

    def ds(*asks: Ask) -> list[Ask] | None:
        return list(asks) if db else None

    tie_note = "Datasette's table view breaks date ties by id ascending (the service: descending)"
    qs = [
        Question(
            "newest", "newest 50", "list", Ask("/v1/events", [("limit", str(PAGE))]),
            ds(ds_table(db or "", newest)), tie_note + "; on page one it orders by date only", True,
        ),
        Question(
            "actor_90d", "actor + descendants, 90 days", "list",
            Ask("/v1/events", [("actor_id", str(fx.actor_id)), ("date_from", d_from), ("date_to", d_to)]),
            ds(ds_table(db or "", [*newest, *where(ACTOR_SCOPE.format(actor=fx.actor_id),
                                                   f"end_date >= '{d_from}'", f"start_date <= '{d_to}'")])),
            tie_note, True,
        ),
        Question(
            "graded_country", "B-or-better, 2 sources, country", "list",
            Ask("/v1/events", [("min_reliability", "B"), ("min_sources", "2"), ("country", fx.country)]),
            ds(ds_table(db or "", [*newest, ("country", fx.country), *where(QUALIFIED_SOURCES)])),
            tie_note, True,
        ),
        Question(
            "bbox_type", "bbox + type", "list",
            Ask("/v1/events", [("bbox", fx.bbox), ("type", fx.bbox_type)]),
            ds(ds_table(db or "", [*newest, ("type", fx.bbox_type), *where(
                f"longitude between {min_lon} and {max_lon}", f"latitude between {min_lat} and {max_lat}")])),
            tie_note, True,
        ),
        Question(
            "q", f"q={fx.q}", "list", Ask("/v1/events", [("q", fx.q)]),
            ds(ds_table(db or "", [
                *newest, *where(f"title like '%{fx.q}%' or description like '%{fx.q}%'")
            ])),
            tie_note + "; SQLite's LIKE folds ASCII only (the needle is ASCII)",
        ),
        Question(
            "page200", f"page {PAGE_NUMBER} via cursor", "list", Ask("/v1/events", [("limit", str(PAGE))]),
            ds(ds_table(db or "", newest)),
            f"both follow their own keyset cursor {PAGE_NUMBER - 1} times first; " + tie_note, True,
        ),
        Question(
            "one_event", "one event", "single", Ask(f"/v1/events/{fx.event_id}"),
            ds(ds_sql(db or "", ONE_EVENT_SQL, id=fx.event_id)),
            "arbitrary SQL: the event with its actors and graded citations (the table's row page has "
            "neither)", True,
        ),
        Question(
            "timeline", "monthly timeline by type", "aggregate",
            Ask("/v1/events/timeline", [("interval", "month"), ("group_by", "type")]),
            ds(ds_sql(db or "", TIMELINE_SQL)), "arbitrary SQL, zero-filled like the service's answer",
        ),
        Question(
            "facets", "facets (type, country, actor, source)", "aggregate", Ask("/v1/events/facets"),
            ds(
                Ask(f"/{db}/event.json", [("_facet", "type"), ("_facet", "country"), ("_facet_size", "20"),
                                          ("_size", "0"), ("_nocount", "1")]),
                ds_sql(db or "", FACETS_SQL),
            ),
            "two requests: `_facet` for type and country; actor and source go through link tables, "
            "which `_facet` cannot follow, so arbitrary SQL",
        ),
        Question(
            "claims", "claims of one event", "aggregate", Ask(f"/v1/events/{fx.claims_event_id}/claims"),
            ds(ds_sql(db or "", CLAIMS_SQL, id=fx.claims_event_id)),
            "arbitrary SQL: the claims with speaker, source and grades; the grouping by measure and "
            "the contested flag are left to the client", True,
        ),
    ]  # fmt: skip
    for fmt in ("csv", "ndjson", "geojson"):
        datasette = (
            ds(Ask(f"/{db}/event.csv", [("_stream", "on"), ("_size", "max")])) if fmt == "csv" else None
        )
        note = (
            "table CSV (`_stream=on`): the event columns only, without the actors and citations the "
            "service flattens into its CSV"
            if fmt == "csv"
            else f"Datasette has no streaming {fmt} export (plugins only)"
        )
        qs.append(
            Question(
                f"export_{fmt}", f"full export, {fmt}", "export",
                Ask("/v1/events/export", [("format", fmt)]), datasette, note, export_format=fmt,
            )
        )  # fmt: skip
    return qs


# --- the floor: capture the service's SQL, replay it with the driver --------------------------------


@dataclass
class Captured:
    statements: list[tuple[str, Any]]
    body: bytes | None = None  # an export's answer, kept so that counting its rows costs no second export


def capture_sql(database_url: str, asks: dict[str, Ask]) -> dict[str, Captured]:
    """Issue each request once through TestClient and record every statement it sends."""
    os.environ["DATABASE_URL"] = database_url
    sys.path.insert(0, str(ROOT))
    from app.core.config import get_settings
    from app.db.session import get_engine

    get_settings.cache_clear()
    get_engine.cache_clear()
    import sqlalchemy as sa
    from fastapi.testclient import TestClient

    from app.main import create_app

    engine = get_engine()
    recorded: list[tuple[str, Any]] = []

    def listener(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        recorded.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", listener)
    out: dict[str, Captured] = {}
    try:
        with TestClient(create_app()) as client:
            client.get("/v1/events", params={"limit": 1})  # first-use queries (migrations check etc.)
            for name, ask in asks.items():
                recorded.clear()
                response = client.get(ask.url(), headers=HEADERS)
                if response.status_code != 200:
                    raise SystemExit(
                        f"{name}: {ask.url()} answered {response.status_code}: {response.text[:300]}"
                    )
                out[name] = Captured(
                    [s for s in recorded if s[0].strip().upper() not in {"BEGIN", "COMMIT"}],
                    response.content if ask.path.endswith("/export") else None,
                )
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)
        engine.dispose()
        get_engine.cache_clear()
    return out


class Floor:
    """The captured statements run directly with sqlite3 or psycopg: the cost of the queries alone."""

    def __init__(self, backend: str, database_url: str) -> None:
        self.backend = backend
        if backend == "sqlite":
            path = database_url.removeprefix("sqlite:///")
            self.conn: Any = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self.conn.create_function("py_lower", 1, lambda v: v.lower() if isinstance(v, str) else v,
                                      deterministic=True)  # fmt: skip
        else:
            import psycopg

            self.conn = psycopg.connect(database_url.replace("postgresql+psycopg://", "postgresql://"))

    def run(self, captured: Captured) -> int:
        """Every statement, every row fetched; returns the rows of the largest result."""
        most = 0
        if self.backend == "sqlite":
            cursor = self.conn.cursor()
            cursor.execute("BEGIN")
            try:
                for statement, parameters in captured.statements:
                    most = max(most, len(cursor.execute(statement, parameters or ()).fetchall()))
            finally:
                cursor.execute("ROLLBACK")
            return most
        with self.conn.cursor() as cursor:
            try:
                for statement, parameters in captured.statements:
                    cursor.execute(statement, parameters or None)
                    if cursor.description is not None:
                        most = max(most, len(cursor.fetchall()))
            finally:
                self.conn.rollback()
        return most

    def close(self) -> None:
        self.conn.close()


# --- measuring ---------------------------------------------------------------------------------------


def timed_get(client: httpx.Client, ask: Ask) -> tuple[float, int]:
    """Seconds for the whole answer, and its size in bytes."""
    started = time.perf_counter()
    size = 0
    with client.stream("GET", ask.url(), headers=HEADERS) as response:
        for chunk in response.iter_raw():
            size += len(chunk)
        if response.status_code != 200:
            raise RuntimeError(f"{ask.url()} answered {response.status_code}")
    return time.perf_counter() - started, size


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(seconds: list[float]) -> dict[str, float] | None:
    if not seconds:
        return None
    ms = [s * 1000 for s in seconds]
    return {"n": len(ms), "p50_ms": statistics.median(ms), "p99_ms": percentile(ms, 99), "min_ms": min(ms)}


def follow_pages(
    client: httpx.Client, ask: Ask, pages: int, next_param: str, next_of: Callable[[Any], Any]
) -> Ask:
    """The request for page `pages`, found by following the cursor from page one."""
    current = ask
    for _ in range(pages - 1):
        response = client.get(current.url(), headers=HEADERS)
        response.raise_for_status()
        token = next_of(response.json())
        if not token:
            raise SystemExit(f"{ask.url()}: fewer than {pages} pages")
        current = Ask(ask.path, [*[p for p in ask.params if p[0] != next_param], (next_param, token)])
    return current


def _hammer(
    client: httpx.Client, ask: Ask, start: threading.Barrier, stop_at: list[float], counts: list[int], i: int
) -> None:
    """One of the concurrent clients: the same request again and again until the slice ends."""
    start.wait()
    while time.perf_counter() < stop_at[0]:
        timed_get(client, ask)
        counts[i] += 1


def concurrent_throughput(
    clients: dict[str, Callable[[], httpx.Client]],
    asks: dict[str, Ask],
    slices: int,
    slice_seconds: float,
    workers: int = 8,
) -> dict[str, float]:
    """Requests per second with `workers` threads, alternating time slices between the systems.
    Each thread keeps its own connection (made and warmed before the first slice)."""
    pool = {system: [clients[system]() for _ in range(workers)] for system in asks}
    for system, ask in asks.items():
        for c in pool[system]:
            timed_get(c, ask)
    done: dict[str, int] = dict.fromkeys(asks, 0)
    spent: dict[str, float] = dict.fromkeys(asks, 0.0)
    for _ in range(slices):
        for system, ask in asks.items():
            counts = [0] * workers
            start = threading.Barrier(workers + 1)
            stop_at = [0.0]
            threads = [
                threading.Thread(target=_hammer, args=(pool[system][i], ask, start, stop_at, counts, i))
                for i in range(workers)
            ]
            for t in threads:
                t.start()
            started = time.perf_counter()
            stop_at[0] = started + slice_seconds
            start.wait()
            for t in threads:
                t.join()
            spent[system] += time.perf_counter() - started
            done[system] += sum(counts)
    for clients_of_system in pool.values():
        for c in clients_of_system:
            c.close()
    return {system: done[system] / spent[system] for system in asks}


def run_questions(
    backend: str,
    events: int,
    database_url: str,
    sqlite_file: Path | None,
    *,
    requests: int,
    budget_seconds: float,
    export_runs: int,
    slices: int,
    slice_seconds: float,
    only: list[str] | None = None,
    datasette: bool = True,
) -> dict[str, Any]:
    """Everything for one backend and size; returns the results as plain JSON."""
    use_datasette = datasette and backend == "sqlite" and sqlite_file is not None
    db_name = sqlite_file.stem if use_datasette and sqlite_file else None
    fx = fixture(backend, database_url)
    qs = [q for q in questions(fx, db_name) if not only or q.name in only]
    forget_shared_answers(database_url)
    service = start_service(database_url)
    ds_server = start_datasette(sqlite_file) if use_datasette and sqlite_file else None
    base = {"service": f"http://127.0.0.1:{SERVICE_PORT}", "datasette": f"http://127.0.0.1:{DATASETTE_PORT}"}

    def client(system: str) -> Callable[[], httpx.Client]:
        return lambda: httpx.Client(base_url=base[system], timeout=900)

    results: dict[str, Any] = {"backend": backend, "events": events, "questions": {}, "memory": {}}
    try:
        svc = client("service")()
        dsc = client("datasette")() if ds_server else None
        svc.get("/v1/events", params={"limit": 1}).raise_for_status()  # imports and pools warmed
        # Resident sets before any question (an export's growth is measured from just before it)
        results["memory"]["service_idle_mib"] = tree_rss_mib(service.pid)
        if ds_server:
            results["memory"]["datasette_idle_mib"] = tree_rss_mib(ds_server.pid)
        # Page 200: fetch the cursors first, then time only the request for page 200.
        for q in qs:
            if q.name == "page200":
                q.service = follow_pages(svc, q.service, PAGE_NUMBER, "cursor", lambda j: j["next_cursor"])
                if dsc and q.datasette:
                    q.datasette = [
                        follow_pages(dsc, q.datasette[0], PAGE_NUMBER, "_next", lambda j: j.get("next"))
                    ]
        captured = capture_sql(database_url, {q.name: q.service for q in qs})
        floor = Floor(backend, database_url)
        for q in qs:  # warm up every system once, and check the answers are the same rows
            if q.kind != "export":  # an export is its own warm-up: it reads everything
                timed_get(svc, q.service)
            if dsc and q.datasette and q.kind != "export":
                for ask in q.datasette:
                    timed_get(dsc, ask)
            results["questions"][q.name] = {
                **{
                    k: v
                    for k, v in asdict(q).items()
                    if k in ("title", "kind", "datasette_note", "index_bound")
                },
                "service_url": q.service.url()[:300],
                "datasette_urls": [a.url()[:300] for a in q.datasette or []],
                "floor_statements": len(captured[q.name].statements),
                "floor_sql": [s for s, _ in captured[q.name].statements][:8],
                "equivalence": equivalence(q, svc, dsc, captured[q.name].body),
            }
        # Concurrency 1, round-robin per request.
        systems = ["service", "datasette", "floor"]
        for q in qs:
            times: dict[str, list[float]] = {s: [] for s in systems}
            extra: dict[str, Any] = {}
            rounds = export_runs if q.kind == "export" else requests
            started = time.perf_counter()
            for r in range(rounds):
                order = systems[r % 3 :] + systems[: r % 3]
                for system in order:
                    # Memory is sampled around exports only, where it is reported: the sampler
                    # walks /proc in a thread of this process, and around a request of a few
                    # milliseconds it added about as much to each system's time.
                    exporting = q.kind == "export"
                    if system == "service":
                        # An export's growth is against the resident set just before it: what
                        # the questions before it left in the heap is not the export's.
                        before = tree_rss_mib(service.pid) if exporting else 0.0
                        with RssSampler(service.pid, exporting) as sampler:
                            seconds, size = timed_get(svc, q.service)
                        times["service"].append(seconds)
                        extra["service_bytes"] = size
                        if exporting:
                            extra["service_rss_growth_mib"] = max(
                                extra.get("service_rss_growth_mib", 0.0), sampler.peak - before
                            )
                            extra["service_rss_peak_mib"] = sampler.peak
                    elif system == "datasette" and dsc and q.datasette and ds_server:
                        before = tree_rss_mib(ds_server.pid) if exporting else 0.0
                        with RssSampler(ds_server.pid, exporting) as sampler:
                            total = 0.0
                            for ask in q.datasette:
                                seconds, size = timed_get(dsc, ask)
                                total += seconds
                        times["datasette"].append(total)
                        if exporting:
                            extra["datasette_rss_growth_mib"] = max(
                                extra.get("datasette_rss_growth_mib", 0.0), sampler.peak - before
                            )
                    elif system == "floor":
                        t0 = time.perf_counter()
                        floor.run(captured[q.name])
                        times["floor"].append(time.perf_counter() - t0)
                if r + 1 >= 3 and time.perf_counter() - started > budget_seconds:
                    break
            entry = results["questions"][q.name]
            entry.update({s: summary(times[s]) for s in systems})
            entry.update(extra)
            rows = entry["equivalence"].get("service_rows")
            if q.kind == "export" and rows:
                for s in systems:
                    if entry.get(s) and (s != "datasette" or entry["equivalence"].get("datasette_rows")):
                        n = rows if s != "datasette" else entry["equivalence"]["datasette_rows"]
                        entry[f"{s}_rows_per_s"] = n / (entry[s]["p50_ms"] / 1000)
            line = "  ".join(f"{s} p50 {entry[s]['p50_ms']:8.1f} ms" for s in systems if entry.get(s))
            print(f"  {q.name:<15} {line}", flush=True)
        floor.close()
        # Concurrency 8: throughput, and memory under load.
        if slices:
            with RssSampler(service.pid) as svc_mem:
                ds_mem = RssSampler(ds_server.pid) if ds_server else None
                if ds_mem:
                    ds_mem.__enter__()
                for q in qs:
                    if q.kind == "export":
                        continue
                    asks = {"service": q.service}
                    if ds_server and q.datasette and len(q.datasette) == 1:
                        asks["datasette"] = q.datasette[0]
                    rates = concurrent_throughput(
                        {"service": client("service"), "datasette": client("datasette")},
                        asks,
                        slices,
                        slice_seconds,
                    )
                    results["questions"][q.name]["c8_rps"] = rates
                    print(f"  {q.name:<15} c=8 " + "  ".join(f"{s} {v:7.1f} req/s" for s, v in rates.items()),
                          flush=True)  # fmt: skip
                if ds_mem:
                    ds_mem.__exit__()
                    results["memory"]["datasette_peak_c8_mib"] = ds_mem.peak
            results["memory"]["service_peak_c8_mib"] = svc_mem.peak
        svc.close()
        if dsc:
            dsc.close()
    finally:
        stop(service)
        stop(ds_server)
    return results


def fixture(backend: str, database_url: str) -> Fixture:
    """The actor (the largest country's state, a tree five levels deep), a mid event, and the
    event with the most competing claims."""
    sys.path.insert(0, str(ROOT))
    import sqlalchemy as sa

    from app.db.session import make_engine

    engine = make_engine(database_url)
    with engine.connect() as conn:
        actor_id = conn.scalar(sa.text("SELECT id FROM actor WHERE ref = 'bench:actor:UA'"))
        count = conn.scalar(sa.text("SELECT count(*) FROM event")) or 0
        event_id = conn.scalar(
            sa.text("SELECT id FROM event WHERE ref = :r"), {"r": f"bench:event:{count // 2}"}
        )
        claims_event_id = conn.scalar(
            sa.text(
                "SELECT event_id FROM statement WHERE event_id IS NOT NULL AND measure IS NOT NULL "
                "GROUP BY event_id ORDER BY count(*) DESC, event_id LIMIT 1"
            )
        )
    engine.dispose()
    if actor_id is None or event_id is None or claims_event_id is None:
        raise SystemExit(f"{database_url} does not hold the generated benchmark data")
    return Fixture(actor_id=actor_id, event_id=event_id, claims_event_id=claims_event_id)


def equivalence(
    q: Question, svc: httpx.Client, dsc: httpx.Client | None, body: bytes | None = None
) -> dict[str, Any]:
    """Rows in each answer (once, outside timing): the questions must ask for the same rows."""
    out: dict[str, Any] = {}
    answer = (
        httpx.Response(200, content=body) if body is not None else svc.get(q.service.url(), headers=HEADERS)
    )
    if q.kind == "list":
        items = answer.json()["items"]
        out["service_rows"] = len(items)
        out["service_ids"] = [i["id"] for i in items]
        out["service_dates"] = sorted(i["start_date"] for i in items)
    elif q.kind == "single":
        out["service_rows"] = 1
    elif q.name == "timeline":
        buckets = answer.json()["buckets"]
        out["service_rows"] = len(buckets)
        out["service_events"] = sum(b["events"] for b in buckets)
    elif q.name == "facets":
        facets = answer.json()["facets"]
        out["service_rows"] = sum(len(v) for v in facets.values())
        out["service_top"] = {k: [(f["value"], f["count"]) for f in v][:20] for k, v in facets.items()}
    elif q.name == "claims":
        out["service_rows"] = sum(len(m["claims"]) for m in answer.json()["measures"])
    elif q.export_format == "csv":
        import csv
        import io

        out["service_rows"] = sum(1 for _ in csv.reader(io.StringIO(answer.text))) - 1
    elif q.export_format == "ndjson":
        out["service_rows"] = sum(1 for line in answer.text.splitlines() if line.strip())
    elif q.export_format == "geojson":
        out["service_rows"] = answer.content.count(b'"Feature"')  # not FeatureCollection
    if not (dsc and q.datasette):
        out["verdict"] = "no Datasette equivalent"
        return out
    replies = [dsc.get(a.url(), headers=HEADERS) for a in q.datasette]
    if q.kind == "list":
        rows = replies[0].json()["rows"]
        out["datasette_rows"] = len(rows)
        ids = [r["id"] for r in rows]
        dates = sorted(r["start_date"] for r in rows)
        if ids == out["service_ids"]:
            out["verdict"] = "same rows, same order"
        elif sorted(ids) == sorted(out["service_ids"]):
            out["verdict"] = "same rows, ties in another order"
        elif dates == out["service_dates"]:
            out["verdict"] = "same count and dates; other rows among date ties"
        else:
            out["verdict"] = "DIFFERENT ROWS"
    elif q.kind == "single":
        rows = replies[0].json()["rows"]
        out["datasette_rows"] = len(rows)
        out["verdict"] = "same event" if rows and rows[0]["id"] == answer.json()["id"] else "DIFFERENT"
    elif q.name == "timeline":
        rows = replies[0].json()["rows"]
        out["datasette_rows"] = len(rows)
        out["datasette_events"] = sum(r["events"] for r in rows)
        same = len(rows) == out["service_rows"] and out["datasette_events"] == out["service_events"]
        out["verdict"] = "same buckets and counts" if same else "DIFFERENT"
    elif q.name == "facets":
        table = replies[0].json()["facet_results"]
        table = table.get("results", table)  # Datasette 1.x nests the facets one level deeper
        top = {
            name: [(v["value"], v["count"]) for v in table[name]["results"]] for name in ("type", "country")
        }
        for row in replies[1].json()["rows"]:
            top.setdefault(row["field"], []).append((row["value"], row["count"]))
        out["datasette_rows"] = sum(len(v) for v in top.values())
        same = all(sorted(top.get(k, [])) == sorted(map(tuple, v)) for k, v in out["service_top"].items())
        out["verdict"] = "same values and counts" if same else "counts differ (ties at the cut?)"
        del out["service_top"]
    elif q.name == "claims":
        out["datasette_rows"] = len(replies[0].json()["rows"])
        out["verdict"] = "same claims" if out["datasette_rows"] == out["service_rows"] else "DIFFERENT"
    elif q.export_format == "csv":
        import csv
        import io

        out["datasette_rows"] = sum(1 for _ in csv.reader(io.StringIO(replies[0].text))) - 1
        same = out["datasette_rows"] == out["service_rows"]
        out["verdict"] = "same rows, fewer columns" if same else "DIFFERENT"
    for key in ("service_ids", "service_dates"):
        out.pop(key, None)
    return out


def save(results: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(results, indent=1, default=str) + "\n")

"""A deterministic, realistic-shaped dataset of any size, loaded through the project's bulk path.

    python benchmarks/generate.py --events 100000 --backend sqlite
    python benchmarks/generate.py --events 1000000 --backend postgresql

What it makes (seeded; the same seed and size always give the same rows):
- actors in trees several levels deep: per country a state, its ministry, armed forces → army →
  brigades → battalions, armed groups → factions → cells, and people; Unicode names, some aliases;
- about 2,000 sources with an Admiralty reliability mix (A 5 %, B 20 %, C 35 %, D 20 %, E 5 %,
  F 15 %) and, per batch, documents from them (popular sources publish more);
- events over 1989–2025 (more in recent years), 15 % of them multi-day, in about 50 countries
  with a Zipf-like weight, coordinates for 90 %, heavy-tailed fatalities with nulls, 1–3 actors,
  0–5 citations with credibility 1–6;
- statements with quantitative claims on about 4 % of events, half of them contested
  (an official figure against a much higher estimate).

Events come in batches (default 10,000); batch k depends only on the seed and k, so the first
100,000 events of the 1M dataset are the 100k dataset. Each batch is one dataset file, loaded by
`app.datasets.loader.load_dataset` in one transaction (the path of `POST /v1/load` and
`conflict-events load`), so an interrupted load resumes at the first missing batch. ANALYZE runs
at the end. SQLite files go to benchmarks/out/ (git-ignored); PostgreSQL databases are named
`bench_100k`, `bench_1m` (or `bench_<n>`) on BENCH_PG_URL.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sqlite3
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

PG_BASE = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432")
GENERATOR_VERSION = 1
DEFAULT_SEED = 20251201
BATCH = 10_000
SOURCES = 2_000
FIRST_DAY = date(1989, 1, 1)
LAST_DAY = date(2025, 12, 31)
EVENT_REF = "bench:event:"

# (code, name, latitude, longitude, spread in degrees); Unicode names on purpose.
COUNTRIES = [
    ("UA", "Україна", 49.0, 32.0, 4.0),
    ("SY", "سوريا", 35.0, 38.5, 2.0),
    ("AF", "Afghanistan", 34.0, 66.0, 3.0),
    ("CD", "République démocratique du Congo", -2.5, 23.5, 5.0),
    ("SO", "Soomaaliya", 5.0, 46.0, 3.0),
    ("NG", "Nigeria", 9.0, 8.0, 3.5),
    ("ML", "Mali", 17.0, -2.0, 4.0),
    ("YE", "اليمن", 15.5, 47.5, 2.0),
    ("IQ", "العراق", 33.0, 43.5, 2.5),
    ("SD", "السودان", 15.0, 30.0, 4.0),
    ("ET", "ኢትዮጵያ", 9.0, 39.5, 3.5),
    ("MM", "မြန်မာ", 21.0, 96.0, 3.5),
    ("CO", "Colombia", 4.5, -74.0, 3.0),
    ("MX", "México", 23.0, -102.0, 5.0),
    ("PK", "پاکستان", 30.0, 70.0, 4.0),
    ("IN", "भारत", 22.0, 79.0, 6.0),
    ("BF", "Burkina Faso", 12.2, -1.5, 2.0),
    ("CM", "Cameroun", 5.5, 12.5, 2.5),
    ("CF", "Centrafrique", 6.6, 20.9, 2.5),
    ("SS", "South Sudan", 7.5, 30.5, 2.5),
    ("LY", "ليبيا", 27.0, 17.0, 4.0),
    ("PH", "Pilipinas", 12.0, 122.0, 4.0),
    ("TR", "Türkiye", 39.0, 35.0, 4.0),
    ("RU", "Россия", 55.0, 40.0, 6.0),
    ("IL", "ישראל", 31.5, 35.0, 0.6),
    ("PS", "فلسطين", 31.9, 35.2, 0.3),
    ("LB", "لبنان", 33.9, 35.8, 0.4),
    ("AZ", "Azərbaycan", 40.3, 47.7, 1.0),
    ("AM", "Հայաստան", 40.2, 44.9, 0.8),
    ("GE", "საქართველო", 42.2, 43.5, 1.0),
    ("BY", "Беларусь", 53.7, 28.0, 2.0),
    ("MZ", "Moçambique", -18.0, 35.0, 4.0),
    ("NE", "Niger", 16.0, 8.0, 4.0),
    ("TD", "Tchad", 15.0, 19.0, 4.0),
    ("KE", "Kenya", 0.5, 37.9, 2.5),
    ("HT", "Haïti", 19.0, -72.5, 0.6),
    ("VE", "Venezuela", 7.0, -66.0, 3.0),
    ("BR", "Brasil", -12.0, -50.0, 8.0),
    ("TH", "ประเทศไทย", 15.0, 101.0, 3.0),
    ("BD", "বাংলাদেশ", 23.7, 90.3, 1.5),
    ("LK", "ශ්‍රී ලංකාව", 7.8, 80.7, 1.0),
    ("DZ", "الجزائر", 28.0, 2.5, 5.0),
    ("EG", "مصر", 27.0, 30.5, 3.0),
    ("IR", "ایران", 32.5, 53.7, 4.0),
    ("PE", "Perú", -9.2, -75.0, 3.5),
    ("UG", "Uganda", 1.4, 32.3, 2.0),
    ("BI", "Burundi", -3.4, 29.9, 0.5),
    ("RW", "Rwanda", -2.0, 29.9, 0.5),
    ("XK", "Kosova", 42.6, 20.9, 0.3),
    ("GR", "Ελλάδα", 39.0, 22.0, 2.0),
]
EVENT_TYPES = [
    ("armed_clash", 30),
    ("remote_violence", 18),
    ("violence_against_civilians", 14),
    ("protest", 10),
    ("riot", 5),
    ("ground_offensive", 5),
    ("troop_deployment", 4),
    ("military_exercise", 3),
    ("diplomatic", 4),
    ("weapons_transfer", 2),
    ("defection", 1),
    ("other", 4),
]
TITLE_WORDS = {
    "armed_clash": ["Clashes", "Firefight", "Battle", "Ambush", "Столкновения"],
    "remote_violence": ["Shelling", "Air strike", "Drone strike", "Обстрел", "قصف"],
    "violence_against_civilians": ["Attack on villagers", "Massacre", "Abductions", "هجوم"],
    "protest": ["Protest", "Demonstration", "Manifestation", "Протест"],
    "riot": ["Riot", "Unrest", "Émeute"],
    "ground_offensive": ["Offensive", "Advance", "Наступление"],
    "troop_deployment": ["Deployment", "Convoy arrives", "Переброска войск"],
    "military_exercise": ["Exercise", "Drills", "Учения"],
    "diplomatic": ["Talks", "Ceasefire agreement", "Переговоры"],
    "weapons_transfer": ["Arms delivery", "Weapons shipment"],
    "defection": ["Defection", "Commander switches sides"],
    "other": ["Incident", "Report", "Инцидент"],
}
PLACE_PARTS = ["Nova", "Kara", "Al-", "San ", "Bir ", "Ust-", "Mont", "Dar ", "Zelen", "Bor", "Ouadi "]
PLACE_ENDS = ["ivka", "abad", "-Zawiya", "pur", "ville", "grad", "ovo", "el-Kebir", "kaya", "ény", "ąbrowa"]
ROLES = ["side_a", "side_b", "participant", "supporter", "host"]
RELIABILITY = [("A", 5), ("B", 20), ("C", 35), ("D", 20), ("E", 5), ("F", 15)]
SOURCE_KINDS = ["news_outlet", "news_agency", "government", "military", "ngo", "research", "social_media"]
SOURCE_WORDS = ["Herald", "Courier", "Gazette", "Вестник", "الأخبار", "Observateur", "Monitor", "Post"]
LANGUAGES = ["en", "fr", "ar", "ru", "uk", "es", "pt", "tr", "am", "my"]


def _weighted(rng: random.Random, pairs: list[tuple[Any, int]]) -> Any:
    return rng.choices([v for v, _ in pairs], weights=[w for _, w in pairs])[0]


def country_weights() -> list[float]:
    """Zipf-like: the first countries have most of the events, as in real conflict data."""
    return [1 / (rank + 1) ** 0.9 for rank in range(len(COUNTRIES))]


# --- the base: sources and actors -------------------------------------------------------------------


def actor_tree(code: str, name: str) -> list[dict[str, Any]]:
    """One country's actors: trees up to five levels deep (state → forces → army → brigade → battalion)."""
    actors: list[dict[str, Any]] = []

    def add(
        ref: str, actor_name: str, kind: str, parent: str | None, aliases: list[str] | None = None
    ) -> str:
        record: dict[str, Any] = {"ref": ref, "name": actor_name, "kind": kind, "country": code}
        if parent:
            record["parent"] = parent
        if aliases:
            record["aliases"] = aliases
        actors.append(record)
        return ref

    base = f"bench:actor:{code}"
    state = add(base, f"Government of {name}", "state", None, [f"{code} government"])
    add(f"{base}:mod", f"Ministry of Defence ({name})", "government_body", state, [f"MoD {code}"])
    forces = add(f"{base}:forces", f"Armed Forces of {name}", "armed_force", state)
    for branch, branch_name in (("army", "Army"), ("air", "Air Force")):
        branch_ref = add(f"{base}:{branch}", f"{branch_name} of {name}", "armed_force", forces)
        for brigade in range(1, 4 if branch == "army" else 2):
            brigade_ref = add(
                f"{branch_ref}:b{brigade}",
                f"{brigade}. Brigade, {branch_name} of {name}",
                "armed_force",
                branch_ref,
            )
            for battalion in range(1, 3):
                add(
                    f"{brigade_ref}:{battalion}",
                    f"Battalion {brigade}/{battalion} «{branch_name}, {name}»",
                    "armed_force",
                    brigade_ref,
                )
    for group in range(1, 5):
        group_name = ["Liberation Front", "Фронт освобождения", "جبهة التحرير", "Mouvement populaire"][
            group - 1
        ]
        group_ref = add(
            f"{base}:g{group}", f"{group_name} of {name}", "armed_group", None, [f"LF{group}-{code}"]
        )
        for faction in range(1, 3):
            faction_ref = add(
                f"{group_ref}:f{faction}",
                f"Faction {faction} — {group_name} of {name}",
                "armed_group",
                group_ref,
            )
            add(f"{faction_ref}:c1", f"Cell {group}.{faction} ({name})", "armed_group", faction_ref)
    for person in range(1, 3):
        add(f"{base}:p{person}", f"Commander Nº{person} of {name}", "person", forces)
    add(f"{base}:civ", f"Civilians ({name})", "civilian_group", None)
    return actors


def base_dataset(seed: int) -> dict[str, Any]:
    """Sources and actors, loaded once before the first batch of events."""
    rng = random.Random(f"{seed}:base")
    sources = []
    for i in range(SOURCES):
        code = COUNTRIES[i % len(COUNTRIES)][0]
        sources.append(
            {
                "ref": f"bench:source:{i}",
                "name": f"{rng.choice(SOURCE_WORDS)} {code} Nº{i}",
                "kind": rng.choice(SOURCE_KINDS),
                "country": code,
                "url": f"https://source-{i}.example.org/",
                "reliability": _weighted(rng, RELIABILITY),
            }
        )
    actors = [actor for code, name, *_ in COUNTRIES for actor in actor_tree(code, name)]
    actors.append(
        {
            "ref": "bench:actor:un",
            "name": "Organisation des Nations Unies",
            "kind": "international_organization",
        }
    )
    return {"sources": sources, "actors": actors}


# --- batches of events -------------------------------------------------------------------------------


def _day(rng: random.Random) -> date:
    """More events in recent years: the square root of a uniform draw skews towards the end."""
    span = (LAST_DAY - FIRST_DAY).days
    return FIRST_DAY + timedelta(days=int(span * math.sqrt(rng.random())))


def _fatalities(rng: random.Random) -> tuple[int | None, int | None, int | None]:
    """Heavy-tailed (Pareto), zero for a third, null for a quarter; ranges around some."""
    if rng.random() < 0.25:
        return None, None, None
    if rng.random() < 0.33:
        return 0, 0, 0
    best = int(rng.paretovariate(1.1))
    if rng.random() < 0.5:
        return best, best, best
    return max(0, best - rng.randint(0, best)), best, best + rng.randint(0, 2 * best + 1)


def _place(rng: random.Random) -> str:
    return rng.choice(PLACE_PARTS) + rng.choice(PLACE_ENDS)


def batch_dataset(seed: int, batch: int, first: int, count: int) -> dict[str, Any]:
    """Events `first` … `first + count - 1`, their documents and statements: one dataset file."""
    rng = random.Random(f"{seed}:batch:{batch}")
    weights = country_weights()
    trees = {code: actor_tree(code, name) for code, name, *_ in COUNTRIES}
    source_weights = [1 / (i + 1) ** 0.7 for i in range(SOURCES)]
    documents: list[dict[str, Any]] = []
    doc_first_use: dict[int, date] = {}
    doc_count = int(count * 1.2)
    doc_sources = rng.choices(range(SOURCES), weights=source_weights, k=doc_count)
    events: list[dict[str, Any]] = []
    statements: list[dict[str, Any]] = []
    for offset in range(count):
        number = first + offset
        code, cname, lat, lon, spread = rng.choices(COUNTRIES, weights=weights)[0]
        event_type = _weighted(rng, EVENT_TYPES)
        start = _day(rng)
        end = start + timedelta(days=rng.randint(1, 30)) if rng.random() < 0.15 else start
        place = _place(rng)
        event: dict[str, Any] = {
            "ref": f"{EVENT_REF}{number}",
            "title": f"{rng.choice(TITLE_WORDS[event_type])} near {place}, {cname}",
            "type": event_type,
            "start_date": start.isoformat(),
            "end_date": end.isoformat(),
            "date_precision": "day" if end == start else rng.choice(["day", "week", "month"]),
            "country": code,
            "admin1": f"{cname} region {rng.randint(1, 12)}",
            "location": place,
        }
        if rng.random() < 0.9:
            event["latitude"] = round(max(-90.0, min(90.0, rng.gauss(lat, spread / 2))), 5)
            event["longitude"] = round(max(-180.0, min(180.0, rng.gauss(lon, spread / 2))), 5)
            event["geo_precision"] = rng.choice(["exact", "exact", "near", "admin2", "admin1"])
        if rng.random() < 0.6:
            event["description"] = (
                f"Reported by local sources: {event_type.replace('_', ' ')} in {place} "
                f"({rng.choice(['morning', 'night', 'afternoon'])}); convoy {rng.randint(1, 999)}."
            )
        low, best, high = _fatalities(rng)
        event.update(fatalities_low=low, fatalities_best=best, fatalities_high=high)
        tree = trees[code]
        chosen = rng.sample(tree, k=rng.choice([1, 2, 2, 2, 3]))
        links = [{"actor": a["ref"], "role": ROLES[min(i, 2)]} for i, a in enumerate(chosen)]
        if rng.random() < 0.05:
            links.append({"actor": "bench:actor:un", "role": "supporter"})
        event["actors"] = links
        cited = rng.sample(
            range(doc_count), k=_weighted(rng, [(0, 10), (1, 30), (2, 25), (3, 15), (4, 10), (5, 10)])
        )
        event["citations"] = [
            {
                "document": f"bench:doc:{batch}:{d}",
                "credibility": _weighted(rng, [(1, 10), (2, 25), (3, 30), (4, 15), (5, 5), (6, 15)]),
            }
            for d in cited
        ]
        for d in cited:
            doc_first_use.setdefault(d, start)
        events.append(event)
        if rng.random() < 0.04:
            statements.extend(_claims(rng, event, chosen, cited, batch, number))
    for d in range(doc_count):
        source = doc_sources[d]
        published = doc_first_use.get(d, _day(rng)) + timedelta(days=rng.randint(0, 3))
        documents.append(
            {
                "ref": f"bench:doc:{batch}:{d}",
                "source": f"bench:source:{source}",
                "title": f"Report {batch}-{d}: {_place(rng)}",
                "url": f"https://source-{source}.example.org/{batch}/{d}",
                "published_on": min(published, LAST_DAY + timedelta(days=10)).isoformat(),
                "language": rng.choice(LANGUAGES),
            }
        )
    return {"documents": documents, "events": events, "statements": statements}


def _claims(
    rng: random.Random,
    event: dict[str, Any],
    actors: list[dict[str, Any]],
    cited: list[int],
    batch: int,
    number: int,
) -> list[dict[str, Any]]:
    """Two to four figures for one event; half the time one contradicts the other (13,000 against
    100,000–150,000)."""
    measure, unit = rng.choice(
        [("fatalities", "persons"), ("personnel", "persons"), ("casualties", "persons")]
    )
    base = (event["fatalities_best"] or rng.randint(5, 500)) + 1
    contested = rng.random() < 0.5
    out = []
    for k in range(rng.randint(2, 4)):
        speaker = actors[k % len(actors)]["ref"] if k < len(actors) else "bench:actor:un"
        factor = rng.uniform(3, 10) if contested and k == 1 else rng.uniform(0.9, 1.1)
        best = round(base * factor)
        record: dict[str, Any] = {
            "ref": f"bench:statement:{number}:{k}",
            "speaker": speaker,
            "event": event["ref"],
            "stated_on": (
                date.fromisoformat(event["start_date"]) + timedelta(days=rng.randint(0, 10))
            ).isoformat(),
            "kind": rng.choice(["claim", "assessment", "announcement", "denial"]),
            "text": f"«{measure}: {best:,}» — statement {k + 1} on {event['title']}",
            "is_quote": rng.random() < 0.3,
            "credibility": rng.randint(1, 6),
            "measure": measure,
            "unit": unit,
            "mentions": [a["ref"] for a in actors if a["ref"] != speaker][:2],
        }
        if rng.random() < 0.5:
            record.update(value_low=round(best * 0.8), value_best=best, value_high=round(best * 1.2))
        else:
            record["value_best"] = best
        if cited and rng.random() < 0.7:
            record["document"] = f"bench:doc:{batch}:{rng.choice(cited)}"
        out.append(record)
    return out


# --- the databases ------------------------------------------------------------------------------------


def label(events: int) -> str:
    if events % 1_000_000 == 0:
        return f"{events // 1_000_000}m"
    if events % 1000 == 0:
        return f"{events // 1000}k"
    return str(events)


def sqlite_path(events: int) -> Path:
    return OUT / f"bench-{label(events)}.db"


def database_url(backend: str, events: int) -> str:
    if backend == "sqlite":
        return f"sqlite:///{sqlite_path(events)}"
    return f"{PG_BASE}/bench_{label(events)}"


def _stamp_path(backend: str, events: int) -> Path:
    return OUT / f"{backend}-{label(events)}.json"


def _smaller_copy(backend: str, events: int, seed: int, batch_size: int) -> int | None:
    """A complete smaller dataset of the same seed and batches: the first batches are the same."""
    for smaller in (100_000,):
        if smaller < events and smaller % batch_size == 0 and is_ready(backend, smaller, seed):
            meta = json.loads(_stamp_path(backend, smaller).read_text())
            if meta.get("batch_size", BATCH) == batch_size:
                return smaller
    return None


def _ensure_database(backend: str, events: int, seed: int, batch_size: int) -> None:
    """Create the database; start from a copy of a smaller complete one when there is one."""
    smaller = _smaller_copy(backend, events, seed, batch_size)
    if backend != "postgresql":
        OUT.mkdir(parents=True, exist_ok=True)
        target = sqlite_path(events)
        if smaller and not target.exists():
            source = sqlite3.connect(sqlite_path(smaller))
            copy = sqlite3.connect(target)
            source.backup(copy)
            copy.close()
            source.close()
            print(f"sqlite {label(events)}: started from a copy of {label(smaller)}", flush=True)
        return
    admin = sa.create_engine(f"{PG_BASE}/postgres", isolation_level="AUTOCOMMIT")
    name = f"bench_{label(events)}"
    with admin.connect() as conn:
        if not conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
            template = f" TEMPLATE bench_{label(smaller)}" if smaller else ""
            conn.exec_driver_sql(f"CREATE DATABASE {name}{template}")
            if smaller:
                print(f"postgresql {label(events)}: started from a copy of {label(smaller)}", flush=True)
    admin.dispose()


def loaded_events(url: str) -> int:
    from app.db.session import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.scalar(sa.text("SELECT count(*) FROM event")) or 0)
    except sa.exc.SQLAlchemyError:
        return 0
    finally:
        engine.dispose()


def is_ready(backend: str, events: int, seed: int = DEFAULT_SEED) -> bool:
    """The cache is valid when its stamp names this generator, seed and size."""
    stamp = _stamp_path(backend, events)
    if not stamp.exists():
        return False
    meta = json.loads(stamp.read_text())
    return bool(
        meta.get("version") == GENERATOR_VERSION and meta.get("seed") == seed and meta.get("events") == events
    )


def _refresh_forms(engine: sa.Engine, label_: str) -> float:
    """Build the stored event forms the load made pending, as the server's background
    refresher would once it runs (`conflict-events db refresh-forms`); seconds taken."""
    from app.events.read import STORED_EVENTS, EventSort, event_sort_key

    started = time.perf_counter()
    STORED_EVENTS.forget_other_forms(engine)
    done = STORED_EVENTS.refresh_in_order(engine, event_sort_key(EventSort.start_date_desc))
    seconds = time.perf_counter() - started
    if done:
        print(f"{label_}: {done:,} stored event forms built in {seconds:.0f} s", flush=True)
    return seconds


def _migrate_cached(url: str) -> None:
    """A cached database made by an older schema gets the newer migrations (new indexes), and
    fresh statistics when anything changed, so it is measured as a new one would be."""
    from app.db.migrations import upgrade
    from app.db.session import make_engine

    engine = make_engine(url)
    with engine.connect() as conn:
        before = conn.scalar(sa.text("SELECT version_num FROM alembic_version"))
    upgrade(engine)
    with engine.connect() as conn:
        after = conn.scalar(sa.text("SELECT version_num FROM alembic_version"))
        if after != before:
            print(f"migrated {before} -> {after}; ANALYZE", flush=True)
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
    _refresh_forms(engine, url)
    engine.dispose()


def generate(backend: str, events: int, seed: int = DEFAULT_SEED, batch_size: int = BATCH) -> dict[str, Any]:
    """Load (or finish loading) the dataset; returns timings. Skips everything when cached."""
    if is_ready(backend, events, seed):
        meta: dict[str, Any] = json.loads(_stamp_path(backend, events).read_text())
        print(f"{backend} {label(events)}: cached ({database_url(backend, events)})", flush=True)
        _migrate_cached(database_url(backend, events))
        return meta
    _ensure_database(backend, events, seed, batch_size)
    url = database_url(backend, events)
    from app.datasets.loader import load_dataset
    from app.db.migrations import upgrade
    from app.db.session import make_engine, transaction

    engine = make_engine(url)
    upgrade(engine)
    with engine.connect() as conn:
        has_base = conn.scalar(sa.text("SELECT count(*) FROM source WHERE ref LIKE 'bench:%'"))
        done = int(conn.scalar(sa.text("SELECT count(*) FROM event")) or 0)
    started = time.perf_counter()
    if not has_base:
        with transaction(engine) as session:
            load_dataset(session, base_dataset(seed))
    if done % batch_size and done < events:
        raise SystemExit(f"{url} holds {done} events, not a whole number of batches of {batch_size}")
    for batch in range(done // batch_size, math.ceil(events / batch_size)):
        first = batch * batch_size
        t0 = time.perf_counter()
        dataset = batch_dataset(seed, batch, first, min(batch_size, events - first))
        t1 = time.perf_counter()
        with transaction(engine) as session:
            load_dataset(session, dataset)
        t2 = time.perf_counter()
        loaded = first + len(dataset["events"])
        print(
            f"{backend} {label(events)}: {loaded:>9,} events  (batch: generate {t1 - t0:.1f} s, "
            f"load {t2 - t1:.1f} s = {len(dataset['events']) / (t2 - t1):,.0f} events/s)",
            flush=True,
        )
    refresh_seconds = _refresh_forms(engine, f"{backend} {label(events)}")
    # after the stored forms, so that their table has statistics too; on PostgreSQL VACUUM as
    # well, as autovacuum would soon: it marks the pages all-visible, which index-only scans need
    t_analyze = time.perf_counter()
    with engine.connect() as conn:
        vacuum = "VACUUM ANALYZE" if backend == "postgresql" else "ANALYZE"
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(vacuum)
    analyze_seconds = time.perf_counter() - t_analyze
    elapsed = time.perf_counter() - started
    engine.dispose()
    meta = {
        "version": GENERATOR_VERSION,
        "seed": seed,
        "events": events,
        "batch_size": batch_size,
        "url": url,
        "seconds_this_run": round(elapsed, 1),
        "events_loaded_this_run": events - done,
        "analyze_seconds": round(analyze_seconds, 1),
        "stored_forms_seconds": round(refresh_seconds, 1),
    }
    OUT.mkdir(parents=True, exist_ok=True)  # PostgreSQL runs keep their stamp there too
    _stamp_path(backend, events).write_text(json.dumps(meta, indent=2) + "\n")
    print(f"{backend} {label(events)}: ready in {elapsed:.0f} s ({url})", flush=True)
    return meta


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--batch-size", type=int, default=BATCH)
    args = parser.parse_args()
    generate(args.backend, args.events, args.seed, args.batch_size)


if __name__ == "__main__":
    main()

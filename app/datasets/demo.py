"""Filling the embedded database with the demo data on first start."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from app.datasets.loader import LoadReport, load_dataset
from app.db.migrations import upgrade
from app.db.session import get_engine, transaction
from app.events.model import Event

DEMO_FILE = "zapad-2025.json"


def demo_dataset() -> dict[str, Any]:
    text = resources.files("app.data").joinpath(DEMO_FILE).read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def load_demo(engine: Engine | None = None) -> LoadReport:
    """Load the demo data; its changes are recorded as the command's (`demo`, or `serve` on
    first start)."""
    with transaction(engine, author="cli:demo") as session:
        return load_dataset(session, demo_dataset())


def prepare_embedded(engine: Engine | None = None) -> bool:
    """Migrate; load the demo data if the database holds no events yet. True if loaded."""
    engine = engine or get_engine()
    upgrade(engine)
    with engine.connect() as conn:
        empty = conn.scalar(sa.select(sa.func.count()).select_from(Event)) == 0
    if empty:
        load_demo(engine)
    return empty

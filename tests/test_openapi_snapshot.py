"""The OpenAPI document is what generated clients are built from: it changes only on purpose.

Any difference from the committed snapshot fails with the paths that differ. A deliberate
change to the contract regenerates it (`UPDATE_SNAPSHOTS=1 pytest tests/test_openapi_snapshot.py`)
and says so in its commit message; a refactoring must leave it byte-for-byte as it was.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from app.main import create_app

SNAPSHOT = Path(__file__).parent / "snapshots" / "openapi.json"


def _differences(old: Any, new: Any, where: str = "$") -> list[str]:
    """JSON paths at which two documents differ, key order included (clients see it)."""
    if isinstance(old, dict) and isinstance(new, dict):
        found = [f"{where}: keys {list(old)} became {list(new)}"] if list(old) != list(new) else []
        for key in old.keys() & new.keys():
            found += _differences(old[key], new[key], f"{where}.{key}")
        return found
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        pairs = enumerate(zip(old, new, strict=True))
        return [d for i, (a, b) in pairs for d in _differences(a, b, f"{where}[{i}]")]
    return [] if old == new and type(old) is type(new) else [f"{where}: {old!r} became {new!r}"]


def test_the_openapi_document_matches_its_snapshot() -> None:
    document = create_app().openapi()
    if os.environ.get("UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    expected = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    assert _differences(expected, document) == []


def test_the_comparison_sees_a_reordered_parameter_and_a_changed_description() -> None:
    document = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    changed = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    parameters = changed["paths"]["/v1/events"]["get"]["parameters"]
    parameters[0], parameters[1] = parameters[1], parameters[0]
    changed["info"]["description"] += "!"
    found = _differences(document, changed)
    assert any(".parameters[0]" in d for d in found)
    assert any(d.startswith("$.info.description") for d in found)

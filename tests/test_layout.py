"""The dependency rule of ARCHITECTURE.md, checked on every import in `app/` (also the ones
inside functions): a package imports only from packages below it, and resources import each
other's models and nothing else, except that events and statements build on actors and sources
(and on jsonld, which reads the models of all four).
"""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "app"

# Lower numbers sit lower: a package may import from any package with a smaller number.
LAYER = {
    "core": 0,
    "db": 1,
    "auth": 2,
    "feed": 2,
    "ratelimit": 2,
    "history": 2,
    "kit": 3,
    "actors": 4,
    "sources": 4,
    "jsonld": 4,
    "events": 5,
    "statements": 5,
    "datasets": 6,
    "importers": 7,
    "api": 7,
    "explorer": 7,
    "cli": 8,
    "main": 8,
    "tables": 8,
}
RESOURCES = {"actors", "sources", "events", "statements"}
# Packages that read every resource's models to present them another way (JSON-LD), and that
# events and statements build on.
MODEL_READERS = {"jsonld"}
# Modules that sit above their package's layer: the feed's route is built on the kit like a
# resource's routes are, and the relay publishes what the route shows; the history's mirrors,
# writer and routes know every resource (its tables and as-of reads sit beside the feed, below
# the kit).
RAISED = {
    "app.feed.routes": 4,
    "app.feed.relay": 4,
    "app.history.mirrors": 6,
    "app.history.writer": 6,
    "app.history.routes": 6,
}


def _imports() -> list[tuple[str, str]]:
    found = []
    for path in APP.rglob("*.py"):
        module = ".".join(("app", *path.relative_to(APP).with_suffix("").parts)).removesuffix(".__init__")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("app."):
                found.append((module, node.module))
    return found


def _package(module: str) -> str:
    return module.split(".")[1] if module.count(".") else "app"


def breaches(imports: list[tuple[str, str]]) -> list[str]:
    found = []
    for source, target in imports:
        src, dst = _package(source), _package(target)
        if src == dst or src not in LAYER:
            continue
        if src in RESOURCES | MODEL_READERS and dst in RESOURCES and target == f"app.{dst}.model":
            continue  # models import nothing above the kit, so any resource may use them
        if LAYER.get(dst, 99) < RAISED.get(source, LAYER[src]):
            continue
        found.append(f"{source} imports {target}")
    return found


def test_every_import_in_app_follows_the_dependency_rule() -> None:
    imports = _imports()
    assert len(imports) > 200  # the walk found the code
    assert breaches(imports) == []


def test_the_rule_sees_a_kit_module_reaching_up_and_a_resource_reaching_across() -> None:
    assert breaches([("app.kit.items", "app.events.read")]) == ["app.kit.items imports app.events.read"]
    assert breaches([("app.actors.read", "app.events.read")]) == ["app.actors.read imports app.events.read"]
    assert breaches([("app.actors.routes", "app.events.model"), ("app.events.read", "app.actors.read")]) == []

"""Audit the installed dependencies against the advisories PyPI publishes (PyPA's advisory
database and GitHub's, the data pip-audit reads).

    .venv/bin/python .ci/audit_dependencies.py               # the audit (`make audit`)
    .venv/bin/python .ci/audit_dependencies.py --write-lock  # requirements.lock (`make lock`)

pip-audit asks `https://pypi.org/pypi/<name>/<version>/json` (or api.osv.dev) per release. Where
that answers 404 (as this project's CI mirror does) the project's own `…/pypi/<name>/json` still
answers, and its `vulnerabilities` are those of the latest release: a pin that is the latest
release is audited exactly; an older pin cannot be audited here. The run fails on any known
advisory, and on any runtime dependency (what the wheel and the container install) that could
not be audited; a development tool that could not be audited is named, not failed on.
Exit 0: clean; 1: advisories, unaudited runtime dependencies, or a venv whose runtime
dependencies differ from requirements.lock (the pins `make install` and the container use, so
what is audited is what ships); 2: PyPI unreachable.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

PROJECT = "conflict-events"
LOCK = Path(__file__).resolve().parents[1] / "requirements.lock"
INDEX = os.environ.get("AUDIT_PYPI_URL", "https://pypi.org/pypi")


@dataclass
class Verdict:
    name: str
    version: str
    audited: bool
    advisories: list[dict[str, Any]] = field(default_factory=list)
    why: str = ""


def verdict(
    name: str, version: str, release: dict[str, Any] | None, project: dict[str, Any] | None
) -> Verdict:
    """What PyPI's answers say of one installed release: the release's own document when there
    is one, else the project's when the release is its latest, else nothing."""
    if release is not None:
        return Verdict(name, version, True, list(release.get("vulnerabilities") or []))
    if project is None:
        return Verdict(name, version, False, why="PyPI does not know it")
    latest = str(project.get("info", {}).get("version", ""))
    if latest == version:
        return Verdict(name, version, True, list(project.get("vulnerabilities") or []))
    return Verdict(name, version, False, why=f"not the latest release ({latest}) and no per-release data")


def runtime_names() -> set[str]:
    """The project's dependencies without extras, and theirs, as installed here."""
    seen: set[str] = set()
    todo = [PROJECT]
    while todo:
        name = canonicalize_name(todo.pop())
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for line in requires:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    seen.discard(canonicalize_name(PROJECT))
    return seen


def fetch(url: str) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(url, timeout=30) as answer:
            document: dict[str, Any] = json.load(answer)
            return document
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return None
        raise


def audit_one(name: str, version: str) -> Verdict:
    release = fetch(f"{INDEX}/{name}/{version}/json")
    project = None if release is not None else fetch(f"{INDEX}/{name}/json")
    return verdict(name, version, release, project)


def read_lock(text: str) -> dict[str, str]:
    """`name==version` lines; comments and blank lines ignored."""
    pins: dict[str, str] = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[canonicalize_name(name.strip())] = version.strip()
    return pins


def lock_text(installed: dict[str, str], runtime: set[str]) -> str:
    header = (
        "# The runtime dependencies as installed and audited (make lock writes it, make audit\n"
        "# checks the venv against it); make install and the Dockerfile install with it as constraints.\n"
    )
    return header + "".join(f"{name}=={installed[name]}\n" for name in sorted(runtime))


def main() -> int:
    installed: dict[str, str] = {
        canonicalize_name(dist.metadata["Name"]): dist.version
        for dist in metadata.distributions()
        if canonicalize_name(dist.metadata["Name"]) != canonicalize_name(PROJECT)
    }
    runtime = runtime_names() & set(installed)
    if sys.argv[1:] == ["--write-lock"]:
        LOCK.write_text(lock_text(installed, runtime))
        print(f"audit: wrote {LOCK.name} ({len(runtime)} runtime dependencies)")
        return 0
    pinned = read_lock(LOCK.read_text()) if LOCK.exists() else {}
    drift = sorted(
        f"{name} {installed.get(name, 'absent')} (locked {pinned.get(name, 'not at all')})"
        for name in runtime | set(pinned)
        if installed.get(name) != pinned.get(name)
    )
    if drift:
        print(f"audit: the venv is not requirements.lock: {', '.join(drift)}; make lock, or reinstall")
        return 1
    try:
        with ThreadPoolExecutor(8) as pool:
            verdicts = list(pool.map(lambda item: audit_one(*item), sorted(installed.items())))
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        print(
            f"audit: cannot reach {INDEX} ({error}); run it again where PyPI's JSON API answers",
            file=sys.stderr,
        )
        return 2
    vulnerable = [v for v in verdicts if v.advisories]
    blind_runtime = [v for v in verdicts if not v.audited and v.name in runtime]
    blind_dev = [v for v in verdicts if not v.audited and v.name not in runtime]
    for v in vulnerable:
        for advisory in v.advisories:
            fixed = ", ".join(advisory.get("fixed_in") or []) or "no fixed release"
            print(f"audit: {v.name} {v.version}: {advisory.get('id')} (fixed in {fixed})")
    for v in blind_runtime:
        print(f"audit: runtime dependency {v.name} {v.version} could not be audited: {v.why}")
    audited = sum(v.audited for v in verdicts)
    print(
        f"audit: {audited} of {len(verdicts)} installed distributions audited "
        f"({len(runtime) - len(blind_runtime)} of {len(runtime)} runtime), "
        f"{sum(len(v.advisories) for v in vulnerable)} known advisories"
    )
    if blind_dev:
        named = ", ".join(f"{v.name} {v.version} ({v.why})" for v in blind_dev)
        print(f"audit: development tools not audited: {named}")
    return 1 if vulnerable or blind_runtime else 0


if __name__ == "__main__":
    sys.exit(main())

"""The dependency audit's reading of PyPI's answers (.ci/audit_dependencies.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / ".ci" / "audit_dependencies.py"


@pytest.fixture(scope="module")
def audit() -> ModuleType:
    spec = importlib.util.spec_from_file_location("audit_dependencies", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks itself up there
    spec.loader.exec_module(module)
    return module


ADVISORY = {"id": "PYSEC-2017-94", "fixed_in": []}


def project(latest: str, *advisories: dict[str, Any]) -> dict[str, Any]:
    return {"info": {"version": latest}, "vulnerabilities": list(advisories)}


def test_a_release_document_is_read_as_it_is(audit: ModuleType) -> None:
    verdict = audit.verdict("pycrypto", "2.6.1", {"vulnerabilities": [ADVISORY]}, None)
    assert verdict.audited and verdict.advisories == [ADVISORY]


def test_without_one_the_latest_release_takes_the_projects_advisories(audit: ModuleType) -> None:
    verdict = audit.verdict("pycrypto", "2.6.1", None, project("2.6.1", ADVISORY))
    assert verdict.audited and verdict.advisories == [ADVISORY]
    clean = audit.verdict("jinja2", "3.1.6", None, project("3.1.6"))
    assert clean.audited and clean.advisories == []


def test_an_older_pin_is_not_audited_by_the_latest_releases_advisories(audit: ModuleType) -> None:
    # the latest release being clean says nothing of an older one
    verdict = audit.verdict("setuptools", "65.5.0", None, project("84.2.1"))
    assert not verdict.audited and "84.2.1" in verdict.why
    assert not audit.verdict("nothing", "1.0", None, None).audited


def test_the_runtime_set_follows_requirements_without_extras(audit: ModuleType) -> None:
    runtime = audit.runtime_names()
    assert {"fastapi", "sqlmodel", "starlette", "pydantic"} <= runtime  # direct and transitive
    assert "pytest" not in runtime and "schemathesis" not in runtime  # the dev extra
    assert "conflict-events" not in runtime


def test_the_committed_lock_is_what_the_venv_runs(audit: ModuleType) -> None:
    # what `make audit` audits is what the container installs: change pyproject.toml, `make lock`
    pinned = audit.read_lock(audit.LOCK.read_text())
    runtime = audit.runtime_names()
    assert set(pinned) == runtime
    from importlib import metadata

    assert {name: metadata.version(name) for name in runtime} == pinned


def test_the_lock_reads_back_what_it_writes(audit: ModuleType) -> None:
    text = audit.lock_text({"fastapi": "1.0", "Jinja2": "3.1.6"}, {"fastapi"})
    assert audit.read_lock(text + "# a comment\n\nMarkupSafe == 3.0 # inline\n") == {
        "fastapi": "1.0",
        "markupsafe": "3.0",
    }

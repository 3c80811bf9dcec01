"""How the project is packaged and shipped: the licence is an SPDX expression, the container
image is built from a small context and never migrates on start (replicas would race), and the
test data the importer tests need travels with the tests."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_licence_is_an_spdx_expression() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == "MIT"


def test_the_build_context_leaves_out_the_venv_and_local_state() -> None:
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".venv", ".git", "data", "*.db"} <= ignored


def test_the_container_serves_without_migrating() -> None:
    instructions = [
        line
        for line in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines()
        if line.startswith("CMD")
    ]
    assert len(instructions) == 1
    assert "serve" in instructions[0] and "upgrade" not in instructions[0]


def test_the_ucdp_sample_ships_with_its_attribution() -> None:
    data = ROOT / "tests" / "data"
    assert (data / "ucdp_ged_sample.csv").stat().st_size > 500_000
    notice = (data / "README.md").read_text(encoding="utf-8")
    assert "CC BY 4.0" in notice and "Sundberg" in notice

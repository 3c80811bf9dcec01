"""Conflict Events API: structured, sourced data about armed conflict."""

from pathlib import Path


def migrations_path() -> Path:
    """The Alembic scripts: beside the package in a checkout, else in the working directory."""
    beside = Path(__file__).resolve().parents[1] / "migrations"
    if (beside / "env.py").is_file():
        return beside
    return Path.cwd() / "migrations"

"""Conflict Events API: structured, sourced data about armed conflict."""

from importlib import resources
from pathlib import Path


def migrations_path() -> Path:
    """The Alembic scripts: `migrations/` beside the package in a checkout, else the copy
    installed with it as `app.migrations` (see setup.py), so any working directory will do."""
    beside = Path(__file__).resolve().parents[1] / "migrations"
    if (beside / "env.py").is_file():
        return beside
    return Path(str(resources.files("app.migrations")))

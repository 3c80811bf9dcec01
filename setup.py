"""Packaging that pyproject.toml cannot say: the top-level `migrations/` (their source) ship
inside the wheel as the package `app.migrations`, so an installed service finds them from any
folder (`app.migrations_path`)."""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["app", "app.*"]), "app.migrations", "app.migrations.versions"],
    package_dir={"app.migrations": "migrations"},
    package_data={
        "app": [
            "data/*.json",
            "data/*.md",
            "importers/*.csv",
            "importers/*.md",
            "py.typed",
            # the explorer's page, its modules and the libraries vendored from npm
            "explorer/static/*",
            "explorer/static/vendor/*",
            "explorer/static/vendor/*/*",
            "explorer/static/vendor/*/images/*",
        ],
        "app.migrations": ["script.py.mako"],
    },
)

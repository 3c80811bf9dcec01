"""The `conflict-events` command."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from app.core.config import get_settings
from app.core.errors import APIError, DatasetError
from app.models.enums import KeyScope

cli = typer.Typer(
    help="Conflict Events API: serve, migrate, load and import data.",
    no_args_is_help=True,
    add_completion=False,
)
db_cli = typer.Typer(help="Database schema.", no_args_is_help=True)
keys_cli = typer.Typer(help="API keys for writing (and reading, if reads need a key).", no_args_is_help=True)
import_cli = typer.Typer(help="Import outside datasets.", no_args_is_help=True)
cli.add_typer(db_cli, name="db")
cli.add_typer(keys_cli, name="keys")
cli.add_typer(import_cli, name="import")


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _print_report(report: dict[str, dict[str, int]]) -> None:
    for resource, counts in report.items():
        typer.echo(
            f"{resource:<11} created {counts['created']:>7}  updated {counts['updated']:>7}"
            f"  unchanged {counts['unchanged']:>7}"
        )


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Apply the migrations to DATABASE_URL."""
    from app.services.setup import upgrade

    upgrade()
    typer.echo("database is at the latest migration")


@cli.command("load")
def load(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)]) -> None:
    """Load a dataset file (upsert by ref, one transaction: all or nothing)."""
    from app.db.session import transaction
    from app.services.loader import load_dataset

    try:
        dataset = json.loads(file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise _fail(f"{file} is not a JSON file: {exc}") from None
    try:
        with transaction() as session:
            report = load_dataset(session, dataset)
    except DatasetError as exc:
        raise _fail(f"{file}: {exc}; nothing was loaded") from None
    _print_report(report)


@cli.command("demo")
def demo() -> None:
    """Load the built-in dataset drawn from the Zapad-2025 article."""
    from app.services.setup import load_demo

    try:
        report = load_demo()
    except DatasetError as exc:
        raise _fail(f"the demo data does not fit this database: {exc}; nothing was loaded") from None
    _print_report(report)


@cli.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="PORT", help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
) -> None:
    """Run the API; the embedded database is created, migrated and filled on first start."""
    import uvicorn

    if get_settings().is_embedded_default:
        from app.services.setup import prepare_embedded

        if prepare_embedded():
            typer.echo("embedded database created and filled with the demo data", err=True)
    uvicorn.run("app.main:app", host=host, port=port, workers=workers, proxy_headers=True)


@keys_cli.command("create")
def keys_create(
    name: str,
    scope: Annotated[KeyScope, typer.Option(help="read or write")] = KeyScope.read,
) -> None:
    """Create a key; it is printed once, alone on the last line, and stored only as a hash."""
    from app.db.session import transaction
    from app.services.auth import create_key

    try:
        with transaction() as session:
            key = create_key(session, name, scope)
    except APIError as exc:
        raise _fail(exc.detail) from None
    typer.echo(f"created {scope.value} key {name!r}; store it now, it cannot be shown again:")
    typer.echo(key)


@keys_cli.command("list")
def keys_list() -> None:
    """Names, scopes and dates of the keys (never the keys themselves)."""
    from app.db.session import session_factory
    from app.schemas.common import rfc3339
    from app.services.auth import list_keys

    with session_factory()() as session:
        rows = list_keys(session)
    typer.echo(f"{'name':<30} {'scope':<6} {'created':<28} revoked")
    for row in rows:
        revoked = rfc3339(row.revoked_at) if row.revoked_at else "-"
        typer.echo(f"{row.name:<30} {row.scope:<6} {rfc3339(row.created_at):<28} {revoked}")


@keys_cli.command("revoke")
def keys_revoke(name: str) -> None:
    """Revoke a key by name; requests with it get 401 from then on."""
    from app.db.session import transaction
    from app.services.auth import revoke_key

    try:
        with transaction() as session:
            revoke_key(session, name)
    except APIError as exc:
        raise _fail(exc.detail) from None
    typer.echo(f"revoked key {name!r}")


@import_cli.command("ucdp-ged")
def import_ucdp_ged(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    batch_size: Annotated[int, typer.Option(min=1, max=50_000)] = 1000,
) -> None:
    """Import a UCDP GED CSV (idempotent; commits in batches; non-zero exit if rows skipped)."""
    from app.services.importing import run_ucdp_import

    code = run_ucdp_import(file, batch_size=batch_size, interactive=sys.stderr.isatty())
    raise typer.Exit(code)


def main() -> None:
    cli()


if __name__ == "__main__":
    main()

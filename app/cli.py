"""The `conflict-events` command and all of its console output (reports, progress, errors)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from app.core.config import get_settings
from app.core.enums import KeyScope
from app.core.errors import APIError, DatasetError
from app.importers import BATCH_SIZE

if TYPE_CHECKING:
    from prometheus_client import Gauge
    from rich.console import Console

    from app.importers.ucdp_ged.run import ImportSummary

# Warnings an import lists one by one; the rest are counted (skipped rows are always listed).
MAX_LISTED = 50

cli = typer.Typer(
    help="Conflict Events API: serve, migrate, load and import data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,  # expected failures are explained by `main`, in one line
)
# Set by `--debug`: expected failures then show their traceback too.
DEBUG = {"on": False}
db_cli = typer.Typer(help="Database schema.", no_args_is_help=True)
keys_cli = typer.Typer(help="API keys for writing (and reading, if reads need a key).", no_args_is_help=True)
import_cli = typer.Typer(help="Import outside datasets.", no_args_is_help=True)
sources_cli = typer.Typer(help="Sources: merge two names of one outlet.", no_args_is_help=True)
cli.add_typer(db_cli, name="db")
cli.add_typer(keys_cli, name="keys")
cli.add_typer(import_cli, name="import")
cli.add_typer(sources_cli, name="sources")


@cli.callback()
def options(
    debug: Annotated[bool, typer.Option("--debug", help="Show the traceback of any failure.")] = False,
) -> None:
    """Conflict Events API: serve, migrate, load and import data."""
    DEBUG["on"] = debug


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _print_counts(report: Mapping[str, Mapping[str, int]]) -> None:
    """A loader report (or an import's merged reports) on stdout, one line per resource."""
    for resource, counts in report.items():
        typer.echo(
            f"{resource:<11} created {counts.get('created', 0):>7}  updated {counts.get('updated', 0):>7}"
            f"  unchanged {counts.get('unchanged', 0):>7}"
        )


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Apply the migrations to DATABASE_URL."""
    from app.db.migrations import upgrade

    upgrade()
    typer.echo("database is at the latest migration")


@db_cli.command("refresh-forms")
def db_refresh_forms() -> None:
    """Build the stored event forms that writes made pending (the server does it by itself
    while it runs): after a large import, exports are fast again without waiting for it."""
    import time

    from app.db.session import get_engine
    from app.events.read import STORED_EVENTS, EventSort, event_sort_key

    started = time.perf_counter()
    engine = get_engine()
    STORED_EVENTS.forget_other_forms(engine)
    # in the default export order, so that such an export reads the forms' pages in order
    done = STORED_EVENTS.refresh_in_order(engine, event_sort_key(EventSort.start_date_desc))
    typer.echo(f"stored event forms: {done:,} rebuilt in {time.perf_counter() - started:.1f} s")


@cli.command("load")
def load(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)]) -> None:
    """Load a dataset file (upsert by ref, one transaction: all or nothing)."""
    from app.datasets.loader import load_dataset
    from app.db.session import transaction

    try:
        dataset = json.loads(file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise _fail(f"{file} is not a JSON file: {exc}") from None
    try:
        with transaction(author="cli:load") as session:
            report = load_dataset(session, dataset)
    except DatasetError as exc:
        raise _fail(f"{file}: {exc}; nothing was loaded") from None
    _print_counts(report)


@cli.command("demo")
def demo() -> None:
    """Load the built-in dataset drawn from the Zapad-2025 article."""
    from app.datasets.demo import load_demo

    try:
        report = load_demo()
    except DatasetError as exc:
        raise _fail(f"the demo data does not fit this database: {exc}; nothing was loaded") from None
    _print_counts(report)


@cli.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="PORT", help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(envvar="WORKERS", min=1, help="Worker processes.")] = 1,
) -> None:
    """Run the API; the embedded database is created, migrated and filled on first start.
    uvicorn's limits come from the settings HTTP_IMPLEMENTATION, LIMIT_CONCURRENCY,
    TIMEOUT_KEEP_ALIVE and H11_MAX_INCOMPLETE_EVENT_SIZE (see the README's Security and limits)."""
    import uvicorn

    settings = get_settings()
    if settings.is_embedded_default:
        from app.datasets.demo import prepare_embedded

        if prepare_embedded():
            typer.echo("embedded database created and filled with the demo data", err=True)
    # access_log off: the service logs each request itself (app.api.observability)
    # the app and uvicorn believe X-Forwarded-For from the same peers (a .env file included)
    uvicorn.run(
        "app.main:app",
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        access_log=False,
        http=settings.http_implementation,
        limit_concurrency=settings.limit_concurrency,
        timeout_keep_alive=settings.timeout_keep_alive,
        h11_max_incomplete_event_size=settings.h11_max_incomplete_event_size,
    )


@cli.command("relay")
def relay(
    to: Annotated[
        str, typer.Option("--to", help="The broker: amqp://user:pass@host/vhost or nats://host:4222.")
    ],
    name: Annotated[
        str, typer.Option(help="Exchange and queue (RabbitMQ) or stream (NATS) to publish to.")
    ] = "conflict-events",
    batch: Annotated[int, typer.Option(min=1, max=1000, help="Changes read (and confirmed) at once.")] = 100,
) -> None:
    """Publish the change feed to RabbitMQ or NATS JetStream, at least once and in order, from
    where the broker's last acknowledged change left off (see the README's Running at scale)."""
    import asyncio
    import logging
    from urllib.parse import urlsplit

    from app.feed import relay as feed_relay

    if urlsplit(to).scheme not in feed_relay.SCHEMES:
        raise _fail(f"--to {to!r} must be an amqp:// or nats:// URL (see: conflict-events relay --help)", 2)
    from app.api.observability import configure_logging

    configure_logging(json_logs=False)
    logging.getLogger("aiormq").setLevel(logging.CRITICAL)  # its failures are raised, and said once

    async def run() -> None:
        broker = await feed_relay.open_broker(to, name)
        try:
            await feed_relay.relay(broker, batch=batch)
        finally:
            await broker.close()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        pass
    except feed_relay.BROKER_ERRORS as exc:
        parts = urlsplit(to)
        where = f"{parts.scheme}://{parts.hostname}:{parts.port or ''}"  # no credentials
        raise _fail(f"the broker at {where} failed: {type(exc).__name__}: {exc or 'no answer'}") from None


@keys_cli.command("create")
def keys_create(
    name: str,
    scope: Annotated[KeyScope, typer.Option(help="read or write")] = KeyScope.read,
    expires: Annotated[
        str | None,
        typer.Option(
            help="When the key stops working: a duration (12h, 90d, 2w) or an RFC 3339 timestamp "
            "(2027-01-01T00:00:00Z). Default: never."
        ),
    ] = None,
) -> None:
    """Create a key; it is printed once, alone on the last line, and stored only as a hash."""
    from app.auth.keys import create_key, parse_expiry
    from app.db.session import transaction
    from app.kit.schemas import rfc3339

    try:
        expires_at = parse_expiry(expires) if expires is not None else None
    except ValueError as exc:
        raise _fail(f"{exc} (see: conflict-events keys create --help)", code=2) from None
    try:
        with transaction() as session:
            key = create_key(session, name, scope, expires_at)
    except APIError as exc:
        raise _fail(exc.detail) from None
    until = f", expiring {rfc3339(expires_at)}" if expires_at else ""
    typer.echo(f"created {scope.value} key {name!r}{until}; store it now, it cannot be shown again:")
    typer.echo(key)


@keys_cli.command("list")
def keys_list() -> None:
    """Names, scopes and dates of the keys (never the keys themselves); an expiry in the past
    is marked `(expired)`."""
    from app.auth.keys import list_keys
    from app.db.base import utcnow
    from app.db.session import session_factory
    from app.kit.schemas import rfc3339

    with session_factory()() as session:
        rows = list_keys(session)
    now = utcnow()
    typer.echo(f"{'name':<30} {'scope':<6} {'created':<28} {'expires':<38} revoked")
    for row in rows:
        revoked = rfc3339(row.revoked_at) if row.revoked_at else "-"
        expires = "-"
        if row.expires_at is not None:
            expires = rfc3339(row.expires_at) + (" (expired)" if row.expires_at <= now else "")
        typer.echo(f"{row.name:<30} {row.scope:<6} {rfc3339(row.created_at):<28} {expires:<38} {revoked}")


@keys_cli.command("revoke")
def keys_revoke(name: str) -> None:
    """Revoke a key by name; requests with it get 401 from then on."""
    from app.auth.keys import revoke_key
    from app.db.session import transaction

    try:
        with transaction() as session:
            revoke_key(session, name)
    except APIError as exc:
        raise _fail(exc.detail) from None
    typer.echo(f"revoked key {name!r}")


@import_cli.command("ucdp-ged")
def import_ucdp_ged(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    batch_size: Annotated[int, typer.Option(min=1, max=50_000)] = BATCH_SIZE,
    metrics_port: Annotated[
        int | None,
        typer.Option(help="Serve the import's progress as Prometheus metrics on this port (127.0.0.1)."),
    ] = None,
) -> None:
    """Import a UCDP GED CSV (idempotent; commits in batches; non-zero exit if rows skipped)."""
    code = run_ucdp_import(
        file, batch_size=batch_size, interactive=sys.stderr.isatty(), metrics_port=metrics_port
    )
    raise typer.Exit(code)


@cache
def _import_gauges() -> tuple[Gauge, Gauge]:
    from prometheus_client import Gauge

    return (
        Gauge("conflict_events_import_bytes_total", "Size of the file being imported.", ["file"]),
        Gauge("conflict_events_import_bytes_read", "Bytes of the file committed so far.", ["file"]),
    )


def _import_metrics(path: Path, port: int) -> Callable[[int], None]:
    """Progress as gauges on a metrics endpoint of this process, for the length of the import:
    the import runs in the command, not in the server, so the server's /metrics cannot see it."""
    from prometheus_client import start_http_server

    total, done = _import_gauges()
    total.labels(path.name).set(path.stat().st_size)
    start_http_server(port, addr="127.0.0.1")
    return lambda read: done.labels(path.name).set(read)


def run_ucdp_import(
    path: Path, *, batch_size: int = BATCH_SIZE, interactive: bool = False, metrics_port: int | None = None
) -> int:
    """Import a GED CSV; 0 when every row was imported, 1 when any was skipped, 2 on a bad file
    or when the import could not finish (batches committed before stay)."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TaskID,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    from app.db.session import session_factory
    from app.importers import ucdp_ged

    err = Console(stderr=True, highlight=False)
    factory = session_factory(write=True, author="cli:import")
    report_metric = _import_metrics(path, metrics_port) if metrics_port is not None else None

    def show(bar: Progress, task: TaskID, done: int) -> None:
        bar.update(task, completed=done)
        if report_metric is not None:
            report_metric(done)

    try:
        if interactive:
            with Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                console=err,
            ) as bar:
                task = bar.add_task(f"importing {path.name}", total=path.stat().st_size)
                summary = ucdp_ged.import_ucdp_ged(
                    path,
                    factory,
                    batch_size=batch_size,
                    progress=lambda done: show(bar, task, done),
                )
        else:
            summary = ucdp_ged.import_ucdp_ged(path, factory, batch_size=batch_size, progress=report_metric)
    except (ucdp_ged.UcdpFormatError, ucdp_ged.UcdpImportError) as exc:
        err.print(f"error: {path}: {exc}", markup=False, soft_wrap=True)
        return 2
    ucdp_ged.refresh_statistics()
    _print_import_report(summary, err)
    return 0 if summary.ok else 1


def _print_import_report(summary: ImportSummary, err: Console) -> None:
    """Warnings and skips with their line numbers on stderr; totals and counts on stdout."""
    for line, message in summary.warnings[:MAX_LISTED]:
        err.print(f"warning: line {line}: {message}", markup=False, soft_wrap=True)
    if len(summary.warnings) > MAX_LISTED:
        err.print(f"… and {len(summary.warnings) - MAX_LISTED} more warnings")
    for line, reason in summary.skipped:
        err.print(f"skipped: line {line}: {reason}", markup=False, soft_wrap=True)
    typer.echo(
        f"rows read {summary.rows_read}, events imported {summary.events_imported}, "
        f"skipped {len(summary.skipped)}, warnings {len(summary.warnings)}"
    )
    _print_counts(summary.counts)


@sources_cli.command("merge")
def sources_merge(
    keep: Annotated[str, typer.Argument(help="The source that stays: its id, ref, name or alias.")],
    other: Annotated[str, typer.Argument(help="The source merged into it and deleted.")],
) -> None:
    """Merge OTHER into KEEP in one transaction: OTHER's documents become KEEP's, OTHER's name
    and aliases become aliases of KEEP, and OTHER is deleted (all recorded in the change feed)."""
    from app.db.session import transaction
    from app.sources.merge import merge_sources

    try:
        with transaction(author="cli:sources-merge") as session:
            report = merge_sources(session, keep, other)
    except APIError as exc:
        raise _fail(f"{exc.detail}; nothing was changed") from None
    typer.echo(
        f"merged source {report.other_name!r} (id {report.other_id}) into {report.keep_name!r} "
        f"(id {report.keep_id}): {report.documents} documents re-pointed; "
        f"aliases: {', '.join(map(repr, report.aliases))}"
    )


def _database() -> str:
    """DATABASE_URL without its password, for messages."""
    import sqlalchemy as sa

    url = get_settings().database_url
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return repr(url)


def explain(exc: BaseException) -> str | None:
    """What an expected failure means and what to do about it, in one line; None when the
    failure is not one the command expects (its traceback is then the useful answer)."""
    import sqlalchemy as sa

    if isinstance(exc, sa.exc.ArgumentError):
        return f"DATABASE_URL {_database()} is not a database URL ({exc}); see the README's Settings"
    if isinstance(exc, sa.exc.SQLAlchemyError):
        from app.db.migrations import schema_state
        from app.db.session import get_engine

        state = schema_state(get_engine())
        if state is None:
            return None  # the database is fine: this is a bug, show it
        if "migrat" in state:
            return f"{state} ({_database()}); run: conflict-events db upgrade"
        return f"{state} at {_database()}; check DATABASE_URL and that the database is running"
    if isinstance(exc, OSError) and exc.filename:
        return f"{exc.filename}: {exc.strerror or exc}"
    return None


def main() -> None:
    """The command, with expected failures as one line on stderr and a non-zero exit."""
    try:
        code = cli(standalone_mode=False, prog_name="conflict-events")
    except typer.TyperException as exc:  # usage: a missing file, an unknown option…
        context = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError" and context is not None:
            typer.echo(context.get_help())  # no command given: the help, as always
        else:
            where = f" (see: {context.command_path} --help)" if context is not None else ""
            typer.echo(f"error: {exc.format_message()}{where}", err=True)
        code = exc.exit_code
    except typer.Abort:
        typer.echo("aborted", err=True)
        code = 130
    except Exception as exc:
        message = explain(exc)
        if message is None or DEBUG["on"]:
            raise
        typer.echo(f"error: {message}", err=True)
        code = 1
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()

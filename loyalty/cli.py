"""The `loyalty` command line: serve, migrate, worker, scheduler, demo."""

from __future__ import annotations

import asyncio
import csv
import logging
import os
from pathlib import Path
from typing import Annotated

import typer

from loyalty.cli_data import EncodingOption, file_encoding
from loyalty.settings import get_settings

cli = typer.Typer(help="Messenger-first loyalty service.", no_args_is_help=True)
HOUSEKEEPING_INTERVAL_MINUTES = 60
CAMPAIGN_SYNC_SECONDS = 10


def _configure_logging() -> None:
    from loyalty.log_redaction import install_redaction

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    install_redaction()


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int | None, typer.Option(help="Port; default $PORT or 8000.")] = None,
    polling: Annotated[
        bool, typer.Option("--polling", help="Run the Telegram bot by long polling (local use).")
    ] = False,
    access_log: Annotated[bool, typer.Option(help="Log every HTTP request.")] = True,
) -> None:
    """Web process: webhooks, API, web chat and pages."""
    import uvicorn

    from loyalty.app import create_app

    _configure_logging()
    port = port or int(os.environ.get("PORT", "8000"))
    settings = get_settings()
    if polling and not settings.telegram_enabled:
        raise typer.BadParameter("--polling needs TELEGRAM_BOT_TOKEN")
    uvicorn.run(
        create_app(settings, polling=polling),
        host=host,
        port=port,
        log_level="info",
        access_log=access_log,
    )


@cli.command()
def migrate() -> None:
    """Bring the database schema to the latest version (alembic upgrade head)."""
    from loyalty.migrations import upgrade_to_head

    upgrade_to_head(get_settings().database_url)
    typer.echo("database is up to date")


@cli.command()
def scheduler() -> None:
    """Scheduled jobs (run exactly one): campaign runs, housekeeping, dynamic segment rebuilds,
    nightly lifecycle, RFM and churn predictions."""
    from datetime import timedelta

    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from crm_core.churn.service import refresh_predictions
    from crm_core.clock import utcnow
    from crm_core.db import close_db, init_db
    from crm_core.housekeeping.service import (
        expire_idle_webchat_sessions,
        purge_link_requests,
        purge_processed_updates,
    )
    from crm_core.metrics.service import nightly_refresh
    from crm_core.recommendations.service import refresh_clusters
    from crm_core.segments.service import refresh_dynamic_segments

    _configure_logging()
    settings = get_settings()

    async def housekeeping() -> None:
        now = utcnow()
        removed = await purge_processed_updates(now)
        idle = timedelta(hours=settings.webchat_idle_session_hours)
        expired = await expire_idle_webchat_sessions(now, idle)
        await purge_link_requests(now)
        logging.getLogger("loyalty.scheduler").info(
            "purged %d processed updates, %d idle web-chat sessions", removed, expired
        )

    async def refresh_segments() -> None:
        results = await refresh_dynamic_segments(utcnow())
        logging.getLogger("loyalty.scheduler").info("rebuilt %d dynamic segments", len(results))

    async def nightly_metrics() -> None:
        changed = await nightly_refresh(utcnow())
        logging.getLogger("loyalty.scheduler").info("%d lifecycle stage changes", changed)
        ranked = await refresh_clusters(utcnow())
        logging.getLogger("loyalty.scheduler").info("%d cluster products ranked", ranked)
        await nightly_predictions()
        await refresh_segments()

    async def nightly_predictions() -> None:
        # A failed fit keeps yesterday's predictions and must not stop the segment rebuild.
        try:
            done = await refresh_predictions(utcnow())
        except Exception:
            logging.getLogger("loyalty.scheduler").exception("churn model refresh failed")
            return
        logging.getLogger("loyalty.scheduler").info(
            "churn model %s: %d customers scored", done.model_id, done.customers
        )

    async def main() -> None:
        from loyalty.campaign_jobs import STORE, campaign_job_store, keep_jobs_in_step

        await init_db(settings.database_url, pool_size=2)
        jobs = AsyncIOScheduler(timezone="UTC")
        jobs.add_jobstore(campaign_job_store(settings.database_url), alias=STORE)
        # Campaign jobs follow the campaigns table within seconds of a change in the API.
        jobs.add_job(
            keep_jobs_in_step,
            "interval",
            seconds=CAMPAIGN_SYNC_SECONDS,
            args=[jobs],
            max_instances=1,
            coalesce=True,
            next_run_time=utcnow(),
        )
        jobs.add_job(
            housekeeping, "interval", minutes=HOUSEKEEPING_INTERVAL_MINUTES, next_run_time=utcnow()
        )
        # One run at a time per job; a run missed while down is done once when back.
        jobs.add_job(
            refresh_segments,
            "interval",
            minutes=settings.segment_refresh_minutes,
            max_instances=1,
            coalesce=True,
        )
        jobs.add_job(
            nightly_metrics,
            "cron",
            hour=settings.nightly_metrics_hour_utc,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=6 * 3600,
        )
        jobs.start()
        try:
            await asyncio.Event().wait()
        finally:
            jobs.shutdown(wait=False)
            await close_db()

    asyncio.run(main())


@cli.command()
def worker() -> None:
    """Campaign delivery worker: run as many as needed (PostgreSQL; one on SQLite)."""
    from loyalty.delivery import run_worker

    _configure_logging()
    asyncio.run(run_worker(get_settings()))


@cli.command()
def demo(
    customers: Annotated[int, typer.Option(help="How many demo customers to create.")] = 3000,
    seed: Annotated[int, typer.Option(help="Same seed, same day: the same data.")] = 7,
) -> None:
    """Load a realistic demo data set: stores, a catalogue, shoppers with histories, segments."""
    from loyalty.demo import DemoAlreadyLoaded, load_demo

    settings = get_settings()
    try:
        summary = asyncio.run(load_demo(settings, customers, seed))
    except DemoAlreadyLoaded:
        typer.echo(
            "The demo data is already in this database (stores DEMO-*): loading it twice would"
            " double every history. Use a fresh database.",
            err=True,
        )
        raise typer.Exit(1) from None
    typer.echo(
        f"created {summary.customers} customers, {summary.receipts} receipts"
        f" ({summary.lines} lines) and {len(summary.segments)} segments:"
    )
    for name, members in summary.segments.items():
        typer.echo(f"  {members:6d}  {name}")


keys = typer.Typer(help="Staff API keys: shown once, stored hashed.", no_args_is_help=True)
stores = typer.Typer(help="Stores.", no_args_is_help=True)
importer = typer.Typer(help="Import existing data.", no_args_is_help=True)
cli.add_typer(keys, name="keys")
cli.add_typer(stores, name="stores")
cli.add_typer(importer, name="import")
customers_cli = typer.Typer(help="Customers.", no_args_is_help=True)
cli.add_typer(customers_cli, name="customers")


def _with_db(work):
    """Run one async job against the configured database."""
    from crm_core.db import close_db, init_db

    async def run():
        await init_db(get_settings().database_url, pool_size=2)
        try:
            return await work()
        finally:
            await close_db()

    return asyncio.run(run())


@stores.command("create")
def stores_create(
    code: Annotated[str, typer.Option(help="Short unique code, e.g. KYIV-01.")],
    name: Annotated[str, typer.Option(help="Shown to staff.")],
    timezone: Annotated[str, typer.Option(help="IANA timezone.")] = "Europe/Kyiv",
    currency: Annotated[str, typer.Option(help="ISO 4217 code.")] = "UAH",
) -> None:
    """Add a store."""
    from crm_core.clock import utcnow
    from crm_core.stores.service import InvalidStore, create_store

    try:
        store = _with_db(lambda: create_store(code, name, timezone, currency, utcnow()))
    except InvalidStore as error:
        raise typer.BadParameter(str(error)) from error
    typer.echo(f"store {store.code} created")


@keys.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help="cashier, marketer, store_manager or admin.")],
    store: Annotated[
        str | None, typer.Option(help="Store code (required for cashiers and store managers).")
    ] = None,
    till: Annotated[str | None, typer.Option(help="Till name, for cashier keys.")] = None,
    label: Annotated[str, typer.Option(help="Who or what uses the key.")] = "",
) -> None:
    """Create an API key and print it once."""
    from crm_core.clock import utcnow
    from crm_core.staff.models import Role
    from crm_core.staff.service import InvalidKeyRequest, create_api_key
    from crm_core.stores.service import store_by_code

    try:
        chosen = Role(role)
    except ValueError as error:
        raise typer.BadParameter(
            "role must be cashier, marketer, store_manager or admin"
        ) from error

    async def work():
        found = await store_by_code(store) if store else None
        if store and found is None:
            raise typer.BadParameter(f"no store with code {store!r}")
        return await create_api_key(chosen, found, till, label or f"{chosen} key", utcnow())

    try:
        issued = _with_db(work)
    except InvalidKeyRequest as error:
        raise typer.BadParameter(str(error)) from error
    typer.echo(issued.plaintext)
    typer.echo("Keep it now: it is shown only once.", err=True)


@keys.command("revoke")
def keys_revoke(
    lookup: Annotated[str, typer.Argument(help="The id part of the key: lk_<id>_...")],
) -> None:
    """Revoke a key at once."""
    from crm_core.clock import utcnow
    from crm_core.staff.service import revoke_api_key

    if not _with_db(lambda: revoke_api_key(lookup, utcnow())):
        raise typer.BadParameter("no active key with this id")
    typer.echo("revoked")


@keys.command("list")
def keys_list() -> None:
    """Keys without their secrets."""
    from crm_core.staff.service import list_api_keys

    for key in _with_db(list_api_keys):
        store = key.store.code if key.store else "-"
        state = "revoked" if key.revoked_at else "active"
        till = key.till or "-"
        typer.echo(f"lk_{key.lookup}_…  {key.role:<13} {store:<12} {till:<8} {state}  {key.label}")


@customers_cli.command("merge")
def customers_merge(
    keep: Annotated[int, typer.Argument(help="Id of the customer who survives.")],
    other: Annotated[int, typer.Argument(help="Id of the duplicate merged into KEEP.")],
) -> None:
    """Merge a duplicate customer into another: one card survives, the other number keeps
    scanning as it; purchases, vouchers, consents (an opt-out wins), events and segment
    memberships move. Running it again changes nothing."""
    from crm_core.clock import utcnow
    from crm_core.identity.merge import MergeRefused, merge_customers

    try:
        merged = _with_db(lambda: merge_customers(keep, other, utcnow(), actor="cli"))
    except MergeRefused as refused:
        raise typer.BadParameter(refused.code.replace("_", " ")) from refused
    if not merged.changed:
        typer.echo(f"customer {other} was already merged into {keep}: nothing changed")
        return
    moved = ", ".join(f"{table} {count}" for table, count in merged.moved.items() if count)
    typer.echo(f"customer {other} merged into {keep}: moved {moved or 'nothing'}")


@importer.command("cards")
def import_cards_command(
    path: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="CSV with a header row.")
    ],
    encoding: EncodingOption = None,
) -> None:
    """Load existing plastic cards: card_number, phone, name, optional store.

    Each row is imported whole or not at all; bad rows are listed with their line number;
    importing the same file again changes nothing.
    """
    from crm_core.cards.imports import import_cards, missing_columns
    from crm_core.clock import utcnow

    settings = get_settings()
    with path.open(newline="", encoding=file_encoding(path, encoding)) as handle:
        sample = handle.read(4096)
        handle.seek(0)
        try:
            dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
        except csv.Error:
            dialect = csv.excel
        reader = csv.DictReader(handle, dialect=dialect)
        missing = missing_columns(reader.fieldnames or [])
        if missing:
            raise typer.BadParameter(f"missing columns: {', '.join(missing)}")
        rows = [(reader.line_num, row) for row in reader]
    report = _with_db(
        lambda: import_cards(
            rows,
            settings.default_phone_region,
            settings.default_language,
            settings.default_timezone,
            utcnow(),
        )
    )
    typer.echo(f"created {report.created}, unchanged {report.unchanged}, bad {len(report.bad)}")
    for bad in report.bad:
        detail = f" ({bad.detail})" if bad.detail else ""
        typer.echo(f"line {bad.line}: {bad.problem.value}{detail}")
    if report.bad:
        raise typer.Exit(code=1)


def _register_data_commands() -> None:
    from loyalty.cli_churn import churn
    from loyalty.cli_data import register

    register(importer, cli)
    cli.add_typer(churn, name="churn")


_register_data_commands()


def main() -> None:
    cli()


if __name__ == "__main__":
    main()

"""The `loyalty` command line: serve, migrate, worker, scheduler, demo."""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Annotated

import typer

from loyalty.settings import get_settings

cli = typer.Typer(help="Messenger-first loyalty service.", no_args_is_help=True)
HOUSEKEEPING_INTERVAL_MINUTES = 60


def _configure_logging() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


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
    """Scheduled jobs (run exactly one): housekeeping now, campaign runs later."""
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from crm_core.clock import utcnow
    from crm_core.db import close_db, init_db
    from crm_core.housekeeping.service import purge_processed_updates

    _configure_logging()
    settings = get_settings()

    async def housekeeping() -> None:
        removed = await purge_processed_updates(utcnow())
        logging.getLogger("loyalty.scheduler").info("purged %d processed updates", removed)

    async def main() -> None:
        await init_db(settings.database_url, pool_size=2)
        jobs = AsyncIOScheduler(timezone="UTC")
        jobs.add_job(
            housekeeping, "interval", minutes=HOUSEKEEPING_INTERVAL_MINUTES, next_run_time=utcnow()
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
    """Outbound delivery worker. Replies are sent inline today; the campaign outbox comes next."""
    _configure_logging()
    logging.getLogger("loyalty.worker").warning(
        "no outbox in this version: the worker idles until campaign delivery lands"
    )

    async def idle() -> None:
        await asyncio.Event().wait()

    asyncio.run(idle())


@cli.command()
def demo(
    customers: Annotated[int, typer.Option(help="How many demo customers to create.")] = 200,
) -> None:
    """Load a realistic demo data set: customers on every channel, consents and cards."""
    from loyalty.demo import load_demo

    settings = get_settings()
    created = asyncio.run(load_demo(settings, customers))
    typer.echo(f"created {created} demo customers with cards")


def main() -> None:
    cli()


if __name__ == "__main__":
    main()

"""`loyalty worker`: the campaign delivery worker, composed from the settings."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
from redis.asyncio import Redis

from channels.campaign_sender import CampaignSender, ChannelLimits
from channels.campaign_worker import DeliveryWorker, WorkerPolicy
from channels.rate_limit import LocalPacer, Pacer, RedisPacer
from channels.telegram.dispatcher import create_bot
from channels.viber.client import ViberClient
from crm_core.clock import utcnow
from crm_core.customers.models import Channel
from crm_core.db import close_db, init_db, is_postgres
from loyalty.settings import Settings

log = logging.getLogger("loyalty.worker")
# No statement may keep a worker waiting longer (a half-open connection would, forever).
WORKER_STATEMENT_TIMEOUT_SECONDS = 60.0


def worker_policy(settings: Settings) -> WorkerPolicy:
    return WorkerPolicy(
        batch_size=settings.worker_batch_size,
        concurrency=settings.worker_concurrency,
        max_attempts=settings.send_max_attempts,
        lease=timedelta(seconds=settings.worker_lease_seconds),
        frequency_cap=settings.campaign_frequency_cap,
        quiet_hours=settings.quiet_hours(),
    )


def channel_limits(settings: Settings) -> dict[str, ChannelLimits]:
    return {
        Channel.TELEGRAM: ChannelLimits(
            settings.telegram_rate_per_second, settings.telegram_chat_rate_per_second
        ),
        Channel.VIBER: ChannelLimits(
            settings.viber_rate_per_second, settings.viber_chat_rate_per_second
        ),
    }


@contextlib.asynccontextmanager
async def campaign_sender(settings: Settings) -> AsyncIterator[CampaignSender]:
    """The sender with its clients and the pace shared through Redis when configured."""
    redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
    pacer: Pacer = RedisPacer(redis) if redis is not None else LocalPacer()
    bot = (
        create_bot(settings.telegram_bot_token, settings.telegram_api_base)
        if settings.telegram_enabled
        else None
    )
    http = httpx.AsyncClient(limits=httpx.Limits(max_connections=settings.worker_concurrency))
    viber = (
        ViberClient(
            http,
            settings.viber_api_base,
            settings.viber_auth_token,
            settings.viber_bot_name,
            settings.viber_bot_avatar,
        )
        if settings.viber_enabled
        else None
    )
    try:
        yield CampaignSender(
            pacer, bot, viber, channel_limits(settings), settings.telegram_allow_paid_broadcast
        )
    finally:
        if bot is not None:
            await bot.session.close()
        await http.aclose()
        if redis is not None:
            await redis.aclose()


async def run_worker(settings: Settings) -> None:
    """Deliver until SIGTERM or SIGINT; the batch in hand is finished first."""
    if not is_postgres(settings.database_url):
        log.info("SQLite: run a single worker (claims are not shared between processes)")
    await init_db(
        settings.database_url,
        pool_size=max(4, settings.worker_concurrency // 8),
        application_name="loyalty-worker",
        command_timeout=WORKER_STATEMENT_TIMEOUT_SECONDS,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        async with campaign_sender(settings) as sender:
            await DeliveryWorker(sender, worker_policy(settings), utcnow).run(stop)
    finally:
        try:
            await close_db()
        except Exception:  # connections already gone: nothing is left to close cleanly
            log.warning("closing the database connections failed", exc_info=True)

"""The FastAPI application: wiring settings, database, bot engine and channel adapters."""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
from fastapi import FastAPI, HTTPException, Request
from pydantic import BaseModel
from tortoise import Tortoise

from bot.engine import BotConfig, ConversationEngine
from bot.i18n import N_
from channels.push import Pusher
from channels.telegram import webhook as telegram_webhook
from channels.telegram.dispatcher import create_bot, create_dispatcher
from channels.telegram.responder import TelegramResponder
from channels.telegram.setup import publish_commands, register_webhook
from channels.viber import webhook as viber_webhook
from channels.viber.client import ViberClient
from channels.viber.responder import ViberResponder
from channels.webchat import api as webchat_api
from channels.webchat.limits import WebChatLimits
from crm_core.cards.service import CardNumberPolicy
from crm_core.db import close_db, init_db
from loyalty import media, pos_page
from loyalty.api import campaigns as campaigns_api
from loyalty.api import catalogue as catalogue_api
from loyalty.api import customers as customers_api
from loyalty.api import imports as imports_api
from loyalty.api import pos
from loyalty.api import recommendations as recommendations_api
from loyalty.api import segments as segments_api
from loyalty.api import tasks as tasks_api
from loyalty.api import vouchers as vouchers_api
from loyalty.api.errors import install_error_handlers
from loyalty.api.lookup_limit import SlidingWindow
from loyalty.api.openapi import install_openapi
from loyalty.body_limit import BodySizeLimit
from loyalty.input_hygiene import InputHygiene
from loyalty.log_redaction import install_redaction
from loyalty.registrations import Registrations
from loyalty.settings import Settings, get_settings

log = logging.getLogger(__name__)
VIBER_WEBHOOK_DELAY_SECONDS = 2.0
DATABASE_DOWN = N_("The database is not answering.")
VIBER_EVENTS = ["delivered", "seen", "failed", "subscribed", "unsubscribed", "conversation_started"]


class RegistrationOut(BaseModel):
    state: str  # pending, failing (retrying with growing pauses) or done
    attempts: int
    last_error: str | None


class HealthOut(BaseModel):
    status: str
    registrations: dict[str, RegistrationOut] = {}


def bot_config(settings: Settings, media_key: bytes) -> BotConfig:
    return BotConfig(
        default_language=settings.default_language,
        phone_region=settings.default_phone_region,
        timezone_fallback=settings.default_timezone,
        card_policy=CardNumberPolicy(settings.card_number_prefix, settings.card_serial_digits),
        media_key=media_key,
        media_ttl=timedelta(days=settings.card_image_url_ttl_days),
        telegram_bot_username=settings.telegram_bot_username.removeprefix("@"),
    )


def create_app(settings: Settings | None = None, polling: bool = False) -> FastAPI:
    settings = settings or get_settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        install_redaction()
        await init_db(settings.database_url, settings.db_pool_size)
        http = httpx.AsyncClient()
        app.state.media_key = settings.resolved_secret_key()
        app.state.engine = ConversationEngine(bot_config(settings, app.state.media_key))
        app.state.telegram = None
        app.state.viber = None
        # Platforms are called in the background: serving never waits on them.
        registrations = app.state.registrations = Registrations()
        try:
            if settings.telegram_enabled:
                app.state.telegram = _start_telegram(app, settings, polling, registrations)
            if settings.viber_enabled:
                viber = app.state.viber = _start_viber(app, settings, http)
                if settings.public_base_url:
                    url = f"{settings.public_base_url}/webhooks/viber"
                    # Viber calls the webhook to verify it during set_webhook: serve first.
                    registrations.start(
                        "viber_webhook",
                        lambda: viber.client.set_webhook(url, VIBER_EVENTS),
                        delay=VIBER_WEBHOOK_DELAY_SECONDS,
                    )
            app.state.pusher = Pusher(
                app.state.telegram.responder if app.state.telegram else None,
                app.state.viber.responder if app.state.viber else None,
            )
            # One-time codes that join a chat to a customer go to that customer's messengers.
            app.state.engine.push = app.state.pusher.push
            # Everything loaded at start-up lives for the whole process: keep it out of the
            # garbage collector's full sweeps, which otherwise show up as latency spikes.
            gc.collect()
            gc.freeze()
            yield
        finally:
            await registrations.stop()
            if app.state.telegram is not None:
                await app.state.telegram.bot.session.close()
            await http.aclose()
            await close_db()

    app = FastAPI(
        title="Loyalty",
        version="0.1.0",
        description="Messenger-first loyalty cards, CRM and campaigns.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.lookup_limit = SlidingWindow(settings.pos_lookups_per_minute, 60.0)
    app.state.webchat_limits = WebChatLimits.per_minute(
        settings.webchat_sessions_per_minute,
        settings.webchat_messages_per_minute,
        settings.webchat_client_messages_per_minute,
        settings.webchat_idle_session_hours,
    )
    # Inside the size limit: bodies it reads are already known to be small enough.
    app.add_middleware(InputHygiene, body_exempt_prefixes=("/webhooks/", imports_api.PREFIX + "/"))
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_body_bytes,
        own_limit_prefixes=(imports_api.PREFIX + "/",),
        default_language=settings.default_language,
    )

    @app.get("/healthz", tags=["ops"], response_model=HealthOut)
    async def healthz(request: Request) -> HealthOut:
        """`ok` when the database answers; where each platform registration stands."""
        try:
            await Tortoise.get_connection("default").execute_query("SELECT 1")
        except Exception as error:
            raise HTTPException(status_code=503, detail=DATABASE_DOWN) from error
        registrations = getattr(request.app.state, "registrations", None)
        return HealthOut(
            status="ok",
            registrations={
                name: RegistrationOut(**status)
                for name, status in (registrations.summary() if registrations else {}).items()
            },
        )

    app.include_router(telegram_webhook.router)
    app.include_router(viber_webhook.router)
    app.include_router(webchat_api.router)
    app.include_router(media.router)
    app.include_router(pos.router)
    app.include_router(vouchers_api.router)
    app.include_router(segments_api.router)
    app.include_router(campaigns_api.router)
    app.include_router(catalogue_api.router)
    app.include_router(customers_api.router)
    app.include_router(imports_api.router)
    app.include_router(recommendations_api.router)
    app.include_router(tasks_api.router)
    app.include_router(pos_page.router)
    install_error_handlers(app)
    install_openapi(app)
    return app


def _start_telegram(
    app: FastAPI, settings: Settings, polling: bool, registrations: Registrations
) -> telegram_webhook.TelegramChannel:
    bot = create_bot(settings.telegram_bot_token, settings.telegram_api_base)
    responder = TelegramResponder(bot)
    dispatcher = create_dispatcher(app.state.engine, responder)
    channel = telegram_webhook.TelegramChannel(
        bot=bot,
        dispatcher=dispatcher,
        responder=responder,
        webhook_secret=settings.telegram_webhook_secret,
        max_body_bytes=settings.max_body_bytes,
    )
    if polling:

        async def poll() -> None:
            log.info("telegram long polling started")
            await dispatcher.start_polling(bot, handle_signals=False)

        registrations.start(
            "telegram_webhook_removal", lambda: bot.delete_webhook(drop_pending_updates=False)
        )
        registrations.after("telegram_webhook_removal", poll)
    elif settings.public_base_url:
        if not settings.telegram_webhook_secret:
            log.error("TELEGRAM_WEBHOOK_SECRET is empty: the webhook is not registered")
        else:
            url = f"{settings.public_base_url}/webhooks/telegram"
            secret = settings.telegram_webhook_secret
            registrations.start("telegram_webhook", lambda: register_webhook(bot, url, secret))
            registrations.start(
                "telegram_commands", lambda: publish_commands(bot, settings.default_language)
            )
    return channel


def _start_viber(
    app: FastAPI, settings: Settings, http: httpx.AsyncClient
) -> viber_webhook.ViberChannel:
    client = ViberClient(
        http,
        settings.viber_api_base,
        settings.viber_auth_token,
        settings.viber_bot_name,
        settings.viber_bot_avatar,
    )
    return viber_webhook.ViberChannel(
        client=client,
        responder=ViberResponder(client, settings.public_base_url),
        engine=app.state.engine,
        auth_token=settings.viber_auth_token,
        max_body_bytes=settings.max_body_bytes,
    )

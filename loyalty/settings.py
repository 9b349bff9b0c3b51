"""All runtime settings in one place, read from the environment and `.env`."""

from __future__ import annotations

import secrets
from datetime import time
from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from crm_core.campaigns.quiet_hours import QuietHours

SUPPORTED_LANGUAGES = ("uk", "en", "pl", "cs", "ru")


class Settings(BaseSettings):
    """Service settings. Defaults give the embedded set-up: SQLite and the web chat only."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = "sqlite://data/loyalty.sqlite3"
    secret_key: str = Field(
        default="",
        description="Signs media URLs. Empty: a random key is kept in data/secret_key.",
    )

    telegram_bot_token: str = ""
    telegram_webhook_secret: str = ""
    telegram_api_base: str = "https://api.telegram.org"

    viber_auth_token: str = ""
    viber_bot_name: str = "Loyalty"
    viber_bot_avatar: str = ""
    viber_api_base: str = "https://chatapi.viber.com/pa"

    public_base_url: str = ""
    redis_url: str = ""

    default_language: str = "uk"
    default_phone_region: str = "UA"
    default_timezone: str = "Europe/Kyiv"
    card_number_prefix: str = "2710"
    card_serial_digits: int = 8
    card_image_url_ttl_days: int = 30
    # Card and voucher lookups per cashier key and till per minute (0: unlimited).
    pos_lookups_per_minute: int = 30
    # The bot's @username: the web chat offers "Open in Telegram" (t.me/<name>?start=link_...).
    telegram_bot_username: str = ""
    # The public web chat, per client address (per session for messages) per minute
    # (0: unlimited); sessions that registered nobody expire after this many idle hours.
    webchat_sessions_per_minute: int = 10
    webchat_messages_per_minute: int = 30
    webchat_client_messages_per_minute: int = 120
    webchat_idle_session_hours: int = 24

    # Dynamic segments are rebuilt this often (and per customer right after their changes).
    segment_refresh_minutes: int = 15
    # Lifecycle stages and RFM quintiles are recomputed every night at this UTC hour.
    nightly_metrics_hour_utc: int = 3
    max_body_bytes: int = 1024 * 1024
    # CSV imports through the API are streamed to disk: they may be much larger.
    max_import_bytes: int = 2 * 1024 * 1024 * 1024
    db_pool_size: int = 20

    # Campaign delivery. At most this many marketing messages per customer per 7 days.
    campaign_frequency_cap: int = 3
    # No marketing between these local times (customer's timezone); may cross midnight.
    quiet_hours_start: str = "21:00"
    quiet_hours_end: str = "09:00"
    # Pace per bot across chats and per chat (messages/s); 0 turns a limit off.
    telegram_rate_per_second: float = 30.0
    telegram_chat_rate_per_second: float = 1.0
    # Paid broadcasts lift Telegram's limit (raise telegram_rate_per_second with it).
    telegram_allow_paid_broadcast: bool = False
    viber_rate_per_second: float = 50.0
    viber_chat_rate_per_second: float = 1.0
    worker_batch_size: int = 200
    # A claimed message whose worker died is claimed again after this long.
    worker_lease_seconds: int = 120
    worker_concurrency: int = 64
    send_max_attempts: int = 5
    # A schedule missed while the scheduler was down still runs if it is this late at most.
    campaign_misfire_grace_minutes: int = 360
    # Purchases this many days after a run count towards its results.
    attribution_days: int = 14

    @field_validator("default_language")
    @classmethod
    def _language_supported(cls, value: str) -> str:
        if value not in SUPPORTED_LANGUAGES:
            raise ValueError(f"DEFAULT_LANGUAGE must be one of {', '.join(SUPPORTED_LANGUAGES)}")
        return value

    @field_validator("quiet_hours_start", "quiet_hours_end")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        try:
            time.fromisoformat(value)
        except ValueError:
            raise ValueError("quiet hours are local times like 21:00") from None
        return value

    @model_validator(mode="after")
    def _quiet_hours_leave_time_to_send(self) -> Settings:
        self.quiet_hours()  # a window covering the whole day is refused, not silently obeyed
        return self

    def quiet_hours(self) -> QuietHours:
        return QuietHours(
            time.fromisoformat(self.quiet_hours_start), time.fromisoformat(self.quiet_hours_end)
        )

    @field_validator("card_number_prefix")
    @classmethod
    def _prefix_digits(cls, value: str) -> str:
        if not value.isdigit() or len(value) > 8:
            raise ValueError("CARD_NUMBER_PREFIX must be 1-8 digits")
        return value

    @field_validator("public_base_url", "telegram_api_base", "viber_api_base")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @property
    def telegram_enabled(self) -> bool:
        return bool(self.telegram_bot_token)

    @property
    def viber_enabled(self) -> bool:
        return bool(self.viber_auth_token)

    def resolved_secret_key(self) -> bytes:
        """The media-signing key; for the embedded default, one random key kept on disk."""
        if self.secret_key:
            return self.secret_key.encode()
        path = Path("data/secret_key")
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip().encode()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()

"""aiogram's exceptions mapped to our failure kinds (aiogram has one 403 class for all reasons)."""

from __future__ import annotations

from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
)

from channels.errors import DeliveryError, FailureKind

_GONE_CHAT_MARKERS = ("chat not found", "user is deactivated", "bot was blocked", "bot was kicked")


def classify_telegram_error(error: Exception) -> DeliveryError:
    if isinstance(error, TelegramRetryAfter):
        return DeliveryError(FailureKind.RATE_LIMITED, error.message, float(error.retry_after))
    if isinstance(error, TelegramForbiddenError):
        return DeliveryError(FailureKind.UNREACHABLE, error.message)
    if isinstance(error, TelegramBadRequest | TelegramNotFound):
        message = error.message.lower()
        if any(marker in message for marker in _GONE_CHAT_MARKERS):
            return DeliveryError(FailureKind.UNREACHABLE, error.message)
        return DeliveryError(FailureKind.PERMANENT, error.message)
    if isinstance(error, TelegramServerError | TelegramNetworkError):
        return DeliveryError(FailureKind.TRANSIENT, str(error))
    if isinstance(error, TelegramAPIError):
        return DeliveryError(FailureKind.PERMANENT, error.message)
    return DeliveryError(FailureKind.TRANSIENT, repr(error))

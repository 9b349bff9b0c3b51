"""Signed, expiring, revocable tokens for card image URLs (Viber fetches pictures by URL).

A token names the card id and an expiry and is signed with the service key and the card's
own salt: it cannot be derived from the card number, expires, and rotating the salt revokes it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class MediaTokenClaims:
    card_id: int
    expires_at: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(key: bytes, card_id: int, salt: str, expires_at: int, purpose: str) -> str:
    message = f"{purpose}:{card_id}:{salt}:{expires_at}".encode()
    return _b64(hmac.new(key, message, hashlib.sha256).digest()[:24])


def sign_card_token(
    key: bytes,
    card_id: int,
    salt: str,
    now: datetime,
    ttl: timedelta,
    purpose: str = "card",
) -> str:
    """A token for the image of one object; `purpose` keeps card and voucher tokens apart."""
    expires_at = int((now + ttl).timestamp())
    claims = _b64(f"{card_id}.{expires_at}".encode())
    return f"{claims}.{_signature(key, card_id, salt, expires_at, purpose)}"


_MAX_ID = 2**63 - 1
_BASE64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def read_card_token(token: str) -> MediaTokenClaims | None:
    """Unverified claims, or None when the token is not even well formed."""
    claims_part, dot, signature_part = token.partition(".")
    if not dot or not set(claims_part) <= _BASE64URL or not set(signature_part) <= _BASE64URL:
        return None
    try:
        card_id_text, expires_text = _unb64(claims_part).decode().split(".", 1)
        claims = MediaTokenClaims(card_id=int(card_id_text), expires_at=int(expires_text))
    except (ValueError, UnicodeDecodeError):
        return None
    if not (1 <= claims.card_id <= _MAX_ID and 0 <= claims.expires_at <= _MAX_ID):
        return None
    return claims


def verify_card_token(
    key: bytes,
    token: str,
    claims: MediaTokenClaims,
    salt: str,
    now: datetime,
    purpose: str = "card",
) -> bool:
    if claims.expires_at < int(now.timestamp()):
        return False
    expected = _signature(key, claims.card_id, salt, claims.expires_at, purpose)
    given = token.split(".", 1)[1]
    return hmac.compare_digest(expected.encode(), given.encode())

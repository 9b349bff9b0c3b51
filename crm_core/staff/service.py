"""Staff API keys: `lk_<lookup>_<secret>`, shown once; only a SHA-256 of the secret is kept.

The secret has 256 bits of entropy, so a plain hash is enough (no slow KDF is needed for
random keys), and lookups stay one indexed query per request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from crm_core.staff.models import ApiKey, Role
from crm_core.stores.models import Store

KEY_PREFIX = "lk"
# Writing last_used_at on every request would cost a write per scan.
LAST_USED_RESOLUTION = timedelta(minutes=5)


@dataclass(frozen=True)
class IssuedKey:
    key: ApiKey
    plaintext: str


class InvalidKeyRequest(ValueError):
    pass


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def create_api_key(
    role: Role, store: Store | None, till: str | None, label: str, now: datetime
) -> IssuedKey:
    if role in (Role.CASHIER, Role.STORE_MANAGER) and store is None:
        raise InvalidKeyRequest(f"a {role} key belongs to a store")
    lookup = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    key = await ApiKey.create(
        lookup=lookup,
        secret_hash=_hash(secret),
        role=role,
        store_id=store.id if store else None,
        till=till,
        label=label,
        created_at=now,
    )
    return IssuedKey(key=key, plaintext=f"{KEY_PREFIX}_{lookup}_{secret}")


class KeyCache:
    """Recently verified keys, so a busy till does not cost a key query per scan.

    A revocation takes effect at once in the process that made it and within `ttl`
    everywhere else: the price of one query less on every request.
    """

    def __init__(self, ttl: timedelta = timedelta(seconds=5), size: int = 1024) -> None:
        self.ttl = ttl
        self.size = size
        self._entries: dict[str, tuple[datetime, ApiKey]] = {}

    def get(self, lookup: str, now: datetime) -> ApiKey | None:
        entry = self._entries.get(lookup)
        if entry is None or now - entry[0] > self.ttl:
            return None
        return entry[1]

    def put(self, lookup: str, key: ApiKey, now: datetime) -> None:
        if len(self._entries) >= self.size:
            self._entries.clear()
        self._entries[lookup] = (now, key)

    def forget(self, lookup: str) -> None:
        self._entries.pop(lookup, None)


key_cache = KeyCache()


async def authenticate(plaintext: str, now: datetime) -> ApiKey | None:
    """The active key for a presented secret, with its store loaded; None otherwise."""
    parts = plaintext.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        return None
    _, lookup, secret = parts
    key = key_cache.get(lookup, now)
    if key is None:
        key = (
            await ApiKey.filter(lookup=lookup, revoked_at__isnull=True)
            .select_related("store")
            .first()
        )
        if key is None:
            return None
        key_cache.put(lookup, key, now)
    if not hmac.compare_digest(key.secret_hash, _hash(secret)):
        return None
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        key.last_used_at = now
        await ApiKey.filter(id=key.id).update(last_used_at=now)
    return key


async def revoke_api_key(lookup: str, now: datetime) -> bool:
    key_cache.forget(lookup)
    return bool(await ApiKey.filter(lookup=lookup, revoked_at__isnull=True).update(revoked_at=now))


async def list_api_keys() -> list[ApiKey]:
    return await ApiKey.all().select_related("store").order_by("id")

"""Card image URLs are signed, expire, and are revoked with the card's salt."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crm_core.cards.media_tokens import read_card_token, sign_card_token, verify_card_token

KEY = b"k" * 32
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def check(token: str, salt: str = "salt-1", now: datetime = NOW, key: bytes = KEY) -> bool:
    claims = read_card_token(token)
    return claims is not None and verify_card_token(key, token, claims, salt, now)


def test_a_signed_token_verifies_until_it_expires():
    token = sign_card_token(KEY, 7, "salt-1", NOW, timedelta(days=1))
    assert check(token)
    assert check(token, now=NOW + timedelta(hours=23))
    assert not check(token, now=NOW + timedelta(days=1, seconds=1))


def test_rotating_the_salt_revokes_the_token():
    token = sign_card_token(KEY, 7, "salt-1", NOW, timedelta(days=1))
    assert not check(token, salt="salt-2")


def test_another_key_or_a_tampered_token_fails():
    token = sign_card_token(KEY, 7, "salt-1", NOW, timedelta(days=1))
    assert not check(token, key=b"other-key")
    claims_part, signature = token.split(".")
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    assert not check(f"{claims_part}.{flipped}")
    other_card = sign_card_token(KEY, 8, "salt-1", NOW, timedelta(days=1)).split(".")[0]
    assert not check(f"{other_card}.{signature}")


def test_garbage_is_not_even_read():
    for garbage in ["", "abc", "....", "bm90LWEtbnVtYmVy.sig", "%%%.%%%"]:
        assert read_card_token(garbage) is None or not check(garbage)


def test_tokens_do_not_contain_the_card_number():
    token = sign_card_token(KEY, 7, "salt-1", NOW, timedelta(days=1))
    assert "2710" not in token

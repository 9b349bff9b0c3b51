"""Staff API keys at the till: 401 without a working key, 403 for the wrong role, hashed at rest."""

from __future__ import annotations

import hashlib
import secrets

from crm_core.clock import utcnow
from crm_core.staff.models import ApiKey, Role
from crm_core.staff.service import revoke_api_key
from tests.support.staff import bearer, new_key, new_store
from tests.support.texts import t
from tests.support.till import customer_with_card, line, open_till, receipt

ME = "/api/v1/pos/me"
PURCHASES = "/api/v1/pos/purchases"


def parts(plaintext: str) -> tuple[str, str]:
    """The public lookup and the secret of an `lk_<lookup>_<secret>` key."""
    prefix, lookup, secret = plaintext.split("_", 2)
    assert prefix == "lk"
    return lookup, secret


async def test_no_key_is_401_with_a_reason_and_a_bearer_challenge(stack):
    response = await stack.client.get(ME, headers={"Accept-Language": "en"})

    assert response.status_code == 401
    assert response.json() == {"code": "key_missing", "detail": "Sign in with your API key."}
    assert response.headers["WWW-Authenticate"] == "Bearer"


async def test_the_reason_is_in_the_cashiers_language(stack):
    response = await stack.client.get(ME, headers={"Accept-Language": "uk"})
    assert response.json()["detail"] == t("uk", "Sign in with your API key.")


async def test_another_scheme_than_bearer_counts_as_no_key(stack):
    till = await open_till(stack)
    response = await stack.client.get(ME, headers={"Authorization": f"Basic {till.key}"})
    assert response.status_code == 401 and response.json()["code"] == "key_missing"


async def test_malformed_and_unknown_keys_are_401(stack):
    till = await open_till(stack)
    lookup, secret = parts(till.key)
    wrong = [
        "nonsense",
        "lk_",
        f"lk_{lookup}",
        f"xx_{lookup}_{secret}",
        f"lk_{secrets.token_hex(6)}_{secret}",  # unknown lookup, a real secret
        f"lk_{lookup}_{secrets.token_urlsafe(32)}",  # a real lookup, a wrong secret
        f"lk_{lookup}_{secret}x",
    ]
    assert (await stack.client.get(ME, headers=bearer(till.key))).status_code == 200
    for key in wrong:
        response = await stack.client.get(ME, headers=bearer(key))
        assert response.status_code == 401, key
        assert response.json()["code"] == "key_invalid", key
        assert response.headers["WWW-Authenticate"] == "Bearer"


async def test_a_revoked_key_stops_working_at_once(stack):
    till = await open_till(stack)
    _chat, card = await customer_with_card(stack)
    assert (await till.scan(card.number)).status_code == 200  # and now recently verified

    assert await revoke_api_key(parts(till.key)[0], utcnow())

    response = await till.scan(card.number)
    assert response.status_code == 401 and response.json()["code"] == "key_invalid"
    assert (await till.post(PURCHASES, receipt([line()]))).status_code == 401


async def test_a_marketer_key_is_403_on_every_cashier_route(stack):
    store = await new_store()
    marketer = bearer(await new_key(Role.MARKETER, store))
    _chat, card = await customer_with_card(stack)

    responses = [
        await stack.client.get(ME, headers=marketer),
        await stack.client.get(f"/api/v1/pos/cards/{card.number}", headers=marketer),
        await stack.client.post(PURCHASES, json=receipt([line()]), headers=marketer),
    ]

    for response in responses:
        assert response.status_code == 403
        assert response.json()["code"] == "role_forbidden"
        assert response.json()["role"] == "marketer"


async def test_an_admin_key_may_use_the_till(stack):
    store = await new_store()
    admin = bearer(await new_key(Role.ADMIN, store))
    _chat, card = await customer_with_card(stack)

    scan = await stack.client.get(f"/api/v1/pos/cards/{card.number}", headers=admin)
    recorded = await stack.client.post(PURCHASES, json=receipt([line()]), headers=admin)

    assert scan.status_code == 200 and scan.json()["card"]["number"] == card.number
    assert recorded.status_code == 201 and recorded.json()["store"] == store.code


async def test_an_admin_without_a_store_names_the_store_a_cashier_may_not(stack):
    store = await new_store()
    admin = bearer(await new_key(Role.ADMIN))
    cashier = await open_till(stack)

    unnamed = await stack.client.post(PURCHASES, json=receipt([line()]), headers=admin)
    named = await stack.client.post(
        PURCHASES, json=receipt([line()], store=store.code, till="T9"), headers=admin
    )
    elsewhere = await cashier.post(PURCHASES, receipt([line()], store=store.code))

    assert unnamed.status_code == 422 and unnamed.json()["code"] == "store_unknown"
    assert named.status_code == 201 and named.json()["store"] == store.code
    assert named.json()["till"] == "T9"
    assert elsewhere.status_code == 403 and elsewhere.json()["code"] == "store_mismatch"


async def test_the_key_is_stored_only_as_a_hash_of_its_secret(stack):
    till = await open_till(stack)
    lookup, secret = parts(till.key)

    stored = await ApiKey.get(lookup=lookup)

    assert stored.secret_hash != secret and secret not in stored.secret_hash
    assert stored.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    (row,) = await ApiKey.filter(id=stored.id).values()
    columns = [str(value) for value in row.values()]
    assert not any(secret in value or till.key in value for value in columns)
    assert stored.role == Role.CASHIER and stored.store_id == till.store.id

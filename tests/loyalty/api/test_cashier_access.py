"""Staff keys: 401 without a valid key, 403 for the wrong role, revocation at once, hashed."""

from __future__ import annotations

from crm_core.clock import utcnow
from crm_core.staff.models import ApiKey, Role
from crm_core.staff.service import revoke_api_key
from tests.support.staff import bearer, new_key
from tests.support.till import customer_with_card, open_till


async def test_no_key_or_a_wrong_key_is_401_with_a_reason(stack):
    _chat, card = await customer_with_card(stack)
    path = f"/api/v1/pos/cards/{card.number}"
    missing = await stack.client.get(path)
    assert missing.status_code == 401
    assert missing.json()["code"] == "key_missing" and missing.json()["detail"]
    assert missing.headers["www-authenticate"] == "Bearer"
    for wrong in ["nonsense", "lk_000000000000_secret", "Basic abc"]:
        response = await stack.client.get(path, headers={"Authorization": f"Bearer {wrong}"})
        assert response.status_code == 401, wrong


async def test_a_revoked_key_stops_working_at_once(stack):
    till = await open_till(stack)
    _chat, card = await customer_with_card(stack)
    assert (await till.scan(card.number)).status_code == 200
    lookup = till.key.split("_")[1]
    assert await revoke_api_key(lookup, utcnow())
    response = await till.scan(card.number)
    assert response.status_code == 401 and response.json()["code"] == "key_invalid"


async def test_the_right_key_with_the_wrong_role_is_403_and_admins_may_act(stack):
    till = await open_till(stack)
    _chat, card = await customer_with_card(stack)
    marketer = await new_key(Role.MARKETER)
    response = await stack.client.get(f"/api/v1/pos/cards/{card.number}", headers=bearer(marketer))
    assert response.status_code == 403 and response.json()["code"] == "role_forbidden"
    admin = await new_key(Role.ADMIN, till.store)
    response = await stack.client.get(f"/api/v1/pos/cards/{card.number}", headers=bearer(admin))
    assert response.status_code == 200


async def test_keys_are_stored_only_as_a_hash(stack):
    till = await open_till(stack)
    _, lookup, secret = till.key.split("_", 2)
    stored = await ApiKey.get(lookup=lookup)
    assert secret not in stored.secret_hash and len(stored.secret_hash) == 64
    assert stored.role == Role.CASHIER and stored.store_id == till.store.id

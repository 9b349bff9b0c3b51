"""PATCH /api/v1/customers/{id}: only what a marketer may change, by the same rules as the
bot and the imports (issue 13 B15)."""

from __future__ import annotations

import pytest

from crm_core.customers.models import Customer
from crm_core.staff.models import Role
from tests.support.customers import new_customer
from tests.support.staff import bearer, new_key


@pytest.fixture
async def marketer(stack):
    return bearer(await new_key(Role.MARKETER))


async def patch(stack, marketer, customer_id: int, body: dict):
    return await stack.client.patch(
        f"/api/v1/customers/{customer_id}",
        json=body,
        headers={**marketer, "Accept-Language": "en"},
    )


async def test_an_unknown_key_is_refused_and_nothing_changes(stack, marketer):
    customer, _ = await new_customer("Ivan", city="Lviv")
    answer = await patch(stack, marketer, customer.id, {"city": "Kyiv", "citty": "Odesa"})
    assert answer.status_code == 422, answer.text
    assert answer.json()["fields"] == [
        {"location": "body", "path": "citty", "code": "extra_forbidden",
         "detail": "This key is not expected here."}
    ]  # fmt: skip
    assert (await Customer.get(id=customer.id)).city == "Lviv"


async def test_the_phone_is_not_the_marketers_to_change(stack, marketer):
    customer, _ = await new_customer("Ivan")
    answer = await patch(stack, marketer, customer.id, {"phone": "+380671112233"})
    assert answer.status_code == 422, answer.text
    problem = answer.json()["fields"][0]
    assert (problem["path"], problem["code"]) == ("phone", "phone_not_editable")
    assert "messenger" in problem["detail"]
    assert (await Customer.get(id=customer.id)).phone == customer.phone


async def test_consent_points_to_where_it_changes(stack, marketer):
    customer, _ = await new_customer("Ivan", consent=False)
    answer = await patch(stack, marketer, customer.id, {"marketing_consent": True})
    assert answer.status_code == 422, answer.text
    problem = answer.json()["fields"][0]
    assert (problem["path"], problem["code"]) == ("marketing_consent", "consent_not_editable")
    assert "POST /api/v1/imports/customers" in problem["detail"]
    assert "/subscribe" in problem["detail"]
    assert (await Customer.get(id=customer.id)).marketing_consent is False


@pytest.mark.parametrize("name", ["Ivan123", "http://spam.example", "😀", "  ", "A" * 65])
async def test_a_first_name_follows_the_bots_rule(stack, marketer, name):
    customer, _ = await new_customer("Ivan")
    answer = await patch(stack, marketer, customer.id, {"first_name": name})
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "bad_name"
    assert (await Customer.get(id=customer.id)).first_name == "Ivan"


async def test_a_name_and_a_city_are_tidied_as_everywhere(stack, marketer):
    customer, _ = await new_customer("Ivan")
    answer = await patch(
        stack, marketer, customer.id, {"first_name": "  Анна-Марія ", "city": " Ivano  Frankivsk "}
    )
    assert answer.status_code == 200, answer.text
    stored = await Customer.get(id=customer.id)
    assert (stored.first_name, stored.city) == ("Анна-Марія", "Ivano Frankivsk")


async def test_a_city_longer_than_the_rule_is_refused(stack, marketer):
    customer, _ = await new_customer("Ivan", city="Lviv")
    answer = await patch(stack, marketer, customer.id, {"city": "L" * 65})
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "bad_city"

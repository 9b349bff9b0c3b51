"""Manager tasks over HTTP: create, filter, page, close and reopen, and store managers' scope."""

from __future__ import annotations

import base64
import json
from datetime import timedelta, timezone

import pytest

from crm_core.clock import utcnow
from crm_core.staff.models import ApiKey, Role
from crm_core.staff.service import InvalidKeyRequest, create_api_key
from crm_core.tasks.service import create_task
from loyalty.api import task_texts
from tests.support.customers import buy, item, new_customer
from tests.support.staff import bearer, new_key, new_store
from tests.support.texts import t

TASKS = "/api/v1/tasks"


@pytest.fixture
async def marketer(stack):
    return bearer(await new_key(Role.MARKETER))


def due(hours: float) -> str:
    return (utcnow() + timedelta(hours=hours)).isoformat()


async def make(stack, headers, **body) -> dict:
    body.setdefault("title", "Call the customer back")
    body.setdefault("due_at", due(24))
    answer = await stack.client.post(TASKS, json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    return answer.json()


async def listed(stack, headers, **params) -> list[dict]:
    answer = await stack.client.get(TASKS, params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


async def test_a_marketer_creates_a_task_and_reads_it_back(stack, marketer):
    store = await new_store()
    customer, _ = await new_customer("Ira")
    made = await make(
        stack, marketer, customer_id=customer.id, store_id=store.id, note="Asked about a refund"
    )
    key_id = (await ApiKey.filter(role=Role.MARKETER).order_by("-id").first()).id

    assert made["status"] == "open"
    assert made["overdue"] is False
    assert made["store_code"] == store.code
    assert made["assignee_role"] == "store_manager"  # a store's task goes to its managers
    assert made["created_by"] == f"key:{key_id}"
    assert made["closed_at"] is None
    again = await stack.client.get(f"{TASKS}/{made['id']}", headers=marketer)
    assert again.json() == made


async def test_a_task_without_a_store_goes_to_marketers(stack, marketer):
    made = await make(stack, marketer)
    assert made["store_id"] is None
    assert made["assignee_role"] == "marketer"


async def test_a_task_about_a_receipt_takes_its_store_and_customer(stack, marketer):
    store = await new_store()
    customer, card = await new_customer("Oles")
    recorded = await buy(store, card, [item()], utcnow() - timedelta(hours=1))
    made = await make(stack, marketer, purchase_id=recorded.purchase.id)
    assert (made["store_id"], made["customer_id"]) == (store.id, customer.id)

    other = await new_store()
    answer = await stack.client.post(
        TASKS,
        json={
            "title": "x",
            "due_at": due(1),
            "purchase_id": recorded.purchase.id,
            "store_id": other.id,
        },
        headers={**marketer, "Accept-Language": "pl"},
    )
    assert answer.status_code == 422
    assert answer.json()["code"] == "task_purchase_other_store"
    assert answer.json()["field"] == "store_id"
    assert answer.json()["detail"] == t(
        "pl", task_texts.PROBLEMS[task_texts.TaskProblem.PURCHASE_OTHER_STORE]
    )


async def test_filters_by_status_store_customer_overdue_and_due_time(stack, marketer):
    store = await new_store()
    customer, _ = await new_customer()
    late = await make(stack, marketer, store_id=store.id, due_at=due(-2), title="late")
    soon = await make(stack, marketer, store_id=store.id, due_at=due(2), customer_id=customer.id)
    later = await make(stack, marketer, store_id=store.id, due_at=due(48))
    closed_late = await make(stack, marketer, store_id=store.id, due_at=due(-5))
    await stack.client.patch(
        f"{TASKS}/{closed_late['id']}", json={"status": "done"}, headers=marketer
    )

    def ids(items):
        return [i["id"] for i in items]

    everything = await listed(stack, marketer, store_id=store.id)
    assert ids(everything) == [closed_late["id"], late["id"], soon["id"], later["id"]]
    assert [i["overdue"] for i in everything] == [False, True, False, False]
    assert ids(await listed(stack, marketer, store_id=store.id, overdue="true")) == [late["id"]]
    assert ids(await listed(stack, marketer, store_id=store.id, overdue="false")) == [
        closed_late["id"],
        soon["id"],
        later["id"],
    ]
    assert ids(await listed(stack, marketer, store_id=store.id, status="done")) == [
        closed_late["id"]
    ]
    both = await listed(stack, marketer, store_id=store.id, status=["open", "done"])
    assert len(both) == 4
    assert ids(await listed(stack, marketer, customer_id=customer.id)) == [soon["id"]]
    window = await listed(stack, marketer, store_id=store.id, due_after=due(0), due_before=due(24))
    assert ids(window) == [soon["id"]]
    newest = await listed(stack, marketer, store_id=store.id, sort="newest")
    assert ids(newest) == [closed_late["id"], later["id"], soon["id"], late["id"]]


@pytest.mark.parametrize("sort", ["due", "newest"])
async def test_pages_follow_the_cursor_without_gaps_or_repeats(stack, marketer, sort):
    store = await new_store()
    made = [await make(stack, marketer, store_id=store.id, due_at=due(h)) for h in (5, 1, 3, 1, 2)]
    seen: list[int] = []
    cursor = None
    while True:
        params = {"store_id": store.id, "limit": 2, "sort": sort}
        if cursor:
            params["cursor"] = cursor
        answer = await stack.client.get(TASKS, params=params, headers=marketer)
        body = answer.json()
        seen += [i["id"] for i in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(m["id"] for m in made)
    assert len(seen) == len(set(seen))
    if sort == "newest":
        assert seen == sorted(seen, reverse=True)
    else:
        by_id = {m["id"]: m["due_at"] for m in made}
        assert [by_id[i] for i in seen] == sorted(by_id[i] for i in seen)


async def test_close_reopen_and_dismiss_record_who_and_when(stack, marketer):
    task = await make(stack, marketer, due_at=due(-1))
    url = f"{TASKS}/{task['id']}"
    assert task["overdue"] is True

    done = (await stack.client.patch(url, json={"status": "done"}, headers=marketer)).json()
    assert done["status"] == "done"
    assert done["overdue"] is False
    assert done["closed_by"] == task["created_by"]
    assert done["closed_at"] is not None

    answer = await stack.client.patch(
        url, json={"status": "dismissed"}, headers={**marketer, "Accept-Language": "uk"}
    )
    assert answer.status_code == 409
    assert answer.json()["code"] == "task_bad_transition"
    assert answer.json()["detail"] == t(
        "uk", task_texts.PROBLEMS[task_texts.TaskProblem.BAD_TRANSITION]
    )

    reopened = (await stack.client.patch(url, json={"status": "open"}, headers=marketer)).json()
    assert (reopened["status"], reopened["closed_at"], reopened["closed_by"]) == (
        "open",
        None,
        None,
    )
    assert reopened["overdue"] is True

    other = bearer(await new_key(Role.ADMIN))
    dismissed = await stack.client.patch(
        url, json={"status": "dismissed", "note": "Customer moved away"}, headers=other
    )
    body = dismissed.json()
    assert (body["status"], body["note"]) == ("dismissed", "Customer moved away")
    assert body["closed_by"] != task["created_by"]
    assert body["closed_by"].startswith("key:")
    assert (await stack.client.get(url, headers=marketer)).json() == body


async def test_a_store_manager_sees_and_works_only_its_own_store(stack, marketer):
    mine, theirs = await new_store(), await new_store()
    manager = bearer(await new_key(Role.STORE_MANAGER, mine))
    own = await make(stack, marketer, store_id=mine.id)
    foreign = await make(stack, marketer, store_id=theirs.id)
    nobodys = await make(stack, marketer)

    seen = {i["id"] for i in await listed(stack, manager, limit=200)}
    assert own["id"] in seen
    assert not seen & {foreign["id"], nobodys["id"]}
    for task_id in (foreign["id"], nobodys["id"]):
        assert (await stack.client.get(f"{TASKS}/{task_id}", headers=manager)).status_code == 404
        patched = await stack.client.patch(
            f"{TASKS}/{task_id}", json={"status": "done"}, headers=manager
        )
        assert patched.status_code == 404
        assert patched.json()["code"] == "task_not_found"
    refused = await stack.client.get(TASKS, params={"store_id": theirs.id}, headers=manager)
    assert refused.status_code == 403
    assert refused.json()["code"] == "task_other_store"

    created = await make(stack, manager, title="Check the shelf")
    assert created["store_id"] == mine.id
    answer = await stack.client.post(
        TASKS, json={"title": "x", "due_at": due(1), "store_id": theirs.id}, headers=manager
    )
    assert answer.status_code == 403
    done = await stack.client.patch(
        f"{TASKS}/{own['id']}", json={"status": "done"}, headers=manager
    )
    assert done.json()["status"] == "done"
    assert {i["id"] for i in await listed(stack, marketer, store_id=theirs.id)} == {foreign["id"]}


async def test_other_roles_may_not_use_tasks(stack):
    store = await new_store()
    cashier = bearer(await new_key(Role.CASHIER, store))
    answer = await stack.client.get(TASKS, headers=cashier)
    assert answer.status_code == 403
    assert answer.json()["code"] == "role_forbidden"
    assert (await stack.client.get(TASKS)).status_code == 401


async def test_a_store_manager_key_belongs_to_a_store(stack):
    with pytest.raises(InvalidKeyRequest):
        await create_api_key(Role.STORE_MANAGER, None, None, "manager", utcnow())


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"due_at": "2030-01-01T10:00:00+00:00"}, "title"),
        ({"title": "   ", "due_at": "2030-01-01T10:00:00+00:00"}, "title"),
        ({"title": "x", "due_at": "2030-01-01T10:00:00"}, "due_at"),
        ({"title": "x", "due_at": "tomorrow"}, "due_at"),
        ({"title": "x"}, "due_at"),
        (
            {"title": "x", "due_at": "2030-01-01T10:00:00Z", "assignee_role": "cashier"},
            "assignee_role",
        ),
        ({"title": "x", "due_at": "2030-01-01T10:00:00Z", "status": "done"}, "status"),
        ({"title": "x", "due_at": "2030-01-01T10:00:00Z", "customer_id": 0}, "customer_id"),
    ],
)
async def test_a_malformed_task_is_422_naming_the_field(stack, marketer, body, path):
    answer = await stack.client.post(TASKS, json=body, headers=marketer)
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "invalid_request"
    assert answer.json()["fields"][0]["path"] == path


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"customer_id": 2**62}, "customer_id", "task_customer_not_found"),
        ({"store_id": 2**30}, "store_id", "task_store_not_found"),
        ({"purchase_id": 2**62}, "purchase_id", "task_purchase_not_found"),
        ({"assignee_role": "store_manager"}, "store_id", "task_store_needed"),
    ],
)
async def test_a_task_naming_what_does_not_exist_is_422_naming_the_field(
    stack, marketer, body, field, code
):
    answer = await stack.client.post(
        TASKS,
        json={"title": "x", "due_at": due(1), **body},
        headers={**marketer, "Accept-Language": "cs"},
    )
    assert answer.status_code == 422, answer.text
    assert (answer.json()["code"], answer.json()["field"]) == (code, field)
    assert answer.json()["detail"] == t("cs", task_texts.PROBLEMS[task_texts.TaskProblem(code)])


@pytest.mark.parametrize(
    ("params", "path"),
    [
        ({"status": "closed"}, "status[0]"),
        ({"overdue": "maybe"}, "overdue"),
        ({"due_before": "2030-01-01"}, "due_before"),
        ({"sort": "oldest"}, "sort"),
        ({"limit": 0}, "limit"),
    ],
)
async def test_a_bad_filter_is_422_naming_the_parameter(stack, marketer, params, path):
    answer = await stack.client.get(TASKS, params=params, headers=marketer)
    assert answer.status_code == 422, answer.text
    assert answer.json()["fields"][0]["path"] == path


async def test_a_bad_cursor_or_patch_is_422(stack, marketer):
    answer = await stack.client.get(TASKS, params={"cursor": "nonsense"}, headers=marketer)
    assert (answer.status_code, answer.json()["code"]) == (422, "bad_cursor")
    task = await make(stack, marketer)
    for body, path in (({"status": "closed"}, "status"), ({"title": "new"}, "title")):
        patched = await stack.client.patch(f"{TASKS}/{task['id']}", json=body, headers=marketer)
        assert patched.status_code == 422, patched.text
        assert patched.json()["fields"][0]["path"] == path


async def test_a_merged_customers_tasks_follow_the_survivor(stack, marketer):
    keep, _ = await new_customer("Ira")
    other, _ = await new_customer("Ira")
    task = await make(stack, marketer, customer_id=other.id)
    merged = await stack.client.post(
        f"/api/v1/customers/{keep.id}/merge",
        json={"other_customer_id": other.id},
        headers=marketer,
    )
    assert merged.status_code == 200, merged.text
    assert merged.json()["moved"]["manager_tasks"] == 1
    assert (await listed(stack, marketer, customer_id=keep.id))[0]["id"] == task["id"]


async def test_due_times_written_with_other_offsets_compare_as_moments(stack, marketer):
    """11:00+05:00 is before 07:00+00:00: order, windows and overdue follow the moment."""
    store = await new_store()
    base = (utcnow() - timedelta(hours=3)).replace(microsecond=0)
    east = timezone(timedelta(hours=5))
    west = timezone(timedelta(hours=-8))
    first = await make(stack, marketer, store_id=store.id, due_at=base.astimezone(east).isoformat())
    second = await make(
        stack,
        marketer,
        store_id=store.id,
        due_at=(base + timedelta(hours=1)).astimezone(west).isoformat(),
    )
    future = await make(
        stack,
        marketer,
        store_id=store.id,
        due_at=(utcnow() + timedelta(hours=1)).astimezone(east).isoformat(),
    )
    items = await listed(stack, marketer, store_id=store.id)
    assert [i["id"] for i in items] == [first["id"], second["id"], future["id"]]
    assert [i["overdue"] for i in items] == [True, True, False]
    overdue = await listed(stack, marketer, store_id=store.id, overdue="true")
    assert [i["id"] for i in overdue] == [first["id"], second["id"]]
    window = await listed(
        stack,
        marketer,
        store_id=store.id,
        due_after=(base + timedelta(minutes=30)).astimezone(east).isoformat(),
        due_before=(base + timedelta(minutes=90)).astimezone(west).isoformat(),
    )
    assert [i["id"] for i in window] == [second["id"]]


async def test_a_journeys_task_about_a_low_rating_reaches_the_stores_manager(stack):
    store = await new_store()
    customer, card = await new_customer("Ira")
    recorded = await buy(store, card, [item()], utcnow() - timedelta(hours=2))
    task = await create_task(
        "Rated 1 of 5: call the customer",
        utcnow() + timedelta(days=1),
        "journey:7",
        utcnow(),
        purchase_id=recorded.purchase.id,
    )
    manager = bearer(await new_key(Role.STORE_MANAGER, store))
    [seen] = await listed(stack, manager, limit=200)
    assert seen["id"] == task.id
    assert (seen["created_by"], seen["assignee_role"]) == ("journey:7", "store_manager")
    assert (seen["customer_id"], seen["purchase_id"]) == (customer.id, recorded.purchase.id)


async def test_erasure_dismisses_the_customers_open_tasks_and_forgets_what_staff_wrote(
    stack, marketer
):
    leaving, _ = await new_customer("Ira")
    open_task = await make(stack, marketer, customer_id=leaving.id, title="Call Ira", note="tel")
    done = await make(stack, marketer, customer_id=leaving.id, title="Ira's refund")
    await stack.client.patch(f"{TASKS}/{done['id']}", json={"status": "done"}, headers=marketer)

    erased = await stack.client.delete(f"/api/v1/customers/{leaving.id}", headers=marketer)
    assert erased.status_code == 204, erased.text

    tasks = {t["id"]: t for t in await listed(stack, marketer, customer_id=leaving.id)}
    assert {(t["title"], t["note"]) for t in tasks.values()} == {("", "")}
    assert (tasks[open_task["id"]]["status"], tasks[open_task["id"]]["closed_by"]) == (
        "dismissed",
        "erasure",
    )
    assert tasks[done["id"]]["status"] == "done"
    again = await stack.client.post(
        TASKS, json={"title": "x", "due_at": due(1), "customer_id": leaving.id}, headers=marketer
    )
    assert (again.status_code, again.json()["code"]) == (422, "task_customer_not_found")


@pytest.mark.parametrize(
    ("sort", "value"),
    [
        ("newest", ["newest", 2**70, None]),
        ("due", ["due", 1, "9999-12-31T23:59:59-12:00"]),
        ("due", ["due", True, "2030-01-01T00:00:00+00:00"]),
        ("due", ["newest", 5, None]),
        ("due", {"due": 1}),
    ],
)
async def test_a_forged_cursor_is_422_not_a_fault(stack, marketer, sort, value):
    cursor = base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")
    answer = await stack.client.get(
        TASKS, params={"sort": sort, "cursor": cursor}, headers=marketer
    )
    assert (answer.status_code, answer.json()["code"]) == (422, "bad_cursor")

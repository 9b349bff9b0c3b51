"""The marketer runs campaigns over HTTP: draft, preview, test send, schedule, pause, results."""

from __future__ import annotations

import csv
import io
import re
import secrets
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from channels.campaign_worker import DeliveryWorker, WorkerPolicy
from crm_core.campaigns.models import Campaign, OutboxMessage
from crm_core.campaigns.quiet_hours import QuietHours
from crm_core.campaigns.service import start_run
from crm_core.cards.models import Card
from crm_core.catalogue.models import Category
from crm_core.clock import utcnow
from crm_core.customers.models import ChannelIdentity
from crm_core.sql import execute
from crm_core.staff.models import Role
from loyalty.delivery import campaign_sender
from tests.support import viber_payloads as vb
from tests.support.customers import buy, item, new_customer
from tests.support.segments import city_segment
from tests.support.staff import bearer, new_key, new_store
from tests.support.viber_chat import ViberChat

pytestmark = pytest.mark.db


@pytest.fixture
async def marketer(stack):
    return bearer(await new_key(Role.MARKETER))


async def segment_of(stack, marketer, city: str) -> int:
    return (await city_segment(stack.client, marketer, city))["id"]


@pytest.fixture
async def audience(stack, marketer):
    city = f"Api-{secrets.token_hex(4)}"
    await new_customer("Anna", city=city)
    await new_customer("Bohdan", city=city, channel="viber")
    await new_customer("Chrystia", city=city, consent=False)
    return await segment_of(stack, marketer, city)


def body(segment_id: int, **changes) -> dict:
    return {
        "name": "Weekly offer",
        "segment_id": segment_id,
        "messages": {
            "uk": {"text": "{first_name}, ваш код {voucher_code}", "button": "Ваучери"},
            "en": {"text": "{first_name}, your code {voucher_code}"},
        },
        "default_language": "uk",
        "schedule": {"kind": "recurring", "cron": "0 10 * * mon"},
        "control_percent": 0,
        "voucher": {"kind": "percent", "value": "10", "valid_days": 14, "title": "-10%"},
        **changes,
    }


async def test_a_campaign_is_drafted_previewed_and_scheduled(stack, marketer, audience):
    created = await stack.client.post("/api/v1/campaigns", json=body(audience), headers=marketer)
    assert created.status_code == 201, created.text
    campaign = created.json()
    assert campaign["status"] == "draft"
    assert campaign["schedule"] == {"kind": "recurring", "cron": "0 10 * * mon"}

    preview = await stack.client.post(
        f"/api/v1/campaigns/{campaign['id']}/preview", headers=marketer
    )
    assert preview.status_code == 200, preview.text
    seen = preview.json()
    assert seen["audience"] == 3
    assert (seen["treatment"], seen["control"]) == (2, 0)
    assert seen["suppressed"]["no_marketing_consent"] == 1
    assert seen["by_channel"] == {"telegram": 1, "viber": 1}
    assert seen["viber_billable"] == 1
    texts = sorted(sample["text"] for sample in seen["samples"])
    assert len(texts) == 2
    assert texts[0].startswith("Anna, ваш код ") and len(texts[0]) == len("Anna, ваш код ") + 9
    assert texts[1].startswith("Bohdan, ваш код ")

    scheduled = await stack.client.post(
        f"/api/v1/campaigns/{campaign['id']}/schedule", headers=marketer
    )
    assert scheduled.json()["status"] == "scheduled"
    again = await stack.client.post(
        f"/api/v1/campaigns/{campaign['id']}/schedule",
        headers={**marketer, "Accept-Language": "en"},
    )
    assert again.status_code == 422
    assert again.json()["problem"] == "not_in_this_state"
    paused = await stack.client.post(f"/api/v1/campaigns/{campaign['id']}/pause", headers=marketer)
    assert paused.json()["status"] == "paused"
    cancelled = await stack.client.post(
        f"/api/v1/campaigns/{campaign['id']}/cancel", headers=marketer
    )
    assert cancelled.json()["status"] == "cancelled"


@pytest.mark.parametrize(
    ("changes", "path", "problem", "words"),
    [
        ({"messages": {"uk": {"text": "Hi {nickname}"}}}, "messages.uk.text",
         "unknown_placeholder", "Unknown placeholder nickname"),
        ({"control_percent": 60}, "control_percent", "control_out_of_range", "0 to 50"),
        ({"schedule": {"kind": "recurring", "cron": "0 0 31 2 *"}}, "schedule.cron",
         "cron_never_fires", "would never run"),
        ({"voucher": {"kind": "fixed_amount", "value": "50", "title": "x"}}, "voucher.currency",
         "bad_voucher", "cannot be honoured: a fixed amount needs a positive value and a currency"),
        # with nothing to recommend, the products sentence is left out: nothing would remain
        ({"messages": {"uk": {"text": "Спробуйте: {products}"}}}, "messages.uk.text",
         "only_products", "words besides the {products} sentence"),
    ],
)  # fmt: skip
async def test_a_bad_campaign_is_422_with_the_path_and_a_reason(
    stack, marketer, audience, changes, path, problem, words
):
    before = (await stack.client.get("/api/v1/campaigns", headers=marketer)).json()
    response = await stack.client.post(
        "/api/v1/campaigns",
        json=body(audience, **changes),
        headers={**marketer, "Accept-Language": "en"},
    )
    assert response.status_code == 422, response.text
    answer = response.json()
    assert (answer["code"], answer["path"], answer["problem"]) == (
        "invalid_campaign",
        path,
        problem,
    )
    assert words in answer["detail"]
    assert (await stack.client.get("/api/v1/campaigns", headers=marketer)).json() == before


async def test_an_empty_audience_cannot_be_scheduled(stack, marketer):
    city = f"Nobody-{secrets.token_hex(4)}"
    await new_customer("Dmytro", city=city, consent=False)
    segment = await segment_of(stack, marketer, city)
    created = (
        await stack.client.post("/api/v1/campaigns", json=body(segment), headers=marketer)
    ).json()
    response = await stack.client.post(
        f"/api/v1/campaigns/{created['id']}/schedule",
        headers={**marketer, "Accept-Language": "uk"},
    )
    assert response.status_code == 422
    assert response.json()["problem"] == "empty_audience"
    assert "Ніхто" in response.json()["detail"]


async def test_a_test_send_reaches_the_test_segment_and_stays_out_of_the_results(
    stack, marketer, audience
):
    team_city = f"Team-{secrets.token_hex(4)}"
    tester, _ = await new_customer("Tester", city=team_city)
    team = await segment_of(stack, marketer, team_city)
    campaign = (
        await stack.client.post("/api/v1/campaigns", json=body(audience), headers=marketer)
    ).json()
    sent = await stack.client.post(
        f"/api/v1/campaigns/{campaign['id']}/test-send",
        json={"segment_id": team},
        headers=marketer,
    )
    assert sent.status_code == 202 and sent.json()["messages"] == 1
    async with campaign_sender(stack.settings) as sender:
        worker = DeliveryWorker(sender, WorkerPolicy(), utcnow, "api-test")
        while await worker.run_once():
            pass
    chat = (await ChannelIdentity.get(customer_id=tester.id)).chat_id
    messages = stack.telegram.calls_to("sendMessage", chat)
    assert len(messages) == 1 and messages[0].params["text"].startswith("Tester, ваш код ")

    results = await stack.client.get(
        f"/api/v1/campaigns/{campaign['id']}/results", headers=marketer
    )
    assert results.status_code == 200
    assert results.json()["runs"] == 0 and results.json()["sent"] == 0
    assert results.json()["conversion"]["verdict"] == "not_enough_data"


async def test_results_come_as_json_per_run_and_as_csv(stack, marketer, audience):
    campaign = (
        await stack.client.post(
            "/api/v1/campaigns",
            json=body(
                audience, schedule={"kind": "once", "at": utcnow().isoformat()}, voucher=None,
                messages={"uk": {"text": "Привіт, {first_name}"}},
            ),
            headers=marketer,
        )
    ).json()  # fmt: skip
    await stack.client.post(f"/api/v1/campaigns/{campaign['id']}/schedule", headers=marketer)
    stored = await Campaign.get(id=campaign["id"])
    run = await start_run(stored, stored.run_at, utcnow())
    async with campaign_sender(stack.settings) as sender:
        worker = DeliveryWorker(
            sender, WorkerPolicy(quiet_hours=quiet_later_today()), utcnow, "api"
        )
        while await worker.run_once():
            pass
    viber_row = await OutboxMessage.get(run_id=run.id, channel="viber")
    # Viber reports delivery and reading through the webhook; the message remembers both.
    chat = ViberChat(
        stack, user_id=(await ChannelIdentity.get(id=viber_row.identity_id)).external_id
    )
    for event in (vb.delivered(chat.user_id), vb.seen(chat.user_id)):
        event["message_token"] = int(viber_row.platform_message_id)
        assert (await chat.post(event)).status_code == 200

    whole = (
        await stack.client.get(f"/api/v1/campaigns/{campaign['id']}/results", headers=marketer)
    ).json()
    assert (whole["runs"], whole["recipients"], whole["sent"]) == (1, 2, 2)
    assert (whole["delivered"], whole["seen"]) == (1, 1)
    per_run = await stack.client.get(
        f"/api/v1/campaigns/{campaign['id']}/runs/{run.id}/results", headers=marketer
    )
    assert per_run.json() == whole
    missing = await stack.client.get(
        f"/api/v1/campaigns/{campaign['id']}/runs/999999999/results", headers=marketer
    )
    assert missing.status_code == 404
    exported = await stack.client.get(
        f"/api/v1/campaigns/{campaign['id']}/results.csv", headers=marketer
    )
    assert exported.headers["content-type"].startswith("text/csv")
    rows = dict(csv.reader(io.StringIO(exported.text)))
    assert rows["sent"] == "2" and rows["conversion.verdict"] == "not_enough_data"


def quiet_later_today() -> QuietHours:
    """Quiet hours that do not include this moment in Kyiv, whenever the test runs."""
    kyiv = utcnow().astimezone(ZoneInfo("Europe/Kyiv"))
    return QuietHours((kyiv + timedelta(hours=2)).time(), (kyiv + timedelta(hours=3)).time())


async def test_campaigns_need_a_marketer_key(stack):
    assert (await stack.client.get("/api/v1/campaigns")).status_code == 401
    cashier = bearer(await new_key(Role.CASHIER, await new_store()))
    assert (await stack.client.get("/api/v1/campaigns", headers=cashier)).status_code == 403


async def test_sensitive_categories_are_marked_listed_and_unmarked(stack, marketer):
    store = await new_store()
    path = f"Health{secrets.token_hex(3)}/Pregnancy"
    _, card = await new_customer("Olha")
    await buy(store, card, [item(path)], utcnow())
    top = path.split("/")[0]
    marked = await stack.client.put(
        "/api/v1/sensitive-categories",
        json={"path": top, "allow_own_history": False},
        headers=marketer,
    )
    assert marked.status_code == 200 and marked.json()["path"] == top
    listed = (await stack.client.get("/api/v1/sensitive-categories", headers=marketer)).json()
    assert top in {row["path"] for row in listed}
    unknown = await stack.client.put(
        "/api/v1/sensitive-categories",
        json={"path": "No/Such"},
        headers={**marketer, "Accept-Language": "en"},
    )
    assert unknown.status_code == 404 and "No/Such" in unknown.json()["detail"]
    gone = await stack.client.delete(
        "/api/v1/sensitive-categories", params={"path": top}, headers=marketer
    )
    assert gone.status_code == 204
    listed = (await stack.client.get("/api/v1/sensitive-categories", headers=marketer)).json()
    assert top not in {row["path"] for row in listed}


async def test_a_draft_is_changed_part_by_part_and_checked_like_a_new_one(
    stack, marketer, audience
):
    """Drafts could not be edited at all (PATCH was 405; issue 13.8)."""
    english = {**marketer, "Accept-Language": "en"}
    draft = (
        await stack.client.post("/api/v1/campaigns", json=body(audience), headers=marketer)
    ).json()
    address = f"/api/v1/campaigns/{draft['id']}"
    moment = (utcnow() + timedelta(days=2)).replace(microsecond=0).isoformat()
    changed = await stack.client.patch(
        address,
        json={
            "name": "Weekend offer",
            "schedule": {"kind": "once", "at": moment},
            "control_percent": 20,
            "voucher": None,
            "messages": {"uk": {"text": "Привіт, {first_name}"}},
        },
        headers=marketer,
    )
    assert changed.status_code == 200, changed.text
    seen = (await stack.client.get(address, headers=marketer)).json()
    assert (seen["name"], seen["control_percent"], seen["voucher"]) == ("Weekend offer", 20, None)
    assert seen["schedule"] == {"kind": "once", "at": moment}
    assert seen["messages"] == {
        "uk": {"text": "Привіт, {first_name}", "button": None, "image_url": None}
    }
    assert seen["segment_id"] == audience and seen["status"] == "draft"

    for changes, path in (
        ({"control_percent": 60}, "control_percent"),
        ({"messages": {"uk": {"text": "Код {voucher_code}"}}}, "messages.uk.text"),  # no voucher
        ({"segment_id": 999999}, "segment_id"),
        ({"schedule": {"kind": "recurring", "cron": "0 0 31 2 *"}}, "schedule.cron"),
    ):
        refused = await stack.client.patch(address, json=changes, headers=english)
        assert refused.status_code == 422, refused.text
        assert (refused.json()["code"], refused.json()["path"]) == ("invalid_campaign", path)
    unknown = await stack.client.patch(address, json={"nmae": "typo"}, headers=english)
    assert unknown.status_code == 422
    assert (await stack.client.get(address, headers=marketer)).json() == seen

    await stack.client.post(f"{address}/schedule", headers=marketer)
    late = await stack.client.patch(address, json={"name": "Too late"}, headers=english)
    assert late.status_code == 409, late.text
    assert late.json()["code"] == "campaign_not_draft"
    assert "scheduled" in late.json()["detail"] and "clone" in late.json()["detail"]
    in_ukrainian = await stack.client.patch(
        address, json={"name": "Too late"}, headers={**marketer, "Accept-Language": "uk"}
    )
    assert in_ukrainian.status_code == 409 and "чернетк" in in_ukrainian.json()["detail"]
    assert (await stack.client.get(address, headers=marketer)).json()["name"] == "Weekend offer"


async def test_a_campaign_is_cloned_into_a_new_draft(stack, marketer, audience):
    original = (
        await stack.client.post("/api/v1/campaigns", json=body(audience), headers=marketer)
    ).json()
    await stack.client.post(f"/api/v1/campaigns/{original['id']}/schedule", headers=marketer)
    copied = await stack.client.post(f"/api/v1/campaigns/{original['id']}/clone", headers=marketer)
    assert copied.status_code == 201, copied.text
    copy = copied.json()
    assert copy["id"] != original["id"] and copy["status"] == "draft"
    same = ("name", "segment_id", "exclude_segment_ids", "messages", "default_language",
            "voucher", "control_percent", "schedule")  # fmt: skip
    assert {k: copy[k] for k in same} == {k: original[k] for k in same}
    named = await stack.client.post(
        f"/api/v1/campaigns/{original['id']}/clone", json={"name": "Next week"}, headers=marketer
    )
    assert named.status_code == 201 and named.json()["name"] == "Next week"
    # the copy is a draft like any other: it changes, the original stays scheduled
    changed = await stack.client.patch(
        f"/api/v1/campaigns/{copy['id']}", json={"control_percent": 5}, headers=marketer
    )
    assert changed.json()["control_percent"] == 5
    shown = await stack.client.get(f"/api/v1/campaigns/{original['id']}", headers=marketer)
    assert shown.json()["status"] == "scheduled" and shown.json()["control_percent"] == 0
    missing = await stack.client.post("/api/v1/campaigns/999999/clone", headers=marketer)
    assert missing.status_code == 404


async def test_a_missed_campaign_is_sent_again_as_a_clone_at_a_new_moment(
    stack, marketer, audience
):
    created = await stack.client.post(
        "/api/v1/campaigns",
        json=body(audience, schedule={"kind": "once", "at": utcnow().isoformat()}),
        headers=marketer,
    )
    await stack.client.post(f"/api/v1/campaigns/{created.json()['id']}/schedule", headers=marketer)
    stored = await Campaign.get(id=created.json()["id"])
    stored.run_at = utcnow() - timedelta(days=1)  # nobody ran the scheduler
    await stored.save(update_fields=["run_at"])
    missed = await stack.client.get(f"/api/v1/campaigns/{stored.id}", headers=marketer)
    assert missed.json()["status"] == "missed"

    copy = (
        await stack.client.post(f"/api/v1/campaigns/{stored.id}/clone", headers=marketer)
    ).json()
    refused = await stack.client.post(f"/api/v1/campaigns/{copy['id']}/schedule", headers=marketer)
    assert refused.status_code == 422 and refused.json()["path"] == "schedule.at"
    moment = (utcnow() + timedelta(hours=1)).isoformat()
    await stack.client.patch(
        f"/api/v1/campaigns/{copy['id']}",
        json={"schedule": {"kind": "once", "at": moment}},
        headers=marketer,
    )
    scheduled = await stack.client.post(
        f"/api/v1/campaigns/{copy['id']}/schedule", headers=marketer
    )
    assert scheduled.status_code == 200 and scheduled.json()["status"] == "scheduled"


async def test_results_leave_out_future_receipts_and_write_money_one_way(stack, marketer, audience):
    """A receipt dated next week counted as a conversion, and money came as 17-digit floats
    in results.csv (issue 13.10)."""
    campaign = (
        await stack.client.post(
            "/api/v1/campaigns",
            json=body(
                audience, schedule={"kind": "once", "at": utcnow().isoformat()}, voucher=None,
                messages={"uk": {"text": "Привіт, {first_name}"}},
            ),
            headers=marketer,
        )
    ).json()  # fmt: skip
    await stack.client.post(f"/api/v1/campaigns/{campaign['id']}/schedule", headers=marketer)
    stored = await Campaign.get(id=campaign["id"])
    run = await start_run(stored, stored.run_at, utcnow())
    rows = await OutboxMessage.filter(run_id=run.id).order_by("customer_id")
    assert len(rows) == 2
    store = await new_store(currency="UAH")
    first = await Card.get(customer_id=rows[0].customer_id, status="active")
    second = await Card.get(customer_id=rows[1].customer_id, status="active")
    await buy(store, first, [item("Bakery/Bread", "33.35")], utcnow())
    await buy(store, first, [item("Bakery/Bread", "66.66")], utcnow())
    # A till with its clock a week ahead, recorded before such receipts were refused:
    later = utcnow() + timedelta(days=7)
    await buy(store, second, [item("Bakery/Bread", "500.00")], later, now=later)

    english = {**marketer, "Accept-Language": "en"}
    whole = (
        await stack.client.get(f"/api/v1/campaigns/{campaign['id']}/results", headers=english)
    ).json()
    assert whole["treatment_customers_who_bought"] == 1
    assert (whole["currency"], whole["treatment_revenue"]) == ("UAH", "100.01")
    assert whole["control_revenue"] == "0.00"
    money = whole["revenue_per_customer"]
    assert (money["treatment"], money["control"], money["difference"]) == ("50.00", "0.00", "50.00")
    exported = await stack.client.get(
        f"/api/v1/campaigns/{campaign['id']}/results.csv", headers=english
    )
    figures = dict(csv.reader(io.StringIO(exported.text)))
    assert figures["currency"] == "UAH" and figures["treatment_revenue"] == "100.01"
    assert figures["revenue_per_customer.treatment"] == "50.00"
    long_numbers = [v for v in figures.values() if re.fullmatch(r"-?\d+\.\d{7,}", v)]
    assert long_numbers == []


async def test_the_preview_shows_products_and_warns_when_a_recipient_has_none(
    stack, marketer, audience
):
    """The preview rendered "You might like: ." before the nightly job (issue 13.7)."""
    store = await new_store()
    tag = secrets.token_hex(3)
    _, card = await new_customer("Neighbour")
    await buy(store, card, [item(f"Tea{tag}/Green", "20.00")], utcnow())
    await execute("DELETE FROM cluster_products", [])  # as on a fresh install
    text = "Вітаємо, {first_name}!\nВам може сподобатися: {products}.\nДо зустрічі"
    campaign = (
        await stack.client.post(
            "/api/v1/campaigns",
            json=body(audience, voucher=None, messages={"uk": {"text": text}}),
            headers=marketer,
        )
    ).json()
    english = {**marketer, "Accept-Language": "en"}
    seen = (
        await stack.client.post(f"/api/v1/campaigns/{campaign['id']}/preview", headers=english)
    ).json()
    assert seen["warnings"] == []
    assert all("Вам може сподобатися: " in s["text"] for s in seen["samples"])
    assert not any(": ." in s["text"] for s in seen["samples"])

    # A retailer that marks every category sensitive leaves nothing to recommend to them.
    tops = sorted(
        {path.split("/")[0] for path in await Category.all().values_list("path", flat=True)}
    )
    for top in tops:
        await stack.client.put(
            "/api/v1/sensitive-categories", json={"path": top, "allow_own_history": False},
            headers=marketer,
        )  # fmt: skip
    try:
        seen = (
            await stack.client.post(f"/api/v1/campaigns/{campaign['id']}/preview", headers=english)
        ).json()
    finally:
        for top in tops:
            await stack.client.delete(
                "/api/v1/sensitive-categories", params={"path": top}, headers=marketer
            )
    assert [w["code"] for w in seen["warnings"]] == ["products_missing"]
    assert "2 of the 2 sample recipients" in seen["warnings"][0]["detail"]
    assert sorted(s["text"] for s in seen["samples"]) == [
        "Вітаємо, Anna!\nДо зустрічі",
        "Вітаємо, Bohdan!\nДо зустрічі",
    ]


@pytest.mark.parametrize(
    "changes",
    [
        {"schedule": {"kind": "once"}},
        {"schedule": {"kind": "once", "at": "tomorrow"}},
        {"schedule": {"kind": "recurring"}},
        {"messages": {}},
        {"messages": {"xx": {"text": "Hi"}}},
        {"default_language": "pl"},
        {"name": "   "},
        {"control_percent": -1},
        {"voucher": {"kind": "bogus"}},
        {"exclude_segment_ids": [999999]},
        {"segment_id": "seven"},
        {"messages": {"uk": {"text": "{first_name"}}},
    ],
)
async def test_a_bad_change_to_a_draft_is_422_and_changes_nothing(
    stack, marketer, audience, changes
):
    draft = (
        await stack.client.post("/api/v1/campaigns", json=body(audience), headers=marketer)
    ).json()
    address = f"/api/v1/campaigns/{draft['id']}"
    refused = await stack.client.patch(
        address, json=changes, headers={**marketer, "Accept-Language": "en"}
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] in ("invalid_campaign", "invalid_request")
    assert (await stack.client.get(address, headers=marketer)).json() == draft

"""From a planned run to messages in Telegram and Viber, through the fake platforms over HTTP.

The worker runs in the test with a clock the test moves; the platforms are the fake Bot API
and Viber REST servers on 127.0.0.1, which can answer 429, 403 and 5xx.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

import pytest

from channels.campaign_worker import DeliveryWorker, WorkerPolicy
from crm_core.campaigns.models import Campaign, MessageState, OutboxMessage
from crm_core.campaigns.outbox import mark_delivery
from crm_core.campaigns.quiet_hours import QuietHours
from crm_core.campaigns.service import (
    CampaignIn,
    cancel_campaign,
    create_campaign,
    pause_campaign,
    resume_campaign,
    schedule_campaign,
    start_run,
)
from crm_core.cards.models import Card
from crm_core.consents.models import ConsentPurpose
from crm_core.consents.service import record_consent
from crm_core.customers.models import ChannelIdentity, Customer
from crm_core.recommendations.service import refresh_clusters
from crm_core.segments.models import SegmentKind
from crm_core.segments.service import create_segment
from crm_core.sql import execute
from crm_core.vouchers.models import Voucher
from loyalty.delivery import campaign_sender
from tests.support.customers import buy, item, new_customer
from tests.support.staff import new_store

LANGUAGES = ("uk", "en", "pl", "cs", "ru")
pytestmark = pytest.mark.db
# Monday 30 November 2026, 10:00 in Kyiv (UTC+2).
KYIV_MORNING = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def move(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Town:
    city: str
    segment_id: int


async def town(*people: tuple[str, str, dict]) -> tuple[Town, dict[str, Customer]]:
    """Customers (name, channel, profile) in a fresh city, and a static segment of them."""
    city = f"Deliver-{secrets.token_hex(4)}"
    made = {}
    for name, channel, profile in people:
        customer, _ = await new_customer(name, channel=channel, city=city, **profile)
        made[name] = customer
    segment, _ = await create_segment(
        f"in {city}",
        SegmentKind.STATIC,
        {"type": "profile", "field": "city", "op": "eq", "value": city},
        KYIV_MORNING,
    )
    return Town(city, segment.id), made


async def campaign(
    where: Town,
    clock: Clock,
    text: str = "Привіт, {first_name}!",
    schedule: dict | None = None,
    voucher: dict | None = None,
) -> Campaign:
    saved = await create_campaign(
        CampaignIn(
            name="Offer",
            segment_id=where.segment_id,
            messages={"uk": {"text": text, "button": "Мої ваучери"}},
            default_language="uk",
            schedule=schedule or {"kind": "once", "at": clock.now.isoformat()},
            control_percent=0,
            voucher=voucher,
        ),
        LANGUAGES,
        "Europe/Kyiv",
        clock.now,
    )
    return await schedule_campaign(saved, clock.now)


def worker_for(stack, clock: Callable[[], datetime], sender, **policy) -> DeliveryWorker:
    defaults = {"backoff_base_seconds": 10.0, "concurrency": 4, "frequency_cap": 3}
    return DeliveryWorker(sender, WorkerPolicy(**{**defaults, **policy}), clock, "test-worker")


async def drain(worker: DeliveryWorker) -> None:
    while await worker.run_once():
        pass


async def states(run_id: int) -> dict[int, OutboxMessage]:
    return {m.customer_id: m for m in await OutboxMessage.filter(run_id=run_id)}


async def chat_of(customer: Customer) -> str:
    return (await ChannelIdentity.get(customer_id=customer.id)).chat_id


async def test_each_customer_gets_one_message_in_their_messenger(stack):
    clock = Clock(KYIV_MORNING)
    where, people = await town(("Anna", "telegram", {}), ("Bohdan", "viber", {}))
    offer = await campaign(
        where,
        clock,
        text="{first_name}, ваш купон {voucher_code}: знижка {voucher_value} до {voucher_expires}.",
        voucher={"kind": "percent", "value": "15", "valid_days": 7, "title": "-15%"},
    )
    run = await start_run(offer, clock.now, clock.now)
    async with campaign_sender(stack.settings) as sender:
        await drain(worker_for(stack, clock, sender))

    final = await states(run.id)
    anna, bohdan = final[people["Anna"].id], final[people["Bohdan"].id]
    assert (anna.state, bohdan.state) == (MessageState.SENT, MessageState.SENT)
    assert anna.sent_at == clock.now and anna.finished_at == clock.now
    voucher = await Voucher.get(id=anna.voucher_id)
    assert voucher.customer_id == people["Anna"].id
    sent = stack.telegram.calls_to("sendMessage", await chat_of(people["Anna"]))
    assert len(sent) == 1
    text = sent[0].params["text"]
    assert text == f"Anna, ваш купон {voucher.code}: знижка 15% до 7 грудня 2026."
    button = sent[0].params["reply_markup"]["inline_keyboard"][0][0]
    assert button == {"text": "Мої ваучери", "callback_data": "/vouchers"}
    assert anna.platform_message_id and anna.platform_message_id.isdigit()
    viber = stack.viber.sent_to(await chat_of(people["Bohdan"]))
    assert len(viber) == 1 and viber[0]["text"].startswith("Bohdan, ваш купон")
    # Viber tells us about delivery and reading; the message remembers both.
    seen_at = clock.now + timedelta(minutes=3)
    assert await mark_delivery(bohdan.platform_message_id, "seen", seen_at) == 1
    bohdan = await OutboxMessage.get(id=bohdan.id)
    assert bohdan.seen_at == seen_at and bohdan.delivered_at == seen_at


async def test_a_rate_limit_waits_for_retry_after_and_the_voucher_stays_the_same(stack):
    clock = Clock(KYIV_MORNING)
    where, people = await town(("Anna", "telegram", {}))
    offer = await campaign(
        where,
        clock,
        text="Код {voucher_code}",
        voucher={"kind": "percent", "value": "10", "valid_days": 7, "title": "-10%"},
    )
    run = await start_run(offer, clock.now, clock.now)
    chat = await chat_of(people["Anna"])
    # (A short retry_after: the pace of the whole bot really is held for that long.)
    stack.telegram.fail_chat(chat, 429, "Too Many Requests: retry after 2", retry_after=2)
    stack.telegram.fail_chat(chat, 502, "Bad Gateway")
    async with campaign_sender(stack.settings) as sender:
        worker = worker_for(stack, clock, sender)
        await drain(worker)
        waiting = (await states(run.id))[people["Anna"].id]
        assert waiting.state == MessageState.PENDING
        assert waiting.due_at == clock.now + timedelta(seconds=2)
        clock.move(seconds=1)
        assert await worker.run_once() == 0  # not before retry_after
        clock.move(seconds=1)
        await drain(worker)  # the 502: back off and try again later
        backing_off = (await states(run.id))[people["Anna"].id]
        assert backing_off.state == MessageState.PENDING
        assert backing_off.due_at > clock.now
        clock.now = backing_off.due_at
        await drain(worker)
    done = (await states(run.id))[people["Anna"].id]
    assert done.state == MessageState.SENT
    assert await Voucher.filter(customer_id=people["Anna"].id).count() == 1
    texts = [c.params["text"] for c in stack.telegram.calls_to("sendMessage", chat)]
    code = (await Voucher.get(customer_id=people["Anna"].id)).code
    assert texts == [f"Код {code}"] * 3  # 429, 502, then delivered: the same voucher each time


async def test_blocked_and_failing_chats_end_failed_and_are_not_retried(stack):
    clock = Clock(KYIV_MORNING)
    where, people = await town(
        ("Blocked", "telegram", {}), ("Broken", "telegram", {}), ("Gone", "viber", {})
    )
    run = await start_run(await campaign(where, clock), clock.now, clock.now)
    blocked, broken = await chat_of(people["Blocked"]), await chat_of(people["Broken"])
    stack.telegram.fail_chat(blocked, 403, "Forbidden: bot was blocked by the user")
    stack.telegram.fail_chat(broken, 500, "Internal Server Error", times=10)
    stack.viber.answer_next(7, "receiverBlocked")  # only Gone writes to Viber
    async with campaign_sender(stack.settings) as sender:
        worker = worker_for(stack, clock, sender, max_attempts=3)
        for _ in range(5):
            await drain(worker)
            clock.move(minutes=10)
    final = await states(run.id)
    assert (final[people["Blocked"].id].state, final[people["Blocked"].id].reason) == (
        MessageState.FAILED,
        "unreachable",
    )
    assert (final[people["Gone"].id].state, final[people["Gone"].id].reason) == (
        MessageState.FAILED,
        "unreachable",
    )
    assert (final[people["Broken"].id].state, final[people["Broken"].id].reason) == (
        MessageState.FAILED,
        "retries_exhausted",
    )
    assert final[people["Broken"].id].attempts == 3
    assert len(stack.telegram.calls_to("sendMessage", blocked)) == 1  # never retried
    assert len(stack.telegram.calls_to("sendMessage", broken)) == 3
    assert not (await ChannelIdentity.get(customer_id=people["Blocked"].id)).reachable
    assert not (await ChannelIdentity.get(customer_id=people["Gone"].id)).reachable
    assert all(m.finished_at is not None for m in final.values())


async def test_night_messages_wait_for_the_customers_morning(stack):
    # 23:00 in Kyiv, 16:00 in New York: quiet hours 21:00-09:00.
    clock = Clock(datetime(2026, 11, 30, 21, 0, tzinfo=UTC))
    where, people = await town(
        ("Kyiv", "telegram", {"timezone": "Europe/Kyiv"}),
        ("NewYork", "telegram", {"timezone": "America/New_York"}),
    )
    run = await start_run(await campaign(where, clock), clock.now, clock.now)
    async with campaign_sender(stack.settings) as sender:
        worker = worker_for(stack, clock, sender, quiet_hours=QuietHours(time(21), time(9)))
        await drain(worker)
        now = await states(run.id)
        assert now[people["NewYork"].id].state == MessageState.SENT
        waiting = now[people["Kyiv"].id]
        assert waiting.state == MessageState.PENDING
        assert waiting.due_at == datetime(2026, 12, 1, 7, 0, tzinfo=UTC)  # 09:00 in Kyiv
        assert waiting.attempts == 0  # waiting for the morning is not a failed attempt
        clock.move(hours=1)
        assert await worker.run_once() == 0  # not looped on through the night
        clock.now = waiting.due_at
        await drain(worker)
    assert (await states(run.id))[people["Kyiv"].id].state == MessageState.SENT


async def test_a_weekly_campaign_is_due_at_ten_in_each_customers_timezone(stack):
    clock = Clock(datetime(2026, 11, 29, 20, 0, tzinfo=UTC))  # Sunday evening
    where, people = await town(
        ("Kyiv", "telegram", {"timezone": "Europe/Kyiv"}),
        ("NewYork", "telegram", {"timezone": "America/New_York"}),
    )
    weekly = await campaign(where, clock, schedule={"kind": "recurring", "cron": "0 10 * * mon"})
    # The first place on Earth to reach Monday 10:00 (UTC+14) does so at Sunday 20:00 UTC.
    run = await start_run(weekly, datetime(2026, 11, 29, 20, 0, tzinfo=UTC), clock.now)
    due = {c: m.due_at for c, m in (await states(run.id)).items()}
    assert due[people["Kyiv"].id] == datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    assert due[people["NewYork"].id] == datetime(2026, 11, 30, 15, 0, tzinfo=UTC)


async def test_the_frequency_cap_counts_every_campaign(stack):
    clock = Clock(KYIV_MORNING)
    where, people = await town(("Anna", "telegram", {}))
    first = await start_run(await campaign(where, clock), clock.now, clock.now)
    async with campaign_sender(stack.settings) as sender:
        await drain(worker_for(stack, clock, sender, frequency_cap=1))
        clock.move(days=2)
        second = await start_run(await campaign(where, clock), clock.now, clock.now)
        await drain(worker_for(stack, clock, sender, frequency_cap=1))
        clock.move(days=6)  # the first message is now more than 7 days old
        third = await start_run(await campaign(where, clock), clock.now, clock.now)
        await drain(worker_for(stack, clock, sender, frequency_cap=1))
    assert (await states(first.id))[people["Anna"].id].state == MessageState.SENT
    capped = (await states(second.id))[people["Anna"].id]
    assert (capped.state, capped.reason) == (MessageState.SKIPPED, "frequency_cap")
    assert (await states(third.id))[people["Anna"].id].state == MessageState.SENT


async def test_an_opt_out_after_planning_is_honoured_at_send_time(stack):
    clock = Clock(KYIV_MORNING)
    where, people = await town(("Anna", "telegram", {}), ("Bohdan", "telegram", {}))
    run = await start_run(await campaign(where, clock), clock.now, clock.now)
    await record_consent(
        people["Anna"].id, ConsentPurpose.MARKETING, False, "telegram", "v1", clock.now
    )
    async with campaign_sender(stack.settings) as sender:
        await drain(worker_for(stack, clock, sender))
    final = await states(run.id)
    assert (final[people["Anna"].id].state, final[people["Anna"].id].reason) == (
        MessageState.SKIPPED,
        "no_marketing_consent",
    )
    assert stack.telegram.calls_to("sendMessage", await chat_of(people["Anna"])) == []
    assert final[people["Bohdan"].id].state == MessageState.SENT


async def test_pause_stops_sending_resume_continues_cancel_skips_the_rest(stack):
    clock = Clock(KYIV_MORNING)
    where, _ = await town(("Anna", "telegram", {}), ("Bohdan", "telegram", {}))
    paused = await campaign(where, clock)
    run = await start_run(paused, clock.now, clock.now)
    await pause_campaign(paused, clock.now)
    async with campaign_sender(stack.settings) as sender:
        worker = worker_for(stack, clock, sender)
        assert await worker.run_once() == 0
        assert {m.state for m in (await states(run.id)).values()} == {MessageState.PENDING}
        await resume_campaign(paused, clock.now)
        await drain(worker)
        assert {m.state for m in (await states(run.id)).values()} == {MessageState.SENT}

        cancelled = await campaign(where, clock)
        second = await start_run(cancelled, clock.now, clock.now)
        await cancel_campaign(cancelled, clock.now)
        assert await worker.run_once() == 0
    final = await states(second.id)
    assert {(m.state, m.reason) for m in final.values()} == {(MessageState.SKIPPED, "cancelled")}


async def test_recommended_products_are_in_the_message_and_on_record(stack):
    clock = Clock(KYIV_MORNING)
    where, people = await town(("Anna", "telegram", {}))
    store = await new_store()
    tag = secrets.token_hex(3)
    cheese = item(f"Cheese{tag}", "80.00", sku=f"Gouda-{tag}")
    bread = item(f"Cheese{tag}", "30.00", sku=f"Brie-{tag}")
    for _ in range(3):
        _, card = await new_customer("Neighbour")
        await buy(store, card, [cheese, bread], clock.now - timedelta(days=2))
    anna_card = await Card.get(customer_id=people["Anna"].id)
    await buy(store, anna_card, [cheese], clock.now - timedelta(days=1))
    await refresh_clusters(clock.now)
    offer = await campaign(where, clock, text="Вітаємо! Спробуйте: {products}")
    run = await start_run(offer, clock.now, clock.now)
    async with campaign_sender(stack.settings) as sender:
        await drain(worker_for(stack, clock, sender))
    sent = (await states(run.id))[people["Anna"].id]
    assert sent.state == MessageState.SENT
    assert sent.products and sent.products[0] == f"Brie-{tag}"  # her cluster's, not bought
    assert f"Gouda-{tag}" not in sent.products
    text = stack.telegram.calls_to("sendMessage", await chat_of(people["Anna"]))[0].params["text"]
    assert text == "Вітаємо! Спробуйте: " + ", ".join(sent.products)


OFFER_WITH_PRODUCTS = "Вітаємо, {first_name}!\nВам може сподобатися: {products}.\nДо зустрічі"


async def test_products_are_ranked_at_the_first_planning_of_a_fresh_install(stack):
    """Before the first nightly job nothing was ranked and the message read "Вам може
    сподобатися: ." (issue 13.7): the first planning ranks the products."""
    clock = Clock(KYIV_MORNING)
    where, people = await town(("Anna", "telegram", {}))
    store = await new_store()
    tag = secrets.token_hex(3)
    cheese = item(f"Cheese{tag}", "80.00", sku=f"Gouda-{tag}")
    bread = item(f"Cheese{tag}", "30.00", sku=f"Brie-{tag}")
    for _ in range(3):
        _, card = await new_customer("Neighbour")
        await buy(store, card, [cheese, bread], clock.now - timedelta(days=2))
    await buy(store, await Card.get(customer_id=people["Anna"].id), [cheese], clock.now)
    await execute("DELETE FROM cluster_products", [])  # as on a fresh install
    run = await start_run(
        await campaign(where, clock, text=OFFER_WITH_PRODUCTS), clock.now, clock.now
    )
    async with campaign_sender(stack.settings) as sender:
        await drain(worker_for(stack, clock, sender))
    sent = (await states(run.id))[people["Anna"].id]
    assert sent.state == MessageState.SENT and sent.products[0] == f"Brie-{tag}"
    text = stack.telegram.calls_to("sendMessage", await chat_of(people["Anna"]))[0].params["text"]
    assert text == f"Вітаємо, Anna!\nВам може сподобатися: {', '.join(sent.products)}.\nДо зустрічі"


async def test_nothing_to_recommend_sends_the_message_without_the_products_line(stack):
    # Two years on, nothing was bought in the last 90 days: there is nothing to recommend.
    clock = Clock(KYIV_MORNING + timedelta(days=730))
    where, people = await town(("Anna", "telegram", {}), ("Bohdan", "viber", {}))
    await execute("DELETE FROM cluster_products", [])
    run = await start_run(
        await campaign(where, clock, text=OFFER_WITH_PRODUCTS), clock.now, clock.now
    )
    async with campaign_sender(stack.settings) as sender:
        await drain(worker_for(stack, clock, sender))
    sent = await states(run.id)
    assert {m.state for m in sent.values()} == {MessageState.SENT}
    assert all(not m.products for m in sent.values())
    text = stack.telegram.calls_to("sendMessage", await chat_of(people["Anna"]))[0].params["text"]
    assert text == "Вітаємо, Anna!\nДо зустрічі"
    await refresh_clusters(KYIV_MORNING)  # the ranking other tests expect

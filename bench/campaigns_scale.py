"""Campaign figures on PostgreSQL, on the 1,000,000-customer data set of segments_scale.py.

    .venv/bin/python bench/segments_scale.py --generate      # once: loyalty_bench_crm
    .venv/bin/python bench/campaigns_scale.py --phase plan --runs 3
    .venv/bin/python bench/campaigns_scale.py --phase naive
    .venv/bin/python bench/campaigns_scale.py --phase deliver --messages 20000
    .venv/bin/python bench/campaigns_scale.py --phase limited --messages 10000 --limit 30

plan:    one campaign run over everyone (audience, suppression, control split, per-timezone
         due times, outbox) through the project's own plan_run.
naive:   the same plan for 50,000 customers as a per-customer ORM loop, against plan_run on
         the same 50,000: the ratio.
deliver: one worker process's throughput against a local fake Bot API, limits off.
limited: Telegram limit 30/s, a fake that answers 429 above 30 in any second: achieved rate,
         lost and duplicated messages.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from channels.campaign_sender import CampaignSender, ChannelLimits
from channels.campaign_worker import DeliveryWorker, WorkerPolicy
from channels.rate_limit import LocalPacer
from channels.telegram.dispatcher import create_bot
from crm_core.campaigns.models import (
    Campaign,
    CampaignRun,
    OutboxMessage,
)
from crm_core.campaigns.planning import PUSH_CHANNELS, SplitHash, is_control, plan_run
from crm_core.campaigns.quiet_hours import QuietHours
from crm_core.campaigns.service import CampaignIn, create_campaign
from crm_core.customers.models import ChannelIdentity, Customer
from crm_core.db import close_db, init_db
from crm_core.recommendations.service import refresh_clusters
from crm_core.segments.models import Segment, SegmentKind
from crm_core.sql import execute, fetch
from loyalty.migrations import upgrade_to_head

SERVER = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
DATABASE = "loyalty_bench_crm"
TOKEN = "123456:BENCH"


def database_url() -> str:
    return SERVER.rsplit("/", 1)[0] + "/" + DATABASE


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def segment_of(name: str, where: str) -> int:
    """A static segment filled straight from SQL (bench set-up, not the thing measured)."""
    found = await Segment.get_or_none(name=name)
    if found is not None:
        return found.id
    now = datetime.now(UTC)
    segment = await Segment.create(
        name=name, kind=SegmentKind.STATIC, status="active",
        rule={"type": "metric", "metric": "receipts", "op": "gte", "value": 0},
        depends_on=[], member_count=0, created_at=now, updated_at=now,
    )  # fmt: skip
    await execute(
        "INSERT INTO segment_members (segment_id, customer_id, entered_at) "
        f"SELECT $1, id, $2 FROM customers WHERE {where}",
        [segment.id, now],
    )
    return segment.id


async def new_campaign(segment_id: int, control: int = 10, text: str = "Привіт, {first_name}"):
    """A one-off campaign due now (a recurring one would be due at each customer's local
    hour of its next firing)."""
    now = datetime.now(UTC)
    return await create_campaign(
        CampaignIn(
            name=f"bench {time.time()}",
            segment_id=segment_id,
            messages={"uk": {"text": text}},
            default_language="uk",
            schedule={"kind": "once", "at": now.isoformat()},
            control_percent=control,
        ),
        ("uk", "en", "pl", "cs", "ru"),
        "Europe/Kyiv",
        now,
    )


async def drop_runs(campaign: Campaign) -> None:
    await execute(
        "DELETE FROM campaign_outbox WHERE run_id IN "
        "(SELECT id FROM campaign_runs WHERE campaign_id = $1)",
        [campaign.id],
    )
    await execute("DELETE FROM campaign_runs WHERE campaign_id = $1", [campaign.id])


async def phase_plan(runs: int) -> None:
    await init_db(database_url(), pool_size=4)
    everyone = await segment_of("bench: everyone", "TRUE")
    await execute("VACUUM ANALYZE segment_members", [])
    times = []
    for run in range(runs):
        campaign = await new_campaign(everyone)
        now = datetime.now(UTC)
        started = time.perf_counter()
        planned = await plan_run(campaign, now, now)
        elapsed = time.perf_counter() - started
        times.append(elapsed)
        print(
            f"  run {run + 1}: {elapsed:.1f} s  audience {planned.audience}, "
            f"treatment {planned.treatment}, control {planned.control}, "
            f"suppressed {planned.suppressed}",
            flush=True,
        )
        await drop_runs(campaign)
        await campaign.delete()
    print(f"  plan 1M: median {statistics.median(times):.1f} s of {runs}", flush=True)
    await close_db()


async def naive_plan(campaign: Campaign, segment_id: int, now: datetime) -> int:
    """The way to avoid: every customer loaded and judged in Python, one insert each."""
    run = await CampaignRun.create(
        campaign_id=campaign.id, fire_time=now, status="planned", audience=0, treatment=0,
        control=0, suppressed={}, created_at=now,
    )  # fmt: skip
    split = SplitHash(campaign.split_multiplier, campaign.split_offset)
    written = 0
    members = await fetch("SELECT customer_id FROM segment_members WHERE segment_id = $1",
                          [segment_id])  # fmt: skip
    for member in members:
        customer = await Customer.get(id=member["customer_id"])
        if customer.erased_at is not None or not customer.marketing_consent:
            continue
        identities = await ChannelIdentity.filter(
            customer_id=customer.id, reachable=True, channel__in=list(PUSH_CHANNELS)
        ).order_by("-last_seen_at", "id")
        if not identities:
            continue
        identity = sorted(identities, key=lambda i: i.channel != PUSH_CHANNELS[0])[0]
        control = is_control(split, campaign.control_percent, customer.id)
        await OutboxMessage.create(
            run_id=run.id, customer_id=customer.id,
            group="control" if control else "treatment", identity_id=identity.id,
            channel=identity.channel, state="control" if control else "pending",
            due_at=now, attempts=0, created_at=now,
        )  # fmt: skip
        written += 1
    return written


async def phase_naive() -> None:
    await init_db(database_url(), pool_size=4)
    segment = await segment_of("bench: 50k", "id <= 50000")
    results = {}
    for name in ("sql", "naive"):
        campaign = await new_campaign(segment)
        now = datetime.now(UTC)
        started = time.perf_counter()
        if name == "sql":
            run = await plan_run(campaign, now, now)
            rows = run.treatment + run.control
        else:
            rows = await naive_plan(campaign, segment, now)
        results[name] = time.perf_counter() - started
        print(f"  {name}: {results[name]:.2f} s, {rows} outbox rows", flush=True)
        await drop_runs(campaign)
        await campaign.delete()
    print(f"  naive / sql = {results['naive'] / results['sql']:.0f}x", flush=True)
    await close_db()


def start_fake(port: int, limit: int | None) -> subprocess.Popen:
    args = [sys.executable, str(Path(__file__).parent / "fake_bot_api.py"), "--port", str(port)]
    if limit:
        args += ["--limit", str(limit)]
    fake = subprocess.Popen(args)
    for _ in range(100):
        try:
            httpx.get(f"http://127.0.0.1:{port}/stats", timeout=1)
            return fake
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError("the fake Bot API did not start")


def quiet_elsewhere() -> QuietHours:
    kyiv = datetime.now(UTC).astimezone(ZoneInfo("Europe/Kyiv"))
    start = (kyiv + timedelta(hours=6)).time().replace(second=0, microsecond=0)
    end = (kyiv + timedelta(hours=7)).time().replace(second=0, microsecond=0)
    return QuietHours(start, end if end != start else clock_time(0, 1))


async def deliver(messages: int, limit: int | None, text: str) -> None:
    await init_db(database_url(), pool_size=8)
    if "{products}" in text:
        started = time.perf_counter()
        ranked = await refresh_clusters(datetime.now(UTC))
        print(
            f"  nightly cluster ranking over the 20M lines: {time.perf_counter() - started:.1f} s"
            f" ({ranked} ranked products)",
            flush=True,
        )
    segment = await segment_of(
        f"bench: {messages} telegram",
        f"id IN (SELECT customer_id FROM channel_identities WHERE channel = 'telegram' "
        f"AND reachable) AND marketing_consent AND id <= {messages * 3}",
    )
    campaign = await new_campaign(segment, control=0, text=text)
    now = datetime.now(UTC)
    run = await plan_run(campaign, now, now)
    await execute("UPDATE campaigns SET status = 'running' WHERE id = $1", [campaign.id])
    await execute(
        "DELETE FROM campaign_outbox WHERE run_id = $1 AND id NOT IN (SELECT id FROM "
        "campaign_outbox WHERE run_id = $1 ORDER BY id LIMIT $2)",
        [run.id, messages],
    )
    port = free_port()
    fake = start_fake(port, limit)
    bot = create_bot(TOKEN, f"http://127.0.0.1:{port}")
    sender = CampaignSender(LocalPacer(), bot, None, {"telegram": ChannelLimits(limit or 0, 0)})
    policy = WorkerPolicy(
        batch_size=200, concurrency=64, frequency_cap=10**6, quiet_hours=quiet_elsewhere(),
        backoff_base_seconds=1.0,
    )  # fmt: skip
    worker = DeliveryWorker(sender, policy, lambda: datetime.now(UTC), "bench-worker")
    started = time.perf_counter()
    while True:
        handled = await worker.run_once()
        if handled == 0:
            left = await fetch(
                "SELECT COUNT(*) AS n FROM campaign_outbox WHERE run_id = $1 "
                "AND state IN ('pending', 'sending')",
                [run.id],
            )
            if left[0]["n"] == 0:
                break
            await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - started
    async with httpx.AsyncClient() as client:
        stats = (await client.get(f"http://127.0.0.1:{port}/stats")).json()
    states = await fetch(
        "SELECT state, COUNT(*) AS n FROM campaign_outbox WHERE run_id = $1 GROUP BY state",
        [run.id],
    )
    fake.terminate()
    await bot.session.close()
    total = sum(int(r["n"]) for r in states)
    sent = sum(int(r["n"]) for r in states if r["state"] == "sent")
    print(
        f"  {total} messages in {elapsed:.1f} s = {total / elapsed:.0f} msg/s; states "
        f"{ {r['state']: int(r['n']) for r in states} }; platform accepted "
        f"{stats['accepted']} over {stats['accepted_span_s']:.1f} s "
        f"({stats['accepted'] / max(stats['accepted_span_s'], 1e-9):.2f}/s), "
        f"429 answers {stats['rejected_429']}, duplicated chats {stats['duplicated_chats']}, "
        f"lost {total - sent}",
        flush=True,
    )
    await drop_runs(campaign)
    await campaign.delete()
    await close_db()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--phase", choices=["plan", "naive", "deliver", "limited"], required=True)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--limit", type=int, default=30)
    parser.add_argument("--products", action="store_true", help="personalised text")
    args = parser.parse_args()
    upgrade_to_head(database_url())
    text = "Привіт, {first_name}! Радимо: {products}" if args.products else "Привіт, {first_name}"
    print(f"phase {args.phase}", flush=True)
    if args.phase == "plan":
        asyncio.run(phase_plan(args.runs))
    elif args.phase == "naive":
        asyncio.run(phase_naive())
    elif args.phase == "deliver":
        asyncio.run(deliver(args.messages, None, text))
    else:
        asyncio.run(deliver(args.messages, args.limit, text))


if __name__ == "__main__":
    main()

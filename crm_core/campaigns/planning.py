"""Planning a campaign run: audience, suppression, control split and outbox, set-based in SQL.

One `INSERT ... SELECT` writes every treatment and control row of a run; nothing loops over
customers in Python. The outbox key (run, customer) makes planning idempotent: a run planned
twice (a retried job, two schedulers firing) inserts nothing the second time. The control
split hashes campaign and customer with the campaign's own multiplier and offset, so the same
customers are in control on every re-run of the same campaign.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from crm_core.campaigns.models import Campaign, CampaignRun, Group, MessageState, RunStatus
from crm_core.campaigns.render import uses_placeholder
from crm_core.campaigns.schedule import local_due
from crm_core.recommendations.service import ensure_recommendations
from crm_core.segments.models import Segment, SegmentKind, SegmentStatus
from crm_core.segments.service import refresh_segment
from crm_core.sql import Dialect, Params, dialect_of, execute, fetch, transaction

HASH_PRIME = 2**31 - 1  # the split hash works modulo this prime
BUCKETS = 1000  # control shares are set in whole percent: 10 buckets per percent
# Channels a campaign can push to; the free one (Telegram) first.
PUSH_CHANNELS = ("telegram", "viber")


class Suppression(StrEnum):
    """Why a member of the audience gets nothing (in this order of precedence)."""

    ERASED = "erased"
    EXCLUDED = "excluded_segment"
    NO_CONSENT = "no_marketing_consent"
    UNREACHABLE = "unreachable"


@dataclass(frozen=True)
class SplitHash:
    """A bucket 0..999 per customer: an affine step, a squaring, another affine step, each
    modulo a prime. The squaring matters: with affine steps alone, consecutive customer ids
    move by the same stride round the circle, and a small stride put an audience of
    consecutive ids all on one side of the control threshold (about 2% of campaigns)."""

    multiplier: int
    offset: int

    @classmethod
    def for_campaign(cls, salt: str) -> SplitHash:
        digest = hashlib.sha256(salt.encode()).digest()
        # A multiplier below 2^31 keeps every product inside a signed 64-bit integer on both
        # databases for any id below 2^32 (the intermediate values stay below 2^31).
        multiplier = (int.from_bytes(digest[:4], "big") >> 1) | 1
        return cls(multiplier, int.from_bytes(digest[4:8], "big"))

    def bucket(self, customer_id: int) -> int:
        mixed = (customer_id * self.multiplier + self.offset) % HASH_PRIME
        mixed = (mixed * mixed + self.offset) % HASH_PRIME
        return ((mixed * self.multiplier + self.offset) % HASH_PRIME) * BUCKETS // HASH_PRIME

    def sql(self, column: str, params: Params) -> str:
        """The same bucket as `bucket`, in integer SQL (both databases)."""
        multiplier, offset = params(self.multiplier), params(self.offset)
        first = f"(({column} * {multiplier} + {offset}) % {HASH_PRIME})"
        squared = f"(({first} * {first} + {offset}) % {HASH_PRIME})"
        last = f"(({squared} * {multiplier} + {offset}) % {HASH_PRIME})"
        return f"({last} * {BUCKETS} / {HASH_PRIME})"


def control_below(control_percent: int) -> int:
    """Buckets under this number are the control group."""
    return control_percent * BUCKETS // 100


def is_control(split: SplitHash, control_percent: int, customer_id: int) -> bool:
    return split.bucket(customer_id) < control_below(control_percent)


def _excluded(campaign: Campaign, params: Params, customer: str) -> str:
    if not campaign.exclude_segment_ids:
        return "0 = 1"
    return (
        f"EXISTS (SELECT 1 FROM segment_members x WHERE x.customer_id = {customer} "
        f"AND x.segment_id IN {params.many(campaign.exclude_segment_ids)})"
    )


def _eligible(campaign: Campaign, params: Params) -> str:
    """Members of the audience (`m`, `c`) who may get it: not erased, consenting, not excluded."""
    return (
        f"m.segment_id = {params(campaign.segment_id)} AND c.erased_at IS NULL "
        f"AND c.marketing_consent AND NOT {_excluded(campaign, params, 'c.id')}"
    )


def _reachable_identity(params: Params, customer: str) -> str:
    """The identity to write to: reachable, Telegram before Viber, the most recently seen."""
    return (
        "(SELECT i.id FROM channel_identities i "
        f"WHERE i.customer_id = {customer} AND i.reachable "
        f"AND i.channel IN {params.many(PUSH_CHANNELS)} "
        f"ORDER BY CASE WHEN i.channel = {params(PUSH_CHANNELS[0])} THEN 0 ELSE 1 END, "
        "i.last_seen_at DESC, i.id LIMIT 1)"
    )


def _suppression_case(campaign: Campaign, params: Params) -> str:
    return (
        f"CASE WHEN c.erased_at IS NOT NULL THEN {params(Suppression.ERASED.value)} "
        f"WHEN {_excluded(campaign, params, 'c.id')} THEN {params(Suppression.EXCLUDED.value)} "
        f"WHEN NOT c.marketing_consent THEN {params(Suppression.NO_CONSENT.value)} "
        f"WHEN {_reachable_identity(params, 'c.id')} IS NULL "
        f"THEN {params(Suppression.UNREACHABLE.value)} END"
    )


@dataclass(frozen=True)
class Audience:
    size: int
    suppressed: dict[str, int]

    @property
    def eligible(self) -> int:
        return self.size - sum(self.suppressed.values())


async def measure_audience(campaign: Campaign, connection=None) -> Audience:
    """The audience's size now and how many of it would be suppressed, by reason."""
    async with transaction(connection) as db:
        params = Params(dialect_of(db))
        rows = await fetch(
            f"SELECT reason, COUNT(*) AS n FROM (SELECT {_suppression_case(campaign, params)} "
            "AS reason FROM segment_members m JOIN customers c ON c.id = m.customer_id "
            f"WHERE m.segment_id = {params(campaign.segment_id)}) s GROUP BY reason",
            params.values,
            db,
        )
    counts = {row["reason"]: row["n"] for row in rows}
    size = sum(counts.values())
    return Audience(size, {r.value: counts.get(r.value, 0) for r in Suppression})


async def refresh_audience(campaign: Campaign, now: datetime) -> None:
    """Dynamic audience and exclusion segments are judged afresh at run time."""
    ids = [campaign.segment_id, *campaign.exclude_segment_ids]
    for segment in await Segment.filter(id__in=ids):
        if segment.kind == SegmentKind.DYNAMIC and segment.status == SegmentStatus.ACTIVE:
            await refresh_segment(segment, now)


def _due_sql(
    campaign: Campaign, due: dict[str, datetime], fallback: datetime, params: Params
) -> str:
    """Each customer's due time by their timezone, as one CASE over the audience's zones."""

    def moment(at: datetime) -> str:
        # asyncpg types a bare parameter in CASE ... THEN as text
        return f"CAST({params(at)} AS TIMESTAMPTZ)" if params.dialect.postgres else params(at)

    if not due:
        return moment(fallback)
    cases = " ".join(f"WHEN {params(zone)} THEN {moment(at)}" for zone, at in due.items())
    return f"CASE c.timezone {cases} ELSE {moment(fallback)} END"


def _insert_outbox(
    campaign: Campaign,
    run_id: int,
    dialect: Dialect,
    now: datetime,
    due: dict[str, datetime],
    fallback_due: datetime,
) -> tuple[str, list]:
    params = Params(dialect)
    split = SplitHash(campaign.split_multiplier, campaign.split_offset)
    identity = _reachable_identity(params, "c.id")
    eligible = _eligible(campaign, params)
    in_control = f"{split.sql('e.id', params)} < {params(control_below(campaign.control_percent))}"
    group = (
        f"CASE WHEN {in_control} THEN {params(Group.CONTROL.value)} "
        f"ELSE {params(Group.TREATMENT.value)} END"
    )
    state = (
        f"CASE WHEN {in_control} THEN {params(MessageState.CONTROL.value)} "
        f"ELSE {params(MessageState.PENDING.value)} END"
    )
    due_at = _due_sql(campaign, due, fallback_due, params)
    sql = (
        'INSERT INTO campaign_outbox (run_id, customer_id, "group", identity_id, channel, state, '
        "due_at, attempts, created_at) "
        f"SELECT {params(run_id)}, e.id, {group}, e.identity_id, "
        f"i.channel, {state}, e.due_at, 0, {params(now)} "
        f"FROM (SELECT c.id, {identity} AS identity_id, {due_at} AS due_at "
        "FROM segment_members m "
        f"JOIN customers c ON c.id = m.customer_id WHERE {eligible}) e "
        "JOIN channel_identities i ON i.id = e.identity_id "
        "WHERE e.identity_id IS NOT NULL "
        "ON CONFLICT (run_id, customer_id) DO NOTHING"
    )
    return sql, params.values


async def plan_run(campaign: Campaign, fire_time: datetime, now: datetime) -> CampaignRun:
    """Plan the run of `campaign` for one firing of its schedule; planning again is a no-op."""
    run, _ = await CampaignRun.get_or_create(
        campaign_id=campaign.id,
        fire_time=fire_time,
        defaults={
            "status": RunStatus.PLANNING,
            "audience": 0,
            "treatment": 0,
            "control": 0,
            "suppressed": {},
            "created_at": now,
        },
    )
    if run.status != RunStatus.PLANNING:
        return run
    await refresh_audience(campaign, now)
    if uses_placeholder(campaign.messages, "products"):
        await ensure_recommendations(now)
    async with transaction() as db:
        dialect = dialect_of(db)
        if dialect.postgres:
            # Two schedulers planning the same run wait for each other; the second finds it done.
            await execute("SELECT id FROM campaign_runs WHERE id = $1 FOR UPDATE", [run.id], db)
            current = await fetch("SELECT status FROM campaign_runs WHERE id = $1", [run.id], db)
            if current[0]["status"] != RunStatus.PLANNING:
                return await CampaignRun.get(id=run.id)
        audience = await measure_audience(campaign, db)
        params = Params(dialect)
        zones = await fetch(
            "SELECT DISTINCT c.timezone FROM segment_members m JOIN customers c "
            f"ON c.id = m.customer_id WHERE m.segment_id = {params(campaign.segment_id)}",
            params.values,
            db,
        )
        due = {
            row["timezone"]: max(local_due(campaign.schedule_kind, fire_time, row["timezone"]), now)
            for row in zones
        }
        fallback = max(fire_time, now)
        sql, values = _insert_outbox(campaign, run.id, dialect, now, due, fallback)
        await execute(sql, values, db)
        params = Params(dialect)
        groups = {
            row["grp"]: row["n"]
            for row in await fetch(
                f'SELECT "group" AS grp, COUNT(*) AS n FROM campaign_outbox '
                f'WHERE run_id = {params(run.id)} GROUP BY "group"',
                params.values,
                db,
            )
        }
        run.status = RunStatus.PLANNED
        run.audience = audience.size
        run.suppressed = audience.suppressed
        run.treatment = groups.get(Group.TREATMENT.value, 0)
        run.control = groups.get(Group.CONTROL.value, 0)
        run.planned_at = now
        await run.save(using_db=db)
    return run


async def plan_test_run(campaign: Campaign, test_segment_id: int, now: datetime) -> CampaignRun:
    """Send the campaign now to the members of a test segment (the team's own accounts).

    Only reachable customers who agreed to offers get it; no control group, no waiting for
    the morning, and it counts towards nobody's frequency cap or the campaign's results.
    """
    if uses_placeholder(campaign.messages, "products"):
        await ensure_recommendations(now)
    run = await CampaignRun.create(
        campaign_id=campaign.id,
        fire_time=now,
        status=RunStatus.TEST,
        audience=0,
        treatment=0,
        control=0,
        suppressed={},
        planned_at=now,
        created_at=now,
    )
    async with transaction() as db:
        params = Params(dialect_of(db))
        identity = _reachable_identity(params, "c.id")
        await execute(
            'INSERT INTO campaign_outbox (run_id, customer_id, "group", identity_id, channel, '
            "state, due_at, attempts, created_at) "
            f"SELECT {params(run.id)}, e.id, {params(Group.TREATMENT.value)}, e.identity_id, "
            f"i.channel, {params(MessageState.PENDING.value)}, {params(now)}, 0, {params(now)} "
            f"FROM (SELECT c.id, {identity} AS identity_id FROM segment_members m "
            "JOIN customers c ON c.id = m.customer_id "
            f"WHERE m.segment_id = {params(test_segment_id)} AND c.erased_at IS NULL "
            "AND c.marketing_consent) e JOIN channel_identities i ON i.id = e.identity_id "
            "WHERE e.identity_id IS NOT NULL ON CONFLICT (run_id, customer_id) DO NOTHING",
            params.values,
            db,
        )
        # (Counted afterwards: drivers disagree on the row count of INSERT ... SELECT.)
        count = Params(params.dialect)
        counted = await fetch(
            f"SELECT COUNT(*) AS n FROM campaign_outbox WHERE run_id = {count(run.id)}",
            count.values,
            db,
        )
        run.treatment = int(counted[0]["n"])
        await run.save(using_db=db)
    return run


@dataclass(frozen=True)
class SampleRecipient:
    customer_id: int
    first_name: str
    language: str
    card_number: str
    channel: str


@dataclass(frozen=True)
class PlanPreview:
    audience: Audience
    treatment: int
    control: int
    by_channel: dict[str, int]
    samples: list[SampleRecipient]


async def preview_plan(campaign: Campaign, samples: int = 3) -> PlanPreview:
    """What planning now would do: sizes, suppression, channels and a few real recipients."""
    audience = await measure_audience(campaign)
    params = Params(dialect_of())
    split = SplitHash(campaign.split_multiplier, campaign.split_offset)
    threshold = control_below(campaign.control_percent)
    eligible = _eligible(campaign, params)
    rows = await fetch(
        "SELECT i.channel, CASE WHEN "
        f"{split.sql('e.id', params)} < {params(threshold)} "
        "THEN 1 ELSE 0 END AS control, COUNT(*) AS n "
        f"FROM (SELECT c.id, {_reachable_identity(params, 'c.id')} AS identity_id "
        f"FROM segment_members m JOIN customers c ON c.id = m.customer_id WHERE {eligible}) e "
        "JOIN channel_identities i ON i.id = e.identity_id GROUP BY i.channel, 2",
        params.values,
    )
    treatment = sum(int(r["n"]) for r in rows if not r["control"])
    control = sum(int(r["n"]) for r in rows if r["control"])
    by_channel: dict[str, int] = {}
    for row in rows:
        if not row["control"]:
            by_channel[row["channel"]] = by_channel.get(row["channel"], 0) + int(row["n"])
    params = Params(dialect_of())
    picked = await fetch(
        "SELECT c.id, c.first_name, c.language, i.channel, "
        "(SELECT k.number FROM cards k WHERE k.customer_id = c.id AND k.status = 'active' "
        "ORDER BY k.id DESC LIMIT 1) AS card_number "
        "FROM segment_members m JOIN customers c ON c.id = m.customer_id "
        f"JOIN channel_identities i ON i.id = {_reachable_identity(params, 'c.id')} "
        f"WHERE {_eligible(campaign, params)} "
        f"AND {split.sql('c.id', params)} >= {params(threshold)} "
        f"ORDER BY c.id LIMIT {params(samples)}",
        params.values,
    )
    return PlanPreview(
        audience,
        treatment,
        control,
        by_channel,
        [
            SampleRecipient(
                r["id"], r["first_name"] or "", r["language"], r["card_number"] or "", r["channel"]
            )
            for r in picked
        ],
    )

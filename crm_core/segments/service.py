"""Segments: save a rule, build its members, keep dynamic ones current, log every move.

A static segment keeps the members of the moment it was built. A dynamic one is rebuilt on
a schedule and, for the one customer concerned, right after a purchase, refund or profile
edit; a paused segment is left alone. Every entry and exit is logged with its time.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError

from crm_core.campaigns.models import Campaign
from crm_core.catalogue.models import Category
from crm_core.profiles.models import CustomField
from crm_core.segments.compiler import compile_members
from crm_core.segments.models import Segment, SegmentKind, SegmentStatus
from crm_core.segments.rules import (
    Catalogue,
    CustomFieldInfo,
    Reason,
    Rule,
    RuleError,
    validate_rule,
)
from crm_core.sql import Params, dialect_of, execute, fetch, transaction
from crm_core.stores.models import Store

log = logging.getLogger(__name__)

# What each kind of change can alter, in the vocabulary of Rule.reads.
PURCHASE_CHANGE = frozenset({"purchases", "metrics"})
PROFILE_CHANGE = frozenset({"profile", "custom", "consent", "channel"})


class SegmentNameTaken(ValueError):
    pass


class SegmentPaused(ValueError):
    pass


class SegmentInUse(ValueError):
    """Other segments are built on it, or campaigns use it (as audience or exclusion)."""

    def __init__(self, segments: list[int], campaigns: list[tuple[int, str]]) -> None:
        super().__init__(f"segments {segments}, campaigns {[c for c, _ in campaigns]}")
        self.segments, self.campaigns = segments, campaigns


@dataclass(frozen=True)
class Preview:
    count: int
    sample: list[dict[str, Any]]


@dataclass(frozen=True)
class Refreshed:
    entered: int
    exited: int
    members: int


async def _custom_fields() -> dict[str, CustomFieldInfo]:
    fields = await CustomField.all().values("id", "key", "kind", "choices")
    return {
        f["key"]: CustomFieldInfo(f["id"], f["kind"], tuple(f["choices"] or ())) for f in fields
    }


async def load_catalogue(exclude_segment: int | None = None) -> Catalogue:
    """What rules may name, read once per validation."""
    segment_ids = await Segment.all().values_list("id", flat=True)
    return Catalogue(
        custom_fields=await _custom_fields(),
        category_paths=frozenset(await Category.all().values_list("path", flat=True)),
        store_codes=frozenset(await Store.all().values_list("code", flat=True)),
        segment_ids=frozenset(s for s in segment_ids if s != exclude_segment),
    )


async def parse_rule(raw: Any, segment_id: int | None = None) -> Rule:
    """Validate a rule; for an existing segment also refuse a reference back to itself."""
    rule = validate_rule(raw, await load_catalogue())
    if segment_id is not None:
        await _refuse_cycle(segment_id, rule.depends_on)
    return rule


async def _refuse_cycle(segment_id: int, depends_on: Iterable[int]) -> None:
    graph = {s.id: tuple(s.depends_on) for s in await Segment.all().only("id", "depends_on")}
    graph[segment_id] = tuple(depends_on)
    stack, seen = list(graph[segment_id]), set()
    while stack:
        current = stack.pop()
        if current == segment_id:
            raise RuleError("", Reason.CYCLE, str(segment_id))
        if current in seen:
            continue
        seen.add(current)
        stack.extend(graph.get(current, ()))


async def preview(raw: Any, now: datetime, sample_size: int = 20) -> Preview:
    """Count and a sample of who a rule selects, without saving anything."""
    rule = await parse_rule(raw)
    dialect = dialect_of()
    query = compile_members(rule.root, dialect, now)
    count = (await fetch(f"SELECT COUNT(*) AS n FROM ({query.sql}) q", query.values))[0]["n"]
    params = Params(dialect)
    params.values.extend(query.values)
    sample = await fetch(
        "SELECT c.id, c.first_name, c.city, c.language, COALESCE(m.stage, 'registered') AS stage, "
        "m.rfm_segment, m.receipts, m.spent_minor FROM customers c "
        "LEFT JOIN customer_metrics m ON m.customer_id = c.id "
        f"WHERE c.id IN ({query.sql}) ORDER BY c.id LIMIT {int(sample_size)}",
        params.values,
    )
    return Preview(int(count), sample)


async def create_segment(
    name: str, kind: SegmentKind, raw_rule: Any, now: datetime, paused: bool = False
) -> tuple[Segment, Refreshed | None]:
    """Save a segment and build its members at once (unless created paused)."""
    rule = await parse_rule(raw_rule)
    try:
        segment = await Segment.create(
            name=name,
            kind=kind,
            status=SegmentStatus.PAUSED if paused else SegmentStatus.ACTIVE,
            rule=raw_rule,
            depends_on=list(rule.depends_on),
            member_count=0,
            created_at=now,
            updated_at=now,
        )
    except IntegrityError:
        raise SegmentNameTaken(name) from None
    refreshed = None if paused else await refresh_segment(segment, now, force=True)
    return segment, refreshed


async def update_segment(
    segment: Segment,
    now: datetime,
    name: str | None = None,
    raw_rule: Any = None,
    status: SegmentStatus | None = None,
) -> Segment:
    """Rename, change the rule (a dynamic segment is rebuilt), pause or resume."""
    changes: dict[str, Any] = {"updated_at": now}
    if raw_rule is not None:
        rule = await parse_rule(raw_rule, segment.id)
        changes.update(rule=raw_rule, depends_on=list(rule.depends_on))
    if name is not None:
        changes["name"] = name
    if status is not None:
        changes["status"] = status
    try:
        await Segment.filter(id=segment.id).update(**changes)
    except IntegrityError:
        raise SegmentNameTaken(name or "") from None
    await segment.refresh_from_db()
    if raw_rule is not None and segment.kind == SegmentKind.DYNAMIC:
        if segment.status == SegmentStatus.ACTIVE:
            await refresh_segment(segment, now)
    return segment


async def delete_unused_segment(segment: Segment) -> None:
    """Delete a segment nothing uses. Refused while other segments are built on it or a
    campaign names it, whatever the campaign's state: deleting an audience would break its
    campaign, deleting an exclusion would silently send to the customers it left out, and a
    finished campaign's results still say whom it was for."""
    async with transaction() as db:
        built_on = [
            other.id
            for other in await Segment.exclude(id=segment.id).only("id", "depends_on").using_db(db)
            if segment.id in other.depends_on
        ]
        campaigns = [
            (campaign.id, campaign.name)
            for campaign in await Campaign.all()
            .order_by("id")
            .only("id", "name", "segment_id", "exclude_segment_ids")
            .using_db(db)
            if campaign.segment_id == segment.id or segment.id in campaign.exclude_segment_ids
        ]
        if built_on or campaigns:
            raise SegmentInUse(built_on, campaigns)
        await segment.delete(using_db=db)


async def refresh_segment(segment: Segment, now: datetime, force: bool = False) -> Refreshed:
    """Rebuild the members from the rule; log who entered and who left.

    `force` rebuilds a static or paused segment too (its creation, an explicit rebuild).
    """
    if segment.status == SegmentStatus.PAUSED and not force:
        raise SegmentPaused(segment.id)
    rule = validate_rule(segment.rule, await load_catalogue())
    async with transaction() as db:
        dialect = dialect_of(db)
        if dialect.postgres:
            # One rebuild of a segment at a time; per-customer updates need no lock.
            await execute("SELECT id FROM segments WHERE id = $1 FOR UPDATE", [segment.id], db)
        query = compile_members(rule.root, dialect, now)
        await execute("DROP TABLE IF EXISTS segment_eval", [], db)
        suffix = " ON COMMIT DROP" if dialect.postgres else ""
        await execute(f"CREATE TEMP TABLE segment_eval (id BIGINT PRIMARY KEY){suffix}", [], db)
        await execute(f"INSERT INTO segment_eval (id) {query.sql}", query.values, db)
        if dialect.postgres:
            entered, exited = await _apply_diff_postgres(segment.id, now, db)
        else:
            entered, exited = await _apply_diff_sqlite(segment.id, now, db)
        members = (await fetch("SELECT COUNT(*) AS n FROM segment_eval", [], db))[0]["n"]
        params = Params(dialect)
        await execute(
            f"UPDATE segments SET member_count = {params(members)}, evaluated_at = {params(now)} "
            f"WHERE id = {params(segment.id)}",
            params.values,
            db,
        )
        if not dialect.postgres:
            await execute("DROP TABLE segment_eval", [], db)
    segment.member_count, segment.evaluated_at = members, now
    return Refreshed(entered, exited, members)


async def _apply_diff_postgres(
    segment_id: int, now: datetime, db: BaseDBAsyncClient
) -> tuple[int, int]:
    """Data-modifying CTEs: only rows really inserted or deleted are logged, even when a
    per-customer update runs at the same time."""
    entered = await fetch(
        "WITH added AS (INSERT INTO segment_members (segment_id, customer_id, entered_at) "
        "SELECT $1, e.id, $2 FROM segment_eval e ON CONFLICT (segment_id, customer_id) "
        "DO NOTHING RETURNING customer_id), logged AS (INSERT INTO segment_membership_log "
        "(segment_id, customer_id, event, at) SELECT $1, customer_id, 'entered', $2 FROM added "
        "RETURNING 1) SELECT COUNT(*) AS n FROM logged",
        [segment_id, now],
        db,
    )
    exited = await fetch(
        "WITH removed AS (DELETE FROM segment_members sm WHERE sm.segment_id = $1 AND NOT "
        "EXISTS (SELECT 1 FROM segment_eval e WHERE e.id = sm.customer_id) RETURNING "
        "customer_id), logged AS (INSERT INTO segment_membership_log (segment_id, customer_id, "
        "event, at) SELECT $1, customer_id, 'exited', $2 FROM removed RETURNING 1) "
        "SELECT COUNT(*) AS n FROM logged",
        [segment_id, now],
        db,
    )
    return int(entered[0]["n"]), int(exited[0]["n"])


async def _apply_diff_sqlite(
    segment_id: int, now: datetime, db: BaseDBAsyncClient
) -> tuple[int, int]:
    """SQLite has one writer at a time: the diff can be logged, then applied."""
    missing = (
        "FROM segment_eval e WHERE NOT EXISTS (SELECT 1 FROM segment_members sm "
        "WHERE sm.segment_id = ? AND sm.customer_id = e.id)"
    )
    gone = (
        "FROM segment_members sm WHERE sm.segment_id = ? AND NOT EXISTS "
        "(SELECT 1 FROM segment_eval e WHERE e.id = sm.customer_id)"
    )
    exited = await execute(
        "INSERT INTO segment_membership_log (segment_id, customer_id, event, at) "
        f"SELECT ?, sm.customer_id, 'exited', ? {gone}",
        [segment_id, now, segment_id],
        db,
    )
    await execute(
        "DELETE FROM segment_members WHERE id IN (SELECT sm.id " + gone + ")", [segment_id], db
    )
    entered = await execute(
        "INSERT INTO segment_membership_log (segment_id, customer_id, event, at) "
        f"SELECT ?, e.id, 'entered', ? {missing}",
        [segment_id, now, segment_id],
        db,
    )
    await execute(
        "INSERT INTO segment_members (segment_id, customer_id, entered_at) "
        f"SELECT ?, e.id, ? {missing}",
        [segment_id, now, segment_id],
        db,
    )
    return entered, exited


def _in_dependency_order(segments: list[Segment]) -> list[Segment]:
    """Segments a rule refers to come before the rule (cycles are refused on save)."""
    by_id = {s.id: s for s in segments}
    ordered: list[Segment] = []
    done: set[int] = set()

    def visit(segment: Segment, trail: frozenset[int]) -> None:
        if segment.id in done or segment.id in trail:
            return
        for dependency in segment.depends_on:
            if dependency in by_id:
                visit(by_id[dependency], trail | {segment.id})
        done.add(segment.id)
        ordered.append(segment)

    for segment in sorted(segments, key=lambda s: s.id):
        visit(segment, frozenset())
    return ordered


async def refresh_dynamic_segments(now: datetime) -> dict[int, Refreshed]:
    """The scheduled rebuild: every active dynamic segment, dependencies first."""
    active = await Segment.filter(kind=SegmentKind.DYNAMIC, status=SegmentStatus.ACTIVE)
    results: dict[int, Refreshed] = {}
    for segment in _in_dependency_order(list(active)):
        results[segment.id] = await refresh_segment(segment, now)
    return results


async def on_customer_changed(customer_id: int, changed: frozenset[str], now: datetime) -> None:
    """Re-judge one customer in the active dynamic segments that read what changed.

    All of them are judged in one statement (this runs after every receipt); a segment
    built on one that moved is judged again after the move.
    """
    ordered, rules = await _active_dynamic()
    wave = [segment for segment in ordered if _reads(segment, changed)]
    while wave:
        moved: set[int] = set()
        for segment, (matches, member) in zip(
            wave, await _judge(wave, customer_id, now, rules), strict=True
        ):
            if matches is not None and matches != member:
                if await _move(segment.id, customer_id, matches, now):
                    moved.add(segment.id)
        wave = [s for s in ordered if moved.intersection(s.depends_on)]


_ACTIVE: dict[str, Any] = {"key": None, "segments": [], "rules": {}}


async def _active_dynamic() -> tuple[list[Segment], dict[int, Rule | None]]:
    """Active dynamic segments in dependency order, with their validated rules.

    Kept between receipts and checked with one cheap query: any saved, changed, paused or
    deleted segment, or a new custom field, reloads them.
    """
    version = await fetch(
        "SELECT (SELECT COUNT(*) FROM segments) AS n, (SELECT MAX(updated_at) FROM segments) "
        "AS changed, (SELECT COALESCE(SUM(CASE WHEN status = 'active' AND kind = 'dynamic' "
        "THEN id ELSE -id END), 0) FROM segments) AS ids, "
        "(SELECT COALESCE(SUM(LENGTH(CAST(rule AS TEXT))), 0) FROM segments) AS rules, "
        "(SELECT COUNT(*) FROM custom_fields) AS fields, "
        "(SELECT COALESCE(MAX(id), 0) FROM custom_fields) AS last_field",
        [],
    )
    key = str(sorted(version[0].items()))
    if _ACTIVE["key"] != key:
        active = await Segment.filter(kind=SegmentKind.DYNAMIC, status=SegmentStatus.ACTIVE)
        # Saved rules were checked against categories, stores and segments when saved, and
        # those are never deleted while referenced; custom fields are read fresh here.
        catalogue = _AnyCatalogue(await _custom_fields())
        rules: dict[int, Rule | None] = {}
        for segment in active:
            try:
                rules[segment.id] = validate_rule(segment.rule, catalogue)
            except RuleError:
                log.warning("segment %s has a rule that no longer validates", segment.id)
                rules[segment.id] = None
        _ACTIVE.update(key=key, segments=_in_dependency_order(list(active)), rules=rules)
    return _ACTIVE["segments"], _ACTIVE["rules"]


async def _judge(
    segments: list[Segment], customer_id: int, now: datetime, rules: dict[int, Rule | None]
) -> list[tuple[bool | None, bool]]:
    """(matches the rule, is a member now) of one customer for each segment, in one query.

    A rule that no longer validates is left alone (None).
    """
    dialect = dialect_of()
    params = Params(dialect)
    customer = params(customer_id)
    columns, valid = [], []
    for index, segment in enumerate(segments):
        rule = rules.get(segment.id)
        if rule is None:
            valid.append(False)
            columns.append(f"0 = 1 AS m{index}")
        else:
            valid.append(True)
            query = compile_members(rule.root, dialect, now, customer_id, params, customer)
            columns.append(f"EXISTS ({query.sql}) AS m{index}")
        columns.append(
            "EXISTS (SELECT 1 FROM segment_members WHERE "
            f"segment_id = {params(segment.id)} AND customer_id = {customer}) AS i{index}"
        )
    row = (await fetch(f"SELECT {', '.join(columns)}", params.values))[0]
    return [
        (bool(row[f"m{i}"]) if valid[i] else None, bool(row[f"i{i}"])) for i in range(len(segments))
    ]


def _reads(segment: Segment, changed: frozenset[str]) -> bool:
    reads = _READS_CACHE.get((segment.id, str(segment.updated_at)))
    if reads is None:
        try:
            reads = validate_rule(segment.rule, _PERMISSIVE).reads
        except RuleError:
            reads = frozenset({"purchases", "metrics", "profile", "custom", "consent", "events"})
        _READS_CACHE[(segment.id, str(segment.updated_at))] = reads
    return bool(reads & changed)


class _AnyCatalogue(Catalogue):
    """Accepts every reference: only to learn what a rule reads, never to compile it."""

    class _Everything(frozenset):
        def __contains__(self, item: object) -> bool:
            return True

    class _AnyField(dict):
        def get(self, key: Any, default: Any = None) -> Any:
            return CustomFieldInfo(0, "text")

    def __init__(self, custom_fields: dict[str, CustomFieldInfo] | None = None) -> None:
        super().__init__(
            custom_fields=self._AnyField() if custom_fields is None else custom_fields,
            category_paths=self._Everything(),
            store_codes=self._Everything(),
            segment_ids=self._Everything(),
        )


_PERMISSIVE = _AnyCatalogue()
_READS_CACHE: dict[tuple[int, str], frozenset[str]] = {}


async def _move(segment_id: int, customer_id: int, enter: bool, now: datetime) -> bool:
    """Add or remove one member; log it only if this call really changed the membership."""
    async with transaction() as db:
        params = Params(dialect_of(db))
        if enter:
            rows = await fetch(
                "INSERT INTO segment_members (segment_id, customer_id, entered_at) VALUES "
                f"({params(segment_id)}, {params(customer_id)}, {params(now)}) "
                "ON CONFLICT (segment_id, customer_id) DO NOTHING RETURNING id",
                params.values,
                db,
            )
        else:
            rows = await fetch(
                f"DELETE FROM segment_members WHERE segment_id = {params(segment_id)} "
                f"AND customer_id = {params(customer_id)} RETURNING id",
                params.values,
                db,
            )
        if not rows:
            return False
        params = Params(dialect_of(db))
        await execute(
            "INSERT INTO segment_membership_log (segment_id, customer_id, event, at) VALUES "
            f"({params(segment_id)}, {params(customer_id)}, "
            f"{params('entered' if enter else 'exited')}, {params(now)})",
            params.values,
            db,
        )
        delta = 1 if enter else -1
        params = Params(dialect_of(db))
        await execute(
            f"UPDATE segments SET member_count = member_count + {params(delta)} "
            f"WHERE id = {params(segment_id)}",
            params.values,
            db,
        )
    return True


async def leave_all_segments(customer_id: int, now: datetime, db: BaseDBAsyncClient) -> int:
    """An erased customer leaves every segment, static ones too, at once: each exit logged
    and each count lowered, in the caller's transaction. How many segments they left."""
    params = Params(dialect_of(db))
    customer = params(customer_id)
    await execute(
        "INSERT INTO segment_membership_log (segment_id, customer_id, event, at) "
        f"SELECT segment_id, customer_id, 'exited', {params(now)} FROM segment_members "
        f"WHERE customer_id = {customer}",
        params.values,
        db,
    )
    params = Params(dialect_of(db))
    customer = params(customer_id)
    await execute(
        "UPDATE segments SET member_count = member_count - 1 WHERE id IN "
        f"(SELECT segment_id FROM segment_members WHERE customer_id = {customer})",
        params.values,
        db,
    )
    params = Params(dialect_of(db))
    left = await fetch(
        f"DELETE FROM segment_members WHERE customer_id = {params(customer_id)} RETURNING id",
        params.values,
        db,
    )
    return len(left)


async def customer_changed_safely(
    customer_id: int | None, changed: frozenset[str], now: datetime
) -> None:
    """For callers whose own work is done (a receipt is recorded): a failure here must not
    undo it; the scheduled rebuild corrects what was missed."""
    if customer_id is None:
        return
    try:
        await on_customer_changed(customer_id, changed, now)
    except Exception:
        log.exception("segment update after a change failed; the next rebuild will catch up")

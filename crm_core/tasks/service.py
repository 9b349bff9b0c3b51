"""Manager tasks: create (by hand or from a journey), list, close and reopen.

Who sees what is a rule of the domain, so it lives here: a `Scope` with a store sees only
that store's tasks (a store manager's key), a scope without one sees all. A task about a
receipt takes the receipt's store and customer unless they are given, and may not name
others. Overdue is never stored: it is "open and due before now", judged when read.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q

from crm_core.customers.models import Customer
from crm_core.purchases.models import Purchase
from crm_core.stores.models import Store
from crm_core.tasks.models import AssigneeRole, ManagerTask, TaskStatus

TITLE_MAX = 200
ERASURE_ACTOR = "erasure"
NOTE_MAX = 4000


class TaskProblem(StrEnum):
    CUSTOMER_NOT_FOUND = "task_customer_not_found"
    STORE_NOT_FOUND = "task_store_not_found"
    PURCHASE_NOT_FOUND = "task_purchase_not_found"
    PURCHASE_OTHER_CUSTOMER = "task_purchase_other_customer"
    PURCHASE_OTHER_STORE = "task_purchase_other_store"
    STORE_NEEDED = "task_store_needed"
    OTHER_STORE = "task_other_store"
    BAD_TRANSITION = "task_bad_transition"


class TaskRejected(ValueError):
    """A request the rules refuse; `field` names the part of the request at fault."""

    def __init__(self, problem: TaskProblem, field: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.field = field


class TaskSort(StrEnum):
    DUE = "due"  # due soonest first
    NEWEST = "newest"  # created last first


@dataclass(frozen=True)
class Scope:
    """Whose tasks a caller sees: one store's, or (store None) everybody's."""

    store_id: int | None = None

    def admits(self, store_id: int | None) -> bool:
        return self.store_id is None or store_id == self.store_id


@dataclass(frozen=True)
class TaskFilter:
    statuses: tuple[TaskStatus, ...] = ()
    store_id: int | None = None
    customer_id: int | None = None
    overdue: bool | None = None
    due_before: datetime | None = None
    due_after: datetime | None = None


@dataclass(frozen=True)
class TaskPage:
    items: list[ManagerTask]
    next_cursor: str | None


class BadCursor(ValueError):
    pass


def is_overdue(task: ManagerTask, now: datetime) -> bool:
    return task.status == TaskStatus.OPEN and task.due_at < now


async def create_task(
    title: str,
    due_at: datetime,
    created_by: str,
    now: datetime,
    *,
    customer_id: int | None = None,
    store_id: int | None = None,
    purchase_id: int | None = None,
    assignee_role: AssigneeRole | None = None,
    note: str = "",
    scope: Scope = Scope(),
) -> ManagerTask:
    """A new open task. Journeys call this with `created_by="journey:<id>"`.

    A store manager's task is for a store (the scope's store when none is given); without
    a store the task goes to marketers.
    """
    if purchase_id is not None:
        purchase = await Purchase.get_or_none(id=purchase_id)
        if purchase is None:
            raise TaskRejected(TaskProblem.PURCHASE_NOT_FOUND, "purchase_id")
        if customer_id is not None and purchase.customer_id not in (None, customer_id):  # type: ignore[attr-defined]
            raise TaskRejected(TaskProblem.PURCHASE_OTHER_CUSTOMER, "customer_id")
        if store_id is not None and purchase.store_id != store_id:  # type: ignore[attr-defined]
            raise TaskRejected(TaskProblem.PURCHASE_OTHER_STORE, "store_id")
        customer_id = customer_id or purchase.customer_id  # type: ignore[attr-defined]
        store_id = purchase.store_id  # type: ignore[attr-defined]
    if store_id is None:
        store_id = scope.store_id
    if not scope.admits(store_id):
        raise TaskRejected(TaskProblem.OTHER_STORE, "store_id")
    if customer_id is not None and not await Customer.exists(
        id=customer_id, erased_at__isnull=True
    ):
        raise TaskRejected(TaskProblem.CUSTOMER_NOT_FOUND, "customer_id")
    if store_id is not None and not await Store.exists(id=store_id):
        raise TaskRejected(TaskProblem.STORE_NOT_FOUND, "store_id")
    if assignee_role is None:
        assignee_role = AssigneeRole.STORE_MANAGER if store_id else AssigneeRole.MARKETER
    if assignee_role is AssigneeRole.STORE_MANAGER and store_id is None:
        raise TaskRejected(TaskProblem.STORE_NEEDED, "store_id")
    return await ManagerTask.create(
        title=title.strip()[:TITLE_MAX],
        customer_id=customer_id,
        store_id=store_id,
        purchase_id=purchase_id,
        due_at=due_at.astimezone(UTC),
        assignee_role=assignee_role,
        status=TaskStatus.OPEN,
        note=note[:NOTE_MAX],
        created_by=created_by,
        created_at=now,
        updated_at=now,
    )


async def forget_customer_in_tasks(
    customer_id: int, now: datetime, connection: BaseDBAsyncClient | None = None
) -> None:
    """Erasure: what staff wrote about the customer goes; open tasks about them are
    dismissed (nobody is left to call). The rows stay, so a store's task counts hold."""
    tasks = ManagerTask.filter(customer_id=customer_id)
    if connection is not None:
        tasks = tasks.using_db(connection)
    await tasks.filter(status=TaskStatus.OPEN).update(
        status=TaskStatus.DISMISSED, closed_at=now, closed_by=ERASURE_ACTOR, updated_at=now
    )
    await tasks.update(title="", note="", updated_at=now)


async def visible_task(task_id: int, scope: Scope) -> ManagerTask | None:
    """The task if the scope may see it; None alike for a missing and a foreign one."""
    query = ManagerTask.filter(id=task_id)
    if scope.store_id is not None:
        query = query.filter(store_id=scope.store_id)
    return await query.select_related("store").first()


async def update_task(
    task: ManagerTask,
    actor: str,
    now: datetime,
    *,
    status: TaskStatus | None = None,
    note: str | None = None,
) -> ManagerTask:
    """Close (done or dismissed), reopen, or change the note. Closing records when and by
    whom; reopening forgets it. Done and dismissed do not turn into each other directly:
    a task closed the wrong way is reopened first, so its history stays readable."""
    changes: dict[str, Any] = {}
    if status is not None and status != task.status:
        if status != TaskStatus.OPEN and task.status != TaskStatus.OPEN:
            raise TaskRejected(TaskProblem.BAD_TRANSITION, "status")
        closing = status != TaskStatus.OPEN
        changes.update(
            status=status,
            closed_at=now if closing else None,
            closed_by=actor if closing else None,
        )
    if note is not None and note != task.note:
        changes["note"] = note[:NOTE_MAX]
    if changes:
        changes["updated_at"] = now
        await ManagerTask.filter(id=task.id).update(**changes)
        for name, value in changes.items():
            setattr(task, name, value)
    return task


async def list_tasks(
    scope: Scope,
    chosen: TaskFilter,
    now: datetime,
    sort: TaskSort = TaskSort.DUE,
    cursor: str | None = None,
    limit: int = 50,
) -> TaskPage:
    """One page of the tasks the scope sees, filtered, in a stable order with a cursor."""
    if chosen.store_id is not None and not scope.admits(chosen.store_id):
        raise TaskRejected(TaskProblem.OTHER_STORE, "store_id")
    query = ManagerTask.all().select_related("store")
    if scope.store_id is not None:
        query = query.filter(store_id=scope.store_id)
    if chosen.store_id is not None:
        query = query.filter(store_id=chosen.store_id)
    if chosen.statuses:
        query = query.filter(status__in=[str(s) for s in chosen.statuses])
    if chosen.customer_id is not None:
        query = query.filter(customer_id=chosen.customer_id)
    # In UTC: SQLite compares the stored moments as text, all written in UTC.
    if chosen.due_before is not None:
        query = query.filter(due_at__lt=chosen.due_before.astimezone(UTC))
    if chosen.due_after is not None:
        query = query.filter(due_at__gte=chosen.due_after.astimezone(UTC))
    now = now.astimezone(UTC)
    if chosen.overdue is True:
        query = query.filter(status=TaskStatus.OPEN, due_at__lt=now)
    elif chosen.overdue is False:
        query = query.filter(Q(status__not=TaskStatus.OPEN) | Q(due_at__gte=now))
    if cursor:
        query = query.filter(_after(sort, cursor))
    if sort is TaskSort.DUE:
        query = query.order_by("due_at", "id")
    else:
        query = query.order_by("-id")
    rows = await query.limit(limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return TaskPage(rows, _cursor(sort, rows[-1]) if more and rows else None)


def _cursor(sort: TaskSort, last: ManagerTask) -> str:
    value = [sort.value, last.id, last.due_at.isoformat() if sort is TaskSort.DUE else None]
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def _after(sort: TaskSort, cursor: str) -> Q:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        kind, last_id, due = json.loads(raw)
        if kind != sort.value or type(last_id) is not int or not 0 < last_id < 2**63:
            raise BadCursor(cursor)
        if sort is TaskSort.NEWEST:
            return Q(id__lt=last_id)
        due_at = datetime.fromisoformat(due)
        if due_at.tzinfo is None:
            raise BadCursor(cursor)
        due_at = due_at.astimezone(UTC)
    except (ValueError, TypeError, OverflowError, binascii.Error, UnicodeDecodeError):
        raise BadCursor(cursor) from None
    return Q(due_at__gt=due_at) | Q(due_at=due_at, id__gt=last_id)

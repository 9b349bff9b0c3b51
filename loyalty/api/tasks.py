"""Manager tasks API: create, list and filter, read, close and reopen.

Marketers and admins see every task; a store manager's key sees and creates only its own
store's tasks (a task of another store answers 404, as if it did not exist).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from crm_core.clock import utcnow
from crm_core.staff.models import ApiKey, Role
from crm_core.tasks.models import AssigneeRole, ManagerTask, TaskStatus
from crm_core.tasks.service import (
    NOTE_MAX,
    TITLE_MAX,
    BadCursor,
    Scope,
    TaskFilter,
    TaskProblem,
    TaskRejected,
    TaskSort,
    create_task,
    is_overdue,
    list_tasks,
    update_task,
    visible_task,
)
from loyalty.api import marketer_texts, task_texts
from loyalty.api.auth import require_role
from loyalty.api.errors import ApiError, request_language
from loyalty.api.ids import BigId, Id, Moment

router = APIRouter(prefix="/api/v1/tasks", tags=["marketer: manager tasks"])
Staff = Annotated[ApiKey, Depends(require_role(Role.MARKETER, Role.STORE_MANAGER))]
Language = Annotated[str, Depends(request_language)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=TITLE_MAX)]
Note = Annotated[str, StringConstraints(max_length=NOTE_MAX)]
_STATUSES = {
    TaskProblem.OTHER_STORE: 403,
    TaskProblem.BAD_TRANSITION: 409,
}
REFUSALS: dict[int | str, dict[str, str]] = {
    403: {"description": "A store manager's key names another store"},
}


class TaskIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title
    due_at: Moment = Field(description="When it should be done, with a UTC offset.")
    customer_id: BigId | None = None
    store_id: Id | None = Field(
        default=None, description="A store manager's key: its own store (the default)."
    )
    purchase_id: BigId | None = Field(
        default=None, description="The receipt it is about; gives the store and the customer."
    )
    assignee_role: AssigneeRole | None = Field(
        default=None, description="Default: store_manager when there is a store, else marketer."
    )
    note: Note = ""


class TaskPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: TaskStatus | None = Field(
        default=None, description="open -> done or dismissed, and back to open."
    )
    note: Note | None = None


class TaskOut(BaseModel):
    id: int
    title: str
    customer_id: int | None
    store_id: int | None
    store_code: str | None
    purchase_id: int | None
    due_at: datetime
    assignee_role: AssigneeRole
    status: TaskStatus
    overdue: bool = Field(description="Open and due before now.")
    note: str
    created_by: str = Field(description='"key:<API key id>" or "journey:<id>".')
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    closed_by: str | None


class TaskPage(BaseModel):
    items: list[TaskOut]
    next_cursor: str | None


def task_out(task: ManagerTask, now: datetime) -> TaskOut:
    store = task.store if task.store_id else None  # type: ignore[attr-defined]
    return TaskOut(
        id=task.id,
        title=task.title,
        customer_id=task.customer_id,  # type: ignore[attr-defined]
        store_id=task.store_id,  # type: ignore[attr-defined]
        store_code=store.code if store else None,
        purchase_id=task.purchase_id,  # type: ignore[attr-defined]
        due_at=task.due_at,
        assignee_role=AssigneeRole(task.assignee_role),
        status=TaskStatus(task.status),
        overdue=is_overdue(task, now),
        note=task.note,
        created_by=task.created_by,
        created_at=task.created_at,
        updated_at=task.updated_at,
        closed_at=task.closed_at,
        closed_by=task.closed_by,
    )


def scope_of(key: ApiKey) -> Scope:
    return Scope(store_id=key.store_id if key.role == Role.STORE_MANAGER else None)  # type: ignore[attr-defined]


def actor_of(key: ApiKey) -> str:
    return f"key:{key.id}"


def refused(error: TaskRejected, language: str) -> ApiError:
    return ApiError(
        _STATUSES.get(error.problem, 422),
        str(error.problem),
        task_texts.PROBLEMS[error.problem],
        language,
        field=error.field,
    )


async def _task_or_404(task_id: int, key: ApiKey, language: str) -> ManagerTask:
    task = await visible_task(task_id, scope_of(key))
    if task is None:
        raise ApiError(404, "task_not_found", task_texts.TASK_NOT_FOUND, language)
    return task


@router.post("", response_model=TaskOut, status_code=201, summary="Create", responses=REFUSALS)
async def create(body: TaskIn, key: Staff, language: Language) -> TaskOut:
    now = utcnow()
    try:
        task = await create_task(
            body.title,
            body.due_at,
            actor_of(key),
            now,
            customer_id=body.customer_id,
            store_id=body.store_id,
            purchase_id=body.purchase_id,
            assignee_role=body.assignee_role,
            note=body.note,
            scope=scope_of(key),
        )
    except TaskRejected as error:
        raise refused(error, language) from None
    await task.fetch_related("store")
    return task_out(task, now)


@router.get("", response_model=TaskPage, summary="Filter and page", responses=REFUSALS)
async def tasks(
    key: Staff,
    language: Language,
    status: Annotated[list[TaskStatus] | None, Query(description="Repeat for several")] = None,
    store_id: Id | None = None,
    customer_id: BigId | None = None,
    overdue: Annotated[bool | None, Query(description="Open and due before now")] = None,
    due_before: Annotated[Moment | None, Query(description="Due strictly before")] = None,
    due_after: Annotated[Moment | None, Query(description="Due at or after")] = None,
    sort: Annotated[
        TaskSort, Query(description="due: soonest first; newest: created last first")
    ] = TaskSort.DUE,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> TaskPage:
    now = utcnow()
    chosen = TaskFilter(
        statuses=tuple(status or ()),
        store_id=store_id,
        customer_id=customer_id,
        overdue=overdue,
        due_before=due_before,
        due_after=due_after,
    )
    try:
        page = await list_tasks(scope_of(key), chosen, now, sort, cursor, limit)
    except TaskRejected as error:
        raise refused(error, language) from None
    except BadCursor:
        raise ApiError(
            422, "bad_cursor", marketer_texts.BAD_CURSOR, language, field="cursor"
        ) from None
    return TaskPage(items=[task_out(t, now) for t in page.items], next_cursor=page.next_cursor)


@router.get("/{task_id}", response_model=TaskOut)
async def task(task_id: BigId, key: Staff, language: Language) -> TaskOut:
    return task_out(await _task_or_404(task_id, key, language), utcnow())


@router.patch(
    "/{task_id}",
    response_model=TaskOut,
    summary="Close, reopen, or change the note",
    responses={409: {"description": "Done and dismissed only reopen"}},
)
async def patch_task(task_id: BigId, body: TaskPatch, key: Staff, language: Language) -> TaskOut:
    task = await _task_or_404(task_id, key, language)
    now = utcnow()
    try:
        task = await update_task(task, actor_of(key), now, status=body.status, note=body.note)
    except TaskRejected as error:
        raise refused(error, language) from None
    return task_out(task, now)

"""A manager task: what to do, about whom, where, by when, and who closed it."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields, models


class TaskStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    DISMISSED = "dismissed"


class AssigneeRole(StrEnum):
    MARKETER = "marketer"
    STORE_MANAGER = "store_manager"


class ManagerTask(models.Model):
    id = fields.BigIntField(primary_key=True)
    title = fields.CharField(max_length=200)
    customer = fields.ForeignKeyField(
        "models.Customer", related_name="tasks", null=True, on_delete=fields.RESTRICT
    )
    store = fields.ForeignKeyField(
        "models.Store", related_name="tasks", null=True, on_delete=fields.RESTRICT
    )
    # The receipt the task is about (a low rating, a complaint).
    purchase = fields.ForeignKeyField(
        "models.Purchase", related_name="tasks", null=True, on_delete=fields.RESTRICT
    )
    due_at = fields.DatetimeField()
    assignee_role = fields.CharField(max_length=16)
    status = fields.CharField(max_length=16)
    note = fields.TextField()
    # "key:<api key id>" for a person, "journey:<id>" for an automation.
    created_by = fields.CharField(max_length=64)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()
    closed_at = fields.DatetimeField(null=True)
    closed_by = fields.CharField(max_length=64, null=True)

    class Meta:
        table = "manager_tasks"
        indexes = (("status", "due_at"), ("store_id", "status", "due_at"), ("customer_id",))

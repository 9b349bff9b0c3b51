"""Campaigns, their runs, and the outbox: one row per customer and run, treatment or control."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields, models


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    RUNNING = "running"
    DONE = "done"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    MISSED = "missed"  # a one-off whose moment passed, beyond the grace period, without a run


class StatusReason(StrEnum):
    """Why a campaign is in its state, when the state alone does not say."""

    NOT_RUN_IN_GRACE = "not_run_in_grace"


class RunStatus(StrEnum):
    PLANNING = "planning"
    PLANNED = "planned"
    TEST = "test"  # a test send to a test segment: not measured, not capped
    DONE = "done"
    CANCELLED = "cancelled"


class Group(StrEnum):
    TREATMENT = "treatment"
    CONTROL = "control"


class MessageState(StrEnum):
    """Where one outbox row stands. Control rows are never sent: they stay `control`."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"
    CONTROL = "control"


class Campaign(models.Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=128)
    status = fields.CharField(max_length=16)
    status_reason = fields.CharField(max_length=64, null=True)
    segment = fields.ForeignKeyField(
        "models.Segment", related_name="campaigns", on_delete=fields.RESTRICT
    )
    exclude_segment_ids: list = fields.JSONField()
    # {"uk": {"text": "...", "button": "...", "image_url": null}, "en": {...}}
    messages: dict = fields.JSONField()
    default_language = fields.CharField(max_length=8)
    voucher_template: dict | None = fields.JSONField(null=True)
    control_percent = fields.IntField()
    # "once" at run_at, or "recurring" by a cron expression in each customer's local time.
    schedule_kind = fields.CharField(max_length=16)
    run_at = fields.DatetimeField(null=True)
    cron = fields.CharField(max_length=128, null=True)
    # Hash parameters of the control split, fixed at creation: stable across re-runs.
    split_multiplier = fields.BigIntField()
    split_offset = fields.BigIntField()
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "campaigns"


class CampaignRun(models.Model):
    id = fields.BigIntField(primary_key=True)
    campaign = fields.ForeignKeyField(
        "models.Campaign", related_name="runs", on_delete=fields.CASCADE
    )
    # The schedule's fire time: the same firing planned twice is the same run.
    fire_time = fields.DatetimeField()
    status = fields.CharField(max_length=16)
    audience = fields.IntField()
    treatment = fields.IntField()
    control = fields.IntField()
    suppressed: dict = fields.JSONField()
    planned_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "campaign_runs"
        unique_together = (("campaign_id", "fire_time"),)


class OutboxMessage(models.Model):
    """One customer in one run. Unique per (run, customer): planning twice adds nothing."""

    id = fields.BigIntField(primary_key=True)
    run = fields.ForeignKeyField(
        "models.CampaignRun", related_name="messages", on_delete=fields.CASCADE
    )
    customer = fields.ForeignKeyField(
        "models.Customer", related_name="campaign_messages", on_delete=fields.CASCADE
    )
    group = fields.CharField(max_length=16)
    identity = fields.ForeignKeyField(
        "models.ChannelIdentity",
        related_name="campaign_messages",
        null=True,
        on_delete=fields.SET_NULL,
    )
    channel = fields.CharField(max_length=16, null=True)
    state = fields.CharField(max_length=16)
    reason = fields.CharField(max_length=64, null=True)
    due_at = fields.DatetimeField()
    attempts = fields.IntField()
    claimed_by = fields.CharField(max_length=64, null=True)
    claimed_until = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField()
    sent_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)
    # The platform's id of the sent message (Viber's message_token): its callbacks name it.
    platform_message_id = fields.CharField(max_length=64, null=True)
    delivered_at = fields.DatetimeField(null=True)
    seen_at = fields.DatetimeField(null=True)
    voucher = fields.ForeignKeyField(
        "models.Voucher", related_name="campaign_messages", null=True, on_delete=fields.SET_NULL
    )
    products: list | None = fields.JSONField(null=True)

    class Meta:
        table = "campaign_outbox"
        unique_together = (("run_id", "customer_id"),)
        indexes = (("state", "due_at"), ("customer_id", "sent_at"), ("platform_message_id",))

"""Segments (a saved rule), their current members and every entry and exit."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields, models


class SegmentKind(StrEnum):
    STATIC = "static"
    DYNAMIC = "dynamic"


class SegmentStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"


class Segment(models.Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=128, unique=True)
    kind = fields.CharField(max_length=16)
    status = fields.CharField(max_length=16)
    rule: dict = fields.JSONField()
    # Segments this rule refers to, for cycle checks and refresh order.
    depends_on: list = fields.JSONField()
    member_count = fields.IntField()
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()
    evaluated_at = fields.DatetimeField(null=True)

    class Meta:
        table = "segments"


class SegmentMember(models.Model):
    id = fields.BigIntField(primary_key=True)
    segment = fields.ForeignKeyField(
        "models.Segment", related_name="members", on_delete=fields.CASCADE
    )
    customer = fields.ForeignKeyField(
        "models.Customer", related_name="segment_memberships", on_delete=fields.CASCADE
    )
    entered_at = fields.DatetimeField()

    class Meta:
        table = "segment_members"
        unique_together = (("segment_id", "customer_id"),)
        indexes = (("customer_id",),)


class MembershipChange(models.Model):
    """'Entered segment X' / 'left segment X', with its time: what later triggers offers."""

    id = fields.BigIntField(primary_key=True)
    segment = fields.ForeignKeyField(
        "models.Segment", related_name="membership_log", on_delete=fields.CASCADE
    )
    customer = fields.ForeignKeyField(
        "models.Customer", related_name="segment_log", on_delete=fields.CASCADE
    )
    event = fields.CharField(max_length=8)
    at = fields.DatetimeField()

    class Meta:
        table = "segment_membership_log"
        indexes = (("segment_id", "at"), ("customer_id", "at"))

"""Requests to join a chat to a customer, proven by a one-time code or an opened link."""

from __future__ import annotations

from tortoise import fields, models


class LinkRequest(models.Model):
    """A chat (a web-chat session, a new Viber chat) asking to join the customer of a number.

    The code goes to the customer's confirmed messenger chats; the token rides in an "open in
    Telegram / Viber" link. Both are stored only as hashes; a request is short-lived, allows a
    few attempts and is used once.
    """

    id = fields.BigIntField(primary_key=True)
    identity = fields.ForeignKeyField(
        "models.ChannelIdentity", related_name="link_requests", on_delete=fields.CASCADE
    )
    customer = fields.ForeignKeyField(
        "models.Customer", related_name="link_requests", null=True, on_delete=fields.CASCADE
    )
    phone = fields.CharField(max_length=20)
    code_hash = fields.CharField(max_length=64, null=True)
    token_hash = fields.CharField(max_length=64, null=True, unique=True)
    attempts = fields.IntField()
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "link_requests"
        indexes = (("identity_id",), ("customer_id", "created_at"))

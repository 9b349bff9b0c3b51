"""Declared preferences: answers to the optional in-bot survey, each kept with its time."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from tortoise.transactions import in_transaction

from crm_core.customers.models import Customer
from crm_core.events.models import EventKind
from crm_core.events.service import record_event
from crm_core.profiles.models import Preference


class Question(StrEnum):
    FAVOURITE_CATEGORIES = "favourite_categories"
    BIRTHDAY = "birthday"


async def record_answer(
    customer_id: int,
    question: Question,
    answer: Any,
    now: datetime,
    channel: str | None = None,
) -> Preference:
    """Store one answer (the newest answer to a question wins; older ones stay as history).

    A birthday answer also fills the profile's birth date, which segments and offers read.
    """
    async with in_transaction() as connection:
        stored = answer.isoformat() if isinstance(answer, date) else answer
        preference = await Preference.create(
            customer_id=customer_id,
            question=question,
            answer={"value": stored},
            channel=channel,
            answered_at=now,
            using_db=connection,
        )
        if question is Question.BIRTHDAY and isinstance(answer, date):
            await Customer.filter(id=customer_id).using_db(connection).update(birth_date=answer)
        await record_event(
            customer_id,
            EventKind.ANSWERED_SURVEY,
            now,
            channel=channel,
            data={"question": str(question)},
            connection=connection,
        )
    return preference


async def current_answers(customer_id: int) -> dict[str, Any]:
    """The newest answer to each question."""
    answers: dict[str, Any] = {}
    history = Preference.filter(customer_id=customer_id).order_by("answered_at", "id")
    for preference in await history:
        answers[preference.question] = preference.answer.get("value")  # type: ignore[union-attr]
    return answers

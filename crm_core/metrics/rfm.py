"""RFM scores (1-5 for recency, frequency, monetary value) and their named segments.

Scores are quintiles over active customers (at least one receipt kept, not erased): a
customer's percentile rank within them, so equal values always get equal scores. Recomputed
nightly and on demand, in one statement, never customer by customer.
"""

from __future__ import annotations

from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient

from crm_core.sql import Dialect, Params, dialect_of, execute, transaction

# (name, condition on r and fm = (f + m) / 2 rounded down); the first that matches wins.
RFM_NAMES: tuple[tuple[str, str], ...] = (
    ("champions", "s.r >= 4 AND s.fm >= 4"),
    ("loyal", "s.r >= 3 AND s.fm >= 4"),
    ("new_customers", "s.r = 5 AND s.fm <= 1"),
    ("promising", "s.r = 4 AND s.fm <= 1"),
    ("potential_loyalist", "s.r >= 4 AND s.fm >= 2"),
    ("need_attention", "s.r = 3 AND s.fm = 3"),
    ("about_to_sleep", "s.r = 3"),
    ("cant_lose_them", "s.r = 1 AND s.fm >= 5"),
    ("at_risk", "s.r <= 2 AND s.fm >= 3"),
    ("hibernating", "s.r = 2"),
    ("lost", "s.r = 1"),
)


def rfm_name(r: int, f: int, m: int) -> str:
    """The same naming in Python (the API explains scores with it; tests compare)."""
    fm = (f + m) // 2
    rules = {
        "champions": r >= 4 and fm >= 4,
        "loyal": r >= 3 and fm >= 4,
        "new_customers": r == 5 and fm <= 1,
        "promising": r == 4 and fm <= 1,
        "potential_loyalist": r >= 4 and fm >= 2,
        "need_attention": r == 3 and fm == 3,
        "about_to_sleep": r == 3,
        "cant_lose_them": r == 1 and fm >= 5,
        "at_risk": r <= 2 and fm >= 3,
        "hibernating": r == 2,
        "lost": r == 1,
    }
    return next(name for name, _ in RFM_NAMES if rules[name])


def _score(dialect: Dialect, order: str) -> str:
    """1..5 from the percentile rank; ties share a rank and so a score. The top value has
    rank 1.0, which would be 6: it is capped at 5."""
    raw = f"({dialect.floor_int(f'PERCENT_RANK() OVER (ORDER BY {order}) * 5')} + 1)"
    return f"(CASE WHEN {raw} > 5 THEN 5 ELSE {raw} END)"


async def recompute_rfm(now: datetime, connection: BaseDBAsyncClient | None = None) -> int:
    """Score every active customer; clear the scores of everyone else. Returns how many scored."""
    async with transaction(connection) as db:
        dialect = dialect_of(db)
        names = " ".join(f"WHEN {condition} THEN '{name}'" for name, condition in RFM_NAMES)
        params = Params(dialect)
        ranked = (
            "SELECT m.customer_id, "
            f"{_score(dialect, 'm.last_purchase_at')} AS r, {_score(dialect, 'm.receipts')} AS f, "
            f"{_score(dialect, 'm.spent_minor')} AS m "
            "FROM customer_metrics m JOIN customers c ON c.id = m.customer_id "
            "WHERE m.receipts > 0 AND c.erased_at IS NULL"
        )
        scored = f"SELECT q.customer_id, q.r, q.f, q.m, (q.f + q.m) / 2 AS fm FROM ({ranked}) q"
        at = params(now)
        updated = await execute(
            f"UPDATE customer_metrics SET rfm_r = s.r, rfm_f = s.f, rfm_m = s.m, "
            f"rfm_segment = CASE {names} END, rfm_at = {at} "
            f"FROM ({scored}) s WHERE customer_metrics.customer_id = s.customer_id",
            params.values,
            db,
        )
        await execute(
            "UPDATE customer_metrics SET rfm_r = NULL, rfm_f = NULL, rfm_m = NULL, "
            "rfm_segment = NULL WHERE rfm_r IS NOT NULL AND (receipts <= 0 OR customer_id IN "
            "(SELECT id FROM customers WHERE erased_at IS NOT NULL))",
            [],
            db,
        )
    return updated

"""What a campaign achieved: delivery, vouchers, purchases and uplift over the control group.

Groups are compared as assigned (intention to treat): every treatment row counts, also those
skipped or failed at send time, because the control group's would-be skips are unknown;
this understates the effect on those who got the message, never overstates it. A customer
converts when they buy within the attribution window after the run's firing and no later
than now (a receipt dated in the future is a till's wrong clock, not a sale); revenue is net
of refunds, exact (summed in minor units) and in one currency: that of most of the purchases
counted (a chain trading in one currency has no other); purchases in another currency count
for conversion only. Every figure is one aggregate query; nothing is loaded per customer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from crm_core.campaigns.models import Group, MessageState, RunStatus
from crm_core.campaigns.stats import GroupSums, Uplift, conversion_uplift, revenue_uplift_from_sums
from crm_core.sql import Dialect, Params, dialect_of, fetch

TEST_RUN = RunStatus.TEST.value


@dataclass(frozen=True)
class GroupFigures:
    customers: int
    converted: int
    purchases: int
    revenue: Decimal  # in the results' currency, net of refunds
    revenue_squares: float  # of each customer's revenue, for the t-test

    def sums(self) -> GroupSums:
        return GroupSums(self.customers, float(self.revenue), self.revenue_squares)

    @property
    def conversion_rate(self) -> float:
        return self.converted / self.customers if self.customers else 0.0

    @property
    def revenue_per_customer(self) -> Decimal:
        return self.revenue / self.customers if self.customers else Decimal(0)


@dataclass(frozen=True)
class Results:
    runs: int
    recipients: int
    control: int
    states: dict[str, int]
    failed: dict[str, int]
    skipped: dict[str, int]
    delivered: int
    seen: int
    vouchers_issued: int
    vouchers_redeemed: int
    treatment_figures: GroupFigures
    control_figures: GroupFigures
    conversion: Uplift
    revenue: Uplift
    attribution_days: int
    measured_at: datetime
    currency: str | None  # of every money figure; None when nothing was bought
    extra: dict[str, int] = field(default_factory=dict)


def _runs_filter(campaign_id: int, run_id: int | None, params: Params) -> str:
    where = f"r.campaign_id = {params(campaign_id)} AND r.status <> {params(TEST_RUN)}"
    if run_id is not None:
        where += f" AND r.id = {params(run_id)}"
    return where


def _within_window(dialect: Dialect, params: Params, days: int, now: datetime) -> str:
    """A purchase made from the run's firing until `days` later, and not after now."""
    if dialect.postgres:
        return (
            "p.purchased_at >= r.fire_time AND p.purchased_at < r.fire_time + "
            f"make_interval(days => CAST({params(days)} AS INTEGER)) "
            f"AND p.purchased_at <= {params(now)}"
        )
    return (
        "julianday(p.purchased_at) >= julianday(r.fire_time) AND "
        f"julianday(p.purchased_at) < julianday(r.fire_time) + {params(days)} "
        f"AND julianday(p.purchased_at) <= julianday({params(now)})"
    )


async def _currency(
    campaign_id: int, run_id: int | None, now: datetime, days: int, dialect: Dialect
) -> str | None:
    """The currency of most purchases the results count (of most stores when none)."""
    params = Params(dialect)
    rows = await fetch(
        "SELECT p.currency, COUNT(*) AS n FROM campaign_outbox o "
        "JOIN campaign_runs r ON r.id = o.run_id JOIN purchases p ON p.customer_id = "
        f"o.customer_id AND {_within_window(dialect, params, days, now)} "
        f"WHERE {_runs_filter(campaign_id, run_id, params)} "
        "GROUP BY p.currency ORDER BY n DESC, p.currency LIMIT 1",
        params.values,
    )
    if not rows:
        rows = await fetch(
            "SELECT currency, COUNT(*) AS n FROM stores GROUP BY currency "
            "ORDER BY n DESC, currency LIMIT 1",
            [],
        )
    return rows[0]["currency"] if rows else None


async def campaign_results(
    campaign_id: int, now: datetime, attribution_days: int, run_id: int | None = None
) -> Results:
    dialect = dialect_of()

    params = Params(dialect)
    delivery = await fetch(
        'SELECT o."group" AS grp, o.state, o.reason, COUNT(*) AS n, '
        "SUM(CASE WHEN o.delivered_at IS NOT NULL THEN 1 ELSE 0 END) AS delivered, "
        "SUM(CASE WHEN o.seen_at IS NOT NULL THEN 1 ELSE 0 END) AS seen, "
        "SUM(CASE WHEN o.voucher_id IS NOT NULL THEN 1 ELSE 0 END) AS vouchers, "
        "SUM(CASE WHEN v.uses_count > 0 THEN 1 ELSE 0 END) AS redeemed "
        "FROM campaign_outbox o JOIN campaign_runs r ON r.id = o.run_id "
        "LEFT JOIN vouchers v ON v.id = o.voucher_id "
        f"WHERE {_runs_filter(campaign_id, run_id, params)} "
        'GROUP BY o."group", o.state, o.reason',
        params.values,
    )
    states: dict[str, int] = {}
    failed: dict[str, int] = {}
    skipped: dict[str, int] = {}
    delivered = seen = issued = redeemed = 0
    for row in delivery:
        if row["grp"] != Group.TREATMENT:
            continue
        states[row["state"]] = states.get(row["state"], 0) + int(row["n"])
        if row["state"] == MessageState.FAILED:
            failed[row["reason"]] = failed.get(row["reason"], 0) + int(row["n"])
        if row["state"] == MessageState.SKIPPED:
            skipped[row["reason"]] = skipped.get(row["reason"], 0) + int(row["n"])
        delivered += int(row["delivered"] or 0)
        seen += int(row["seen"] or 0)
        issued += int(row["vouchers"] or 0)
        redeemed += int(row["redeemed"] or 0)

    currency = await _currency(campaign_id, run_id, now, attribution_days, dialect)
    params = Params(dialect)
    net = (
        f"CASE WHEN p.currency = {params(currency)} THEN "
        f"{dialect.minor('p.total')} - {dialect.minor('p.refunded_total')} ELSE 0 END"
    )
    per_customer = (
        'SELECT o."group" AS grp, o.run_id, o.customer_id, COUNT(p.id) AS purchases, '
        f"COALESCE(SUM({net}), 0) AS revenue_minor "
        "FROM campaign_outbox o JOIN campaign_runs r ON r.id = o.run_id "
        "LEFT JOIN purchases p ON p.customer_id = o.customer_id "
        f"AND {_within_window(dialect, params, attribution_days, now)} "
        f"WHERE {_runs_filter(campaign_id, run_id, params)} "
        'GROUP BY o."group", o.run_id, o.customer_id'
    )
    groups = await fetch(
        "SELECT grp, COUNT(*) AS customers, "
        "SUM(CASE WHEN purchases > 0 THEN 1 ELSE 0 END) AS converted, "
        "SUM(purchases) AS purchases, SUM(revenue_minor) AS revenue, "
        "SUM(CAST(revenue_minor AS DOUBLE PRECISION) * revenue_minor) AS squares "
        f"FROM ({per_customer}) c GROUP BY grp",
        params.values,
    )
    figures = {row["grp"]: _figures(row) for row in groups}
    treatment = figures.get(Group.TREATMENT.value, _figures({}))
    control = figures.get(Group.CONTROL.value, _figures({}))
    params = Params(dialect)
    runs = await fetch(
        f"SELECT COUNT(*) AS n FROM campaign_runs r "
        f"WHERE {_runs_filter(campaign_id, run_id, params)}",
        params.values,
    )
    return Results(
        runs=int(runs[0]["n"]),
        recipients=treatment.customers,
        control=control.customers,
        states=states,
        failed=failed,
        skipped=skipped,
        delivered=delivered,
        seen=seen,
        vouchers_issued=issued,
        vouchers_redeemed=redeemed,
        treatment_figures=treatment,
        control_figures=control,
        conversion=conversion_uplift(
            treatment.customers, treatment.converted, control.customers, control.converted
        ),
        revenue=revenue_uplift_from_sums(treatment.sums(), control.sums()),
        attribution_days=attribution_days,
        measured_at=now,
        currency=currency,
    )


def _figures(row: dict) -> GroupFigures:
    return GroupFigures(
        customers=int(row.get("customers") or 0),
        converted=int(row.get("converted") or 0),
        purchases=int(row.get("purchases") or 0),
        revenue=Decimal(int(row.get("revenue") or 0)) / 100,
        revenue_squares=float(row.get("squares") or 0) / 10_000,
    )

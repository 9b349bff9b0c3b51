"""Recording receipts (idempotently) and refunds, with the vouchers used on them."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from crm_core.cards.lookup import CardMistyped, CardNotFound, CardNotUsable, find_card
from crm_core.cards.models import Card
from crm_core.catalogue.service import ProductSeen, ensure_products
from crm_core.churn.service import rescore_customer_safely
from crm_core.clock import CLOCK_SKEW_MINUTES, in_future
from crm_core.customers.models import Customer
from crm_core.metrics.service import LineFigures, RefundedLine, apply_purchase, apply_refund
from crm_core.purchases.models import Purchase, PurchaseLine, PurchaseStatus, Refund
from crm_core.segments.service import PURCHASE_CHANGE, customer_changed_safely
from crm_core.stores.models import Store
from crm_core.vouchers.models import VoucherRedemption
from crm_core.vouchers.rules import Basket, BasketLine
from crm_core.vouchers.service import (
    Redeemed,
    RedemptionWasCancelled,
    VoucherNotFound,
    VoucherRefused,
    redeem_voucher,
    reverse_redemptions,
)

CENT = Decimal("0.01")
HALF_CENT = Decimal("0.005")
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class LineIn:
    sku: str
    name: str
    category_path: str | None
    quantity: Decimal
    unit_price: Decimal
    discount: Decimal
    line_total: Decimal


@dataclass(frozen=True)
class PaymentIn:
    method: str
    amount: Decimal


@dataclass(frozen=True)
class PurchaseIn:
    till: str
    receipt_id: str
    purchased_at: datetime
    card_code: str | None
    lines: tuple[LineIn, ...]
    total: Decimal
    payments: tuple[PaymentIn, ...]
    vouchers: tuple[str, ...] = ()


class Problem(StrEnum):
    LINE_TOTAL = "line_total_mismatch"
    TOTAL = "total_mismatch"
    PAYMENTS = "payments_mismatch"
    DUPLICATE_VOUCHER = "duplicate_voucher"
    RECEIPT_REUSED = "receipt_reused"
    NOTHING_TO_REFUND = "nothing_to_refund"
    UNKNOWN_LINE = "unknown_line"
    TOO_MUCH = "refund_exceeds_line"
    REFUND_REUSED = "refund_id_reused"
    IN_FUTURE = "purchased_in_future"


class PurchaseRejected(ValueError):
    def __init__(self, problem: Problem, **details: str) -> None:
        super().__init__(problem.value)
        self.problem = problem
        self.details = details


@dataclass(frozen=True)
class Recorded:
    purchase: Purchase
    lines: list[PurchaseLine]
    redemptions: list[VoucherRedemption]
    replay: bool
    customer: Customer | None = None
    voucher_codes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Refunded:
    purchase: Purchase
    refund: Refund
    cancelled_vouchers: list[str]
    replay: bool


def _fingerprint(data: object) -> str:
    text = json.dumps(data, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def check_totals(purchase: PurchaseIn) -> None:
    """Line totals, the receipt total and the payments must add up to the cent."""
    for number, line in enumerate(purchase.lines, start=1):
        exact = line.quantity * line.unit_price - line.discount
        expected = exact.quantize(CENT, ROUND_HALF_UP)
        # Rounded to the cent: a half cent (0.5 kg at 12.25) may go either way, as tills differ.
        if abs(exact - line.line_total) > HALF_CENT:
            raise PurchaseRejected(
                Problem.LINE_TOTAL,
                line=str(number),
                expected=f"{expected:.2f}",
                given=f"{line.line_total:.2f}",
            )
    lines_sum = sum((line.line_total for line in purchase.lines), ZERO).quantize(CENT)
    if lines_sum != purchase.total.quantize(CENT):
        raise PurchaseRejected(
            Problem.TOTAL, expected=f"{lines_sum:.2f}", given=f"{purchase.total:.2f}"
        )
    paid = sum((p.amount for p in purchase.payments), ZERO).quantize(CENT)
    if paid != purchase.total.quantize(CENT):
        raise PurchaseRejected(
            Problem.PAYMENTS, expected=f"{purchase.total:.2f}", given=f"{paid:.2f}"
        )
    if len(set(purchase.vouchers)) != len(purchase.vouchers):
        raise PurchaseRejected(Problem.DUPLICATE_VOUCHER)


def basket_of(purchase: PurchaseIn, currency: str) -> Basket:
    return Basket(
        currency=currency,
        total=purchase.total,
        lines=tuple(
            BasketLine(
                item.sku, item.category_path, item.quantity, item.unit_price, item.line_total
            )
            for item in purchase.lines
        ),
    )


async def _existing(store: Store, receipt_id: str, fingerprint: str) -> Recorded | None:
    purchase = await Purchase.filter(store_id=store.id, receipt_id=receipt_id).first()
    if purchase is None:
        return None
    if purchase.fingerprint != fingerprint:
        raise PurchaseRejected(Problem.RECEIPT_REUSED, receipt_id=receipt_id)
    lines = await PurchaseLine.filter(purchase_id=purchase.id).order_by("line_no")
    redemptions = await VoucherRedemption.filter(
        store_id=store.id, receipt_id=receipt_id, cancelled_at__isnull=True
    ).select_related("voucher")
    customer = (
        await Customer.filter(id=purchase.customer_id).first() if purchase.customer_id else None
    )
    codes = sorted(r.voucher.code for r in redemptions)  # type: ignore[attr-defined]
    return Recorded(purchase, lines, redemptions, True, customer, codes)


async def record_purchase(store: Store, data: PurchaseIn, now: datetime) -> Recorded:
    """Record a receipt once: a retry with the same content gets the same answer.

    The card, the totals and the vouchers are checked first; then the purchase, its lines
    and its voucher redemptions are written in one transaction, or nothing is. A retry is
    recognised by the unique (store, receipt) pair, so the first attempt costs no extra query.
    """
    fingerprint = _fingerprint(asdict(data))
    try:
        recorded = await _record(store, data, fingerprint, now)
    except (PurchaseRejected, CardMistyped, CardNotFound, CardNotUsable, VoucherRefused,
            VoucherNotFound, RedemptionWasCancelled, IntegrityError):  # fmt: skip
        # A retry of a receipt recorded before (even if its card was closed since, or it
        # raced the first attempt) gets the first answer; anything else is a real refusal.
        previous = await _existing(store, data.receipt_id, fingerprint)
        if previous is None:
            raise
        return previous
    if recorded.customer is not None:
        await rescore_customer_safely(recorded.customer.id, now)
        await customer_changed_safely(recorded.customer.id, PURCHASE_CHANGE, now)
    return recorded


def check_time(purchase: PurchaseIn, now: datetime) -> None:
    """A receipt from the future is a till with a wrong date, not a sale."""
    if in_future(purchase.purchased_at, now):
        raise PurchaseRejected(
            Problem.IN_FUTURE,
            purchased_at=purchase.purchased_at.isoformat(),
            minutes=str(CLOCK_SKEW_MINUTES),
        )


async def _record(store: Store, data: PurchaseIn, fingerprint: str, now: datetime) -> Recorded:
    check_time(data, now)
    check_totals(data)
    card: Card | None = await find_card(data.card_code) if data.card_code else None
    customer_id = card.customer_id if card else None
    products, categories = await ensure_products(
        [ProductSeen(item.sku, item.name, item.category_path) for item in data.lines], now
    )
    basket = basket_of(data, store.currency)
    async with in_transaction() as connection:
        redeemed: list[Redeemed] = []
        for code in data.vouchers:
            redeemed.append(
                await redeem_voucher(
                    code,
                    store,
                    data.till,
                    data.receipt_id,
                    basket,
                    customer_id,
                    now,
                    connection,
                )
            )
        purchase = await Purchase.create(
            store_id=store.id,
            till=data.till,
            receipt_id=data.receipt_id,
            # Stored in UTC: hand-written SQL compares timestamps as text on SQLite.
            purchased_at=data.purchased_at.astimezone(UTC),
            customer_id=customer_id,
            card_id=card.id if card else None,
            currency=store.currency,
            total=data.total,
            discount_total=sum((item.discount for item in data.lines), ZERO),
            refunded_total=ZERO,
            payments=[{"method": p.method, "amount": str(p.amount)} for p in data.payments],
            status=PurchaseStatus.COMPLETED,
            fingerprint=fingerprint,
            created_at=now,
            using_db=connection,
        )
        lines = [
            PurchaseLine(
                purchase_id=purchase.id,
                line_no=number,
                product_id=products[line.sku].id,
                category_id=categories[line.category_path].id if line.category_path else None,
                quantity=line.quantity,
                unit_price=line.unit_price,
                discount=line.discount,
                line_total=line.line_total,
                refunded_quantity=Decimal("0"),
                customer_id=customer_id,
                purchased_at=purchase.purchased_at,
            )
            for number, line in enumerate(data.lines, start=1)
        ]
        await PurchaseLine.bulk_create(lines, using_db=connection)
        if customer_id is not None:
            # The customer's metrics move with the receipt, in its transaction.
            await apply_purchase(
                customer_id,
                data.purchased_at.astimezone(UTC),
                data.total,
                [LineFigures(line.category_id, line.line_total, line.quantity) for line in lines],
                now,
                connection,
            )
    return Recorded(
        purchase,
        lines,
        [r.redemption for r in redeemed],
        replay=False,
        customer=card.customer if card else None,  # type: ignore[arg-type]
        voucher_codes=sorted(r.voucher.code for r in redeemed),
    )


@dataclass(frozen=True)
class RefundLineIn:
    line_no: int
    quantity: Decimal


async def refund_purchase(
    store: Store,
    purchase_id: int,
    refund_id: str,
    lines: tuple[RefundLineIn, ...] | None,
    now: datetime,
) -> Refunded:
    """Refund the whole receipt (lines None) or some quantities of some lines, once per refund id.

    Vouchers the remaining basket no longer earns are given back to the customer.
    """
    fingerprint = _fingerprint(
        {"lines": [asdict(item) for item in lines] if lines is not None else None}
    )
    async with in_transaction() as connection:
        purchase = (
            await Purchase.filter(id=purchase_id, store_id=store.id)
            .using_db(connection)
            .select_for_update()
            .first()
        )
        if purchase is None:
            raise LookupError(purchase_id)
        previous = (
            await Refund.filter(purchase_id=purchase.id, refund_id=refund_id)
            .using_db(connection)
            .first()
        )
        if previous is not None:
            if previous.fingerprint != fingerprint:
                raise PurchaseRejected(Problem.REFUND_REUSED, refund_id=refund_id)
            # The vouchers this refund gave back were cancelled at the refund's own time.
            returned = (
                await VoucherRedemption.filter(
                    store_id=store.id,
                    receipt_id=purchase.receipt_id,
                    cancelled_at=previous.created_at,
                )
                .using_db(connection)
                .select_related("voucher")
                .order_by("id")
            )
            codes = [r.voucher.code for r in returned]  # type: ignore[attr-defined]
            return Refunded(purchase, previous, codes, replay=True)
        stored = {
            item.line_no: item
            for item in await PurchaseLine.filter(purchase_id=purchase.id)
            .using_db(connection)
            .select_related("product", "category")
        }
        wanted = (
            {n: line.quantity - line.refunded_quantity for n, line in stored.items()}
            if lines is None
            else {}
        )
        for item in lines or ():
            if item.line_no not in stored:
                raise PurchaseRejected(Problem.UNKNOWN_LINE, line=str(item.line_no))
            wanted[item.line_no] = wanted.get(item.line_no, Decimal(0)) + item.quantity
        amount = ZERO
        refunded_lines = []
        metric_lines: list[RefundedLine] = []
        for line_no, quantity in sorted(wanted.items()):
            line = stored[line_no]
            left = line.quantity - line.refunded_quantity
            if quantity <= 0:
                continue
            if quantity > left:
                raise PurchaseRejected(Problem.TOO_MUCH, line=str(line_no), left=str(left))
            # Half up, the same rounding the metrics use to rebuild refunded shares.
            before = (line.line_total * line.refunded_quantity / line.quantity).quantize(
                CENT, ROUND_HALF_UP
            )
            after = (
                line.line_total * (line.refunded_quantity + quantity) / line.quantity
            ).quantize(CENT, ROUND_HALF_UP)
            metric_lines.append(
                RefundedLine(
                    line.category_id,
                    line.line_total,
                    line.quantity,
                    line.refunded_quantity,
                    line.refunded_quantity + quantity,
                )
            )
            amount += after - before
            line.refunded_quantity += quantity
            await (
                PurchaseLine.filter(id=line.id)
                .using_db(connection)
                .update(refunded_quantity=line.refunded_quantity)
            )
            refunded_lines.append(
                {"line_no": line_no, "quantity": str(quantity), "amount": str(after - before)}
            )
        if not refunded_lines:
            raise PurchaseRejected(Problem.NOTHING_TO_REFUND)
        everything = all(item.refunded_quantity >= item.quantity for item in stored.values())
        purchase.refunded_total += amount
        purchase.status = (
            PurchaseStatus.REFUNDED if everything else PurchaseStatus.PARTIALLY_REFUNDED
        )
        await (
            Purchase.filter(id=purchase.id)
            .using_db(connection)
            .update(refunded_total=purchase.refunded_total, status=purchase.status)
        )
        refund = await Refund.create(
            purchase_id=purchase.id,
            refund_id=refund_id,
            amount=amount,
            lines=refunded_lines,
            fingerprint=fingerprint,
            created_at=now,
            using_db=connection,
        )
        if purchase.customer_id is not None:
            await apply_refund(
                purchase.customer_id,
                amount,
                metric_lines,
                everything,
                now,
                connection,
            )
        remaining = None if everything else _remaining_basket(purchase, stored.values())
        reversal = await reverse_redemptions(
            store.id, purchase.receipt_id, remaining, now, connection
        )
    await rescore_customer_safely(purchase.customer_id, now)
    await customer_changed_safely(purchase.customer_id, PURCHASE_CHANGE, now)
    return Refunded(
        purchase,
        refund,
        [r.voucher.code for r in reversal.cancelled],  # type: ignore[attr-defined]
        replay=False,
    )


def _remaining_basket(purchase: Purchase, lines) -> Basket:
    kept = []
    for line in lines:
        left = line.quantity - line.refunded_quantity
        if left <= 0:
            continue
        share = (line.line_total * left / line.quantity).quantize(CENT)
        category = line.category.path if line.category else None
        kept.append(BasketLine(line.product.sku, category, left, line.unit_price, share))
    return Basket(
        currency=purchase.currency,
        total=sum((item.line_total for item in kept), ZERO),
        lines=tuple(kept),
    )

"""Issuing, checking, redeeming (exactly once) and reversing vouchers."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from crm_core.cards.media_tokens import read_card_token, sign_card_token, verify_card_token
from crm_core.stores.models import Store
from crm_core.vouchers.codes import new_voucher_code, normalize_voucher_input
from crm_core.vouchers.models import Voucher, VoucherKind, VoucherRedemption, VoucherStatus
from crm_core.vouchers.rules import Basket, Refusal, Verdict, check_voucher, discount_for

_CODE_ATTEMPTS = 5


@dataclass(frozen=True)
class VoucherSpec:
    kind: VoucherKind
    value: Decimal
    title: str
    valid_from: datetime
    valid_until: datetime
    currency: str | None = None
    min_basket: Decimal | None = None
    allowed_categories: tuple[str, ...] = ()
    excluded_categories: tuple[str, ...] = ()
    free_product_sku: str | None = None
    uses_allowed: int = 1
    customer_id: int | None = None


class SpecProblem(StrEnum):
    """Why a voucher cannot be issued; a code the API says in the caller's language."""

    ENDS_BEFORE_START = "ends_before_start"
    NO_USES = "no_uses"
    PERCENT_OUT_OF_RANGE = "percent_out_of_range"
    AMOUNT_WITHOUT_CURRENCY = "amount_without_currency"
    PRODUCT_WITHOUT_SKU = "product_without_sku"


class InvalidVoucherSpec(ValueError):
    def __init__(self, problem: SpecProblem, field: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.problem, self.field = problem, field


class VoucherNotFound(LookupError):
    pass


class VoucherRefused(Exception):
    def __init__(self, voucher: Voucher, verdict: Verdict) -> None:
        super().__init__(verdict.refusal)
        self.voucher = voucher
        self.verdict = verdict


class RedemptionWasCancelled(Exception):
    """This receipt's redemption was reversed by a refund; it is not redeemed again."""


@dataclass(frozen=True)
class Redeemed:
    voucher: Voucher
    redemption: VoucherRedemption
    # True when this was a retry of a redemption already made for the same receipt.
    replay: bool


@dataclass
class Reversal:
    cancelled: list[VoucherRedemption] = field(default_factory=list)


def check_voucher_spec(spec: VoucherSpec) -> None:
    if spec.valid_until <= spec.valid_from:
        raise InvalidVoucherSpec(SpecProblem.ENDS_BEFORE_START, "valid_until")
    if spec.uses_allowed < 1:
        raise InvalidVoucherSpec(SpecProblem.NO_USES, "uses_allowed")
    if spec.kind == VoucherKind.PERCENT and not (0 < spec.value <= 100):
        raise InvalidVoucherSpec(SpecProblem.PERCENT_OUT_OF_RANGE, "value")
    if spec.kind == VoucherKind.FIXED_AMOUNT and spec.value <= 0:
        raise InvalidVoucherSpec(SpecProblem.AMOUNT_WITHOUT_CURRENCY, "value")
    if spec.kind == VoucherKind.FIXED_AMOUNT and not spec.currency:
        raise InvalidVoucherSpec(SpecProblem.AMOUNT_WITHOUT_CURRENCY, "currency")
    if spec.kind == VoucherKind.FREE_PRODUCT and not spec.free_product_sku:
        raise InvalidVoucherSpec(SpecProblem.PRODUCT_WITHOUT_SKU, "free_product_sku")


async def issue_voucher(
    spec: VoucherSpec, now: datetime, connection: BaseDBAsyncClient | None = None
) -> Voucher:
    check_voucher_spec(spec)
    for _ in range(_CODE_ATTEMPTS):
        try:
            return await Voucher.create(
                code=new_voucher_code(),
                kind=spec.kind,
                value=spec.value,
                title=spec.title,
                currency=spec.currency,
                min_basket=spec.min_basket,
                allowed_categories=list(spec.allowed_categories),
                excluded_categories=list(spec.excluded_categories),
                free_product_sku=spec.free_product_sku,
                valid_from=spec.valid_from,
                valid_until=spec.valid_until,
                uses_allowed=spec.uses_allowed,
                uses_count=0,
                customer_id=spec.customer_id,
                status=VoucherStatus.ACTIVE,
                media_salt=secrets.token_hex(8),
                created_at=now,
                using_db=connection,
            )
        except IntegrityError:
            continue  # a code collision in 2^40: draw again
    raise RuntimeError("could not draw a free voucher code")


async def remember_voucher_file_id(voucher_id: int, file_id: str) -> None:
    await Voucher.filter(id=voucher_id).update(telegram_file_id=file_id)


def voucher_image_token(voucher: Voucher, key: bytes, now: datetime) -> str:
    """Valid until the voucher expires (and a day beyond, for late-opened chats)."""
    ttl = max(voucher.valid_until - now, timedelta(0)) + timedelta(days=1)
    return sign_card_token(key, voucher.id, voucher.media_salt, now, ttl, purpose="voucher")


async def voucher_for_image_token(token: str, key: bytes, now: datetime) -> Voucher | None:
    claims = read_card_token(token)
    if claims is None:
        return None
    voucher = await Voucher.filter(id=claims.card_id, status=VoucherStatus.ACTIVE).first()
    if voucher is None:
        return None
    if not verify_card_token(key, token, claims, voucher.media_salt, now, purpose="voucher"):
        return None
    return voucher


async def voucher_by_code(code: str) -> Voucher | None:
    return await Voucher.filter(code=normalize_voucher_input(code)).first()


async def usable_vouchers_of(customer_id: int, now: datetime) -> list[Voucher]:
    """Vouchers the customer can use now or soon, soonest to expire first."""
    vouchers = await Voucher.filter(
        customer_id=customer_id, status=VoucherStatus.ACTIVE, valid_until__gt=now
    ).order_by("valid_until", "id")
    return [v for v in vouchers if v.uses_count < v.uses_allowed]


async def validate_voucher(
    code: str, basket: Basket, customer_id: int | None, now: datetime
) -> tuple[Voucher, Verdict]:
    voucher = await voucher_by_code(code)
    if voucher is None:
        raise VoucherNotFound(code)
    return voucher, check_voucher(voucher, basket, customer_id, now)


async def redeem_voucher(
    code: str,
    store: Store,
    till: str,
    receipt_id: str,
    basket: Basket,
    customer_id: int | None,
    now: datetime,
    connection: BaseDBAsyncClient | None = None,
) -> Redeemed:
    """Redeem for one receipt, exactly once.

    The use is taken with a conditional UPDATE (uses_count < uses_allowed), which
    PostgreSQL serialises on the row: of any number of concurrent calls only as many win
    as there are uses. A retry for the same store and receipt finds its redemption and
    gets the same answer, even when it raced the original.
    """
    voucher = await voucher_by_code(code)
    if voucher is None:
        raise VoucherNotFound(code)
    try:
        if connection is not None:
            return await _redeem(
                voucher, store, till, receipt_id, basket, customer_id, now, connection
            )
        async with in_transaction() as own:
            return await _redeem(voucher, store, till, receipt_id, basket, customer_id, now, own)
    except IntegrityError:
        if connection is not None:
            raise
        previous = await _redemption_for(voucher, store, receipt_id, None)
        if previous is None:
            raise
        return _replayed(voucher, previous)


async def _redemption_for(
    voucher: Voucher, store: Store, receipt_id: str, connection: BaseDBAsyncClient | None
) -> VoucherRedemption | None:
    return (
        await VoucherRedemption.filter(
            voucher_id=voucher.id, store_id=store.id, receipt_id=receipt_id
        )
        .using_db(connection)
        .first()
    )


def _replayed(voucher: Voucher, redemption: VoucherRedemption) -> Redeemed:
    if redemption.cancelled_at is not None:
        raise RedemptionWasCancelled(voucher.code)
    return Redeemed(voucher=voucher, redemption=redemption, replay=True)


async def _redeem(
    voucher: Voucher,
    store: Store,
    till: str,
    receipt_id: str,
    basket: Basket,
    customer_id: int | None,
    now: datetime,
    connection: BaseDBAsyncClient,
) -> Redeemed:
    previous = await _redemption_for(voucher, store, receipt_id, connection)
    if previous is not None:
        return _replayed(voucher, previous)
    verdict = check_voucher(voucher, basket, customer_id, now)
    if not verdict.applies:
        raise VoucherRefused(voucher, verdict)
    taken = (
        await Voucher.filter(
            id=voucher.id, status=VoucherStatus.ACTIVE, uses_count__lt=F("uses_allowed")
        )
        .using_db(connection)
        .update(uses_count=F("uses_count") + 1)
    )
    if not taken:
        # Lost the race. If the winner was this very receipt (a concurrent retry), answer as it.
        previous = await _redemption_for(voucher, store, receipt_id, connection)
        if previous is not None:
            return _replayed(voucher, previous)
        raise VoucherRefused(voucher, Verdict(False, refusal=Refusal.USED))
    redemption = await VoucherRedemption.create(
        voucher_id=voucher.id,
        store_id=store.id,
        till=till,
        receipt_id=receipt_id,
        customer_id=customer_id,
        discount=verdict.discount,
        redeemed_at=now,
        using_db=connection,
    )
    voucher.uses_count += 1
    return Redeemed(voucher=voucher, redemption=redemption, replay=False)


async def reverse_redemptions(
    store_id: int,
    receipt_id: str,
    remaining: Basket | None,
    now: datetime,
    connection: BaseDBAsyncClient,
) -> Reversal:
    """After a refund: give back every voucher the remaining basket no longer earns.

    `remaining` None means the whole receipt was refunded.
    """
    reversal = Reversal()
    redemptions = (
        await VoucherRedemption.filter(
            store_id=store_id, receipt_id=receipt_id, cancelled_at__isnull=True
        )
        .using_db(connection)
        .select_related("voucher")
        .order_by("id")
    )
    for redemption in redemptions:
        if remaining is not None and discount_for(redemption.voucher, remaining).applies:
            continue
        await (
            VoucherRedemption.filter(id=redemption.id).using_db(connection).update(cancelled_at=now)
        )
        await (
            Voucher.filter(id=redemption.voucher_id, uses_count__gt=0)
            .using_db(connection)
            .update(uses_count=F("uses_count") - 1)
        )
        redemption.cancelled_at = now
        reversal.cancelled.append(redemption)
    return reversal

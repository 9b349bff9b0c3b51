"""Request and response bodies of the staff API."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from crm_core.vouchers.models import VoucherKind
from loyalty.api.ids import INT_MAX, Moment

Money = Annotated[Decimal, Field(max_digits=12, decimal_places=2)]
Quantity = Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=3)]
Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
CategoryName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60, pattern=r"^[^/]+$")
]


class LineIn(BaseModel):
    sku: Code
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
    category_path: list[CategoryName] = Field(default_factory=list, max_length=4)
    quantity: Quantity
    unit_price: Annotated[Money, Field(ge=0)]
    discount: Annotated[Money, Field(ge=0)] = Decimal("0.00")
    line_total: Money


class PaymentIn(BaseModel):
    method: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    amount: Money


class PurchaseIn(BaseModel):
    store: Code | None = Field(default=None, description="Store code; defaults to the key's store.")
    till: Code | None = Field(default=None, description="Till; defaults to the key's till.")
    receipt_id: Code
    purchased_at: Moment
    card: Code | None = Field(default=None, description="Card number as scanned; none: anonymous.")
    lines: list[LineIn] = Field(min_length=1, max_length=500)
    total: Money
    payments: list[PaymentIn] = Field(min_length=1, max_length=10)
    vouchers: list[Code] = Field(default_factory=list, max_length=20)


class BasketLineIn(BaseModel):
    sku: Code
    category_path: list[CategoryName] = Field(default_factory=list, max_length=4)
    quantity: Quantity = Decimal("1")
    unit_price: Annotated[Money, Field(ge=0)]
    line_total: Money


STORE_FIELD = "Store code; defaults to the key's store (an admin key, which has none, names it)."


class BasketIn(BaseModel):
    store: Code | None = Field(default=None, description=STORE_FIELD)
    card: Code | None = None
    total: Money
    lines: list[BasketLineIn] = Field(default_factory=list, max_length=500)


class RedeemIn(BasketIn):
    receipt_id: Code
    till: Code | None = None


class RefundLineIn(BaseModel):
    line_no: int = Field(ge=1, le=INT_MAX)
    quantity: Quantity


class RefundIn(BaseModel):
    store: Code | None = Field(default=None, description=STORE_FIELD)
    refund_id: Code
    lines: list[RefundLineIn] | None = Field(
        default=None, description="Lines and quantities to refund; omit to refund everything."
    )


class VoucherOut(BaseModel):
    code: str
    code_for_reading: str
    title: str
    kind: VoucherKind
    value: str
    value_text: str
    currency: str | None
    valid_from: datetime
    valid_until: datetime
    uses_left: int
    conditions: list[str]
    state: str = Field(
        default="usable",
        description=(
            "usable, or why not whatever the basket: cancelled, not_yet_valid, expired, used, "
            "no_customer (personal: scan the card), not_this_customer"
        ),
    )
    state_text: str = Field(default="", description="The state as a sentence for the cashier.")


class CustomerOut(BaseModel):
    first_name: str | None
    customer_since: datetime


class CardOut(BaseModel):
    number: str
    number_for_reading: str
    status: str


class HintOut(BaseModel):
    code: str
    text: str


class ScanOut(BaseModel):
    kind: str = Field(description="card or voucher")
    card: CardOut | None = None
    customer: CustomerOut | None = None
    vouchers: list[VoucherOut] = Field(default_factory=list)
    hints: list[HintOut] = Field(default_factory=list)


class VerdictOut(BaseModel):
    code: str
    applies: bool
    discount: str
    reason: str | None = None
    reason_code: str | None = None
    voucher: VoucherOut


class RedemptionOut(BaseModel):
    code: str
    receipt_id: str
    discount: str
    redeemed_at: datetime
    replay: bool


class PurchaseLineOut(BaseModel):
    line_no: int
    quantity: str
    line_total: str
    refunded_quantity: str


class PurchaseOut(BaseModel):
    id: int
    store: str
    till: str
    receipt_id: str
    purchased_at: datetime
    currency: str
    total: str
    refunded_total: str
    status: str
    customer_first_name: str | None
    lines: list[PurchaseLineOut]
    vouchers: list[str]
    replay: bool


class RefundOut(BaseModel):
    purchase_id: int
    refund_id: str
    amount: str
    status: str
    refunded_total: str
    vouchers_returned: list[str]
    replay: bool


class VoucherIssueIn(BaseModel):
    card: Code | None = Field(
        default=None, description="Bind to this card's customer; none: bearer."
    )
    kind: VoucherKind
    value: Annotated[Money, Field(gt=0)]
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] | None = None
    min_basket: Annotated[Money, Field(ge=0)] | None = None
    allowed_categories: list[Annotated[str, StringConstraints(min_length=1, max_length=255)]] = []
    excluded_categories: list[Annotated[str, StringConstraints(min_length=1, max_length=255)]] = []
    free_product_sku: Code | None = None
    valid_from: Moment
    valid_until: Moment
    uses_allowed: int = Field(default=1, ge=1, le=1_000_000)
    announce: bool = Field(default=True, description="Tell the customer in their messenger.")


class VoucherIssuedOut(VoucherOut):
    announced: bool


class StoreOut(BaseModel):
    code: str
    name: str
    currency: str
    timezone: str


class CategoryOut(BaseModel):
    path: list[str] = Field(description="From the top category down, as receipts send it.")
    name: str


class CategoriesOut(BaseModel):
    categories: list[CategoryOut]


class TillOut(BaseModel):
    role: str
    till: str | None
    store: StoreOut | None

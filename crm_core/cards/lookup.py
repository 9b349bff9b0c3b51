"""Finding a card from what a scanner or a cashier typed."""

from __future__ import annotations

from crm_core.cards.models import MERGED_CARD_REASON, Card, CardStatus
from crm_core.cards.numbers import is_luhn_valid, normalize_card_input
from crm_core.customers.models import Customer


class CardMistyped(ValueError):
    """Digits whose check digit does not match: almost surely a typo."""


class CardNotFound(LookupError):
    pass


class CardNotUsable(Exception):
    def __init__(self, card: Card) -> None:
        super().__init__(card.status)
        self.card = card

    @property
    def reason(self) -> str:
        return self.card.status_reason or self.card.status


def looks_like_card_number(text: str) -> bool:
    return text.isdigit()


async def find_card(raw: str) -> Card:
    """The active card for the input, with its customer loaded, or an exception saying why not.

    The number of a card merged into another customer's gives that customer's active card.

    Imported plastic cards may follow another check scheme, so a known number is accepted
    whatever its check digit; only an unknown number is judged by Luhn.
    """
    number = normalize_card_input(raw)
    card = await Card.filter(number=number).select_related("customer").first()
    if card is None:
        if not is_luhn_valid(number):
            raise CardMistyped(number)
        raise CardNotFound(number)
    if card.status == CardStatus.REPLACED and card.status_reason == MERGED_CARD_REASON:
        # A duplicate's card: it scans as the card of the customer it was merged into.
        survivor = await (
            Card.filter(customer_id=card.customer_id, status=CardStatus.ACTIVE)  # type: ignore[attr-defined]
            .select_related("customer")
            .first()
        )
        if survivor is not None:
            return survivor
    if card.status != CardStatus.ACTIVE:
        raise CardNotUsable(card)
    return card


def card_customer(card: Card) -> Customer:
    return card.customer  # type: ignore[return-value]

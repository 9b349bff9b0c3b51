"""The card QR carries the card number alone, so a keyboard-wedge scanner types just that."""

from __future__ import annotations

from crm_core.cards.numbers import make_card_number
from crm_core.cards.qr import card_qr_png
from tests.support.qr import decode_qr


def test_qr_png_decodes_to_the_card_number_only():
    number = make_card_number("2710", 31337, 8)
    png = card_qr_png(number)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert decode_qr(png) == number


def test_qr_images_are_small_enough_for_viber():
    png = card_qr_png(make_card_number("99999999", 99999999, 8))
    assert len(png) < 1024 * 1024

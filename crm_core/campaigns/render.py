"""A campaign message for one recipient: the template in their language, placeholders filled."""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Recipient:
    first_name: str
    card_number: str
    language: str
    products: tuple[str, ...] = ()
    voucher_code: str = ""
    voucher_value: str = ""
    voucher_title: str = ""
    voucher_expires: str = ""


@dataclass(frozen=True)
class RenderedMessage:
    text: str
    language: str
    button: str | None
    image_url: str | None


def message_for(messages: dict[str, dict[str, Any]], default: str, language: str) -> tuple:
    """The customer's language when the campaign has it, the campaign's default otherwise."""
    chosen = language if language in messages else default
    return chosen, messages[chosen]


def render(
    messages: dict[str, dict[str, Any]], default: str, recipient: Recipient
) -> RenderedMessage:
    """Fill the template; the placeholders were checked when the campaign was saved."""
    language, message = message_for(messages, default, recipient.language)
    text = str(message["text"])
    if not recipient.products:
        text = without_products(text)
    values = {
        "first_name": recipient.first_name,
        "card_number": recipient.card_number,
        "products": ", ".join(recipient.products),
        "voucher_code": recipient.voucher_code,
        "voucher_value": recipient.voucher_value,
        "voucher_title": recipient.voucher_title,
        "voucher_expires": recipient.voucher_expires,
    }
    return RenderedMessage(
        text=text.format_map(values),
        language=language,
        button=message.get("button") or None,
        image_url=message.get("image_url") or None,
    )


def _uses(text: str, name: str) -> bool:
    return any(field == name for _text, field, _spec, _conversion in string.Formatter().parse(text))


def without_products(text: str) -> str:
    """The variant for a recipient with nothing to recommend: the line that shows
    {products} left out ("You might like: ." would read as a bug); in a one-line message,
    the sentence that holds it. Texts without {products} are returned as they are."""
    if not _uses(text, "products"):
        return text
    lines = text.split("\n")
    kept = [line for line in lines if not _uses(line, "products")]
    if any(line.strip() for line in kept):
        joined = "\n".join(kept)
        return re.sub(r"\n{3,}", "\n\n", joined).strip("\n")
    sentences = re.split(r"(?<=[.!?…])\s+", text.strip())
    return " ".join(s for s in sentences if not _uses(s, "products"))


def uses_placeholder(messages: dict[str, dict[str, Any]], name: str) -> bool:
    """Whether any language's template asks for `name` (e.g. products: worth computing)."""
    formatter = string.Formatter()
    return any(
        field == name
        for message in messages.values()
        for _text, field, _spec, _conversion in formatter.parse(str(message.get("text", "")))
    )

"""Expected bot texts come from the same catalogs users see."""

from __future__ import annotations

from bot.i18n import translations


def t(language: str, message: str, **values: object) -> str:
    text = translations(language).gettext(message)
    return text.format(**values) if values else text

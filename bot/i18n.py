"""Gettext catalogs for every text a user sees; loaded from the .po files with Babel."""

from __future__ import annotations

import gettext
import io
from functools import lru_cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES_DIR = Path(__file__).parent / "locales"
DOMAIN = "messages"
LANGUAGES = ("uk", "en", "pl", "cs", "ru")
LANGUAGE_NAMES = {
    "uk": "Українська",
    "en": "English",
    "pl": "Polski",
    "cs": "Čeština",
    "ru": "Русский",
}
_COUNTRY_LANGUAGE = {"UA": "uk", "PL": "pl", "CZ": "cs", "GB": "en", "US": "en", "IE": "en"}


def N_(message: str) -> str:
    """Marks a text for extraction where it is translated later (gettext_noop)."""
    return message


@lru_cache(maxsize=len(LANGUAGES))
def translations(language: str) -> gettext.NullTranslations:
    """Compiled once per process from the catalog; English texts are the message ids."""
    po_path = LOCALES_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po_path.exists():
        return gettext.NullTranslations()
    with po_path.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def pick_language(hint: str | None, country: str | None, default: str) -> str:
    """The best supported language for a platform's language code ('uk', 'en-US') or country."""
    if hint:
        base = hint.replace("_", "-").split("-")[0].lower()
        if base in LANGUAGES:
            return base
    if country and country.upper() in _COUNTRY_LANGUAGE:
        return _COUNTRY_LANGUAGE[country.upper()]
    return default


def pick_from_accept_language(header: str | None, default: str) -> str:
    """First supported language of a browser's Accept-Language header."""
    for part in (header or "").split(","):
        tag = part.split(";")[0].strip()
        if tag:
            language = pick_language(tag, None, "")
            if language:
                return language
    return default

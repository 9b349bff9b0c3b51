"""Every text a user sees is translated in every supported language."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.i18n import LANGUAGES, LOCALES_DIR, pick_from_accept_language, pick_language, translations

PLACEHOLDER = re.compile(r"\{\w+\}")
COMMAND = re.compile(r"/[a-z]+\b")
ROOT = Path(__file__).resolve().parents[2]


def catalog(language: str):
    with (LOCALES_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=language)


def template_ids() -> set[str]:
    with (LOCALES_DIR / "messages.pot").open("rb") as handle:
        return {m.id for m in read_po(handle) if m.id}


def test_the_template_is_up_to_date_with_the_code(tmp_path):
    fresh = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "N_",
            "-o",
            str(fresh),
            "--no-location",
            "--omit-header",
            ".",
        ],
        cwd=ROOT,
        check=True,
    )
    with fresh.open("rb") as handle:
        extracted = {m.id for m in read_po(handle) if m.id}
    assert extracted == template_ids(), "run `make locales` and translate the new texts"


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_text_is_translated_with_its_placeholders_and_commands(language):
    messages = {m.id: m.string for m in catalog(language) if m.id}
    assert set(messages) == template_ids()
    for source, translated in messages.items():
        assert translated, f"{language}: untranslated {source!r}"
        assert set(PLACEHOLDER.findall(source)) == set(PLACEHOLDER.findall(translated)), source
        assert set(COMMAND.findall(source)) == set(COMMAND.findall(translated)), source


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_catalog_passes_msgfmt_check(language):
    """A header with the language and its plural forms, and printf flags only where they hold."""
    po = LOCALES_DIR / language / "LC_MESSAGES" / "messages.po"
    check = subprocess.run(
        ["/usr/bin/msgfmt", "-c", "-o", "/dev/null", str(po)], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stderr
    assert check.stderr == "", check.stderr
    header = catalog(language)
    assert str(header.locale) == language
    assert header.plural_forms.startswith("nplurals=")


@pytest.mark.parametrize("language", ["uk", "pl", "cs", "ru"])
def test_translations_are_really_in_that_language(language):
    assert translations(language).gettext("What is your first name?") != "What is your first name?"


def test_language_is_picked_from_platform_hints():
    assert pick_language("uk", None, "en") == "uk"
    assert pick_language("pl-PL", None, "uk") == "pl"
    assert pick_language("de", "CZ", "uk") == "cs"
    assert pick_language("de", "DE", "uk") == "uk"
    assert pick_language(None, None, "en") == "en"
    assert pick_from_accept_language("de-DE,de;q=0.9,pl;q=0.8", "uk") == "pl"
    assert pick_from_accept_language(None, "ru") == "ru"

"""Each language speaks in one polite voice and uses the words of bot/locales/GLOSSARY.md.

Shopper texts are the ones marked in `bot/` and `channels/` (the conversation, the web chat,
the bot's command list); every other text is read by staff. Shoppers are never addressed
informally; Polish and Czech staff texts keep the same register (no informal imperative in a
sentence beside "Proszę ..."). Buttons and menu items are labels: Polish labels may keep the
imperative Polish interfaces use for commands.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from bot.i18n import LOCALES_DIR

ROOT = Path(__file__).resolve().parents[2]
SHOPPER_PACKAGES = ("bot", "channels")
PLACEHOLDER = re.compile(r"\{\w*\}")

# Words that address the reader as "ty" (pl), "ty" (cs), "ти" (uk), "ты" (ru), or greet them
# as a friend. Matched as whole words, case-insensitively.
INFORMAL_WORDS = {
    "pl": {
        # pronouns
        "ty", "cię", "ci", "ciebie", "tobie", "tobą", "twój", "twoja", "twoje", "twojego",
        "twojej", "twoją", "twoich", "twoim", "twoimi", "twego", "twej",
        # greetings and thanks between friends
        "cześć", "hej", "siema", "witaj", "dzięki",
        # second person singular verbs
        "masz", "możesz", "chcesz", "jesteś", "będziesz", "potrzebujesz", "lubisz", "wiesz",
        "dostaniesz", "odbierzesz", "otrzymasz", "znajdziesz", "zobaczysz", "musisz",
        "zechcesz", "wyślesz", "wpiszesz", "podasz", "pokażesz",
        # "Pan"/"Pani" are polite, but the catalogs address nobody by gender
        "pan", "pana", "panu", "panem", "pani", "panią",
    },
    "cs": {
        "ty", "tebe", "tobě", "tebou", "tě", "ti", "tvůj", "tvoje", "tvoji", "tvá", "tvé",
        "tvého", "tvému", "tvém", "tvým", "tvými", "tvých", "tvou",
        "ahoj", "čau", "nazdar", "vítej", "promiň", "díky", "jsi",
    },
    "uk": {
        "ти", "тебе", "тобі", "тобою", "твій", "твоя", "твоє", "твої", "твого", "твоєї",
        "твоїй", "твоїх", "твоїм", "твоїми", "твоєму", "привіт",
        "маєш", "можеш", "хочеш", "будеш", "отримаєш",
        "натисни", "введи", "надішли", "обери", "вибери", "поділись", "покажи", "перевір",
        "спробуй", "напиши", "звернись",
    },
    "ru": {
        "ты", "тебя", "тебе", "тобой", "тобою", "твой", "твоя", "твоё", "твое", "твои",
        "твоего", "твоей", "твоих", "твоим", "твоими", "твоему", "привет",
        "можешь", "хочешь", "будешь", "получишь",
        "нажми", "введи", "отправь", "выбери", "поделись", "покажи", "проверь", "попробуй",
        "напиши", "обратись",
    },
}  # fmt: skip

# Second person singular imperatives: informal in a sentence. Polish labels may use them.
INFORMAL_IMPERATIVES = {
    "pl": {
        "wpisz", "wyślij", "wybierz", "naciśnij", "kliknij", "dotknij", "sprawdź",
        "udostępnij", "podaj", "pokaż", "użyj", "zeskanuj", "pomóż", "zacznij", "skontaktuj",
        "zmień", "wznów", "zaplanuj", "napisz", "pisz", "otwórz", "potwierdź", "spróbuj",
        "zaloguj", "wyloguj", "usuń", "odbierz", "włącz", "wyłącz", "pomiń", "zostaw",
        "zapisz", "wróć", "poczekaj", "dodaj", "zobacz", "odpowiedz", "podwajaj", "podwój",
        "przejdź", "wprowadź", "wklej", "ustaw", "zaznacz", "popraw", "uzupełnij", "zapytaj",
        "poproś", "przywitaj",
    },
    "cs": {
        "napiš", "pošli", "vyber", "klepni", "zkontroluj", "sdílej", "použij", "obrať",
        "odpověz", "potvrď", "ukaž", "pomoz", "zadej", "otevři", "zkus", "stiskni",
        "naskenuj", "začni", "změň", "obnov", "naplánuj", "přihlas", "odhlas", "smaž",
        "zruš", "vlož", "uveď", "zvol", "klikni", "počkej", "přidej", "ulož", "vrať",
        "pokračuj", "přeskoč", "požádej", "přivítej", "piš", "zdvoj",
    },
}  # fmt: skip

# Czech second person singular present tense ends in -š (máš, můžeš, jmenuješ, získáš).
CZECH_SECOND_PERSON = re.compile(r"\w+(?:eš|áš|íš|ěš)$")
CZECH_NOT_SECOND_PERSON = {"náš", "váš", "příliš", "spíš", "nejspíš", "koš", "guláš"}
# Polish past tense, second person singular (zapomniałeś, wpisałaś).
POLISH_PAST_SECOND_PERSON = re.compile(r"\w+(?:łeś|łaś)$")


# A button's name quoted in a sentence ("… albo nacisnąć „Pomiń”") is not an address.
QUOTED = re.compile(r"„[^”“]*[”“]|«[^»]*»|“[^”]*”")


def words(text: str) -> list[str]:
    return re.findall(r"\w+", QUOTED.sub(" ", PLACEHOLDER.sub(" ", text)).lower())


def is_label(text: str) -> bool:
    """A button or menu item: no sentence punctuation at its end and no full stop inside."""
    stripped = text.strip()
    return not re.search(r"[.!?:…]$", stripped) and not re.search(r"[.!?] ", stripped)


def informal_markers(language: str, text: str) -> set[str]:
    """The words in `text` that address the reader informally (empty: the text is polite)."""
    found = set()
    imperatives = INFORMAL_IMPERATIVES.get(language, set())
    label = is_label(text)
    for word in words(text):
        if word in INFORMAL_WORDS.get(language, set()):
            found.add(word)
        elif word in imperatives and not (language == "pl" and label):
            found.add(word)
        elif language == "cs" and (
            CZECH_SECOND_PERSON.match(word) and word not in CZECH_NOT_SECOND_PERSON
        ):
            found.add(word)
        elif language == "pl" and POLISH_PAST_SECOND_PERSON.match(word):
            found.add(word)
    return found


@cache
def shopper_ids() -> frozenset[str]:
    """Message ids marked in the packages that talk to shoppers."""
    keywords = dict(DEFAULT_KEYWORDS, N_=None)
    ids = set()
    for package in SHOPPER_PACKAGES:
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT / package), method_map=[("**.py", "python")], keywords=keywords
        ):
            ids.add(message if isinstance(message, str) else message[0])
    return frozenset(ids)


@cache
def catalog(language: str) -> dict[str, str]:
    with (LOCALES_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return {m.id: m.string for m in read_po(handle, locale=language) if m.id}


def test_shopper_and_staff_texts_are_told_apart_by_where_they_are_marked():
    shopper = shopper_ids()
    assert "What is your first name?" in shopper  # the conversation
    assert "Send" in shopper  # the web chat page
    assert "Anyone holding the code may use it" in shopper  # a voucher condition, also at /pos
    assert "Basket total" not in shopper  # the till page
    assert "There is no such segment." not in shopper  # the marketer API


@pytest.mark.parametrize(
    ("language", "text", "markers"),
    [
        ("pl", "Cześć! Tutaj odbierzesz naszą kartę.", {"cześć", "odbierzesz"}),
        ("pl", "Oto twoja karta, {name}!", {"twoja"}),
        ("pl", "Wpisz numer wydrukowany na karcie.", {"wpisz"}),
        ("pl", "Pokaż moją kartę", set()),  # a button
        ("pl", "Proszę pokazać ten kod QR przy kasie.", set()),
        ("cs", "Ahoj! Tady získáš naši kartu.", {"ahoj", "získáš"}),
        ("cs", "Promiň, napiš ho prosím znovu.", {"promiň", "napiš"}),
        ("cs", "Jak se jmenuješ?", {"jmenuješ"}),
        ("cs", "Číslo karty je nejspíš špatně zadané: zkontrolujte ho prosím.", set()),
        ("uk", "Привіт! Як тебе звати?", {"привіт", "тебе"}),
        ("ru", "Покажи свою карту на кассе.", {"покажи"}),
    ],
)
def test_the_register_check_finds_informal_address(language, text, markers):
    assert informal_markers(language, text) == markers


@pytest.mark.parametrize("language", ["uk", "pl", "cs", "ru"])
def test_shoppers_are_addressed_politely(language):
    texts = catalog(language)
    informal = {
        source: sorted(informal_markers(language, texts[source]))
        for source in sorted(shopper_ids())
        if source in texts and informal_markers(language, texts[source])
    }
    assert not informal, f"{language}: informal shopper texts (see bot/locales/GLOSSARY.md): " + (
        "; ".join(f"{source!r}: {markers}" for source, markers in informal.items())
    )


@pytest.mark.parametrize("language", ["pl", "cs"])
def test_staff_texts_keep_the_same_polite_register(language):
    texts = catalog(language)
    informal = {
        source: sorted(informal_markers(language, translated))
        for source, translated in sorted(texts.items())
        if source not in shopper_ids() and informal_markers(language, translated)
    }
    assert not informal, f"{language}: staff texts mixing registers (see GLOSSARY.md): " + (
        "; ".join(f"{source!r}: {markers}" for source, markers in informal.items())
    )


# Commands and identifiers (/vouchers, voucher_code) are not words of the language.
CODE = re.compile(r"/\w+|\w*_\w*")


def avoided_words() -> list[tuple[str, str, str]]:
    """Rows of the glossary's table of words not to use: (language, word, instead)."""
    text = (LOCALES_DIR / "GLOSSARY.md").read_text(encoding="utf-8")
    section = text.split("## Words not to use", 1)[1]
    rows = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0] in {"uk", "pl", "cs", "ru"}:
            rows.append((cells[0], cells[1], cells[2]))
    return rows


def test_the_glossary_lists_words_not_to_use():
    languages = {language for language, _word, _instead in avoided_words()}
    assert languages == {"uk", "pl", "cs", "ru"}


@pytest.mark.parametrize("language", ["uk", "pl", "cs", "ru"])
def test_one_word_per_concept(language):
    texts = catalog(language)
    used = []
    for row_language, word, instead in avoided_words():
        if row_language != language:
            continue
        pattern = re.compile(r"\b" + re.escape(word.lower()) + r"\w*", re.IGNORECASE)
        used += [
            f"{word!r} in {source!r} (use {instead})"
            for source, translated in texts.items()
            if pattern.search(CODE.sub(" ", translated))
        ]
    assert not used, used

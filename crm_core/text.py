"""What text we accept from outside: no control characters, no unpaired surrogates.

One rule for every input (the staff API, the bot, imports): a control character (the C0 and
C1 ranges and DEL) cannot be typed on purpose, breaks exports (XML forbids most of them,
spreadsheets drop them) and PostgreSQL refuses a NUL outright; an unpaired surrogate cannot
even be encoded as UTF-8. Line breaks and tabs are ordinary text in multi-line fields (a
campaign's message); single-line fields refuse them by their own rules.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

ALLOWED_CONTROLS = "\t\n\r"
# C0 except tab, line feed, carriage return; DEL and C1; surrogates; the two non-characters
# XML refuses.
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def forbidden_character(text: str) -> str | None:
    """The first character of `text` we do not accept, or None when all are fine."""
    match = _FORBIDDEN.search(text)
    return match.group() if match else None


def describe(character: str) -> str:
    """How a person can tell which character it was: U+0007."""
    return f"U+{ord(character):04X}"


def forbidden_in(value: Any, path: str = "") -> tuple[str, str] | None:
    """The path and character of the first bad string inside JSON-like data (keys too), or
    None. Walks without recursion, so any nesting depth is safe; paths are only spelled out
    once something bad is known to be there."""
    if not _holds_forbidden(value):
        return None
    for where, text in _strings(value, path):
        bad = forbidden_character(text)
        if bad is not None:
            return where, bad
    return None


def _holds_forbidden(value: Any) -> bool:
    stack = [value]
    search = _FORBIDDEN.search
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.values())
            stack.extend(item.keys())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    stack: list[tuple[str, Any]] = [(path, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            yield where, item
        elif isinstance(item, dict):
            for key, child in reversed(list(item.items())):
                name = f"{where}.{key}" if where else str(key)
                if isinstance(key, str):
                    yield name, key
                stack.append((name, child))
        elif isinstance(item, list):
            for index in range(len(item) - 1, -1, -1):
                stack.append((f"{where}[{index}]", item[index]))


def readable(text: str) -> str:
    """`text` with every character we would refuse shown as U+FFFD (the replacement
    character): what an export writes for a value stored before these rules existed, so the
    file stays well-formed (XML, XLSX) and the gap stays visible."""
    return _FORBIDDEN.sub("\ufffd", text) if _FORBIDDEN.search(text) else text

"""A last line of defence for privacy: what a log line says about people is masked on its way out.

Our own code never logs names or phone numbers, but other text reaches the logs: a database
error quotes a row ("Key (phone)=(+380...) already exists"), a library's exception quotes a
value, and the access log prints every path and query string, where card numbers, voucher
codes, card-image tokens and `?name=` searches live. Each handler's formatter is wrapped, so
the masking applies to the final text (message, arguments and traceback alike), the record
itself is left as its formatter expects it (uvicorn's access formatter unpacks its arguments),
and whatever goes wrong in formatting gives a placeholder line instead of "--- Logging error ---"
and a dump of the raw, unmasked record.
"""

from __future__ import annotations

import copy
import logging
import re
import traceback
from urllib.parse import parse_qsl

from uvicorn.logging import AccessFormatter

# A date, optionally with a time and a zone, as logs print them: never mistaken for a phone.
_DATE_TIME = (
    r"(?:19|20)\d\d-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])"
    r"(?:[T ](?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:[.,]\d{1,6})?)?"
    r"(?:Z|[+-]\d\d:?\d\d)?)?(?!\d)"
)
_PHONE_LIKE = r"\+?\d[\d\s\-()]{7,}\d"
_DIGITS = re.compile(rf"(?P<keep>(?<![\d+]){_DATE_TIME})|(?P<digits>{_PHONE_LIKE})")

# Paths whose parameter is a card number, a voucher code or a card-image token.
_SECRET_PATH_PARTS = (
    re.compile(r"^(/api/v1/pos/cards/)[^/?]+"),
    re.compile(r"^(/api/v1/pos/vouchers/)[^/?]+"),
    re.compile(r"^(/media/(?:cards|vouchers)/)[^/?]+?(?=\.png$|$)"),
)
# Any other path segment this long is a token of some kind (our own names are short words).
_LONG_SEGMENT = re.compile(r"(?<=/)[^/]{24,}")
# Query parameters that never carry people's data: their values stay readable.
_PLAIN_QUERY_KEYS = frozenset(
    {"limit", "offset", "page", "per_page", "sort", "order", "before", "after", "format"}
)
_MASK = "<redacted>"

# Exceptions whose messages are kept in tracebacks (digits masked): the standard library's,
# the database drivers' (quoted values masked too) and our own frameworks'. Others (a spreadsheet
# writer's "Ivan cannot be used in worksheets") may quote anything: their message is withheld.
_DATABASE_MODULES = frozenset({"asyncpg", "psycopg", "sqlite3", "aiosqlite", "tortoise", "pypika"})
_PLAIN_MESSAGE_MODULES = frozenset(
    {
        "builtins",
        "asyncio",
        "concurrent",
        "socket",
        "ssl",
        "httpx",
        "httpcore",
        "h11",
        "anyio",
        "starlette",
        "fastapi",
        "uvicorn",
        "aiogram",
        "aiohttp",
        "redis",
        "apscheduler",
        "crm_core",
        "bot",
        "channels",
        "loyalty",
    }
)
_QUOTED = re.compile(r"""'[^'\n]*'|"[^"\n]*"|(?<==)\([^)\n]*\)""")


def _mask_digits(match: re.Match[str]) -> str:
    if match.group("keep") is not None:
        return match.group()
    return f"<redacted:{sum(c.isdigit() for c in match.group())} digits>"


def redact(text: str) -> str:
    """Phone-like runs of digits masked; dates and times left as they are."""
    return _DIGITS.sub(_mask_digits, text)


def redact_path(full_path: str) -> str:
    """An access log's path: codes, tokens and query values (but plain paging) masked."""
    path, question, query = full_path.partition("?")
    for pattern in _SECRET_PATH_PARTS:
        path = pattern.sub(lambda m: m.group(1) + _MASK, path)
    path = _LONG_SEGMENT.sub(_MASK, path)
    if not question:
        return path
    pairs = parse_qsl(query, keep_blank_values=True)
    shown = [f"{key}={value if key in _PLAIN_QUERY_KEYS else _MASK}" for key, value in pairs]
    return f"{path}?{'&'.join(shown)}"


def _message_policy(module: str, message: str) -> str:
    root = module.partition(".")[0]
    if root in _DATABASE_MODULES:
        return _QUOTED.sub(lambda m: m.group()[0] + _MASK + m.group()[-1], message)
    if root in _PLAIN_MESSAGE_MODULES:
        return message
    return "<message withheld: it may quote personal data>" if message else message


def format_exception(exc_info) -> str:
    """A traceback whose exception messages follow the policy above (digits masked later)."""
    rendered = traceback.TracebackException(*exc_info, compact=True)
    pending, seen = [rendered], set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        module = getattr(current.exc_type, "__module__", "") or ""
        current._str = _message_policy(module, current._str or "")
        pending.extend(
            found
            for found in (current.__cause__, current.__context__, *(current.exceptions or ()))
            if found is not None
        )
    return "".join(rendered.format()).rstrip("\n")


class RedactingFormatter(logging.Formatter):
    """Wraps a handler's own formatter: its layout, then the masking, and never an error."""

    def __init__(self, inner: logging.Formatter | None) -> None:
        super().__init__()
        self.inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        try:
            shown = copy.copy(record)
            access = shown.name == "uvicorn.access" or isinstance(self.inner, AccessFormatter)
            if access and isinstance(shown.args, tuple):
                if len(shown.args) == 5 and isinstance(shown.args[2], str):
                    args = list(shown.args)
                    args[2] = redact_path(args[2])
                    shown.args = tuple(args)
            if shown.exc_info and shown.exc_info[1] is not None:
                shown.exc_text = format_exception(shown.exc_info)
            return redact(self.inner.format(shown))
        except Exception as error:  # a log line must never take the process's logging down
            return (
                f"{self.formatTime(record)} {record.levelname} {record.name}: <log line not"
                f" shown: formatting it failed with {type(error).__name__}>"
            )


_LOGGERS_WITH_HANDLERS = ("", "uvicorn", "uvicorn.error", "uvicorn.access")


def install_redaction() -> None:
    """Wrap the formatter of every handler that exists now (root's and uvicorn's)."""
    for name in _LOGGERS_WITH_HANDLERS:
        for handler in logging.getLogger(name).handlers:
            if not isinstance(handler.formatter, RedactingFormatter):
                handler.setFormatter(RedactingFormatter(handler.formatter))

"""A last line of defence for privacy: phone-like numbers are masked in every log line.

Our own code never logs names or phone numbers, but a database error can quote a row
("Key (phone)=(+380...) already exists"); this filter masks such digits wherever they come from.
"""

from __future__ import annotations

import logging
import re

_PHONE_LIKE = re.compile(r"\+?\d[\d\s\-()]{7,}\d")
_LOGGERS_WITH_HANDLERS = ("", "uvicorn", "uvicorn.error", "uvicorn.access")


def _mask(match: re.Match[str]) -> str:
    return f"<redacted:{sum(c.isdigit() for c in match.group())} digits>"


def redact(text: str) -> str:
    return _PHONE_LIKE.sub(_mask, text)


class RedactPhoneNumbers(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if record.exc_info and record.exc_info[1] is not None:
            # Tracebacks quote exception messages: render them now, redacted.
            formatted = logging.Formatter().formatException(record.exc_info)
            cleaned = f"{cleaned}\n{redact(formatted)}"
            record.exc_info = None
            record.exc_text = None
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def install_redaction() -> None:
    """Attach the filter to every handler that exists now (root and uvicorn's)."""
    redaction = RedactPhoneNumbers()
    for name in _LOGGERS_WITH_HANDLERS:
        for handler in logging.getLogger(name).handlers:
            if not any(isinstance(f, RedactPhoneNumbers) for f in handler.filters):
                handler.addFilter(redaction)

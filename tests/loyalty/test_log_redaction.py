"""Phone-like numbers never reach a log line, even inside a database error's traceback."""

from __future__ import annotations

import io
import logging

from loyalty.log_redaction import RedactPhoneNumbers, redact


def test_phone_numbers_in_any_notation_are_masked():
    assert "380501234567" not in redact("Key (phone)=(+380501234567) already exists")
    assert "123 45 67" not in redact("called 050 123 45 67 twice")
    assert redact("update 991 handled in 12 ms") == "update 991 handled in 12 ms"


def test_the_filter_masks_messages_arguments_and_tracebacks():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactPhoneNumbers())
    logger = logging.getLogger("tests.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("customer %s failed", "+48 601 234 567")
        try:
            raise ValueError("duplicate key (phone)=(+380671234567)")
        except ValueError:
            logger.exception("insert failed")
    finally:
        logger.removeHandler(handler)
    output = stream.getvalue()
    assert "601 234 567" not in output and "380671234567" not in output
    assert "customer <redacted" in output and "insert failed" in output
    assert "ValueError: duplicate key (phone)=(<redacted" in output

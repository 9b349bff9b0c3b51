"""Why an import refused a row, in the caller's language.

crm_core reports each refusal as one fixed English phrase (the CLI prints them as they are);
the API says them in the caller's language. The phrases are the message ids, so a phrase
added to crm_core without an entry here stays English, and a test finds it.
"""

from __future__ import annotations

import re
from typing import Any

from bot.i18n import N_, translations
from loyalty.api.marketer_texts import EXPECTED_WORDS

REASONS = (
    # receipt lines (crm_core/imports/receipt_rows.py)
    N_("unknown store code"),
    N_("required, at most 64 characters"),
    N_("lines of this receipt are not together in the file"),
    N_("not a date and time (ISO 8601)"),
    N_("in the future: more than 10 minutes ahead of the server's clock"),
    N_("differs from the card number on this receipt's first line"),
    N_("already imported with other lines or another time; not changed"),
    N_("not a number"),
    N_("must be more than 0"),
    N_("must not be negative"),
    N_("is not quantity x unit_price - discount"),
    N_("a category path like Dairy/Milk (at most 4 levels)"),
    N_("no card with this number"),
    N_("another line of this receipt was rejected"),
    # customers and products (crm_core/imports/customers.py, products.py)
    N_("6-32 digits"),
    N_("letters, spaces, hyphens and apostrophes only"),
    N_("not a valid phone number"),
    N_("required for a new customer"),
    N_("required, at most 255 characters"),
    N_("the same SKU appears earlier in the file"),
    N_("the same phone appears earlier in the file"),
    N_("this card number belongs to another customer"),
    N_("this customer already has another active card"),
    N_("this customer asked to be erased"),
    N_("yes or no"),
)
EXPECTED = N_("expected {values}")
CONTROL_CHARACTER = N_("contains an invisible control character ({detail})")
_EXPECTED = re.compile(r"expected (?P<values>.+)")
_CONTROL = re.compile(r"contains an invisible control character \((?P<detail>.+)\)")


def reason_text(reason: str, language: str) -> str:
    tr = translations(language)
    if match := _EXPECTED.fullmatch(reason):
        values = match["values"]
        word = EXPECTED_WORDS.get(values)
        return tr.gettext(EXPECTED).format(values=tr.gettext(word) if word else values)
    if match := _CONTROL.fullmatch(reason):
        return tr.gettext(CONTROL_CHARACTER).format(detail=match["detail"])
    return tr.gettext(reason) if reason in REASONS else reason


def translated(report: dict[str, Any], language: str) -> dict[str, Any]:
    """The import report with every rejection's reason in the caller's language."""
    rejections = report.get("rejections")
    if not isinstance(rejections, list):
        return report
    return {
        **report,
        "rejections": [
            {**item, "reason": reason_text(str(item.get("reason", "")), language)}
            for item in rejections
        ],
    }

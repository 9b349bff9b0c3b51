"""What each of pydantic's validation error types means, said so a person can fix the request.

Keys are pydantic's stable error types (they become the `code` of each problem); the texts
use the error's context values ({gt}, {max_length}, {expected}, ...).
"""

from __future__ import annotations

from bot.i18n import N_

FALLBACK = N_("This value is not valid here.")

REASONS: dict[str, str] = {
    "missing": N_("This value is required."),
    "extra_forbidden": N_("This key is not expected here."),
    "int_type": N_("A whole number is expected."),
    "int_parsing": N_("A whole number is expected."),
    "int_from_float": N_("A whole number is expected."),
    "int_parsing_size": N_("This number is too large."),
    "float_type": N_("A number is expected."),
    "float_parsing": N_("A number is expected."),
    "decimal_type": N_("A number is expected."),
    "decimal_parsing": N_("A number is expected."),
    "finite_number": N_("A finite number is expected."),
    "decimal_max_digits": N_("At most {max_digits} digits in all are allowed."),
    "decimal_max_places": N_("At most {decimal_places} digits after the point are allowed."),
    "decimal_whole_digits": N_("At most {whole_digits} digits before the point are allowed."),
    "greater_than": N_("The value must be greater than {gt}."),
    "greater_than_equal": N_("The value must be at least {ge}."),
    "less_than": N_("The value must be less than {lt}."),
    "less_than_equal": N_("The value must be at most {le}."),
    "multiple_of": N_("The value must be a multiple of {multiple_of}."),
    "bool_type": N_("true or false is expected."),
    "bool_parsing": N_("true or false is expected."),
    "string_type": N_("Text is expected."),
    "string_unicode": N_("Text is expected."),
    "string_too_short": N_("At least {min_length} characters are needed."),
    "string_too_long": N_("At most {max_length} characters are allowed."),
    "string_pattern_mismatch": N_("The text does not have the expected form ({pattern})."),
    "control_character": N_(
        "The text contains an invisible control character ({detail}); remove it."
    ),
    "enum": N_("Allowed values: {expected}."),
    "literal_error": N_("Allowed values: {expected}."),
    "list_type": N_("A list is expected."),
    "tuple_type": N_("A list is expected."),
    "set_type": N_("A list is expected."),
    "too_short": N_("At least {min_length} items are needed."),
    "too_long": N_("At most {max_length} items are allowed."),
    "dict_type": N_("A JSON object is expected."),
    "model_type": N_("A JSON object is expected."),
    "model_attributes_type": N_("A JSON object is expected."),
    "json_invalid": N_("The body is not valid JSON."),
    "json_type": N_("The body is not valid JSON."),
    "datetime_type": N_("A date and time is expected (ISO 8601, e.g. 2026-11-22T10:15:00+02:00)."),
    "datetime_parsing": N_(
        "A date and time is expected (ISO 8601, e.g. 2026-11-22T10:15:00+02:00)."
    ),
    "datetime_from_date_parsing": N_(
        "A date and time is expected (ISO 8601, e.g. 2026-11-22T10:15:00+02:00)."
    ),
    "datetime_object_invalid": N_(
        "A date and time is expected (ISO 8601, e.g. 2026-11-22T10:15:00+02:00)."
    ),
    "timezone_aware": N_("The time needs its UTC offset, e.g. 2026-11-22T10:15:00+02:00."),
    "date_type": N_("A date is expected (YYYY-MM-DD)."),
    "date_parsing": N_("A date is expected (YYYY-MM-DD)."),
    "date_from_datetime_parsing": N_("A date is expected (YYYY-MM-DD)."),
    "date_from_datetime_inexact": N_("A date is expected (YYYY-MM-DD)."),
    "moment_out_of_range": N_("The time must lie between {earliest} and {latest}."),
    "phone_not_editable": N_(
        "The phone number is confirmed by the customer in their messenger; it cannot be "
        "changed here."
    ),
    "consent_not_editable": N_(
        "Marketing consent is the customer's own decision: they give or withdraw it in the "
        "chat (/subscribe, /stop). Consents recorded elsewhere come in with evidence through "
        "POST /api/v1/imports/customers (column marketing_consent)."
    ),
}

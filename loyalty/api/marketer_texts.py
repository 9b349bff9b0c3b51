"""Sentences the marketer API shows when a rule, a field or a request is refused."""

from __future__ import annotations

from bot.i18n import N_
from crm_core.profiles.service import ProfileProblem
from crm_core.segments.rules import Reason

RULE_REASONS = {
    Reason.NOT_AN_OBJECT: N_("Each node of a rule must be a JSON object."),
    Reason.UNKNOWN_NODE: N_(
        "Unknown node: use all, any, not, or a condition with a known type ({detail})."
    ),
    Reason.EMPTY_GROUP: N_("A group needs a list with at least one condition."),
    Reason.TOO_DEEP: N_("The rule is nested too deeply (at most {detail} levels)."),
    Reason.TOO_BIG: N_("The rule has too many nodes (at most {detail})."),
    Reason.MISSING: N_("This value is required."),
    Reason.UNKNOWN_FIELD: N_("There is no such field or metric: {detail}."),
    Reason.UNKNOWN_OPERATOR: N_("This operator cannot be used here: {detail}."),
    Reason.BAD_VALUE: N_("This value is not valid here (expected: {detail})."),
    Reason.UNKNOWN_CATEGORY: N_("There is no category {detail} in the catalogue."),
    Reason.UNKNOWN_SEGMENT: N_("There is no segment {detail}."),
    Reason.UNKNOWN_STORE: N_("There is no store {detail}."),
    Reason.CYCLE: N_("Segments cannot refer to each other in a circle."),
}
RULE_INVALID = N_("The rule is not valid at \u201c{path}\u201d: {reason}")

PROFILE_PROBLEMS = {
    ProfileProblem.BAD_KEY: N_("A field key uses lowercase letters, digits and _ only."),
    ProfileProblem.KEY_TAKEN: N_("A field with the key {field} already exists."),
    ProfileProblem.BAD_KIND: N_("A field type is one of: {expected}."),
    ProfileProblem.NO_CHOICES: N_("A choice field needs its list of choices."),
    ProfileProblem.UNKNOWN_FIELD: N_("There is no field {field}."),
    ProfileProblem.BAD_VALUE: N_("The value of {field} is not valid (expected: {expected})."),
}

SEGMENT_NOT_FOUND = N_("There is no such segment.")
SEGMENT_NAME_TAKEN = N_("A segment with this name already exists.")
SEGMENT_PAUSED = N_("This segment is paused: resume it before rebuilding.")
SEGMENT_IN_USE = N_("Other segments are built on this one: change them first.")
CUSTOMER_NOT_FOUND = N_("There is no such customer.")
BAD_CURSOR = N_("This page cursor is not valid for this list; start from the first page.")
UNKNOWN_COLUMN = N_("There is no column {column}.")

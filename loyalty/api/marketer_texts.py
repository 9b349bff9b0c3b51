"""Sentences the marketer API shows when a rule, a field or a request is refused."""

from __future__ import annotations

from bot.i18n import N_
from crm_core.campaigns.models import CampaignStatus, StatusReason
from crm_core.campaigns.service import Problem as CampaignProblem
from crm_core.campaigns.stats import Verdict
from crm_core.profiles.service import ProfileProblem
from crm_core.segments.rules import Expect, Reason
from crm_core.vouchers.service import SpecProblem

RULE_REASONS = {
    Reason.NOT_AN_OBJECT: N_("Each node of a rule must be a JSON object."),
    Reason.UNKNOWN_NODE: N_("Unknown node \u201c{given}\u201d: use one of {detail}."),
    Reason.UNKNOWN_KEY: N_(
        "\u201c{given}\u201d is not a key of this node; allowed keys: {detail}."
    ),
    Reason.EMPTY_GROUP: N_("A group needs a list with at least one condition."),
    Reason.TOO_DEEP: N_("The rule is nested too deeply (at most {detail} levels)."),
    Reason.TOO_BIG: N_("The rule has too many nodes (at most {detail})."),
    Reason.MISSING: N_("This value is required."),
    Reason.UNKNOWN_FIELD: N_("There is no field or metric \u201c{given}\u201d; allowed: {detail}."),
    Reason.UNKNOWN_OPERATOR: N_(
        "The operator \u201c{given}\u201d cannot be used here; allowed: {detail}."
    ),
    Reason.BAD_VALUE: N_("This value is not valid here."),
    Reason.UNKNOWN_CATEGORY: N_("There is no category {detail} in the catalogue."),
    Reason.UNKNOWN_SEGMENT: N_("There is no segment {detail}."),
    Reason.UNKNOWN_STORE: N_("There is no store {detail}."),
    Reason.CYCLE: N_("Segments cannot refer to each other in a circle."),
    Reason.CONTROL_CHARACTER: N_(
        "The text contains an invisible control character ({detail}); remove it."
    ),
}
# What a refused value should have been (Reason.BAD_VALUE), said with its limits.
EXPECTATIONS = {
    Expect.CHOICE: N_("\u201c{given}\u201d is not allowed here; allowed: {detail}."),
    Expect.INTEGER: N_("A whole number from {low} to {high} is expected."),
    Expect.NUMBER: N_("A number from {low} to {high} is expected."),
    Expect.TEXT: N_("Text of {low} to {high} characters is expected."),
    Expect.BOOLEAN: N_("true or false is expected."),
    Expect.DATE: N_("A date (YYYY-MM-DD) from {low} to {high} is expected."),
    Expect.LIST: N_("A non-empty list of values is expected."),
    Expect.PAIR: N_("A pair [low, high] is expected."),
    Expect.ORDER: N_("The first value of the pair must not be greater than the second."),
}
RULE_INVALID = N_("The rule is not valid at \u201c{path}\u201d: {reason}")
QUERY_INVALID = N_("The query parameter \u201c{path}\u201d is not valid: {reason}")

PROFILE_PROBLEMS = {
    ProfileProblem.BAD_KEY: N_("A field key uses lowercase letters, digits and _ only."),
    ProfileProblem.KEY_TAKEN: N_("A field with the key {field} already exists."),
    ProfileProblem.BAD_KIND: N_("A field type is one of: {expected}."),
    ProfileProblem.NO_CHOICES: N_("A choice field needs its list of choices."),
    ProfileProblem.UNKNOWN_FIELD: N_("There is no field {field}."),
    ProfileProblem.BAD_VALUE: N_("The value of {field} is not valid (expected: {expected})."),
    ProfileProblem.BAD_NAME: N_(
        "A first name has letters, single spaces, hyphens and apostrophes only, at most 64 "
        "characters (the same rule as in the chat)."
    ),
    ProfileProblem.BAD_CITY: N_(
        "A city is one line of at most 64 characters, without control characters."
    ),
}

SEGMENT_NOT_FOUND = N_("There is no such segment.")
SEGMENT_NAME_TAKEN = N_("A segment with this name already exists.")
SEGMENT_PAUSED = N_("This segment is paused: resume it before rebuilding.")
SEGMENT_IN_USE = N_("Other segments are built on this one: change them first.")
SEGMENT_USED_BY_CAMPAIGNS = N_(
    "Campaigns use this segment (as audience or exclusion): {campaigns}. A segment cannot "
    "be deleted while a campaign uses it."
)
CUSTOMER_NOT_FOUND = N_("There is no such customer.")
CUSTOMER_ERASED = N_("This customer's personal data was erased on {date}.")
CUSTOMER_MERGED = N_("This customer was merged into customer {merged_into} on {date}.")
MERGE_REFUSED = {
    "same_customer": N_("A customer cannot be merged into themselves."),
    "already_merged": N_(
        "One of these customers was already merged into another customer: merge into the "
        "survivor instead."
    ),
    "customer_erased": N_("An erased customer cannot be merged."),
}
BAD_CURSOR = N_("This page cursor is not valid for this list; start from the first page.")
UNKNOWN_COLUMN = N_("There is no column {column}.")

CAMPAIGN_PROBLEMS = {
    CampaignProblem.REQUIRED: N_("This value is required."),
    CampaignProblem.UNKNOWN_SEGMENT: N_("There is no segment {detail}."),
    CampaignProblem.UNKNOWN_LANGUAGE: N_("Messages can be written in: {detail}."),
    CampaignProblem.NO_DEFAULT_MESSAGE: N_("There is no message in the default language."),
    CampaignProblem.UNKNOWN_PLACEHOLDER: N_(
        "Unknown placeholder {detail}: use first_name, card_number, products, voucher_code, "
        "voucher_value, voucher_title or voucher_expires."
    ),
    CampaignProblem.BROKEN_TEMPLATE: N_(
        "The template is broken near {detail}: write placeholders as {{first_name}}, and "
        "double the braces for a literal one."
    ),
    CampaignProblem.VOUCHER_PLACEHOLDER_WITHOUT_VOUCHER: N_(
        "The message mentions a voucher, but the campaign issues none."
    ),
    CampaignProblem.TOO_LONG: N_("The message is too long (at most {detail} characters)."),
    CampaignProblem.BAD_URL: N_("An image is given by an https:// address."),
    CampaignProblem.CONTROL_OUT_OF_RANGE: N_(
        "The control group is a whole percentage from 0 to 50."
    ),
    CampaignProblem.BAD_SCHEDULE: N_(
        "Schedule a campaign once (a moment with its UTC offset) or recurring (a cron "
        "expression); this one is not valid ({detail})."
    ),
    CampaignProblem.BAD_CRON: N_(
        "The cron expression \u201c{detail}\u201d is not valid: five fields are expected "
        "(minute, hour, day of month, month, day of week), e.g. 0 10 * * 1."
    ),
    CampaignProblem.CRON_NEVER_FIRES: N_("This schedule would never run: {detail}."),
    CampaignProblem.IN_THE_PAST: N_("This moment is in the past."),
    CampaignProblem.BAD_VOUCHER: N_("This voucher cannot be honoured: {detail}."),
    CampaignProblem.EMPTY_AUDIENCE: N_(
        "Nobody in this audience can receive the campaign (no consent or no messenger)."
    ),
    CampaignProblem.ONLY_PRODUCTS: N_(
        "The message needs words besides the {{products}} sentence: customers with nothing to "
        "recommend get it without that sentence."
    ),
    CampaignProblem.NOT_NOW: N_("A campaign that is {detail} cannot do this."),
}
STATUS_REASONS = {
    StatusReason.NOT_RUN_IN_GRACE: N_(
        "It did not run within {minutes} minutes of its moment, and a campaign is never sent "
        "late: is the scheduler (loyalty scheduler) running? Clone it to send it at a new moment."
    ),
}
# Why a voucher cannot be issued: clauses that end "This voucher cannot be issued: …" and
# "This voucher cannot be honoured: …" (codes from crm_core, never English sentences).
VOUCHER_PROBLEMS = {
    SpecProblem.ENDS_BEFORE_START: N_("its end must come after its start"),
    SpecProblem.NO_USES: N_("it must allow at least one use"),
    SpecProblem.PERCENT_OUT_OF_RANGE: N_("a percentage is more than 0 and at most 100"),
    SpecProblem.AMOUNT_WITHOUT_CURRENCY: N_("a fixed amount needs a positive value and a currency"),
    SpecProblem.PRODUCT_WITHOUT_SKU: N_("a free product voucher needs the product's SKU"),
    "unreadable": N_("its kind, value, minimum basket or validity cannot be read"),
    "validity_out_of_range": N_("it is valid for 1 to 366 days"),
}
# What a profile field expected, when crm_core names it with a word rather than values.
EXPECTED_WORDS = {
    "text": N_("text"),
    "number": N_("a number"),
    "true/false": N_("true or false"),
}
# A campaign's state, as the API's messages name it.
CAMPAIGN_STATES = {
    CampaignStatus.DRAFT: N_("a draft"),
    CampaignStatus.SCHEDULED: N_("scheduled"),
    CampaignStatus.RUNNING: N_("running"),
    CampaignStatus.DONE: N_("done"),
    CampaignStatus.PAUSED: N_("paused"),
    CampaignStatus.CANCELLED: N_("cancelled"),
    CampaignStatus.MISSED: N_("missed"),
}
CAMPAIGN_NOT_DRAFT = N_(
    "Only a draft can be changed, and this campaign is {state}: clone it and change the copy."
)
PRODUCTS_MISSING = N_(
    "{count} of the {total} sample recipients have no product to recommend: they get the "
    "message without the line (or sentence) that lists the products."
)
CAMPAIGN_INVALID = N_("The campaign is not valid at \u201c{path}\u201d: {reason}")
CAMPAIGN_NOT_FOUND = N_("There is no such campaign.")
RUN_NOT_FOUND = N_("This campaign has no such run.")
VERDICTS = {
    Verdict.SIGNIFICANT_GAIN: N_(
        "Significant: the campaign made a difference (confidence level {level})."
    ),
    Verdict.SIGNIFICANT_LOSS: N_(
        "Significant, but negative: the control group did better (confidence level {level})."
    ),
    Verdict.NO_SIGNIFICANT_DIFFERENCE: N_("No significant difference between the groups so far."),
    Verdict.NOT_ENOUGH_DATA: N_("Not enough data yet to tell."),
}

"""Segment rules: a JSON boolean tree of typed conditions, validated against a whitelist.

A rule is `{"all": [...]}`, `{"any": [...]}`, `{"not": {...}}` or a condition
`{"type": ..., ...}`. Validation turns the JSON into typed nodes or raises `RuleError`
naming the path of the bad node ("all[1].any[0].value") and a reason code; only validated
nodes reach the SQL compiler, which binds every value as a parameter.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from crm_core.text import describe, forbidden_character

MAX_DEPTH = 64  # any practical depth; the limit only stops abuse
MAX_NODES = 500
MAX_TEXT = 255
# Bounds that keep every comparison inside what dates, intervals and the databases' integer
# columns can hold, far beyond any real customer.
MAX_NUMBER = Decimal(10) ** 12
MAX_COUNT = 10**9  # receipts, custom integers
MAX_DAYS = 100_000  # about 270 years: any "days since"
MAX_AGE = 150
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2200, 12, 31)


class Reason(StrEnum):
    NOT_AN_OBJECT = "not_an_object"
    UNKNOWN_NODE = "unknown_node"
    UNKNOWN_KEY = "unknown_key"
    EMPTY_GROUP = "empty_group"
    TOO_DEEP = "too_deep"
    TOO_BIG = "too_big"
    MISSING = "missing"
    UNKNOWN_FIELD = "unknown_field"
    UNKNOWN_OPERATOR = "unknown_operator"
    BAD_VALUE = "bad_value"
    UNKNOWN_CATEGORY = "unknown_category"
    UNKNOWN_SEGMENT = "unknown_segment"
    UNKNOWN_STORE = "unknown_store"
    CYCLE = "cycle"
    CONTROL_CHARACTER = "control_character"


class Expect(StrEnum):
    """What a bad value should have been, for a message that says what is allowed."""

    CHOICE = "choice"  # one of `allowed`
    INTEGER = "integer"  # a whole number from low to high
    NUMBER = "number"  # a number from low to high
    TEXT = "text"  # text of at most `high` characters
    BOOLEAN = "boolean"
    DATE = "date"  # YYYY-MM-DD from low to high
    LIST = "list"  # a non-empty list
    PAIR = "pair"  # [low, high]
    ORDER = "order"  # a pair whose low is above its high


class RuleError(ValueError):
    """A rule refused at `path` for `reason`. `detail` names the limit or what is allowed
    (never the bad value: that is `given`); `expect` says what a bad value should be."""

    def __init__(
        self,
        path: str,
        reason: Reason,
        detail: str = "",
        *,
        given: Any = None,
        expect: Expect | None = None,
        low: Any = None,
        high: Any = None,
    ) -> None:
        super().__init__(f"{path}: {reason}{' (' + detail + ')' if detail else ''}")
        self.path = path
        self.reason = reason
        self.detail = detail
        self.given = None if given is None else str(given)[:80]
        self.expect = expect
        self.low = low
        self.high = high


def _choices(path: str, allowed: tuple[str, ...] | frozenset[str], given: Any) -> RuleError:
    return RuleError(path, Reason.BAD_VALUE, ", ".join(allowed), given=given, expect=Expect.CHOICE)


def _range(path: str, expect: Expect, low: Any, high: Any, given: Any = None) -> RuleError:
    return RuleError(
        path, Reason.BAD_VALUE, f"{low}..{high}", given=given, expect=expect, low=low, high=high
    )


class ValueType(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    INTEGER = "integer"
    MONEY = "money"
    DATE = "date"
    BOOLEAN = "boolean"
    CHOICE = "choice"


COMPARE = ("eq", "ne", "lt", "lte", "gt", "gte", "between", "is_set", "is_not_set")
OPERATORS: dict[ValueType, tuple[str, ...]] = {
    ValueType.TEXT: (
        "eq",
        "ne",
        "in",
        "not_in",
        "contains",
        "starts_with",
        "is_set",
        "is_not_set",
    ),
    ValueType.CHOICE: ("eq", "ne", "in", "not_in", "is_set", "is_not_set"),
    ValueType.BOOLEAN: ("eq", "is_set", "is_not_set"),
    ValueType.NUMBER: COMPARE,
    ValueType.INTEGER: COMPARE,
    ValueType.MONEY: COMPARE,
    ValueType.DATE: COMPARE,
}

# Profile fields a rule may name: (column expression key, type). Computed ones (age,
# days since registration) become comparisons on stored columns in the compiler.
PROFILE_FIELDS: dict[str, ValueType] = {
    "city": ValueType.TEXT,
    "gender": ValueType.CHOICE,
    "language": ValueType.CHOICE,
    "timezone": ValueType.TEXT,
    "birth_date": ValueType.DATE,
    "age": ValueType.INTEGER,
    "registered_at": ValueType.DATE,
    "days_since_registration": ValueType.INTEGER,
    "has_phone": ValueType.BOOLEAN,
}
METRICS: dict[str, ValueType] = {
    "total_spent": ValueType.MONEY,
    "receipts": ValueType.INTEGER,
    "avg_basket": ValueType.MONEY,
    "avg_items": ValueType.NUMBER,
    "first_purchase_at": ValueType.DATE,
    "last_purchase_at": ValueType.DATE,
    "days_since_last_purchase": ValueType.NUMBER,
    "days_since_first_purchase": ValueType.NUMBER,
    "typical_interval_days": ValueType.NUMBER,
    "favourite_category": ValueType.TEXT,
    "category_spend": ValueType.MONEY,
}
# Allowed ranges of numeric fields whose values become dates, intervals or integer columns.
RANGES: dict[str, tuple[Any, Any]] = {
    "age": (0, MAX_AGE),
    "days_since_registration": (0, MAX_DAYS),
    "receipts": (0, MAX_COUNT),
    "avg_items": (0, MAX_COUNT),
    "days_since_last_purchase": (0, MAX_DAYS),
    "days_since_first_purchase": (0, MAX_DAYS),
    "typical_interval_days": (0, MAX_DAYS),
}
RFM_SCORES = ("r", "f", "m")
RFM_SEGMENTS = (
    "champions",
    "loyal",
    "potential_loyalist",
    "new_customers",
    "promising",
    "need_attention",
    "about_to_sleep",
    "at_risk",
    "cant_lose_them",
    "hibernating",
    "lost",
)
STAGES = ("registered", "new", "regular", "lapsing", "lost")
CHANNELS = ("telegram", "viber", "webchat")
CONSENTS = ("marketing",)
EVENT_KINDS = (
    "registered",
    "opened_offer",
    "clicked_button",
    "rated_purchase",
    "answered_survey",
    "opted_out",
)
FIELD_KINDS = {
    "text": ValueType.TEXT,
    "number": ValueType.NUMBER,
    "boolean": ValueType.BOOLEAN,
    "date": ValueType.DATE,
    "choice": ValueType.CHOICE,
}


@dataclass(frozen=True)
class Comparison:
    op: str
    value: Any = None  # a scalar, a (low, high) pair for between, a tuple for in/not_in


@dataclass(frozen=True)
class Group:
    kind: str  # all | any
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    child: Node


@dataclass(frozen=True)
class ProfileCondition:
    field: str
    comparison: Comparison


@dataclass(frozen=True)
class CustomFieldCondition:
    field_id: int
    kind: ValueType
    comparison: Comparison


@dataclass(frozen=True)
class ConsentCondition:
    purpose: str
    granted: bool


@dataclass(frozen=True)
class ChannelCondition:
    channel: str
    reachable: bool


@dataclass(frozen=True)
class MetricCondition:
    metric: str
    comparison: Comparison
    category: str | None = None


@dataclass(frozen=True)
class RfmScoreCondition:
    score: str
    comparison: Comparison


@dataclass(frozen=True)
class ChoiceCondition:
    """RFM segment name or lifecycle stage, in or not in a set of names."""

    what: str  # rfm_segment | lifecycle
    names: tuple[str, ...]
    negate: bool


@dataclass(frozen=True)
class PurchasedCondition:
    category: str | None
    sku: str | None
    store: str | None
    within_days: int | None
    min_times: int
    min_sum: Decimal | None


@dataclass(frozen=True)
class BasketCondition:
    measure: str  # value | items
    comparison: Comparison
    within_days: int | None
    min_times: int


@dataclass(frozen=True)
class EventCondition:
    kind: str
    within_days: int | None
    min_times: int


@dataclass(frozen=True)
class SegmentCondition:
    segment_id: int
    member: bool


@dataclass(frozen=True)
class BirthdayCondition:
    """A birthday within the next `within_days` days (0: today) in the customer's own time
    zone, or in `month` (1-12). In a year without 29 February, that birthday is on the 28th."""

    within_days: int | None
    month: int | None


Node = (
    Group
    | Not
    | ProfileCondition
    | CustomFieldCondition
    | ConsentCondition
    | ChannelCondition
    | MetricCondition
    | RfmScoreCondition
    | ChoiceCondition
    | PurchasedCondition
    | BasketCondition
    | EventCondition
    | SegmentCondition
    | BirthdayCondition
)


@dataclass(frozen=True)
class CustomFieldInfo:
    id: int
    kind: str
    choices: tuple[str, ...] = ()


@dataclass
class Catalogue:
    """What the rule may refer to: looked up once per validation, not per node."""

    custom_fields: Mapping[str, CustomFieldInfo] = field(default_factory=dict)
    category_paths: frozenset[str] = frozenset()
    store_codes: frozenset[str] = frozenset()
    segment_ids: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Rule:
    root: Node
    depends_on: tuple[int, ...]
    # What data the rule reads: purchases, metrics, profile, custom, consent, channel,
    # events, segments; and "time" when the answer changes by itself as days pass.
    reads: frozenset[str]


class _Validator:
    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue
        self.segments: set[int] = set()
        self.reads: set[str] = set()
        self.count = 0

    def node(self, raw: Any, path: str, depth: int) -> Node:
        self.count += 1
        if self.count > MAX_NODES:
            raise RuleError(path, Reason.TOO_BIG, str(MAX_NODES))
        if depth > MAX_DEPTH:
            raise RuleError(path, Reason.TOO_DEEP, str(MAX_DEPTH))
        if not isinstance(raw, dict):
            raise RuleError(path, Reason.NOT_AN_OBJECT)
        for kind in ("all", "any"):
            if kind in raw:
                self._only(raw, {kind}, path)
                children = raw[kind]
                if not isinstance(children, list) or not children:
                    raise RuleError(f"{path}.{kind}" if path else kind, Reason.EMPTY_GROUP)
                prefix = f"{path}.{kind}" if path else kind
                return Group(
                    kind,
                    tuple(
                        self.node(child, f"{prefix}[{i}]", depth + 1)
                        for i, child in enumerate(children)
                    ),
                )
        if "not" in raw:
            self._only(raw, {"not"}, path)
            return Not(self.node(raw["not"], f"{path}.not" if path else "not", depth + 1))
        kind = raw.get("type")
        condition = CONDITIONS.get(kind) if isinstance(kind, str) else None
        if condition is None:
            if "type" not in raw:
                raise RuleError(path, Reason.UNKNOWN_NODE, NODE_NAMES, given=_keys(raw))
            raise RuleError(_join(path, "type"), Reason.UNKNOWN_NODE, NODE_NAMES, given=kind)
        self._only(raw, condition.keys, path)
        return condition.build(self, raw, path)

    # -- conditions --------------------------------------------------------------------

    def _profile(self, raw: dict, path: str) -> Node:
        name = self._required(raw, "field", path)
        if name not in PROFILE_FIELDS:
            raise _unknown_field(path, "field", PROFILE_FIELDS, name)
        self.reads.add("profile")
        if name in {"age", "days_since_registration"}:
            self.reads.add("time")
        comparison = self._comparison(raw, path, PROFILE_FIELDS[name], bounds=RANGES.get(name))
        return ProfileCondition(name, comparison)

    def _custom_field(self, raw: dict, path: str) -> Node:
        key = self._required(raw, "field", path)
        info = self.catalogue.custom_fields.get(key) if isinstance(key, str) else None
        if info is None:
            raise _unknown_field(path, "field", self.catalogue.custom_fields, key)
        kind = FIELD_KINDS[info.kind]
        comparison = self._comparison(raw, path, kind, choices=info.choices)
        self.reads.add("custom")
        return CustomFieldCondition(info.id, kind, comparison)

    def _consent(self, raw: dict, path: str) -> Node:
        purpose = raw.get("purpose", "marketing")
        if purpose not in CONSENTS:
            raise _choices(_join(path, "purpose"), CONSENTS, purpose)
        self.reads.add("consent")
        return ConsentCondition(purpose, self._bool(raw, "granted", path, default=True))

    def _channel(self, raw: dict, path: str) -> Node:
        channel = self._required(raw, "channel", path)
        if channel not in CHANNELS:
            raise _choices(_join(path, "channel"), CHANNELS, channel)
        self.reads.add("channel")
        return ChannelCondition(channel, self._bool(raw, "reachable", path, default=True))

    def _metric(self, raw: dict, path: str) -> Node:
        name = self._required(raw, "metric", path)
        if name not in METRICS:
            raise _unknown_field(path, "metric", METRICS, name)
        category = None
        if name == "category_spend":
            category = self._category(raw, path, required=True)
        elif "category" in raw:
            raise RuleError(
                _join(path, "category"),
                Reason.UNKNOWN_KEY,
                ", ".join(sorted(METRIC_KEYS - {"category"})),
                given="category",
            )
        self.reads.add("metrics")
        if name.startswith("days_since"):
            self.reads.add("time")
        comparison = self._comparison(raw, path, METRICS[name], bounds=RANGES.get(name))
        return MetricCondition(name, comparison, category)

    def _rfm(self, raw: dict, path: str) -> Node:
        score = self._required(raw, "score", path)
        if score not in RFM_SCORES:
            raise _unknown_field(path, "score", RFM_SCORES, score)
        comparison = self._comparison(raw, path, ValueType.INTEGER, bounds=(1, 5))
        self.reads.add("metrics")
        return RfmScoreCondition(score, comparison)

    def _rfm_segment(self, raw: dict, path: str) -> Node:
        return self._names(raw, path, "rfm_segment", RFM_SEGMENTS)

    def _lifecycle(self, raw: dict, path: str) -> Node:
        self.reads.add("time")
        return self._names(raw, path, "lifecycle", STAGES)

    def _purchased(self, raw: dict, path: str) -> Node:
        category = self._category(raw, path, required=False)
        sku = raw.get("sku")
        if sku is not None:
            sku = self._text(sku, _join(path, "sku"))
            if not sku.strip():
                raise _range(_join(path, "sku"), Expect.TEXT, 1, MAX_TEXT)
        store = self._store(raw, path)
        min_sum = raw.get("min_sum")
        if min_sum is not None:
            min_sum = self._decimal(min_sum, _join(path, "min_sum"), (0, MAX_NUMBER))
        self.reads.add("purchases")
        within = self._within(raw, path)
        return PurchasedCondition(
            category,
            sku.strip() if sku else None,
            store,
            within,
            self._positive_int(raw, "min_times", path, default=1),
            min_sum,
        )

    def _basket(self, raw: dict, path: str) -> Node:
        measure = raw.get("measure", "value")
        if measure not in MEASURES:
            raise _choices(_join(path, "measure"), MEASURES, measure)
        kind = ValueType.MONEY if measure == "value" else ValueType.NUMBER
        operators = tuple(op for op in OPERATORS[kind] if op not in {"is_set", "is_not_set"})
        comparison = self._comparison(raw, path, kind, operators=operators)
        self.reads.add("purchases")
        return BasketCondition(
            measure,
            comparison,
            self._within(raw, path),
            self._positive_int(raw, "min_times", path, default=1),
        )

    def _store(self, raw: dict, path: str) -> str | None:
        store = raw.get("store")
        if store is None:
            return None
        if store not in self.catalogue.store_codes:
            raise RuleError(_join(path, "store"), Reason.UNKNOWN_STORE, str(store))
        return store

    def _event(self, raw: dict, path: str) -> Node:
        kind = self._required(raw, "kind", path)
        if kind not in EVENT_KINDS:
            raise _choices(_join(path, "kind"), EVENT_KINDS, kind)
        self.reads.add("events")
        return EventCondition(
            kind, self._within(raw, path), self._positive_int(raw, "min_times", path, default=1)
        )

    def _segment(self, raw: dict, path: str) -> Node:
        segment_id = self._required(raw, "segment_id", path)
        if (
            isinstance(segment_id, bool)
            or not isinstance(segment_id, int)
            or segment_id not in self.catalogue.segment_ids
        ):
            raise RuleError(_join(path, "segment_id"), Reason.UNKNOWN_SEGMENT, str(segment_id))
        self.segments.add(segment_id)
        self.reads.add("segments")
        return SegmentCondition(segment_id, self._bool(raw, "member", path, default=True))

    def _birthday(self, raw: dict, path: str) -> Node:
        within, month = raw.get("within_days"), raw.get("month")
        if (within is None) == (month is None):
            raise RuleError(
                path if within is None else _join(path, "month"),
                Reason.MISSING if within is None else Reason.UNKNOWN_KEY,
                "within_days, month",
                given=None if within is None else "month",
            )
        self.reads.add("profile")
        if month is not None:
            return BirthdayCondition(None, self._whole(month, _join(path, "month"), (1, 12)))
        self.reads.add("time")
        days = self._whole(within, _join(path, "within_days"), (0, MAX_BIRTHDAY_DAYS))
        return BirthdayCondition(days, None)

    # -- pieces ------------------------------------------------------------------------

    def _names(self, raw: dict, path: str, what: str, allowed: tuple[str, ...]) -> Node:
        op = raw.get("op", "in")
        if op not in NAME_OPERATORS:
            raise RuleError(
                _join(path, "op"), Reason.UNKNOWN_OPERATOR, ", ".join(NAME_OPERATORS), given=op
            )
        value = self._required(raw, "value", path)
        names = (value,) if op in {"eq", "ne"} else value
        if not isinstance(names, (list, tuple)) or not names:
            raise RuleError(_join(path, "value"), Reason.BAD_VALUE, expect=Expect.LIST)
        for index, name in enumerate(names):
            if name not in allowed:
                where = _join(path, "value") + ("" if op in {"eq", "ne"} else f"[{index}]")
                raise _choices(where, allowed, name)
        self.reads.add("metrics")
        return ChoiceCondition(what, tuple(names), negate=op in {"ne", "not_in"})

    def _comparison(
        self,
        raw: dict,
        path: str,
        kind: ValueType,
        choices: tuple[str, ...] = (),
        bounds: tuple[Any, Any] | None = None,
        operators: tuple[str, ...] | None = None,
    ) -> Comparison:
        op = raw.get("op", "eq")
        allowed = operators or OPERATORS[kind]
        if op not in allowed:
            raise RuleError(
                _join(path, "op"), Reason.UNKNOWN_OPERATOR, ", ".join(allowed), given=op
            )
        where = _join(path, "value")
        if op in {"is_set", "is_not_set"}:
            if "value" in raw:
                raise RuleError(
                    where,
                    Reason.UNKNOWN_KEY,
                    ", ".join(sorted(set(raw) - {"value"})),
                    given="value",
                )
            return Comparison(op)
        value = self._required(raw, "value", path)
        if op == "between":
            if not isinstance(value, list) or len(value) != 2:
                raise RuleError(where, Reason.BAD_VALUE, expect=Expect.PAIR)
            low, high = (
                self._typed(v, kind, f"{where}[{i}]", choices, bounds) for i, v in enumerate(value)
            )
            if low > high:
                raise RuleError(where, Reason.BAD_VALUE, expect=Expect.ORDER)
            return Comparison(op, (low, high))
        if op in {"in", "not_in"}:
            if not isinstance(value, list) or not value:
                raise RuleError(where, Reason.BAD_VALUE, expect=Expect.LIST)
            return Comparison(
                op,
                tuple(
                    self._typed(v, kind, f"{where}[{i}]", choices, bounds)
                    for i, v in enumerate(value)
                ),
            )
        return Comparison(op, self._typed(value, kind, where, choices, bounds))

    def _typed(
        self,
        value: Any,
        kind: ValueType,
        where: str,
        choices: tuple[str, ...],
        bounds: tuple[Any, Any] | None = None,
    ) -> Any:
        if kind in {ValueType.TEXT, ValueType.CHOICE}:
            text = self._text(value, where)
            if kind is ValueType.CHOICE and choices and text not in choices:
                raise _choices(where, choices, text)
            return text
        if kind is ValueType.BOOLEAN:
            if not isinstance(value, bool):
                raise RuleError(where, Reason.BAD_VALUE, given=value, expect=Expect.BOOLEAN)
            return value
        if kind is ValueType.DATE:
            day = None
            if isinstance(value, str) and len(value) == 10:
                try:
                    day = date.fromisoformat(value)
                except ValueError:
                    day = None
            if day is None or not EARLIEST_DATE <= day <= LATEST_DATE:
                raise _range(
                    where, Expect.DATE, EARLIEST_DATE.isoformat(), LATEST_DATE.isoformat(), value
                )
            return day
        if kind is ValueType.INTEGER:
            return self._whole(value, where, bounds or (0, MAX_COUNT))
        return self._decimal(value, where, bounds or (-MAX_NUMBER, MAX_NUMBER))

    @staticmethod
    def _text(value: Any, where: str) -> str:
        if not isinstance(value, str) or len(value) > MAX_TEXT:
            raise _range(where, Expect.TEXT, 0, MAX_TEXT)
        bad = forbidden_character(value)
        if bad is not None:
            raise RuleError(where, Reason.CONTROL_CHARACTER, describe(bad))
        return value

    @staticmethod
    def _whole(value: Any, where: str, bounds: tuple[int, int]) -> int:
        low, high = bounds
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise _range(where, Expect.INTEGER, low, high, value)
        return value

    @staticmethod
    def _decimal(value: Any, where: str, bounds: tuple[Any, Any]) -> Decimal:
        low, high = bounds
        refused = _range(where, Expect.NUMBER, low, high, value)
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise refused
        if isinstance(value, str) and len(value) > 40:
            raise refused
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise refused from None
        if not number.is_finite() or not low <= number <= high:
            raise refused
        return number

    def _category(self, raw: dict, path: str, required: bool) -> str | None:
        category = raw.get("category")
        if category is None and not required:
            return None
        where = _join(path, "category")
        if category is None:
            raise RuleError(where, Reason.MISSING)
        category = self._text(category, where)
        if category.strip("/ ") == "":
            raise _range(where, Expect.TEXT, 1, MAX_TEXT)
        category = "/".join(part.strip() for part in category.strip("/").split("/"))
        if category not in self.catalogue.category_paths:
            raise RuleError(where, Reason.UNKNOWN_CATEGORY, category)
        return category

    def _within(self, raw: dict, path: str) -> int | None:
        if raw.get("within_days") is None:
            return None
        self.reads.add("time")
        return self._positive_int(raw, "within_days", path, default=None, maximum=36500)

    def _positive_int(
        self, raw: dict, key: str, path: str, default: int | None, maximum: int = 10**6
    ) -> Any:
        value = raw.get(key, default)
        if value is default:
            return value
        return self._whole(value, _join(path, key), (1, maximum))

    @staticmethod
    def _bool(raw: dict, key: str, path: str, default: bool) -> bool:
        value = raw.get(key, default)
        if not isinstance(value, bool):
            raise RuleError(_join(path, key), Reason.BAD_VALUE, given=value, expect=Expect.BOOLEAN)
        return value

    @staticmethod
    def _required(raw: dict, key: str, path: str) -> Any:
        if key not in raw or raw[key] is None:
            raise RuleError(_join(path, key), Reason.MISSING)
        return raw[key]

    @staticmethod
    def _only(raw: dict, keys: frozenset[str] | set[str], path: str) -> None:
        extra = sorted(str(key) for key in set(raw) - keys)
        if extra:
            raise RuleError(
                _join(path, extra[0]), Reason.UNKNOWN_KEY, ", ".join(sorted(keys)), given=extra[0]
            )


@dataclass(frozen=True)
class _Condition:
    """One condition type: the keys it takes and the validator method that builds it."""

    keys: frozenset[str]
    build: Callable[[_Validator, dict, str], Node]


COMPARED = frozenset({"type", "op", "value"})
METRIC_KEYS = COMPARED | {"metric", "category"}
WINDOW = frozenset({"within_days", "min_times"})
MEASURES = ("value", "items")
NAME_OPERATORS = ("eq", "ne", "in", "not_in")
MAX_BIRTHDAY_DAYS = 366
# The explicit table of condition types: nothing outside it is ever called by name.
CONDITIONS: dict[str, _Condition] = {
    "profile": _Condition(COMPARED | {"field"}, _Validator._profile),
    "custom_field": _Condition(COMPARED | {"field"}, _Validator._custom_field),
    "consent": _Condition(frozenset({"type", "purpose", "granted"}), _Validator._consent),
    "channel": _Condition(frozenset({"type", "channel", "reachable"}), _Validator._channel),
    "metric": _Condition(METRIC_KEYS, _Validator._metric),
    "rfm": _Condition(COMPARED | {"score"}, _Validator._rfm),
    "rfm_segment": _Condition(COMPARED, _Validator._rfm_segment),
    "lifecycle": _Condition(COMPARED, _Validator._lifecycle),
    "purchased": _Condition(
        WINDOW | {"type", "category", "sku", "store", "min_sum"}, _Validator._purchased
    ),
    "basket": _Condition(COMPARED | WINDOW | {"measure"}, _Validator._basket),
    "event": _Condition(WINDOW | {"type", "kind"}, _Validator._event),
    "segment": _Condition(frozenset({"type", "segment_id", "member"}), _Validator._segment),
    "birthday": _Condition(frozenset({"type", "within_days", "month"}), _Validator._birthday),
}
NODE_NAMES = "all, any, not, " + ", ".join(CONDITIONS)


def _keys(raw: dict) -> str:
    return ", ".join(sorted(str(key) for key in raw))[:80]


def _unknown_field(path: str, key: str, allowed: Mapping | tuple, given: Any) -> RuleError:
    return RuleError(_join(path, key), Reason.UNKNOWN_FIELD, ", ".join(allowed), given=given)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def validate_rule(raw: Any, catalogue: Catalogue) -> Rule:
    validator = _Validator(catalogue)
    root = validator.node(raw, "", 0)
    return Rule(root, tuple(sorted(validator.segments)), frozenset(validator.reads))

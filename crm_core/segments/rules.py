"""Segment rules: a JSON boolean tree of typed conditions, validated against a whitelist.

A rule is `{"all": [...]}`, `{"any": [...]}`, `{"not": {...}}` or a condition
`{"type": ..., ...}`. Validation turns the JSON into typed nodes or raises `RuleError`
naming the path of the bad node ("all[1].any[0].value") and a reason code; only validated
nodes reach the SQL compiler, which binds every value as a parameter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

MAX_DEPTH = 64  # any practical depth; the limit only stops abuse
MAX_NODES = 500


class Reason(StrEnum):
    NOT_AN_OBJECT = "not_an_object"
    UNKNOWN_NODE = "unknown_node"
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


class RuleError(ValueError):
    def __init__(self, path: str, reason: Reason, detail: str = "") -> None:
        super().__init__(f"{path}: {reason}{' (' + detail + ')' if detail else ''}")
        self.path = path
        self.reason = reason
        self.detail = detail


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
        handler = getattr(self, f"_{kind}", None) if isinstance(kind, str) else None
        if handler is None:
            raise RuleError(_join(path, "type"), Reason.UNKNOWN_NODE, str(kind or ""))
        return handler(raw, path)

    # -- conditions --------------------------------------------------------------------

    def _profile(self, raw: dict, path: str) -> Node:
        name = self._required(raw, "field", path)
        if name not in PROFILE_FIELDS:
            raise RuleError(_join(path, "field"), Reason.UNKNOWN_FIELD, str(name))
        self.reads.add("profile")
        if name in {"age", "days_since_registration"}:
            self.reads.add("time")
        return ProfileCondition(name, self._comparison(raw, path, PROFILE_FIELDS[name]))

    def _custom_field(self, raw: dict, path: str) -> Node:
        key = self._required(raw, "field", path)
        info = self.catalogue.custom_fields.get(key) if isinstance(key, str) else None
        if info is None:
            raise RuleError(_join(path, "field"), Reason.UNKNOWN_FIELD, str(key))
        kind = FIELD_KINDS[info.kind]
        comparison = self._comparison(raw, path, kind, choices=info.choices)
        self.reads.add("custom")
        return CustomFieldCondition(info.id, kind, comparison)

    def _consent(self, raw: dict, path: str) -> Node:
        purpose = raw.get("purpose", "marketing")
        if purpose not in CONSENTS:
            raise RuleError(_join(path, "purpose"), Reason.BAD_VALUE, str(purpose))
        self.reads.add("consent")
        return ConsentCondition(purpose, self._bool(raw, "granted", path, default=True))

    def _channel(self, raw: dict, path: str) -> Node:
        channel = self._required(raw, "channel", path)
        if channel not in CHANNELS:
            raise RuleError(_join(path, "channel"), Reason.BAD_VALUE, str(channel))
        self.reads.add("channel")
        return ChannelCondition(channel, self._bool(raw, "reachable", path, default=True))

    def _metric(self, raw: dict, path: str) -> Node:
        name = self._required(raw, "metric", path)
        if name not in METRICS:
            raise RuleError(_join(path, "metric"), Reason.UNKNOWN_FIELD, str(name))
        category = None
        if name == "category_spend":
            category = self._category(raw, path, required=True)
        self.reads.add("metrics")
        if name.startswith("days_since"):
            self.reads.add("time")
        return MetricCondition(name, self._comparison(raw, path, METRICS[name]), category)

    def _rfm(self, raw: dict, path: str) -> Node:
        score = self._required(raw, "score", path)
        if score not in RFM_SCORES:
            raise RuleError(_join(path, "score"), Reason.UNKNOWN_FIELD, str(score))
        comparison = self._comparison(raw, path, ValueType.INTEGER)
        for value in _scalars(comparison):
            if not 1 <= value <= 5:
                raise RuleError(_join(path, "value"), Reason.BAD_VALUE, "1..5")
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
        if sku is not None and (not isinstance(sku, str) or not sku.strip()):
            raise RuleError(_join(path, "sku"), Reason.BAD_VALUE)
        store = self._store(raw, path)
        min_sum = raw.get("min_sum")
        if min_sum is not None:
            min_sum = self._decimal(min_sum, _join(path, "min_sum"))
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
        if measure not in {"value", "items"}:
            raise RuleError(_join(path, "measure"), Reason.BAD_VALUE, str(measure))
        kind = ValueType.MONEY if measure == "value" else ValueType.NUMBER
        comparison = self._comparison(raw, path, kind)
        if comparison.op in {"is_set", "is_not_set"}:
            raise RuleError(_join(path, "op"), Reason.UNKNOWN_OPERATOR, comparison.op)
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
            raise RuleError(_join(path, "kind"), Reason.BAD_VALUE, str(kind))
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

    # -- pieces ------------------------------------------------------------------------

    def _names(self, raw: dict, path: str, what: str, allowed: tuple[str, ...]) -> Node:
        op = raw.get("op", "in")
        if op not in {"eq", "ne", "in", "not_in"}:
            raise RuleError(_join(path, "op"), Reason.UNKNOWN_OPERATOR, str(op))
        value = self._required(raw, "value", path)
        names = (value,) if op in {"eq", "ne"} else value
        if not isinstance(names, (list, tuple)) or not names:
            raise RuleError(_join(path, "value"), Reason.BAD_VALUE)
        for name in names:
            if name not in allowed:
                raise RuleError(_join(path, "value"), Reason.BAD_VALUE, str(name))
        self.reads.add("metrics")
        return ChoiceCondition(what, tuple(names), negate=op in {"ne", "not_in"})

    def _comparison(
        self, raw: dict, path: str, kind: ValueType, choices: tuple[str, ...] = ()
    ) -> Comparison:
        op = raw.get("op", "eq")
        if op not in OPERATORS[kind]:
            raise RuleError(_join(path, "op"), Reason.UNKNOWN_OPERATOR, str(op))
        where = _join(path, "value")
        if op in {"is_set", "is_not_set"}:
            return Comparison(op)
        value = self._required(raw, "value", path)
        if op == "between":
            if not isinstance(value, list) or len(value) != 2:
                raise RuleError(where, Reason.BAD_VALUE, "[low, high]")
            low, high = (self._typed(v, kind, where, choices) for v in value)
            if low > high:
                raise RuleError(where, Reason.BAD_VALUE, "low > high")
            return Comparison(op, (low, high))
        if op in {"in", "not_in"}:
            if not isinstance(value, list) or not value:
                raise RuleError(where, Reason.BAD_VALUE, "[...]")
            return Comparison(op, tuple(self._typed(v, kind, where, choices) for v in value))
        return Comparison(op, self._typed(value, kind, where, choices))

    def _typed(self, value: Any, kind: ValueType, where: str, choices: tuple[str, ...]) -> Any:
        if kind in {ValueType.TEXT, ValueType.CHOICE}:
            if not isinstance(value, str) or len(value) > 255:
                raise RuleError(where, Reason.BAD_VALUE, "text")
            if kind is ValueType.CHOICE and choices and value not in choices:
                raise RuleError(where, Reason.BAD_VALUE, value)
            return value
        if kind is ValueType.BOOLEAN:
            if not isinstance(value, bool):
                raise RuleError(where, Reason.BAD_VALUE, "true/false")
            return value
        if kind is ValueType.DATE:
            try:
                return date.fromisoformat(value) if isinstance(value, str) else _fail()
            except ValueError:
                raise RuleError(where, Reason.BAD_VALUE, "YYYY-MM-DD") from None
        if kind is ValueType.INTEGER:
            if isinstance(value, bool) or not isinstance(value, int):
                raise RuleError(where, Reason.BAD_VALUE, "integer")
            return value
        return self._decimal(value, where)

    @staticmethod
    def _decimal(value: Any, where: str) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise RuleError(where, Reason.BAD_VALUE, "number")
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise RuleError(where, Reason.BAD_VALUE, "number") from None
        if not number.is_finite() or abs(number) > Decimal(10) ** 12:
            raise RuleError(where, Reason.BAD_VALUE, "number")
        return number

    def _category(self, raw: dict, path: str, required: bool) -> str | None:
        category = raw.get("category")
        if category is None and not required:
            return None
        if not isinstance(category, str) or category.strip("/ ") == "":
            raise RuleError(
                _join(path, "category"), Reason.MISSING if category is None else Reason.BAD_VALUE
            )
        category = "/".join(part.strip() for part in category.strip("/").split("/"))
        if category not in self.catalogue.category_paths:
            raise RuleError(_join(path, "category"), Reason.UNKNOWN_CATEGORY, category)
        return category

    def _within(self, raw: dict, path: str) -> int | None:
        if raw.get("within_days") is None:
            return None
        self.reads.add("time")
        return self._positive_int(raw, "within_days", path, default=None, maximum=36500)

    @staticmethod
    def _positive_int(
        raw: dict, key: str, path: str, default: int | None, maximum: int = 10**6
    ) -> Any:
        value = raw.get(key, default)
        if value is default:
            return value
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
            raise RuleError(_join(path, key), Reason.BAD_VALUE, f"1..{maximum}")
        return value

    @staticmethod
    def _bool(raw: dict, key: str, path: str, default: bool) -> bool:
        value = raw.get(key, default)
        if not isinstance(value, bool):
            raise RuleError(_join(path, key), Reason.BAD_VALUE, "true/false")
        return value

    @staticmethod
    def _required(raw: dict, key: str, path: str) -> Any:
        if key not in raw or raw[key] is None:
            raise RuleError(_join(path, key), Reason.MISSING)
        return raw[key]

    @staticmethod
    def _only(raw: dict, keys: set[str], path: str) -> None:
        extra = set(raw) - keys
        if extra:
            raise RuleError(_join(path, sorted(extra)[0]), Reason.UNKNOWN_NODE)


def _fail() -> Any:
    raise ValueError


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _scalars(comparison: Comparison) -> list[Any]:
    if comparison.value is None:
        return []
    if isinstance(comparison.value, tuple):
        return list(comparison.value)
    return [comparison.value]


def validate_rule(raw: Any, catalogue: Catalogue) -> Rule:
    validator = _Validator(catalogue)
    root = validator.node(raw, "", 0)
    return Rule(root, tuple(sorted(validator.segments)), frozenset(validator.reads))

"""Compile a validated rule into one parameterised SQL query over customers.

The query selects `c.id` from live (not erased) customers joined with their metrics row.
Every condition is made two-valued (unknown counts as false) so that `not` means "everyone
else", and every value is a bound parameter: the SQL text comes only from this module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from crm_core.metrics.service import to_minor
from crm_core.segments.rules import (
    BasketCondition,
    BirthdayCondition,
    ChannelCondition,
    ChoiceCondition,
    Comparison,
    ConsentCondition,
    CustomFieldCondition,
    EventCondition,
    Group,
    MetricCondition,
    Node,
    Not,
    ProfileCondition,
    PurchasedCondition,
    RfmScoreCondition,
    SegmentCondition,
    ValueType,
)
from crm_core.sql import Dialect, Params

BASE_FROM = (
    "FROM customers c LEFT JOIN customer_metrics m ON m.customer_id = c.id "
    "WHERE c.erased_at IS NULL"
)

_SQL_OPS = {"eq": "=", "ne": "<>", "lt": "<", "lte": "<=", "gt": ">", "gte": ">="}
# Reversing a comparison of "days ago" into one of timestamps.
_MIRROR = {"lt": "gt", "lte": "gte", "gt": "lt", "gte": "lte", "eq": "eq", "ne": "ne"}


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass
class Compiler:
    dialect: Dialect
    params: Params
    now: datetime
    # The placeholder of one customer's id when judging just them: purchase subqueries then
    # read that customer's rows by index instead of everyone's.
    only_customer: str | None = None

    def _one(self, column: str) -> list[str]:
        return [f"{column} = {self.only_customer}"] if self.only_customer else []

    # -- entry points ----------------------------------------------------------------------

    def condition(self, node: Node) -> str:
        if isinstance(node, Group):
            joiner = " AND " if node.kind == "all" else " OR "
            return "(" + joiner.join(self.condition(child) for child in node.children) + ")"
        if isinstance(node, Not):
            return f"(NOT {self.condition(node.child)})"
        method = _COMPILERS[type(node)]
        return f"COALESCE(({method(self, node)}), FALSE)"

    # -- comparisons -------------------------------------------------------------------------

    def compare(self, column: str, comparison: Comparison, convert=lambda v: v) -> str:
        op, value = comparison.op, comparison.value
        if op == "is_set":
            return f"{column} IS NOT NULL"
        if op == "is_not_set":
            return f"{column} IS NULL"
        if op == "between":
            low, high = value
            return f"{column} BETWEEN {self.params(convert(low))} AND {self.params(convert(high))}"
        if op in {"in", "not_in"}:
            keyword = "IN" if op == "in" else "NOT IN"
            return f"{column} {keyword} {self.params.many([convert(v) for v in value])}"
        if op == "contains":
            pattern = "%" + _like_escape(value.lower()) + "%"
            return f"LOWER({column}) LIKE {self.params(pattern)} ESCAPE '\\'"
        if op == "starts_with":
            return (
                f"LOWER({column}) LIKE {self.params(_like_escape(value.lower()) + '%')} ESCAPE '\\'"
            )
        return f"{column} {_SQL_OPS[op]} {self.params(convert(value))}"

    def _days_ago(self, column: str, comparison: Comparison) -> str:
        """'N days since X' compared as 'X compared with now - N days' (index friendly)."""
        op = comparison.op
        if op in {"is_set", "is_not_set"}:
            return self.compare(column, comparison)

        def moment(days: Decimal | int) -> datetime:
            return self.now - timedelta(days=float(days))

        if op == "between":
            low, high = comparison.value
            return f"{column} BETWEEN {self.params(moment(high))} AND {self.params(moment(low))}"
        if op in {"eq", "ne"}:
            # "exactly N days ago" means during that day.
            days = comparison.value
            start, end = moment(Decimal(days) + 1), moment(days)
            inside = f"{column} > {self.params(start)} AND {column} <= {self.params(end)}"
            return inside if op == "eq" else f"{column} IS NOT NULL AND NOT ({inside})"
        return self.compare(column, Comparison(_MIRROR[op], comparison.value), moment)

    def _start_of(self, day: date) -> datetime:
        return datetime.combine(day, time.min, UTC)

    def _date_of_timestamp(self, column: str, comparison: Comparison) -> str:
        """Calendar-date comparisons on a timestamp column, as half-open UTC day ranges."""
        op, value = comparison.op, comparison.value
        if op in {"is_set", "is_not_set"}:
            return self.compare(column, comparison)
        day = timedelta(days=1)
        if op == "between":
            low, high = value
            return (
                f"{column} >= {self.params(self._start_of(low))} AND "
                f"{column} < {self.params(self._start_of(high) + day)}"
            )
        if op in {"eq", "ne"}:
            inside = (
                f"{column} >= {self.params(self._start_of(value))} AND "
                f"{column} < {self.params(self._start_of(value) + day)}"
            )
            return inside if op == "eq" else f"{column} IS NOT NULL AND NOT ({inside})"
        if op in {"lt", "gte"}:
            return f"{column} {_SQL_OPS[op]} {self.params(self._start_of(value))}"
        # lte / gt: up to the end of that day
        return f"{column} {'<' if op == 'lte' else '>='} {self.params(self._start_of(value) + day)}"

    def _cutoff(self, within_days: int | None) -> datetime | None:
        return None if within_days is None else self.now - timedelta(days=within_days)

    # -- conditions --------------------------------------------------------------------------

    def _ProfileCondition(self, node: ProfileCondition) -> str:
        field, comparison = node.field, node.comparison
        if field == "age":
            return self._age(comparison)
        if field == "registered_at":
            return self._date_of_timestamp("c.created_at", comparison)
        if field == "days_since_registration":
            return self._days_ago("c.created_at", comparison)
        if field == "has_phone":
            if comparison.op in {"is_set", "is_not_set"}:
                return "1 = 1" if comparison.op == "is_set" else "1 = 0"
            return "c.phone IS NOT NULL" if comparison.value else "c.phone IS NULL"
        column = f"c.{field}"
        if field in {"city", "timezone"} and comparison.op in {"eq", "ne", "in", "not_in"}:
            # Text the retailer typed: compare without regard to case.
            lowered = Comparison(
                comparison.op,
                tuple(v.lower() for v in comparison.value)
                if isinstance(comparison.value, tuple)
                else comparison.value.lower(),
            )
            return self.compare(f"LOWER({column})", lowered)
        return self.compare(column, comparison)

    def _age(self, comparison: Comparison) -> str:
        """Age in whole years, as a comparison of birth dates (no per-row date arithmetic)."""
        today = self.now.date()

        def born_before(years: int) -> date:
            try:
                return today.replace(year=today.year - years)
            except ValueError:  # 29 February
                return today.replace(year=today.year - years, day=28)

        op, value = comparison.op, comparison.value
        column = "c.birth_date"
        if op in {"is_set", "is_not_set"}:
            return self.compare(column, comparison)

        # age >= n  <=>  birth_date <= today - n years
        # age <  n  <=>  birth_date >  today - n years
        # age == n  <=>  today-(n+1)y < birth_date <= today-n y
        def at_least(n: int) -> str:
            return f"{column} <= {self.params(born_before(n))}"

        def below(n: int) -> str:
            return f"{column} > {self.params(born_before(n))}"

        if op == "gte":
            return at_least(value)
        if op == "gt":
            return at_least(value + 1)
        if op == "lt":
            return below(value)
        if op == "lte":
            return below(value + 1)
        if op == "between":
            low, high = value
            return f"{at_least(low)} AND {below(high + 1)}"
        inside = f"{at_least(value)} AND {below(value + 1)}"
        return inside if op == "eq" else f"{column} IS NOT NULL AND NOT ({inside})"

    def _CustomFieldCondition(self, node: CustomFieldCondition) -> str:
        column = {
            ValueType.TEXT: "v.text_value",
            ValueType.CHOICE: "v.text_value",
            ValueType.NUMBER: self.dialect.number("v.number_value"),
            ValueType.BOOLEAN: "v.bool_value",
            ValueType.DATE: "v.date_value",
        }[node.kind]
        field = self.params(node.field_id)
        if node.comparison.op == "is_not_set":
            return (
                "NOT EXISTS (SELECT 1 FROM customer_field_values v WHERE v.customer_id = c.id "
                f"AND v.field_id = {field})"
            )
        convert = (
            float if node.kind is ValueType.NUMBER and not self.dialect.postgres else (lambda v: v)
        )
        test = self.compare(column, node.comparison, convert)
        return (
            "EXISTS (SELECT 1 FROM customer_field_values v WHERE v.customer_id = c.id "
            f"AND v.field_id = {field} AND {test})"
        )

    def _ConsentCondition(self, node: ConsentCondition) -> str:
        return "c.marketing_consent = TRUE" if node.granted else "c.marketing_consent = FALSE"

    def _ChannelCondition(self, node: ChannelCondition) -> str:
        reachable = " AND i.reachable = TRUE" if node.reachable else ""
        return (
            "EXISTS (SELECT 1 FROM channel_identities i WHERE i.customer_id = c.id "
            f"AND i.channel = {self.params(node.channel)}{reachable})"
        )

    def _MetricCondition(self, node: MetricCondition) -> str:
        comparison, metric = node.comparison, node.metric
        as_minor = lambda v: to_minor(Decimal(v))  # noqa: E731
        if metric == "total_spent":
            return self.compare("COALESCE(m.spent_minor, 0)", comparison, as_minor)
        if metric == "receipts":
            return self.compare("COALESCE(m.receipts, 0)", comparison)
        if metric == "avg_basket":
            expr = "(CASE WHEN m.receipts > 0 THEN m.spent_minor * 1.0 / m.receipts END)"
            return self.compare(expr, comparison, lambda v: float(to_minor(Decimal(v))))
        if metric == "avg_items":
            expr = "(CASE WHEN m.receipts > 0 THEN m.items_milli / 1000.0 / m.receipts END)"
            return self.compare(expr, comparison, float)
        if metric in {"first_purchase_at", "last_purchase_at"}:
            return self._date_of_timestamp(f"m.{metric}", comparison)
        if metric == "days_since_last_purchase":
            return self._days_ago("m.last_purchase_at", comparison)
        if metric == "days_since_first_purchase":
            return self._days_ago("m.first_purchase_at", comparison)
        if metric == "typical_interval_days":
            days = self.dialect.days_between("m.first_purchase_at", "m.last_purchase_at")
            expr = f"(CASE WHEN m.receipts >= 2 THEN {days} / (m.receipts - 1) END)"
            return self.compare(expr, comparison, float)
        if metric == "favourite_category":
            inner = self.compare("fc.path", comparison)
            return (
                "EXISTS (SELECT 1 FROM categories fc WHERE fc.id = m.favourite_category_id "
                f"AND {inner})"
            )
        # category_spend: spend in one top-level category (or in a subcategory's top level)
        top = node.category.split("/")[0] if node.category else ""
        spend = (
            "(SELECT s.spent_minor FROM customer_category_spend s JOIN categories sc ON "
            f"sc.id = s.category_id WHERE s.customer_id = c.id AND sc.path = {self.params(top)})"
        )
        return self.compare(f"COALESCE({spend}, 0)", comparison, as_minor)

    def _RfmScoreCondition(self, node: RfmScoreCondition) -> str:
        return self.compare(f"m.rfm_{node.score}", node.comparison)

    def _ChoiceCondition(self, node: ChoiceCondition) -> str:
        column = (
            "m.rfm_segment" if node.what == "rfm_segment" else "COALESCE(m.stage, 'registered')"
        )
        keyword = "NOT IN" if node.negate else "IN"
        return f"{column} {keyword} {self.params.many(list(node.names))}"

    def _category_match(self, alias: str, category: str) -> str:
        return (
            f"({alias}.path = {self.params(category)} OR {alias}.path LIKE "
            f"{self.params(_like_escape(category) + '/%')} ESCAPE '\\')"
        )

    def _PurchasedCondition(self, node: PurchasedCondition) -> str:
        """Read from the lines alone (they carry the customer and the time), so a category
        within a window is one index range per category, not a join of every line."""
        joins = []
        where = [
            "l.customer_id IS NOT NULL",
            "l.refunded_quantity < l.quantity",
            *self._one("l.customer_id"),
        ]
        if node.category:
            where.append(
                "l.category_id IN (SELECT pc.id FROM categories pc WHERE "
                f"{self._category_match('pc', node.category)})"
            )
        if node.sku:
            joins.append("JOIN products pr ON pr.id = l.product_id")
            where.append(f"pr.sku = {self.params(node.sku)}")
        if node.store:
            joins.append(
                "JOIN purchases p ON p.id = l.purchase_id JOIN stores st ON st.id = p.store_id"
            )
            where.append(f"st.code = {self.params(node.store)}")
        cutoff = self._cutoff(node.within_days)
        if cutoff is not None:
            where.append(f"l.purchased_at >= {self.params(cutoff)}")
        having = []
        if node.min_times > 1:
            having.append(f"COUNT(DISTINCT l.purchase_id) >= {self.params(node.min_times)}")
        if node.min_sum is not None:
            value = f"{self.dialect.minor('l.line_total')}"
            having.append(f"SUM({value}) >= {self.params(to_minor(node.min_sum))}")
        grouped = (" GROUP BY l.customer_id HAVING " + " AND ".join(having)) if having else ""
        return (
            "c.id IN (SELECT l.customer_id FROM purchase_lines l "
            + " ".join(joins)
            + " WHERE "
            + " AND ".join(where)
            + grouped
            + ")"
        )

    def _BasketCondition(self, node: BasketCondition) -> str:
        cutoff = self._cutoff(node.within_days)
        window = f" AND p.purchased_at >= {self.params(cutoff)}" if cutoff is not None else ""
        if node.measure == "value":
            measure = (
                f"({self.dialect.minor('p.total')} - {self.dialect.minor('p.refunded_total')})"
            )
            test = self.compare(measure, node.comparison, lambda v: to_minor(Decimal(v)))
            source = "FROM purchases p WHERE p.customer_id IS NOT NULL AND p.status <> 'refunded'"
            source += "".join(f" AND {c}" for c in self._one("p.customer_id"))
            return (
                f"c.id IN (SELECT p.customer_id {source}{window} AND {test} "
                f"GROUP BY p.customer_id HAVING COUNT(*) >= {self.params(node.min_times)})"
            )
        items = (
            f"SUM({self.dialect.milli('l.quantity')} - {self.dialect.milli('l.refunded_quantity')})"
        )
        test = self.compare(items, node.comparison, lambda v: int(Decimal(v) * 1000))
        return (
            "c.id IN (SELECT b.customer_id FROM (SELECT p.customer_id AS customer_id "
            "FROM purchases p JOIN purchase_lines l ON l.purchase_id = p.id "
            f"WHERE p.customer_id IS NOT NULL AND p.status <> 'refunded'{window}"
            + "".join(f" AND {c}" for c in self._one("p.customer_id"))
            + f" GROUP BY p.customer_id, p.id HAVING {test}) b "
            f"GROUP BY b.customer_id HAVING COUNT(*) >= {self.params(node.min_times)})"
        )

    def _EventCondition(self, node: EventCondition) -> str:
        cutoff = self._cutoff(node.within_days)
        window = f" AND e.occurred_at >= {self.params(cutoff)}" if cutoff is not None else ""
        if node.min_times == 1:
            return (
                "EXISTS (SELECT 1 FROM customer_events e WHERE e.customer_id = c.id "
                f"AND e.kind = {self.params(node.kind)}{window})"
            )
        return (
            "(SELECT COUNT(*) FROM customer_events e WHERE e.customer_id = c.id "
            f"AND e.kind = {self.params(node.kind)}{window}) >= {self.params(node.min_times)}"
        )

    def _SegmentCondition(self, node: SegmentCondition) -> str:
        keyword = "EXISTS" if node.member else "NOT EXISTS"
        return (
            f"{keyword} (SELECT 1 FROM segment_members sm WHERE sm.customer_id = c.id "
            f"AND sm.segment_id = {self.params(node.segment_id)})"
        )

    def _BirthdayCondition(self, node: BirthdayCondition) -> str:
        """Birthdays as month * 100 + day, compared with ranges of such numbers; "the next N
        days" starts from each customer's local date, grouped by the few dates the time
        zones are on right now (the largest group needs no list of zones)."""
        day = self.dialect.month_day("c.birth_date")
        if node.month is not None:
            low, high = node.month * 100 + 1, node.month * 100 + 31
            return f"{day} BETWEEN {self.params(low)} AND {self.params(high)}"
        assert node.within_days is not None
        groups = sorted(_zones_by_local_date(self.now.replace(second=0, microsecond=0)).items())
        groups.sort(key=lambda item: len(item[1]))
        *listed, (default_day, _) = groups
        parts = [
            f"WHEN c.timezone IN {self.params.many(list(zones))} THEN "
            f"{self._birthday_window(day, local, node.within_days)}"
            for local, zones in listed
        ]
        otherwise = self._birthday_window(day, default_day, node.within_days)
        if not parts:
            return f"c.birth_date IS NOT NULL AND {otherwise}"
        return f"c.birth_date IS NOT NULL AND (CASE {' '.join(parts)} ELSE {otherwise} END)"

    def _birthday_window(self, day: str, start: date, days: int) -> str:
        if days >= 365:
            return "1 = 1"
        end = start + timedelta(days=days)
        low, high = _month_day(start), _month_day(end)
        if high == 228 and not _leap(end.year):
            high = 229  # born on 29 February: the 28th in a year without one
        if start.year == end.year:
            return f"{day} BETWEEN {self.params(low)} AND {self.params(high)}"
        return f"({day} >= {self.params(low)} OR {day} <= {self.params(high)})"


def _month_day(day: date) -> int:
    return day.month * 100 + day.day


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


@lru_cache(maxsize=4)
def _zones_by_local_date(now: datetime) -> dict[date, tuple[str, ...]]:
    """Every time zone by the date it is on at `now` (at most three dates)."""
    groups: dict[date, list[str]] = {}
    for name in sorted(_zone_names()):
        try:
            local = now.astimezone(ZoneInfo(name)).date()
        except (ValueError, OSError):
            continue
        groups.setdefault(local, []).append(name)
    return {local: tuple(names) for local, names in groups.items()}


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


_COMPILERS: dict[type, Callable[[Compiler, object], str]] = {
    ProfileCondition: Compiler._ProfileCondition,
    CustomFieldCondition: Compiler._CustomFieldCondition,
    ConsentCondition: Compiler._ConsentCondition,
    ChannelCondition: Compiler._ChannelCondition,
    MetricCondition: Compiler._MetricCondition,
    RfmScoreCondition: Compiler._RfmScoreCondition,
    ChoiceCondition: Compiler._ChoiceCondition,
    PurchasedCondition: Compiler._PurchasedCondition,
    BasketCondition: Compiler._BasketCondition,
    EventCondition: Compiler._EventCondition,
    SegmentCondition: Compiler._SegmentCondition,
    BirthdayCondition: Compiler._BirthdayCondition,
}  # type: ignore[dict-item]


def simplify(node: Node) -> Node:
    """Same meaning, shallower SQL: nested groups of one kind merge, a group of one is its
    child, and a double negation cancels (conditions are two-valued, so this is exact)."""
    if isinstance(node, Group):
        children: list[Node] = []
        for child in (simplify(c) for c in node.children):
            if isinstance(child, Group) and child.kind == node.kind:
                children.extend(child.children)
            else:
                children.append(child)
        return children[0] if len(children) == 1 else Group(node.kind, tuple(children))
    if isinstance(node, Not):
        inner = simplify(node.child)
        return inner.child if isinstance(inner, Not) else Not(inner)
    return node


@dataclass(frozen=True)
class CompiledQuery:
    sql: str
    values: list


def compile_members(
    root: Node,
    dialect: Dialect,
    now: datetime,
    customer_id: int | None = None,
    params: Params | None = None,
    customer_placeholder: str | None = None,
) -> CompiledQuery:
    """`SELECT c.id ...` of everyone the rule selects (or just one customer, if they match).

    With `params` (and the customer's placeholder in it) several rules become parts of one
    statement, numbered together.
    """
    params = params if params is not None else Params(dialect)
    placeholder = customer_placeholder
    if placeholder is None and customer_id is not None:
        placeholder = params(customer_id)
    only = f" AND c.id = {placeholder}" if placeholder is not None else ""
    condition = Compiler(dialect, params, now, placeholder).condition(simplify(root))
    return CompiledQuery(f"SELECT c.id AS id {BASE_FROM}{only} AND {condition}", params.values)

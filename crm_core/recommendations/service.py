"""Recommended products: popular among similar customers, not bought yet, never sensitive.

Customers are clustered by their spending: the cluster of a customer is the pair of
top-level categories with their largest spend shares ("12-7": mostly Baby, then Dairy).
Nightly, set-based, the products most bought by distinct customers of each cluster in the
last `window_days` are ranked, as are the best sellers of each top-level category and of the
whole shop. A customer then gets the first products of their cluster they have not bought,
falling back to their favourite category's best sellers and to the shop's. A product under a
sensitive category is only recommended to someone who bought in that category themselves,
and only when the retailer allows that; the mark on the most specific category decides
(`sensitivity.py`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from crm_core.catalogue.models import Category
from crm_core.catalogue.service import TILL_AMOUNT_SKU
from crm_core.recommendations.models import ClusterProduct, SensitiveCategory
from crm_core.recommendations.sensitivity import SensitiveMark, SensitivityRules
from crm_core.sql import Params, dialect_of, execute, fetch, transaction

GLOBAL = "*"
CATEGORY_PREFIX = "cat:"
TOP_PER_CLUSTER = 30
MAX_RECOMMENDED = 3


class UnknownCategory(LookupError):
    pass


async def mark_sensitive(path: str, allow_own_history: bool, now: datetime) -> SensitiveCategory:
    category = await Category.get_or_none(path=path)
    if category is None:
        raise UnknownCategory(path)
    marked, _ = await SensitiveCategory.update_or_create(
        category_id=category.id,
        defaults={"allow_own_history": allow_own_history, "marked_at": now},
    )
    return marked


async def unmark_sensitive(path: str) -> int:
    return await SensitiveCategory.filter(category__path=path).delete()


async def sensitivity_rules() -> SensitivityRules:
    """Every sensitive mark the retailer made, ready to judge product paths."""
    return SensitivityRules(
        SensitiveMark(marked.category.path, marked.allow_own_history)
        for marked in await SensitiveCategory.all().select_related("category")
    )


def _cluster_keys_sql(params: Params, customers: list[int] | None = None) -> str:
    """customer_id -> cluster key, from the two largest top-level category spends."""
    only = f"AND customer_id IN {params.many(customers)} " if customers is not None else ""
    return (
        "WITH ranked AS (SELECT customer_id, category_id, ROW_NUMBER() OVER ("
        "PARTITION BY customer_id ORDER BY spent_minor DESC, category_id) AS r "
        f"FROM customer_category_spend WHERE spent_minor > 0 {only}) "
        "SELECT a.customer_id, CAST(a.category_id AS VARCHAR(12)) || "
        "COALESCE('-' || CAST(b.category_id AS VARCHAR(12)), '') AS cluster_key "
        "FROM ranked a LEFT JOIN ranked b ON b.customer_id = a.customer_id AND b.r = 2 "
        "WHERE a.r = 1"
    )


REFRESH_LOCK = 7_302  # advisory lock: one rebuild at a time (nightly, API, import, demo)


async def refresh_clusters(now: datetime, window_days: int = 90) -> int:
    """Rebuild the ranked products of every cluster, category and the shop (set-based)."""
    since = now - timedelta(days=window_days)
    async with transaction() as db:
        dialect = dialect_of(db)
        if dialect.postgres:
            # Two rebuilds at once (the API's refresh during an import) would both delete the
            # old ranks and then collide on (cluster_key, rank): the second waits instead.
            await execute(f"SELECT pg_advisory_xact_lock({REFRESH_LOCK})", [], db)
        await execute("DELETE FROM cluster_products", [], db)
        params = Params(dialect)
        keys = _cluster_keys_sql(params)
        top_level = dialect.top_category_path("c.path")
        # Only goods in a category are offered: an uncategorised product cannot be judged
        # against the sensitive marks, and the till's amount-only lines are no goods at all.
        goods = (
            "l.category_id IS NOT NULL AND l.product_id NOT IN "
            f"(SELECT id FROM products WHERE sku = {params(TILL_AMOUNT_SKU)})"
        )
        popular = (
            f"SELECT k.cluster_key AS cluster_key, l.product_id, "
            "COUNT(DISTINCT l.customer_id) AS buyers "
            f"FROM purchase_lines l JOIN ({keys}) k ON k.customer_id = l.customer_id "
            f"WHERE l.purchased_at >= {params(since)} AND {goods} "
            "GROUP BY k.cluster_key, l.product_id "
            f"UNION ALL SELECT {params(CATEGORY_PREFIX)} || CAST(t.id AS VARCHAR(12)), "
            "l.product_id, COUNT(DISTINCT l.customer_id) FROM purchase_lines l "
            "JOIN categories c ON c.id = l.category_id "
            f"JOIN categories t ON t.path = {top_level} "
            f"WHERE l.purchased_at >= {params(since)} AND l.customer_id IS NOT NULL "
            f"AND {goods} GROUP BY t.id, l.product_id "
            f"UNION ALL SELECT {params(GLOBAL)}, l.product_id, COUNT(DISTINCT l.customer_id) "
            f"FROM purchase_lines l WHERE l.purchased_at >= {params(since)} "
            f"AND l.customer_id IS NOT NULL AND {goods} GROUP BY l.product_id"
        )
        await execute(
            "INSERT INTO cluster_products (cluster_key, rank, product_id, buyers, refreshed_at) "
            f"SELECT cluster_key, rank, product_id, buyers, {params(now)} FROM ("
            "SELECT cluster_key, product_id, buyers, ROW_NUMBER() OVER (PARTITION BY "
            "cluster_key ORDER BY buyers DESC, product_id) AS rank "
            f"FROM ({popular}) p) ranked WHERE rank <= {params(TOP_PER_CLUSTER)}",
            params.values,
            db,
        )
        # (Counted afterwards: drivers disagree on the row count of INSERT ... SELECT.)
        ranked = await fetch("SELECT COUNT(*) AS n FROM cluster_products", [], db)
        return int(ranked[0]["n"])


@dataclass(frozen=True)
class Built:
    """What a rebuild ranked: product ranks in all, and how many groups they rank in."""

    products_ranked: int
    clusters: int  # groups of similar customers (their two leading top-level categories)
    categories: int  # top-level categories with best sellers (the favourite-category fallback)
    shop_products: int  # shop-wide best sellers (the last fallback)
    customers_clustered: int  # customers with spending, so with a cluster
    refreshed_at: datetime


async def refresh_recommendations(now: datetime, window_days: int = 90) -> Built:
    """Rebuild now (set-based, as the nightly job does) and say what was built."""
    ranked = await refresh_clusters(now, window_days)
    params = Params(dialect_of())
    groups = await fetch(
        "SELECT CASE WHEN cluster_key = " + params(GLOBAL) + " THEN 'shop' "
        "WHEN cluster_key LIKE " + params(CATEGORY_PREFIX + "%") + " THEN 'category' "
        "ELSE 'cluster' END AS kind, COUNT(DISTINCT cluster_key) AS groups, COUNT(*) AS ranks "
        "FROM cluster_products GROUP BY 1",
        params.values,
    )
    by_kind = {row["kind"]: (int(row["groups"]), int(row["ranks"])) for row in groups}
    customers = await fetch(
        "SELECT COUNT(DISTINCT customer_id) AS n FROM customer_category_spend "
        "WHERE spent_minor > 0",
        [],
    )
    return Built(
        products_ranked=ranked,
        clusters=by_kind.get("cluster", (0, 0))[0],
        categories=by_kind.get("category", (0, 0))[0],
        shop_products=by_kind.get("shop", (0, 0))[1],
        customers_clustered=int(customers[0]["n"]),
        refreshed_at=now,
    )


async def ensure_recommendations(now: datetime) -> bool:
    """Rank the products now when nothing is ranked yet (a fresh install, before its first
    night), so {products} is not empty until the nightly job runs; True when it ranked."""
    if await ClusterProduct.exists():
        return False
    await refresh_clusters(now)
    return True


class Reason(StrEnum):
    """Which step of the fallback chain offered a product."""

    SIMILAR_CUSTOMERS = "similar_customers"  # popular in the customer's cluster
    FAVOURITE_CATEGORY = "favourite_category"  # a best seller of their favourite category
    SHOP_BEST_SELLER = "shop_best_seller"  # a best seller of the whole shop


# Scores: the cluster's products above 2/3, the favourite category's between 1/3 and 2/3, the
# shop's below 1/3; within each, the product's buyers relative to that group's best seller.
_TIER = {Reason.SIMILAR_CUSTOMERS: 2, Reason.FAVOURITE_CATEGORY: 1, Reason.SHOP_BEST_SELLER: 0}


@dataclass(frozen=True)
class Recommendation:
    product_id: int
    sku: str
    name: str
    category_path: str | None
    score: float  # 0..1, higher is a closer match; the list is in this order
    reason: Reason
    because: tuple[str, ...]  # the categories the reason names (cluster's, favourite)


@dataclass(frozen=True)
class _Candidate:
    product_id: int
    sku: str
    name: str
    path: str | None
    buyers: int


async def _candidates(keys: Iterable[str]) -> dict[str, list[_Candidate]]:
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    params = Params(dialect_of())
    rows = await fetch(
        "SELECT r.cluster_key, r.product_id, r.buyers, p.sku, p.name, c.path "
        "FROM cluster_products r "
        "JOIN products p ON p.id = r.product_id LEFT JOIN categories c ON c.id = p.category_id "
        f"WHERE r.cluster_key IN {params.many(wanted)} ORDER BY r.cluster_key, r.rank",
        params.values,
    )
    found: dict[str, list[_Candidate]] = {}
    for row in rows:
        found.setdefault(row["cluster_key"], []).append(
            _Candidate(row["product_id"], row["sku"], row["name"], row["path"], row["buyers"])
        )
    return found


def _category_ids(key: str) -> list[int]:
    """'12-7' -> [12, 7]; 'cat:12' -> [12]."""
    return [int(part) for part in key.removeprefix(CATEGORY_PREFIX).split("-") if part]


async def _category_names(keys: Iterable[str]) -> dict[int, str]:
    ids = sorted({i for key in keys if key != GLOBAL for i in _category_ids(key)})
    if not ids:
        return {}
    params = Params(dialect_of())
    rows = await fetch(
        f"SELECT id, name FROM categories WHERE id IN {params.many(ids)}", params.values
    )
    return {row["id"]: row["name"] for row in rows}


async def recommendations_for(
    customers: list[int], limit: int = MAX_RECOMMENDED
) -> dict[int, list[Recommendation]]:
    """Up to `limit` products per customer, each with its score and the reason it was
    chosen, for a batch of customers (a few queries)."""
    if not customers:
        return {}
    async with transaction() as db:
        dialect = dialect_of(db)
        if dialect.postgres:
            # These are small indexed reads; PostgreSQL's JIT, tempted by the row estimates of
            # the window function, would spend most of a second compiling them.
            await execute("SET LOCAL jit = off", [], db)
        params = Params(dialect)
        clusters = {
            row["customer_id"]: row["cluster_key"]
            for row in await fetch(_cluster_keys_sql(params, customers), params.values, db)
        }
        params = Params(dialect)
        favourites = {
            row["customer_id"]: f"{CATEGORY_PREFIX}{row['favourite_category_id']}"
            for row in await fetch(
                "SELECT customer_id, favourite_category_id FROM customer_metrics "
                f"WHERE customer_id IN {params.many(customers)} "
                "AND favourite_category_id IS NOT NULL",
                params.values,
                db,
            )
        }
        params = Params(dialect)
        purchased = await fetch(
            "SELECT DISTINCT l.customer_id, l.product_id, c.path FROM purchase_lines l "
            "LEFT JOIN categories c ON c.id = l.category_id "
            f"WHERE l.customer_id IN {params.many(customers)}",
            params.values,
            db,
        )
    bought: dict[int, set[int]] = {}
    bought_paths: dict[int, set[str]] = {}
    for row in purchased:
        bought.setdefault(row["customer_id"], set()).add(row["product_id"])
        if row["path"]:
            bought_paths.setdefault(row["customer_id"], set()).add(row["path"])
    rules = await sensitivity_rules()
    keys = [*clusters.values(), *favourites.values(), GLOBAL]
    candidates = await _candidates(keys)
    names = await _category_names(keys)

    def allowed(customer: int, path: str | None) -> bool:
        return rules.allows(path, bought_paths.get(customer, ()))

    chosen: dict[int, list[Recommendation]] = {}
    for customer in customers:
        picked: list[Recommendation] = []
        seen: set[int] = set(bought.get(customer, ()))
        steps = (
            (clusters.get(customer), Reason.SIMILAR_CUSTOMERS),
            (favourites.get(customer), Reason.FAVOURITE_CATEGORY),
            (GLOBAL, Reason.SHOP_BEST_SELLER),
        )
        for key, reason in steps:
            ranked = candidates.get(key or "", [])
            best = max((candidate.buyers for candidate in ranked), default=1) or 1
            because: tuple[str, ...] = ()
            if key and key != GLOBAL:
                because = tuple(names[i] for i in _category_ids(key) if i in names)
            for candidate in ranked:
                if len(picked) >= limit:
                    break
                if candidate.product_id in seen or not allowed(customer, candidate.path):
                    continue
                seen.add(candidate.product_id)
                score = (_TIER[reason] + candidate.buyers / best) / 3
                picked.append(
                    Recommendation(
                        candidate.product_id,
                        candidate.sku,
                        candidate.name,
                        candidate.path,
                        round(score, 3),
                        reason,
                        because,
                    )
                )
        chosen[customer] = picked
    return chosen


async def recommend_for(customers: list[int], limit: int = MAX_RECOMMENDED) -> dict[int, list[str]]:
    """Up to `limit` product names per customer, for a batch of customers: {products}."""
    chosen = await recommendations_for(customers, limit)
    return {customer: [r.name for r in picked] for customer, picked in chosen.items()}

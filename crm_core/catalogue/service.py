"""Products and categories appear in the catalogue the first time a till sends them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError

from crm_core.catalogue.models import Category, Product
from crm_core.sql import dialect_of, execute

PATH_SEPARATOR = "/"
# The SKU of receipt lines a till records by amount only (the /pos page without goods): money in
# a category, not a product anyone could be offered.
TILL_AMOUNT_SKU = "TILL-AMOUNT"


@dataclass(frozen=True)
class ProductSeen:
    sku: str
    name: str
    category_path: str | None


def category_path(parts: Iterable[str]) -> str:
    return PATH_SEPARATOR.join(part.strip() for part in parts)


def in_category(path: str | None, ancestor: str) -> bool:
    """'Dairy/Milk' is in 'Dairy' and in 'Dairy/Milk', not in 'Dairy/Milkshakes'."""
    if not path:
        return False
    return path == ancestor or path.startswith(ancestor + PATH_SEPARATOR)


async def top_level_categories(limit: int) -> list[Category]:
    """The first categories without a parent, by name: what a customer can pick from."""
    return await Category.filter(parent_id__isnull=True).order_by("name", "id").limit(limit)


async def categories_by_path(limit: int) -> list[Category]:
    """Every category, parents before their children: what a cashier can put an amount in."""
    return await Category.all().order_by("path", "id").limit(limit)


_INSERT_CATEGORY = {  # by "is PostgreSQL": the placeholders differ
    True: "INSERT INTO categories (path, name, parent_id) VALUES ($1, $2, $3) "
    "ON CONFLICT (path) DO NOTHING",
    False: "INSERT INTO categories (path, name, parent_id) VALUES (?1, ?2, ?3) "
    "ON CONFLICT (path) DO NOTHING",
}


async def ensure_categories(
    paths: Iterable[str], connection: BaseDBAsyncClient | None = None
) -> dict[str, Category]:
    """Every category of the paths and their ancestors, created where missing.

    Inserted with ON CONFLICT DO NOTHING, so a category created by someone else meanwhile
    is no error even inside a transaction (an import's concurrent batches both meeting a new
    category aborted one of them), and in one order (depth, then path) so that two
    transactions creating several never wait for each other in a circle.
    """
    wanted: set[str] = set()
    for path in paths:
        parts = path.split(PATH_SEPARATOR)
        wanted.update(PATH_SEPARATOR.join(parts[: i + 1]) for i in range(len(parts)))
    found = {c.path: c for c in await Category.filter(path__in=wanted).using_db(connection)}
    for path in sorted(wanted - set(found), key=lambda p: (p.count(PATH_SEPARATOR), p)):
        parent_path, _, name = path.rpartition(PATH_SEPARATOR)
        parent = found.get(parent_path) if parent_path else None
        insert = _INSERT_CATEGORY[dialect_of(connection).postgres]
        await execute(insert, [path, name, parent.id if parent else None], connection)
        found[path] = await Category.get(path=path).using_db(connection)
    return found


async def ensure_products(
    seen: list[ProductSeen], now: datetime, connection: BaseDBAsyncClient | None = None
) -> tuple[dict[str, Product], dict[str, Category]]:
    """Products by SKU and categories by path, creating what the catalogue lacks.

    The usual receipt names known products in their known categories: one query.
    """
    skus = {p.sku for p in seen}
    products = {
        p.sku: p
        for p in await Product.filter(sku__in=skus).using_db(connection).select_related("category")
    }
    known = {p.category.path: p.category for p in products.values() if p.category is not None}
    wanted = {p.category_path for p in seen if p.category_path} - set(known)
    categories = {**known, **(await ensure_categories(wanted, connection) if wanted else {})}
    for item in seen:
        if item.sku in products:
            continue
        category = categories.get(item.category_path or "")
        try:
            products[item.sku] = await Product.create(
                sku=item.sku,
                name=item.name,
                category_id=category.id if category else None,
                created_at=now,
                using_db=connection,
            )
        except IntegrityError:
            products[item.sku] = await Product.get(sku=item.sku).using_db(connection)
    return products, categories

"""CRM at scale: imports, segment evaluation, RFM/lifecycle, incremental updates, naive ratio.

A deterministic generator (PostgreSQL setseed + random() in single-worker statements) loads
1,000,000 customers and 20,000,000 purchase lines into the database `loyalty_bench_crm` on
BENCH_DATABASE_URL's server; the phases then measure through the project's own services:

    .venv/bin/python bench/segments_scale.py --generate          # build the data set (~10 min)
    .venv/bin/python bench/segments_scale.py --phase all --runs 5

Phases: import (purchase lines from CSV), segments (five rules: count and full rebuild),
nightly (lifecycle + RFM over everyone, and a full metrics rebuild from the lines),
incremental (per purchase: metrics + dynamic memberships), naive (the nested rule in Python
over 100,000 customers loaded with the ORM, against the compiled SQL on the same customers).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crm_core.db import close_db, init_db, sqlalchemy_url
from loyalty.migrations import upgrade_to_head

SERVER = "postgres://postgres@127.0.0.1:5432/test"
NAME = "loyalty_bench_crm"
CUSTOMERS = 1_000_000
RECEIPTS = 4_000_000
LINES_PER_RECEIPT = 5  # 20,000,000 lines
TOPS = ["Baby", "Pets", "Dairy", "Bakery", "Fruit", "Vegetables", "Meat", "Drinks", "Household",
        "Health", "Snacks", "Frozen"]  # fmt: skip
SUBS = ["A", "B", "C", "D"]
PRODUCTS = 2400  # 200 per top-level category, ids grouped by category
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
HEADER = ["store", "receipt_id", "purchased_at", "card_number", "sku", "name", "category",
          "quantity", "unit_price", "discount", "line_total"]  # fmt: skip


def url_for(server: str, name: str) -> str:
    parts = urlsplit(server)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", "", ""))


def dsn(url: str) -> str:
    return sqlalchemy_url(url).replace("postgresql+psycopg://", "postgresql://")


def step(label: str, started: float) -> float:
    now = time.perf_counter()
    print(f"  {label}: {now - started:.1f} s", flush=True)
    return now


def generate(server: str) -> None:
    with psycopg.connect(dsn(server), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{NAME}"')
    url = url_for(server, NAME)
    upgrade_to_head(url)
    t = time.perf_counter()
    with psycopg.connect(dsn(url), autocommit=True) as db:
        db.execute("SET max_parallel_workers_per_gather = 0")  # one worker: random() repeats
        db.execute("SET session_replication_role = replica")  # data is consistent by design
        db.execute("SELECT setseed(0.424242)")
        db.execute(
            "INSERT INTO stores (code, name, timezone, currency, created_at) "
            "SELECT 'S' || g, 'Store ' || g, 'Europe/Kyiv', 'UAH', %s "
            "FROM generate_series(1, 20) g",
            [NOW],
        )
        for top in TOPS:
            db.execute("INSERT INTO categories (path, name) VALUES (%s, %s)", [top, top])
            for sub in SUBS:
                db.execute(
                    "INSERT INTO categories (path, name, parent_id) SELECT %s, %s, id "
                    "FROM categories WHERE path = %s",
                    [f"{top}/{sub}", sub, top],
                )
        db.execute(
            "INSERT INTO products (sku, name, category_id, created_at) "
            "SELECT 'SKU' || g, 'Product ' || g, c.id, %s FROM generate_series(1, %s) g "
            "JOIN categories c ON c.path = (%s::text[])[1 + (g - 1) / 200] || '/' || "
            "(ARRAY['A','B','C','D'])[1 + (g %% 4)]",
            [NOW, PRODUCTS, TOPS],
        )
        count = db.execute("SELECT COUNT(*) FROM products").fetchone()[0]
        assert count == PRODUCTS, count
        t = step("stores, categories, products", t)
        db.execute(
            "INSERT INTO customers (first_name, phone, language, timezone, marketing_consent, "
            "created_at, city, gender, birth_date) SELECT 'Name' || g, "
            "'+38067' || lpad(g::text, 7, '0'), "
            "(ARRAY['uk','uk','uk','en','pl','ru'])[1 + floor(random() * 6)::int], "
            "'Europe/Kyiv', random() < 0.8, %s - random() * interval '720 days', "
            "(ARRAY['Kyiv','Lviv','Odesa','Kharkiv','Dnipro','Warsaw'])"
            "[1 + floor(random() * 6)::int], "
            "CASE WHEN random() < 0.45 THEN 'female' WHEN random() < 0.8 THEN 'male' END, "
            "CASE WHEN random() < 0.6 THEN date '1950-01-01' + floor(random() * 20000)::int END "
            "FROM generate_series(1, %s) g",
            [NOW, CUSTOMERS],
        )
        db.execute(
            "INSERT INTO cards (number, customer_id, status, issued_at, media_salt) "
            "SELECT '2710' || lpad(id::text, 8, '0') || '0', id, 'active', created_at, 'x' "
            "FROM customers"
        )
        db.execute(
            "INSERT INTO channel_identities (channel, external_id, chat_id, customer_id, "
            "language, reachable, state, state_data, created_at, last_seen_at) "
            "SELECT (ARRAY['telegram','telegram','viber','webchat'])[1 + (id % 4)::int], "
            "id::text, id::text, id, language, random() < 0.95, 'registered', '{}', created_at, "
            "created_at FROM customers"
        )
        t = step("1M customers, cards, identities", t)
        # Receipts: 85 % carry a card, customers skewed (some shop a lot, most a little).
        db.execute(
            "INSERT INTO purchases (store_id, till, receipt_id, purchased_at, customer_id, "
            "card_id, currency, total, discount_total, refunded_total, payments, status, "
            "fingerprint, created_at) "
            "SELECT 1 + (g %% 20), 'T1', 'R' || g, ts, cid, cid, 'UAH', 0, 0, 0, '[]', "
            "'completed', 'bench', ts FROM (SELECT g, %s - random() * interval '540 days' AS ts, "
            "CASE WHEN random() < 0.85 THEN 1 + floor(power(random(), 1.6) * %s)::bigint END "
            "AS cid FROM generate_series(1, %s) g) s",
            [NOW, CUSTOMERS, RECEIPTS],
        )
        t = step("4M receipts", t)
        # Lines: 40 % from the customer's own favourite top-level category (customer id mod 12).
        db.execute(
            "INSERT INTO purchase_lines (purchase_id, line_no, product_id, category_id, quantity, "
            "unit_price, discount, line_total, refunded_quantity, customer_id, purchased_at) "
            "SELECT x.pid, x.l, pr.id, pr.category_id, x.q, x.price, 0, x.q * x.price, 0, "
            "x.cid, x.ts FROM ("
            "SELECT p.id AS pid, p.customer_id AS cid, p.purchased_at AS ts, l, "
            "1 + floor(random() * 3)::int AS q, "
            "round((5 + random() * 95)::numeric, 2) AS price, "
            "CASE WHEN p.customer_id IS NOT NULL AND random() < 0.4 "
            "THEN (p.customer_id %% 12) * 200 + 1 + floor(random() * 200)::int "
            "ELSE 1 + floor(random() * %s)::int END AS product "
            "FROM purchases p CROSS JOIN generate_series(1, %s) l) x "
            "JOIN products pr ON pr.id = x.product",
            [PRODUCTS, LINES_PER_RECEIPT],
        )
        count = db.execute("SELECT COUNT(*) FROM purchase_lines").fetchone()[0]
        assert count == RECEIPTS * LINES_PER_RECEIPT, count
        t = step("20M lines", t)
        db.execute(
            "UPDATE purchases p SET total = s.total FROM (SELECT purchase_id, SUM(line_total) "
            "AS total FROM purchase_lines GROUP BY purchase_id) s WHERE s.purchase_id = p.id"
        )
        t = step("receipt totals", t)
        db.execute("SET session_replication_role = origin")
        db.execute("VACUUM ANALYZE")
        t = step("vacuum analyze", t)
    asyncio.run(_metrics_first_time(url))


async def _metrics_first_time(url: str) -> None:
    from crm_core.metrics.service import recompute_everything
    from crm_core.sql import execute

    await init_db(url, pool_size=4)
    started = time.perf_counter()
    await recompute_everything(NOW)
    step("metrics, lifecycle and RFM from 20M lines", started)
    # Fresh statistics for the tables just filled (autovacuum would get there later).
    await execute("ANALYZE", [])
    await close_db()


# -- phases -------------------------------------------------------------------------------


RULES = {
    "simple": {
        "all": [
            {"type": "profile", "field": "city", "op": "eq", "value": "Kyiv"},
            {"type": "consent", "granted": True},
        ]
    },
    "rfm": {"type": "rfm_segment", "op": "in", "value": ["champions", "loyal"]},
    "category_window": {"type": "purchased", "category": "Baby", "within_days": 60, "min_times": 2},
    "nested": {
        "all": [
            {"type": "purchased", "category": "Baby", "within_days": 60},
            {
                "any": [
                    {"type": "rfm_segment", "op": "in", "value": ["champions"]},
                    {"type": "basket", "op": "gt", "value": 800, "within_days": 90},
                ]
            },
            {"not": {"type": "lifecycle", "op": "eq", "value": "lost"}},
        ]
    },
}


async def phase_segments(url: str, runs: int) -> dict:
    from crm_core.segments.compiler import compile_members
    from crm_core.segments.models import Segment, SegmentKind
    from crm_core.segments.rules import validate_rule
    from crm_core.segments.service import create_segment, load_catalogue, refresh_segment
    from crm_core.sql import dialect_of, fetch

    await init_db(url, pool_size=4)
    await Segment.all().delete()
    catalogue = await load_catalogue()
    parts = {}
    for name in ("rfm", "simple"):
        segment, _ = await create_segment(f"bench {name}", SegmentKind.DYNAMIC, RULES[name], NOW)
        parts[name] = segment.id
    rules = dict(RULES)
    rules["segment_of_segments"] = {
        "all": [
            {"type": "segment", "segment_id": parts["rfm"]},
            {"not": {"type": "segment", "segment_id": parts["simple"]}},
        ]
    }
    catalogue = await load_catalogue()
    results = {}
    for name, raw in rules.items():
        rule = validate_rule(raw, catalogue)
        query = compile_members(rule.root, dialect_of(), NOW)
        counts, timings = [], []
        for _ in range(runs):
            started = time.perf_counter()
            rows = await fetch(f"SELECT COUNT(*) AS n FROM ({query.sql}) q", query.values)
            timings.append(time.perf_counter() - started)
            counts.append(rows[0]["n"])
        segment, _ = await create_segment(f"bench eval {name}", SegmentKind.DYNAMIC, raw, NOW)
        rebuilds = []
        for i in range(runs):
            started = time.perf_counter()
            await refresh_segment(segment, NOW + timedelta(minutes=i + 1))
            rebuilds.append(time.perf_counter() - started)
        results[name] = {
            "members": counts[0],
            "count_median_s": statistics.median(timings),
            "count_max_s": max(timings),
            "rebuild_median_s": statistics.median(rebuilds),
        }
        print(f"  {name}: {results[name]}", flush=True)
    await close_db()
    return results


async def phase_nightly(url: str, runs: int, rebuild_runs: int) -> dict:
    from crm_core.metrics.rfm import recompute_rfm
    from crm_core.metrics.service import recompute_customers, recompute_lifecycle

    await init_db(url, pool_size=4)
    lifecycle, rfm, rebuild = [], [], []
    for i in range(runs):
        when = NOW + timedelta(days=i + 1)
        started = time.perf_counter()
        await recompute_lifecycle(when)
        lifecycle.append(time.perf_counter() - started)
        started = time.perf_counter()
        await recompute_rfm(when)
        rfm.append(time.perf_counter() - started)
    for _ in range(rebuild_runs):
        started = time.perf_counter()
        await recompute_customers(NOW)
        rebuild.append(time.perf_counter() - started)
    await close_db()
    result = {
        "lifecycle_median_s": statistics.median(lifecycle),
        "rfm_median_s": statistics.median(rfm),
        "lifecycle_plus_rfm_median_s": statistics.median(
            a + b for a, b in zip(lifecycle, rfm, strict=True)
        ),
        "metrics_rebuild_from_lines_median_s": statistics.median(rebuild) if rebuild else None,
    }
    print(f"  {result}", flush=True)
    return result


async def phase_incremental(url: str, samples: int) -> dict:
    """Per purchase: the metrics update (inside the receipt's transaction) and the re-judging
    of the customer in every active dynamic segment (the five bench rules are active)."""
    from crm_core.metrics.service import LineFigures, apply_purchase
    from crm_core.segments.service import PURCHASE_CHANGE, on_customer_changed
    from crm_core.sql import transaction

    await init_db(url, pool_size=4)
    rng = random.Random(7)
    metrics_ms, segments_ms, both_ms = [], [], []
    categories = list(range(13, 61))
    for i in range(samples):
        customer = 1 + int(rng.random() ** 1.6 * CUSTOMERS)
        lines = [
            LineFigures(rng.choice(categories), Decimal(rng.randint(100, 9000)) / 100, Decimal(1))
            for _ in range(5)
        ]
        total = sum((line.line_total for line in lines), Decimal(0))
        at = NOW + timedelta(seconds=i)
        started = time.perf_counter()
        async with transaction() as db:
            await apply_purchase(customer, at, total, lines, at, db)
        middle = time.perf_counter()
        await on_customer_changed(customer, PURCHASE_CHANGE, at)
        done = time.perf_counter()
        metrics_ms.append((middle - started) * 1000)
        segments_ms.append((done - middle) * 1000)
        both_ms.append((done - started) * 1000)
    await close_db()

    def pct(values: list[float], q: float) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    result = {
        "samples": samples,
        "metrics_p50_ms": pct(metrics_ms, 0.5),
        "metrics_p99_ms": pct(metrics_ms, 0.99),
        "segments_p50_ms": pct(segments_ms, 0.5),
        "segments_p99_ms": pct(segments_ms, 0.99),
        "total_p50_ms": pct(both_ms, 0.5),
        "total_p99_ms": pct(both_ms, 0.99),
    }
    print(f"  {result}", flush=True)
    return result


async def phase_import(url: str, lines: int, runs: int) -> dict:
    """Receipt lines from a CSV through `import_purchases` (what `loyalty import purchases`
    runs), into the 20M-line database; each run imports new receipts."""
    from crm_core.imports.csvfile import CsvFile
    from crm_core.imports.purchases import REQUIRED, import_purchases

    await init_db(url, pool_size=4)
    rates = []
    tag = f"{int(time.time()):x}"  # new receipts on every invocation
    for run in range(runs):
        rng = random.Random(run)
        with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False, newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(HEADER)
            receipt = 0
            written = 0
            while written < lines:
                receipt += 1
                customer = 1 + rng.randrange(CUSTOMERS)
                card = "2710" + f"{customer:08d}" + "0"
                at = (NOW - timedelta(minutes=rng.randrange(500_000))).isoformat()
                for _ in range(5):
                    product = 1 + rng.randrange(PRODUCTS)
                    price = Decimal(rng.randint(100, 9999)) / 100
                    quantity = rng.randint(1, 3)
                    top = TOPS[(product - 1) // 200]
                    sub = SUBS[product % 4]
                    writer.writerow([f"S{1 + receipt % 20}", f"IMP{tag}{run}-{receipt}", at, card,
                                     f"SKU{product}", f"Product {product}", f"{top}/{sub}",
                                     quantity, price, "0", quantity * price])  # fmt: skip
                    written += 1
            path = Path(handle.name)
        started = time.perf_counter()
        report = await import_purchases(CsvFile(path).rows(REQUIRED), NOW)
        elapsed = time.perf_counter() - started
        _remove(path)
        assert report.rejected_rows == 0, report.rejections[:3]
        assert report.lines == written, (report.lines, written)
        rates.append(report.lines / elapsed)
        print(
            f"  run {run}: {report.lines} lines, {report.imported} receipts in {elapsed:.1f} s "
            f"= {report.lines / elapsed:,.0f} lines/s (metrics, favourites and stages included)",
            flush=True,
        )
    await close_db()
    print(f"  median {statistics.median(rates):,.0f} lines/s", flush=True)
    return {"lines_per_run": lines, "median_lines_per_s": statistics.median(rates)}


def _remove(path: Path) -> None:
    path.unlink()


async def phase_naive(url: str, customers: int) -> dict:
    """The nested rule two ways on the first 100,000 customers: compiled SQL, and the naive
    way (load customers with metrics, purchases and lines through the ORM, test in Python)."""
    from crm_core.customers.models import Customer
    from crm_core.metrics.models import CustomerMetrics
    from crm_core.purchases.models import Purchase
    from crm_core.segments.compiler import compile_members
    from crm_core.segments.rules import validate_rule
    from crm_core.segments.service import load_catalogue
    from crm_core.sql import dialect_of, fetch

    await init_db(url, pool_size=4)
    raw = RULES["nested"]
    rule = validate_rule({"all": [raw]}, await load_catalogue())
    query = compile_members(rule.root, dialect_of(), NOW)
    started = time.perf_counter()
    rows = await fetch(
        f"SELECT q.id FROM ({query.sql}) q WHERE q.id <= {int(customers)}", query.values
    )
    sql_seconds = time.perf_counter() - started
    compiled = {row["id"] for row in rows}

    started = time.perf_counter()
    matched = set()
    window60, window90 = NOW - timedelta(days=60), NOW - timedelta(days=90)
    # Small chunks: the first customers shop a lot, and a query takes at most 32,767 values.
    chunk = 250
    for first in range(1, customers + 1, chunk):
        ids = list(range(first, min(first + chunk, customers + 1)))
        people = await Customer.filter(id__in=ids, erased_at=None)
        metrics = {m.customer_id: m for m in await CustomerMetrics.filter(customer_id__in=ids)}
        purchases = await Purchase.filter(customer_id__in=ids).prefetch_related("lines__category")
        by_customer: dict[int, list] = {}
        for purchase in purchases:
            by_customer.setdefault(purchase.customer_id, []).append(purchase)
        for person in people:
            bought = by_customer.get(person.id, [])
            baby = any(
                p.purchased_at >= window60
                and any(
                    line.category is not None
                    and (line.category.path == "Baby" or line.category.path.startswith("Baby/"))
                    and line.refunded_quantity < line.quantity
                    for line in p.lines
                )
                for p in bought
            )
            if not baby:
                continue
            m = metrics.get(person.id)
            champion = m is not None and m.rfm_segment == "champions"
            big = any(
                p.purchased_at >= window90
                and p.status != "refunded"
                and p.total - p.refunded_total > 800
                for p in bought
            )
            lost = m is not None and m.stage == "lost"
            if (champion or big) and not lost:
                matched.add(person.id)
    naive_seconds = time.perf_counter() - started
    await close_db()
    result = {
        "customers": customers,
        "members": len(compiled),
        "same_members": compiled == matched,
        "sql_s": sql_seconds,
        "naive_s": naive_seconds,
        "ratio": naive_seconds / sql_seconds,
    }
    print(f"  {result}", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--server", default=SERVER)
    parser.add_argument("--generate", action="store_true")
    parser.add_argument(
        "--phase",
        choices=["import", "segments", "nightly", "incremental", "naive", "all", "none"],
        default="none",
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--import-lines", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument(
        "--rebuild-runs", type=int, default=1, help="nightly: full rebuilds from the lines"
    )
    args = parser.parse_args()
    if args.generate:
        print("generating the data set", flush=True)
        generate(args.server)
    url = url_for(args.server, NAME)
    if args.phase != "none":
        upgrade_to_head(url)  # a data set generated before the latest migration catches up
    phases = (
        ["segments", "incremental", "nightly", "naive", "import"]
        if args.phase == "all"
        else [args.phase]
    )
    for phase in phases:
        if phase == "none":
            continue
        print(f"phase {phase}", flush=True)
        if phase == "segments":
            asyncio.run(phase_segments(url, args.runs))
        elif phase == "nightly":
            asyncio.run(phase_nightly(url, args.runs, args.rebuild_runs))
        elif phase == "incremental":
            asyncio.run(phase_incremental(url, args.samples))
        elif phase == "naive":
            asyncio.run(phase_naive(url, 100_000))
        elif phase == "import":
            asyncio.run(phase_import(url, args.import_lines, args.runs))


if __name__ == "__main__":
    main()

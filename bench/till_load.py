"""Cashier API under load: scan latency on a big data set, receipts/s, voucher contention.

Loads a fresh PostgreSQL database set-based (COPY and INSERT ... SELECT generate_series), starts
one `loyalty serve` process and drives it from this process with aiohttp:

    .venv/bin/python bench/till_load.py --cards 1000000 --lines 10000000 --runs 3

1. scan latency: open loop at fixed rates (requests leave on schedule), random existing cards;
2. purchase throughput: receipts of 10 lines, closed loop, card on ~70% of receipts;
3. voucher contention: 50 concurrent redeem calls on one single-use voucher, N rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import os
import random
import secrets
import statistics
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import aiohttp
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crm_core.cards.numbers import make_card_number
from crm_core.db import sqlalchemy_url
from crm_core.vouchers.codes import check_character
from tests.support.databases import migrated_database
from tests.support.live_server import free_port

SERVER = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
PREFIX, SERIAL_DIGITS = "2710", 8
PRODUCTS = 3000
CATEGORIES = ["Dairy/Milk", "Dairy/Cheese", "Bakery/Bread", "Drinks/Coffee", "Drinks/Juice",
              "Fruit", "Vegetables", "Meat/Poultry", "Household", "Snacks"]  # fmt: skip


def dsn(url: str) -> str:
    return sqlalchemy_url(url).replace("postgresql+psycopg://", "postgresql://")


def voucher_code(index: int) -> str:
    alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
    body = "".join(alphabet[(index >> (5 * k)) & 31] for k in range(8))
    return body + check_character(body)


def load(url: str, cards: int, lines: int) -> tuple[str, list[str]]:
    """The data set; returns a cashier key and the card numbers."""
    started = time.perf_counter()
    numbers = [make_card_number(PREFIX, serial, SERIAL_DIGITS) for serial in range(1, cards + 1)]
    with psycopg.connect(dsn(url), autocommit=True) as db:
        db.execute(
            "INSERT INTO stores (id, code, name, timezone, currency, created_at) "
            "VALUES (1, 'BENCH', 'Bench store', 'Europe/Kyiv', 'UAH', now())"
        )
        lookup, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
        db.execute(
            "INSERT INTO api_keys (lookup, secret_hash, role, store_id, till, label, created_at) "
            "VALUES (%s, %s, 'cashier', 1, 'T1', 'bench', now())",
            (lookup, hashlib.sha256(secret.encode()).hexdigest()),
        )
        db.execute(
            "INSERT INTO customers (id, first_name, phone, language, timezone, marketing_consent,"
            " created_at) SELECT g, 'Customer', '+38050' || lpad(g::text, 7, '0'), 'uk',"
            " 'Europe/Kyiv', g %% 3 = 0, now() - (g %% 700) * interval '1 day'"
            " FROM generate_series(1, %s) g",
            (cards,),
        )
        with db.cursor().copy(
            "COPY cards (id, number, customer_id, status, issued_at, media_salt) FROM STDIN"
        ) as copy:
            for serial, number in enumerate(numbers, start=1):
                copy.write_row((serial, number, serial, "active", "2025-01-01T00:00:00Z", "s"))
        for index, path in enumerate(CATEGORIES, start=1):
            db.execute(
                "INSERT INTO categories (id, path, name) VALUES (%s, %s, %s)",
                (index, path, path.rsplit("/", 1)[-1]),
            )
        db.execute(
            "INSERT INTO products (id, sku, name, category_id, created_at) SELECT g,"
            " 'SKU-' || g, 'Product ' || g, 1 + g %% %s, now()"
            " FROM generate_series(1, %s) g" % (len(CATEGORIES), PRODUCTS)
        )
        receipts = lines // 10
        db.execute(
            "INSERT INTO purchases (id, store_id, till, receipt_id, purchased_at, customer_id,"
            " card_id, currency, total, discount_total, refunded_total, payments, status,"
            " fingerprint, created_at) SELECT g, 1, 'T1', 'B-' || g,"
            " now() - (g %% 365) * interval '1 day', c, c, 'UAH', 100, 0, 0, '[]'::jsonb,"
            " 'completed', 'x', now()"
            " FROM (SELECT g, 1 + (g::bigint * 7919) %% %s AS c FROM generate_series(1, %s) g) s"
            % (cards, receipts)
        )
        db.execute(
            "INSERT INTO purchase_lines (purchase_id, line_no, product_id, category_id, quantity,"
            " unit_price, discount, line_total, refunded_quantity)"
            " SELECT 1 + (g - 1) / 10, 1 + (g - 1) %% 10, 1 + g %% %s, 1 + (g %% %s) %% %s,"
            " 1, 10, 0, 10, 0 FROM generate_series(1, %s) g"
            % (PRODUCTS, PRODUCTS, len(CATEGORIES), receipts * 10)
        )
        db.execute(
            "INSERT INTO vouchers (code, kind, value, title, currency, allowed_categories,"
            " excluded_categories, valid_from, valid_until, uses_allowed, uses_count,"
            " customer_id, status, media_salt, created_at) SELECT"
            " 'V' || lpad(g::text, 8, '0'), 'fixed_amount', 50, 'Bench voucher', 'UAH',"
            " '[]', '[]', now() - interval '1 day', now() + interval '30 days', 1, 0,"
            " 1 + (g::bigint * 104729) %% %s, 'active', 's', now() FROM generate_series(1, %s) g"
            % (cards, max(cards // 5, 1))
        )
        tables = ["customers", "cards", "purchases", "purchase_lines", "products", "stores"]
        for table in [*tables, "categories"]:
            db.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                f" (SELECT max(id) FROM {table}))"
            )
        db.execute("VACUUM ANALYZE")  # no autovacuum in the middle of a measurement
        db.execute("CHECKPOINT")  # nor the flush of the load's dirty pages
    print(f"loaded {cards:,} cards and {lines:,} lines in {time.perf_counter() - started:.0f} s")
    return f"lk_{lookup}_{secret}", numbers


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))] * 1000


async def open_loop(
    session, base: str, headers: dict, numbers: list[str], rate: int, seconds: float
) -> dict:
    latencies: list[float] = []
    errors = 0

    async def one(number: str) -> None:
        nonlocal errors
        began = time.perf_counter()
        async with session.get(f"{base}/api/v1/pos/cards/{number}", headers=headers) as response:
            await response.read()
            if response.status != 200:
                errors += 1
        latencies.append(time.perf_counter() - began)

    count = int(rate * seconds)
    tasks = []
    started = time.perf_counter()
    for index in range(count):
        delay = started + index / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(random.choice(numbers))))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    return {
        "achieved": count / elapsed,
        "p50": percentile(latencies, 0.5),
        "p99": percentile(latencies, 0.99),
        "errors": errors,
    }


def receipt(numbers: list[str], serial: int) -> dict:
    lines = []
    for _ in range(10):
        sku = random.randint(1, PRODUCTS)
        price = Decimal(random.randint(100, 20000)) / 100
        quantity = random.randint(1, 3)
        lines.append(
            {
                "sku": f"SKU-{sku}",
                "name": f"Product {sku}",
                "category_path": CATEGORIES[sku % len(CATEGORIES)].split("/"),
                "quantity": str(quantity),
                "unit_price": str(price),
                "discount": "0.00",
                "line_total": str(price * quantity),
            }
        )
    total = sum(Decimal(line["line_total"]) for line in lines)
    body = {
        "receipt_id": f"L-{serial}-{secrets.token_hex(4)}",
        "purchased_at": "2026-11-22T10:00:00+02:00",
        "lines": lines,
        "total": str(total),
        "payments": [{"method": "card", "amount": str(total)}],
    }
    if random.random() < 0.7:
        body["card"] = random.choice(numbers)
    return body


async def purchases(
    session, base: str, headers: dict, numbers: list[str], count: int, concurrency: int
) -> dict:
    latencies: list[float] = []
    bodies = [receipt(numbers, index) for index in range(count)]
    queue = list(reversed(bodies))

    async def worker() -> None:
        while queue:
            body = queue.pop()
            began = time.perf_counter()
            async with session.post(
                f"{base}/api/v1/pos/purchases", json=body, headers=headers
            ) as response:
                await response.read()
                assert response.status == 201, await response.text()
            latencies.append(time.perf_counter() - began)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return {
        "receipts_per_s": count / (time.perf_counter() - started),
        "p50": percentile(latencies, 0.5),
        "p99": percentile(latencies, 0.99),
    }


async def contention(
    session, base: str, headers: dict, url: str, rounds: int, clients: int
) -> dict:
    with psycopg.connect(dsn(url), autocommit=True) as db:
        db.execute(
            "INSERT INTO vouchers (code, kind, value, title, currency, allowed_categories,"
            " excluded_categories, valid_from, valid_until, uses_allowed, uses_count,"
            " status, media_salt, created_at) SELECT c, 'fixed_amount', 10, 'Race', 'UAH',"
            " '[]', '[]', now() - interval '1 day', now() + interval '1 day', 1, 0, 'active',"
            " 's', now() FROM unnest(%s::text[]) c",
            ([voucher_code(index) for index in range(1, rounds + 1)],),
        )
    basket = {
        "total": "100.00",
        "lines": [
            {
                "sku": "SKU-1",
                "category_path": [],
                "quantity": "1",
                "unit_price": "100.00",
                "line_total": "100.00",
            }
        ],
    }
    doubles = zero = 0

    async def redeem(code: str, client: int) -> int:
        body = {**basket, "receipt_id": f"C-{code}-{client}"}
        async with session.post(
            f"{base}/api/v1/pos/vouchers/{code}/redeem", json=body, headers=headers
        ) as response:
            await response.read()
            return response.status

    started = time.perf_counter()
    for index in range(1, rounds + 1):
        code = voucher_code(index)
        statuses = await asyncio.gather(*(redeem(code, client) for client in range(clients)))
        wins = statuses.count(200)
        doubles += wins > 1
        zero += wins == 0
        assert all(status in (200, 409) for status in statuses), statuses
    elapsed = time.perf_counter() - started
    with psycopg.connect(dsn(url)) as db:
        bad = db.execute(
            "SELECT count(*) FROM vouchers v WHERE v.title = 'Race' AND (v.uses_count <> 1 OR"
            " (SELECT count(*) FROM voucher_redemptions r WHERE r.voucher_id = v.id) <> 1)"
        ).fetchone()[0]
    return {"rounds": rounds, "double_redemptions": doubles, "rounds_without_winner": zero,
            "vouchers_not_exactly_once_in_db": bad, "seconds": elapsed}  # fmt: skip


async def main(args: argparse.Namespace) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with migrated_database("postgres", Path("/tmp"), SERVER) as url:
        key, numbers = load(url, args.cards, args.lines)
        gc.collect()
        gc.freeze()  # the generator's own pauses would count as the server's latency
        env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench", "PUBLIC_BASE_URL": ""}
        server = subprocess.Popen(
            [str(ROOT / ".venv/bin/loyalty"), "serve", "--port", str(port), "--no-access-log"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=open("/tmp/till_load_server.log", "w"),
        )
        headers = {"Authorization": f"Bearer {key}"}
        try:
            connector = aiohttp.TCPConnector(limit=2000, keepalive_timeout=2)
            async with aiohttp.ClientSession(connector=connector) as session:
                for _ in range(200):
                    try:
                        async with session.get(f"{base}/healthz") as response:
                            if response.status == 200:
                                break
                    except aiohttp.ClientError:
                        pass
                    await asyncio.sleep(0.05)
                await open_loop(session, base, headers, numbers, 100, 2)  # warm up
                if "scan" in args.only:
                    for rate in args.rates:
                        runs = [await open_loop(session, base, headers, numbers, rate, args.seconds)
                                for _ in range(args.runs)]  # fmt: skip
                        for run in runs:
                            print(
                                f"scan @{rate}/s: "
                                + ", ".join(f"{k}={v:.1f}" for k, v in run.items())
                            )
                        print(
                            f"scan @{rate}/s median: "
                            + ", ".join(
                                f"{k}={statistics.median(r[k] for r in runs):.1f}" for k in runs[0]
                            )
                        )
                if "purchases" in args.only:
                    runs = [
                        await purchases(
                            session, base, headers, numbers, args.receipts, args.concurrency
                        )
                        for _ in range(args.runs)
                    ]
                    for run in runs:
                        print("purchases: " + ", ".join(f"{k}={v:.1f}" for k, v in run.items()))
                    print(
                        "purchases median: "
                        + ", ".join(
                            f"{k}={statistics.median(r[k] for r in runs):.1f}" for k in runs[0]
                        )
                    )
                if "vouchers" in args.only:
                    result = await contention(session, base, headers, url, args.rounds, 50)
                    print("voucher contention: " + ", ".join(f"{k}={v}" for k, v in result.items()))
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cards", type=int, default=1_000_000)
    parser.add_argument("--lines", type=int, default=10_000_000)
    parser.add_argument("--rates", type=int, nargs="*", default=[100, 300, 1000])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--receipts", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=1000)
    parser.add_argument("--only", nargs="*", default=["scan", "purchases", "vouchers"])
    asyncio.run(main(parser.parse_args()))

"""Cashier API under load: card scans on a big data set, receipts/s, voucher redemption races.

Each benchmark creates a fresh, migrated PostgreSQL database (tests.support.databases), creates
the store and a cashier API key with the real services (crm_core.stores / crm_core.staff), loads
the data set set-based (INSERT ... SELECT generate_series / unnest through psycopg, foreign-key
triggers off for the bulk load only), runs VACUUM ANALYZE and a CHECKPOINT, then starts **one**
`loyalty serve --no-access-log` process and drives it with aiohttp from this process:

    .venv/bin/python bench/pos_load.py scan --cards 1000000 --lines 10000000 --runs 3
    .venv/bin/python bench/pos_load.py purchases --runs 5
    .venv/bin/python bench/pos_load.py vouchers --rounds 1000 --runs 3

scan       GET /api/v1/pos/cards/{number} for random existing cards, open loop at fixed rates
           (requests leave on schedule whatever happened to earlier ones; latency is counted
           from the scheduled time, so a late load generator is charged, not hidden).
purchases  POST /api/v1/pos/purchases, receipts of 10 lines from a catalogue of 3,000 SKUs
           with category paths, a card on ~70% of receipts; closed loop, N concurrent tills.
vouchers   POST /api/v1/pos/vouchers/{code}/redeem: C concurrent clients (own receipt ids)
           redeem the same single-use voucher, a new voucher each round; every round must
           have exactly one success; the database is checked afterwards.

Per run figures and the median of the runs are printed. `--profile FILE` records the web
process with py-spy (raw format) during the first measured run. The database is dropped at
the end (also on errors); the web process is stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import aiohttp
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crm_core.cards.numbers import make_card_number
from crm_core.db import close_db, init_db, sqlalchemy_url
from crm_core.staff.models import Role
from crm_core.staff.service import create_api_key
from crm_core.stores.service import create_store
from crm_core.vouchers.codes import ALPHABET, check_character
from tests.support.databases import migrated_database
from tests.support.live_server import free_port

SERVER = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
PREFIX, SERIAL_DIGITS = "2710", 8  # the service's defaults (Settings.card_number_prefix ...)
STORE_CODE, CURRENCY = "KYIV-001", "UAH"
OTHER_STORES = 4
PRODUCTS = 3000
CENT = Decimal("0.01")
JSON = {"Content-Type": "application/json"}

CATEGORY_TREE = {
    "Dairy": ["Milk", "Cheese", "Yogurt", "Butter", "Kefir", "Sour cream"],
    "Bakery": ["Bread", "Pastry", "Cakes"],
    "Meat": ["Poultry", "Pork", "Beef", "Sausages"],
    "Fish": ["Fresh fish", "Frozen fish", "Canned fish"],
    "Fruit": ["Apples", "Citrus", "Bananas", "Berries"],
    "Vegetables": ["Potatoes", "Tomatoes", "Cucumbers", "Greens"],
    "Grocery": ["Pasta", "Cereals", "Flour", "Sugar", "Oil"],
    "Drinks": ["Water", "Juice", "Soda", "Coffee", "Tea"],
    "Alcohol": ["Beer", "Wine", "Spirits"],
    "Snacks": ["Chips", "Nuts", "Chocolate", "Biscuits"],
    "Frozen": ["Ice cream", "Dumplings", "Frozen vegetables"],
    "Household": ["Cleaning", "Paper", "Laundry"],
    "Personal care": ["Shampoo", "Soap", "Toothpaste"],
    "Pets": ["Cat food", "Dog food"],
}
BRANDS = ["Halychyna", "Yagotynske", "Roshen", "Kyivkhlib", "Nasha Ryaba", "Morshynska",
          "Sandora", "Lvivske", "Prostokvashyno", "Bila Liniya", "Rud", "Zhytomyrski"]  # fmt: skip
FIRST_NAMES = ["Olena", "Oksana", "Iryna", "Nataliia", "Andrii", "Oleksandr", "Serhii",
               "Dmytro", "Maria", "Yulia", "Taras", "Bohdan", "Kateryna", "Viktor", None]  # fmt: skip


# ---------------------------------------------------------------- catalogue and data set


def ean13(body: str) -> str:
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def categories() -> list[tuple[int, str, str, int | None]]:
    """(id, path, name, parent id) for the whole tree."""
    rows: list[tuple[int, str, str, int | None]] = []
    for top, subs in CATEGORY_TREE.items():
        parent = len(rows) + 1
        rows.append((parent, top, top, None))
        rows.extend((len(rows) + 1, f"{top}/{sub}", sub, parent) for sub in subs)
    return rows


def catalogue() -> list[dict]:
    """PRODUCTS products in leaf categories, with shelf prices; the same in every run."""
    leaves = [row for row in categories() if row[3] is not None]
    rng = random.Random(3000)
    products = []
    for number in range(1, PRODUCTS + 1):
        category_id, path, leaf, _ = leaves[rng.randrange(len(leaves))]
        price = Decimal(round(10 ** rng.uniform(1.2, 2.8), 1)).quantize(CENT) - Decimal("0.01")
        products.append(
            {
                "id": number,
                "sku": ean13(f"482{number:09d}"),
                "name": f"{leaf} {BRANDS[number % len(BRANDS)]} {number}",
                "category_id": category_id,
                "path": path,
                "price": price,
                "weighed": path.split("/")[0] in ("Fruit", "Vegetables") and number % 2 == 0,
            }
        )
    return products


def voucher_codes(count: int, rng: random.Random, taken: set[str]) -> list[str]:
    codes = []
    while len(codes) < count:
        body = "".join(rng.choice(ALPHABET) for _ in range(8))
        code = body + check_character(body)
        if code not in taken:
            taken.add(code)
            codes.append(code)
    return codes


def dsn(url: str) -> str:
    return sqlalchemy_url(url).replace("postgresql+psycopg://", "postgresql://")


async def create_store_and_key(url: str) -> str:
    """The store and a cashier key, made by the real services; returns the key's plaintext."""
    await init_db(url, pool_size=2)
    try:
        now = datetime.now(UTC)
        store = await create_store(STORE_CODE, "Kyiv, Khreshchatyk 1", "Europe/Kyiv", CURRENCY, now)
        issued = await create_api_key(Role.CASHIER, store, "T1", "pos_load bench", now)
        return issued.plaintext
    finally:
        await close_db()


LUHN_SQL = """
CREATE FUNCTION pg_temp.luhn(body text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT ((10 - sum(CASE WHEN i % 2 = 1
                         THEN (CASE WHEN d * 2 > 9 THEN d * 2 - 9 ELSE d * 2 END)
                         ELSE d END) % 10) % 10)::text
  FROM (SELECT i, substr(reverse(body), i, 1)::int AS d
        FROM generate_series(1, length(body)) AS i) AS digits
$$
"""

CUSTOMERS_SQL = """
INSERT INTO customers (id, first_name, phone, language, timezone, marketing_consent, created_at)
SELECT g, (%(names)s::text[])[1 + g %% cardinality(%(names)s::text[])],
       '+380' || (500000000 + g)::text,
       (ARRAY['uk', 'uk', 'uk', 'uk', 'en', 'ru', 'pl'])[1 + g %% 7],
       'Europe/Kyiv', g %% 3 <> 0,
       now() - ((g * 7919) %% (3 * 365 * 24 * 60)) * interval '1 minute'
FROM generate_series(1, %(cards)s) AS g
"""

CARDS_SQL = """
INSERT INTO cards (id, number, customer_id, status, issued_at, media_salt, telegram_file_id)
SELECT g, body || pg_temp.luhn(body), g, 'active', c.created_at, md5(g::text)::varchar(16),
       CASE WHEN g %% 2 = 0 THEN 'AgACAgIAAxkBAAI' || md5(g::text) END
FROM generate_series(1, %(cards)s) AS g
CROSS JOIN LATERAL (SELECT %(prefix)s || lpad(g::text, %(digits)s, '0') AS body) AS b
JOIN customers AS c ON c.id = g
"""

# Lines first (foreign-key triggers are off for the load), then purchases with their real
# totals aggregated from the lines. 1 to 19 lines per receipt, 10 on average; popular
# products are bought more often (index = N * random()^2); some quantities are weighed.
LINES_SQL = """
INSERT INTO purchase_lines (purchase_id, line_no, product_id, category_id, quantity, unit_price,
                            discount, line_total, refunded_quantity)
SELECT l.p, l.n, c.id, c.category_id, q.quantity, c.price, d.discount,
       round(q.quantity * c.price, 2) - d.discount, 0
FROM (SELECT p, n, random() AS r, random() AS s, random() AS t
      FROM generate_series(1, %(purchases)s) AS p
      CROSS JOIN LATERAL generate_series(1, 1 + (p * 7919) %% 19) AS n
      OFFSET 0) AS l
JOIN unnest(%(ids)s::int[], %(category_ids)s::int[], %(prices)s::numeric[], %(weighed)s::bool[])
     AS c(id, category_id, price, weighed)
  ON c.id = 1 + floor(%(products)s * l.s * l.s)::int
CROSS JOIN LATERAL (SELECT CASE WHEN c.weighed THEN round((0.2 + l.r * 1.8)::numeric, 3)
                                WHEN l.r < 0.80 THEN 1 WHEN l.r < 0.93 THEN 2
                                WHEN l.r < 0.97 THEN 3 ELSE 6 END AS quantity) AS q
CROSS JOIN LATERAL (SELECT CASE WHEN l.t < 0.08
                                THEN round(q.quantity * c.price * 0.15, 2) ELSE 0 END
                           AS discount) AS d
"""

PURCHASES_SQL = """
INSERT INTO purchases (id, store_id, till, receipt_id, purchased_at, customer_id, card_id,
                       currency, total, discount_total, refunded_total, payments, status,
                       fingerprint, created_at)
SELECT t.purchase_id, (%(stores)s::int[])[1 + t.purchase_id %% cardinality(%(stores)s::int[])],
       'T' || (1 + t.purchase_id %% 4), 'R' || lpad(t.purchase_id::text, 10, '0'),
       w.at, k.customer_id, k.customer_id, 'UAH', t.total, t.discount, 0,
       jsonb_build_array(jsonb_build_object(
           'method', CASE WHEN t.purchase_id %% 3 = 0 THEN 'cash' ELSE 'card' END,
           'amount', t.total::text)),
       'completed', encode(sha256(t.purchase_id::text::bytea), 'hex'), w.at
FROM (SELECT purchase_id, sum(line_total) AS total, sum(discount) AS discount
      FROM purchase_lines GROUP BY purchase_id) AS t
CROSS JOIN LATERAL (SELECT now() - ((t.purchase_id * 7919) %% (365 * 24 * 60))
                               * interval '1 minute' AS at) AS w
CROSS JOIN LATERAL (SELECT CASE WHEN t.purchase_id %% 10 < 7
                                THEN 1 + (t.purchase_id * 104729) %% %(cards)s END
                           AS customer_id) AS k
"""

VOUCHERS_SQL = """
INSERT INTO vouchers (code, kind, value, title, currency, min_basket, allowed_categories,
                      excluded_categories, free_product_sku, valid_from, valid_until,
                      uses_allowed, uses_count, customer_id, status, media_salt, created_at)
SELECT v.code, k.kind, k.value, k.title, k.currency, k.min_basket, k.allowed, '[]'::jsonb,
       k.sku, f.valid_from, f.valid_from + interval '30 days', 1,
       CASE WHEN v.n %% 5 = 0 THEN 1 ELSE 0 END, 1 + (v.n * 15485863) %% %(cards)s,
       CASE WHEN v.n %% 50 = 0 THEN 'cancelled' ELSE 'active' END, md5(v.code), f.valid_from
FROM unnest(%(codes)s::text[]) WITH ORDINALITY AS v(code, n)
CROSS JOIN LATERAL (SELECT now() - (v.n %% 45) * interval '1 day' AS valid_from) AS f
CROSS JOIN LATERAL (
    SELECT * FROM (VALUES
        (0, 'percent', 10.00, '-10% on everything', NULL, NULL, '[]'::jsonb, NULL),
        (1, 'fixed_amount', 50.00, '50 UAH off from 300 UAH', 'UAH', 300.00, '[]'::jsonb, NULL),
        (2, 'percent', 20.00, '-20% on dairy', NULL, NULL, '["Dairy"]'::jsonb, NULL),
        (3, 'free_product', 1.00, 'Free coffee', NULL, NULL, '[]'::jsonb, %(free_sku)s),
        (4, 'points_multiplier', 2.00, 'Double points', NULL, NULL, '[]'::jsonb, NULL)
    ) AS kinds(i, kind, value, title, currency, min_basket, allowed, sku)
    WHERE kinds.i = v.n %% 5) AS k
"""

REDEMPTIONS_SQL = """
INSERT INTO voucher_redemptions (voucher_id, store_id, till, receipt_id, customer_id, discount,
                                 redeemed_at)
SELECT v.id, %(store)s, 'T1', 'R' || lpad((1 + (v.id * 7919) %% %(purchases)s)::text, 10, '0'),
       v.customer_id, 10.00, v.valid_from + interval '1 day'
FROM vouchers AS v WHERE v.uses_count = 1
"""

SERIAL_TABLES = ["customers", "cards", "categories", "products", "purchases", "purchase_lines",
                 "vouchers", "voucher_redemptions", "stores"]  # fmt: skip


def load(url: str, cards: int, lines: int, vouchers: int) -> dict[str, int]:
    """The data set, set-based; returns row counts."""
    purchases = max(lines // 10, 1) if lines else 0
    products = catalogue()
    tree = categories()
    rng = random.Random(7)
    with psycopg.connect(dsn(url), autocommit=True) as db:
        db.execute("SET synchronous_commit = off")
        db.execute("SET maintenance_work_mem = '512MB'")
        db.execute("SET work_mem = '256MB'")
        # The data are consistent by construction; FK triggers would cost 40M lookups.
        db.execute("SET session_replication_role = replica")
        db.execute(LUHN_SQL)
        db.execute(
            "INSERT INTO stores (code, name, timezone, currency, created_at)"
            " SELECT 'KYIV-' || lpad((g + 1)::text, 3, '0'), 'Kyiv store ' || (g + 1),"
            " 'Europe/Kyiv', 'UAH', now() FROM generate_series(1, %(n)s) AS g",
            {"n": OTHER_STORES},
        )
        stores = [row[0] for row in db.execute("SELECT id FROM stores ORDER BY id")]
        db.execute(
            "INSERT INTO categories (id, path, name, parent_id)"
            " SELECT * FROM unnest(%s::int[], %s::text[], %s::text[], %s::int[])",
            [list(column) for column in zip(*tree, strict=True)],
        )
        db.execute(
            "INSERT INTO products (id, sku, name, category_id, created_at)"
            " SELECT id, sku, name, category_id, now() - interval '400 days'"
            " FROM unnest(%s::int[], %s::text[], %s::text[], %s::int[])"
            " AS p(id, sku, name, category_id)",
            [[p[key] for p in products] for key in ("id", "sku", "name", "category_id")],
        )
        timed(db, "customers", CUSTOMERS_SQL, {"names": FIRST_NAMES, "cards": cards})
        timed(
            db,
            "cards",
            CARDS_SQL,
            {"cards": cards, "prefix": PREFIX, "digits": SERIAL_DIGITS},
        )
        if purchases:
            timed(
                db,
                "purchase_lines",
                LINES_SQL,
                {
                    "purchases": purchases,
                    "products": PRODUCTS,
                    "ids": [p["id"] for p in products],
                    "category_ids": [p["category_id"] for p in products],
                    "prices": [p["price"] for p in products],
                    "weighed": [p["weighed"] for p in products],
                },
            )
            timed(db, "purchases", PURCHASES_SQL, {"stores": stores, "cards": cards})
        coffee = next(p["sku"] for p in products if p["path"] == "Drinks/Coffee")
        codes = voucher_codes(vouchers, rng, set())
        timed(
            db, "vouchers", VOUCHERS_SQL, {"codes": codes, "cards": cards, "free_sku": coffee}
        )
        if purchases:
            db.execute(REDEMPTIONS_SQL, {"store": stores[0], "purchases": purchases})
        db.execute("SET session_replication_role = DEFAULT")
        for table in SERIAL_TABLES:
            db.execute(
                "SELECT setval(pg_get_serial_sequence(%(t)s, 'id'),"
                " greatest((SELECT max(id) FROM " + psycopg.sql.Identifier(table).as_string(db)
                + "), 1))",  # fmt: skip
                {"t": table},
            )
        db.execute("SELECT setval(pg_get_serial_sequence('card_serials', 'id'), %s)", (cards,))
        check_card_numbers(db, cards)
        started = time.perf_counter()
        db.execute("VACUUM (ANALYZE)")
        db.execute("CHECKPOINT")
        print(f"  vacuum analyze + checkpoint: {time.perf_counter() - started:.0f} s", flush=True)
        counts = {
            table: db.execute(
                psycopg.sql.SQL("SELECT count(*) FROM {}").format(psycopg.sql.Identifier(table))
            ).fetchone()[0]
            for table in SERIAL_TABLES
        }
        size = db.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        print(f"  database size: {size.fetchone()[0]}", flush=True)
    return counts


def timed(db: psycopg.Connection, label: str, query: str, params: dict) -> None:
    started = time.perf_counter()
    rows = db.execute(query, params).rowcount
    print(f"  {label}: {rows:,} rows in {time.perf_counter() - started:.1f} s", flush=True)


def check_card_numbers(db: psycopg.Connection, cards: int) -> None:
    """The SQL Luhn digit must agree with crm_core.cards.numbers.make_card_number."""
    sample = sorted({1, cards, *random.sample(range(1, cards + 1), min(cards, 200))})
    stored = dict(db.execute("SELECT id, number FROM cards WHERE id = ANY(%s)", (sample,)))
    for serial in sample:
        expected = make_card_number(PREFIX, serial, SERIAL_DIGITS)
        assert stored[serial] == expected, (serial, stored[serial], expected)


# ---------------------------------------------------------------- web process


@contextmanager
def web_process(url: str, log_path: Path) -> Iterator[tuple[str, int]]:
    """One `loyalty serve` process; yields its base URL and pid. Retries a failed start."""
    for attempt in range(1, 4):
        port = free_port()
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "SECRET_KEY": "bench",
            "PUBLIC_BASE_URL": "",
            "TELEGRAM_BOT_TOKEN": "",
            "VIBER_AUTH_TOKEN": "",
            "REDIS_URL": "",
        }
        with log_path.open("w") as log:
            server = subprocess.Popen(
                [str(ROOT / ".venv/bin/loyalty"), "serve", "--port", str(port), "--no-access-log"],
                env=env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        base = f"http://127.0.0.1:{port}"
        if wait_healthy(base, server):
            break
        server.terminate()
        server.wait(timeout=10)
        print(f"web process did not start (attempt {attempt}), see {log_path}", flush=True)
        print(log_path.read_text()[-2000:], flush=True)
        if attempt == 3:
            raise RuntimeError("the web process does not start")
        time.sleep(60)  # the server code may be mid-change: wait and retry
    try:
        yield base, server.pid
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def wait_healthy(base: str, server: subprocess.Popen) -> bool:
    import urllib.error
    import urllib.request

    for _ in range(300):
        if server.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=1) as response:  # noqa: S310
                if response.status == 200:
                    return True
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    return False


class Profiler:
    """py-spy on the web process during one measured run (if asked for)."""

    def __init__(self, path: str | None, pid: int) -> None:
        self.path, self.pid, self.process = path, pid, None

    def start(self, seconds: float) -> None:
        if self.path and self.process is None:
            self.process = subprocess.Popen(
                [str(ROOT / ".venv/bin/py-spy"), "record", "-p", str(self.pid), "-d",
                 str(max(int(seconds), 1)), "-f", "raw", "-o", self.path, "--nonblocking"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )  # fmt: skip

    def stop(self) -> None:
        if self.process is not None and self.path:
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.terminate()
                self.process.wait()
            print(f"  py-spy profile: {self.path}", flush=True)
            self.path = None


class DbCounters:
    """Statements (transactions) and sequential scans the server caused during a measurement."""

    def __init__(self, url: str) -> None:
        self.db = psycopg.connect(dsn(url), autocommit=True)

    def snapshot(self) -> dict:
        self.db.execute("SELECT pg_stat_clear_snapshot()")
        xacts = self.db.execute(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database"
            " WHERE datname = current_database()"
        ).fetchone()[0]
        scans = dict(
            self.db.execute(
                "SELECT relname, seq_scan FROM pg_stat_user_tables WHERE seq_scan IS NOT NULL"
            ).fetchall()
        )
        return {"xacts": xacts, "seq": scans}

    def report(self, before: dict, after: dict, requests: int) -> str:
        # Stats are flushed at most once a second by each backend; small deltas are approximate.
        per = (after["xacts"] - before["xacts"]) / max(requests, 1)
        seq = {t: n - before["seq"].get(t, 0) for t, n in after["seq"].items()}
        seq = {t: n for t, n in seq.items() if n > 0}
        return f"~{per:.1f} db transactions/request, seq scans: {seq or 'none'}"

    def close(self) -> None:
        self.db.close()


def session(limit: int) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(limit=limit, keepalive_timeout=3)
    return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=120))


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def show(label: str, result: dict) -> None:
    print(f"{label}: " + ", ".join(f"{k}={fmt(v)}" for k, v in result.items()), flush=True)


def fmt(value: object) -> str:
    return f"{value:.1f}" if isinstance(value, float) else str(value)


def medians(runs: list[dict]) -> dict:
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


# ---------------------------------------------------------------- 1. card scans


def random_card(cards: int) -> str:
    return make_card_number(PREFIX, random.randint(1, cards), SERIAL_DIGITS)


async def open_loop(
    http: aiohttp.ClientSession, base: str, headers: dict, cards: int, rate: int, seconds: float
) -> dict:
    count = int(rate * seconds)
    latencies: list[float] = []
    lateness: list[float] = []
    errors: dict[int | str, int] = {}

    async def scan(scheduled: float, number: str) -> None:
        lateness.append(time.perf_counter() - scheduled)
        try:
            async with http.get(f"{base}/api/v1/pos/cards/{number}", headers=headers) as reply:
                body = await reply.read()
                if reply.status != 200 or b'"kind":"card"' not in body:
                    errors[reply.status] = errors.get(reply.status, 0) + 1
        except (aiohttp.ClientError, TimeoutError) as error:
            errors[type(error).__name__] = errors.get(type(error).__name__, 0) + 1
        latencies.append(time.perf_counter() - scheduled)

    numbers = [random_card(cards) for _ in range(count)]
    tasks = []
    started = time.perf_counter()
    index = 0
    while index < count:
        now = time.perf_counter()
        while index < count and started + index / rate <= now:
            tasks.append(asyncio.create_task(scan(started + index / rate, numbers[index])))
            index += 1
        if index < count:
            await asyncio.sleep(max(started + index / rate - time.perf_counter(), 0))
    sent = time.perf_counter() - started
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    return {
        "offered_per_s": float(rate),
        "sent_per_s": count / sent if sent else float(count),
        "achieved_per_s": count / elapsed,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p90_ms": percentile(latencies, 0.90) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "max_ms": max(latencies) * 1000,
        "send_lag_p99_ms": percentile(lateness, 0.99) * 1000,
        "errors": sum(errors.values()),
    }


async def bench_scan(args: argparse.Namespace, url: str, key: str, base: str, pid: int) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    profiler = Profiler(args.profile, pid)
    counters = DbCounters(url)
    results: dict[int, list[dict]] = {rate: [] for rate in args.rates}
    async with session(limit=args.connections) as http:
        warm = await open_loop(http, base, headers, args.cards, 100, args.warmup)
        show(f"warm-up ({args.warmup:.0f} s at 100/s)", warm)
        for run in range(1, args.runs + 1):
            for rate in args.rates:
                if rate == args.profile_rate:
                    profiler.start(args.seconds)
                before = counters.snapshot()
                result = await open_loop(http, base, headers, args.cards, rate, args.seconds)
                await asyncio.sleep(1.1)  # let backends flush their statistics
                stats = counters.report(before, counters.snapshot(), int(rate * args.seconds))
                if rate == args.profile_rate:
                    profiler.stop()
                results[rate].append(result)
                show(f"run {run} scan @{rate}/s", result)
                print(f"  {stats}", flush=True)
                await asyncio.sleep(args.pause)
    counters.close()
    print(f"median of {args.runs} runs (cards={args.cards:,}, lines={args.lines:,}):")
    for rate, runs in results.items():
        show(f"  scan @{rate}/s", medians(runs))
        spread = ", ".join(f"{r['p99_ms']:.1f}" for r in runs)
        print(f"    p99 per run: {spread} ms", flush=True)
    if 300 in results:
        p99 = medians(results[300])["p99_ms"]
        print(f"target p99 < 20 ms at 300/s: {'met' if p99 < 20 else 'MISSED'} ({p99:.1f} ms)")


# ---------------------------------------------------------------- 2. purchases


class Receipts:
    """Realistic receipts: popular products more often, weighed goods, promotions, split pay."""

    def __init__(self, cards: int, new_sku_share: float, seed: int) -> None:
        self.products = catalogue()
        self.leaves = [row[1] for row in categories() if row[3] is not None]
        self.cards = cards
        self.new_sku_share = new_sku_share
        self.rng = random.Random(seed)
        self.serial = 0
        self.tag = f"{seed:x}"

    def line(self) -> dict:
        rng = self.rng
        if rng.random() < self.new_sku_share:
            # A product the catalogue has not seen yet: created by the first receipt naming it.
            number = rng.randrange(10**8)
            sku, name = ean13(f"489{number:09d}"), f"New product {number}"
            path = rng.choice(self.leaves)
            price, weighed = Decimal(rng.randint(500, 30000)) / 100, False
        else:
            product = self.products[int(PRODUCTS * rng.random() ** 2)]
            sku, name, path = product["sku"], product["name"], product["path"]
            price, weighed = product["price"], product["weighed"]
        if weighed:
            quantity = Decimal(rng.randint(200, 2000)) / 1000
        else:
            quantity = Decimal(rng.choices([1, 2, 3, 6], [80, 13, 4, 3])[0])
        gross = quantity * price
        discount = (gross * Decimal("0.15")).quantize(CENT, ROUND_HALF_UP)
        discount = discount if rng.random() < 0.08 else Decimal("0.00")
        return {
            "sku": sku,
            "name": name,
            "category_path": path.split("/"),
            "quantity": str(quantity),
            "unit_price": str(price),
            "discount": str(discount),
            "line_total": str((gross - discount).quantize(CENT)),
        }

    def body(self, lines: int) -> bytes:
        self.serial += 1
        items = [self.line() for _ in range(lines)]
        total = sum((Decimal(item["line_total"]) for item in items), Decimal("0.00"))
        pay = self.rng.random()
        if pay < 0.6:
            payments = [{"method": "card", "amount": str(total)}]
        elif pay < 0.9:
            payments = [{"method": "cash", "amount": str(total)}]
        else:
            cash = (total / 3).quantize(CENT)
            payments = [
                {"method": "cash", "amount": str(cash)},
                {"method": "card", "amount": str(total - cash)},
            ]
        receipt = {
            "receipt_id": f"B{self.tag}-{self.serial:07d}",
            "purchased_at": datetime.now(UTC).isoformat(),
            "lines": items,
            "total": str(total),
            "payments": payments,
        }
        if self.rng.random() < 0.7:
            number = make_card_number(PREFIX, self.rng.randint(1, self.cards), SERIAL_DIGITS)
            receipt["card"] = f"{number[:4]} {number[4:8]} {number[8:]}"  # as a person types it
        return json.dumps(receipt).encode()


async def closed_loop(
    http: aiohttp.ClientSession, base: str, headers: dict, bodies: list[bytes], concurrency: int
) -> dict:
    latencies: list[float] = []
    errors: dict[int | str, int] = {}
    pending = iter(bodies)

    async def till() -> None:
        for body in pending:
            began = time.perf_counter()
            try:
                async with http.post(
                    f"{base}/api/v1/pos/purchases", data=body, headers=headers
                ) as reply:
                    text = await reply.read()
                    if reply.status != 201:
                        errors[reply.status] = errors.get(reply.status, 0) + 1
                        if sum(errors.values()) <= 3:
                            print(f"  HTTP {reply.status}: {text[:300]!r}", flush=True)
            except (aiohttp.ClientError, TimeoutError) as error:
                errors[type(error).__name__] = errors.get(type(error).__name__, 0) + 1
            latencies.append(time.perf_counter() - began)

    started = time.perf_counter()
    await asyncio.gather(*(till() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return {
        "receipts_per_s": len(bodies) / elapsed,
        "lines_per_s": len(bodies) * 10 / elapsed,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "errors": sum(errors.values()),
    }


async def bench_purchases(
    args: argparse.Namespace, url: str, key: str, base: str, pid: int
) -> None:
    headers = {"Authorization": f"Bearer {key}", **JSON}
    profiler = Profiler(args.profile, pid)
    counters = DbCounters(url)
    receipts = Receipts(args.cards, args.new_sku_share, seed=random.randrange(1 << 30))
    runs = []
    async with session(limit=args.concurrency + 10) as http:
        warm = [receipts.body(10) for _ in range(args.warmup_receipts)]
        show("warm-up", await closed_loop(http, base, headers, warm, args.concurrency))
        for run in range(1, args.runs + 1):
            bodies = [receipts.body(10) for _ in range(args.receipts)]
            profiler.start(args.receipts / 250)
            before = counters.snapshot()
            result = await closed_loop(http, base, headers, bodies, args.concurrency)
            await asyncio.sleep(1.1)
            stats = counters.report(before, counters.snapshot(), args.receipts)
            profiler.stop()
            runs.append(result)
            show(f"run {run} purchases x{args.concurrency}", result)
            print(f"  {stats}", flush=True)
            await asyncio.sleep(args.pause)
    with psycopg.connect(dsn(url)) as db:
        stored, lines = db.execute(
            "SELECT count(DISTINCT p.id), count(*) FROM purchases p"
            " JOIN purchase_lines l ON l.purchase_id = p.id WHERE p.receipt_id LIKE %s",
            (f"B{receipts.tag}-%",),
        ).fetchone()
        with_card = db.execute(
            "SELECT avg((card_id IS NOT NULL)::int) FROM purchases WHERE receipt_id LIKE %s",
            (f"B{receipts.tag}-%",),
        ).fetchone()[0]
    counters.close()
    sent = receipts.serial
    print(
        f"in the database: {stored:,} of {sent:,} receipts sent, {lines:,} lines,"
        f" {float(with_card or 0):.0%} with a card"
    )
    print(f"median of {args.runs} runs (concurrency {args.concurrency}):")
    middle = medians(runs)
    show("  purchases", middle)
    print("    receipts/s per run: " + ", ".join(f"{r['receipts_per_s']:.1f}" for r in runs))
    print("    p99 per run: " + ", ".join(f"{r['p99_ms']:.1f}" for r in runs) + " ms")
    met = middle["receipts_per_s"] >= 200
    print(f"target >= 200 receipts/s: {'met' if met else 'MISSED'}", flush=True)


# ---------------------------------------------------------------- 3. voucher races


RACE_BASKET = {
    "total": "412.50",
    "lines": [
        {"sku": ean13("482000000001"), "category_path": ["Dairy", "Milk"], "quantity": "2",
         "unit_price": "41.25", "line_total": "82.50"},
        {"sku": ean13("482000000002"), "category_path": ["Drinks", "Coffee"], "quantity": "1",
         "unit_price": "330.00", "line_total": "330.00"},
    ],
}  # fmt: skip


def new_race_vouchers(url: str, count: int, rng: random.Random) -> list[str]:
    with psycopg.connect(dsn(url), autocommit=True) as db:
        taken = {row[0] for row in db.execute("SELECT code FROM vouchers")}
        codes = voucher_codes(count, rng, taken)
        db.execute(
            "INSERT INTO vouchers (code, kind, value, title, currency, min_basket,"
            " allowed_categories, excluded_categories, valid_from, valid_until, uses_allowed,"
            " uses_count, status, media_salt, created_at)"
            " SELECT c, 'fixed_amount', 50, '50 UAH off from 300 UAH', 'UAH', 300, '[]', '[]',"
            " now() - interval '1 hour', now() + interval '7 days', 1, 0, 'active', md5(c),"
            " now() FROM unnest(%s::text[]) AS c",
            (codes,),
        )
    return codes


async def race_round(
    http: aiohttp.ClientSession, base: str, headers: dict, code: str, tag: str, clients: int
) -> tuple[list[int], list[str], float]:
    async def redeem(client: int) -> tuple[int, str, str]:
        receipt = f"{tag}-{client:02d}"
        body = json.dumps({**RACE_BASKET, "receipt_id": receipt}).encode()
        async with http.post(
            f"{base}/api/v1/pos/vouchers/{code}/redeem", data=body, headers=headers
        ) as reply:
            payload = await reply.json()
            reason = payload.get("code", "") if reply.status != 200 else ""
            return reply.status, receipt, reason

    started = time.perf_counter()
    answers = await asyncio.gather(*(redeem(client) for client in range(clients)))
    elapsed = time.perf_counter() - started
    statuses = [status for status, _, _ in answers]
    winners = [receipt for status, receipt, _ in answers if status == 200]
    odd = [f"{s} {r}" for s, _, r in answers if s != 200 and r != "voucher_used"]
    if odd:
        print(f"  unexpected answers for {code}: {odd[:5]}", flush=True)
    return statuses, winners, elapsed


async def bench_vouchers(args: argparse.Namespace, url: str, key: str, base: str, pid: int) -> None:
    headers = {"Authorization": f"Bearer {key}", **JSON}
    profiler = Profiler(args.profile, pid)
    rng = random.Random()
    runs = []
    async with session(limit=args.clients + 10) as http:
        await race_round(http, base, headers, new_race_vouchers(url, 1, rng)[0], "W", args.clients)
        for run in range(1, args.runs + 1):
            codes = new_race_vouchers(url, args.rounds, rng)
            profiler.start(args.rounds / 8)
            doubles = zero = unexpected = 0
            winners: dict[str, str] = {}
            round_times = []
            started = time.perf_counter()
            for index, code in enumerate(codes):
                statuses, won, elapsed = await race_round(
                    http, base, headers, code, f"RACE{run}-{index:04d}", args.clients
                )
                round_times.append(elapsed)
                doubles += len(won) > 1
                zero += not won
                unexpected += sum(1 for s in statuses if s not in (200, 409))
                if won:
                    winners[code] = won[0]
            total = time.perf_counter() - started
            profiler.stop()
            bad_db, wrong_winner = verify_redemptions(url, winners, codes)
            result = {
                "rounds": len(codes),
                "double_redemptions": doubles,
                "rounds_without_success": zero,
                "unexpected_answers": unexpected,
                "db_not_exactly_once": bad_db,
                "db_winner_differs": wrong_winner,
                "requests_per_s": len(codes) * args.clients / total,
                "round_p50_ms": percentile(round_times, 0.50) * 1000,
                "round_p99_ms": percentile(round_times, 0.99) * 1000,
            }
            runs.append(result)
            show(f"run {run} vouchers ({args.clients} clients)", result)
            await asyncio.sleep(args.pause)
    print(f"median of {args.runs} runs:")
    show("  vouchers", medians(runs))
    total_doubles = sum(r["double_redemptions"] for r in runs)
    total_zero = sum(r["rounds_without_success"] for r in runs)
    total_db = sum(r["db_not_exactly_once"] + r["db_winner_differs"] for r in runs)
    print(
        f"all runs: {sum(r['rounds'] for r in runs)} rounds, double redemptions {total_doubles},"
        f" rounds without success {total_zero}, database mismatches {total_db}"
    )
    met = total_doubles == 0 and total_zero == 0 and total_db == 0
    print(f"target 0 double redemptions, 0 empty rounds: {'met' if met else 'MISSED'}")


def verify_redemptions(url: str, winners: dict[str, str], codes: list[str]) -> tuple[int, int]:
    """Vouchers whose uses_count or redemption rows are not exactly 1; rows for another receipt."""
    with psycopg.connect(dsn(url)) as db:
        rows = db.execute(
            "SELECT v.code, v.uses_count, count(r.id), min(r.receipt_id) FROM vouchers v"
            " LEFT JOIN voucher_redemptions r ON r.voucher_id = v.id"
            " WHERE v.code = ANY(%s) GROUP BY v.code, v.uses_count",
            (codes,),
        ).fetchall()
    bad = sum(1 for _, uses, redemptions, _ in rows if uses != 1 or redemptions != 1)
    bad += len(codes) - len(rows)
    wrong = sum(1 for code, _, _, receipt in rows if winners.get(code) != receipt)
    return bad, wrong


# ---------------------------------------------------------------- main


BENCHES = {"scan": bench_scan, "purchases": bench_purchases, "vouchers": bench_vouchers}


def run(args: argparse.Namespace) -> None:
    print(f"pos_load {args.bench}: {vars(args)}", flush=True)
    with migrated_database("postgres", Path("/tmp"), SERVER) as url:
        print(f"database {url.rsplit('/', 1)[-1]}", flush=True)
        key = asyncio.run(create_store_and_key(url))
        started = time.perf_counter()
        print(
            f"loading {args.cards:,} customers and cards, {args.lines:,} purchase lines...",
            flush=True,
        )
        counts = load(url, args.cards, args.lines, args.vouchers)
        print(
            f"loaded in {time.perf_counter() - started:.0f} s: "
            + ", ".join(f"{table} {count:,}" for table, count in counts.items()),
            flush=True,
        )
        log = Path(f"/tmp/pos_load_{args.bench}_server.log")
        with web_process(url, log) as (base, pid):
            print(f"web process pid {pid} at {base}", flush=True)
            asyncio.run(BENCHES[args.bench](args, url, key, base, pid))
    print("database dropped", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    benches = parser.add_subparsers(dest="bench", required=True)

    def common(name: str, cards: int, lines: int, runs: int) -> argparse.ArgumentParser:
        sub = benches.add_parser(name)
        sub.add_argument("--cards", type=int, default=cards, help="customers, one card each")
        sub.add_argument("--lines", type=int, default=lines, help="purchase lines (10/receipt)")
        sub.add_argument("--vouchers", type=int, default=None, help="default: cards / 5")
        sub.add_argument("--runs", type=int, default=runs)
        sub.add_argument("--pause", type=float, default=2.0, help="seconds between runs")
        sub.add_argument("--profile", help="py-spy raw output file for one measured run")
        return sub

    scan = common("scan", 1_000_000, 10_000_000, 3)
    scan.add_argument("--rates", type=int, nargs="+", default=[100, 300, 1000])
    scan.add_argument("--seconds", type=float, default=10.0, help="duration of each rate")
    scan.add_argument("--warmup", type=float, default=5.0, help="seconds at 100/s first")
    scan.add_argument("--connections", type=int, default=1000, help="client connection limit")
    scan.add_argument("--profile-rate", type=int, default=300, help="rate to profile")

    purchases = common("purchases", 1_000_000, 10_000_000, 5)
    purchases.add_argument("--receipts", type=int, default=3000, help="receipts per run")
    purchases.add_argument("--concurrency", type=int, default=32, help="tills at once")
    purchases.add_argument("--warmup-receipts", type=int, default=300)
    purchases.add_argument(
        "--new-sku-share", type=float, default=0.001, help="lines naming an unknown SKU"
    )

    vouchers = common("vouchers", 10_000, 100_000, 3)
    vouchers.add_argument("--rounds", type=int, default=1000)
    vouchers.add_argument("--clients", type=int, default=50)

    args = parser.parse_args()
    if args.vouchers is None:
        args.vouchers = max(args.cards // 5, 1)
    run(args)


if __name__ == "__main__":
    main()

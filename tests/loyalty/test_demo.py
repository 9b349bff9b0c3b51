"""`loyalty demo`: a realistic data set with structure, the same for the same seed, loaded once."""

from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from crm_core.stores.models import Store
from loyalty.demo import PERSONAS, _purchase_rows, _Shopper
from loyalty.migrations import upgrade_to_head

LOYALTY = [sys.executable, "-m", "loyalty.cli"]
CUSTOMERS = 200


def fresh_database(path: Path) -> str:
    url = f"sqlite://{path}"
    upgrade_to_head(url)
    return url


def demo(url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.run(
        [*LOYALTY, "demo", "--customers", str(CUSTOMERS), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def query(path: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(path) as db:
        return db.execute(sql).fetchall()


def fingerprint(path: Path) -> list[tuple]:
    """What a second load with the same seed must reproduce exactly."""
    return query(
        path,
        "SELECT c.first_name, c.city, k.number, m.receipts, m.spent_minor, m.stage, m.rfm_segment"
        " FROM customers c JOIN cards k ON k.customer_id = c.id"
        " JOIN customer_metrics m ON m.customer_id = c.id ORDER BY k.number",
    )


def test_demo_loads_customers_with_histories_of_every_kind(tmp_path):
    path = tmp_path / "demo.sqlite3"
    loaded = demo(fresh_database(path))
    assert loaded.returncode == 0, loaded.stderr
    assert f"created {CUSTOMERS} customers" in loaded.stdout

    assert query(path, "SELECT COUNT(*) FROM customers") == [(CUSTOMERS,)]
    # {products} works in campaigns before the first nightly job (issue 13.7)
    assert query(path, "SELECT COUNT(*) > 0 FROM cluster_products WHERE cluster_key = '*'") == [
        (1,)
    ]
    assert query(path, "SELECT COUNT(*) FROM cards") == [(CUSTOMERS,)]
    assert query(path, "SELECT COUNT(*) FROM stores WHERE code LIKE 'DEMO-%'") == [(4,)]
    top_level = {
        row[0] for row in query(path, "SELECT path FROM categories WHERE parent_id IS NULL")
    }
    assert {"Baby", "Pets", "Dairy", "Bakery"} <= top_level
    assert query(path, "SELECT COUNT(*) FROM categories WHERE parent_id IS NOT NULL")[0][0] > 5
    stages = dict(query(path, "SELECT stage, COUNT(*) FROM customer_metrics GROUP BY stage"))
    assert set(stages) == {"registered", "new", "regular", "lapsing", "lost"}
    assert stages["regular"] > stages["lost"] > 0
    named = {row[0] for row in query(path, "SELECT DISTINCT rfm_segment FROM customer_metrics")}
    assert {"champions", "hibernating", "at_risk"} <= named
    # Households with children buy baby products; the custom field says so too.
    families = query(
        path,
        "SELECT COUNT(DISTINCT v.customer_id) FROM customer_field_values v"
        " JOIN custom_fields f ON f.id = v.field_id"
        " JOIN purchase_lines l ON l.customer_id = v.customer_id"
        " JOIN products p ON p.id = l.product_id JOIN categories g ON g.id = p.category_id"
        " WHERE f.key = 'children' AND v.number_value > 0 AND g.path LIKE 'Baby/%'",
    )[0][0]
    assert families > CUSTOMERS // 10
    segments = dict(query(path, "SELECT name, member_count FROM segments"))
    assert len(segments) == 6
    assert all(count > 0 for count in segments.values()), segments
    assert query(path, "SELECT COUNT(*) FROM customer_preferences")[0][0] > 0
    # Names fit the gender the profile says (women's names were given to men and the reverse).
    women = {"Олена", "Марія", "Оксана", "Наталія", "Юлія", "Софія", "Ольга", "Anna", "Kateřina"}
    men = {"Андрій", "Іван", "Тарас", "Дмитро", "Богдан", "Максим", "Сергій", "Piotr", "Jan"}
    people = query(path, "SELECT first_name, gender FROM customers")
    assert {name for name, gender in people if gender == "male"} <= men
    assert {name for name, gender in people if gender == "female"} <= women
    assert {gender for _, gender in people} >= {"male", "female"}


def test_no_demo_receipt_is_dated_after_the_load():
    """Loaded in the morning, today's visits (08:00-20:00 UTC) must still lie in the past:
    the import refuses receipts from the future."""
    now = datetime(2026, 12, 1, 8, 30, tzinfo=UTC)
    store = Store(code="DEMO-X", timezone="Europe/Kyiv")
    regular = next(persona for persona in PERSONAS if persona.name == "regular")
    shoppers = [_Shopper(f"27100000{i:04d}", regular, 30, store) for i in range(50)]
    rows = list(_purchase_rows(random.Random(7), shoppers, now))
    assert rows
    assert max(datetime.fromisoformat(values["purchased_at"]) for _, values in rows) <= now


def test_the_same_seed_gives_the_same_data_and_another_seed_other_data(tmp_path):
    first, second, other = (tmp_path / f"{name}.sqlite3" for name in ("a", "b", "c"))
    assert demo(fresh_database(first)).returncode == 0
    assert demo(fresh_database(second)).returncode == 0
    assert demo(fresh_database(other), "--seed", "8").returncode == 0
    assert fingerprint(first) == fingerprint(second)
    assert fingerprint(first) != fingerprint(other)


def test_loading_twice_is_refused_politely_and_changes_nothing(tmp_path):
    path = tmp_path / "demo.sqlite3"
    url = fresh_database(path)
    assert demo(url).returncode == 0
    receipts = query(path, "SELECT COUNT(*) FROM purchases")
    again = demo(url)
    assert again.returncode == 1
    assert "already" in again.stderr
    assert "Traceback" not in again.stderr
    assert query(path, "SELECT COUNT(*) FROM purchases") == receipts

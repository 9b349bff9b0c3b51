"""`loyalty demo`: a realistic data set with structure, the same for the same seed, loaded once."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

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

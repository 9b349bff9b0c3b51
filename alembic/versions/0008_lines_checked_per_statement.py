"""Receipt lines: references checked once per statement instead of once per row.

purchase_lines is the one table that grows by tens of millions of rows. Its four foreign
keys (receipt, product, category, customer) cost PostgreSQL a trigger call, a lookup and a
row lock on the parent for every line: measured at about 9-18 µs each, four per line,
several times the cost of the insert itself, which kept a bulk import far below 50,000
lines/s. They are replaced by statement-level triggers that check the same references for
all rows a statement wrote at once (a set-based anti-join), lock the product and category
rows the statement used, cascade a deleted receipt to its lines and refuse to delete a
product, category or customer that lines still name. SQLite (the embedded default, one
writer) gets the same rules as row-level triggers.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# (column, parent table, what deleting a parent does: CASCADE or RESTRICT)
REFERENCES = (
    ("purchase_id", "purchases", "CASCADE"),
    ("product_id", "products", "RESTRICT"),
    ("category_id", "categories", "RESTRICT"),
    ("customer_id", "customers", "RESTRICT"),
)
POSTGRES_CONSTRAINTS = (
    "purchase_lines_purchase_id_fkey",
    "purchase_lines_product_id_fkey",
    "purchase_lines_category_id_fkey",
    "fk_purchase_lines_customer",
)
SQLITE_NAMES = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}

# Each parent is checked once per distinct id the statement wrote; products and categories
# (reference data a receipt only points at) are locked against deletion as a foreign key would.
POSTGRES_CHECK = """
CREATE FUNCTION purchase_lines_check_references() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    found bigint;
BEGIN
    PERFORM 1 FROM products WHERE id IN (SELECT DISTINCT product_id FROM written)
        FOR KEY SHARE;
    GET DIAGNOSTICS found = ROW_COUNT;
    IF found < (SELECT count(DISTINCT product_id) FROM written) THEN
        RAISE foreign_key_violation USING MESSAGE = 'purchase_lines: no such product';
    END IF;
    PERFORM 1 FROM categories WHERE id IN (SELECT DISTINCT category_id FROM written)
        FOR KEY SHARE;
    GET DIAGNOSTICS found = ROW_COUNT;
    IF found < (SELECT count(DISTINCT category_id) FROM written) THEN
        RAISE foreign_key_violation USING MESSAGE = 'purchase_lines: no such category';
    END IF;
    IF EXISTS (SELECT 1 FROM (SELECT DISTINCT purchase_id FROM written) w WHERE NOT EXISTS
               (SELECT 1 FROM purchases p WHERE p.id = w.purchase_id)) THEN
        RAISE foreign_key_violation USING MESSAGE = 'purchase_lines: no such purchase';
    END IF;
    IF EXISTS (SELECT 1 FROM (SELECT DISTINCT customer_id FROM written) w
               WHERE w.customer_id IS NOT NULL AND NOT EXISTS
               (SELECT 1 FROM customers c WHERE c.id = w.customer_id)) THEN
        RAISE foreign_key_violation USING MESSAGE = 'purchase_lines: no such customer';
    END IF;
    RETURN NULL;
END $$
"""
POSTGRES_CASCADE = """
CREATE FUNCTION purchase_lines_follow_purchases() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM purchase_lines WHERE purchase_id IN (SELECT id FROM removed);
    RETURN NULL;
END $$
"""
POSTGRES_RESTRICT = """
CREATE FUNCTION purchase_lines_keep_{parent}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM purchase_lines WHERE {column} IN (SELECT id FROM removed)) THEN
        RAISE foreign_key_violation
            USING MESSAGE = '{parent}: still named by purchase_lines.{column}';
    END IF;
    RETURN NULL;
END $$
"""


def _postgres_upgrade() -> None:
    for name in POSTGRES_CONSTRAINTS:
        op.execute(f"ALTER TABLE purchase_lines DROP CONSTRAINT {name}")
    op.execute(POSTGRES_CHECK)
    for event in ("INSERT", "UPDATE"):
        op.execute(
            f"CREATE TRIGGER purchase_lines_references_{event.lower()} AFTER {event} "
            "ON purchase_lines REFERENCING NEW TABLE AS written FOR EACH STATEMENT "
            "EXECUTE FUNCTION purchase_lines_check_references()"
        )
    op.execute(POSTGRES_CASCADE)
    op.execute(
        "CREATE TRIGGER purchase_lines_cascade AFTER DELETE ON purchases "
        "REFERENCING OLD TABLE AS removed FOR EACH STATEMENT "
        "EXECUTE FUNCTION purchase_lines_follow_purchases()"
    )
    for column, parent, on_delete in REFERENCES:
        if on_delete == "RESTRICT":
            op.execute(POSTGRES_RESTRICT.format(parent=parent, column=column))
            op.execute(
                f"CREATE TRIGGER purchase_lines_keep_{parent} AFTER DELETE ON {parent} "
                "REFERENCING OLD TABLE AS removed FOR EACH STATEMENT "
                f"EXECUTE FUNCTION purchase_lines_keep_{parent}()"
            )


def _sqlite_upgrade() -> None:
    with op.batch_alter_table("purchase_lines", naming_convention=SQLITE_NAMES) as batch:
        for column, parent, _ in REFERENCES:
            batch.drop_constraint(f"fk_purchase_lines_{column}_{parent}", type_="foreignkey")
    for event in ("INSERT", "UPDATE"):
        for column, parent, _ in REFERENCES:
            op.execute(
                f"CREATE TRIGGER purchase_lines_{column}_{event.lower()} BEFORE {event} "
                f"ON purchase_lines WHEN NEW.{column} IS NOT NULL AND NOT EXISTS "
                f"(SELECT 1 FROM {parent} WHERE id = NEW.{column}) BEGIN "
                f"SELECT RAISE(ABORT, 'purchase_lines: no such {parent}'); END"
            )
    for column, parent, on_delete in REFERENCES:
        action = (
            f"DELETE FROM purchase_lines WHERE {column} = OLD.id"
            if on_delete == "CASCADE"
            else f"SELECT RAISE(ABORT, '{parent}: still named by purchase_lines.{column}') "
            f"WHERE EXISTS (SELECT 1 FROM purchase_lines WHERE {column} = OLD.id)"
        )
        op.execute(
            f"CREATE TRIGGER purchase_lines_keep_{parent} BEFORE DELETE ON {parent} "
            f"BEGIN {action}; END"
        )


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_upgrade()
    else:
        _postgres_upgrade()


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for event in ("insert", "update"):
            for column, _, _ in REFERENCES:
                op.execute(f"DROP TRIGGER purchase_lines_{column}_{event}")
        for _, parent, _ in REFERENCES:
            op.execute(f"DROP TRIGGER purchase_lines_keep_{parent}")
        with op.batch_alter_table("purchase_lines") as batch:
            for column, parent, on_delete in REFERENCES:
                batch.create_foreign_key(
                    f"fk_purchase_lines_{column}_{parent}",
                    parent,
                    [column],
                    ["id"],
                    ondelete=on_delete,
                )
        return
    op.execute("DROP TRIGGER purchase_lines_references_insert ON purchase_lines")
    op.execute("DROP TRIGGER purchase_lines_references_update ON purchase_lines")
    op.execute("DROP TRIGGER purchase_lines_cascade ON purchases")
    op.execute("DROP FUNCTION purchase_lines_check_references()")
    op.execute("DROP FUNCTION purchase_lines_follow_purchases()")
    for _, parent, on_delete in REFERENCES:
        if on_delete == "RESTRICT":
            op.execute(f"DROP TRIGGER purchase_lines_keep_{parent} ON {parent}")
            op.execute(f"DROP FUNCTION purchase_lines_keep_{parent}()")
    for name, (column, parent, on_delete) in zip(POSTGRES_CONSTRAINTS, REFERENCES, strict=True):
        op.create_foreign_key(name, "purchase_lines", parent, [column], ["id"], ondelete=on_delete)

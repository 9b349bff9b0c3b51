"""Receipts and category spend: references checked once per statement, as lines already are.

After migration 0008 the per-row foreign keys of `purchases` (store, customer, card) and of
`customer_category_spend` (customer, category) were the import's next largest cost: with
two batches written side by side, every receipt's store key locked one of a handful of
store rows that the other transaction was locking too. Dropping those five keys took the
import from 13,146 to 16,506 lines/s. They are replaced by triggers, as in 0008: after an
INSERT, each statement's distinct ids are checked at once and the store and category rows
used are locked against deletion (KEY SHARE, as a foreign key would); an UPDATE is checked
per row, and only when it sets a reference column, so the till's per-receipt upsert of
spend and a refund's update of its receipt fire nothing (statement-level update checks had
added about 0.25 ms to every receipt's metrics update). Deleting a store, customer or card
that receipts still name is refused, and deleting a customer or category deletes its spend
rows. SQLite gets the same rules as row-level triggers.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# table -> (column, parent, what deleting the parent does, its PostgreSQL constraint)
REFERENCES = {
    "purchases": (
        ("store_id", "stores", "RESTRICT", "purchases_store_id_fkey"),
        ("customer_id", "customers", "RESTRICT", "purchases_customer_id_fkey"),
        ("card_id", "cards", "RESTRICT", "purchases_card_id_fkey"),
    ),
    "customer_category_spend": (
        ("customer_id", "customers", "CASCADE", "customer_category_spend_customer_id_fkey"),
        ("category_id", "categories", "CASCADE", "customer_category_spend_category_id_fkey"),
    ),
}
LOCKED_PARENTS = {"stores", "categories"}  # reference data, few rows: locked like a key would
SINGULAR = {"stores": "store", "customers": "customer", "cards": "card", "categories": "category"}
SHORT = {"purchases": "purchases", "customer_category_spend": "category_spend"}
SQLITE_NAMES = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}
# 0008's trigger on purchases: rebuilding the table on SQLite drops it, so it is made again.
SQLITE_LINES_FOLLOW_PURCHASES = (
    "CREATE TRIGGER purchase_lines_keep_purchases BEFORE DELETE ON purchases "
    "BEGIN DELETE FROM purchase_lines WHERE purchase_id = OLD.id; END"
)


def _postgres_check(table: str) -> str:
    """After an INSERT: every parent checked once for the statement's distinct ids."""
    steps = []
    for column, parent, _, _ in REFERENCES[table]:
        message = f"'{table}: no such {SINGULAR[parent]}'"
        if parent in LOCKED_PARENTS:
            steps.append(
                f"PERFORM 1 FROM {parent} WHERE id IN (SELECT DISTINCT {column} FROM written) "
                "FOR KEY SHARE; GET DIAGNOSTICS found = ROW_COUNT; "
                f"IF found < (SELECT count(DISTINCT {column}) FROM written) THEN "
                f"RAISE foreign_key_violation USING MESSAGE = {message}; END IF;"
            )
        else:
            steps.append(
                f"IF EXISTS (SELECT 1 FROM (SELECT DISTINCT {column} FROM written "
                f"WHERE {column} IS NOT NULL) w WHERE NOT EXISTS "
                f"(SELECT 1 FROM {parent} p WHERE p.id = w.{column})) THEN "
                f"RAISE foreign_key_violation USING MESSAGE = {message}; END IF;"
            )
    body = "\n    ".join(steps)
    return (
        f"CREATE FUNCTION {SHORT[table]}_check_references() RETURNS trigger "
        f"LANGUAGE plpgsql AS $$\nDECLARE\n    found bigint;\nBEGIN\n"
        "    IF NOT EXISTS (SELECT 1 FROM written) THEN\n"
        "        RETURN NULL;  -- an upsert whose rows all existed: nothing new to check\n"
        f"    END IF;\n    {body}\n    RETURN NULL;\nEND $$"
    )


def _postgres_check_changed(table: str) -> str:
    """After an UPDATE of a reference column: the new parent of that row (rare; an upsert
    that only adds to sums, or a refund updating its receipt, does not fire it at all)."""
    steps = []
    for column, parent, _, _ in REFERENCES[table]:
        lock = " FOR KEY SHARE" if parent in LOCKED_PARENTS else ""
        steps.append(
            f"IF NEW.{column} IS DISTINCT FROM OLD.{column} AND NEW.{column} IS NOT NULL THEN "
            f"PERFORM 1 FROM {parent} WHERE id = NEW.{column}{lock}; IF NOT FOUND THEN "
            f"RAISE foreign_key_violation USING MESSAGE = '{table}: no such {SINGULAR[parent]}'; "
            "END IF; END IF;"
        )
    body = "\n    ".join(steps)
    return (
        f"CREATE FUNCTION {SHORT[table]}_check_changed_references() RETURNS trigger "
        f"LANGUAGE plpgsql AS $$\nBEGIN\n    {body}\n    RETURN NULL;\nEND $$"
    )


def _on_delete_name(table: str, parent: str, on_delete: str) -> str:
    """What runs when a parent row goes: `..._follow_...` cascades, `..._keep_...` refuses."""
    return f"{SHORT[table]}_{'follow' if on_delete == 'CASCADE' else 'keep'}_{parent}"


def _postgres_on_delete(table: str, column: str, parent: str, on_delete: str) -> str:
    name = _on_delete_name(table, parent, on_delete)
    if on_delete == "CASCADE":
        action = f"DELETE FROM {table} WHERE {column} IN (SELECT id FROM removed);"
    else:
        action = (
            f"IF EXISTS (SELECT 1 FROM {table} WHERE {column} IN (SELECT id FROM removed)) "
            f"THEN RAISE foreign_key_violation USING MESSAGE = "
            f"'{parent}: still named by {table}.{column}'; END IF;"
        )
    return (
        f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n"
        f"    {action}\n    RETURN NULL;\nEND $$"
    )


def _postgres_upgrade() -> None:
    for table, references in REFERENCES.items():
        for _, _, _, constraint in references:
            op.execute(f"ALTER TABLE {table} DROP CONSTRAINT {constraint}")
        short = SHORT[table]
        op.execute(_postgres_check(table))
        op.execute(
            f"CREATE TRIGGER {short}_references_insert AFTER INSERT ON {table} "
            "REFERENCING NEW TABLE AS written FOR EACH STATEMENT "
            f"EXECUTE FUNCTION {short}_check_references()"
        )
        op.execute(_postgres_check_changed(table))
        columns = ", ".join(column for column, _, _, _ in references)
        op.execute(
            f"CREATE TRIGGER {short}_references_update AFTER UPDATE OF {columns} ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {short}_check_changed_references()"
        )
        for column, parent, on_delete, _ in references:
            name = _on_delete_name(table, parent, on_delete)
            op.execute(_postgres_on_delete(table, column, parent, on_delete))
            op.execute(
                f"CREATE TRIGGER {name} AFTER DELETE ON {parent} "
                "REFERENCING OLD TABLE AS removed FOR EACH STATEMENT "
                f"EXECUTE FUNCTION {name}()"
            )


def _postgres_downgrade() -> None:
    for table, references in REFERENCES.items():
        short = SHORT[table]
        for event in ("insert", "update"):
            op.execute(f"DROP TRIGGER {short}_references_{event} ON {table}")
        op.execute(f"DROP FUNCTION {short}_check_references()")
        op.execute(f"DROP FUNCTION {short}_check_changed_references()")
        for column, parent, on_delete, constraint in references:
            name = _on_delete_name(table, parent, on_delete)
            op.execute(f"DROP TRIGGER {name} ON {parent}")
            op.execute(f"DROP FUNCTION {name}()")
            op.create_foreign_key(constraint, table, parent, [column], ["id"], ondelete=on_delete)


def _sqlite_rebuild(table: str, drop: bool) -> None:
    """Drop (or bring back) the table's foreign keys; SQLite rebuilds the table for it.

    Legacy renaming, because 0008's triggers on purchase_lines name `purchases`, which does
    not exist for the moment between dropping the old table and renaming the new one.
    """
    op.execute("PRAGMA legacy_alter_table = ON")
    with op.batch_alter_table(
        table,
        naming_convention=SQLITE_NAMES,
        recreate="always",
        table_kwargs={"sqlite_autoincrement": True},
    ) as batch:
        for column, parent, on_delete, _ in REFERENCES[table]:
            name = f"fk_{table}_{column}_{parent}"
            if drop:
                batch.drop_constraint(name, type_="foreignkey")
            else:
                batch.create_foreign_key(name, parent, [column], ["id"], ondelete=on_delete)
    op.execute("PRAGMA legacy_alter_table = OFF")
    if table == "purchases":
        op.execute(SQLITE_LINES_FOLLOW_PURCHASES)


def _sqlite_triggers(table: str) -> list[tuple[str, str]]:
    """(name, definition) of the row triggers that stand in for the table's keys."""
    short = SHORT[table]
    triggers = []
    for column, parent, on_delete, _ in REFERENCES[table]:
        for event in ("INSERT", f"UPDATE OF {column}"):
            triggers.append(
                (
                    f"{short}_{column}_{event.split()[0].lower()}",
                    f"BEFORE {event} ON {table} WHEN NEW.{column} IS NOT NULL AND NOT EXISTS "
                    f"(SELECT 1 FROM {parent} WHERE id = NEW.{column}) BEGIN "
                    f"SELECT RAISE(ABORT, '{table}: no such {SINGULAR[parent]}'); END",
                )
            )
        action = (
            f"DELETE FROM {table} WHERE {column} = OLD.id"
            if on_delete == "CASCADE"
            else f"SELECT RAISE(ABORT, '{parent}: still named by {table}.{column}') "
            f"WHERE EXISTS (SELECT 1 FROM {table} WHERE {column} = OLD.id)"
        )
        triggers.append(
            (
                _on_delete_name(table, parent, on_delete),
                f"BEFORE DELETE ON {parent} BEGIN {action}; END",
            )
        )
    return triggers


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        _postgres_upgrade()
        return
    for table in REFERENCES:
        _sqlite_rebuild(table, drop=True)
        for name, definition in _sqlite_triggers(table):
            op.execute(f"CREATE TRIGGER {name} {definition}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        _postgres_downgrade()
        return
    for table in REFERENCES:
        for name, _ in _sqlite_triggers(table):
            op.execute(f"DROP TRIGGER {name}")
        _sqlite_rebuild(table, drop=False)

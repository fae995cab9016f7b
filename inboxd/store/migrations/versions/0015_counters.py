"""running totals kept by triggers: `stats` reads them instead of counting the whole history

Revision ID: 0015_counters
Revises: 0014_nodes
Create Date: 2026-12-06

Counted: cases by status, messages and messages by status, outgoing mail by state (the totals of
``inboxd stats``). The triggers keep them through inserts, updates of the counted column and deletes; the
migration fills them from the tables as they are (on PostgreSQL under the migrations' advisory lock, with the
tables locked against writes by the CREATE TRIGGER until it commits).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_counters"
down_revision = "0014_nodes"
branch_labels = None
depends_on = None

# (table, counted column, counter name prefix); every row of a table also counts under "<table>" when the
# table is listed in TOTALS.
COUNTED = (("cases", "status", "cases_status:"), ("messages", "status", "messages_status:"),
           ("outbox", "state", "outbox_state:"))
TOTALS = ("messages",)
PG_SLOTS = 16


def _sqlite_triggers(table: str, column: str, prefix: str) -> list[str]:
    def bump(row: str, delta: int) -> str:
        names = [f"'{prefix}' || {row}.{column}"] + ([f"'{table}'"] if table in TOTALS else [])
        return "".join(f"INSERT INTO counters (name, slot, value) VALUES ({name}, 0, {delta}) "
                       f"ON CONFLICT (name, slot) DO UPDATE SET value = value + {delta}; " for name in names)

    return [
        f"CREATE TRIGGER counters_{table}_insert AFTER INSERT ON {table} BEGIN {bump('NEW', 1)}END",
        f"CREATE TRIGGER counters_{table}_delete AFTER DELETE ON {table} BEGIN {bump('OLD', -1)}END",
        # Only the counted column: the total does not move.
        f"CREATE TRIGGER counters_{table}_update AFTER UPDATE OF {column} ON {table} "
        f"WHEN OLD.{column} IS NOT NEW.{column} BEGIN "
        f"INSERT INTO counters (name, slot, value) VALUES ('{prefix}' || OLD.{column}, 0, -1) "
        f"ON CONFLICT (name, slot) DO UPDATE SET value = value - 1; "
        f"INSERT INTO counters (name, slot, value) VALUES ('{prefix}' || NEW.{column}, 0, 1) "
        f"ON CONFLICT (name, slot) DO UPDATE SET value = value + 1; END",
    ]


def _pg_triggers(table: str, column: str, prefix: str) -> list[str]:
    # Statement-level, over the transition tables: an INSERT … SELECT of a million rows is one aggregate,
    # one row inserted is one upsert. An UPDATE that leaves the column alone nets to nothing and writes nothing.
    total_new = f" UNION ALL SELECT '{table}', count(*) FROM new_rows" if table in TOTALS else ""
    total_old = f" UNION ALL SELECT '{table}', -count(*) FROM old_rows" if table in TOTALS else ""
    apply = ("INSERT INTO counters (name, slot, value) SELECT name, pg_backend_pid() % {slots}, sum(delta) "
             "FROM ({rows}) AS d (name, delta) GROUP BY name HAVING sum(delta) <> 0 "
             "ON CONFLICT (name, slot) DO UPDATE SET value = counters.value + EXCLUDED.value;")
    inserted = f"SELECT '{prefix}' || {column}, count(*) FROM new_rows GROUP BY {column}{total_new}"
    deleted = f"SELECT '{prefix}' || {column}, -count(*) FROM old_rows GROUP BY {column}{total_old}"
    updated = (f"SELECT '{prefix}' || {column}, 1 FROM new_rows UNION ALL "
               f"SELECT '{prefix}' || {column}, -1 FROM old_rows")
    statements = []
    for op_name, rows, referencing in (("insert", inserted, "NEW TABLE AS new_rows"),
                                       ("delete", deleted, "OLD TABLE AS old_rows"),
                                       ("update", updated, "OLD TABLE AS old_rows NEW TABLE AS new_rows")):
        function = f"counters_{table}_{op_name}"
        statements += [
            f"CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"{apply.format(slots=PG_SLOTS, rows=rows)} RETURN NULL; END $$",
            f"CREATE TRIGGER {function} AFTER {op_name.upper()} ON {table} REFERENCING {referencing} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
        ]
    return statements


def upgrade() -> None:
    op.create_table(
        "counters",
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("slot", sa.Integer, nullable=False),
        sa.Column("value", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("name", "slot", name="pk_counters"),
    )
    pg = op.get_bind().dialect.name == "postgresql"
    for table, column, prefix in COUNTED:
        for statement in (_pg_triggers if pg else _sqlite_triggers)(table, column, prefix):
            op.execute(statement)
    # The totals as they stand (after the triggers exist: on PostgreSQL nobody writes these tables until commit).
    for table, column, prefix in COUNTED:
        op.execute(f"INSERT INTO counters (name, slot, value) SELECT '{prefix}' || {column}, 0, count(*) "
                   f"FROM {table} GROUP BY {column}")
        if table in TOTALS:
            op.execute(f"INSERT INTO counters (name, slot, value) SELECT '{table}', 0, count(*) FROM {table}")


def downgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    for table, _column, _prefix in COUNTED:
        for op_name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS counters_{table}_{op_name}" + (f" ON {table}" if pg else ""))
            if pg:
                op.execute(f"DROP FUNCTION IF EXISTS counters_{table}_{op_name}()")
    op.drop_table("counters")

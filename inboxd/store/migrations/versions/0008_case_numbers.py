"""case numbers from a sequence on PostgreSQL

Revision ID: 0008_case_numbers
Revises: 0007
Create Date: 2026-12-04

Several watchers (or daemons) open cases at the same time on PostgreSQL; the highest number plus
one collides there. The sequence continues after the cases already recorded. SQLite has one writer
at a time and needs nothing.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_case_numbers"
down_revision = "0007"
branch_labels = None
depends_on = None

FIRST_CASE_NUMBER = 1001


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    highest = bind.execute(sa.text("SELECT max(number) FROM cases")).scalar()
    start = max(int(highest or 0) + 1, FIRST_CASE_NUMBER)
    op.execute(sa.text(f"CREATE SEQUENCE case_number_seq START WITH {start}"))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(sa.text("DROP SEQUENCE case_number_seq"))

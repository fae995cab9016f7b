"""idempotency keys for scheduled work; the message that made a promise

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("scheduled", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key", sa.String(length=200), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_scheduled_key"), ["key"])
    with op.batch_alter_table("promises", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source_message_id", sa.String(length=998), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("promises", schema=None) as batch_op:
        batch_op.drop_column("source_message_id")
    with op.batch_alter_table("scheduled", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_scheduled_key"), type_="unique")
        batch_op.drop_column("key")

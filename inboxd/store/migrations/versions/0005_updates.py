"""state for proactive customer updates: who spoke last, the customer's offset, opt-out, feedback

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import inboxd.store.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_customer_at", inboxd.store.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("last_staff_reply_at", inboxd.store.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("last_heard_at", inboxd.store.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("customer_utc_offset", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("updates_opted_out", sa.Boolean(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("feedback_score", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        for column in ("feedback_score", "updates_opted_out", "customer_utc_offset", "last_heard_at",
                       "last_staff_reply_at", "last_customer_at"):
            batch_op.drop_column(column)

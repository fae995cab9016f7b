"""threading keys, case links, unreachable customers, bounced addresses

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import inboxd.store.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subject_key", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("linked_to", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("unreachable_at", inboxd.store.types.UTCDateTime(), nullable=True))
        batch_op.create_index("ix_cases_customer_subject_key", ["customer", "subject_key"], unique=False)
    op.create_table(
        "bounced_addresses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("bounced_at", inboxd.store.types.UTCDateTime(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=True),
        sa.Column("message_ref", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_bounced_addresses_case_id_cases")),
        sa.ForeignKeyConstraint(["message_ref"], ["messages.id"],
                                name=op.f("fk_bounced_addresses_message_ref_messages")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bounced_addresses")),
        sa.UniqueConstraint("address", name=op.f("uq_bounced_addresses_address")),
    )


def downgrade() -> None:
    op.drop_table("bounced_addresses")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_customer_subject_key")
        batch_op.drop_column("unreachable_at")
        batch_op.drop_column("linked_to")
        batch_op.drop_column("subject_key")

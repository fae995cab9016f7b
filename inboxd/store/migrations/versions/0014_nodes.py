"""several daemons on PostgreSQL: the node registry, leases, the outbox claim's owner

Revision ID: 0014_nodes
Revises: 0013_history_indexes
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from inboxd.store.types import UTCDateTime

revision = "0014_nodes"
down_revision = "0013_history_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "nodes",
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("host", sa.String(200), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("started_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("mailboxes", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_nodes"),
    )
    op.create_table(
        "leases",
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("holder", sa.String(200)),
        sa.Column("token", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("acquired_at", UTCDateTime(timezone=True)),
        sa.Column("expires_at", UTCDateTime(timezone=True)),
        sa.PrimaryKeyConstraint("name", name="pk_leases"),
    )
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(200)))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("claimed_by")
    op.drop_table("leases")
    op.drop_table("nodes")

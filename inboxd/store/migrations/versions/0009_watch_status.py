"""first start per watched folder; watcher status for inboxd status

Revision ID: 0009_watch_status
Revises: 0008_case_numbers
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from inboxd.store.types import UTCDateTime

revision = "0009_watch_status"
down_revision = "0008_case_numbers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "folder_watch_start",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mailbox", sa.String(100), nullable=False),
        sa.Column("folder", sa.String(500), nullable=False),
        sa.Column("started_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_folder_watch_start"),
        sa.UniqueConstraint("mailbox", "folder", name="uq_folder_watch_start_mailbox_folder"),
    )
    op.create_table(
        "watch_status",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mailbox", sa.String(100), nullable=False),
        sa.Column("channel", sa.String(600), nullable=False),
        sa.Column("node", sa.String(200), nullable=False),
        sa.Column("up", sa.Boolean(), nullable=False),
        sa.Column("mode", sa.String(16), nullable=True),
        sa.Column("last_poll_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_watch_status"),
        sa.UniqueConstraint("mailbox", "channel", name="uq_watch_status_mailbox_channel"),
    )


def downgrade() -> None:
    op.drop_table("watch_status")
    op.drop_table("folder_watch_start")

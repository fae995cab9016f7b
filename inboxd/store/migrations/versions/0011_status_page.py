"""indexes behind the status page, the weekly report and /metrics

Revision ID: 0011_status_page
Revises: 0010_guards
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision = "0011_status_page"
down_revision = "0010_guards"
branch_labels = None
depends_on = None

INDEXES = (
    # Covering: the page's counts by week and day read the index alone, never the rows.
    ("ix_cases_opened_at_first_response_at", "cases", ["opened_at", "first_response_at"]),
    ("ix_promises_made_at_owner_source_state_due_at", "promises", ["made_at", "owner", "source", "state", "due_at"]),
    ("ix_messages_status", "messages", ["status"]),
    ("ix_messages_kind", "messages", ["kind"]),
    ("ix_outbox_kind_state", "outbox", ["kind", "state"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _columns in INDEXES:
        op.drop_index(name, table_name=table)

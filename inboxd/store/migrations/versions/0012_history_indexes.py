"""indexes for the per-case and per-sender lookups, so that a message costs the same at any history size

Revision ID: 0012_history_indexes
Revises: 0011_status_page
Create Date: 2026-12-05
"""

from __future__ import annotations

from alembic import op

revision = "0012_history_indexes"
down_revision = "0011_status_page"
branch_labels = None
depends_on = None

INDEXES = (
    # A case's own mail: its acknowledgement (case_state, thread_ids), a sender's acknowledgements (sender_history,
    # ack_times), who was written to on it (on_case), `cases show`.
    ("ix_outbox_case_id_kind", "outbox", ["case_id", "kind"]),
    # Sent copies still to be filed: a handful, found without reading every sent message.
    ("ix_outbox_copy_state_state", "outbox", ["copy_state", "state"]),
    ("ix_scheduled_case_id", "scheduled", ["case_id"]),
    # `cases list --status S`: the newest of one status, read in order from the index.
    ("ix_cases_status_number", "cases", ["status", "number"]),
    # `stats`: feedback in a window, covering.
    ("ix_cases_resolved_at_feedback_score", "cases", ["resolved_at", "feedback_score"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _columns in INDEXES:
        op.drop_index(name, table_name=table)

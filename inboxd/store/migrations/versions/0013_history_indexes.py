"""indexes for the per-case and per-sender lookups, so that a message costs the same at any history size

Revision ID: 0013_history_indexes
Revises: 0012_rule_tags
Create Date: 2026-12-05
"""

from __future__ import annotations

from alembic import op

revision = "0013_history_indexes"
down_revision = "0012_rule_tags"
branch_labels = None
depends_on = None

INDEXES = (
    # A case's own mail: its acknowledgement (case_state, thread_ids), a sender's acknowledgements in the loop
    # guard's window (sender_history, ack_times: through the sender's cases), who was written to (on_case).
    ("ix_outbox_case_id_kind_created_at", "outbox", ["case_id", "kind", "created_at"]),
    # Sent copies still to be filed: a handful, found without reading every sent message.
    ("ix_outbox_copy_state_state", "outbox", ["copy_state", "state"]),
    ("ix_scheduled_case_id", "scheduled", ["case_id"]),
    # `cases list --status S`: the newest of one status, read in order from the index.
    ("ix_cases_status_number", "cases", ["status", "number"]),
    # `stats`: feedback in a window, covering.
    ("ix_cases_resolved_at_feedback_score", "cases", ["resolved_at", "feedback_score"]),
    # The loop guard's counts, covering. With the kind in them, SQLite's planner takes them rather than
    # (kind, created_at), which reads every acknowledgement of the window (a whole backlog).
    ("ix_outbox_recipient_kind_created_at", "outbox", ["recipient", "kind", "created_at"]),
    ("ix_messages_from_addr_direction_sent_at", "messages", ["from_addr", "direction", "sent_at"]),
)
# Replaced by the two above (their first columns, and more).
REPLACED = (
    ("ix_outbox_recipient_created_at", "outbox", ["recipient", "created_at"]),
    ("ix_messages_from_addr_received_at", "messages", ["from_addr", "received_at"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)
    for name, table, _columns in REPLACED:
        op.drop_index(name, table_name=table)


def downgrade() -> None:
    for name, table, columns in REPLACED:
        op.create_index(name, table, columns)
    for name, table, _columns in INDEXES:
        op.drop_index(name, table_name=table)

"""a store-kept secret for Message-IDs; acknowledgements counted per recipient

Revision ID: 0010_guards
Revises: 0009_watch_status
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_guards"
down_revision = "0009_watch_status"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "meta",
        sa.Column("key", sa.String(100), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_meta"),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recipient", sa.String(320), nullable=True))
        batch_op.create_index("ix_outbox_recipient_created_at", ["recipient", "created_at"])
        batch_op.create_index("ix_outbox_kind_created_at", ["kind", "created_at"])
    # Acknowledgements queued before: their one recipient, so that the per-recipient limit counts them.
    outbox = sa.table("outbox", sa.column("id", sa.Integer), sa.column("kind", sa.String),
                      sa.column("rcpt_to", sa.JSON), sa.column("recipient", sa.String))
    conn = op.get_bind()
    rows = conn.execute(sa.select(outbox.c.id, outbox.c.rcpt_to).where(outbox.c.kind == "ack")).all()
    for row in rows:
        rcpt = row.rcpt_to
        if isinstance(rcpt, list) and len(rcpt) == 1 and isinstance(rcpt[0], str):
            conn.execute(sa.update(outbox).where(outbox.c.id == row.id).values(recipient=rcpt[0].lower()[:320]))


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_kind_created_at")
        batch_op.drop_index("ix_outbox_recipient_created_at")
        batch_op.drop_column("recipient")
    op.drop_table("meta")

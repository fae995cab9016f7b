"""the prediction behind each team promise; indexes for the estimate's queries

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("promises", schema=None) as batch_op:
        batch_op.add_column(sa.Column("predicted_bh", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("spread_bh", sa.Float(), nullable=True))
        batch_op.create_index("ix_promises_owner_made_at", ["owner", "made_at"], unique=False)
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index("ix_cases_first_response_at_opened_at", ["first_response_at", "opened_at"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_first_response_at_opened_at")
    with op.batch_alter_table("promises", schema=None) as batch_op:
        batch_op.drop_index("ix_promises_owner_made_at")
        batch_op.drop_column("spread_bh")
        batch_op.drop_column("predicted_bh")

"""what rules give a case: tags and a template set (the assignee column exists since 0004)

Revision ID: 0012_rule_tags
Revises: 0011_status_page
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_rule_tags"
down_revision = "0011_status_page"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("tags", sa.JSON()))
        batch.add_column(sa.Column("template_set", sa.String(64)))


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("template_set")
        batch.drop_column("tags")

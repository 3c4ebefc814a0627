"""rumor register: rumor_register

Revision ID: 0003
Revises: 0002
The firm's known rumors and clarifications (detect: nlp/rumor.py, desk/views/rumors.py); created only
where missing, because stores opened before this migration existed got it from create_all.

Create Date: 2026-11-22 03:31:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rumor_register",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim", sa.Text(), nullable=False),
        sa.Column("clarification", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("date", sa.String(length=10), nullable=False),
        sa.Column("keywords", sa.JSON(), nullable=False),
        sa.Column("added_by", sa.String(length=80), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    with op.batch_alter_table("rumor_register", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_rumor_register_active"), ["active"], unique=False, if_not_exists=True
        )


def downgrade() -> None:
    with op.batch_alter_table("rumor_register", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rumor_register_active"))
    op.drop_table("rumor_register")

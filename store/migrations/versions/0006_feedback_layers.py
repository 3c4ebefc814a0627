"""learning from the desk: feedback_layers

Revision ID: 0006
Revises: 0005
The firm's layer fit on its officers' verdicts (yuqing learn; nlp/feedback.py): every version kept, one
active, each with the figures it was switched on with (issue 14). Created only where missing, like
0002–0005.
Create Date: 2026-12-01 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feedback_layers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("previous_id", sa.Integer(), nullable=True),
        sa.Column("signature", sa.String(length=40), nullable=False),
        sa.Column("verdicts", sa.Integer(), nullable=False),
        sa.Column("false_positives", sa.Integer(), nullable=False),
        sa.Column("confirmed", sa.Integer(), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("layer", sa.JSON(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    with op.batch_alter_table("feedback_layers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_feedback_layers_active"), ["active"], unique=False, if_not_exists=True
        )
    # at most one active version, even when two people run `yuqing learn` at the same moment
    op.create_index(
        "one_active_feedback_layer",
        "feedback_layers",
        ["active"],
        unique=True,
        sqlite_where=sa.text("active"),
        postgresql_where=sa.text("active"),
        if_not_exists=True,
    )


def downgrade() -> None:
    op.drop_index("one_active_feedback_layer", table_name="feedback_layers")
    with op.batch_alter_table("feedback_layers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feedback_layers_active"))
    op.drop_table("feedback_layers")

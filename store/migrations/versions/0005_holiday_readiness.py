"""holiday readiness: duty_roster, drill_runs, drill_injections

Revision ID: 0005
Revises: 0004
The duty roster (值班表) the escalation chain follows, and drills run on the live path with their
injected posts and scores (issue 7). Created only where missing, like 0002–0004.
Create Date: 2026-11-22 06:03:50.528646
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "drill_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scenario_id", sa.String(length=80), nullable=False),
        sa.Column("scenario_name", sa.Text(), nullable=False),
        sa.Column("speed", sa.Float(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("run_by", sa.String(length=80), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("passed", sa.Boolean(), nullable=True),
        sa.Column("score", sa.JSON(), nullable=False),
        sa.Column("report_md", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    with op.batch_alter_table("drill_runs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_drill_runs_scenario_id"), ["scenario_id"], unique=False, if_not_exists=True
        )

    op.create_table(
        "duty_roster",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("shift_start", sa.String(length=5), nullable=False),
        sa.Column("shift_end", sa.String(length=5), nullable=False),
        sa.Column("duty", sa.String(length=20), nullable=False),
        sa.Column("username", sa.String(length=40), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("day", "shift_start", "duty", "username", name="one_roster_slot_per_person"),
        if_not_exists=True,
    )
    with op.batch_alter_table("duty_roster", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_duty_roster_day"), ["day"], unique=False, if_not_exists=True)
        batch_op.create_index(
            batch_op.f("ix_duty_roster_username"), ["username"], unique=False, if_not_exists=True
        )

    op.create_table(
        "drill_injections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("drill_run_id", sa.Integer(), nullable=False),
        sa.Column("step_no", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.String(length=40), nullable=False),
        sa.Column("should_flag", sa.Boolean(), nullable=False),
        sa.Column("injected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.Column("level", sa.String(length=4), nullable=True),
        sa.Column("flagged_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["drill_run_id"],
            ["drill_runs.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    with op.batch_alter_table("drill_injections", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_drill_injections_drill_run_id"), ["drill_run_id"], unique=False, if_not_exists=True
        )
        batch_op.create_index(
            batch_op.f("ix_drill_injections_post_id"), ["post_id"], unique=False, if_not_exists=True
        )


def downgrade() -> None:
    with op.batch_alter_table("drill_injections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_drill_injections_post_id"))
        batch_op.drop_index(batch_op.f("ix_drill_injections_drill_run_id"))

    op.drop_table("drill_injections")
    with op.batch_alter_table("duty_roster", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_duty_roster_username"))
        batch_op.drop_index(batch_op.f("ix_duty_roster_day"))

    op.drop_table("duty_roster")
    with op.batch_alter_table("drill_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_drill_runs_scenario_id"))

    op.drop_table("drill_runs")

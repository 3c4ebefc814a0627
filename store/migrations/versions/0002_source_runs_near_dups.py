"""crawl health and near duplicates: source_runs, near_dup_bands

Revision ID: 0002
Revises: 0001
Tables added by the crawl-health and near-duplicate work (crawl-ops); created only where missing,
because stores opened before this migration existed got them from create_all.

Create Date: 2026-11-22 03:22:39.313173
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "near_dup_bands",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.String(length=40), nullable=False),
        sa.Column("band", sa.Integer(), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("simhash", sa.String(length=16), nullable=False),
        sa.Column("group_id", sa.String(length=40), nullable=False),
        sa.Column("drill", sa.Boolean(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("post_id", "band", name="near_dup_band_per_post"),
        if_not_exists=True,
    )
    with op.batch_alter_table("near_dup_bands", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_near_dup_bands_post_id"), ["post_id"], unique=False, if_not_exists=True
        )
        batch_op.create_index("near_dup_lookup", ["band", "value"], unique=False, if_not_exists=True)

    op.create_table(
        "source_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("family", sa.String(length=40), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finish_reason", sa.String(length=40), nullable=False),
        sa.Column("items_found", sa.Integer(), nullable=False),
        sa.Column("items_new", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("error_reasons", sa.JSON(), nullable=False),
        sa.Column("error_kinds", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    with op.batch_alter_table("source_runs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_source_runs_run_id"), ["run_id"], unique=False, if_not_exists=True
        )
        batch_op.create_index(
            batch_op.f("ix_source_runs_source"), ["source"], unique=False, if_not_exists=True
        )
        batch_op.create_index(
            "source_runs_by_source_time", ["source", "started_at"], unique=False, if_not_exists=True
        )


def downgrade() -> None:
    with op.batch_alter_table("source_runs", schema=None) as batch_op:
        batch_op.drop_index("source_runs_by_source_time")
        batch_op.drop_index(batch_op.f("ix_source_runs_source"))
        batch_op.drop_index(batch_op.f("ix_source_runs_run_id"))

    op.drop_table("source_runs")
    with op.batch_alter_table("near_dup_bands", schema=None) as batch_op:
        batch_op.drop_index("near_dup_lookup")
        batch_op.drop_index(batch_op.f("ix_near_dup_bands_post_id"))

    op.drop_table("near_dup_bands")

"""the desk at night: holidays entered on the desk

Revision ID: 0008
Revises: 0007
Issue 17. holiday_entries: the State Council's holiday notice entered by an admin on the desk
(节前准备) for a year the calendar package has not published yet.
Create Date: 2026-12-07 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store.times import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "holiday_entries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("start", sa.String(10), nullable=False),
        sa.Column("end", sa.String(10), nullable=False),
        sa.Column("makeup_workdays", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("entered_by", sa.String(80), nullable=False),
        sa.Column("entered_at", UTCDateTime(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_holiday_entries_active", "holiday_entries", ["active"])


def downgrade() -> None:
    op.drop_index("ix_holiday_entries_active", table_name="holiday_entries")
    op.drop_table("holiday_entries")

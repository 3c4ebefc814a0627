"""near-duplicate rows: the index on post_id alone dropped (``near_dup_band_per_post`` answers it)

Revision ID: 0010
Revises: 0009
Issue 16. ``near_dup_band_per_post`` (post_id, band) already finds a post's rows; the second index on
post_id alone cost every new row one more index entry (and the page it dirties) for nothing.
Create Date: 2026-12-07 18:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_near_dup_bands_post_id", table_name="near_dup_bands")


def downgrade() -> None:
    op.create_index("ix_near_dup_bands_post_id", "near_dup_bands", ["post_id"])

"""near-duplicate lookup index covers the fingerprint: (band, value, simhash, drill, id)

Revision ID: 0009
Revises: 0008
Issue 16. The near-duplicate lookup (store/neardup.py) reads, per band bucket, only the first row of each
fingerprint (GROUP BY band, value, simhash, drill; min(id)). With those columns in the index the database
answers from the index alone, so a fingerprint stored ten thousand times (a viral repost) costs a new copy
an index range, not ten thousand rows read into Python.
Create Date: 2026-12-07 15:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:  # plain index operations: no table copy on SQLite
    op.drop_index("near_dup_lookup", table_name="near_dup_bands")
    op.create_index("near_dup_lookup", "near_dup_bands", ["band", "value", "simhash", "drill", "id"])


def downgrade() -> None:
    op.drop_index("near_dup_lookup", table_name="near_dup_bands")
    op.create_index("near_dup_lookup", "near_dup_bands", ["band", "value"])

"""near-duplicate keys: two 32-bit halves per fingerprint instead of four 16-bit bands; stored rows re-keyed

Revision ID: 0010
Revises: 0009
Issue 16. With 16-bit bands the unrelated fingerprints sharing a band with a new post grew with the store
(≈7 rows read per post at 70,000 posts). store/neardup.py now keeps each fingerprint's two 32-bit halves
(two rows per post instead of four) and looks each half up together with the 32 values one bit away from
it, which still finds every pair within 3 bits. This migration rewrites every stored post's rows with the
new keys, in the order the posts were first written (a lookup breaks ties by row id: the first written
wins, as before), and drops the index on post_id alone (``near_dup_band_per_post``, post_id first,
answers those look-ups). The key functions are copied here, as they were at this revision.
Create Date: 2026-12-07 18:00:00
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from alembic import context, op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

PAGE = 5000  # posts re-banded per statement


def _halves(value: int) -> list[int]:
    """Two 32-bit halves, high then low, each less 2**31 (signed 32-bit INTEGER)."""
    return [((value >> 32) & 0xFFFFFFFF) - (1 << 31), (value & 0xFFFFFFFF) - (1 << 31)]


def _bands16(value: int) -> list[int]:
    """Four 16-bit bands, high to low (revisions 0002 to 0009)."""
    return [(value >> (48 - 16 * i)) & 0xFFFF for i in range(4)]


def _reband(keys: Callable[[int], list[int]]) -> None:
    """Every post's rows again, with ``keys``: one row per post is kept aside (band 0: post, fingerprint,
    group, drill, time), the table emptied, and the rows written back in the order of the kept rows' ids."""
    if context.is_offline_mode():
        # SQL for a DBA (yuqing migrate --sql) cannot compute the keys: stored rows are re-banded only by
        # `yuqing migrate`; here the old rows are dropped (the posts keep their dup_of, only the lookup of
        # later copies against them is lost)
        op.execute("-- near_dup_bands is re-keyed only by `yuqing migrate`; without it the old rows go")
        op.execute("DELETE FROM near_dup_bands")
        return
    bind = op.get_bind()
    bind.execute(
        sa.text(
            "CREATE TABLE near_dup_reband AS SELECT id, post_id, simhash, group_id, drill, at "
            "FROM near_dup_bands WHERE band = 0"
        )
    )
    bind.execute(sa.text("DELETE FROM near_dup_bands"))
    cols = ("post_id", "band", "value", "simhash", "group_id", "drill", "at")
    table = sa.table("near_dup_bands", *(sa.column(c) for c in cols))  # values as read: no conversion
    last = None
    while True:
        cond = "" if last is None else "WHERE id > :last "
        rows = bind.execute(
            sa.text(
                "SELECT id, post_id, simhash, group_id, drill, at FROM near_dup_reband "
                f"{cond}ORDER BY id LIMIT {PAGE}"
            ),
            {} if last is None else {"last": last},
        ).all()
        if not rows:
            break
        out = []
        for _, post_id, simhash, group_id, drill, at in rows:
            try:
                value = int(simhash, 16)
            except (TypeError, ValueError):
                value = 0  # not a fingerprint: the lookup skips it wherever it is filed
            for band, key in enumerate(keys(value)):
                out.append(
                    {
                        "post_id": post_id,
                        "band": band,
                        "value": key,
                        "simhash": simhash,
                        "group_id": group_id,
                        "drill": drill,
                        "at": at,
                    }
                )
        if out:
            bind.execute(table.insert(), out)
        last = rows[-1][0]
    bind.execute(sa.text("DROP TABLE near_dup_reband"))


def upgrade() -> None:
    op.drop_index("ix_near_dup_bands_post_id", table_name="near_dup_bands")
    _reband(_halves)


def downgrade() -> None:
    _reband(_bands16)
    op.create_index("ix_near_dup_bands_post_id", "near_dup_bands", ["post_id"])

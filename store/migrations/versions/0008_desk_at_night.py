"""the desk at night: holidays entered on the desk, acknowledge links in notifications, evidence, handovers

Revision ID: 0008
Revises: 0007
Issue 17. holiday_entries: the State Council's holiday notice entered by an admin on the desk
(节前准备) for a year the calendar package has not published yet. ack_links: the signed-in-by-link
acknowledgement a notification carries (only the token's hash; expiring; single use). evidence: the
post as the desk had it when it flagged it, and files officers attach to a record, each with its SHA-256.
handovers: 交接班 notes with the situation they were written in, and who took them over.
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
    op.create_table(
        "ack_links",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("alert_id", sa.Integer(), sa.ForeignKey("alerts.id"), nullable=False),
        sa.Column("username", sa.String(40), nullable=False),
        sa.Column("purpose", sa.String(40), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
        sa.Column("used_from", sa.String(80), nullable=False),
    )
    op.create_index("ix_ack_links_token_hash", "ack_links", ["token_hash"], unique=True)
    op.create_index("ix_ack_links_alert_id", "ack_links", ["alert_id"])
    op.create_table(
        "evidence",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("alert_id", sa.Integer(), sa.ForeignKey("alerts.id"), nullable=True),
        sa.Column("escalation_id", sa.Integer(), sa.ForeignKey("escalations.id"), nullable=True),
        sa.Column("post_id", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("mime", sa.String(100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("source_url", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("captured_by", sa.String(80), nullable=False),
        sa.Column("captured_at", UTCDateTime(), nullable=False),
        sa.Column("drill", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_evidence_alert_id", "evidence", ["alert_id"])
    op.create_index("ix_evidence_escalation_id", "evidence", ["escalation_id"])
    op.create_index("ix_evidence_post_id", "evidence", ["post_id"])
    op.create_table(
        "handovers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("written_by", sa.String(80), nullable=False),
        sa.Column("written_at", UTCDateTime(), nullable=False),
        sa.Column("to_user", sa.String(80), nullable=False),
        sa.Column("shift", sa.String(80), nullable=False),
        sa.Column("watch", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("situation", sa.JSON(), nullable=False),
        sa.Column("acknowledged_by", sa.String(80), nullable=False),
        sa.Column("acknowledged_at", UTCDateTime(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_index("ix_handovers_written_at", "handovers", ["written_at"])


def downgrade() -> None:
    op.drop_index("ix_handovers_written_at", table_name="handovers")
    op.drop_table("handovers")
    for name in ("ix_evidence_post_id", "ix_evidence_escalation_id", "ix_evidence_alert_id"):
        op.drop_index(name, table_name="evidence")
    op.drop_table("evidence")
    op.drop_index("ix_ack_links_alert_id", table_name="ack_links")
    op.drop_index("ix_ack_links_token_hash", table_name="ack_links")
    op.drop_table("ack_links")
    op.drop_index("ix_holiday_entries_active", table_name="holiday_entries")
    op.drop_table("holiday_entries")

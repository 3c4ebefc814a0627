"""Initial records schema: alerts, escalations, the append-only audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

OPEN_STATES = sa.text("state NOT IN ('closed', 'false_positive')")

SQLITE_AUDIT_GUARDS = (
    """CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log
       BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log
       BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END""",
)
PG_AUDIT_GUARDS = (
    """CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION 'audit_log is append-only'; END; $$ LANGUAGE plpgsql""",
    "DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log",
    """CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
       FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()""",
)


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.String(length=40), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("snippet", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("topic", sa.String(length=40), nullable=False),
        sa.Column("level", sa.String(length=4), nullable=True),
        sa.Column("level_rank", sa.Integer(), nullable=False),
        sa.Column("falsity_label", sa.String(length=10), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("playbook_id", sa.String(length=80), nullable=True),
        sa.Column("drill", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    op.create_index("ix_alerts_drill", "alerts", ["drill"], if_not_exists=True)
    op.create_index("ix_alerts_level_rank", "alerts", ["level_rank"], if_not_exists=True)
    op.create_index("ix_alerts_post_id", "alerts", ["post_id"], unique=True, if_not_exists=True)
    op.create_index("ix_alerts_status", "alerts", ["status"], if_not_exists=True)

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("entity", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.String(length=40), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"], if_not_exists=True)
    op.create_index("ix_audit_log_entity_id", "audit_log", ["entity_id"], if_not_exists=True)

    op.create_table(
        "escalations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("level", sa.String(length=4), nullable=True),
        sa.Column("playbook_id", sa.String(length=80), nullable=True),
        sa.Column("owner", sa.String(length=80), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("opened_by", sa.String(length=80), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("drill", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),  # optimistic locking (version_id_col)
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"]),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    op.create_index("ix_escalations_alert_id", "escalations", ["alert_id"], if_not_exists=True)
    op.create_index("ix_escalations_state", "escalations", ["state"], if_not_exists=True)
    # at most one open escalation per alert, even when two officers click at the same moment
    op.create_index(
        "one_open_escalation_per_alert",
        "escalations",
        ["alert_id"],
        unique=True,
        sqlite_where=OPEN_STATES,
        postgresql_where=OPEN_STATES,
        if_not_exists=True,
    )

    guards = PG_AUDIT_GUARDS if op.get_context().dialect.name == "postgresql" else SQLITE_AUDIT_GUARDS
    for stmt in guards:
        op.execute(stmt)


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    op.drop_table("escalations")
    op.drop_table("audit_log")
    op.drop_table("alerts")

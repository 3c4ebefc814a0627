"""response desk: users, login_attempts, desk_sessions, escalation_steps, clock_breaches,
statement_drafts, notifications, reports; triage columns on alerts, clock columns on escalations

Revision ID: 0004
Revises: 0003
Logins and roles, the triage queue's one-click actions, escalation clocks and chain, holding-statement
sign-off, the notification outbox and report sign-off (issue 6). Added columns carry server defaults so
existing rows of a live store stay valid; on SQLite they are plain ALTER TABLE ADD COLUMN (no rebuild).
Create Date: 2026-11-22 05:34:16.001875
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("client", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_attempts_at"), ["at"], unique=False, if_not_exists=True)
        batch_op.create_index(
            batch_op.f("ix_login_attempts_username"), ["username"], unique=False, if_not_exists=True
        )

    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("escalation_id", sa.Integer(), nullable=True),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.Column("level", sa.String(length=4), nullable=True),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("link", sa.Text(), nullable=False),
        sa.Column("drill", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedupe_key"),
        if_not_exists=True,
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notifications_channel"), ["channel"], unique=False, if_not_exists=True
        )
        batch_op.create_index(
            batch_op.f("ix_notifications_escalation_id"), ["escalation_id"], unique=False, if_not_exists=True
        )
        batch_op.create_index(
            batch_op.f("ix_notifications_status"), ["status"], unique=False, if_not_exists=True
        )

    op.create_table(
        "reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("ref", sa.String(length=80), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("content_md", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("drill", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("signed_by", sa.String(length=80), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reports_kind"), ["kind"], unique=False, if_not_exists=True)

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=40), nullable=False),
        sa.Column("display_name", sa.String(length=80), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("email", sa.String(length=200), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=False),
        sa.Column("contacts", sa.JSON(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_queue_look_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_users_username"), ["username"], unique=True, if_not_exists=True)

    op.create_table(
        "desk_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    with op.batch_alter_table("desk_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_desk_sessions_token_hash"), ["token_hash"], unique=True, if_not_exists=True
        )
        batch_op.create_index(
            batch_op.f("ix_desk_sessions_user_id"), ["user_id"], unique=False, if_not_exists=True
        )

    op.create_table(
        "clock_breaches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("escalation_id", sa.Integer(), nullable=False),
        sa.Column("clock", sa.String(length=80), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("breached_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tier", sa.Integer(), nullable=False),
        sa.Column("notified", sa.String(length=200), nullable=False),
        sa.Column("drill", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["escalation_id"],
            ["escalations.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("escalation_id", "clock", "tier", name="one_breach_per_clock_tier"),
        if_not_exists=True,
    )
    with op.batch_alter_table("clock_breaches", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_clock_breaches_escalation_id"), ["escalation_id"], unique=False, if_not_exists=True
        )

    op.create_table(
        "escalation_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("escalation_id", sa.Integer(), nullable=False),
        sa.Column("step_id", sa.String(length=80), nullable=False),
        sa.Column("done_by", sa.String(length=80), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["escalation_id"],
            ["escalations.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("escalation_id", "step_id", name="one_done_per_step"),
        if_not_exists=True,
    )
    with op.batch_alter_table("escalation_steps", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_escalation_steps_escalation_id"), ["escalation_id"], unique=False
        )

    op.create_table(
        "statement_drafts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("escalation_id", sa.Integer(), nullable=False),
        sa.Column("template_id", sa.String(length=80), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("drafted_by", sa.String(length=80), nullable=False),
        sa.Column("drafted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reviewed_by", sa.String(length=80), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("review_note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["escalation_id"],
            ["escalations.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    with op.batch_alter_table("statement_drafts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_statement_drafts_escalation_id"), ["escalation_id"], unique=False
        )

    # a store made by create_all before migrations existed may have these columns already
    _add_missing(
        "alerts",
        sa.Column("event_id", sa.String(length=40), server_default="", nullable=False),
        sa.Column("assignee", sa.String(length=80), server_default="", nullable=False),
        sa.Column("acknowledged_by", sa.String(length=80), server_default="", nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("false_positive_by", sa.String(length=80), server_default="", nullable=False),
        sa.Column("false_positive_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("false_positive_reason", sa.Text(), server_default="", nullable=False),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_alerts_event_id"), ["event_id"], unique=False, if_not_exists=True
        )
    _add_missing(
        "escalations",
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("chain_tier", sa.Integer(), server_default="0", nullable=False),
    )


def _add_missing(table: str, *columns: sa.Column) -> None:
    existing: set[str] = set()
    if not context.is_offline_mode():
        existing = {c["name"] for c in sa.inspect(op.get_bind()).get_columns(table)}
    with op.batch_alter_table(table, schema=None) as batch_op:
        for column in columns:
            if column.name not in existing:
                batch_op.add_column(column)


def downgrade() -> None:
    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.drop_column("chain_tier")
        batch_op.drop_column("closed_at")
        batch_op.drop_column("resolved_at")
        batch_op.drop_column("acknowledged_at")

    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alerts_event_id"))
        batch_op.drop_column("false_positive_reason")
        batch_op.drop_column("false_positive_at")
        batch_op.drop_column("false_positive_by")
        batch_op.drop_column("acknowledged_at")
        batch_op.drop_column("acknowledged_by")
        batch_op.drop_column("assignee")
        batch_op.drop_column("event_id")

    with op.batch_alter_table("statement_drafts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_statement_drafts_escalation_id"))

    op.drop_table("statement_drafts")
    with op.batch_alter_table("escalation_steps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_escalation_steps_escalation_id"))

    op.drop_table("escalation_steps")
    with op.batch_alter_table("clock_breaches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_clock_breaches_escalation_id"))

    op.drop_table("clock_breaches")
    with op.batch_alter_table("desk_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_desk_sessions_user_id"))
        batch_op.drop_index(batch_op.f("ix_desk_sessions_token_hash"))

    op.drop_table("desk_sessions")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_users_username"))

    op.drop_table("users")
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reports_kind"))

    op.drop_table("reports")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notifications_status"))
        batch_op.drop_index(batch_op.f("ix_notifications_escalation_id"))
        batch_op.drop_index(batch_op.f("ix_notifications_channel"))

    op.drop_table("notifications")
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_attempts_username"))
        batch_op.drop_index(batch_op.f("ix_login_attempts_at"))

    op.drop_table("login_attempts")

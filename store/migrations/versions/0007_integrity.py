"""integrity: the audit chain (prev_hash, row_hash, audit_chain), TRUNCATE refused, inserts that do not
extend the chain refused; version columns on alerts and statement drafts; api_tokens for the CLI

Revision ID: 0007
Revises: 0006
Issue 15. Rows already in audit_log are chained here, in id order, from the genesis hash (the update
guard is lifted for that and put back in the same transaction), so ``yuqing audit verify`` checks the
whole trail. The chain's hash is store.auditlog.chain_hash (imported: the rows must hash exactly as the
code that appends and verifies them does).
Create Date: 2026-12-01 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

from store.auditlog import GENESIS, chain_hash
from store.times import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

SQLITE_GUARDS_0001 = (
    """CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log
       BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log
       BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END""",
)
SQLITE_CHAIN_GUARD = f"""CREATE TRIGGER IF NOT EXISTS audit_log_chain_insert BEFORE INSERT ON audit_log
   WHEN NEW.row_hash IS NULL OR length(NEW.row_hash) != 64 OR NEW.prev_hash IS NOT
        coalesce((SELECT row_hash FROM audit_log ORDER BY id DESC LIMIT 1), '{GENESIS}')
   BEGIN SELECT RAISE(ABORT, 'audit_log: a row must extend the chain (prev_hash = the last row_hash)'); END"""
PG_CHAIN_GUARDS = (
    f"""CREATE OR REPLACE FUNCTION audit_log_chain_insert() RETURNS trigger AS $$
       DECLARE head varchar(64);
       BEGIN
         SELECT row_hash INTO head FROM audit_log ORDER BY id DESC LIMIT 1;
         IF NEW.row_hash IS NULL OR length(NEW.row_hash) <> 64
            OR NEW.prev_hash IS DISTINCT FROM coalesce(head, '{GENESIS}') THEN
           RAISE EXCEPTION 'audit_log: a row must extend the chain (prev_hash = the last row_hash)';
         END IF;
         RETURN NEW;
       END; $$ LANGUAGE plpgsql""",
    "DROP TRIGGER IF EXISTS audit_log_chain_insert ON audit_log",
    """CREATE TRIGGER audit_log_chain_insert BEFORE INSERT ON audit_log
       FOR EACH ROW EXECUTE FUNCTION audit_log_chain_insert()""",
    # audit_log_append_only() comes from 0001 (it raises); TRUNCATE fires statement-level triggers only
    "DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log",
    """CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
       FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()""",
)


def _postgres() -> bool:
    return op.get_context().dialect.name == "postgresql"


def upgrade() -> None:
    # created only where missing, like 0002–0005 (a store made by create_all already has them)
    _add_missing("alerts", sa.Column("version", sa.Integer(), server_default="1", nullable=False))
    _add_missing("statement_drafts", sa.Column("version", sa.Integer(), server_default="1", nullable=False))
    _add_missing(
        "audit_log",
        sa.Column("prev_hash", sa.String(length=64), nullable=True),
        sa.Column("row_hash", sa.String(length=64), nullable=True),
    )

    op.create_table(
        "audit_chain",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("last_id", sa.Integer(), server_default="0", nullable=False),
        sa.Column("head_hash", sa.String(length=64), server_default="", nullable=False),
        sa.Column("rows", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=80), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_api_tokens_token_hash"), ["token_hash"], unique=True, if_not_exists=True
        )
        batch_op.create_index(
            batch_op.f("ix_api_tokens_user_id"), ["user_id"], unique=False, if_not_exists=True
        )

    _chain_existing_rows()
    if _postgres():
        for stmt in PG_CHAIN_GUARDS:
            op.execute(stmt)
    else:
        op.execute(SQLITE_CHAIN_GUARD)


def _add_missing(table: str, *columns: sa.Column) -> None:
    existing: set[str] = set()
    if not context.is_offline_mode():
        existing = {c["name"] for c in sa.inspect(op.get_bind()).get_columns(table)}
    with op.batch_alter_table(table, schema=None) as batch_op:
        for column in columns:
            if column.name not in existing:
                batch_op.add_column(column)


def _chain_existing_rows() -> None:
    """Chain the rows already there, in id order, and record the head (update guard lifted meanwhile)."""
    if context.is_offline_mode():
        # SQL for a DBA (yuqing migrate --sql) cannot hash the rows: an empty log starts the chain here;
        # a log with rows must be migrated online (yuqing migrate), which chains them
        op.execute("-- audit_log must be empty here; a log with rows is chained only by `yuqing migrate`")
        op.execute("INSERT INTO audit_chain (id, last_id, head_hash, rows) VALUES (1, 0, '', 0)")
        return
    bind = op.get_bind()
    log = sa.table(
        "audit_log",
        sa.column("id", sa.Integer),
        sa.column("at", UTCDateTime()),
        sa.column("actor", sa.String),
        sa.column("action", sa.String),
        sa.column("entity", sa.String),
        sa.column("entity_id", sa.String),
        sa.column("detail", sa.JSON),
        sa.column("prev_hash", sa.String),
        sa.column("row_hash", sa.String),
    )
    if _postgres():
        op.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
    prev, last_id, n = GENESIS, 0, 0
    while True:
        rows = bind.execute(sa.select(log).where(log.c.id > last_id).order_by(log.c.id).limit(1000)).all()
        if not rows:
            break
        for row in rows:
            h = chain_hash(
                prev,
                at=row.at,
                actor=row.actor,
                action=row.action,
                entity=row.entity,
                entity_id=row.entity_id,
                detail=row.detail,
            )
            bind.execute(sa.update(log).where(log.c.id == row.id).values(prev_hash=prev, row_hash=h))
            prev, last_id, n = h, row.id, n + 1
    if _postgres():
        op.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")
    else:
        op.execute(SQLITE_GUARDS_0001[0])
    chain = sa.table(
        "audit_chain",
        sa.column("id", sa.Integer),
        sa.column("last_id", sa.Integer),
        sa.column("head_hash", sa.String),
        sa.column("rows", sa.Integer),
    )
    bind.execute(sa.delete(chain))
    bind.execute(sa.insert(chain).values(id=1, last_id=last_id, head_hash=prev if n else "", rows=n))


def downgrade() -> None:
    if _postgres():
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
        op.execute("DROP TRIGGER IF EXISTS audit_log_chain_insert ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_chain_insert()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_chain_insert")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_tokens_user_id"))
        batch_op.drop_index(batch_op.f("ix_api_tokens_token_hash"))
    op.drop_table("api_tokens")
    op.drop_table("audit_chain")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_column("row_hash")
        batch_op.drop_column("prev_hash")
    with op.batch_alter_table("statement_drafts", schema=None) as batch_op:
        batch_op.drop_column("version")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_column("version")
    if not _postgres():
        for stmt in SQLITE_GUARDS_0001:  # a rebuilt SQLite table lost its triggers: the 0001 guards again
            op.execute(stmt)

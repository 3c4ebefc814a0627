"""Fault injection for issue 15, probe 7: the audit trail is tamper-evident, on every reachable engine.

The database refuses what the desk never does (TRUNCATE on PostgreSQL, UPDATE, DELETE, a forged row that
does not extend the chain); what someone with the power to lift those guards does anyway — change a row,
delete one, slip one in, cut the end off, append one with a correctly computed hash — is found by
``verify_audit`` / ``yuqing audit verify``, which names the first row where the chain breaks.
"""

from __future__ import annotations

import os
import threading
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, make_url, text

from store.auditlog import GENESIS, chain_hash, verify_audit
from store.models import AuditEntry
from store.records import Records, audit, audit_trail
from tests.store.conftest import records  # noqa: F401  (the engine fixture: SQLite, and PostgreSQL when set)

BACKDATED = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


def _write(rec: Records, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        with rec.session() as s:
            audit(s, actor="wang", action="alert.acknowledged", entity="alert", entity_id=i, note=f"第{i}条")


def _verify(rec: Records, **kwargs):
    with rec.session() as s:
        return verify_audit(s, **kwargs)


def _superuser(rec: Records, *statements: str) -> None:
    """What only the database owner can do: lift the guards, tamper, put the guards back."""
    pg = rec.engine.dialect.name == "postgresql"
    with rec.engine.begin() as conn:
        if pg:
            conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        else:
            for name in ("audit_log_no_update", "audit_log_no_delete", "audit_log_chain_insert"):
                conn.execute(text(f"DROP TRIGGER IF EXISTS {name}"))
        for stmt in statements:
            conn.execute(text(stmt))
        if pg:
            conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER USER"))


def test_entries_are_chained_in_commit_order_and_verify(records):  # noqa: F811
    _write(records, 5)
    report = _verify(records)
    assert report.ok and report.rows == 5
    with records.session() as s:
        rows = audit_trail(s)
    assert rows[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.row_hash for a, b in zip(rows, rows[1:], strict=False))
    assert report.head_id == rows[-1].id and report.head_hash == rows[-1].row_hash


def test_a_rolled_back_change_leaves_no_entry_and_a_savepoint_keeps_its_own(records):  # noqa: F811
    with pytest.raises(RuntimeError), records.session() as s:
        audit(s, actor="wang", action="alert.assigned", entity="alert", entity_id=1)
        raise RuntimeError("the change failed")
    with records.session() as s:
        audit(s, actor="wang", action="kept", entity="alert", entity_id=2)
        with pytest.raises(RuntimeError), s.begin_nested():
            audit(s, actor="wang", action="lost-with-its-savepoint", entity="alert", entity_id=3)
            raise RuntimeError
        with s.begin_nested():
            audit(s, actor="wang", action="kept-with-its-savepoint", entity="alert", entity_id=4)
        s.add(AuditEntry(actor="wang", action="added-directly", entity="alert", entity_id="5", detail={}))
    with records.session() as s:
        assert [e.action for e in audit_trail(s)] == ["kept", "kept-with-its-savepoint", "added-directly"]
    assert _verify(records).ok


def test_the_database_refuses_truncate_update_delete_and_a_forged_insert(records):  # noqa: F811
    _write(records, 2)
    pg = records.engine.dialect.name == "postgresql"
    refused = [
        "UPDATE audit_log SET actor = 'someone-else'",
        "DELETE FROM audit_log",
        # a forged, backdated row written past the desk, with no chain
        "INSERT INTO audit_log (at, actor, action, entity, entity_id, detail) VALUES "
        "('2025-01-02 03:04:05', 'li', 'report.signed', 'report', '1', '{}')",
        # or with a made-up one
        "INSERT INTO audit_log (at, actor, action, entity, entity_id, detail, prev_hash, row_hash) VALUES "
        f"('2025-01-02 03:04:05', 'li', 'report.signed', 'report', '1', '{{}}', '{GENESIS}', '{'a' * 64}')",
    ] + (["TRUNCATE audit_log"] if pg else [])
    for stmt in refused:
        with pytest.raises(Exception, match="append-only|must extend the chain"), records.engine.begin() as c:
            c.execute(text(stmt))
    report = _verify(records)
    assert report.ok and report.rows == 2


@pytest.mark.parametrize(
    ("tamper", "kind", "row"),
    [
        ("UPDATE audit_log SET actor = 'zhao' WHERE id = 3", "changed", 3),
        ("UPDATE audit_log SET at = '2025-01-02 03:04:05' WHERE id = 2", "changed", 2),
        ("DELETE FROM audit_log WHERE id = 3", "unlinked", 4),
        ("DELETE FROM audit_log WHERE id >= 4", "tail", None),
        (
            "INSERT INTO audit_log (at, actor, action, entity, entity_id, detail) VALUES "
            "('2025-01-02 03:04:05', 'li', 'report.signed', 'report', '1', '{}')",
            "unchained",
            6,
        ),
    ],
)
def test_tampering_past_the_guards_is_found_at_its_row(records, tamper, kind, row):  # noqa: F811
    _write(records, 5)
    _superuser(records, tamper)
    report = _verify(records)
    assert not report.ok
    assert (report.first_break.kind, report.first_break.row_id) == (kind, row)
    assert "审计" in report.first_break.message


def test_a_forged_row_with_a_correct_hash_is_found_at_the_end(records):  # noqa: F811
    """Someone who reads this code can compute the hash; the head kept in audit_chain still disagrees."""
    _write(records, 3)
    with records.session() as s:
        head = audit_trail(s)[-1].row_hash
    detail = {"report_id": 1}
    forged = chain_hash(
        head, at=BACKDATED, actor="li", action="report.signed", entity="report", entity_id="1", detail=detail
    )
    with records.engine.begin() as conn:  # passes the database's insert guard: it extends the chain
        conn.execute(
            text(
                "INSERT INTO audit_log (at, actor, action, entity, entity_id, detail, prev_hash, row_hash) "
                "VALUES (:at, 'li', 'report.signed', 'report', '1', :d, :p, :h)"
            ),
            {"at": BACKDATED, "d": '{"report_id": 1}', "p": head, "h": forged},
        )
    report = _verify(records)
    assert not report.ok and report.first_break.kind == "tail"
    assert "链尾登记为审计 #3" in report.first_break.message


def test_an_anchor_noted_earlier_finds_a_log_rewritten_chain_and_all(records):  # noqa: F811
    _write(records, 3)
    noted = _verify(records)
    anchor = {noted.head_id: noted.head_hash}
    assert _verify(records, anchors=anchor).ok
    _superuser(records, "DELETE FROM audit_log", "DELETE FROM audit_chain")
    _write(records, 4, start=100)  # a fresh, self-consistent chain in its place
    assert _verify(records).ok  # consistent in itself …
    report = _verify(records, anchors=anchor)  # … but not the log that was noted down
    assert not report.ok and report.first_break.kind == "anchor"


def test_parallel_writers_never_chain_to_the_same_predecessor(records):  # noqa: F811
    """16 writers released together, on connections of their own: one chain, no fork."""
    barrier = threading.Barrier(16, timeout=30)
    errors: list[BaseException] = []

    def writer(i: int) -> None:
        try:
            barrier.wait()
            for j in range(5):
                with records.session() as s:
                    audit(s, actor=f"w{i}", action="alert.assigned", entity="alert", entity_id=f"{i}-{j}")
                    audit(s, actor=f"w{i}", action="alert.acknowledged", entity="alert", entity_id=f"{i}-{j}")
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    report = _verify(records)
    assert report.ok and report.rows == 16 * 5 * 2
    with records.session() as s:
        rows = audit_trail(s)
    assert len({r.prev_hash for r in rows}) == len(rows)  # every predecessor taken once


@pytest.mark.skipif(not os.environ.get("YUQING_TEST_PG_URL"), reason="PostgreSQL: YUQING_TEST_PG_URL not set")
def test_the_documented_desk_role_can_work_but_not_truncate_or_alter(tmp_path):
    """docs/engines.md's role (run on a schema of its own here): the desk signs in and audits as it; TRUNCATE,
    DELETE, UPDATE on the audit log, dropping or disabling its triggers, and DDL are refused."""
    from playbooks import users

    base = os.environ["YUQING_TEST_PG_URL"]
    tag = uuid.uuid4().hex[:10]
    schema, role = f"r_{tag}", f"yuqing_desk_{tag}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    owner = Records(f"{base}{sep}options=-csearch_path%3D{schema}")  # migrated by the owner
    owner.dispose()
    with admin.begin() as conn:
        for stmt in (
            f"CREATE ROLE {role} LOGIN PASSWORD 'desk-role-test'",
            f'GRANT USAGE ON SCHEMA "{schema}" TO {role}',
            f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "{schema}" TO {role}',
            f'REVOKE UPDATE, DELETE, TRUNCATE ON "{schema}".audit_log FROM {role}',
            f'REVOKE TRUNCATE ON ALL TABLES IN SCHEMA "{schema}" FROM {role}',
            f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA "{schema}" TO {role}',
        ):
            conn.execute(text(stmt))
    url = make_url(base).set(username=role, password="desk-role-test")
    desk = Records(f"{url.render_as_string(hide_password=False)}{sep}options=-csearch_path%3D{schema}")
    try:
        with desk.session() as s:
            users.create_user(s, username="zhao", role="manager", password="role-test-pass-42", by="admin")
        with desk.session() as s:
            assert users.authenticate(s, "zhao", "role-test-pass-42").username == "zhao"
        with desk.session() as s:
            assert verify_audit(s).ok and verify_audit(s).rows == 1
        for stmt in (
            "TRUNCATE audit_log",
            "DELETE FROM audit_log",
            "UPDATE audit_log SET actor = 'x'",
            "ALTER TABLE audit_log DISABLE TRIGGER USER",
            "DROP TRIGGER audit_log_no_truncate ON audit_log",
            "CREATE TABLE scratch (x int)",
        ):
            with pytest.raises(Exception, match="permission denied|must be owner"), desk.engine.begin() as c:
                c.execute(text(stmt))
    finally:
        desk.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            conn.execute(text(f"DROP OWNED BY {role}"))
            conn.execute(text(f"DROP ROLE {role}"))
        admin.dispose()

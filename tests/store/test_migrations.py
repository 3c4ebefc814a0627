"""The Alembic migrations build exactly the schema the models describe, on every reachable engine.

Whoever adds a table or a column to store/models.py must add a migration; this test says which.
"""

from __future__ import annotations

import os
import re
import uuid
from datetime import UTC, datetime

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from store.auditlog import GENESIS, chain_hash
from store.models import Base
from store.records import Records, alembic_config, upgrade_sql

pytestmark = pytest.mark.real_migrations  # the chain itself is under test: no migrated copies

ENGINES = ["sqlite"] + (["postgresql"] if os.environ.get("YUQING_TEST_PG_URL") else [])


@pytest.fixture(params=ENGINES)
def engine(request, tmp_path):
    """A fresh, empty database (a file, or a PostgreSQL schema of its own)."""
    if request.param == "sqlite":
        eng = create_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
        yield eng
        eng.dispose()
        return
    base = os.environ["YUQING_TEST_PG_URL"]
    schema = f"m_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    eng = create_engine(f"{base}{sep}options=-csearch_path%3D{schema}")
    yield eng
    eng.dispose()
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def _upgrade(eng, target: str = "head") -> None:
    with eng.begin() as conn:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, target)


def _diff(eng) -> list:
    with eng.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(ctx, Base.metadata)


def test_migrations_produce_exactly_the_models_schema(engine):
    _upgrade(engine)
    diff = _diff(engine)
    assert diff == [], (
        "store/models.py and store/migrations disagree; add a migration "
        f"(python -m alembic -c ... revision --autogenerate, see docs/engines.md): {diff}"
    )


def test_downgrade_to_nothing_and_back(engine):
    _upgrade(engine)
    with engine.begin() as conn:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    _upgrade(engine)
    assert _diff(engine) == []


def test_audit_guards_come_from_the_migration(engine):
    _upgrade(engine)
    with pytest.raises(Exception, match="must extend the chain"), engine.begin() as conn:
        conn.execute(  # a row written past the desk, without the chain: refused
            text(
                "INSERT INTO audit_log (at, actor, action, entity, entity_id, detail) "
                "VALUES (CURRENT_TIMESTAMP, 'a', 'x', 'alert', '1', '{}')"
            )
        )
    at = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)
    h = chain_hash(GENESIS, at=at, actor="a", action="x", entity="alert", entity_id="1", detail={})
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO audit_log (at, actor, action, entity, entity_id, detail, prev_hash, row_hash) "
                "VALUES (:at, 'a', 'x', 'alert', '1', '{}', :prev, :h)"
            ),
            {"at": at, "prev": GENESIS, "h": h},
        )
    with pytest.raises(Exception, match="append-only"), engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor = 'b'"))
    with pytest.raises(Exception, match="append-only"), engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log"))
    if engine.dialect.name == "postgresql":
        with pytest.raises(Exception, match="append-only"), engine.begin() as conn:
            conn.execute(text("TRUNCATE audit_log"))


def test_a_store_made_before_migrations_is_adopted_with_its_data(tmp_path):
    """The walking skeleton created tables with create_all and no alembic_version: upgrading keeps rows."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    eng = create_engine(url)
    Base.metadata.tables["alerts"].create(eng)
    with eng.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO alerts (post_id, source, title, snippet, url, topic, level_rank, falsity_label, "
                "reasons, status, drill, created_at, updated_at) VALUES ('p1', '微博', '', '', '', '其他', 2, "
                "'none', '[]', 'open', 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        )
    eng.dispose()
    rec = Records(url)
    try:
        with rec.engine.connect() as conn:
            assert conn.execute(text("SELECT post_id FROM alerts")).scalars().all() == ["p1"]
            assert MigrationContext.configure(conn).get_current_heads()
        assert _diff(rec.engine) == []
    finally:
        rec.dispose()


@pytest.mark.parametrize("url", ["sqlite:///x.db", "postgresql+psycopg://u@db.example/yuqing"])
def test_migrate_sql_prints_the_ddl_without_connecting(url):
    sql = upgrade_sql(url)
    assert re.search(r"CREATE TABLE (IF NOT EXISTS )?alerts", sql)
    assert re.search(r"CREATE TABLE (IF NOT EXISTS )?escalations", sql)
    assert "append-only" in sql  # the audit guards are part of the schema
    assert "alembic_version" in sql


def test_rows_written_before_the_chain_are_chained_by_its_migration(engine):
    """A live store at 0005 with audit rows: 0006 chains them in id order, and the chain verifies."""
    from sqlalchemy.orm import Session

    from store.auditlog import verify_audit
    from store.records import audit

    _upgrade(engine, "0005")
    with engine.begin() as conn:
        for i, detail in enumerate(["{}", '{"note": "误报：同名公司", "n": 2}', '{"before": null}']):
            conn.execute(
                text(
                    "INSERT INTO audit_log (at, actor, action, entity, entity_id, detail) "
                    "VALUES (:at, 'wang', 'alert.acknowledged', 'alert', :eid, :d)"
                ),
                {"at": datetime(2026, 10, 1, 1, i, 7, 123456, tzinfo=UTC), "eid": str(i), "d": detail},
            )
    _upgrade(engine)
    with Session(engine) as s:
        report = verify_audit(s)
        assert report.ok and report.rows == 3
    with Session(engine) as s, s.begin():  # the desk appends after them
        audit(s, actor="li", action="report.signed", entity="report", entity_id=1)
    with Session(engine) as s:
        assert verify_audit(s).ok and verify_audit(s).rows == 4


def test_near_dup_rows_are_rekeyed_by_their_migration_and_copies_still_join_their_groups(engine):
    """A live store at 0009 (four 16-bit bands per post): 0010 writes each post's two halves in the order the
    posts were stored, a new copy of a stored post joins its group, and the downgrade gives the bands back."""
    import random

    from sqlalchemy.orm import Session

    from store.models import NearDupBand, PostRecord
    from store.neardup import BANDS, assign_near_dups, bands

    def bands16(value: int) -> list[int]:
        return [(value >> (48 - 16 * i)) & 0xFFFF for i in range(4)]

    rng = random.Random(11)
    bases = [rng.getrandbits(64) for _ in range(3)]
    posts = []  # (post id, fingerprint, group, drill) in the order they were stored
    for i in range(40):
        k = rng.randrange(3)
        value = bases[k] ^ (1 << rng.randrange(64) if i % 3 else 0)
        posts.append((f"p{i}", value, f"g{k}", i % 7 == 0))
    _upgrade(engine, "0009")
    with engine.begin() as conn:
        for post_id, value, group, drill in posts:
            for band, piece in enumerate(bands16(value)):
                conn.execute(
                    text(
                        "INSERT INTO near_dup_bands (post_id, band, value, simhash, group_id, drill, at) "
                        "VALUES (:p, :b, :v, :s, :g, :d, :at)"
                    ),
                    {
                        "p": post_id,
                        "b": band,
                        "v": piece,
                        "s": f"{value:016x}",
                        "g": group,
                        "d": drill,
                        "at": datetime(2026, 10, 1, tzinfo=UTC),
                    },
                )

    def rows() -> list[tuple]:
        with engine.connect() as conn:
            got = conn.execute(
                text("SELECT post_id, band, value, simhash, group_id, drill FROM near_dup_bands ORDER BY id")
            ).all()
        return [(p, b, v, s, g, bool(d)) for p, b, v, s, g, d in got]

    _upgrade(engine)
    assert not _diff(engine)
    want = [
        (p, band, key, f"{value:016x}", g, d)
        for p, value, g, d in posts
        for band, key in enumerate(bands(value))
    ]
    assert rows() == want and len(want) == BANDS * len(posts)
    _, value, group, drill = posts[5]
    copy = PostRecord(id="copy", text="", drill=drill)
    with Session(engine) as s, s.begin():
        assign_near_dups(s, [copy], fingerprint=lambda *_: value ^ 1, max_distance=3)
    assert copy.dup_of == group  # the group as stored, found through the new keys
    with Session(engine) as s:
        assert s.query(NearDupBand).filter_by(post_id="copy").count() == BANDS
    with engine.begin() as conn:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0009")
    old = [
        (p, band, piece, f"{v:016x}", g, d) for p, v, g, d in posts for band, piece in enumerate(bands16(v))
    ]
    assert [r for r in rows() if r[0] != "copy"] == old

"""Alerts of a batch in a few statements: the same alerts, audit entries in the posts' order (each new
alert's snapshot right after it), the chain intact, and no statement per post."""

from __future__ import annotations

from sqlalchemy import event, select

from playbooks.evidence import audit_snapshot, snapshot_posts
from store.auditlog import verify_audit
from store.models import Alert, Evidence, PostRecord
from store.records import audit_trail, upsert_alerts


def post(i: int, level: str = "III") -> PostRecord:
    return PostRecord(
        id=f"b{i}",
        text=f"华鼎证券第{i}条投诉：APP无法登录",
        url=f"https://weibo.example/{i}",
        topic="系统故障",
        level=level,
        flagged=True,
        reasons=["负面"],
    )


def ingest_like(session, posts):
    """What ingest does with a batch of flagged posts (yuqing.ingest.upsert_alerts)."""
    changes = upsert_alerts(session, posts, [None] * len(posts), audit_now=False)
    opened = [(c.alert, p) for c, p in zip(changes, posts, strict=True) if c.what == "opened"]
    snaps = iter(snapshot_posts(session, opened, audit_now=False))
    for c in changes:
        c.audit(session)
        if c.what == "opened":
            row, new = next(snaps)
            if new:
                audit_snapshot(session, c.alert, row)
    return [c.what for c in changes]


def test_a_batch_opens_updates_and_audits_in_the_posts_order(records):
    with records.session() as s:
        assert ingest_like(s, [post(1), post(2), post(1, "II")]) == ["opened", "opened", "updated"]
    with records.session() as s:
        assert ingest_like(s, [post(2), post(3), post(1, "II")]) == ["unchanged", "opened", "unchanged"]
        ids = {a.post_id: a.id for a in s.scalars(select(Alert))}
        assert len(s.scalars(select(Evidence)).all()) == 3  # one snapshot per alert, the first sighting
        trail = [(e.action, int(e.entity_id)) for e in audit_trail(s, entity="alert")]
        assert trail == [
            ("alert.opened", ids["b1"]),
            ("evidence.snapshot", ids["b1"]),
            ("alert.opened", ids["b2"]),
            ("evidence.snapshot", ids["b2"]),
            ("alert.updated", ids["b1"]),
            ("alert.opened", ids["b3"]),
            ("evidence.snapshot", ids["b3"]),
        ]
    with records.session() as s:
        report = verify_audit(s)
        assert report.ok and report.rows == 7


def test_a_batch_costs_a_few_statements_not_one_per_post(records):
    counts = []
    sqlite = records.engine.dialect.name == "sqlite"
    for n, start in ((3, 0), (150, 100)):
        seen: list[int] = []

        def count(_conn, _cursor, statement, _params, _context, executemany, _seen=seen):
            # the chain is written one row at a time, in its order; SQLite runs a flush's INSERT … RETURNING
            # row by row inside the driver (no round trip), PostgreSQL as one statement
            if "audit_" not in statement and not (executemany and sqlite):
                _seen.append(1)

        event.listen(records.engine, "before_cursor_execute", count)
        try:
            with records.session() as s:
                ingest_like(s, [post(start + i) for i in range(n)])
        finally:
            event.remove(records.engine, "before_cursor_execute", count)
        counts.append(len(seen))
    assert counts[1] <= counts[0] + 2, counts

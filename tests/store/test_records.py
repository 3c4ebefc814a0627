"""Alerts, escalation records and the audit trail, on every reachable records engine."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.orm.exc import StaleDataError

from playbooks.authz import Actor
from playbooks.escalation import (
    InvalidTransition,
    StaleEscalation,
    allowed_next,
    open_escalation,
    transition,
)
from store.models import AuditEntry, Escalation, PostRecord
from store.records import Records, RecordsUnavailable, audit_trail, list_escalations, upsert_alert


def officer(name: str) -> Actor:
    return Actor(username=name, role="officer")


def manager(name: str) -> Actor:
    return Actor(username=name, role="manager")


def flagged_post(url="https://weibo.example/1", level="II", topic="交易系统故障", drill=False) -> PostRecord:
    return PostRecord.from_post(
        {
            "url": url,
            "text": "华鼎证券APP又无法登录了",
            "source": "微博",
            "level": level,
            "flagged": True,
            "topic": topic,
            "reasons": ["提及：华鼎证券", "关键词：无法登录"],
            "falsity": {"label": "none", "score": 0.1},
        },
        drill=drill,
    )


def test_flagged_post_opens_one_alert_and_reingest_updates_it(records):
    with records.session() as s:
        alert, what = upsert_alert(s, post=flagged_post(level="III"), playbook_id="trading-system-outage")
        assert what == "opened"
        alert_id = alert.id
    with records.session() as s:
        again, what = upsert_alert(s, post=flagged_post(level="III"))
        assert (what, again.id) == ("unchanged", alert_id)
        worse, what = upsert_alert(s, post=flagged_post(level="I"))
        assert (what, worse.level, worse.playbook_id) == ("updated", "I", "trading-system-outage")
    with records.session() as s:
        actions = [e.action for e in audit_trail(s, entity="alert", entity_id=alert_id)]
    assert actions == ["alert.opened", "alert.updated"]


def test_escalation_walks_the_workflow_and_every_step_is_audited(records):
    with records.session() as s:
        alert, _ = upsert_alert(s, post=flagged_post())
        esc, created = open_escalation(s, alert_id=alert.id, actor=officer("值班员小王"), note="APP登录故障")
        assert created and esc.state == "new"
        esc_id = esc.id
    for actor, state in [
        (officer("值班员小王"), "acknowledged"),
        (officer("值班员小王"), "responding"),
        (manager("负责人老李"), "resolved"),
        (manager("负责人老李"), "closed"),
    ]:
        with records.session() as s:
            transition(s, escalation_id=esc_id, to_state=state, actor=actor)
    with records.session() as s:
        trail = audit_trail(s, entity="escalation", entity_id=esc_id)
        assert [(e.actor, e.detail.get("after")) for e in trail] == [
            ("值班员小王", None),
            ("值班员小王", "acknowledged"),
            ("值班员小王", "responding"),
            ("负责人老李", "resolved"),
            ("负责人老李", "closed"),
        ]
        assert all(e.at is not None for e in trail)
        assert s.get(Escalation, esc_id).alert.status == "closed"


def test_opening_twice_returns_the_same_record(records):
    with records.session() as s:
        alert, _ = upsert_alert(s, post=flagged_post())
        first, c1 = open_escalation(s, alert_id=alert.id, actor=officer("甲"))
        second, c2 = open_escalation(s, alert_id=alert.id, actor=officer("乙"))
        assert (c1, c2) == (True, False) and first.id == second.id
        assert len(list_escalations(s)) == 1


def test_workflow_refuses_a_jump_with_a_chinese_message(records):
    with records.session() as s:
        alert, _ = upsert_alert(s, post=flagged_post())
        esc, _ = open_escalation(s, alert_id=alert.id, actor=officer("甲"))
        with pytest.raises(InvalidTransition, match="不能从「新建」变为「已关闭」"):
            transition(s, escalation_id=esc.id, to_state="closed", actor=officer("甲"))
    assert "closed" not in allowed_next("new")


def test_a_stale_edit_is_refused(records):
    with records.session() as s:
        alert, _ = upsert_alert(s, post=flagged_post())
        esc, _ = open_escalation(s, alert_id=alert.id, actor=officer("甲"))
        esc_id, seen_version = esc.id, esc.version
    with records.session() as s:  # officer A acts first
        transition(
            s,
            escalation_id=esc_id,
            to_state="acknowledged",
            actor=officer("甲"),
            expected_version=seen_version,
        )
    with (
        pytest.raises(StaleEscalation, match="已被他人修改"),
        records.session() as s,
    ):  # B still sees the old version
        transition(
            s,
            escalation_id=esc_id,
            to_state="false_positive",
            actor=officer("乙"),
            expected_version=seen_version,
        )


def test_concurrent_sessions_cannot_overwrite_each_other(records):
    with records.session() as s:
        alert, _ = upsert_alert(s, post=flagged_post())
        esc, _ = open_escalation(s, alert_id=alert.id, actor=officer("甲"))
        esc_id = esc.id
    a = records._sessions()
    b = records._sessions()
    try:
        ea, eb = a.get(Escalation, esc_id), b.get(Escalation, esc_id)
        ea.owner = "丙"
        a.commit()
        eb.owner = "乙"
        with pytest.raises(StaleDataError):
            b.commit()
    finally:
        a.close()
        b.close()


def test_audit_log_is_append_only(records):
    with records.session() as s:
        alert, _ = upsert_alert(s, post=flagged_post())
    with pytest.raises((DBAPIError, StatementError)), records.session() as s:
        s.execute(text("UPDATE audit_log SET actor = 'someone else'"))
    with pytest.raises((DBAPIError, StatementError)), records.session() as s:
        s.execute(text("DELETE FROM audit_log"))
    with records.session() as s:
        assert s.query(AuditEntry).count() == 1


def test_drill_alerts_stay_out_of_production_lists(records):
    with records.session() as s:
        alert, _ = upsert_alert(s, post=flagged_post(url="drill-1", drill=True))
        open_escalation(s, alert_id=alert.id, actor=officer("演练"))
        assert list_escalations(s) == []
        assert len(list_escalations(s, drill=True)) == 1


def test_finding_a_record_searches_every_record_however_old(records):
    from datetime import timedelta

    from store.models import utcnow

    with records.session() as s:
        ids = []
        for i in range(230):  # more than the list shows (200): the oldest must still be found
            post = flagged_post(url=f"https://weibo.example/{i}")
            post.title = f"第{i}号 华鼎证券 50%_折扣" if i == 0 else f"华鼎证券APP故障{i}"
            alert, _ = upsert_alert(s, post=post)
            esc, _ = open_escalation(s, alert_id=alert.id, actor=officer("wang"))
            esc.opened_at = utcnow() - timedelta(days=400 - i)
            ids.append(esc.id)
    with records.session() as s:
        assert len(list_escalations(s)) == 200 and ids[0] not in {e.id for e in list_escalations(s)}
        assert [e.id for e in list_escalations(s, find=f"#{ids[0]}")] == [ids[0]]
        assert [e.id for e in list_escalations(s, find="第0号")] == [ids[0]]
        # wildcards typed into the box are literal: 50%_ finds the one title that has them
        assert [e.id for e in list_escalations(s, find="50%_")] == [ids[0]]
        assert (
            [e.id for e in list_escalations(s, find="%")]
            == [e.id for e in list_escalations(s, find="_")]
            == [ids[0]]
        )
        assert list_escalations(s, find="' OR 1=1 --") == []


def test_unreachable_database_is_a_clear_error():
    with pytest.raises(RecordsUnavailable, match="cannot reach records database"):
        Records("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")


def test_two_officers_opening_at_once_get_one_record(records):
    """Both read 'no open record' before either inserts; the database keeps one."""
    with records.session() as s:
        alert, _ = upsert_alert(s, post=flagged_post())
        alert_id = alert.id
    a, b = records._sessions(), records._sessions()
    try:
        a.begin()
        first, created_a = open_escalation(a, alert_id=alert_id, actor=officer("甲"))
        a.commit()
        # B's check ran before A's insert was visible: simulate by inserting directly past the check
        b.begin()
        dup = Escalation(alert_id=alert_id, state="new", opened_by="乙")
        b.add(dup)
        with pytest.raises((DBAPIError, StatementError)):
            b.flush()
        b.rollback()
    finally:
        a.close()
        b.close()
    with records.session() as s:
        assert created_a and len(list_escalations(s)) == 1
        again, created = open_escalation(s, alert_id=alert_id, actor=officer("乙"))
        assert not created and again.id == first.id

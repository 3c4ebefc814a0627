"""Alerts before any record exists: serious new alerts are announced at once, and an alert nobody
acknowledges is chased up the chain; drills tell nobody outside."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from playbooks.alerting import announce_alerts, chase_alerts
from playbooks.notify.outbox import Recipient
from playbooks.triage import acknowledge
from store.models import Alert, Notification, PostRecord
from store.records import audit_trail, upsert_alert
from tests.playbooks.escalation_support import LIBRARY, OFFICER, T0, add_users, outage_alert
from tests.store import conftest as engines

db = engines.records  # SQLite, and PostgreSQL when YUQING_TEST_PG_URL is set

DESK = "https://desk.huading.example"
CHAIN = ["owner", "role:manager", "role:admin"]
DUTY = [Recipient("wecom", "值班群"), Recipient("email", "舆情邮件组")]


def _announce(s, alerts):
    return announce_alerts(s, alerts, recipients=DUTY, desk_base_url=DESK, playbooks=list(LIBRARY.values()))


def _outbox(db, kind: str):
    with db.session() as s:
        return s.scalars(
            select(Notification).where(Notification.kind == kind).order_by(Notification.id)
        ).all()


def _chase(db, minutes: float):
    with db.session() as s:
        return chase_alerts(
            s,
            playbooks=list(LIBRARY.values()),
            chain=CHAIN,
            now=T0 + timedelta(minutes=minutes),
            desk_base_url=DESK,
        )


def test_a_level_one_alert_is_announced_on_every_duty_channel_with_level_and_link(db):
    with db.session() as s:
        alert = outage_alert(s, level="I")
        assert _announce(s, [alert]) == 1
        post_id = alert.post_id
    rows = _outbox(db, "alert")
    assert [(r.channel, r.target, r.status) for r in rows] == [
        ("wecom", "值班群", "pending"),
        ("email", "舆情邮件组", "pending"),
    ]
    msg = rows[0]
    assert "Ⅰ级" in msg.subject and "新预警" in msg.subject
    assert "华鼎证券APP崩了" in msg.body
    assert "交易系统故障" in msg.body  # the playbook it fits
    assert msg.link == f"{DESK}/item?post={post_id}" and msg.link in msg.body


def test_announcing_twice_tells_once_and_a_raised_level_tells_again(db):
    with db.session() as s:
        alert = outage_alert(s, level="II")
        assert _announce(s, [alert]) == 1
        assert _announce(s, [alert]) == 0
        alert.level, alert.level_rank = "I", 1
        assert _announce(s, [alert]) == 1  # more severe: told again, as 预警升级
        alert.level, alert.level_rank = "II", 2
        assert _announce(s, [alert]) == 0  # milder again: nobody is woken for that
    rows = _outbox(db, "alert")
    assert [r.level for r in rows] == ["II", "II", "I", "I"]
    assert "预警升级" in rows[-1].subject


def test_milder_alerts_and_dismissed_ones_are_not_announced(db):
    with db.session() as s:
        mild = outage_alert(s, level="III", key="mild")
        dismissed = outage_alert(s, level="I", key="fp")
        dismissed.status = "false_positive"
        assert _announce(s, [mild, dismissed]) == 0
    assert _outbox(db, "alert") == []


def test_a_drill_alert_is_announced_only_inside_the_building(db):
    with db.session() as s:
        alert = outage_alert(s, level="I", drill=True)
        assert _announce(s, [alert]) == 1
    rows = _outbox(db, "alert")
    assert rows and {r.status for r in rows} == {"suppressed"}
    assert all(r.subject.startswith("【演练】") for r in rows)


def test_hostile_post_text_stays_text_in_the_announcement(db):
    with db.session() as s:
        post = PostRecord.from_post(
            {
                "url": "https://weibo.example/x",
                "title": "<script>alert(1)</script> **华鼎证券** [点我](http://evil.example) @all",
                "text": "华鼎证券 无法登录",
                "level": "I",
                "flagged": True,
            }
        )
        alert, _ = upsert_alert(s, post=post, playbook_id=None)
        _announce(s, [alert])
    body = _outbox(db, "alert")[0].body
    assert "<script>alert(1)</script>" in body  # kept as text here; each channel escapes it for its markup
    assert "通用预案" in body


def test_an_unacknowledged_alert_is_chased_one_tier_per_clock(db):
    with db.session() as s:
        add_users(s)
        outage_alert(s, level="I")  # the outage playbook: acknowledge within 5 minutes at level I
    assert _chase(db, 4) == []
    first = _chase(db, 6)
    assert [(c.tier, c.entry, c.people) for c in first] == [(1, "role:manager", ["chen", "li"])]
    assert _chase(db, 8) == []  # the same tier is told once
    second = _chase(db, 11)
    assert [(c.tier, c.entry, c.people) for c in second] == [(2, "role:admin", ["admin"])]
    rows = _outbox(db, "alert_chase")
    assert {r.target for r in rows} >= {"li@huading.example", "chen@huading.example", "admin@huading.example"}
    assert "无人确认" in rows[0].subject and "5 分钟内确认" in rows[0].body
    with db.session() as s:
        alert_id = s.scalar(select(Alert.id))
        actions = [e.action for e in audit_trail(s, entity="alert", entity_id=alert_id)]
    assert actions.count("alert.chased") == 2


def test_an_acknowledged_alert_is_not_chased(db):
    with db.session() as s:
        add_users(s)
        alert = outage_alert(s, level="I")
        acknowledge(s, alert.id, OFFICER)
    assert _chase(db, 30) == []
    assert _outbox(db, "alert_chase") == []


def test_a_drill_alert_is_chased_but_nothing_leaves(db):
    with db.session() as s:
        add_users(s)
        outage_alert(s, level="I", drill=True)
    chased = _chase(db, 6)
    assert chased and chased[0].drill
    rows = _outbox(db, "alert_chase")
    assert rows and {r.status for r in rows} == {"suppressed"}

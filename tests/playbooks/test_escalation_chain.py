"""The escalation chain: a clock that runs out tells the next tier, once; drills never leave the building."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from playbooks.chain import ChainError, check_clocks, item_link, validate_chain
from playbooks.escalation import open_escalation, transition
from store.models import ClockBreach, Escalation, Notification
from store.records import audit_trail
from tests.playbooks.escalation_support import LIBRARY, OFFICER, T0, add_users, outage_alert
from tests.store import conftest as engines

db = engines.records  # the records-engine fixture: SQLite, and PostgreSQL when YUQING_TEST_PG_URL is set

DESK = "https://desk.huading.example"
CHAIN = ["owner", "role:manager", "role:admin"]


def at(minutes: float):
    return T0 + timedelta(minutes=minutes)


def _open(db, **kw) -> tuple[int, str]:
    with db.session() as s:
        add_users(s)
        alert = outage_alert(s, **kw)
        esc, _ = open_escalation(s, alert_id=alert.id, actor=OFFICER)
        return esc.id, alert.post_id


def _check(db, minutes: float):
    with db.session() as s:
        return check_clocks(
            s, playbooks=list(LIBRARY.values()), chain=CHAIN, now=at(minutes), desk_base_url=DESK
        )


def _rows(db):
    with db.session() as s:
        return [
            (n.channel, n.target, n.status, n.subject, n.body, n.link)
            for n in s.scalars(select(Notification).order_by(Notification.id))
        ]


def test_first_breach_tells_the_managers_once_with_what_ran_out_and_a_link(db):
    esc_id, post_id = _open(db, level="I")
    assert _check(db, 4) == []  # nothing has run out yet
    events = _check(db, 6.5)  # level I: acknowledge within 5 minutes
    assert [(e.tier, e.entry, e.clocks, e.people) for e in events] == [
        (1, "role:manager", ["acknowledge_within"], ["chen", "li"])
    ]
    rows = _rows(db)
    assert sorted((c, t, st) for c, t, st, *_ in rows) == [
        ("dingtalk", "default@13800000001", "pending"),
        ("email", "chen@huading.example", "pending"),
        ("email", "li@huading.example", "pending"),
        ("wecom", "default@ChenGang,LiJing", "pending"),
    ]
    _, _, _, subject, body, link = rows[0]
    assert link == f"{DESK}/item?post={post_id}" and link in body
    assert "Ⅰ级" in subject and "确认预警" in subject and "已超时" in subject
    assert "级别：Ⅰ级（特别重大）" in body
    assert "确认预警：时限 5 分钟" in body and "已超时 1 分钟" in body
    assert "第 1 级：全体负责人" in body
    # run again, and again later: the same clock is not told twice
    assert _check(db, 6.5) == []
    assert _check(db, 8) == []
    assert len(_rows(db)) == 4
    with db.session() as s:
        assert s.get(Escalation, esc_id).chain_tier == 1
        breaches = s.scalars(select(ClockBreach)).all()
        assert [(b.clock, b.tier, b.notified, b.drill) for b in breaches] == [
            ("acknowledge_within", 1, "chen,li", False)
        ]
        chain_audit = [
            e for e in audit_trail(s, entity="escalation", entity_id=esc_id) if e.action == "escalation.chain"
        ]
        assert [
            (e.actor, e.detail["before"], e.detail["after"], e.detail["notified"]) for e in chain_audit
        ] == [("system", 0, 1, ["chen", "li"])]


def test_the_next_breach_goes_one_tier_up_to_the_admin(db):
    esc_id, _ = _open(db, level="I")
    _check(db, 6)  # acknowledge ran out: the managers
    with db.session() as s:
        transition(s, escalation_id=esc_id, to_state="acknowledged", actor=OFFICER, now=at(7))
    events = _check(db, 11)  # IT verification (10 minutes) and report-manager (10) ran out: the admin
    assert [(e.tier, e.entry, e.people) for e in events] == [(2, "role:admin", ["admin"])]
    assert events[0].clocks == ["step:verify-with-it", "step:report-manager"]
    new = _rows(db)[4:]
    assert sorted((c, t) for c, t, *_ in new) == [
        ("email", "admin@huading.example"),
        ("feishu", "default@ou_admin0001"),
    ]
    assert "向信息技术部门核实系统状态" in new[0][4]
    # the chain ends at the admin: a later breach is told to the admin again, at the same tier
    events = _check(db, 16)
    assert [(e.tier, e.clocks) for e in events] == [(2, ["step:activate-emergency-plan"])]
    assert _check(db, 16) == []


def test_a_resolved_record_is_not_chased(db):
    esc_id, _ = _open(db, level="I")
    with db.session() as s:
        transition(s, escalation_id=esc_id, to_state="acknowledged", actor=OFFICER, now=at(1))
        transition(s, escalation_id=esc_id, to_state="resolved", actor=OFFICER, now=at(2))
    assert _check(db, 600) == []
    assert _rows(db) == []


def test_a_drill_breach_is_recorded_but_nothing_leaves(db):
    esc_id, _ = _open(db, level="I", drill=True)
    events = _check(db, 6)
    assert [(e.tier, e.drill) for e in events] == [(1, True)]
    rows = _rows(db)
    assert rows and {st for _, _, st, *_ in rows} == {"suppressed"}
    assert all(
        subject.startswith("【演练】") and "不会真实发出" in body for _, _, _, subject, body, _ in rows
    )
    with db.session() as s:
        assert [b.drill for b in s.scalars(select(ClockBreach))] == [True]
        assert all(n.drill for n in s.scalars(select(Notification)))


def test_the_chain_configuration_is_checked():
    assert validate_chain(["owner", "role:manager", "zhangsan"]) == ("owner", "role:manager", "zhangsan")
    with pytest.raises(ChainError, match="unknown role"):
        validate_chain(["owner", "role:boss"])
    with pytest.raises(ChainError):
        validate_chain([])
    assert item_link("https://desk.example/", "a b&c") == "https://desk.example/item?post=a%20b%26c"

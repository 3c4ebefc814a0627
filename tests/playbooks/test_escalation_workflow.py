"""The escalation record's workflow with roles: states, first-reached timestamps, owner, steps, audit.

SQLite always; PostgreSQL when YUQING_TEST_PG_URL is set (the ``records`` fixture of tests/store).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from playbooks.authz import Actor, PermissionDenied
from playbooks.escalation import (
    EscalationError,
    mark_step_done,
    open_escalation,
    steps_done,
    transition,
)
from playbooks.escalation import assign as assign_owner
from store.models import Escalation, EscalationStep, User
from store.records import audit_trail
from tests.playbooks.escalation_support import (
    MANAGER,
    OFFICER,
    OFFICER_2,
    T0,
    add_users,
    outage_alert,
)
from tests.store import conftest as engines

db = engines.records  # the records-engine fixture: SQLite, and PostgreSQL when YUQING_TEST_PG_URL is set


def _opened(db, **kw) -> int:
    with db.session() as s:
        add_users(s)
        alert = outage_alert(s, **kw)
        esc, created = open_escalation(s, alert_id=alert.id, actor=OFFICER, note="开盘无法登录")
        assert created
        return esc.id


def test_open_needs_a_signed_in_person_and_records_the_opener_as_owner(db):
    with db.session() as s:
        add_users(s)
        alert = outage_alert(s)
        with pytest.raises(PermissionDenied, match="请先登录"):
            open_escalation(s, alert_id=alert.id, actor=None)  # type: ignore[arg-type]
        esc, _ = open_escalation(s, alert_id=alert.id, actor=OFFICER)
        assert (esc.owner, esc.opened_by, esc.chain_tier) == ("wang", "wang", 0)


def test_timestamps_are_set_when_first_reaching_a_state_and_kept_after(db):
    esc_id = _opened(db)
    steps = [
        (OFFICER, "acknowledged", 3),
        (OFFICER, "responding", 10),
        (OFFICER, "resolved", 50),
        (OFFICER, "responding", 55),  # reopened: the first resolution time stays
        (OFFICER_2, "resolved", 70),
        (MANAGER, "closed", 90),
    ]
    for actor, state, minutes in steps:
        with db.session() as s:
            transition(
                s, escalation_id=esc_id, to_state=state, actor=actor, now=T0 + timedelta(minutes=minutes)
            )
    with db.session() as s:
        esc = s.get(Escalation, esc_id)
        got = [esc.acknowledged_at, esc.resolved_at, esc.closed_at]
        got = [g.replace(tzinfo=None) for g in got]
        assert got == [(T0 + timedelta(minutes=m)).replace(tzinfo=None) for m in (3, 50, 90)]
        trail = audit_trail(s, entity="escalation", entity_id=esc_id)
        assert [(e.actor, e.detail.get("after")) for e in trail[1:]] == [
            (a.username, st) for a, st, _ in steps
        ]


def test_escalating_straight_from_new_counts_as_acknowledged(db):
    esc_id = _opened(db)
    with db.session() as s:
        esc = transition(
            s, escalation_id=esc_id, to_state="escalated", actor=OFFICER, now=T0 + timedelta(minutes=2)
        )
        assert esc.acknowledged_at is not None


def test_a_false_positive_is_closed_but_not_acknowledged(db):
    esc_id = _opened(db)
    with db.session() as s:
        esc = transition(s, escalation_id=esc_id, to_state="false_positive", actor=OFFICER)
        assert esc.acknowledged_at is None and esc.closed_at is not None
        assert esc.alert.status == "false_positive"


def test_an_officer_cannot_close_a_record_a_manager_can(db):
    esc_id = _opened(db)
    for state in ("acknowledged", "resolved"):
        with db.session() as s:
            transition(s, escalation_id=esc_id, to_state=state, actor=OFFICER)
    with pytest.raises(PermissionDenied, match="需要负责人"), db.session() as s:
        transition(s, escalation_id=esc_id, to_state="closed", actor=OFFICER)
    with db.session() as s:
        assert s.get(Escalation, esc_id).state == "resolved"
        assert s.get(Escalation, esc_id).closed_at is None
        transition(s, escalation_id=esc_id, to_state="closed", actor=MANAGER)
    with db.session() as s:
        last = audit_trail(s, entity="escalation", entity_id=esc_id)[-1]
        assert (last.actor, last.detail["after"]) == ("li", "closed")


def test_assign_needs_an_active_desk_user(db):
    esc_id = _opened(db)
    with db.session() as s:
        with pytest.raises(EscalationError, match="没有用户名为「nobody」"):
            assign_owner(s, escalation_id=esc_id, owner="nobody", actor=OFFICER)
        s.scalar(select(User).where(User.username == "zhao")).active = False
        with pytest.raises(EscalationError, match="已停用"):
            assign_owner(s, escalation_id=esc_id, owner="zhao", actor=OFFICER)
        esc = assign_owner(s, escalation_id=esc_id, owner="li", actor=OFFICER)
        assert esc.owner == "li"
        last = audit_trail(s, entity="escalation", entity_id=esc_id)[-1]
        assert (last.actor, last.action, last.detail) == (
            "wang",
            "escalation.assigned",
            {"before": "wang", "after": "li"},
        )


def test_a_step_is_marked_done_once_with_who_and_when(db):
    esc_id = _opened(db)
    ids = ("acknowledge", "verify-with-it")
    with db.session() as s:
        row, created = mark_step_done(
            s,
            escalation_id=esc_id,
            step_id="verify-with-it",
            actor=OFFICER,
            note="IT 确认集中交易正常",
            step_ids=ids,
            now=T0 + timedelta(minutes=8),
        )
        assert created
    with db.session() as s:  # a second click (another officer) changes nothing
        again, created = mark_step_done(
            s, escalation_id=esc_id, step_id="verify-with-it", actor=OFFICER_2, step_ids=ids
        )
        assert not created and again.done_by == "wang"
        with pytest.raises(EscalationError, match="预案中没有步骤"):
            mark_step_done(s, escalation_id=esc_id, step_id="make-coffee", actor=OFFICER, step_ids=ids)
    with db.session() as s:
        assert list(steps_done(s, esc_id)) == ["verify-with-it"]
        assert s.query(EscalationStep).count() == 1
        done = [
            e
            for e in audit_trail(s, entity="escalation", entity_id=esc_id)
            if e.action == "escalation.step_done"
        ]
        assert [(e.actor, e.detail["step_id"], e.detail["note"]) for e in done] == [
            ("wang", "verify-with-it", "IT 确认集中交易正常")
        ]


def test_an_unknown_role_cannot_act():
    with pytest.raises(ValueError):
        Actor("x", "intern")

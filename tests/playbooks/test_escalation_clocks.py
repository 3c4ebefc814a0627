"""Clocks of an escalation record from the shipped trading-system-outage playbook, with an injected now."""

from __future__ import annotations

from datetime import timedelta

from playbooks.clocks import (
    CLOCK_STATE_LABELS,
    EscalationFacts,
    clock_states,
    escalation_clocks,
    worst_state,
)
from playbooks.escalation import mark_step_done, open_escalation, transition
from playbooks.statements import approve, draft_statement, submit
from store.models import Escalation
from tests.playbooks.escalation_support import MANAGER, OFFICER, OUTAGE, T0, add_users, outage_alert
from tests.store import conftest as engines

db = engines.records  # the records-engine fixture: SQLite, and PostgreSQL when YUQING_TEST_PG_URL is set


def at(minutes: float):
    return T0 + timedelta(minutes=minutes)


def states(facts: EscalationFacts, minutes: float) -> dict[str, str]:
    return {c.key: c.state for c in clock_states(facts, OUTAGE, now=at(minutes))}


def test_level_one_acknowledge_clock_runs_then_is_due_soon_then_breached():
    facts = EscalationFacts(escalation_id=1, level="I", state="new", started_at=T0)
    # level I: acknowledge within 5 minutes; ≤ 20 % left (1 minute) is 即将超时
    assert states(facts, 3)["acknowledge_within"] == "running"
    assert states(facts, 4.5)["acknowledge_within"] == "due_soon"
    assert states(facts, 5.5)["acknowledge_within"] == "breached"
    board = clock_states(facts, OUTAGE, now=at(12))
    ack = next(c for c in board if c.key == "acknowledge_within")
    assert ack.due_at == at(5) and ack.overdue_by == timedelta(minutes=7)
    assert (ack.label, worst_state(board)) == ("已超时", "breached")
    # the regulator report is required at level I (60 minutes), the holding statement within 30
    assert states(facts, 12)["holding_statement_within"] == "running"
    assert next(c for c in board if c.key == "regulator_report_within").due_at == at(60)


def test_level_four_has_slower_clocks_and_no_holding_statement_or_report():
    facts = EscalationFacts(escalation_id=1, level="IV", state="new", started_at=T0)
    now = states(facts, 12)
    assert now["acknowledge_within"] == "running"  # 30 minutes at level IV, breached at level I by now
    assert now["holding_statement_within"] == "not_required"
    assert now["regulator_report_within"] == "not_required"
    # steps limited to levels I–II (activate the emergency plan) are not on a level-IV record
    assert "step:activate-emergency-plan" not in now
    assert "step:activate-emergency-plan" in states(EscalationFacts(1, "I", "new", T0), 12)
    board = clock_states(facts, OUTAGE, now=at(12))
    assert CLOCK_STATE_LABELS[board[1].state] == "本级不要求"


def test_done_on_time_is_met_done_after_the_deadline_is_met_late():
    on_time = EscalationFacts(1, "I", "acknowledged", T0, acknowledged_at=at(4))
    late = EscalationFacts(1, "I", "acknowledged", T0, acknowledged_at=at(9))
    assert states(on_time, 30)["acknowledge_within"] == "met"
    board = clock_states(late, OUTAGE, now=at(30))
    ack = next(c for c in board if c.key == "acknowledge_within")
    assert (ack.state, ack.label, ack.overdue_by) == ("met_late", "超时完成", timedelta(minutes=4))
    # the step on the acknowledge clock is done by acknowledging, too
    assert states(late, 30)["step:acknowledge"] == "met_late"


def test_clocks_stop_when_the_record_is_resolved():
    facts = EscalationFacts(1, "I", "resolved", T0, acknowledged_at=at(2), resolved_at=at(20))
    now = states(facts, 500)
    assert now["acknowledge_within"] == "met"
    assert now["step:verify-with-it"] == "breached"  # its 10 minutes ran out before the resolution
    assert now["holding_statement_within"] == "not_required"  # 30 minutes: not yet due when resolved
    assert worst_state(clock_states(EscalationFacts(1, "I", "false_positive", T0), OUTAGE, now=at(500))) == (
        "not_required"
    )


def test_clocks_read_from_the_database_count_from_the_alert_opening(db):
    with db.session() as s:
        add_users(s)
        alert = outage_alert(s, level="II")
        esc, _ = open_escalation(s, alert_id=alert.id, actor=OFFICER)
        esc_id = esc.id
    with db.session() as s:
        esc = s.get(Escalation, esc_id)
        board = {c.key: c for c in escalation_clocks(s, esc, OUTAGE, now=at(11))}
        assert board["acknowledge_within"].state == "breached"  # level II: 10 minutes from the alert
        transition(s, escalation_id=esc_id, to_state="acknowledged", actor=OFFICER, now=at(12))
        mark_step_done(s, escalation_id=esc_id, step_id="verify-with-it", actor=OFFICER, now=at(14))
        draft = draft_statement(
            s, escalation_id=esc_id, playbook=OUTAGE, template_id="public-initial", actor=OFFICER
        )
        submit(s, draft_id=draft.id, actor=OFFICER)
        approve(s, draft_id=draft.id, actor=MANAGER, now=at(50))
    with db.session() as s:
        esc = s.get(Escalation, esc_id)
        board = {c.key: c for c in escalation_clocks(s, esc, OUTAGE, now=at(55))}
        assert board["acknowledge_within"].state == "met_late"
        assert board["step:verify-with-it"].state == "met"  # 15 minutes at level II, done at 14
        assert board["holding_statement_within"].state == "met"  # approved at 50 of 60 minutes
        assert board["regulator_report_within"].state == "running"  # 65 of 120 minutes left
        assert board["regulator_report_within"].remaining == timedelta(minutes=65)
        late = {c.key: c.state for c in escalation_clocks(s, esc, OUTAGE, now=at(100))}
        assert late["regulator_report_within"] == "due_soon"  # 20 of 120 minutes left

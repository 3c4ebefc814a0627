"""Fault injection for issue 15, probes 5 and 6: people acting at the same moment, on every reachable engine.

Each race runs its contenders on separate database connections (threads with sessions of their own, or
separate processes), reads first, and then releases them together with a barrier placed right after the
read: both have seen the same state before either writes, the exact window a compare-and-set must
close. Then what a person would notice is asserted: one contender succeeds, the other is told in
Chinese that someone else handled it (已被他人处理 / 已被他人签发), and the record, its audit rows and
the audit chain agree.

SQLite always; PostgreSQL when YUQING_TEST_PG_URL is set (the ``records`` fixture of tests/store).
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from playbooks import statements, triage, users
from playbooks.authz import Actor
from playbooks.reports import ReportConflict, ReportError, sign_report
from playbooks.reports import regulator as regulator_module
from playbooks.reports.regulator import store_report
from playbooks.reports.wordfile import SIGNATURE_LINE
from store.auditlog import verify_audit
from store.models import Alert, AuditEntry, Escalation, LoginAttempt, PostRecord, Report, StatementDraft, User
from store.records import Records, audit_trail, upsert_alert
from tests.playbooks.escalation_support import OUTAGE
from tests.store.conftest import records  # noqa: F401  (the engine fixture: SQLite, and PostgreSQL when set)

OFFICER = Actor("wang", "officer", "王晓明")
OFFICER_2 = Actor("zhao", "officer", "赵敏")
MANAGER = Actor("li", "manager", "李负责")
MANAGER_2 = Actor("qian", "manager", "钱经理")
T0 = datetime(2026, 10, 1, 2, 0, tzinfo=UTC)
PASSWORD = "race-test-pass-42"


@pytest.fixture
def rec(records):  # noqa: F811
    with records.session() as s:
        for a in (OFFICER, OFFICER_2, MANAGER, MANAGER_2):
            s.add(User(username=a.username, display_name=a.display_name, role=a.role))
    return records


def _post(key: str) -> PostRecord:
    return PostRecord(
        id=f"race-{key}",
        title=f"网传华鼎证券{key}",
        text="网传华鼎证券将被立案调查，客户资金被冻结。",
        source="微博",
        sentiment={"label": "negative"},
        falsity={"label": "rumor", "score": 0.9},
        topic="不实信息",
        level="II",
        flagged=True,
        reasons=["疑似不实信息"],
    )


def _alert(rec: Records, key: str) -> int:
    with rec.session() as s:
        alert, _ = upsert_alert(s, post=_post(key))
        return alert.id


# --------------------------------------------------------------------------- the harness


def hold_after_read(monkeypatch, module: Any, name: str, parties: int = 2) -> threading.Barrier:
    """Make ``module.name`` (the function an action reads its record with) wait, after reading, until
    ``parties`` callers have read: they are then released together into their writes."""
    barrier = threading.Barrier(parties, timeout=20)
    original = getattr(module, name)

    def read_then_wait(*args, **kwargs):
        out = original(*args, **kwargs)
        barrier.wait()
        return out

    monkeypatch.setattr(module, name, read_then_wait)
    return barrier


def together(rec: Records, *actions: Callable[[Any], Any]) -> list[tuple[Any, BaseException | None]]:
    """Run each action in a thread of its own, in a transaction of its own (its own connection):
    [(result, exception)] in the order given."""
    out: list[tuple[Any, BaseException | None]] = [(None, None)] * len(actions)

    def run(i: int, action: Callable[[Any], Any]) -> None:
        try:
            with rec.session() as s:
                out[i] = (action(s), None)
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            out[i] = (None, exc)

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return out


def _one_won(results: list[tuple[Any, BaseException | None]], conflict: type[BaseException]) -> int:
    """The index of the one contender that succeeded; the other failed with ``conflict``, in Chinese."""
    won = [i for i, (_r, exc) in enumerate(results) if exc is None]
    assert len(won) == 1, results
    (lost,) = [exc for _r, exc in results if exc is not None]
    assert isinstance(lost, conflict), repr(lost)
    assert "已被他人" in str(lost), str(lost)
    return won[0]


def _chain_holds(rec: Records) -> None:
    with rec.session() as s:
        report = verify_audit(s)
    assert report.ok, report.first_break


# --------------------------------------------------------------------------- probe 5: alerts


@pytest.mark.parametrize("round_", range(3))
def test_false_positive_against_escalate_one_wins_and_the_record_agrees(rec, monkeypatch, round_):
    alert_id = _alert(rec, f"fp-esc-{round_}")
    hold_after_read(monkeypatch, triage, "_alert")
    results = together(
        rec,
        lambda s: triage.mark_false_positive(s, alert_id, OFFICER, "同名公司，与本司无关"),
        lambda s: triage.escalate(s, alert_id, OFFICER_2),
    )
    won = _one_won(results, triage.AlertConflict)
    with rec.session() as s:
        alert = s.get(Alert, alert_id)
        open_records = s.scalars(
            select(Escalation).where(Escalation.alert_id == alert_id, Escalation.state != "false_positive")
        ).all()
        actions = [e.action for e in audit_trail(s, entity="alert", entity_id=alert_id)]
        opened = [e for e in audit_trail(s, entity="escalation") if e.action == "escalation.opened"]
        exported = list(triage.false_positive_training_rows(s, MANAGER))
    if won == 0:  # 误报 won: dismissed, no record opened, its verdict exported
        assert alert.status == "false_positive" and alert.false_positive_by == "wang"
        assert open_records == [] and opened == []
        assert actions.count("alert.false_positive") == 1
        assert [r["alert_id"] for r in exported] == [alert_id]
    else:  # 升级 won: escalated, one open record, no false-positive verdict anywhere
        assert (
            alert.status == "escalated" and alert.false_positive_by == "" and alert.false_positive_at is None
        )
        assert len(open_records) == 1 and len(opened) == 1
        assert "alert.false_positive" not in actions
        assert exported == []
    assert alert.version == 2  # one change, made once
    _chain_holds(rec)


def test_two_officers_acknowledging_at_once_write_one_acknowledgement(rec, monkeypatch):
    alert_id = _alert(rec, "ack-ack")
    hold_after_read(monkeypatch, triage, "_alert")
    results = together(
        rec,
        lambda s: triage.acknowledge(s, alert_id, OFFICER),
        lambda s: triage.acknowledge(s, alert_id, OFFICER_2),
    )
    assert all(exc is None for _r, exc in results), results
    assert sorted(r for r, _exc in results) == [False, True]  # the second one finds it done
    with rec.session() as s:
        alert = s.get(Alert, alert_id)
        acks = [
            e for e in audit_trail(s, entity="alert", entity_id=alert_id) if e.action == "alert.acknowledged"
        ]
    assert len(acks) == 1 and acks[0].actor == alert.acknowledged_by
    _chain_holds(rec)


def test_a_change_made_after_the_page_was_drawn_is_refused(rec):
    """The desk passes the version it showed: 误报 clicked on a row someone escalated meanwhile."""
    alert_id = _alert(rec, "stale-page")
    with rec.session() as s:
        shown = triage.queue_states(s, ["race-stale-page"])["race-stale-page"].version
    with rec.session() as s:
        triage.escalate(s, alert_id, OFFICER_2, expected_version=shown)
    with pytest.raises(triage.AlertConflict, match="已被他人处理.*已升级"), rec.session() as s:
        triage.mark_false_positive(s, alert_id, OFFICER, "同名公司", expected_version=shown)
    with rec.session() as s:
        alert = s.get(Alert, alert_id)
        assert alert.status == "escalated" and alert.false_positive_reason == ""


# --------------------------------------------------------------------------- probe 5: statements


def _submitted_draft(rec: Records) -> int:
    alert_id = _alert(rec, f"stmt-{id(rec)}")
    with rec.session() as s:
        esc, _ = triage.escalate(s, alert_id, OFFICER)
        row = statements.draft_statement(
            s, escalation_id=esc.id, playbook=OUTAGE, template_id="public-initial", actor=OFFICER
        )
        statements.submit(s, draft_id=row.id, actor=OFFICER)
        return row.id


def _decisions(rec: Records, draft_id: int) -> list[AuditEntry]:
    with rec.session() as s:
        return [
            e
            for e in audit_trail(s, entity="escalation")
            if e.action in ("statement.approved", "statement.rejected")
            and e.detail.get("draft_id") == draft_id
        ]


def test_approve_against_reject_decides_once(rec, monkeypatch):
    draft_id = _submitted_draft(rec)
    hold_after_read(monkeypatch, statements, "_draft")
    results = together(
        rec,
        lambda s: statements.approve(s, draft_id=draft_id, actor=MANAGER),
        lambda s: statements.reject(s, draft_id=draft_id, actor=MANAGER_2, note="措辞需调整"),
    )
    won = _one_won(results, statements.StatementConflict)
    with rec.session() as s:
        row = s.get(StatementDraft, draft_id)
    (decision,) = _decisions(rec, draft_id)
    assert row.status == ("approved" if won == 0 else "rejected")
    assert decision.action == f"statement.{row.status}" and decision.actor == row.reviewed_by
    _chain_holds(rec)


def test_approving_twice_writes_one_approval(rec, monkeypatch):
    draft_id = _submitted_draft(rec)
    hold_after_read(monkeypatch, statements, "_draft")
    results = together(
        rec,
        lambda s: statements.approve(s, draft_id=draft_id, actor=MANAGER),
        lambda s: statements.approve(s, draft_id=draft_id, actor=MANAGER),
    )
    _one_won(results, statements.StatementConflict)
    (decision,) = _decisions(rec, draft_id)
    assert decision.action == "statement.approved" and decision.actor == "li"


# --------------------------------------------------------------------------- probe 5: report sign-off


def _report(rec: Records) -> int:
    with rec.session() as s:
        report, _ = store_report(
            s,
            kind="daily",
            ref="2026-10-01",
            title="舆情日报（2026年10月01日）",
            markdown=f"# 舆情日报（2026年10月01日）\n\n当日无重大舆情。\n\n{SIGNATURE_LINE}\n\n华鼎证券股份有限公司\n",
            firm="华鼎证券股份有限公司",
            actor=MANAGER,
            now=T0,
        )
        return report.id


def _signatures(rec: Records, report_id: int) -> tuple[Report, list[AuditEntry]]:
    with rec.session() as s:
        report = s.get(Report, report_id)
        signed = [
            e
            for e in audit_trail(s)
            if e.action == "report.signed" and e.detail.get("report_id") == report_id
        ]
    return report, signed


def test_two_managers_signing_one_report_sign_it_once(rec, monkeypatch):
    report_id = _report(rec)
    hold_after_read(monkeypatch, regulator_module, "verify")  # read, checked, about to sign
    results = together(
        rec,
        lambda s: sign_report(s, report_id, actor=MANAGER, now=T0),
        lambda s: sign_report(s, report_id, actor=MANAGER_2, now=T0),
    )
    won = _one_won(results, ReportConflict)
    report, signed = _signatures(rec, report_id)
    assert report.signed_by == ("li", "qian")[won]
    assert [e.actor for e in signed] == [report.signed_by]  # the audit names the one signed_by names
    _chain_holds(rec)


def _sign_in_a_process(url: str, report_id: int, username: str, barrier, results) -> None:
    """One `yuqing report sign` as a separate process: its own engine and connection."""
    original = regulator_module.verify

    def read_then_wait(report):
        ok = original(report)
        barrier.wait(timeout=30)
        return ok

    regulator_module.verify = read_then_wait
    rec = Records(url, create=False)
    try:
        with rec.session() as s:
            sign_report(s, report_id, actor=Actor(username, "manager"), now=T0)
        results.put((username, "signed"))
    except ReportError as exc:
        results.put((username, str(exc)))
    finally:
        rec.dispose()


def test_two_processes_signing_at_once_sign_once(rec):
    report_id = _report(rec)
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    procs = [
        ctx.Process(target=_sign_in_a_process, args=(rec.url, report_id, name, barrier, results))
        for name in ("li", "qian")
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    outcome = dict(results.get(timeout=5) for _ in procs)
    winners = [u for u, what in outcome.items() if what == "signed"]
    assert len(winners) == 1, outcome
    (loser,) = set(outcome) - set(winners)
    assert "已被他人签发" in outcome[loser]
    report, signed = _signatures(rec, report_id)
    assert report.signed_by == winners[0] and [e.actor for e in signed] == winners
    _chain_holds(rec)


# --------------------------------------------------------------------------- probe 6: lockout


def test_lockout_holds_against_parallel_guesses(rec):
    """12 threads × 2 wrong passwords at once, then the right one: 5 failures counted, then locked."""
    with rec.session() as s:
        users.create_user(s, username="target", role="manager", password=PASSWORD, by="test")
    policy = users.AuthPolicy()  # 5 failures within 15 minutes lock for 15 minutes
    barrier = threading.Barrier(12, timeout=30)
    refusals: list[str] = []
    lock = threading.Lock()

    def guess() -> None:
        barrier.wait()
        for n in range(2):
            with rec.session() as s:  # as the desk does: the refusal is committed, so it counts
                try:
                    users.authenticate(s, "target", f"wrong-guess-{n}-xx", policy=policy, client="probe")
                except users.LoginRefused as exc:
                    with lock:
                        refusals.append(exc.reason)

    threads = [threading.Thread(target=guess) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(refusals) == 24
    with pytest.raises(users.LoginRefused, match="已暂时锁定"), rec.session() as s:
        users.authenticate(s, "target", PASSWORD, policy=policy, client="probe")
    with rec.session() as s:
        counted = s.scalar(
            select(func.count())
            .select_from(LoginAttempt)
            .where(LoginAttempt.username == "target", LoginAttempt.reason == "bad_password")
        )
        ok = s.scalar(select(func.count()).select_from(LoginAttempt).where(LoginAttempt.ok.is_(True)))
    assert counted == policy.max_failures  # the rest were refused as locked without a password check
    assert ok == 0

"""Holding statements: drafted from a playbook template, signed off by a manager, never used before that."""

from __future__ import annotations

import pytest

from playbooks.authz import PermissionDenied
from playbooks.escalation import open_escalation
from playbooks.statements import (
    StatementError,
    approve,
    draft_statement,
    drafts_for,
    mark_used,
    reject,
    revise,
    submit,
)
from store.records import audit_trail
from tests.playbooks.escalation_support import MANAGER, MANAGER_2, OFFICER, OUTAGE, add_users, outage_alert
from tests.store import conftest as engines

db = engines.records  # the records-engine fixture: SQLite, and PostgreSQL when YUQING_TEST_PG_URL is set

VALUES = {
    "firm": "华鼎证券",
    "event_time": "10月1日9时30分",
    "affected_services": "手机APP登录",
    "hotline": "95xxx",
}


def _esc(db) -> int:
    with db.session() as s:
        add_users(s)
        esc, _ = open_escalation(s, alert_id=outage_alert(s).id, actor=OFFICER)
        return esc.id


def test_a_draft_is_rendered_from_the_template_with_gaps_marked(db):
    esc_id = _esc(db)
    with db.session() as s:
        d = draft_statement(
            s,
            escalation_id=esc_id,
            playbook=OUTAGE,
            template_id="public-initial",
            values=VALUES,
            actor=OFFICER,
        )
        assert d.text.startswith("华鼎证券关注到，10月1日9时30分起部分客户使用手机APP登录时出现异常")
        assert "【待填写：下次更新时间】" in d.text  # {next_update} was not given
        assert (d.status, d.drafted_by) == ("draft", "wang")
        with pytest.raises(StatementError, match="没有对外口径模板"):
            draft_statement(s, escalation_id=esc_id, playbook=OUTAGE, template_id="nope", actor=OFFICER)


def test_a_statement_cannot_be_used_before_approval(db):
    esc_id = _esc(db)
    with db.session() as s:
        d = draft_statement(
            s, escalation_id=esc_id, playbook=OUTAGE, template_id="app-push", values=VALUES, actor=OFFICER
        )
        draft_id = d.id
        with pytest.raises(StatementError, match="未经合规审核批准，不得对外使用"):
            mark_used(s, draft_id=draft_id, actor=OFFICER)
        submit(s, draft_id=draft_id, actor=OFFICER)
        with pytest.raises(StatementError, match="不得对外使用"):
            mark_used(s, draft_id=draft_id, actor=OFFICER)
        # an officer cannot approve; the drafter cannot approve their own
        with pytest.raises(PermissionDenied, match="需要负责人"):
            approve(s, draft_id=draft_id, actor=OFFICER)
    with db.session() as s:
        assert drafts_for(s, esc_id)[0].status == "submitted"
        approve(s, draft_id=draft_id, actor=MANAGER, note="同意发布")
        used = mark_used(s, draft_id=draft_id, actor=OFFICER, channel="APP 推送")
        assert (used.status, used.reviewed_by, used.review_note) == ("used", "li", "同意发布")
    with db.session() as s:
        actions = [
            (e.actor, e.action)
            for e in audit_trail(s, entity="escalation", entity_id=esc_id)
            if e.action.startswith("statement.")
        ]
        assert actions == [
            ("wang", "statement.drafted"),
            ("wang", "statement.submitted"),
            ("li", "statement.approved"),
            ("wang", "statement.used"),
        ]


def test_a_rejection_needs_a_reason_and_sends_the_draft_back_for_revision(db):
    esc_id = _esc(db)
    with db.session() as s:
        d = draft_statement(
            s,
            escalation_id=esc_id,
            playbook=OUTAGE,
            template_id="public-initial",
            values=VALUES,
            actor=MANAGER,
        )
        submit(s, draft_id=d.id, actor=MANAGER)
        with pytest.raises(StatementError, match="不能审批自己起草的口径"):
            approve(s, draft_id=d.id, actor=MANAGER)
        with pytest.raises(StatementError, match="请写明原因"):
            reject(s, draft_id=d.id, actor=MANAGER_2, note="  ")
        reject(s, draft_id=d.id, actor=MANAGER_2, note="不得承诺恢复时间")
        assert d.status == "rejected"
        with pytest.raises(StatementError, match="不得对外使用"):
            mark_used(s, draft_id=d.id, actor=MANAGER)
        revise(s, draft_id=d.id, text="华鼎证券关注到部分客户登录异常，正在处理。", actor=OFFICER)
        assert (d.status, d.drafted_by) == ("draft", "wang")
        submit(s, draft_id=d.id, actor=OFFICER)
        approve(s, draft_id=d.id, actor=MANAGER)
        assert d.status == "approved"

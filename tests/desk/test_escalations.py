"""处置记录: the list, state changes, clocks, the step checklist, holding statements and roles."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from playbooks.authz import Actor
from playbooks.escalation import open_escalation, transition
from playbooks.statements import draft_statement, submit
from store.models import AuditEntry, Escalation, EscalationStep, StatementDraft, utcnow
from store.records import get_alert_for_post
from tests.desk.conftest import OFFICER, frame, make_user, texts

OPENER = Actor("li_zhiban", "officer", "李值班")


def _open(desk_store, post_key: str, actor: Actor = OPENER, *, alert_minutes_ago: float | None = None) -> int:
    ctx = desk_store.context()
    try:
        with ctx.records.session() as s:
            alert = get_alert_for_post(s, post_id=desk_store.posts[post_key].id)
            if alert_minutes_ago is not None:
                alert.created_at = utcnow() - timedelta(minutes=alert_minutes_ago)
            esc, _ = open_escalation(s, alert_id=alert.id, actor=actor)
            return esc.id
    finally:
        ctx.close()


def _record(desk_store, esc_id: int):
    ctx = desk_store.context()
    try:
        with ctx.records.session() as s:
            esc = s.get(Escalation, esc_id)
            audit = [
                (a.actor, a.action, a.detail)
                for a in s.scalars(select(AuditEntry).where(AuditEntry.entity == "escalation"))
            ]
            return esc.state, esc.version, audit
    finally:
        ctx.close()


@pytest.fixture
def escalated(desk_store) -> int:
    return _open(desk_store, "outage")


def _escalations_page(app, officer=OFFICER, role="officer"):
    at = app(officer=officer, role=role)
    return at.switch_page("views/escalations.py").run()


def _markdown(at) -> str:
    return "\n".join(m.value for m in at.markdown)


def test_lists_open_escalations(desk_store, escalated, app):
    at = _escalations_page(app)
    assert not at.exception
    assert at.title[0].value == "处置记录"
    table = frame(at, "编号")
    assert list(table["编号"]) == [f"#{escalated}"]
    row = table.iloc[0]
    assert row["状态"] == "新建"
    assert row["级别"] == "I 级"
    assert row["预案"] == "交易系统故障舆情应对预案"
    assert row["开启人"] == "li_zhiban"
    assert row["预警"] == desk_store.posts["outage"].title
    assert row["时限"] == "进行中"  # the alert was just opened: its 5-minute acknowledge clock runs


def test_transition_button_moves_it_to_acknowledged_with_audit(desk_store, escalated, app):
    at = _escalations_page(app)
    labels = [b.label for b in at.button if b.key and b.key.startswith("desk.esc.to.")]
    assert labels == ["转为「已确认」", "转为「已升级」", "转为「误报」"]  # allowed_next('new')
    at.text_input(key="desk.esc.note").input("已电话联系信息技术部")
    at.button(key="desk.esc.to.acknowledged").click().run()
    assert not at.exception
    state, _, audit = _record(desk_store, escalated)
    assert state == "acknowledged"
    moves = [a for a in audit if a[1] == "escalation.state"]
    assert moves == [
        (
            OFFICER,
            "escalation.state",
            {"before": "new", "after": "acknowledged", "note": "已电话联系信息技术部"},
        )
    ]
    assert any("已确认" in s.value for s in at.success)
    assert "**当前状态：已确认**" in [m.value for m in at.markdown]
    assert "状态变更" in list(frame(at, "操作人")["操作"])


def test_stale_record_is_refused_with_a_chinese_message(desk_store, escalated, app):
    at = _escalations_page(app)
    # someone else acknowledges it while this page is on screen
    ctx = desk_store.context()
    with ctx.records.session() as s:
        transition(s, escalation_id=escalated, to_state="acknowledged", actor=Actor("other", "officer"))
    ctx.close()
    at.button(key="desk.esc.to.escalated").click().run()
    assert not at.exception
    assert any("已被他人修改" in w.value for w in at.warning)
    state, _, audit = _record(desk_store, escalated)
    assert state == "acknowledged"
    assert [a[0] for a in audit if a[1] == "escalation.state"] == ["other"]


def test_clocks_show_breached_running_and_not_required(desk_store, app):
    # a level-IV complaint whose alert opened 65 minutes ago: acknowledge (60 minutes) ran out;
    # level IV asks for no holding statement
    esc_id = _open(desk_store, "complaint", alert_minutes_ago=65)
    at = _escalations_page(app)
    at.selectbox(key="desk.esc.select").set_value(esc_id).run()
    assert not at.exception
    md = _markdown(at)
    assert ":red-badge[已超时]" in md  # the acknowledge clock
    assert "已超时 5 分钟" in md
    assert "**确认预警**" in md
    assert ":gray-badge[本级不要求]" in md


def test_a_fresh_record_shows_its_clock_running_and_the_badge_turns_red_once_it_runs_out(desk_store, app):
    esc_id = _open(desk_store, "rumor", alert_minutes_ago=1)  # level II false-information
    at = _escalations_page(app)
    at.selectbox(key="desk.esc.select").set_value(esc_id).run()
    assert not at.exception
    md = _markdown(at)
    assert ":blue-badge[进行中]" in md and ":red-badge[已超时]" not in md
    assert frame(at, "编号").set_index("编号").loc[f"#{esc_id}", "时限"] == "进行中"


def test_a_step_is_ticked_done_with_who_and_when(desk_store, escalated, app):
    at = _escalations_page(app)
    at.button(key="desk.esc.step.verify-with-it").click().run()
    assert not at.exception
    assert any("已标记完成" in s.value for s in at.success)
    ctx = desk_store.context()
    with ctx.records.session() as s:
        rows = [(r.step_id, r.done_by) for r in s.scalars(select(EscalationStep))]
    ctx.close()
    assert rows == [("verify-with-it", OFFICER)]
    assert "步骤完成" in list(frame(at, "操作人")["操作"])
    assert not [b for b in at.button if b.key == "desk.esc.step.verify-with-it"]  # no second click


def test_an_officer_cannot_close_and_sees_no_approve_button(desk_store, escalated, app):
    ctx = desk_store.context()
    with ctx.records.session() as s:
        for to in ("acknowledged", "resolved"):
            transition(s, escalation_id=escalated, to_state=to, actor=OPENER)
    ctx.close()
    at = _escalations_page(app)
    assert at.button(key="desk.esc.to.closed").disabled
    # a statement waiting for review: the officer sees no 批准 button
    ctx = desk_store.context()
    with ctx.records.session() as s:
        transition(s, escalation_id=escalated, to_state="responding", actor=OPENER)
        playbook = ctx.playbook("trading-system-outage")
        d = draft_statement(
            s, escalation_id=escalated, playbook=playbook, template_id="public-initial", actor=OPENER
        )
        submit(s, draft_id=d.id, actor=OPENER)
    ctx.close()
    at = _escalations_page(app)
    assert not at.exception
    assert not [b for b in at.button if b.label == "批准"]
    assert any("等待负责人合规审核" in c.value for c in at.caption)


def test_holding_statement_draft_review_and_approval_by_a_manager(desk_store, escalated, app):
    at = _escalations_page(app)
    at.selectbox(key="desk.esc.stmt.template").set_value("public-initial").run()
    at.text_input(key="desk.esc.stmt.value.event_time").input("今日9时30分")
    at.text_input(key="desk.esc.stmt.value.affected_services").input("手机APP")
    at.button(key="desk.esc.stmt.draft").click().run()
    assert not at.exception
    ctx = desk_store.context()
    with ctx.records.session() as s:
        draft = s.scalars(select(StatementDraft)).one()
        draft_id, text = draft.id, draft.text
    ctx.close()
    assert text.startswith("华鼎证券关注到，今日9时30分起部分客户使用手机APP时出现异常")
    at.button(key=f"desk.esc.stmt.{draft_id}.submit").click().run()
    assert any("已提交合规审核" in s.value for s in at.success)

    boss = _escalations_page(app, officer="li_jing", role="manager")
    boss.text_input(key=f"desk.esc.stmt.{draft_id}.note").input("同意")
    boss.button(key=f"desk.esc.stmt.{draft_id}.approve").click().run()
    assert not boss.exception
    assert any("口径已批准" in s.value for s in boss.success)
    ctx = desk_store.context()
    with ctx.records.session() as s:
        d = s.get(StatementDraft, draft_id)
        assert (d.status, d.reviewed_by, d.review_note) == ("approved", "li_jing", "同意")
    ctx.close()
    ops = list(frame(boss, "操作人")["操作"])
    assert [o for o in ops if "口径" in o or "审核" in o] == ["起草口径", "提交合规审核", "合规审核通过"]


def test_assign_offers_active_users(desk_store, escalated, app):
    make_user(desk_store, username="zhao_min", role="officer", display_name="赵敏")
    at = _escalations_page(app)
    at.selectbox(key="desk.esc.assign_to").set_value("zhao_min").run()
    at.button(key="desk.esc.assign").click().run()
    assert not at.exception
    assert any("已转交给 zhao_min" in s.value for s in at.success)
    ctx = desk_store.context()
    with ctx.records.session() as s:
        assert s.get(Escalation, escalated).owner == "zhao_min"
    ctx.close()


def test_state_filter(desk_store, escalated, app):
    at = _escalations_page(app)
    at.multiselect(key="desk.esc.states").set_value(["closed"]).run()
    assert not at.exception
    assert any("没有符合条件" in i.value for i in at.info)


def test_item_page_button_leads_here_with_the_record_selected(desk_store, app):
    first = _open(desk_store, "rumor")
    at = app()
    at.query_params["post"] = desk_store.posts["outage"].id
    at.switch_page("views/item.py").run()
    at.button(key="desk.item.escalate").click().run()
    at.button(key="desk.item.goto_escalation").click().run()
    assert not at.exception
    assert at.title[0].value == "处置记录"
    chosen = at.selectbox(key="desk.esc.select").value
    assert chosen != first
    assert desk_store.posts["outage"].title in texts(at)


def test_no_escalations_yet(desk_store, app):
    at = _escalations_page(app)
    assert not at.exception
    assert any("没有符合条件" in i.value or "还没有" in i.value for i in at.info)


def test_a_manager_demoted_while_the_page_is_open_is_refused_by_the_domain(desk_store, escalated, app):
    ctx = desk_store.context()
    with ctx.records.session() as s:
        playbook = ctx.playbook("trading-system-outage")
        d = draft_statement(
            s, escalation_id=escalated, playbook=playbook, template_id="app-push", actor=OPENER
        )
        submit(s, draft_id=d.id, actor=OPENER)
        draft_id = d.id
    ctx.close()
    boss = _escalations_page(app, officer="li_jing", role="manager")
    assert boss.button(key=f"desk.esc.stmt.{draft_id}.approve").label == "批准"
    make_user(desk_store, username="li_jing", role="officer")  # an admin changes the role meanwhile
    boss.button(key=f"desk.esc.stmt.{draft_id}.approve").click().run()
    assert not boss.exception
    assert any("无权执行此操作" in e.value and "负责人" in e.value for e in boss.error)
    ctx = desk_store.context()
    with ctx.records.session() as s:
        assert s.get(StatementDraft, draft_id).status == "submitted"
    ctx.close()


def test_breaches_and_the_chain_tier_are_shown(desk_store, app):
    from playbooks.chain import check_clocks

    esc_id = _open(desk_store, "rumor", alert_minutes_ago=12)  # level II: acknowledge within 10 minutes
    make_user(desk_store, username="li_jing", role="manager")
    ctx = desk_store.context()
    with ctx.records.session() as s:
        events = check_clocks(
            s,
            playbooks=ctx.playbooks,
            chain=["owner", "role:manager"],
            now=utcnow(),
            desk_base_url="http://desk",
        )
    ctx.close()
    assert [e.escalation_id for e in events] == [esc_id]
    at = _escalations_page(app)
    at.selectbox(key="desk.esc.select").set_value(esc_id).run()
    assert not at.exception
    table = frame(at, "升级至")
    assert list(table["时限"]) == ["确认预警"]
    assert list(table["升级至"]) == ["第 1 级"]
    assert "li_jing" in table["已通知"].iloc[0]
    assert "**升级链**：第 1 级（全体负责人）" in _markdown(at)
    assert "时限超时升级" in list(frame(at, "操作人")["操作"])

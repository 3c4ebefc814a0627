"""处置记录: the list of escalation records and moving one through its states."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from playbooks.escalation import open_escalation, transition
from store.models import AuditEntry, Escalation
from store.records import get_alert_for_post
from tests.desk.conftest import OFFICER, frame, texts


def _open(desk_store, post_key: str, actor: str = "李值班") -> int:
    ctx = desk_store.context()
    try:
        with ctx.records.session() as s:
            alert = get_alert_for_post(s, post_id=desk_store.posts[post_key].id)
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


def _escalations_page(app, officer=OFFICER):
    at = app(officer=officer)
    return at.switch_page("views/escalations.py").run()


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
    assert row["开启人"] == "李值班"
    assert row["预警"] == desk_store.posts["outage"].title


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
        transition(s, escalation_id=escalated, to_state="acknowledged", actor="另一位值班员")
    ctx.close()
    at.button(key="desk.esc.to.escalated").click().run()
    assert not at.exception
    assert any("已被他人修改" in w.value for w in at.warning)
    state, _, audit = _record(desk_store, escalated)
    assert state == "acknowledged"
    assert [a[0] for a in audit if a[1] == "escalation.state"] == ["另一位值班员"]


def test_buttons_need_an_officer_name(desk_store, escalated, app):
    at = _escalations_page(app, officer=None)
    assert at.button(key="desk.esc.to.acknowledged").disabled


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

"""预警详情: the item page shows the post, its analysis and playbook, and opens one escalation record."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from playbooks.matcher import steps_with_deadlines
from store.models import AuditEntry, Escalation
from tests.desk.conftest import HOSTILE_TEXT, HOSTILE_TITLE, OFFICER, frame, open_item, texts


def _escalations(desk_store):
    ctx = desk_store.context()
    try:
        with ctx.records.session() as s:
            escs = [(e.id, e.state, e.opened_by, e.playbook_id) for e in s.scalars(select(Escalation))]
            audit = [(a.actor, a.action, a.entity_id) for a in s.scalars(select(AuditEntry))]
    finally:
        ctx.close()
    return escs, audit


def test_item_shows_post_reasons_and_playbook_steps(desk_store, app):
    at = open_item(app(), "post-outage")
    assert not at.exception
    assert at.title[0].value == "预警详情"
    post = desk_store.posts["outage"]
    shown = texts(at)
    assert post.text in shown
    for reason in post.reasons:
        assert f"• {reason}" in shown
    markdown = " ".join(m.value for m in at.markdown)
    assert "负面" in markdown and "交易系统故障" in markdown and "I 级" in markdown
    # the matched playbook, why it matched, and its steps for level I
    ctx = desk_store.context()
    match = ctx.match_playbook(post)
    ctx.close()
    assert match.playbook.name in markdown
    assert "主题匹配" in markdown
    expected = [s["title"] for s in steps_with_deadlines(match.playbook, "I", datetime.now(UTC))]
    steps = frame(at, "步骤")
    assert list(steps["步骤"]) == expected
    assert steps["截止（北京）"].str.match(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}").all()
    # holding statements carry the compliance warning
    assert match.playbook.holding_statements
    assert all("需合规审核后使用" in e.label for e in at.main.expander)  # the sidebar has 修改密码
    # a safe link to the source
    assert [b.proto.url for b in at.get("link_button")] == ["https://example.com/outage"]


def test_escalate_creates_one_record_with_audit_naming_the_officer(desk_store, app):
    at = open_item(app(), "post-outage")
    at.button(key="desk.item.escalate").click().run()
    assert not at.exception
    escs, audit = _escalations(desk_store)
    assert len(escs) == 1
    esc_id, state, opened_by, playbook_id = escs[0]
    assert (state, opened_by) == ("new", OFFICER)
    assert playbook_id == "trading-system-outage"
    assert (OFFICER, "escalation.opened", str(esc_id)) in audit
    assert any(f"#{esc_id}" in s.value and "新建" in s.value for s in at.success)
    # the audit trail on the page names the officer
    trail = frame(at, "操作人")
    assert OFFICER in list(trail["操作人"])
    assert "开启处置记录" in list(trail["操作"])

    # a second click does not open a second record
    at.button(key="desk.item.escalate").click().run()
    assert not at.exception
    escs_after, audit_after = _escalations(desk_store)
    assert len(escs_after) == 1
    assert sum(1 for a in audit_after if a[1] == "escalation.opened") == 1
    assert any("未重复创建" in i.value for i in at.info)


def test_signed_out_there_is_no_escalate_button(desk_store, app):
    at = app(officer=None)  # signed out: only the login form is registered, the item page is not
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        open_item(at, "post-outage")
    assert not [b for b in at.button if b.key == "desk.item.escalate"]
    assert [b.label for b in at.button] == ["登录"]
    escs, _ = _escalations(desk_store)
    assert escs == []


def test_the_open_record_shows_its_clock_state(desk_store, app):
    at = open_item(app(), "post-outage")
    at.button(key="desk.item.escalate").click().run()
    assert not at.exception
    # a level-I record whose alert was just opened: the 5-minute acknowledge clock is running
    assert any("处置时限：:blue-badge[进行中]" in m.value for m in at.markdown)


def test_hostile_post_is_shown_literally_and_its_link_is_not_a_link(desk_store, app):
    at = open_item(app(), "post-hostile")
    assert not at.exception
    assert HOSTILE_TEXT in texts(at)
    assert not at.main.html  # the sidebar has only the session-cookie script
    assert not at.get("link_button")  # javascript: is never a link
    assert "javascript:alert(1)" in texts(at)  # shown as plain text instead
    for md in [*at.markdown, *at.caption, *at.subheader]:
        assert "<script>" not in md.value
        assert "**加粗标题**" not in md.value
    # the title is escaped Markdown: every special character backslashed
    assert any("\\<script\\>" in h.value for h in at.subheader)
    assert HOSTILE_TITLE not in [h.value for h in at.subheader]


def test_unknown_id_shows_a_chinese_message(desk_store, app):
    at = open_item(app(), "no-such-post")
    assert not at.exception
    assert any("未找到" in w.value for w in at.warning)
    assert not at.dataframe


def test_hostile_id_in_the_url_is_harmless(desk_store, app):
    at = open_item(app(), '<script>alert(1)</script>"' + "x" * 300)
    assert not at.exception
    assert any("未找到" in w.value and "<script>" not in w.value for w in at.warning)


def test_no_id_asks_to_pick_one(desk_store, app):
    at = app()
    at.switch_page("views/item.py").run()
    assert not at.exception
    assert any("尚未选择预警" in i.value for i in at.info)


def test_the_regulator_deadline_on_the_item_is_the_level_clock(desk_store, app):
    """交易系统故障 at level I: 报告监管 within 1 hour, and the box below says the same (it said 2 hours)."""
    at = open_item(app(), "post-outage")
    assert not at.exception
    clocks = " ".join(m.value for m in at.markdown if "报告监管" in m.value)
    assert "报告监管：1 小时内" in clocks
    (box,) = [w.value for w in at.warning if "本级别须向" in w.value]
    assert "预警后 1 小时内" in box and "2 小时" not in box

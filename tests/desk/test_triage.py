"""预警队列: what a duty officer sees and can do on the triage queue."""

from __future__ import annotations

from dataclasses import replace

from playbooks import triage
from playbooks.authz import Actor
from store.models import Alert
from store.records import audit_trail, get_alert_for_post
from tests.desk.conftest import HOSTILE_TITLE, make_post, make_user, texts

NEW_BADGE = ":green-badge[新]"


def _titles_in_order(at, posts):
    shown = texts(at)
    return [k for t in shown for k, p in posts.items() if t == p.title]


def test_queue_lists_flagged_posts_level_one_first(desk_store, app):
    at = app()
    assert not at.exception
    assert at.title[0].value == "预警队列"
    order = _titles_in_order(at, desk_store.posts)
    assert order == ["outage", "rumor", "hostile", "complaint"]  # I, II, III, IV; newest first within a level
    # the unflagged post and the drill are not in the queue
    assert "praise" not in order and "drill" not in order
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["I 级 · 特别重大"] == "1"
    assert metrics["预警合计"] == "4"
    body = " ".join(c.value for c in at.caption)
    assert "涉及交易系统故障" in body  # reasons, in Chinese
    assert "待处理" in body  # alert status


def test_level_filter_narrows_the_list(desk_store, app):
    at = app()
    at.multiselect(key="desk.triage.levels").set_value(["II"]).run()
    assert not at.exception
    assert _titles_in_order(at, desk_store.posts) == ["rumor"]


def test_source_and_sentiment_filters(desk_store, app):
    at = app()
    assert set(at.multiselect(key="desk.triage.sources").options) == {"微博", "股吧", "雪球", "黑猫投诉"}
    at.multiselect(key="desk.triage.sources").set_value(["黑猫投诉"]).run()
    assert _titles_in_order(at, desk_store.posts) == ["complaint"]
    at.multiselect(key="desk.triage.sources").set_value([]).run()
    at.multiselect(key="desk.triage.sentiments").set_value(["neutral"]).run()
    assert _titles_in_order(at, desk_store.posts) == ["hostile"]


def test_search_finds_a_post_by_a_word(desk_store, app):
    at = app()
    at.text_input(key="desk.triage.query").input("立案").run()
    assert not at.exception
    assert _titles_in_order(at, desk_store.posts) == ["rumor"]


def test_search_with_no_match_says_so(desk_store, app):
    at = app()
    at.text_input(key="desk.triage.query").input("完全不相干的词语").run()
    assert not at.exception
    assert any("没有符合" in s.value for s in at.success)


HOSTILE_QUERIES = [
    '"',
    '""华鼎"',
    "AND OR NOT",
    "NEAR(华鼎 证券)",
    "华鼎*",
    "^证券",
    "title:华鼎",
    "<script>alert(1)</script>",
    "'; DROP TABLE posts; --",
    "[link](javascript:alert(1))",
    "**bold** {} () \\",
    "\x00\x01",
    "华鼎" * 250,
    "a" * 500,
]


def test_hostile_queries_do_not_raise(desk_store, app):
    at = app()
    for query in HOSTILE_QUERIES:
        at.text_input(key="desk.triage.query").input(query).run()
        assert not at.exception, query
        assert at.title[0].value == "预警队列"


def test_overlong_query_shows_the_index_note(desk_store, app):
    at = app()
    at.text_input(key="desk.triage.query").input("华鼎" * 250).run()
    assert not at.exception
    assert any("过长" in i.value for i in at.info)


def test_hostile_post_text_is_shown_literally(desk_store, app):
    at = app()
    assert HOSTILE_TITLE in texts(at)  # st.text: no Markdown, no HTML
    # the only html elements are the desk's own: the session cookie, the tab title, the phone layout
    assert all(
        h.proto.body.startswith(("<script>document.cookie", "<script>document.title", "<style>"))
        for h in at.html
    )
    assert not any("alert(1)" in h.proto.body for h in at.html)
    for md in [*at.markdown, *at.caption]:
        assert "<script>" not in md.value
        assert "**加粗标题**" not in md.value


def test_open_item_goes_to_the_item_page(desk_store, app):
    at = app()
    at.button(key="desk.triage.open.post-outage").click().run()
    assert not at.exception
    assert at.title[0].value == "预警详情"
    assert at.query_params.get("post") == "post-outage"


def test_pagination(desk_store, app):
    desk_store.add(
        [
            make_post(
                f"bulk{i:02d}",
                title=f"华鼎证券批量帖子{i:02d}",
                text="华鼎证券客户投诉",
                level="IV",
                source="股吧",
                minutes_ago=200 + i,
            )
            for i in range(20)
        ]
    )
    at = app()
    assert any("第 1 / 2 页" in c.value for c in at.caption)
    at.button(key="desk.triage.next").click().run()
    assert not at.exception
    assert any("第 2 / 2 页" in c.value for c in at.caption)
    shown = [t for t in texts(at) if t.startswith("华鼎证券批量帖子")]
    assert len(shown) == 4  # 24 flagged posts, 20 per page
    # changing a filter starts again from page 1
    at.multiselect(key="desk.triage.levels").set_value(["IV"]).run()
    assert any("第 1 / 2 页" in c.value for c in at.caption)


def test_drill_toggle_shows_only_drills(desk_store, app):
    at = app()
    at.toggle(key="desk.triage.drill").set_value(True).run()
    assert not at.exception
    assert _titles_in_order(at, desk_store.posts) == ["drill"]


# ----------------------------------------------------------------------------- triage actions


def _new_badges(at) -> int:
    return sum(m.value == NEW_BADGE for m in at.markdown)


def _metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def _alert(desk_store, post_id: str) -> Alert:
    ctx = desk_store.context()
    try:
        with ctx.records.session() as s:
            return get_alert_for_post(s, post_id=post_id)
    finally:
        ctx.close()


def _trail(desk_store, post_id: str, action: str):
    alert = _alert(desk_store, post_id)
    ctx = desk_store.context()
    try:
        with ctx.records.session() as s:
            return [e for e in audit_trail(s, entity="alert", entity_id=alert.id) if e.action == action]
    finally:
        ctx.close()


def test_new_alerts_are_marked_until_all_read(desk_store, app):
    at = app()
    assert not at.exception
    assert _new_badges(at) == 4  # never looked: every alert in the queue is new to this person
    assert _metric(at, "新到达") == "4"
    at.button(key="desk.triage.seen").click().run()
    assert not at.exception
    assert _new_badges(at) == 0
    assert _metric(at, "新到达") == "0"
    assert at.button(key="desk.triage.seen").disabled
    # an alert that arrives later is new again, and only it
    desk_store.add(
        [
            make_post(
                "later",
                title="华鼎证券营业部被投诉",
                text="华鼎证券某营业部被客户集中投诉。",
                level="III",
                source="微博",
            )
        ]
    )
    at.run()
    assert _new_badges(at) == 1 and _metric(at, "新到达") == "1"
    # 全部已读 marks only what was on screen: an alert arriving after the list was drawn stays new
    desk_store.add(
        [
            make_post(
                "racing",
                title="华鼎证券客服失联",
                text="华鼎证券客服电话一直打不通。",
                level="IV",
                source="股吧",
            )
        ]
    )
    at.button(key="desk.triage.seen").click().run()
    assert _new_badges(at) == 1 and _metric(at, "新到达") == "1"


def test_new_marks_are_per_person(desk_store, app):
    at = app()
    at.button(key="desk.triage.seen").click().run()
    assert _new_badges(at) == 0
    other = app(officer="赵敏")
    assert _new_badges(other) == 4


def test_posts_of_one_event_form_one_group(desk_store, app):
    base = dict(text="华鼎证券两融业务被暂停的消息在多个平台流传。", source="微博", topic="不实信息")
    desk_store.add(
        [
            replace(
                make_post("evt1", title="华鼎证券两融业务暂停？", level="III", minutes_ago=90, **base),
                event_id="e-1",
            ),
            replace(
                make_post("evt2", title="传华鼎证券暂停融资融券", level="II", minutes_ago=15, **base),
                event_id="e-1",
            ),
            replace(
                make_post("evt3", title="华鼎证券回应两融传闻", level="IV", minutes_ago=3, **base),
                event_id="e-1",
            ),
        ]
    )
    at = app()
    assert not at.exception
    headers = [c.value for c in at.caption if c.value.startswith("同一事件")]
    assert len(headers) == 1
    assert "共 3 条" in headers[0] and "最高 II 级" in headers[0]
    assert [e.label for e in at.expander if e.label.startswith("同一事件")] == ["同一事件的其余 2 条"]
    assert "共 7 条预警，5 组" in " ".join(c.value for c in at.caption)
    # the most severe post leads the group; the other two are drawn once the group is opened
    shown = texts(at)
    assert "传华鼎证券暂停融资融券" in shown and "华鼎证券两融业务暂停？" not in shown
    at.session_state["desk.triage.more.post-evt2"] = True  # what opening the expander does
    at.run()
    shown = texts(at)
    lead = shown.index("传华鼎证券暂停融资融券")
    assert shown.index("华鼎证券两融业务暂停？") > lead and shown.index("华鼎证券回应两融传闻") > lead
    # each post of the group keeps its own actions
    assert at.button(key="desk.triage.ack.post-evt3").label == "确认"


def test_acknowledge_changes_the_row_and_the_audit_trail(desk_store, app):
    at = app()
    assert at.button(key="desk.triage.ack.post-outage").label == "确认"
    at.button(key="desk.triage.ack.post-outage").click().run()
    assert not at.exception
    assert any("已确认 1 条预警" in s.value for s in at.success)
    assert any(c.value.startswith("已确认：王晓明") for c in at.caption)
    # done: the button stays where it was, disabled (nothing moves under the pointer)
    done = at.button(key="desk.triage.ack.post-outage")
    assert done.label == "已确认" and done.disabled
    (entry,) = _trail(desk_store, "post-outage", "alert.acknowledged")
    assert entry.actor == "王晓明"
    assert _alert(desk_store, "post-outage").acknowledged_by == "王晓明"


def test_assign_to_a_user_shows_who_has_it(desk_store, app):
    make_user(desk_store, username="zhao", display_name="赵敏 <b>组长</b>")
    at = app()
    assert not [s for s in at.selectbox if s.key == "desk.triage.assign_to.post-rumor"]  # form closed
    at.button(key="desk.triage.assign_form.post-rumor").click().run()
    at.selectbox(key="desk.triage.assign_to.post-rumor").set_value("zhao")
    at.button(key="desk.triage.assign.post-rumor").click().run()
    assert not at.exception
    handling = next(c.value for c in at.caption if "指派：赵敏" in c.value)
    assert "<b>" not in handling  # a display name is shown as text, not markup
    assert any("已指派给 赵敏" in s.value and "<b>" not in s.value for s in at.success)
    (entry,) = _trail(desk_store, "post-rumor", "alert.assigned")
    assert (entry.actor, entry.detail["after"]) == ("王晓明", "zhao")


def test_a_row_someone_else_handled_since_it_was_drawn_says_so(desk_store, app):
    """误报 on a row another officer escalated after the page was drawn: refused, 已被他人处理, nothing written."""
    at = app()
    at.button(key="desk.triage.fp_form.post-complaint").click().run()
    at.text_input(key="desk.triage.fp_reason.post-complaint").input("同名公司，与本司无关")
    ctx = desk_store.context()
    try:
        with ctx.records.session() as s:  # meanwhile, on another desk
            triage.escalate(s, _alert(desk_store, "post-complaint").id, Actor("zhao", "officer", "赵敏"))
    finally:
        ctx.close()
    at.button(key="desk.triage.fp.post-complaint").click().run()
    assert not at.exception
    assert any("已被他人处理" in w.value and "已升级" in w.value for w in at.warning)
    alert = _alert(desk_store, "post-complaint")
    assert alert.status == "escalated" and alert.false_positive_reason == ""
    assert _trail(desk_store, "post-complaint", "alert.false_positive") == []


def test_false_positive_leaves_the_queue_and_is_kept(desk_store, app):
    at = app()
    at.button(key="desk.triage.fp_form.post-complaint").click().run()
    at.button(key="desk.triage.fp.post-complaint").click().run()  # no reason: refused
    assert any("误报原因" in w.value for w in at.warning)
    assert _alert(desk_store, "post-complaint").status == "open"
    at.text_input(key="desk.triage.fp_reason.post-complaint").input("<script>x</script> **广告**")
    at.button(key="desk.triage.fp.post-complaint").click().run()
    assert not at.exception
    assert "华鼎金管家理财赎回慢" not in texts(at)  # gone from 待处理
    assert _metric(at, "预警合计") == "3"
    at.button_group(key="desk.triage.view").set_value("false_positive").run()
    assert "华鼎金管家理财赎回慢" in texts(at)  # kept, under 误报
    reason = next(c.value for c in at.caption if c.value.startswith("误报："))
    assert "<script>" not in reason and "**广告**" not in reason  # escaped, shown literally
    assert not [
        b for b in at.button if b.key == "desk.triage.reopen.post-complaint"
    ]  # officers cannot reopen
    (entry,) = _trail(desk_store, "post-complaint", "alert.false_positive")
    assert entry.actor == "王晓明" and entry.detail["reason"] == "<script>x</script> **广告**"


def test_manager_reopens_a_false_positive(desk_store, app):
    at = app()
    at.button(key="desk.triage.fp_form.post-complaint").click().run()
    at.text_input(key="desk.triage.fp_reason.post-complaint").input("同名产品")
    at.button(key="desk.triage.fp.post-complaint").click().run()
    mgr = app(officer="李负责", role="manager")
    mgr.button_group(key="desk.triage.view").set_value("false_positive").run()
    mgr.button(key="desk.triage.reopen.post-complaint").click().run()
    assert not mgr.exception
    assert _alert(desk_store, "post-complaint").status == "open"
    assert [e.actor for e in _trail(desk_store, "post-complaint", "alert.reopened")] == ["李负责"]


def test_escalate_opens_the_record_and_links_to_it(desk_store, app):
    at = app()
    at.button(key="desk.triage.escalate.post-outage").click().run()
    assert not at.exception
    assert any("已开启处置记录" in s.value for s in at.success)
    link = at.button(key="desk.triage.goto.post-outage")
    assert link.label.startswith("记录 #")  # in the 升级 button's place
    assert not [b for b in at.button if b.key == "desk.triage.escalate.post-outage"]
    link.click().run()
    assert not at.exception
    assert at.title[0].value == "处置记录"


def test_officer_sees_no_export_button_and_manager_does(desk_store, app):
    at = app()
    assert not at.get("download_button")
    mgr = app(officer="李负责", role="manager")
    (button,) = mgr.get("download_button")
    assert "导出误报训练数据" in button.proto.label


def test_queue_actions_need_sign_in(desk_store, app):
    at = app(officer=None)
    assert not [b for b in at.button if str(b.key).startswith("desk.triage.")]


def test_pause_auto_refresh_says_so(desk_store, app):
    at = app()
    assert any("秒自动刷新" in c.value for c in at.caption)
    at.toggle(key="desk.triage.live").set_value(False).run()
    assert not at.exception
    assert any("自动刷新已暂停" in c.value for c in at.caption)


def test_a_refresh_announces_what_arrived(desk_store, app):
    at = app()
    assert not at.toast
    desk_store.add(
        [
            make_post(
                "fresh", title="华鼎证券网点排长队", text="华鼎证券网点排长队。", level="IV", source="微博"
            )
        ]
    )
    at.run()  # what the fragment's timer does
    notices = [e.value for e in at.main.warning if "新到" in e.value]
    assert len(notices) == 1 and "新到 1 条预警" in notices[0]  # a notice that stays, not a toast
    at.run()
    assert [e.value for e in at.main.warning if "新到" in e.value] == notices  # counted once, still shown
    at.multiselect(key="desk.triage.levels").set_value(["IV"]).run()
    assert [
        e.value for e in at.main.warning if "新到" in e.value
    ] == notices  # another filter is not an arrival

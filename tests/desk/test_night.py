"""Issue 17 on the desk (AppTest): what a duty officer and a manager see at 2 a.m. — sources by their
names, group actions on the whole group, clocks that agree between pages, a search box that says why."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from store.models import Alert, Escalation, Report
from tests.desk.conftest import APP, DeskStore, make_post, make_user, open_item, sample_posts, sign_in, texts

NAMED_SOURCE = """
[[sources]]
name = "zqgcb-securities"
family = "rss"
url = "https://zqgcb.example.com/rss.xml"
options = { display_name = "证券观察报" }
"""


def _as(role: str, username: str | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    sign_in(
        at,
        None,
        role=role,
        username=username or {"manager": "zhao", "officer": "wang", "admin": "root"}[role],
    )
    return at


def _store(desk_config, posts) -> DeskStore:
    store = DeskStore(config=desk_config, posts=posts)
    store.add(list(posts.values()))
    return store


def test_documents_and_reasons_name_sources_not_their_ids(desk_config):
    """权威来源：zqgcb-securities and 监测到weibo-demo等平台 become the sources' display names: on the queue,
    the item page, the daily brief and the regulator report."""
    desk_config.write_text(desk_config.read_text(encoding="utf-8") + NAMED_SOURCE, encoding="utf-8")
    posts = {
        "auth": make_post(
            "auth",
            title="证券观察报：华鼎证券遭监管处罚",
            text="华鼎证券因违规被监管部门处罚。",
            level="II",
            source="zqgcb-securities",
            topic="监管处罚",
            minutes_ago=30,
            reasons=["对华鼎证券的负面情绪", "权威来源：zqgcb-securities"],
        )
    }
    store = _store(desk_config, posts)
    at = _as("manager").run()
    captions = " ".join(c.value for c in at.caption)
    assert "权威来源：证券观察报" in captions and "zqgcb" not in captions
    at = open_item(at, "post-auth")
    assert "• 权威来源：证券观察报" in texts(at)
    assert not [t for t in texts(at) if "zqgcb-securities" in t]

    at.switch_page("views/briefs.py").run()
    today = at.date_input(key="desk.briefs.daily.day")
    from desk.ui import to_shanghai
    from store.models import utcnow

    # the post's own day in Shanghai (30 minutes ago: just after midnight there it is yesterday)
    today.set_value(to_shanghai(utcnow() - timedelta(minutes=30)).date())
    at.button(key="desk.briefs.daily.generate").click().run()
    ctx = store.context()
    try:
        with ctx.records.session() as s:
            alert = s.scalar(select(Alert))
            s.add(Escalation(alert_id=alert.id, state="new", level="II", playbook_id=alert.playbook_id,
                             owner="zhao", opened_by="zhao"))  # fmt: skip
    finally:
        ctx.close()
    at.switch_page("views/reports.py").run()
    at.button(key="desk.reports.generate").click().run()
    assert not at.exception
    ctx = store.context()
    try:
        with ctx.records.session() as s:
            bodies = {r.kind: r.content_md for r in s.scalars(select(Report))}
    finally:
        ctx.close()
    assert set(bodies) == {"daily", "regulator"}
    for kind, body in bodies.items():
        assert "zqgcb" not in body, (kind, body)
        assert "证券观察报" in body, kind
    assert "监测到证券观察报等平台" in bodies["regulator"]


def _event_store(desk_config) -> DeskStore:
    posts = sample_posts()
    for key in ("outage", "complaint"):
        posts[key].event_id = "ev-app"  # one event: the outage and a complaint about it
    return _store(desk_config, posts)


def _alerts(store: DeskStore) -> dict[str, tuple[str, str]]:
    ctx = store.context()
    try:
        with ctx.records.session() as s:
            return {a.post_id: (a.acknowledged_by, a.assignee) for a in s.scalars(select(Alert))}
    finally:
        ctx.close()


def test_group_actions_act_on_the_whole_group(desk_config):
    """确认全组 and 指派全组 on an event of two alerts: both acknowledged, both assigned (the second one
    kept its own clock running before)."""
    store = _event_store(desk_config)
    at = _as("officer").run()
    assert not at.exception
    at.button(key="desk.triage.group_ack.post-outage").click().run()
    assert not at.exception
    assert any("全组已确认：2 条" in s.value for s in at.success)
    alerts = _alerts(store)
    assert alerts["post-outage"][0] == "wang" and alerts["post-complaint"][0] == "wang"
    assert alerts["post-rumor"][0] == ""  # another event is untouched

    make_user(store, username="zhao", role="manager")
    at.run()
    at.button(key="desk.triage.group_assign_form.post-outage").click().run()
    at.selectbox(key="desk.triage.group_assign_to.post-outage").set_value("zhao")
    at.button(key="desk.triage.group_assign.post-outage").click().run()
    assert not at.exception
    alerts = _alerts(store)
    assert alerts["post-outage"][1] == "zhao" and alerts["post-complaint"][1] == "zhao"


def _age_alert(store: DeskStore, key: str, minutes: int) -> None:
    from datetime import timedelta

    from store.models import utcnow

    ctx = store.context()
    try:
        with ctx.records.session() as s:
            alert = s.scalar(select(Alert).where(Alert.post_id == f"post-{key}"))
            alert.created_at = utcnow() - timedelta(minutes=minutes)
    finally:
        ctx.close()


def test_an_alert_past_its_acknowledge_clock_counts_as_overdue_on_the_dashboard(desk_store):
    """Level I outage, 5-minute clock, 35 minutes and nobody acknowledged it: the item page says 已超时 and
    so does the dashboard (it counted only records' clocks: 时限已超时 0)."""
    _age_alert(desk_store, "outage", 40)
    at = _as("manager").run()
    at = open_item(at, "post-outage")
    assert any("已超时" in m.value for m in at.markdown if "确认预警" in m.value)
    at.switch_page("views/dashboard.py").run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["时限已超时"] == "1"
    waiting = next(
        df.value for df in at.dataframe if "剩余时间" in df.value.columns and "预警" in df.value.columns
    )
    first = waiting.iloc[0]
    assert first["确认状态"] == "已超时" and first["剩余时间"].startswith("已超时 35 分钟")


def test_yuqing_desk_chases_an_unacknowledged_alert_without_yuqing_clocks(desk_store, monkeypatch):
    """`yuqing desk` runs the clock watch beside the page: the overdue alert is chased up the chain
    (a manager is told) while the desk is open, with no `yuqing clocks` anywhere."""
    import time

    import yuqing.cli
    from store.models import AuditEntry

    _age_alert(desk_store, "outage", 8)  # one 5-minute clock past: the chain's first tier (managers)
    make_user(desk_store, username="zhao", role="manager")
    seen: list = []

    def fake_desk(env, *, port, base_url=""):  # the page itself is not needed: the watch runs beside it
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not seen:
            ctx = desk_store.context()
            try:
                with ctx.records.session() as s:
                    seen.extend(
                        (e.entity_id, e.detail.get("notified"))
                        for e in s.scalars(select(AuditEntry).where(AuditEntry.action == "alert.chased"))
                    )
            finally:
                ctx.close()
            time.sleep(0.2)
        return 0

    monkeypatch.setattr(yuqing.cli, "run_desk", fake_desk)
    assert yuqing.cli.main(["--config", str(desk_store.config), "desk"]) == 0
    assert seen and seen[0][1] == ["zhao"], seen


def test_a_search_longer_than_the_limit_is_kept_and_said_so(desk_store):
    """More than 500 characters pasted into search: the box keeps them, the page says it searched the
    first 500 (the box used to come back empty without a word)."""
    at = _as("officer").run()
    pasted = "华鼎证券 立案 " + "很长的粘贴内容" * 100
    at.text_input(key="desk.triage.query").input(pasted).run()
    assert not at.exception
    assert at.text_input(key="desk.triage.query").value == pasted
    assert any("搜索词过长" in w.value and "500" in w.value for w in at.warning)
    assert at.text_input(key="desk.triage.query").max_chars in (None, 0)


def _queue_titles(at, posts) -> list[str]:
    shown = texts(at)
    return [k for t in shown for k, p in posts.items() if t == p.title]


def test_the_queue_orders_by_urgency_and_shows_the_time_left_on_every_row(desk_store):
    """An overdue level IV alert nobody acknowledged comes before a fresh level I; every row says how long
    is left to acknowledge it, or how long it is overdue; once acknowledged it goes back by level."""
    _age_alert(desk_store, "complaint", 60 * 30)  # 30 hours, never acknowledged
    at = _as("officer").run()
    assert not at.exception
    order = _queue_titles(at, desk_store.posts)
    assert order[0] == "complaint", order
    assert order[1:] == ["outage", "rumor", "hostile"]
    badges = [b.proto.label for b in at.get("badge")] if at.get("badge") else []
    markdown = " ".join(m.value for m in at.markdown) + " ".join(badges)
    assert ":red-badge[:material/timer: 确认已超时 1 天" in markdown
    assert markdown.count("确认剩余") == 3  # the three fresh alerts, each with its own time left
    at.button(key="desk.triage.ack.post-complaint").click().run()
    assert not at.exception
    assert _queue_titles(at, desk_store.posts) == ["outage", "rumor", "hostile", "complaint"]


def test_a_new_alert_announces_itself_until_seen(desk_store):
    """An alert arriving while the queue is open: a notice that stays until 知道了, and the tab title
    counts the alerts new to this person."""
    at = _as("officer").run()
    assert "document.title = '(4) 舆情值守台'" in " ".join(h.proto.body for h in at.main.html)
    late = make_post("late", title="华鼎证券两融穿仓传闻", text="华鼎证券两融穿仓传闻。", level="II",
                     source="微博", minutes_ago=0)  # fmt: skip
    desk_store.add([late])
    at.run()
    notice = [e.value for e in at.main.warning if "新到 1 条预警" in e.value]
    assert notice and "华鼎证券两融穿仓传闻" in notice[0]
    at.run()  # still there on the next refresh: it waits for the person
    assert any("新到 1 条预警" in e.value for e in at.main.warning)
    assert "document.title = '(5) 舆情值守台'" in " ".join(h.proto.body for h in at.main.html)
    at.button(key="desk.triage.arrived_seen").click().run()
    assert not any("新到" in e.value for e in at.main.warning)


def test_the_item_page_has_the_queues_actions_and_group_actions(desk_config):
    """From the item page: 确认 (stays in place, disabled), 指派, 误报, and 确认全组 on the event."""
    store = _event_store(desk_config)
    make_user(store, username="zhao", role="manager")
    at = open_item(_as("officer").run(), "post-rumor")
    assert not at.exception
    at.button(key="desk.item.ack").click().run()
    assert not at.exception
    assert any("已确认 1 条预警" in s.value for s in at.success)
    ack = at.button(key="desk.item.ack")
    assert ack.label == "已确认" and ack.disabled
    at.selectbox(key="desk.item.assign_to").set_value("zhao")
    at.button(key="desk.item.assign").click().run()
    assert _alerts(store)["post-rumor"] == ("wang", "zhao")

    at = open_item(at, "post-outage")  # one of an event of two
    at.button(key="desk.item.group_ack").click().run()
    assert not at.exception
    alerts = _alerts(store)
    assert alerts["post-outage"][0] == "wang" and alerts["post-complaint"][0] == "wang"

    at = open_item(at, "post-hostile")
    at.text_input(key="desk.item.fp_reason").input("与本司无关")
    at.button(key="desk.item.fp").click().run()
    assert not at.exception
    ctx = store.context()
    try:
        with ctx.records.session() as s:
            status = s.scalar(select(Alert.status).where(Alert.post_id == "post-hostile"))
    finally:
        ctx.close()
    assert status == "false_positive"


def test_the_acknowledge_link_opens_a_page_without_sign_in_and_acknowledges_once(desk_store):
    """The link from a notification: the page shows the alert and one button (opening it changes
    nothing); the press acknowledges as the link's person; the same link again says it was used."""
    from playbooks import ack_links

    make_user(desk_store, username="zhao", role="manager", display_name="赵经理")
    ctx = desk_store.context()
    try:
        with ctx.records.session() as s:
            alert = s.scalar(select(Alert).where(Alert.post_id == "post-outage"))
            token = ack_links.issue(s, alert, "zhao", purpose="alert")
    finally:
        ctx.close()
    at = AppTest.from_file(str(APP), default_timeout=60).run()  # nobody signed in
    at.query_params["t"] = token
    at.switch_page("views/ack.py").run()
    assert not at.exception
    assert [t.value for t in at.title] == ["一键确认预警"]
    assert "华鼎证券APP崩了，开盘无法登录交易" in texts(at)
    assert any("赵经理" in m.value and "仅可使用一次" in m.value for m in at.markdown)
    assert _alerts(desk_store)["post-outage"][0] == ""  # opening it acknowledged nothing
    at.button(key="desk.ack.press").click().run()
    assert not at.exception
    assert any(s.value.startswith("已确认：赵经理") for s in at.success)
    assert _alerts(desk_store)["post-outage"][0] == "zhao"

    again = AppTest.from_file(str(APP), default_timeout=60).run()
    again.query_params["t"] = token
    again.switch_page("views/ack.py").run()
    assert any("已使用过" in w.value for w in again.warning)
    assert not [b for b in again.button if b.key == "desk.ack.press"]


def test_resolving_or_closing_with_steps_open_needs_a_reason_and_a_closed_record_stays_findable(desk_store):
    """向证监局报告 and the other steps not done: 已解决 without a reason is refused (said why); with one, it
    goes through and the audit entry keeps the reason and the open steps; once closed, 查找 finds it."""
    from playbooks.authz import Actor
    from playbooks.escalation import open_escalation, transition
    from store.models import AuditEntry

    ctx = desk_store.context()
    try:
        with ctx.records.session() as s:
            alert = s.scalar(select(Alert).where(Alert.post_id == "post-outage"))
            esc, _ = open_escalation(s, alert_id=alert.id, actor=Actor("wang", "officer"))
            transition(s, escalation_id=esc.id, to_state="acknowledged", actor=Actor("wang", "officer"))
            esc_id = esc.id
    finally:
        ctx.close()
    at = _as("manager").run()
    at.switch_page("views/escalations.py").run()
    assert any("预案步骤未完成" in w.value and "向当地证监局报告" in w.value for w in at.warning)
    at.button(key="desk.esc.to.resolved").click().run()
    assert not at.exception
    assert any("须在备注中说明原因" in e.value for e in at.error)
    at.text_input(key="desk.esc.note").input("事件已平息，证监局电话沟通后无需书面报告")
    at.button(key="desk.esc.to.resolved").click().run()
    assert any("已解决" in s.value for s in at.success)
    at.text_input(key="desk.esc.note").input("复核完毕")
    at.button(key="desk.esc.to.closed").click().run()
    assert any("已关闭" in s.value for s in at.success)
    ctx = desk_store.context()
    try:
        with ctx.records.session() as s:
            moves = [
                e.detail for e in s.scalars(select(AuditEntry).where(AuditEntry.action == "escalation.state"))
            ]
    finally:
        ctx.close()
    resolved = next(d for d in moves if d["after"] == "resolved")
    assert resolved["note"].startswith("事件已平息") and any("证监局" in x for x in resolved["open_steps"])
    # closed: not in the default list of open records, but 查找 finds it by its number
    at.run()
    at.text_input(key="desk.esc.find").input(f"#{esc_id}").run()
    table = next(df.value for df in at.dataframe if "编号" in df.value.columns)
    assert list(table["编号"]) == [f"#{esc_id}"] and list(table["状态"]) == ["已关闭"]


def test_the_record_page_lists_its_evidence_with_sha256_and_offers_the_bundle(desk_store):
    from playbooks import evidence
    from playbooks.authz import Actor
    from playbooks.escalation import open_escalation

    ctx = desk_store.context()
    try:
        with ctx.records.session() as s:
            alert = s.scalar(select(Alert).where(Alert.post_id == "post-outage"))
            evidence.snapshot_post(s, alert, desk_store.posts["outage"])
            esc, _ = open_escalation(s, alert_id=alert.id, actor=Actor("wang", "officer"))
            kept = evidence.attach(
                s, Actor("wang", "officer"), escalation_id=esc.id, name="截图.png", data=b"png"
            )
    finally:
        ctx.close()
    at = _as("officer").run()
    at.switch_page("views/escalations.py").run()
    assert not at.exception
    table = next(df.value for df in at.dataframe if "SHA-256" in df.value.columns)
    assert list(table["类型"]) == ["发现时快照", "附件"]
    assert kept.sha256 in list(table["SHA-256"]) and list(table["固定人"]) == ["系统自动", "wang"]
    assert any("下载全部证据（2 件" in str(d.proto) for d in at.get("download_button"))


def test_a_shift_hands_over_and_the_next_officer_takes_it_over(desk_store):
    """交班: the note keeps the open alerts, records and what waits on whom; 接班: the next officer sees it
    on the queue, acknowledges it on the handover page; both in the audit trail; not one's own."""
    from store.models import AuditEntry

    make_user(desk_store, username="li", role="officer", display_name="李夜班")
    at = _as("officer").run()  # wang, the day shift
    at.switch_page("views/handover.py").run()
    assert not at.exception
    at.text_area(key="desk.handover.form.watch").input("APP 登录问题仍在发酵，开盘前复核")
    at.button(key="FormSubmitter:desk.handover.form-保存交接记录").click().run()
    assert not at.exception
    assert any("交接记录 #1 已保存" in s.value for s in at.success)
    assert not [b for b in at.button if b.key == "desk.handover.take.1"]  # not one's own

    night = _as("officer", "li").run()
    assert any("交接记录待您确认接班" in i.value for i in night.info)
    night.switch_page("views/handover.py").run()
    assert "APP 登录问题仍在发酵，开盘前复核" in texts(night)
    assert any("待确认预警 4 条" in m.value for m in night.markdown)  # the four alerts nobody acknowledged
    night.button(key="desk.handover.take.1").click().run()
    assert any("已确认接班" in s.value for s in night.success)
    table = next(df.value for df in night.dataframe if "接班人" in df.value.columns)
    assert table.iloc[0]["接班人"] == "李夜班（li）" and table.iloc[0]["交班人"] == "wang"
    ctx = desk_store.context()
    try:
        with ctx.records.session() as s:
            acts = [
                (e.actor, e.action)
                for e in s.scalars(select(AuditEntry).where(AuditEntry.entity == "handover"))
            ]
    finally:
        ctx.close()
    assert acts == [("wang", "handover.written"), ("li", "handover.acknowledged")]


def test_audit_trails_read_in_chinese_with_display_names(desk_store):
    """The item page's 审计记录: people as 显示名（用户名）, details as Chinese sentences — no raw JSON."""
    make_user(desk_store, username="zhao", role="manager", display_name="赵经理")
    at = open_item(_as("manager").run(), "post-outage")
    at.button(key="desk.item.ack").click().run()
    at.selectbox(key="desk.item.assign_to").set_value("zhao")
    at.button(key="desk.item.assign").click().run()
    assert not at.exception
    trail = next(df.value for df in at.dataframe if "操作人" in df.value.columns)
    rows = list(zip(trail["操作人"], trail["操作"], trail["详情"], strict=True))
    assert ("系统（自动）", "生成预警", "级别 I 级，主题 交易系统故障") in rows
    assert ("赵经理（zhao）", "确认预警", "确认预警") in rows
    assert ("赵经理（zhao）", "指派", "无 → 赵经理（zhao）") in rows
    for who, _, detail in rows:
        assert "{" not in detail and '"' not in detail
        assert who != "zhao"

"""预警队列 — flagged posts grouped by event, most severe and newest first; refreshes itself.

The list lives in an ``st.fragment`` that reruns every ``[desk] queue_refresh_seconds`` (default 30 s;
each person can pause it), so new alerts appear without a click. Posts of one event form one group
(count, most severe level, newest time), and near-duplicates (reposts, copied articles) are collapsed
under their first post. Each row has the one-click actions of playbooks.triage — 确认, 指派, 误报,
升级 — shown by role; the domain functions check the role again.

「新」 marks alerts that opened after this person last pressed 「全部已读」 (User.last_queue_look_at).
The mark moves only on that explicit click, and only up to the moment the list on screen was drawn,
so an alert that arrives while the person reads (or while the screen is unattended) stays 新.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from functools import partial

import streamlit as st

from desk import alert_actions, state
from desk.drill_ui import show_drill_banner
from desk.health_ui import show_health_banner
from desk.ui import (
    LEVEL_LABELS,
    LEVEL_NAMES,
    alert_status_label,
    escape_markdown,
    format_time,
    join_list,
    level_badge,
    plain,
    sentiment_label,
    to_shanghai,
)
from playbooks import handover, people, triage
from playbooks.authz import Actor, PermissionDenied
from playbooks.escalation import STATE_LABELS
from store.models import LEVELS, PostRecord, level_rank, utcnow
from store.neardup import group_sizes

PAGE_SIZES = (20, 50, 100)
MAX_SEARCH_CHARS = 500
# posts fetched per refresh to group by event; a view matching more asks for narrower filters
GROUP_WINDOW = 1000
VIEW_LABELS = {"todo": "待处理", "false_positive": "误报", "all": "全部"}

# session-state keys of this page
LIVE = "desk.triage.live"  # auto-refresh on (widget)
SHOWN_ALERTS = "desk.triage.shown_at"  # filters and time of the previous refresh (to announce arrivals)
ARRIVED = "desk.triage.arrived"  # alerts that arrived while the page was open, until 知道了
SOUND = "desk.triage.sound"  # 提示音 on (widget)
OPEN_FORM = "desk.triage.open_form"  # (指派 | 误报, post id): the one row whose small form is open

state.init_session_state()
ctx = state.get_context()
actor: Actor | None = state.current_actor()  # app.py makes sure someone signed in; None-safe anyway

st.title("预警队列")
state.show_flash()
if actor is not None:
    with ctx.records.session() as _s:
        _handovers = handover.waiting_for(_s, actor.username)
    if _handovers:
        st.info(f"有 {len(_handovers)} 份交接记录待您确认接班：请先看上一班留下的须关注事项。", icon="🔁")
        st.page_link(state.HANDOVER_PAGE, label="前往交接班", icon="🔁")

interval = int(ctx.settings.desk.queue_refresh_seconds)
# a phone shows the first alert on its first screen: one bar (view + 设置), the search box, the filters
# folded away, the figures in one row (the CSS below keeps those two rows from stacking on a narrow screen)
st.html(
    "<style>"
    ".st-key-desk-queue-bar [data-testid='stHorizontalBlock'],.st-key-desk-queue-seen [data-testid='stHorizontalBlock'],"
    ".st-key-desk-queue-figures [data-testid='stHorizontalBlock']{flex-wrap:nowrap!important;gap:.4rem!important}"
    ".st-key-desk-queue-bar [data-testid='stColumn'],.st-key-desk-queue-seen [data-testid='stColumn'],"
    ".st-key-desk-queue-figures [data-testid='stColumn']{min-width:0!important;width:auto!important;flex:1 1 0!important}"
    "@media (max-width:640px){.st-key-desk-queue-figures [data-testid='stMetricValue']{font-size:1.1rem!important}"
    ".st-key-desk-queue-figures [data-testid='stMetricLabel'] p{font-size:.7rem!important}}"
    "</style>"
)
active_filters = sum(
    bool(st.session_state.get(k))
    for k in ("desk.triage.levels", "desk.triage.sources", "desk.triage.sentiments")
)
with st.container(key="desk-queue-bar"):
    t3, t_settings = st.columns([3.2, 1], vertical_alignment="center")
    view = t3.segmented_control(
        "状态",
        list(VIEW_LABELS),
        default="todo",
        required=True,
        format_func=VIEW_LABELS.get,
        key="desk.triage.view",
        label_visibility="collapsed",
    )
    settings_box = t_settings.popover("设置", icon=":material/tune:", width="stretch")
with settings_box:
    drill = st.toggle(
        "只看演练预警",
        key="desk.triage.drill",
        help="演练数据与真实预警分开显示，演练预警不计入生产统计。",
    )
    live = st.toggle(
        "自动刷新",
        value=True,
        key=LIVE,
        help=f"每 {interval} 秒自动载入新到的预警；需要时可暂停（新预警要手动刷新才会出现）。",
    )
    st.toggle("提示音", key=SOUND, help="新预警到达时播放提示音（需先点击过本页面，浏览器才允许出声）。")
view = view or "todo"
if drill:
    st.info("演练模式：以下均为演练预警，不是真实舆情。")

# ----------------------------------------------------------------------------- filters
queue_facets = ctx.index.facets(flagged=True, drill=drill)
source_options = sorted(k for k in queue_facets.get("source", {}) if k != "—")
sentiment_options = [s for s in ("negative", "neutral", "positive") if s in queue_facets.get("sentiment", {})]

query = st.text_input(
    "全文搜索",
    key="desk.triage.query",
    placeholder="全文搜索：输入关键词，例如：华鼎证券 系统故障",
    label_visibility="collapsed",
)  # no max_chars: a longer paste would be dropped by the browser, leaving the box empty without a word
if len(query) > MAX_SEARCH_CHARS:
    st.warning(f"搜索词过长（{len(query)} 字），只按前 {MAX_SEARCH_CHARS} 字搜索；请删减后再试。")
    query = query[:MAX_SEARCH_CHARS]
with st.expander(
    "筛选：级别、来源、情感、每页条数" + (f"（已选 {active_filters} 项）" if active_filters else "")
):
    f1, f2, f3, f4 = st.columns([2, 3, 2, 1])
    levels = f1.multiselect(
        "级别",
        LEVELS,
        key="desk.triage.levels",
        format_func=lambda lv: LEVEL_LABELS[lv],
        placeholder="全部级别",
    )
    sources = f2.multiselect(
        "来源",
        source_options,
        key="desk.triage.sources",
        placeholder="全部来源",
        format_func=ctx.settings.source_label,
    )
    sentiments = f3.multiselect(
        "情感",
        sentiment_options,
        key="desk.triage.sentiments",
        format_func=sentiment_label,
        placeholder="全部",
    )
    page_size = f4.selectbox("每页", PAGE_SIZES, key="desk.triage.page_size")

# a change of filters starts again from the first page
signature = (query, tuple(levels), tuple(sources), tuple(sentiments), page_size, drill, view)
if st.session_state[state.TRIAGE_FILTER_SIG] != signature:
    st.session_state[state.TRIAGE_FILTER_SIG] = signature
    st.session_state[state.TRIAGE_PAGE_NO] = 1


# ----------------------------------------------------------------------------- training-data export
def _false_positive_jsonl(who: Actor | None) -> bytes:
    """Runs when the manager clicks the download button (Streamlit calls it then, on its own thread)."""
    with ctx.records.session() as s:
        rows = triage.false_positive_training_rows(s, who, posts=ctx.index)  # checks the role again
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")


if actor is not None and actor.can("alert.export_false_positives"):
    with ctx.records.session() as s:
        fp_total = triage.count_false_positives(s)
    settings_box.download_button(
        f"导出误报训练数据（{fp_total} 条，JSONL）",
        data=partial(_false_positive_jsonl, actor),
        file_name=f"false_positives_{format_time(utcnow()).replace(' ', '_').replace(':', '')}.jsonl",
        mime="application/jsonl",
        key="desk.triage.export_fp",
        disabled=fp_total == 0,
        help="被标为误报的预警（帖子全文、模型判断、误报原因），供模型再训练；演练数据不导出。"
        "与命令 yuqing export --false-positives 相同。",
    )


# ----------------------------------------------------------------------------- actions (callbacks)


def _done(kind: str, text: str) -> None:
    state.flash(kind, text)


def _run(action, *args, **kwargs):
    """Call a triage action in one transaction as the signed-in person; errors become a flash message
    (a change someone else made since the page was drawn: 已被他人处理 as a warning)."""
    who = state.current_actor()  # re-checked at the click: the session may have ended meanwhile
    try:
        with ctx.records.session() as s:
            return action(s, *args, who, **kwargs)
    except PermissionDenied as exc:
        _done("error", str(exc))
    except triage.TriageError as exc:
        _done("warning", str(exc))
    return None


def _acknowledge(alert_ids: list[tuple[int, int]]) -> None:
    """``alert_ids``: (alert id, the version shown) of the row's alerts."""
    results = [_run(triage.acknowledge, a, expected_version=v) for a, v in alert_ids]
    if any(r is None for r in results):
        return
    n = sum(bool(r) for r in results)
    _done("success", f"已确认 {n} 条预警。" if n else "这条预警已有人确认，无需重复操作。")


def _assign(alert_ids: list[tuple[int, int]], key: str) -> None:
    who = st.session_state.get(key)
    if not who:
        _done("warning", "请先选择要指派的人。")
        return
    results = [
        _run(lambda s, a, actor, u=who, v=v: triage.assign(s, a, u, actor, expected_version=v), a)
        for a, v in alert_ids
    ]
    if any(r is None for r in results):
        return
    st.session_state[OPEN_FORM] = None
    _done("success", f"已指派给 {escape_markdown(_name(who))}。")


def _false_positive(alert_ids: list[tuple[int, int]], key: str) -> None:
    reason = str(st.session_state.get(key) or "")
    results = [
        _run(lambda s, a, actor, v=v: triage.mark_false_positive(s, a, actor, reason, expected_version=v), a)
        for a, v in alert_ids
    ]
    if any(r is None for r in results):
        return
    st.session_state[key] = ""
    st.session_state[OPEN_FORM] = None
    n = sum(bool(r) for r in results)
    _done("success", f"已标为误报 {n} 条（记录保留，可导出作训练数据）。" if n else "该预警已是误报。")


def _reopen(alert_id: int, version: int | None = None) -> None:
    result = _run(triage.reopen, alert_id, expected_version=version)
    if result is not None:
        _done("success", "已恢复为待处理。" if result else "该预警不是误报或已关闭状态，无需恢复。")


def _escalate(alert_id: int, playbook_id: str | None, version: int | None = None) -> None:
    result = _run(
        lambda s, a, actor: triage.escalate(s, a, actor, playbook_id=playbook_id, expected_version=version),
        alert_id,
    )
    if result is None:
        return
    esc, created = result
    st.session_state[state.SELECTED_ESCALATION] = esc.id
    _done(
        "success",
        f"已开启处置记录 #{esc.id}，可点「处置记录 #{esc.id}」前往处理。"
        if created
        else f"该预警已有处置记录 #{esc.id}。",
    )


def _mark_all_seen(upto: datetime) -> None:
    who = state.current_actor()
    try:
        with ctx.records.session() as s:
            triage.mark_seen(s, who, upto)
    except PermissionDenied as exc:
        _done("error", str(exc))
        return
    _done("info", "已全部标为已读；此后到达的预警仍会标「新」。")


def _open_item(post_id: str) -> None:
    st.session_state[state.SELECTED_POST] = post_id
    st.switch_page(state.ITEM_PAGE, query_params={state.POST_PARAM: post_id})


def _open_escalation(esc_id: int) -> None:
    st.session_state[state.SELECTED_ESCALATION] = esc_id
    st.switch_page(state.ESCALATIONS_PAGE)


def _go_to(target: int) -> None:
    st.session_state[state.TRIAGE_PAGE_NO] = max(1, target)


_names: dict[str, str] = {}


def _name(username: str) -> str:
    return _names.get(username, username)


# ----------------------------------------------------------------------------- the live list


@st.fragment(run_every=interval if live else None)
def live_queue() -> None:
    """The queue: figures, then the groups of the current page, redrawn every ``interval`` seconds."""
    now = utcnow()
    _recheck_sign_in()
    state.show_flash()
    show_health_banner(ctx)  # a source that went silent since the page opened shows up here too
    show_drill_banner(ctx)  # 演练进行中：N 条演练预警，不是真实舆情 (desk/drill_ui.py)
    statuses = triage.QUEUE_VIEWS[view]
    with ctx.records.session() as s:
        figures = triage.queue_figures(
            s, username=actor.username if actor else None, drill=drill, statuses=statuses
        )
    _names.update({u: people.label(u, d) for u, d in figures.assignable})
    _metrics(figures)

    result = _search()
    if result is None:
        return
    library, _ = state.playbooks_or_none(ctx)
    with ctx.records.session() as s:
        states = triage.queue_states(s, [p.id for p in result.items], playbooks=library, now=now)
    posts = triage.in_view(result.items, states, view)
    groups = triage.by_urgency(triage.group_posts(posts), states)
    _announce_arrivals(posts, states, now, figures.new_total)
    if actor is not None:
        _seen_bar(now, figures.new_total)
    if result.total > GROUP_WINDOW:
        st.info(
            f"符合条件的预警超过 {GROUP_WINDOW} 条，只列出最严重、最新的 {GROUP_WINDOW} 条；请用级别、来源或搜索缩小范围。"
        )
    if not groups:
        filtered = query or levels or sources or sentiments or view != "todo"
        st.success("没有符合筛选条件的预警。" if filtered else "当前没有待处理的预警。")
        return

    page_no, pages = _page_number(len(groups))
    shown = groups[(page_no - 1) * page_size : page_no * page_size]
    st.caption(
        f"共 {len(posts)} 条预警，{len(groups)} 组，第 {page_no} / {pages} 页"
        "（按紧迫程度排列：尚未确认、确认时限最近或已超时的在前，其次按级别、时间；"
        "同一事件合为一组，转载/抄发折叠在首发之下）"
    )
    with ctx.records.session() as s:
        similar = group_sizes(s, [r.post for g in shown for r in g.rows])  # reposts, copies in the store
    for g in shown:
        _group(g, states, figures.seen_at, similar, figures.assignable)
    _pager(page_no, pages)


def _recheck_sign_in() -> None:
    """Each refresh checks the sign-in again, and counts as presence: a queue left on screen with
    自动刷新 on stays signed in through a quiet night (up to ``session_max_hours``). A session that
    ended meanwhile (signed out elsewhere, disabled, past its absolute limit) reruns the whole page,
    which shows the login form."""
    if actor is not None and state.current_actor() is None:
        st.rerun(scope="app")


def _metrics(figures: triage.QueueFigures) -> None:
    cols = st.container(key="desk-queue-figures").columns(len(LEVELS) + 2)
    for col, lv in zip(cols, LEVELS, strict=False):
        col.metric(f"{LEVEL_LABELS[lv]} · {LEVEL_NAMES[lv]}", figures.counts.get(lv, 0))
    cols[-2].metric("预警合计", sum(figures.counts.values()))
    cols[-1].metric("新到达", figures.new_total)


def _search():
    """The most severe and newest GROUP_WINDOW flagged posts matching the filters; None (and a message)
    when the search cannot be done."""
    try:
        result = ctx.index.search(
            query or "",
            levels=levels or None,
            sources=sources or None,
            sentiments=sentiments or None,
            flagged=True,
            drill=drill,
            limit=GROUP_WINDOW,
            offset=0,
            order="severity",
        )
    except sqlite3.Error:
        st.error("搜索暂时无法完成，请换个关键词再试。")
        return None
    if result.note:
        st.info(result.note)
    return result


def _announce_arrivals(
    posts: list[PostRecord], states: dict[str, triage.AlertState], now: datetime, new_total: int
) -> None:
    """New alerts announce themselves: a notice that stays until 知道了 (not a 4-second toast), the count of
    alerts new to this person in the browser tab's title, and — when 提示音 is on — a short sound."""
    previous = st.session_state.get(SHOWN_ALERTS)  # (filters, when) of the previous refresh
    arrived: list[PostRecord] = []
    if previous is not None and previous[0] == signature:
        arrived = [
            p for p in posts if (a := states.get(p.id)) and a.created_at and a.created_at > previous[1]
        ]
    st.session_state[SHOWN_ALERTS] = (signature, now)
    notice: list = st.session_state.setdefault(ARRIVED, [])
    known = {pid for pid, _, _ in notice}
    notice.extend((p.id, p.level, p.title or p.text) for p in arrived if p.id not in known)
    if notice:
        with st.container(border=True):
            c1, c2 = st.columns([6, 1], vertical_alignment="center")
            worst = min((lv for _, lv, _ in notice), key=level_rank, default=None)
            first = "；".join(
                f"{LEVEL_LABELS.get(lv or '', '未定级')} {escape_markdown(plain(t, 30))}"
                for _, lv, t in notice[:3]
            )
            more = f" 等 {len(notice)} 条" if len(notice) > 3 else ""
            c1.warning(
                f"🚨 自 {format_time(previous[1] if previous else now)} 起新到 {len(notice)} 条预警"
                f"（最高 {level_badge(worst)[0]}）：{first}{more}",
            )
            c2.button("知道了", key="desk.triage.arrived_seen", on_click=_clear_arrivals, width="stretch")
    _tab_title(new_total, ring=bool(arrived) and bool(st.session_state.get(SOUND)))


def _clear_arrivals() -> None:
    st.session_state[ARRIVED] = []


def _tab_title(new_total: int, *, ring: bool) -> None:
    """(3) 舆情值守台 in the browser tab while alerts are new to this person; a beep when asked for."""
    title = f"({new_total}) 舆情值守台" if new_total else "舆情值守台"
    script = f"document.title = {title!r};"
    if ring:  # 0.4 s at 880 Hz through WebAudio; the browser allows it after the person clicked the page
        script += (
            "try{const a=new (window.AudioContext||window.webkitAudioContext)();const o=a.createOscillator();"
            "const g=a.createGain();o.frequency.value=880;g.gain.value=0.15;o.connect(g);g.connect(a.destination);"
            f"o.start();o.stop(a.currentTime+0.4);}}catch(e){{}} /* {utcnow().timestamp()} */"
        )
    st.html(f"<script>{script}</script>", unsafe_allow_javascript=True)


def _seen_bar(now: datetime, new_total: int) -> None:
    """「全部已读」 and what 新 means."""
    a1, a2 = st.container(key="desk-queue-seen").columns([1, 3], vertical_alignment="center")
    a1.button(
        "全部已读",
        key="desk.triage.seen",
        on_click=_mark_all_seen,
        args=(now,),
        disabled=new_total == 0,
        help="「新」= 您上次点「全部已读」之后到达的预警（每人分别记录）。点「全部已读」只记到本列表"
        "刷新的时刻，之后到达的仍标「新」；只浏览不会消去标记。",
    )
    a2.caption(f"列表每 {interval} 秒自动刷新。" if live else "自动刷新已暂停。")


def _page_number(groups: int) -> tuple[int, int]:
    """(this page, pages) for ``groups`` groups; the last page when the queue shrank under us."""
    pages = max(1, -(-groups // page_size))
    page_no = max(1, int(st.session_state[state.TRIAGE_PAGE_NO] or 1))
    if page_no > pages:  # the queue shrank under us (or filters changed); show the last page
        st.session_state[state.TRIAGE_PAGE_NO] = page_no = pages
    return page_no, pages


def _group(
    g: triage.QueueGroup,
    states: dict[str, triage.AlertState],
    seen_at: datetime | None,
    similar: dict[str, int],
    assignable: list[tuple[str, str]],
) -> None:
    """One event: its summary, its first row, and the other rows in an expander drawn only while open."""
    with st.container(border=True):
        if len(g.posts) > 1:
            label, _ = level_badge(g.level)
            st.caption(
                f"同一事件 · 共 {len(g.posts)} 条 · 最高 {label} · 最新 {format_time(_newest(g))}"
                + (f" · 其中新 {n} 条" if (n := _new_in(g, states, seen_at)) else "")
            )
            _group_actions(g, states, assignable)
        _row(g.rows[0], states, seen_at, similar, assignable)
        if len(g.rows) > 1:
            # drawn only while open: a page of big events stays quick to refresh
            more = st.expander(
                f"同一事件的其余 {len(g.rows) - 1} 条",
                key=f"desk.triage.more.{g.rows[0].post.id}",
                on_change="rerun",
            )
            if more.open:
                with more:
                    for k, r in enumerate(g.rows[1:]):
                        if k:
                            st.divider()
                        _row(r, states, seen_at, similar, assignable)


def _group_items(g: triage.QueueGroup, states: dict[str, triage.AlertState]) -> list[tuple[int, int]]:
    """(alert id, version shown) of every alert of the group still to handle."""
    return [
        (a.alert_id, a.version)
        for p in g.posts
        if (a := states.get(p.id)) is not None and a.status not in ("false_positive", "closed")
    ]


def _group_actions(
    g: triage.QueueGroup, states: dict[str, triage.AlertState], assignable: list[tuple[str, str]]
) -> None:
    """确认全组 / 指派全组: one click for every alert of the event (each keeps its own clock otherwise)."""
    if actor is None:
        return
    items = _group_items(g, states)
    acked = {a.alert_id for a in states.values() if a.acknowledged_at}
    unacked = [(i, v) for i, v in items if i not in acked]
    if not items:
        return
    key = g.rows[0].post.id
    c1, c2, _ = st.columns([1.6, 1.6, 5])
    if actor.can("alert.acknowledge"):
        c1.button(
            f"确认全组（{len(unacked)} 条未确认）",
            key=f"desk.triage.group_ack.{key}",
            on_click=_on_group,
            args=("acknowledge", unacked),
            disabled=not unacked,
            width="stretch",
        )
    if actor.can("alert.assign"):
        c2.button(
            "指派全组",
            key=f"desk.triage.group_assign_form.{key}",
            on_click=_toggle_form,
            args=("assign_group", key),
            width="stretch",
        )
    if st.session_state.get(OPEN_FORM) == ("assign_group", key):
        with st.container(border=True):
            c_input, c_ok, c_cancel = st.columns([5, 1.4, 1], vertical_alignment="bottom")
            pick = f"desk.triage.group_assign_to.{key}"
            c_input.selectbox(
                f"全组 {len(items)} 条指派给",
                [u for u, _ in assignable],
                index=None,
                format_func=_name,
                key=pick,
                placeholder="选择在岗的值守台用户",
            )
            c_ok.button(
                "确定指派",
                key=f"desk.triage.group_assign.{key}",
                on_click=_on_group,
                args=("assign", items, pick),
            )
            c_cancel.button(
                "取消",
                key=f"desk.triage.group_cancel.{key}",
                on_click=_toggle_form,
                args=("assign_group", key),
            )


def _on_group(what: str, items: list[tuple[int, int]], pick: str | None = None) -> None:
    """Callback of the group actions: every alert of the group in one transaction, each compare-and-set."""
    who = state.current_actor()
    args: tuple = ()
    if what == "assign":
        chosen = st.session_state.get(pick or "")
        if not chosen:
            _done("warning", "请先选择要指派的人。")
            return
        args = (chosen,)
    action = {"acknowledge": triage.acknowledge, "assign": triage.assign}[what]
    try:
        with ctx.records.session() as s:
            result = triage.on_group(s, items, who, action, *args)
    except PermissionDenied as exc:
        _done("error", str(exc))
        return
    st.session_state[OPEN_FORM] = None
    verb = "确认" if what == "acknowledge" else f"指派给 {escape_markdown(_name(args[0]))}"
    text = f"全组已{verb}：{result.done} 条" + (
        f"，{result.already} 条此前已是如此" if result.already else ""
    )
    if result.refused:
        _done("warning", text + f"；{len(result.refused)} 条未处理：{result.refused[0]}")
    else:
        _done("success", text + "。")


def _pager(page_no: int, pages: int) -> None:
    p1, p2, p3 = st.columns([1, 2, 1])
    p1.button("上一页", on_click=_go_to, args=(page_no - 1,), disabled=page_no <= 1, key="desk.triage.prev")
    p2.caption(f"第 {page_no} / {pages} 页")
    p3.button(
        "下一页", on_click=_go_to, args=(page_no + 1,), disabled=page_no >= pages, key="desk.triage.next"
    )


def _newest(g: triage.QueueGroup) -> datetime | None:
    """The newest post time of a group, in Beijing time."""
    times = [t for t in (to_shanghai(p.display_time) for p in g.posts) if t is not None]
    return max(times, default=None)


def _time(value: str | None) -> str:
    """A post's time for a caption: Beijing time, or the raw value escaped when it cannot be read."""
    return format_time(value) if to_shanghai(value) is not None else escape_markdown(format_time(value))


def _new_in(g: triage.QueueGroup, states: dict[str, triage.AlertState], seen_at: datetime | None) -> int:
    if actor is None:
        return 0
    return sum(
        1 for p in g.posts if (a := states.get(p.id)) is not None and triage.is_new(a.created_at, seen_at)
    )


def _row(
    row: triage.QueueRow,
    states: dict[str, triage.AlertState],
    seen_at: datetime | None,
    similar: dict[str, int],
    assignable: list[tuple[str, str]],
) -> None:
    post = row.post
    alert = states.get(post.id)
    ids = [(a.alert_id, a.version) for p in (post, *row.copies) if (a := states.get(p.id)) is not None]
    c_level, c_body, c_action = st.columns([1.4, 6.2, 2.4])
    with c_level:
        label, color = level_badge(post.level)
        st.badge(label, color=color)
        if actor is not None and alert is not None and triage.is_new(alert.created_at, seen_at):
            st.badge("新", color="green")
        if alert is not None:
            _ack_badge(alert)
        st.caption(escape_markdown(post.topic or "其他"))
        if post.drill:
            st.badge("演练", color="violet")
    with c_body:
        st.text(plain(post.title or post.text, 120))
        if post.title:
            st.text(plain(post.text, 160))
        meta = [
            escape_markdown(ctx.settings.source_label(post.source) if post.source else "未知来源"),
            _time(post.display_time),
            escape_markdown(sentiment_label(post.sentiment_label)),
            f"状态：{alert_status_label(alert.status if alert else None)}",
        ]
        if similar.get(post.id, 1) > 1:
            meta.append(f"相似稿 {similar[post.id]} 条（{'转载/抄发' if post.dup_of else '首发'}）")
        st.caption(" · ".join(meta))
        if post.reasons:
            st.caption(
                "预警原因：" + escape_markdown(join_list(ctx.source_names.reasons(post.reasons), "；"))
            )
        if row.copies:
            st.caption(
                f"已折叠转载/抄发 {len(row.copies)} 条（确认、指派、误报一并处理）："
                + "；".join(
                    f"{escape_markdown(ctx.settings.source_label(c.source) if c.source else '未知来源')} "
                    f"{_time(c.display_time)}"
                    for c in row.copies
                )
            )
        if alert is not None:
            who = _handling(alert)
            if who:
                st.caption(who)
    with c_action:
        _actions(post, alert, ids)
    if alert is not None:
        _form(post, alert, ids, assignable)


def _ack_badge(alert: triage.AlertState) -> None:
    text, color = alert_actions.ack_text(alert, utcnow())
    if text:
        st.badge(text, color=color, icon=":material/timer:" if color in ("red", "orange", "blue") else None)


def _handling(alert: triage.AlertState) -> str:
    """「已确认：王晓明 10-01 09:00 · 指派：赵敏 · 处置记录 #3（新建）」 — who has it, in one line."""
    parts = []
    if alert.acknowledged_by:
        parts.append(
            f"已确认：{escape_markdown(_name(alert.acknowledged_by))} {format_time(alert.acknowledged_at)}"
        )
    if alert.assignee:
        parts.append(f"指派：{escape_markdown(_name(alert.assignee))}")
    if alert.escalation_id is not None:
        parts.append(
            f"处置记录 #{alert.escalation_id}（{STATE_LABELS.get(alert.escalation_state or '', '—')}）"
        )
    if alert.status == "false_positive":
        by = escape_markdown(_name(alert.false_positive_by)) if alert.false_positive_by else "—"
        parts.append(
            f"误报：{by} {format_time(alert.false_positive_at)}，原因：{escape_markdown(alert.false_positive_reason)}"
        )
    return " · ".join(parts)


def _actions(post: PostRecord, alert: triage.AlertState | None, ids: list[tuple[int, int]]) -> None:
    if st.button("查看详情", key=f"desk.triage.open.{post.id}", type="primary", width="stretch"):
        _open_item(post.id)
    if alert is None or actor is None:
        return
    if alert.status in ("false_positive", "closed"):  # settled: only a manager can put it back
        if actor.can("alert.reopen"):
            st.button(
                "恢复",
                key=f"desk.triage.reopen.{post.id}",
                on_click=_reopen,
                args=(alert.alert_id, alert.version),
            )
        return
    # a fixed 2 × 2 grid: every action keeps its place after a click (a done one is disabled, not removed),
    # so the pointer never lands on a button that moved under it
    (c1, c2), (c3, c4) = st.columns(2, gap="small"), st.columns(2, gap="small")
    acked = alert.acknowledged_at is not None
    c1.button(
        "已确认" if acked else "确认",
        key=f"desk.triage.ack.{post.id}",
        on_click=_acknowledge,
        args=(ids,),
        disabled=acked or not actor.can("alert.acknowledge"),
        width="stretch",
    )
    c2.button(
        "指派", key=f"desk.triage.assign_form.{post.id}", on_click=_toggle_form, args=("assign", post.id),
        disabled=not actor.can("alert.assign"), width="stretch",
    )  # fmt: skip
    c3.button(
        "误报", key=f"desk.triage.fp_form.{post.id}", on_click=_toggle_form, args=("fp", post.id),
        disabled=not actor.can("alert.false_positive"), width="stretch",
    )  # fmt: skip
    esc_id = alert.escalation_id
    if esc_id is not None:
        if c4.button(
            f"记录 #{esc_id}", key=f"desk.triage.goto.{post.id}", width="stretch", help="前往处置记录"
        ):
            _open_escalation(esc_id)
    else:
        playbook = ctx.match_playbook(post)
        c4.button(
            "升级",
            key=f"desk.triage.escalate.{post.id}",
            on_click=_escalate,
            args=(alert.alert_id, playbook.playbook.id if playbook else None, alert.version),
            help="开启处置记录（按匹配的预案计时）",
            disabled=alert.status != "open" or not actor.can("escalation.open"),
            width="stretch",
        )


def _toggle_form(kind: str, post_id: str) -> None:
    """指派 / 误报 open a small form under their row (one at a time); a second click closes it."""
    st.session_state[OPEN_FORM] = (
        None if st.session_state.get(OPEN_FORM) == (kind, post_id) else (kind, post_id)
    )


def _form(
    post: PostRecord, alert: triage.AlertState, ids: list[tuple[int, int]], assignable: list[tuple[str, str]]
) -> None:
    """The open 指派 or 误报 form of this row, if any (drawn only for that row: the list stays light)."""
    if actor is None or st.session_state.get(OPEN_FORM) not in (("assign", post.id), ("fp", post.id)):
        return
    kind = st.session_state[OPEN_FORM][0]
    with st.container(border=True):
        c_input, c_ok, c_cancel = st.columns([5, 1.4, 1], vertical_alignment="bottom")
        if kind == "assign":
            usernames = [u for u, _ in assignable]
            pick = f"desk.triage.assign_to.{post.id}"
            c_input.selectbox(
                "指派给",
                usernames,
                index=usernames.index(alert.assignee) if alert.assignee in usernames else None,
                format_func=_name,
                key=pick,
                placeholder="选择在岗的值守台用户",
            )
            c_ok.button("确定指派", key=f"desk.triage.assign.{post.id}", on_click=_assign, args=(ids, pick))
        else:
            reason_key = f"desk.triage.fp_reason.{post.id}"
            c_input.text_input(
                "误报原因",
                key=reason_key,
                max_chars=triage.MAX_REASON_CHARS,
                placeholder="一句话说明，例如：同名公司，与本司无关",
            )
            c_ok.button(
                "标为误报", key=f"desk.triage.fp.{post.id}", on_click=_false_positive, args=(ids, reason_key)
            )
        c_cancel.button(
            "取消", key=f"desk.triage.cancel.{post.id}", on_click=_toggle_form, args=(kind, post.id)
        )


live_queue()

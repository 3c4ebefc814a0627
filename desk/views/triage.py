"""预警队列 — flagged posts, most severe and newest first, with filters, search and paging."""

from __future__ import annotations

import sqlite3

import streamlit as st

from desk import state
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
)
from store.models import LEVELS
from store.records import alerts_for_posts
from yuqing.neardup import group_sizes

PAGE_SIZES = (20, 50, 100)
MAX_SEARCH_CHARS = 500

state.init_session_state()
ctx = state.get_context()

st.title("预警队列")
state.show_flash()
show_health_banner(ctx)  # a silent or failing source is a flag too: the queue may be missing posts

drill = st.toggle(
    "只看演练预警",
    key="desk.triage.drill",
    help="演练数据与真实预警分开显示，演练预警不计入生产统计。",
)
if drill:
    st.info("演练模式：以下均为演练预警，不是真实舆情。")

# ----------------------------------------------------------------------------- counts per level
queue_facets = ctx.index.facets(flagged=True, drill=drill)
level_counts = queue_facets.get("level", {})
cols = st.columns(len(LEVELS) + 1)
for col, lv in zip(cols, LEVELS, strict=False):
    col.metric(f"{LEVEL_LABELS[lv]} · {LEVEL_NAMES[lv]}", level_counts.get(lv, 0))
cols[-1].metric("预警合计", sum(level_counts.values()))

# ----------------------------------------------------------------------------- filters
source_options = sorted(k for k in queue_facets.get("source", {}) if k != "—")
sentiment_options = [s for s in ("negative", "neutral", "positive") if s in queue_facets.get("sentiment", {})]

with st.container(border=True):
    query = st.text_input(
        "全文搜索",
        key="desk.triage.query",
        max_chars=MAX_SEARCH_CHARS,
        placeholder="输入关键词，例如：华鼎证券 系统故障",
    )
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
signature = (query, tuple(levels), tuple(sources), tuple(sentiments), page_size, drill)
if st.session_state[state.TRIAGE_FILTER_SIG] != signature:
    st.session_state[state.TRIAGE_FILTER_SIG] = signature
    st.session_state[state.TRIAGE_PAGE_NO] = 1
page_no = max(1, int(st.session_state[state.TRIAGE_PAGE_NO] or 1))

try:
    result = ctx.index.search(
        query or "",
        levels=levels or None,
        sources=sources or None,
        sentiments=sentiments or None,
        flagged=True,
        drill=drill,
        limit=page_size,
        offset=(page_no - 1) * page_size,
        order="severity",
    )
except sqlite3.Error:
    st.error("搜索暂时无法完成，请换个关键词再试。")
    st.stop()

if result.note:
    st.info(result.note)

pages = max(1, -(-result.total // page_size))
if page_no > pages:  # the queue shrank under us (or filters changed); show the last page
    st.session_state[state.TRIAGE_PAGE_NO] = pages
    st.rerun()

if not result.items:
    st.success(
        "当前没有符合条件的预警。"
        if not (query or levels or sources or sentiments)
        else "没有符合筛选条件的预警。"
    )
    st.stop()

st.caption(f"共 {result.total} 条，第 {page_no} / {pages} 页（按级别从高到低、时间从新到旧排列）")

with ctx.records.session() as session:
    alerts = alerts_for_posts(session, post_ids=[p.id for p in result.items])
    statuses = {pid: a.status for pid, a in alerts.items()}
    similar = group_sizes(session, result.items)  # reposts and copied articles of the same text


def _open_item(post_id: str) -> None:
    st.session_state[state.SELECTED_POST] = post_id
    st.switch_page(state.ITEM_PAGE, query_params={state.POST_PARAM: post_id})


for post in result.items:
    with st.container(border=True):
        c_level, c_body, c_action = st.columns([1.4, 7, 1.2], vertical_alignment="center")
        with c_level:
            label, color = level_badge(post.level)
            st.badge(label, color=color)
            st.caption(escape_markdown(post.topic or "其他"))
            if post.drill:
                st.badge("演练", color="violet")
        with c_body:
            st.text(plain(post.title or post.text, 120))
            if post.title:
                st.text(plain(post.text, 160))
            meta = [
                escape_markdown(ctx.settings.source_label(post.source) if post.source else "未知来源"),
                format_time(post.display_time),
                escape_markdown(sentiment_label(post.sentiment_label)),
                f"状态：{alert_status_label(statuses.get(post.id))}",
            ]
            if similar.get(post.id, 1) > 1:
                meta.append(f"相似稿 {similar[post.id]} 条（{'转载/抄发' if post.dup_of else '首发'}）")
            st.caption(" · ".join(meta))
            if post.reasons:
                st.caption("预警原因：" + escape_markdown(join_list(post.reasons, "；")))
        with c_action:
            if st.button("查看详情", key=f"desk.triage.open.{post.id}", type="primary"):
                _open_item(post.id)

# ----------------------------------------------------------------------------- paging


def _go_to(target: int) -> None:
    st.session_state[state.TRIAGE_PAGE_NO] = max(1, target)


p1, p2, p3 = st.columns([1, 2, 1])
p1.button("上一页", on_click=_go_to, args=(page_no - 1,), disabled=page_no <= 1, key="desk.triage.prev")
p2.caption(f"第 {page_no} / {pages} 页")
p3.button("下一页", on_click=_go_to, args=(page_no + 1,), disabled=page_no >= pages, key="desk.triage.next")

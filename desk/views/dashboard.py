"""态势总览 — the managers' dashboard: posts over time (volume, sentiment, levels), top sources, top
events, and the open escalation records by age and clock state, worst first.

For 负责人 and 管理员 only (the page is not registered for officers, and it checks the role itself).
The figures are computed in playbooks.dashboard; this page only draws them. Drills are left out
unless the 包含演练数据 toggle is on.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta

import altair as alt
import pandas as pd
import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from desk import state
from desk.ui import format_deadline, format_duration, format_time, level_label, plain
from playbooks.authz import role_allows
from playbooks.clocks import CLOCK_STATE_LABELS, CLOCK_STATES, unacknowledged_alerts
from playbooks.dashboard import (
    MAX_BUCKETS,
    SHANGHAI,
    RangeError,
    age_bands,
    clock_state_counts,
    day_range,
    default_range,
    open_escalations,
    post_figures,
    top_events,
)
from store.models import utcnow
from store.posts_sqlite import StoreUnavailable

# who may see the managers' views: those who may generate reports (负责人 and above)
PERMISSION = "report.generate"
RANGE_KEY = "desk.dash.range"
UNIT_KEY = "desk.dash.unit"
DRILL_KEY = "desk.dash.drill"
UNITS = {"day": "按天", "hour": "按小时"}
SENTIMENT_COLORS = {"负面": "#d62728", "中性": "#9e9e9e", "正面": "#2ca02c"}
LEVEL_COLORS = {"I 级": "#d62728", "II 级": "#ff7f0e", "III 级": "#e6c200", "IV 级": "#1f77b4"}
CLOCK_COLORS = {
    "已超时": "#d62728",
    "即将超时": "#ff7f0e",
    "超时完成": "#e6a100",
    "进行中": "#1f77b4",
    "已按时完成": "#2ca02c",
    "本级不要求": "#9e9e9e",
}

state.init_session_state()
ctx = state.get_context()
actor = state.current_actor()
if actor is None or not role_allows(actor.role, PERMISSION):
    st.error("态势总览仅供负责人和管理员查看。")
    st.stop()

st.title("态势总览")

now = utcnow()
today = now.astimezone(SHANGHAI).date()


default_note = ""
default_first, default_last = today - timedelta(days=6), today
if RANGE_KEY not in st.session_state:  # the first look: open on a week that has posts
    with contextlib.suppress(StoreUnavailable, ValueError):  # the figures below say the store is down
        default_first, default_last, default_note = default_range(ctx.index, today)
f1, f2, f3 = st.columns([3, 2, 2], vertical_alignment="bottom")
picked = f1.date_input(
    "日期范围（北京时间）",
    value=(default_first, default_last),
    max_value=today,
    key=RANGE_KEY,
    format="YYYY-MM-DD",
)
unit = (
    f2.segmented_control("统计粒度", list(UNITS), default="day", format_func=UNITS.get, key=UNIT_KEY) or "day"
)
include_drills = f3.toggle("包含演练数据", key=DRILL_KEY, help="默认不计入演练：演练不计入生产统计。")
if default_note:
    st.caption(default_note)

if not isinstance(picked, tuple | list) or len(picked) != 2:
    st.info("请选择开始和结束日期。")
    st.stop()
try:
    start, end = day_range(picked[0], picked[1])
    if unit == "hour" and (end - start) > timedelta(hours=MAX_BUCKETS):
        raise RangeError(f"按小时统计最多 {MAX_BUCKETS // 24} 天，请缩短日期范围或改为按天。")
except RangeError as exc:
    st.warning(str(exc))
    st.stop()
if include_drills:
    st.caption("⚠️ 当前统计包含演练数据，不可作为生产数据引用。")

try:
    figs = post_figures(ctx.index, start=start, end=end, unit=unit, include_drills=include_drills)
except StoreUnavailable:
    st.error("帖子索引暂时无法读取，请稍后刷新；如持续失败请联系管理员。")
    st.stop()

playbooks, playbook_problem = state.playbooks_or_none(ctx)
if playbook_problem:
    st.warning(playbook_problem)
try:
    with ctx.records.session() as s:
        events = top_events(s, index=ctx.index, start=start, end=end, include_drills=include_drills)
        open_rows = open_escalations(s, playbooks=playbooks, now=now, include_drills=include_drills)
        waiting = [
            {"id": a.id, "post_id": a.post_id, "level": a.level, "title": a.title or a.snippet[:60],
             "assignee": a.assignee, "clock": c}
            for a, c in unacknowledged_alerts(s, playbooks=playbooks, now=now, include_drills=include_drills)
        ]  # fmt: skip
except SQLAlchemyError:
    st.error("处置记录库暂时无法读取，请稍后刷新；如持续失败请联系管理员。")
    st.stop()

counts = clock_state_counts(open_rows)
alerts_overdue = sum(1 for w in waiting if w["clock"].state == "breached")
m = st.columns(5)
m[0].metric("帖子总数", f"{figs.total:,}")
m[1].metric("负面帖子", f"{figs.negative:,}", help="情绪为负面的帖子数")
m[2].metric("预警帖子", f"{figs.flagged:,}", help="定级（I–IV 级）的帖子数")
m[3].metric("未结处置记录", len(open_rows))
m[4].metric(
    "时限已超时",
    counts["breached"] + alerts_overdue,
    help=f"未结处置记录 {counts['breached']} 条（最紧迫时限已超时）+ 超过确认时限仍无人确认的预警 {alerts_overdue} 条",
)

# ----------------------------------------------------------------------------- posts over time

rows = pd.DataFrame(figs.rows())
# one band per bucket, labelled 10-01 or 10-01 09时 (Beijing time), in time order
time_x = alt.X("时段:O", title="时间", sort=None, axis=alt.Axis(labelAngle=-45, labelOverlap=True))
ROW = alt.Step(30)  # height of one bar in the horizontal bar charts


def count_axis(title: str) -> alt.Axis:
    """A count axis: whole numbers only."""
    return alt.Axis(title=title, format="d", tickMinStep=1)


def _series(name: str) -> pd.DataFrame:
    return rows[rows["序列"] == name] if not rows.empty else rows


st.subheader("发帖量")
st.altair_chart(
    alt.Chart(_series("发帖量"))
    .mark_bar(color="#1f77b4")
    .encode(
        x=time_x,
        y=alt.Y("数量:Q", axis=count_axis("帖子数")),
        tooltip=[
            alt.Tooltip("时段:O", title="时间"),
            alt.Tooltip("数量:Q", title="帖子数"),
        ],
    )
    .properties(height=220),
    width="stretch",
)

c1, c2 = st.columns(2)
with c1:
    st.subheader("情绪走势")
    st.altair_chart(
        alt.Chart(_series("情绪"))
        .mark_line(point=True)
        .encode(
            x=time_x,
            y=alt.Y("数量:Q", axis=count_axis("帖子数")),
            color=alt.Color(
                "类别:N",
                title="情绪",
                scale=alt.Scale(domain=list(SENTIMENT_COLORS), range=list(SENTIMENT_COLORS.values())),
            ),
            tooltip=[alt.Tooltip("类别:N", title="情绪"), alt.Tooltip("数量:Q", title="帖子数")],
        )
        .properties(height=260),
        width="stretch",
    )
with c2:
    st.subheader("预警级别走势")
    st.altair_chart(
        alt.Chart(_series("级别"))
        .mark_bar()
        .encode(
            x=time_x,
            y=alt.Y("数量:Q", axis=count_axis("预警帖子数"), stack=True),
            color=alt.Color(
                "类别:N",
                title="级别",
                scale=alt.Scale(domain=list(LEVEL_COLORS), range=list(LEVEL_COLORS.values())),
            ),
            order=alt.Order("类别:N"),
            tooltip=[alt.Tooltip("类别:N", title="级别"), alt.Tooltip("数量:Q", title="帖子数")],
        )
        .properties(height=260),
        width="stretch",
    )

# ----------------------------------------------------------------------------- sources and events

c3, c4 = st.columns(2)
with c3:
    st.subheader("主要来源")
    if figs.sources:
        src = pd.DataFrame(
            [
                {"来源": ctx.settings.source_label(k) if k != "—" else "未知来源", "帖子数": v}
                for k, v in figs.sources
            ]
        )
        st.altair_chart(
            alt.Chart(src)
            .mark_bar(color="#1f77b4")
            .encode(
                x=alt.X("帖子数:Q", axis=count_axis("帖子数")),
                y=alt.Y("来源:N", title="来源", sort="-x"),
                tooltip=["来源:N", "帖子数:Q"],
            )
            .properties(height=ROW),
            width="stretch",
        )
    else:
        st.caption("所选范围内没有帖子。")
with c4:
    st.subheader("热点事件")
    if events:
        ev = pd.DataFrame(
            [
                {
                    "事件": plain(e.title, 24) or e.event_id,
                    "预警数": e.alerts,
                    "最高级别": level_label(e.worst_level),
                }
                for e in events
            ]
        )
        st.altair_chart(
            alt.Chart(ev)
            .mark_bar(color="#ff7f0e")
            .encode(
                x=alt.X("预警数:Q", axis=count_axis("预警帖子数")),
                y=alt.Y("事件:N", title="事件（首条标题）", sort="-x"),
                tooltip=["事件:N", "预警数:Q", "最高级别:N"],
            )
            .properties(height=ROW),
            width="stretch",
        )
    else:
        st.caption("所选范围内没有成组的预警事件。")

if events:
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "首条标题": plain(e.title, 80),
                    "预警数": e.alerts,
                    "最高级别": level_label(e.worst_level),
                    "来源": "、".join(plain(x) for x in ctx.source_names.many(e.sources)[:5]),
                    "首次发现": format_time(e.first_seen),
                    "最近发现": format_time(e.last_seen),
                }
                for e in events
            ]
        ),
        hide_index=True,
        width="stretch",
    )

# ----------------------------------------------------------------------------- alerts nobody acknowledged

st.subheader("待确认预警（按确认时限排序）")
if not waiting:
    st.success("目前没有待确认的预警。")
else:
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "预警": w["id"],
                    "级别": level_label(w["level"]),
                    "标题": plain(w["title"], 60),
                    "指派": plain(w["assignee"]) or "未指派",
                    "确认时限": format_duration(w["clock"].minutes or 0),
                    "确认状态": w["clock"].label,
                    "剩余时间": format_deadline(w["clock"].due_at, now),
                }
                for w in waiting
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    st.caption("确认时限自预警生成时起算；超时未确认的预警按升级链通知（值守台运行时自动检查）。")

# ----------------------------------------------------------------------------- open escalations

st.subheader("未结处置记录（按时限状态排序）")
if not open_rows:
    st.success("目前没有未结的处置记录。")
else:
    c5, c6 = st.columns(2)
    with c5:
        cs = pd.DataFrame(
            [{"时限状态": CLOCK_STATE_LABELS[k], "记录数": counts[k]} for k in CLOCK_STATES if counts[k]]
        )
        st.altair_chart(
            alt.Chart(cs)
            .mark_bar()
            .encode(
                x=alt.X("记录数:Q", axis=count_axis("处置记录数")),
                y=alt.Y(
                    "时限状态:N", title="最紧迫时限状态", sort=[CLOCK_STATE_LABELS[k] for k in CLOCK_STATES]
                ),
                color=alt.Color(
                    "时限状态:N",
                    legend=None,
                    scale=alt.Scale(domain=list(CLOCK_COLORS), range=list(CLOCK_COLORS.values())),
                ),
                tooltip=["时限状态:N", "记录数:Q"],
            )
            .properties(height=ROW),
            width="stretch",
        )
    with c6:
        ages = pd.DataFrame([{"已历时": k, "记录数": v} for k, v in age_bands(open_rows).items()])
        st.altair_chart(
            alt.Chart(ages)
            .mark_bar(color="#1f77b4")
            .encode(
                x=alt.X(
                    "已历时:N", title="自预警起已历时", sort=list(ages["已历时"]), axis=alt.Axis(labelAngle=0)
                ),
                y=alt.Y("记录数:Q", axis=count_axis("处置记录数")),
                tooltip=["已历时:N", "记录数:Q"],
            )
            .properties(height=200),
            width="stretch",
        )

    def _left(r) -> str:
        left = r.time_left
        if left is None:
            return "—"
        minutes = left.total_seconds() / 60
        if r.worst == "met_late":
            return f"超时 {format_duration(minutes)}完成"
        return f"剩余 {format_duration(minutes)}" if minutes >= 0 else f"已超时 {format_duration(minutes)}"

    table = pd.DataFrame(
        [
            {
                "编号": r.id,
                "级别": level_label(r.level),
                "状态": r.state_label,
                "承办人": plain(r.owner) or "—",
                "标题": plain(r.title, 60),
                "已历时": format_duration(r.age.total_seconds() / 60),
                "最紧迫时限": plain(r.worst_clock.name) if r.worst_clock else "—",
                "时限状态": r.worst_label,
                "剩余时间": _left(r),
                "演练": "是" if r.drill else "",
            }
            for r in open_rows
        ]
    )
    if not include_drills:
        table = table.drop(columns=["演练"])
    st.dataframe(table, hide_index=True, width="stretch")
    st.caption("时限自预警生成时起算；排序：时限状态（已超时在前）→ 级别 → 剩余时间。")

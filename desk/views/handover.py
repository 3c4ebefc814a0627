"""交接班 — the shift handover: what the last shift left (确认接班), and the note for the next one, with the
open alerts, the records being worked and what waits on whom filled in by the desk (playbooks/handover.py).
Writing and taking over are audited."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from desk import state
from desk.ui import escape_markdown, format_time, level_label, plain, to_shanghai
from playbooks import handover, people
from playbooks.authz import PermissionDenied
from store.models import utcnow

FORM = "desk.handover.form"

state.init_session_state()
ctx = state.get_context()
actor = state.current_actor()
st.title("交接班")
state.show_flash()
library, library_error = state.playbooks_or_none(ctx)


def _take_over(handover_id: int, version: int) -> None:
    try:
        with ctx.records.session() as s:
            row = handover.take_over(s, state.current_actor(), handover_id, expected_version=version)
            shift = row.shift
    except (handover.HandoverError, PermissionDenied) as exc:
        state.flash("warning", str(exc))
        return
    state.flash("success", f"已确认接班（{shift or '交接记录 #' + str(handover_id)}），已记入审计日志。")


def _write() -> None:
    ss = st.session_state
    try:
        with ctx.records.session() as s:
            row = handover.write(
                s, state.current_actor(), playbooks=library, shift=str(ss.get(f"{FORM}.shift") or ""),
                watch=str(ss.get(f"{FORM}.watch") or ""), note=str(ss.get(f"{FORM}.note") or ""),
                to_user=str(ss.get(f"{FORM}.to") or ""),
            )  # fmt: skip
            row_id = row.id
    except (handover.HandoverError, PermissionDenied) as exc:
        state.flash("warning", str(exc))
        return
    for key in ("watch", "note"):
        ss[f"{FORM}.{key}"] = ""
    state.flash("success", f"交接记录 #{row_id} 已保存；下一班值班员确认接班后生效。")


def _situation(sit: dict, names: dict[str, str]) -> None:
    """The open alerts, records and what waits on whom, as the note keeps them."""
    alerts, records, waiting = sit.get("alerts", []), sit.get("records", []), sit.get("waiting", [])
    st.markdown(
        f"**待确认预警 {sit.get('alerts_total', len(alerts))} 条 · 未结处置记录 {sit.get('records_total', len(records))} 条**"
    )
    if alerts:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "预警": a["id"],
                        "级别": level_label(a.get("level")),
                        "标题": plain(a.get("title"), 60),
                        "指派": plain(a.get("assignee")) or "未指派",
                        "确认时限": format_time(a.get("due_at")),
                        "状态": "已超时" if a.get("state") == "breached" else "未超时",
                    }
                    for a in alerts
                ]
            ),
            hide_index=True,
        )
    if records:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "处置记录": f"#{r['id']}",
                        "级别": level_label(r.get("level")),
                        "状态": r.get("state"),
                        "承办人": plain(r.get("owner")) or "未指定",
                        "时限": r.get("worst"),
                        "标题": plain(r.get("title"), 60),
                    }
                    for r in records
                ]
            ),
            hide_index=True,
        )
    if waiting:
        st.markdown("**等待事项（谁 → 什么）**")
        for w in waiting:
            st.text(f"• {plain(w.get('who'))} → {plain(w.get('what'), 120)}")


with ctx.records.session() as s:
    names = people.names(s)
    mine = handover.waiting_for(s, actor.username) if actor else []
    history = handover.recent(s)
    now_situation = handover.situation(s, playbooks=library, now=utcnow())

# ----------------------------------------------------------------------------- taking over
st.subheader("接班")
if not mine:
    st.caption("没有待您确认的交接记录。")
for h in mine:
    with st.container(border=True):
        st.markdown(
            f"**{escape_markdown(h.shift) or '交接记录'}** · {escape_markdown(names.get(h.written_by, h.written_by))}"
            f" 于 {format_time(h.written_at)} 交班"
            + (f" · 交给 {escape_markdown(names.get(h.to_user, h.to_user))}" if h.to_user else "")
        )
        st.markdown("**下一班须关注**")
        st.text(plain(h.watch))
        if h.note:
            st.markdown("**其他说明**")
            st.text(plain(h.note))
        _situation(h.situation, names)
        st.button("确认接班", key=f"desk.handover.take.{h.id}", type="primary", on_click=_take_over,
                  args=(h.id, h.version))  # fmt: skip

# ----------------------------------------------------------------------------- handing over
st.subheader("交班")
with st.expander("本班现状（保存交接记录时一并保存）", expanded=False):
    _situation(now_situation, names)
local = to_shanghai(utcnow())
default_shift = f"{local:%m月%d日} {'夜班' if local.hour >= 20 or local.hour < 8 else '白班'}"
with st.form(FORM, clear_on_submit=False):
    c1, c2 = st.columns(2)
    c1.text_input("班次", key=f"{FORM}.shift", value=default_shift, max_chars=80)
    c2.selectbox("交给（可不选：下一班任一值班员确认）", [""] + sorted(u for u in names if u != (actor.username if actor else "")),
                 format_func=lambda u: names.get(u, u) if u else "下一班值班员", key=f"{FORM}.to")  # fmt: skip
    st.text_area("下一班须关注（必填）", key=f"{FORM}.watch", max_chars=handover.MAX_TEXT,
                 placeholder="例如：#12 交易系统故障仍在处置，09:30 开盘前确认 APP 登录恢复；等合规审核口径稿 #3")  # fmt: skip
    st.text_area("其他说明", key=f"{FORM}.note", max_chars=handover.MAX_TEXT)
    st.form_submit_button("保存交接记录", type="primary", on_click=_write)

# ----------------------------------------------------------------------------- history
st.subheader("交接记录")
if history:
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "编号": h.id,
                    "班次": plain(h.shift),
                    "交班人": names.get(h.written_by, h.written_by),
                    "交班时间": format_time(h.written_at),
                    "接班人": names.get(h.acknowledged_by, h.acknowledged_by)
                    if h.acknowledged_by
                    else "待确认",
                    "接班时间": format_time(h.acknowledged_at) if h.acknowledged_at else "—",
                    "待确认预警": h.situation.get("alerts_total", 0),
                    "未结记录": h.situation.get("records_total", 0),
                    "须关注": plain(h.watch, 60),
                }
                for h in history
            ]
        ),
        hide_index=True,
        width="stretch",
    )
else:
    st.caption("还没有交接记录。")

"""处置记录 — escalation records: the list, and for one of them its state changes and audit trail."""

from __future__ import annotations

import pandas as pd
import streamlit as st
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm.exc import StaleDataError

from desk import state
from desk.ui import (
    audit_action_label,
    escape_markdown,
    format_age,
    format_detail,
    format_time,
    level_badge,
    level_label,
    plain,
)
from playbooks.escalation import (
    OPEN_STATES,
    STATE_LABELS,
    STATES,
    EscalationError,
    StaleEscalation,
    allowed_next,
    assign,
    transition,
)
from store.models import utcnow
from store.records import audit_trail, list_escalations

SELECT_KEY = "desk.esc.select"
NOTE_KEY = "desk.esc.note"
ASSIGN_KEY = "desk.esc.assign_to"
MAX_NOTE = 500

state.init_session_state()
ctx = state.get_context()

st.title("处置记录")
state.show_flash()

f1, f2 = st.columns([4, 1], vertical_alignment="bottom")
states = f1.multiselect(
    "状态",
    STATES,
    default=list(OPEN_STATES),
    format_func=lambda s: STATE_LABELS.get(s, s),
    key="desk.esc.states",
    placeholder="全部状态",
)
include_drill = f2.toggle("包含演练", key="desk.esc.drill")

now = utcnow()
try:
    with ctx.records.session() as s:
        rows = [
            {
                "id": e.id,
                "state": e.state,
                "level": e.level,
                "playbook_id": e.playbook_id,
                "owner": e.owner,
                "opened_by": e.opened_by,
                "opened_at": e.opened_at,
                "version": e.version,
                "summary": e.summary,
                "drill": e.drill,
                "post_id": e.alert.post_id,
                "title": e.alert.title or e.alert.snippet,
            }
            for e in list_escalations(s, states=states or None, drill=None if include_drill else False)
        ]
except SQLAlchemyError:
    st.error("处置记录库暂时无法读取，请稍后刷新；如持续失败请联系管理员。")
    st.stop()

if not rows:
    st.info("没有符合条件的处置记录。" if states else "还没有处置记录。")
    st.stop()


def _playbook_name(playbook_id: str | None) -> str:
    library, _ = state.playbooks_or_none(ctx)
    pb = next((p for p in library if p.id == playbook_id), None)
    return pb.name if pb else (playbook_id or "—")


st.dataframe(
    pd.DataFrame(
        [
            {
                "编号": f"#{r['id']}",
                "状态": STATE_LABELS.get(r["state"], r["state"]),
                "级别": level_label(r["level"]),
                "预案": _playbook_name(r["playbook_id"]),
                "负责人": r["owner"] or "未指定",
                "开启人": r["opened_by"],
                "开启时间（北京）": format_time(r["opened_at"]),
                "已持续": format_age(r["opened_at"], now),
                "预警": plain(r["title"], 60),
                "演练": "演练" if r["drill"] else "",
            }
            for r in rows
        ]
    ),
    hide_index=True,
    key="desk.esc.table",
)

# ----------------------------------------------------------------------------- one record

by_id = {r["id"]: r for r in rows}
ids = list(by_id)
wanted = st.session_state.get(state.SELECTED_ESCALATION)
if st.session_state.get(SELECT_KEY) not in ids:
    st.session_state[SELECT_KEY] = wanted if wanted in ids else ids[0]
chosen = st.selectbox(
    "选择处置记录",
    ids,
    key=SELECT_KEY,
    format_func=lambda i: (
        f"#{i} · {STATE_LABELS.get(by_id[i]['state'], '')} · {plain(by_id[i]['title'], 40)}"
    ),
)
st.session_state[state.SELECTED_ESCALATION] = chosen
esc = by_id[chosen]


def _transition(esc_id: int, to_state: str, version: int, actor: str) -> None:
    """Button callback. ``version`` is the one on screen when the button was drawn, so a change made
    by someone else in between is refused instead of silently overwritten."""
    if not actor:
        state.flash("warning", "请先在左侧栏填写值班员姓名。")
        return
    note = plain(st.session_state.get(NOTE_KEY), MAX_NOTE).strip()
    try:
        with ctx.records.session() as s:
            rec = transition(
                s, escalation_id=esc_id, to_state=to_state, actor=actor, note=note, expected_version=version
            )
            after = rec.state
    except StaleEscalation as exc:
        state.flash("warning", str(exc))
        return
    except StaleDataError:
        state.flash("warning", f"处置记录 {esc_id} 已被他人修改，请刷新后再操作")
        return
    except EscalationError as exc:
        state.flash("error", str(exc))
        return
    except SQLAlchemyError:
        state.flash("error", "处置记录库暂时无法写入，请稍后重试；如持续失败请联系管理员。")
        return
    st.session_state[NOTE_KEY] = ""
    state.flash("success", f"处置记录 #{esc_id} 已变为「{STATE_LABELS[after]}」。")


def _assign(esc_id: int, actor: str) -> None:
    owner = state.clean_officer_name(st.session_state.get(ASSIGN_KEY))
    if not actor or not owner:
        state.flash("warning", "请填写值班员姓名和要转交的负责人姓名。")
        return
    try:
        with ctx.records.session() as s:
            assign(s, escalation_id=esc_id, owner=owner, actor=actor)
    except EscalationError as exc:
        state.flash("error", str(exc))
        return
    except SQLAlchemyError:
        state.flash("error", "处置记录库暂时无法写入，请稍后重试。")
        return
    st.session_state[ASSIGN_KEY] = ""
    state.flash("success", f"处置记录 #{esc_id} 已转交给 {owner}。")


def _open_item(post_id: str) -> None:
    st.session_state[state.SELECTED_POST] = post_id
    st.switch_page(state.ITEM_PAGE, query_params={state.POST_PARAM: post_id})


with st.container(border=True):
    label, color = level_badge(esc["level"])
    h1, h2, h3 = st.columns([1, 1.4, 6])
    h1.badge(f"#{esc['id']}", color="gray")
    h2.badge(label, color=color)
    if esc["drill"]:
        h3.badge("演练", color="violet")
    st.markdown(f"**当前状态：{STATE_LABELS.get(esc['state'], escape_markdown(esc['state']))}**")
    st.text(plain(esc["title"], 200))
    st.markdown(
        "  \n".join(
            [
                f"**预案**：{escape_markdown(_playbook_name(esc['playbook_id']))}",
                f"**负责人**：{escape_markdown(esc['owner'] or '未指定')}",
                f"**开启**：{escape_markdown(esc['opened_by'])} · {format_time(esc['opened_at'])}"
                f"（已持续 {format_age(esc['opened_at'], now)}）",
            ]
        )
    )
    if esc["summary"]:
        st.text(plain(esc["summary"]))
    if st.button("查看预警详情", key="desk.esc.open_item"):
        _open_item(esc["post_id"])

officer = state.officer()
nexts = allowed_next(esc["state"])
st.subheader("变更状态")
if not nexts:
    st.caption("该记录已结束，没有后续状态。")
else:
    if not officer:
        st.caption("请先在左侧栏填写值班员姓名，才能变更状态。")
    st.text_input("备注（可选，将记入审计日志）", key=NOTE_KEY, max_chars=MAX_NOTE)
    cols = st.columns(len(nexts))
    for col, nxt in zip(cols, nexts, strict=True):
        col.button(
            f"转为「{STATE_LABELS[nxt]}」",
            key=f"desk.esc.to.{nxt}",
            disabled=not officer,
            on_click=_transition,
            args=(esc["id"], nxt, esc["version"], officer),
            type="primary" if nxt in ("acknowledged", "responding") else "secondary",
        )

    with st.expander("转交负责人"):
        st.text_input("负责人姓名", key=ASSIGN_KEY, max_chars=state.MAX_OFFICER_NAME)
        st.button(
            "转交", key="desk.esc.assign", disabled=not officer, on_click=_assign, args=(esc["id"], officer)
        )

st.subheader("审计记录")
with ctx.records.session() as s:
    trail = [
        {
            "时间（北京）": format_time(a.at, with_seconds=True),
            "操作人": a.actor,
            "操作": audit_action_label(a.action),
            "详情": format_detail(a.detail),
        }
        for a in audit_trail(s, entity="escalation", entity_id=esc["id"])
    ]
if trail:
    st.dataframe(pd.DataFrame(trail), hide_index=True, key="desk.esc.audit")
else:
    st.caption("暂无审计记录。")

"""传言登记 — the rumor register: the firm's clarifications and the claims they refuted.

A new post that repeats a registered claim (its keywords, or most of its wording) is flagged 不实, and
the alert's reasons name the claim and link the clarification. Entries are never deleted: one that no
longer applies is switched off (停用), so the audit trail keeps what the desk matched against and when.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from desk import state
from desk.ui import escape_markdown, format_time, plain
from playbooks.authz import PermissionDenied, require
from store.rumors import MAX_CLAIM, RumorInputError, add_rumor, list_rumors, update_rumor

ADD = "desk.rumor.add"
EDIT = "desk.rumor.edit"
SELECT_KEY = "desk.rumor.select"
FIELDS = ("claim", "clarification", "url", "date", "keywords")

state.init_session_state()
ctx = state.get_context()

st.title("传言登记")
st.caption(
    "登记公司已澄清的传言。新帖子与登记的传言相符（关键词全部出现，或措辞大部分相同）时标为「不实」，"
    "预警理由中写明对应的传言和澄清链接；辟谣、澄清类帖子本身不算传言。修改约半分钟后对新采集的帖子生效。"
)
state.show_flash()


def _values(prefix: str) -> dict[str, str]:
    ss = st.session_state
    return {
        "claim": ss.get(f"{prefix}.claim", ""),
        "clarification": ss.get(f"{prefix}.clarification", ""),
        "url": ss.get(f"{prefix}.url", ""),
        "date_text": ss.get(f"{prefix}.date", ""),
        "keywords": ss.get(f"{prefix}.keywords", ""),
    }


def _add() -> None:
    try:
        actor = require(state.current_actor(), "rumor.edit").username
    except PermissionDenied as exc:
        state.flash("warning", str(exc))
        return
    try:
        with ctx.records.session() as s:
            entry = add_rumor(s, actor=actor, **_values(ADD))
            rid = entry.id
    except RumorInputError as exc:
        state.flash("warning", str(exc))
        return
    except SQLAlchemyError:
        state.flash("error", "传言登记库暂时无法写入，请稍后重试；如持续失败请联系管理员。")
        return
    for f in FIELDS:
        st.session_state[f"{ADD}.{f}"] = ""
    state.flash("success", f"已登记传言 #{rid}。")


def _save(rumor_id: int) -> None:
    try:
        actor = require(state.current_actor(), "rumor.edit").username
    except PermissionDenied as exc:
        state.flash("warning", str(exc))
        return
    prefix = f"{EDIT}.{rumor_id}"
    try:
        with ctx.records.session() as s:
            update_rumor(
                s,
                rumor_id=rumor_id,
                actor=actor,
                active=bool(st.session_state.get(f"{prefix}.active", True)),
                **_values(prefix),
            )
    except RumorInputError as exc:
        state.flash("warning", str(exc))
        return
    except SQLAlchemyError:
        state.flash("error", "传言登记库暂时无法写入，请稍后重试；如持续失败请联系管理员。")
        return
    state.flash("success", f"传言登记 #{rumor_id} 已保存。")


try:
    with ctx.records.session() as s:
        rows = [
            {
                "id": r.id,
                "claim": r.claim,
                "clarification": r.clarification,
                "url": r.url,
                "date": r.date,
                "keywords": list(r.keywords or []),
                "added_by": r.added_by,
                "active": r.active,
                "updated_at": r.updated_at,
            }
            for r in list_rumors(s)
        ]
except SQLAlchemyError:
    st.error("传言登记库暂时无法读取，请稍后刷新；如持续失败请联系管理员。")
    st.stop()

if rows:
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "编号": f"#{r['id']}",
                    "传言": plain(r["claim"], 60),
                    "关键词": "、".join(plain(k, 30) for k in r["keywords"]),
                    "澄清日期": r["date"] or "—",
                    "澄清链接": plain(r["url"], 200),
                    "登记人": plain(r["added_by"], 40),
                    "状态": "有效" if r["active"] else "已停用",
                    "更新时间（北京）": format_time(r["updated_at"]),
                }
                for r in rows
            ]
        ),
        hide_index=True,
        key="desk.rumor.table",
        column_config={"澄清链接": st.column_config.LinkColumn("澄清链接")},
    )
else:
    st.info("还没有登记的传言。")

with st.expander("登记新传言", expanded=not rows):
    with st.form(ADD, clear_on_submit=False):
        st.text_area(
            "传言内容（必填）",
            key=f"{ADD}.claim",
            max_chars=MAX_CLAIM,
            placeholder="例如：华鼎证券总经理被带走调查",
        )
        st.text_input(
            "关键词（用空格或逗号分隔；全部出现即视为相符）",
            key=f"{ADD}.keywords",
            placeholder="例如：华鼎 被带走",
        )
        st.text_area("澄清内容", key=f"{ADD}.clarification")
        st.text_input("澄清链接", key=f"{ADD}.url", placeholder="https://")
        st.text_input("澄清日期（YYYY-MM-DD）", key=f"{ADD}.date")
        st.form_submit_button("登记", on_click=_add)
    if not state.current_actor():
        st.caption("登录后才能登记和修改。")

if rows:
    st.subheader("修改登记")
    by_id = {r["id"]: r for r in rows}
    if st.session_state.get(SELECT_KEY) not in by_id:
        st.session_state[SELECT_KEY] = rows[0]["id"]
    chosen = st.selectbox(
        "选择传言",
        list(by_id),
        key=SELECT_KEY,
        format_func=lambda i: f"#{i} · {plain(by_id[i]['claim'], 40)}",
    )
    r = by_id[chosen]
    prefix = f"{EDIT}.{chosen}"
    for f in FIELDS:  # the form starts from what is stored
        key = f"{prefix}.{f}"
        if key not in st.session_state:
            st.session_state[key] = "、".join(r[f]) if f == "keywords" else (r[f] or "")
    if f"{prefix}.active" not in st.session_state:
        st.session_state[f"{prefix}.active"] = r["active"]
    st.markdown(f"登记人：{escape_markdown(r['added_by'] or '—')}")
    with st.form(f"{EDIT}.form.{chosen}"):
        st.text_area("传言内容", key=f"{prefix}.claim", max_chars=MAX_CLAIM)
        st.text_input("关键词", key=f"{prefix}.keywords")
        st.text_area("澄清内容", key=f"{prefix}.clarification")
        st.text_input("澄清链接", key=f"{prefix}.url")
        st.text_input("澄清日期（YYYY-MM-DD）", key=f"{prefix}.date")
        st.checkbox("有效（取消勾选即停用，不再用于匹配）", key=f"{prefix}.active")
        st.form_submit_button("保存修改", on_click=_save, args=(chosen,))

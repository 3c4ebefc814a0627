"""一键确认预警 — the page an acknowledge link in a notification opens (``/ack?t=<token>``).

It answers without sign-in: the link itself says who may use it (playbooks/ack_links.py: its person, once,
before it expires). Opening it changes nothing — it shows the alert and one button, so a mail scanner
fetching the link acknowledges nothing; the press acknowledges the alert as that person, audited.
"""

from __future__ import annotations

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from desk import state
from desk.ui import escape_markdown, format_time, level_badge, plain
from playbooks import ack_links
from store.models import utcnow

DONE = "desk.ack.done"  # (token, message) of this browser session's press

state.init_session_state()
ctx = state.get_context()
st.title("一键确认预警")

token = str(st.query_params.get(ack_links.PARAM) or "").strip()


def _client() -> str:
    try:
        return str(getattr(st.context, "ip_address", None) or "")
    except Exception:  # noqa: BLE001 - outside a browser (AppTest)
        return ""


def _press(token: str) -> None:
    try:
        with ctx.records.session() as s:
            view, done = ack_links.use(s, token, now=utcnow(), client=_client())
    except ack_links.AckLinkInvalid as exc:
        st.session_state[DONE] = (token, "warning", str(exc))
        return
    except SQLAlchemyError:
        st.session_state[DONE] = (token, "error", "暂时无法确认：处置记录库不可用，请稍后重试或登录值守台。")
        return
    text = (
        f"已确认：{view.display_name}（经通知链接，{format_time(utcnow())}），已记入审计日志。"
        if done
        else f"该预警此前已有人确认（{view.acknowledged_by or '他人'}），无需重复操作。"
    )
    st.session_state[DONE] = (token, "success", text)


done = st.session_state.get(DONE)
if done and done[0] == token:
    {"success": st.success, "warning": st.warning, "error": st.error}[done[1]](done[2])
    st.markdown("[登录值守台处理](./)")
    st.stop()

try:
    with ctx.records.session() as s:
        view = ack_links.peek(s, token, now=utcnow())
except ack_links.AckLinkInvalid as exc:
    st.warning(str(exc))
    st.markdown("[登录值守台](./)")
    st.stop()

label, color = level_badge(view.level)
st.badge(label, color=color)
st.text(plain(view.title, 200) or "（无标题）")
st.caption(
    f"来源：{escape_markdown(ctx.source_names(view.source) or '未知')} · 预警生成：{format_time(view.alert_created_at)}"
)
if view.acknowledged_by:
    st.info(f"该预警已由 {escape_markdown(view.acknowledged_by)} 确认。")
st.markdown(
    f"本链接以 **{escape_markdown(view.display_name)}** 的身份确认这条预警，仅可使用一次，"
    f"{format_time(view.expires_at)} 前有效。"
)
st.button("确认预警", type="primary", on_click=_press, args=(token,), key="desk.ack.press")
st.markdown(f"只想查看而不确认？[登录值守台查看这条预警](./item?post={view.post_id})")

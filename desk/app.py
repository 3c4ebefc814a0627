"""舆情值守台 — the Streamlit entry point: page config, session state, the duty officer, navigation.

Run with `yuqing desk` (or `streamlit run desk/app.py` with $YUQING_CONFIG set).
Logins and roles come later; for now the officer types a name once per session, and every action
is recorded in the audit trail under that name.
"""

from __future__ import annotations

import streamlit as st

from desk import state
from desk.health_ui import show_health_sidebar
from desk.ui import escape_markdown

st.set_page_config(page_title="舆情值守台", page_icon="🛡️", layout="wide")
state.init_session_state()

ctx = state.get_context()  # a missing config or store stops here with a Chinese message


def _start_duty() -> None:
    name = state.clean_officer_name(st.session_state.get(state.OFFICER_INPUT))
    if name:
        st.session_state[state.OFFICER] = name
    else:
        state.flash("warning", "请填写值班员姓名后再开始值守。")


def _end_duty() -> None:
    st.session_state[state.OFFICER] = ""
    st.session_state[state.OFFICER_INPUT] = ""


with st.sidebar:
    firm = ctx.settings.firm
    st.markdown(f"### 舆情值守台\n{escape_markdown(firm.short_names[0] if firm.short_names else firm.name)}")
    name = state.officer()
    if name:
        st.markdown(f"当前值班员：**{escape_markdown(name)}**")
        st.button("交班 / 更换值班员", on_click=_end_duty, key="desk.end_duty")
    else:
        with st.form("desk.officer_form", clear_on_submit=False):
            st.text_input(
                "值班员姓名",
                key=state.OFFICER_INPUT,
                max_chars=state.MAX_OFFICER_NAME,
                placeholder="例如：王晓明",
                help="处置操作都会以此姓名记入审计日志。",
            )
            st.form_submit_button("开始值守", on_click=_start_duty)
        st.caption("填写姓名后才能立案和变更处置状态；浏览预警无需填写。")
    show_health_sidebar(ctx)  # a silent or failing source stays in sight on every page

pages = [
    st.Page(state.TRIAGE_PAGE, title="预警队列", icon="🚨", default=True),
    st.Page(state.ITEM_PAGE, title="预警详情", icon="📄"),
    st.Page(state.ESCALATIONS_PAGE, title="处置记录", icon="🗂️"),
    st.Page(state.HEALTH_PAGE, title="信息源健康", icon="📡"),
    st.Page("views/rumors.py", title="传言登记", icon="🧾"),
]
st.navigation(pages).run()

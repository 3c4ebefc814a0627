"""舆情值守台 — the Streamlit entry point: page config, session state, the duty officer, navigation.

Run with `yuqing desk` (or `streamlit run desk/app.py` with $YUQING_CONFIG set).
Nobody gets past the login form (desk/auth.py) without signing in; every action is recorded in the
audit trail under the signed-in username and checked against its role (playbooks.authz.require).
Pages a role cannot use are not registered for it; that is a convenience, not the check.
"""

from __future__ import annotations

import streamlit as st

from desk import auth, state
from desk.health_ui import show_health_sidebar
from desk.ui import escape_markdown

st.set_page_config(page_title="舆情值守台", page_icon="🛡️", layout="wide")
state.init_session_state()

ctx = state.get_context()  # a missing config or store stops here with a Chinese message
actor = auth.require_sign_in(ctx)  # not signed in (or expired): the login form, and the run stops


with st.sidebar:
    firm = ctx.settings.firm
    st.markdown(f"### 舆情值守台\n{escape_markdown(firm.short_names[0] if firm.short_names else firm.name)}")
    auth.sidebar_user(ctx, actor)  # 当前用户 with role, and 退出登录
    show_health_sidebar(ctx)  # a silent or failing source stays in sight on every page

# grouped by what people do, all shown (a flat list of 14 hides the last ones behind "View more")
duty = [
    st.Page(state.TRIAGE_PAGE, title="预警队列", icon="🚨", default=True),
    st.Page(state.ITEM_PAGE, title="预警详情", icon="📄"),
    st.Page(state.ESCALATIONS_PAGE, title="处置记录", icon="🗂️"),
    st.Page("views/rumors.py", title="传言登记", icon="🧾"),
    st.Page(state.HEALTH_PAGE, title="信息源健康", icon="📡"),
]
prepare = [
    st.Page("views/playbooks.py", title="预案库", icon="📚"),  # everyone reads; admins edit
    st.Page("views/roster.py", title="假期与值班", icon="📅"),  # everyone reads; admins edit (roster.edit)
    st.Page("views/drills.py", title="应急演练", icon="🎯"),  # everyone: officers take part in drills
]
manage = []
if actor.can("report.generate"):  # 负责人 and 管理员: the managers' views
    prepare.append(st.Page("views/readiness.py", title="节前准备", icon="🎌"))
    manage += [
        st.Page("views/dashboard.py", title="态势总览", icon="📊"),
        st.Page("views/notifications.py", title="通知中心", icon="📣"),
        st.Page("views/reports.py", title="报告证监局", icon="📝"),
        st.Page("views/briefs.py", title="日报与假期总结", icon="🗞️"),
    ]
if actor.can("user.manage"):
    manage.append(st.Page(state.USERS_PAGE, title="用户管理", icon="👥"))
sections = {"值守": duty, "预案与演练": prepare}
if manage:
    sections["管理"] = manage
st.navigation(sections, expanded=True).run()

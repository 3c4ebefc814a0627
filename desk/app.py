"""舆情值守台 — the Streamlit entry point: page config, session state, the duty officer, navigation.

Run with `yuqing desk` (or `streamlit run desk/app.py` with $YUQING_CONFIG set).
Nobody gets past the login form (desk/auth.py) without signing in; every action is recorded in the
audit trail under the signed-in username and checked against its role (playbooks.authz.require).
A page a role cannot use is registered for it only as a hidden page that says so in Chinese (a
shared link never ends on Streamlit's English "Page not found"); that is a convenience, not the check.

The sign-in survives a reload: the session token is kept in a cookie (desk/auth.py), and the login
form answers at every page's address, so after signing in the page that was asked for (an item link
from a notification, say) opens, with its query parameters.
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
    show_health_sidebar(ctx)  # a silent or failing source stays in sight on every page (refreshes itself)
    auth.remember_in_browser(ctx)  # the session cookie: a reload keeps the person signed in


def _not_for_role(spec: state.PageSpec):
    def page() -> None:
        st.title(spec.title)
        st.error(
            f"「{spec.title}」页面仅供{auth.roles_allowed_text(spec.permission)}使用；当前账号无权访问。"
        )
        st.page_link(state.TRIAGE_PAGE, label="返回预警队列", icon="⬅️")

    return page


sections: dict[str, list] = {}
hidden: list = []
for spec in state.PAGES:
    if spec.permission is None or actor.can(spec.permission):
        page = st.Page(
            spec.path,
            title=spec.title,
            icon=spec.icon,
            default=spec.default,
            visibility="hidden" if spec.hidden else "visible",
        )
        sections.setdefault(spec.section, []).append(page)
    else:  # answers at the same address, says who may use it
        hidden.append(
            st.Page(_not_for_role(spec), title=spec.title, url_path=spec.url_path, visibility="hidden")
        )
if hidden:
    sections.setdefault("管理", []).extend(hidden)
st.navigation(sections, expanded=True).run()

"""Sign-in for the desk: the login form, sign-out, and single sign-on through ``st.login``.

``require_sign_in(ctx)`` runs in app.py before navigation: it returns the signed-in Actor, or draws
the login form and stops the run. Who may do what is still checked in every action with
``playbooks.authz.require``; hiding a page from a role is a convenience only.

Single sign-on (optional): with ``[desk] oidc = true`` in yuqing.toml and Streamlit's ``[auth]``
section in .streamlit/secrets.toml (client id/secret, server_metadata_url, redirect_uri, cookie
secret — see the Streamlit docs for ``st.login``), the form offers 「单点登录」. After the identity
provider signs the person in, ``st.user.email`` is matched to a desk user by email
(``playbooks.users.sso_user``); an unknown or disabled email is refused and told to ask the admin. The
role always comes from the desk's own user record, never from the identity provider.
"""

from __future__ import annotations

import logging

import streamlit as st

from desk import state
from playbooks import users
from playbooks.authz import PERMISSIONS, ROLE_LABELS, ROLES, Actor
from yuqing.context import Context

log = logging.getLogger(__name__)

FORM = "desk.login_form"
USERNAME_KEY = "desk.login.username"
PASSWORD_KEY = "desk.login.password"
SIGN_OUT_KEY = "desk.sign_out"
PASSWD_FORM = "desk.passwd_form"
PASSWD_FIELDS = (
    ("desk.passwd.current", "当前密码"),
    ("desk.passwd.new", "新密码"),
    ("desk.passwd.again", "确认新密码"),
)
SSO_KEY = "desk.login.sso"  # True while this session came in through single sign-on
COOKIE_TRIED = "desk.cookie_tried"  # the cookie token this browser session already tried (not again)
# the browser keeps the session token in this cookie, so a reload (F5) or a second tab stays signed in;
# only the token's SHA-256 is in the store, and it ends (idle, absolute, sign-out) as the session does
COOKIE = "yuqing_desk_session"

ENDED_MESSAGES = {
    "expired": "登录已过期，请重新登录。",
    "revoked": "登录已失效（已在别处退出或密码已重置），请重新登录。",
    "disabled": "账号已停用，请联系管理员。",
}


def _client() -> str:
    try:
        return str(getattr(st.context, "ip_address", None) or "")
    except Exception:  # noqa: BLE001 - not available outside a browser session (AppTest)
        return ""


def _start_session(ctx: Context, s, user) -> None:
    st.session_state[state.SESSION_TOKEN] = users.open_session(s, user, policy=state.auth_policy(ctx))
    st.session_state[state.SESSION_ENDED] = ""


def _sign_in(ctx: Context) -> None:
    """The form's callback: check the name and password, open a desk session."""
    username = str(st.session_state.get(USERNAME_KEY) or "")
    password = str(st.session_state.get(PASSWORD_KEY) or "")
    st.session_state[PASSWORD_KEY] = ""  # never kept past this callback
    if not username.strip() or not password:
        state.flash("warning", "请输入用户名和密码。")
        return
    refused: users.LoginRefused | None = None
    try:
        with ctx.records.session() as s:
            try:
                user = users.authenticate(
                    s, username, password, policy=state.auth_policy(ctx), client=_client()
                )
                _start_session(ctx, s, user)
            except users.LoginRefused as exc:
                refused = exc  # caught inside the transaction: the failed attempt is committed
    except Exception:  # noqa: BLE001 - a store failure must not show a stack trace on the login page
        log.exception("sign-in failed on the store")
        state.flash("error", "暂时无法登录：处置记录库不可用，请稍后重试或联系管理员。")
        return
    if refused is not None:
        state.flash("error", str(refused))


def sign_out(ctx: Context) -> None:
    """End this browser session's desk session (the 退出登录 button's callback)."""
    token = str(st.session_state.get(state.SESSION_TOKEN) or "")
    st.session_state[COOKIE_TRIED] = _cookie_token()  # the browser's copy is forgotten on the login form
    st.session_state[state.SESSION_TOKEN] = ""
    st.session_state[state.SESSION_ENDED] = ""
    if token:
        try:
            with ctx.records.session() as s:
                users.revoke_session(s, token)
        except Exception:  # noqa: BLE001 - the token is forgotten here either way
            log.exception("could not mark a desk session revoked")
    state.flash("success", "已退出登录。")


# ----------------------------------------------------------------------------- the session cookie


def _cookie_token() -> str:
    """The session token the browser sent when it connected (reload, new tab); "" when none."""
    try:
        value = st.context.cookies.get(COOKIE) if st.context.cookies else None
    except Exception:  # noqa: BLE001 - no browser (AppTest): no cookies
        return ""
    value = str(value or "")
    return value if value.replace("-", "").replace("_", "").isalnum() and len(value) <= 100 else ""


def _cookie_script(value: str, max_age: int, secure: bool) -> str:
    # the value is a token_urlsafe string (checked above) or empty: nothing to escape
    flags = f"Path=/; Max-Age={max_age}; SameSite=Strict" + ("; Secure" if secure else "")
    return f"<script>document.cookie = '{COOKIE}={value}; {flags}';</script>"


def remember_in_browser(ctx: Context) -> None:
    """Keep this session's token in the browser's cookie (drawn in every signed-in run; runs once)."""
    token = str(st.session_state.get(state.SESSION_TOKEN) or "")
    if not token or not token.replace("-", "").replace("_", "").isalnum():
        return
    max_age = int(ctx.settings.desk.session_max_hours * 3600)
    secure = ctx.settings.desk.base_url.lower().startswith("https://")
    st.html(_cookie_script(token, max_age, secure), unsafe_allow_javascript=True)


def _forget_in_browser() -> None:
    if _cookie_token():
        st.html(_cookie_script("", 0, False), unsafe_allow_javascript=True)


def _resume_from_cookie(ctx: Context) -> Actor | None:
    """A reload or a new tab: the browser's cookie names a live session → that person, signed in."""
    token = _cookie_token()
    if not token or token == st.session_state.get(COOKIE_TRIED):
        return None
    st.session_state[COOKIE_TRIED] = token  # tried once per browser session: an ended one is not retried
    st.session_state[state.SESSION_TOKEN] = token
    return state.current_actor()  # None (and why, for the login form) when it has ended


def roles_allowed_text(permission: str | None) -> str:
    """'负责人和管理员' for a permission (everyone: '所有已登录用户')."""
    if permission is None:
        return "所有已登录用户"
    least = ROLES.index(PERMISSIONS[permission])
    return "和".join(ROLE_LABELS[r] for r in ROLES[least:])


# ----------------------------------------------------------------------------- single sign-on


def sso_available(ctx: Context) -> bool:
    """True when the config enables SSO and Streamlit has an ``[auth]`` section to do it with."""
    if not ctx.settings.desk.oidc:
        return False
    try:
        return "auth" in st.secrets
    except Exception:  # noqa: BLE001 - no secrets.toml at all
        return False


def _sso_identity() -> tuple[bool, str, bool | None]:
    """(signed in at the identity provider, email, email_verified or None when not said)."""
    try:
        user = st.user
        if not user.get("is_logged_in"):
            return False, "", None
        verified = user.get("email_verified")
        return True, str(user.get("email") or ""), None if verified is None else bool(verified)
    except Exception:  # noqa: BLE001 - st.user needs a browser session
        return False, "", None


def _sso_sign_in(ctx: Context) -> None:
    """Map the identity provider's email to a desk user and open a desk session (or say why not)."""
    _, email, verified = _sso_identity()
    refused: users.LoginRefused | None = None
    with ctx.records.session() as s:
        try:
            user = users.sso_user(s, email, email_verified=verified, client=_client())
            _start_session(ctx, s, user)
            st.session_state[SSO_KEY] = True
        except users.LoginRefused as exc:
            refused = exc
    if refused is not None:
        st.error(str(refused))
        st.button("退出单点登录", on_click=st.logout, key="desk.sso_logout")
        st.stop()


# ----------------------------------------------------------------------------- the gate


def login_form(ctx: Context) -> None:
    """The sign-in page: 用户名, 密码, 登录 (and 单点登录 when configured)."""
    st.title("舆情值守台 · 登录")
    ended = str(st.session_state.get(state.SESSION_ENDED) or "")
    if ended in ENDED_MESSAGES:
        st.warning(ENDED_MESSAGES[ended])
    state.show_flash()
    with st.form(FORM, clear_on_submit=False):
        st.text_input("用户名", key=USERNAME_KEY, max_chars=40, autocomplete="username")
        st.text_input(
            "密码",
            key=PASSWORD_KEY,
            type="password",
            max_chars=users.MAX_PASSWORD_LENGTH,
            autocomplete="current-password",
        )
        st.form_submit_button("登录", on_click=_sign_in, args=(ctx,), type="primary")
    if sso_available(ctx):
        st.button("单点登录", on_click=st.login, key="desk.sso_login")
        st.caption("单点登录后按邮箱匹配值守台账号；没有账号请联系管理员开通。")
    st.caption("账号由管理员开通（`yuqing user add`）。连续输错密码会暂时锁定账号。")


def require_sign_in(ctx: Context) -> Actor:
    """The signed-in Actor; otherwise the login form is drawn and the run stops here."""
    actor = state.current_actor() or _resume_from_cookie(ctx)
    if actor is not None:
        return actor
    # signed in at the identity provider: a desk session is opened without asking, except after one
    # ended (expired, revoked, disabled): then the form says why, and 单点登录 is one click away
    ended = st.session_state.get(state.SESSION_ENDED)
    if not ended and sso_available(ctx) and _sso_identity()[0]:
        _sso_sign_in(ctx)
        actor = state.current_actor()
        if actor is not None:
            return actor

    def login() -> None:
        _forget_in_browser()
        login_form(ctx)

    # the login form answers at every page's address (a bookmarked /triage, an item link from a
    # notification): after signing in, the rerun opens the page that was asked for, query and all
    pages = [
        st.Page(spec.path, title=spec.title, icon=spec.icon)
        if spec.public
        else st.Page(login, title="登录", icon="🔐", url_path=spec.url_path, default=spec.default)
        for spec in state.PAGES
    ]
    st.navigation(pages, position="hidden").run()
    st.stop()
    raise AssertionError("unreachable")


def sidebar_user(ctx: Context, actor: Actor) -> None:
    """当前用户 with role, and 退出登录."""
    from desk.ui import escape_markdown

    name = escape_markdown(actor.display_name or actor.username)
    extra = f"（{escape_markdown(actor.username)}）" if actor.display_name else ""
    st.markdown(f"当前用户：**{name}**{extra} · {ROLE_LABELS[actor.role]}")
    if st.session_state.get(SSO_KEY):
        if st.button("退出登录", key=SIGN_OUT_KEY):
            sign_out(ctx)
            st.session_state[SSO_KEY] = False
            st.logout()
    else:
        st.button("退出登录", key=SIGN_OUT_KEY, on_click=sign_out, args=(ctx,))
        with st.expander("修改密码"), st.form(PASSWD_FORM, clear_on_submit=False):
            for key, label in PASSWD_FIELDS:
                auto = "current-password" if key == PASSWD_FIELDS[0][0] else "new-password"
                st.text_input(label, key=key, type="password", autocomplete=auto)
            st.form_submit_button("修改密码", on_click=_change_password, args=(ctx,))


def _change_password(ctx: Context) -> None:
    """The sidebar form's callback: the signed-in person sets a new password (this session stays)."""
    ss = st.session_state
    current, new, again = (str(ss.get(key) or "") for key, _ in PASSWD_FIELDS)
    for key, _ in PASSWD_FIELDS:
        ss[key] = ""  # never kept past this callback
    actor = state.current_actor()
    if actor is None:
        state.flash("warning", "请先登录值守台。")
        return
    if new != again:
        state.flash("warning", "两次输入的新密码不一致。")
        return
    problem = ""
    try:
        with ctx.records.session() as s:
            try:
                users.change_own_password(
                    s,
                    actor.username,
                    current,
                    new,
                    keep_token=str(ss.get(state.SESSION_TOKEN) or ""),
                    policy=state.auth_policy(ctx),
                )
            except users.UserError as exc:
                problem = str(exc)  # caught inside the transaction: a wrong current password is recorded
    except Exception:  # noqa: BLE001 - the store failed: say so, no stack trace
        log.exception("password change failed on the store")
        problem = "暂时无法修改密码：处置记录库不可用，请稍后重试。"
    if problem:
        state.flash("warning", problem)
    else:
        state.flash("success", "密码已修改；您在其他地方的登录已退出。")

"""Session-state keys, their one initialiser, and the one way pages get the running Context.

Pages read and write ``st.session_state`` only through the keys named here. Everything that other
people must see (alerts, escalations, the audit trail) lives in the database, never in session state
or in the cached Context: the cache holds connections only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import streamlit as st

from playbooks import users
from playbooks.authz import Actor
from playbooks.schema import PlaybookError
from store.posts_sqlite import StoreUnavailable
from store.records import RecordsUnavailable
from yuqing.config import ConfigError, config_path, load_settings
from yuqing.context import Context, build_context

# ----------------------------------------------------------------------------- session-state keys

# the signed-in person: the desk-session token (only its SHA-256 is in the store); see current_actor()
SESSION_TOKEN = "desk.session_token"
SESSION_ENDED = "desk.session_ended"  # why the last session ended (expired, revoked, …): the login form says
SELECTED_POST = "desk.selected_post"  # post id the item page shows when the URL carries none
SELECTED_ESCALATION = "desk.selected_escalation"  # escalation id preselected on the escalations page
TRIAGE_PAGE_NO = "desk.triage.page_no"  # current page of the triage queue (widget key)
TRIAGE_FILTER_SIG = "desk.triage.filter_sig"  # the filters the page number belongs to
FLASH = "desk.flash"  # one message (kind, text) to show on the next run, e.g. after a callback

_DEFAULTS: dict[str, object] = {
    SESSION_TOKEN: "",
    SESSION_ENDED: "",
    SELECTED_POST: None,
    SELECTED_ESCALATION: None,
    TRIAGE_PAGE_NO: 1,
    TRIAGE_FILTER_SIG: None,
    FLASH: None,
}

# ----------------------------------------------------------------------------- pages (paths relative to app.py)

TRIAGE_PAGE = "views/triage.py"
ITEM_PAGE = "views/item.py"
ESCALATIONS_PAGE = "views/escalations.py"
HEALTH_PAGE = "views/health.py"  # source health: silent and failing sources (desk.health_ui links here)
USERS_PAGE = "views/users.py"  # 用户管理, registered for admins only
HANDOVER_PAGE = "views/handover.py"  # 交接班
ACK_PAGE = "views/ack.py"  # /ack?t=<token>: the acknowledge link in a notification (playbooks/ack_links.py)

POST_PARAM = "post"  # ?post=<id> on the item page


@dataclass(frozen=True)
class PageSpec:
    """One page of the desk: its file, its place in the navigation, and who may use it."""

    path: str  # relative to app.py
    title: str
    icon: str
    section: str  # 值守 | 预案与演练 | 管理
    permission: str | None = None  # None: everyone signed in; else the permission the page needs
    default: bool = False
    hidden: bool = False  # not in the navigation (reached by a link)
    public: bool = (
        False  # answers without sign-in (the notification's acknowledge link carries its own proof)
    )

    @property
    def url_path(self) -> str:
        """The page's URL path as Streamlit infers it from the file name ('views/item.py' → 'item')."""
        return Path(self.path).stem


# grouped by what people do, all shown (a flat list of 14 hides the last ones behind "View more")
PAGES: tuple[PageSpec, ...] = (
    PageSpec(TRIAGE_PAGE, "预警队列", "🚨", "值守", default=True),
    PageSpec(ITEM_PAGE, "预警详情", "📄", "值守"),
    PageSpec(ESCALATIONS_PAGE, "处置记录", "🗂️", "值守"),
    PageSpec(HANDOVER_PAGE, "交接班", "🔁", "值守"),
    PageSpec("views/rumors.py", "传言登记", "🧾", "值守"),
    PageSpec(HEALTH_PAGE, "信息源健康", "📡", "值守"),
    PageSpec("views/playbooks.py", "预案库", "📚", "预案与演练"),  # everyone reads; admins edit
    PageSpec("views/roster.py", "假期与值班", "📅", "预案与演练"),  # everyone reads; admins edit
    PageSpec("views/drills.py", "应急演练", "🎯", "预案与演练"),  # officers take part in drills
    PageSpec("views/readiness.py", "节前准备", "🎌", "预案与演练", "report.generate"),
    PageSpec("views/dashboard.py", "态势总览", "📊", "管理", "report.generate"),
    PageSpec("views/notifications.py", "通知中心", "📣", "管理", "report.generate"),
    PageSpec("views/reports.py", "报告证监局", "📝", "管理", "report.generate"),
    PageSpec("views/briefs.py", "日报与假期总结", "🗞️", "管理", "report.generate"),
    PageSpec(USERS_PAGE, "用户管理", "👥", "管理", "user.manage"),
    PageSpec(ACK_PAGE, "一键确认预警", "✅", "值守", hidden=True, public=True),
)


def init_session_state() -> None:
    """Give every key its default once; later calls change nothing (idempotent)."""
    for key, value in _DEFAULTS.items():
        if key not in st.session_state:
            st.session_state[key] = value


def auth_policy(ctx: Context) -> users.AuthPolicy:
    """Session lifetimes and the failed-login limit from ``[desk]`` in the config."""
    desk = ctx.settings.desk
    idle = timedelta(minutes=desk.session_idle_minutes)
    return users.AuthPolicy(
        idle=idle,
        touch_every=min(timedelta(seconds=60), idle / 3),  # presence is noted well within the idle limit
        absolute=timedelta(hours=desk.session_max_hours),
        max_failures=desk.max_failed_logins,
        failure_window=timedelta(minutes=desk.lockout_minutes),
        lockout=timedelta(minutes=desk.lockout_minutes),
    )


def current_actor() -> Actor | None:
    """The signed-in person of this browser session, checked against the store on every call.

    None when nobody signed in, or the session expired, was revoked (sign-out elsewhere, password
    reset) or its user was disabled; then the token is forgotten and the reason kept in
    SESSION_ENDED for the login form. Every action must still call ``playbooks.authz.require``.
    """
    token = str(st.session_state.get(SESSION_TOKEN) or "")
    if not token:
        return None
    ctx = get_context()
    try:
        with ctx.records.session() as s:
            who = users.check_session(s, token, policy=auth_policy(ctx))
    except users.SessionInvalid as exc:
        st.session_state[SESSION_TOKEN] = ""
        st.session_state[SESSION_ENDED] = exc.reason
        return None
    return Actor(username=who.username, role=who.role, display_name=who.display_name)


def flash(kind: str, text: str) -> None:
    """Keep one message for the next run (callbacks cannot draw on the page themselves)."""
    st.session_state[FLASH] = (kind, text)


def show_flash() -> None:
    """Show and forget the message kept by ``flash``."""
    msg = st.session_state.get(FLASH)
    if not msg:
        return
    st.session_state[FLASH] = None
    kind, text = msg
    {"success": st.success, "warning": st.warning, "error": st.error}.get(kind, st.info)(text)


# ----------------------------------------------------------------------------- the Context


@st.cache_resource(show_spinner="正在连接数据存储……")
def _context_for(path: str) -> Context:
    """Settings → Context, with the stores opened once so a missing store fails here, not mid-page.

    Holds connections and read-only configuration only; nothing in it is mutated per user.
    """
    ctx = build_context(load_settings(path))
    ctx.index.count()  # opens (creates) the posts index
    _ = ctx.records  # opens (creates) the records database
    return ctx


def get_context() -> Context:
    """The running Context; on a missing or broken config or store, a Chinese error and ``st.stop()``."""
    path = config_path()
    try:
        return _context_for(str(Path(path).resolve()))
    except ConfigError as exc:
        st.error(
            "无法读取配置文件，值守台未能启动。请先运行 `yuqing init` 生成 yuqing.toml，"
            "或用环境变量 YUQING_CONFIG 指向配置文件。"
        )
        st.caption(str(exc))
    except (StoreUnavailable, RecordsUnavailable) as exc:
        st.error("无法打开数据存储（帖子索引或处置记录库），请检查配置中的 [store] 路径与权限。")
        st.caption(str(exc))
    st.stop()
    raise AssertionError("unreachable")  # st.stop() raises; this keeps type checkers honest


def playbooks_or_none(ctx: Context) -> tuple[list, str]:
    """The playbook library, or ([], a Chinese message) when it cannot be loaded."""
    try:
        return ctx.playbooks, ""
    except PlaybookError as exc:
        return [], f"预案库无法加载，请联系管理员：{exc}"

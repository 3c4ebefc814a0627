"""用户管理 — desk accounts (admins only): list, add, edit, reset password, disable/enable, unlock.

Every action goes through desk/accounts.py, which checks ``require(actor, "user.manage")`` before
it calls playbooks/users.py, so a non-admin who reaches this page some other way still changes nothing. Passwords typed here
are cleared from the session state in the callback that uses them and never logged or audited.
"""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from desk import accounts, state
from desk.ui import escape_markdown, format_time
from playbooks import audit_text, users
from playbooks.authz import ROLE_LABELS, PermissionDenied, require
from playbooks.people import label as person_label

ADD = "desk.users.add"
EDIT = "desk.users.edit"
SELECT_KEY = "desk.users.select"
ROLE_OPTIONS = list(ROLE_LABELS)  # officer, manager, admin
ACTION_LABELS = {
    "user.created": "新增用户",
    "user.updated": "修改资料",
    "user.password_set": "重置密码",
    "user.password_changed": "本人修改密码",
    "user.disabled": "停用",
    "user.enabled": "启用",
    "user.unlocked": "解锁",
}
CONTACTS_HELP = '企业微信 / 钉钉 / 飞书 的用户 ID，JSON 格式，例如 {"wecom": "WangXiaoMing", "dingtalk": "0123", "feishu": "ou_xxx"}'

state.init_session_state()
ctx = state.get_context()

st.title("用户管理")
try:
    require(state.current_actor(), "user.manage")
except PermissionDenied as exc:
    st.error(str(exc))
    st.stop()
st.caption("值班员处理预警；负责人另可审批口径、结案、签发报告；管理员另可管理用户、预案与通知渠道。")
state.show_flash()


def _contacts(raw: str) -> dict:
    raw = (raw or "").strip()
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise users.UserError("联系方式不是有效的 JSON。") from exc
    if not isinstance(value, dict):
        raise users.UserError("联系方式须为 JSON 对象。")
    return value


def _act(fn, success: str, *clear: str) -> bool:
    """Run one change (a desk.accounts function given the signed-in actor); flash the outcome.

    ``clear`` keys (passwords) are emptied whatever happens. True when the change was made.
    """
    ss = st.session_state
    try:
        fn(state.current_actor())
    except (PermissionDenied, users.UserError) as exc:
        state.flash("warning", str(exc))
        return False
    except SQLAlchemyError:
        state.flash("error", "用户库暂时无法写入，请稍后重试；如持续失败请联系管理员。")
        return False
    finally:
        for key in clear:
            ss[key] = ""
    state.flash("success", success)
    return True


def _passwords_match(prefix: str) -> bool:
    ss = st.session_state
    if str(ss.get(f"{prefix}.password") or "") == str(ss.get(f"{prefix}.password2") or ""):
        return True
    ss[f"{prefix}.password"] = ss[f"{prefix}.password2"] = ""
    state.flash("warning", "两次输入的密码不一致。")
    return False


def _add() -> None:
    ss = st.session_state
    if not _passwords_match(ADD):
        return
    username = str(ss.get(f"{ADD}.username") or "").strip()
    password = str(ss.get(f"{ADD}.password") or "")

    def do(actor) -> None:
        accounts.add_user(
            ctx.records,
            actor,
            username=username,
            role=ss.get(f"{ADD}.role") or "officer",
            password=password,
            display_name=ss.get(f"{ADD}.display_name") or "",
            email=ss.get(f"{ADD}.email") or "",
            phone=ss.get(f"{ADD}.phone") or "",
            contacts=_contacts(ss.get(f"{ADD}.contacts") or ""),
        )

    if _act(do, f"已添加用户 {username}。", f"{ADD}.password", f"{ADD}.password2"):
        for f in ("username", "display_name", "email", "phone", "contacts"):
            ss[f"{ADD}.{f}"] = ""


def _save(username: str) -> None:
    ss = st.session_state
    p = f"{EDIT}.{username}"

    def do(actor) -> None:
        accounts.update_profile(
            ctx.records,
            actor,
            username,
            role=ss.get(f"{p}.role") or "officer",
            display_name=ss.get(f"{p}.display_name") or "",
            email=ss.get(f"{p}.email") or "",
            phone=ss.get(f"{p}.phone") or "",
            contacts=_contacts(ss.get(f"{p}.contacts") or ""),
        )

    _act(do, f"已保存用户 {username} 的资料。")


def _reset_password(username: str) -> None:
    p = f"{EDIT}.{username}"
    if not _passwords_match(p):
        return
    password = str(st.session_state.get(f"{p}.password") or "")
    _act(
        lambda actor: accounts.reset_password(ctx.records, actor, username, password),
        f"已重置用户 {username} 的密码，其已登录的会话均已退出。",
        f"{p}.password",
        f"{p}.password2",
    )


def _set_active(username: str, active: bool) -> None:
    _act(
        lambda actor: accounts.set_user_active(ctx.records, actor, username, active),
        f"已{'启用' if active else '停用'}用户 {username}。",
    )


def _unlock(username: str) -> None:
    _act(lambda actor: accounts.unlock_user(ctx.records, actor, username), f"已解锁用户 {username}。")


try:
    people = accounts.list_users(ctx.records, state.current_actor())
except PermissionDenied as exc:
    st.error(str(exc))
    st.stop()
except SQLAlchemyError:
    st.error("用户库暂时无法读取，请稍后重试；如持续失败请联系管理员。")
    st.stop()
people_names = {u.username: person_label(u.username, u.display_name) for u in people}


def _status(u: users.UserView) -> str:
    if not u.active:
        return "已停用"
    if u.locked():
        return "已锁定"
    return "正常"


st.subheader(f"用户（{len(people)}）")
if people:
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "用户名": u.username,
                    "姓名": u.display_name,
                    "角色": ROLE_LABELS.get(u.role, u.role),
                    "状态": _status(u),
                    "邮箱": u.email,
                    "电话": u.phone,
                    "联系方式": json.dumps(u.contacts, ensure_ascii=False) if u.contacts else "",
                    "最近登录": format_time(u.last_login_at.isoformat()) if u.last_login_at else "",
                }
                for u in people
            ]
        ),
        hide_index=True,
    )
else:
    st.info("还没有用户。")

with st.expander("添加用户", expanded=not people), st.form(ADD, clear_on_submit=False):
    st.text_input("用户名", key=f"{ADD}.username", max_chars=40, help="登录用，2–40 个字符")
    st.text_input("姓名", key=f"{ADD}.display_name", max_chars=80)
    st.selectbox("角色", ROLE_OPTIONS, format_func=ROLE_LABELS.get, key=f"{ADD}.role")
    st.text_input("邮箱", key=f"{ADD}.email", max_chars=200, help="单点登录按邮箱匹配账号")
    st.text_input("电话", key=f"{ADD}.phone", max_chars=40)
    st.text_area("联系方式（JSON）", key=f"{ADD}.contacts", help=CONTACTS_HELP, height=80)
    st.text_input(
        f"初始密码（至少 {users.MIN_PASSWORD_LENGTH} 个字符）",
        key=f"{ADD}.password",
        type="password",
        autocomplete="new-password",
    )
    st.text_input("确认密码", key=f"{ADD}.password2", type="password", autocomplete="new-password")
    st.form_submit_button("添加用户", on_click=_add, type="primary")

if people:
    st.subheader("管理用户")
    names = [u.username for u in people]
    by_name = {u.username: u for u in people}
    chosen = st.selectbox(
        "选择用户",
        names,
        key=SELECT_KEY,
        format_func=lambda n: (
            f"{n}（{by_name[n].display_name or '未填姓名'} · {ROLE_LABELS.get(by_name[n].role, '')}）"
        ),
    )
    u = by_name[chosen]
    p = f"{EDIT}.{u.username}"
    st.markdown(
        f"**{escape_markdown(u.username)}** · {_status(u)}"
        + (f" · 锁定至 {format_time(u.locked_until.isoformat())}" if u.locked() and u.locked_until else "")
    )
    cols = st.columns(3)
    if u.active:
        cols[0].button("停用", key=f"{p}.disable", on_click=_set_active, args=(u.username, False))
    else:
        cols[0].button("启用", key=f"{p}.enable", on_click=_set_active, args=(u.username, True))
    cols[1].button("解锁", key=f"{p}.unlock", on_click=_unlock, args=(u.username,), disabled=not u.locked())

    with st.form(f"{p}.profile"):
        st.text_input("姓名", value=u.display_name, key=f"{p}.display_name", max_chars=80)
        st.selectbox(
            "角色",
            ROLE_OPTIONS,
            index=ROLE_OPTIONS.index(u.role),
            format_func=ROLE_LABELS.get,
            key=f"{p}.role",
        )
        st.text_input("邮箱", value=u.email, key=f"{p}.email", max_chars=200)
        st.text_input("电话", value=u.phone, key=f"{p}.phone", max_chars=40)
        st.text_area(
            "联系方式（JSON）",
            value=json.dumps(u.contacts, ensure_ascii=False) if u.contacts else "",
            key=f"{p}.contacts",
            help=CONTACTS_HELP,
            height=80,
        )
        st.form_submit_button("保存资料", on_click=_save, args=(u.username,))

    with st.form(f"{p}.reset"):
        st.text_input("新密码", key=f"{p}.password", type="password", autocomplete="new-password")
        st.text_input("确认新密码", key=f"{p}.password2", type="password", autocomplete="new-password")
        st.form_submit_button("重置密码", on_click=_reset_password, args=(u.username,))
        st.caption("重置后该用户已登录的会话全部退出。")

    st.markdown("**变更记录**")
    try:
        history = accounts.user_history(ctx.records, state.current_actor(), u.username)
    except (PermissionDenied, SQLAlchemyError):
        history = []
        st.caption("变更记录暂时无法读取。")
    if history:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "时间（北京）": format_time(h["at"], with_seconds=True),
                        "操作人": people_names.get(h["actor"]) or person_label(h["actor"]),
                        "操作": ACTION_LABELS.get(h["action"], h["action"]),
                        "详情": audit_text.describe(h["action"], h["detail"], people_names),
                    }
                    for h in history
                ]
            ),
            hide_index=True,
            key=f"{p}.history",
        )

"""User management as the signed-in person: each function checks ``user.manage`` before touching the store.

The 用户管理 page calls these, so the check does not depend on the page being hidden from a role.
Each runs in one transaction and is audited by playbooks/users.py under the acting username.
PermissionDenied and playbooks.users.UserError carry Chinese messages for the page to show.
"""

from __future__ import annotations

from typing import Any

from playbooks import users
from playbooks.authz import Actor, require
from store.records import Records, audit_trail


def add_user(
    records: Records,
    actor: Actor | None,
    *,
    username: str,
    role: str,
    password: str,
    display_name: str = "",
    email: str = "",
    phone: str = "",
    contacts: dict[str, Any] | None = None,
) -> users.UserView:
    by = require(actor, "user.manage").username
    with records.session() as s:
        user = users.create_user(
            s,
            username=username,
            role=role,
            password=password,
            by=by,
            display_name=display_name,
            email=email,
            phone=phone,
            contacts=contacts,
        )
        return users.view(user)


def update_profile(records: Records, actor: Actor | None, username: str, **fields: Any) -> users.UserView:
    """role, display_name, email, phone, contacts."""
    by = require(actor, "user.manage").username
    if fields.get("role") not in (None, "admin") and username == by:
        raise users.UserError("不能降低当前登录的自己的权限，请由其他管理员操作。")
    with records.session() as s:
        return users.view(users.update_user(s, username, by=by, **fields))


def reset_password(records: Records, actor: Actor | None, username: str, password: str) -> None:
    by = require(actor, "user.manage").username
    with records.session() as s:
        users.set_password(s, username, password, by=by)


def set_user_active(records: Records, actor: Actor | None, username: str, active: bool) -> None:
    by = require(actor, "user.manage").username
    with records.session() as s:
        users.set_active(s, username, active, by=by)


def unlock_user(records: Records, actor: Actor | None, username: str) -> None:
    by = require(actor, "user.manage").username
    with records.session() as s:
        users.unlock(s, username, by=by)


def list_users(records: Records, actor: Actor | None) -> list[users.UserView]:
    require(actor, "user.manage")
    with records.session() as s:
        return users.list_users(s)


def user_history(records: Records, actor: Actor | None, username: str) -> list[dict[str, Any]]:
    """The audit entries about one user, newest first (who changed what, when; never a password)."""
    require(actor, "user.manage")
    with records.session() as s:
        rows = audit_trail(s, entity="user", entity_id=username)
        return [
            {"at": r.at, "actor": r.actor, "action": r.action, "detail": dict(r.detail or {})}
            for r in reversed(rows)
        ]

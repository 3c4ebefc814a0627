"""Desk users as stored: plain reads of the ``users`` table.

Accounts, passwords, sign-in and desk sessions (the rules) are ``playbooks/users.py``'s, next to who
may do what (``playbooks/authz.py``). Nothing here changes a row or decides anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store.models import User, utcnow


@dataclass(frozen=True)
class UserView:
    """A user for listing: everything but the password hash."""

    id: int
    username: str
    display_name: str
    role: str
    active: bool
    email: str
    phone: str
    contacts: dict[str, Any] = field(default_factory=dict)
    locked_until: datetime | None = None
    last_login_at: datetime | None = None
    password_changed_at: datetime | None = None
    created_at: datetime | None = None

    def locked(self, now: datetime | None = None) -> bool:
        return self.locked_until is not None and (now or utcnow()) < self.locked_until


def view(user: User) -> UserView:
    return UserView(
        id=user.id,
        username=user.username,
        display_name=user.display_name or "",
        role=user.role,
        active=bool(user.active),
        email=user.email or "",
        phone=user.phone or "",
        contacts=dict(user.contacts or {}),
        locked_until=user.locked_until,
        last_login_at=user.last_login_at,
        password_changed_at=user.password_changed_at,
        created_at=user.created_at,
    )


def get_user(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == (username or "").strip()))


def user_by_email(session: Session, email: str) -> User | None:
    email = (email or "").strip().lower()
    if not email:
        return None
    return session.scalar(select(User).where(func.lower(User.email) == email))


def list_users(session: Session) -> list[UserView]:
    return [view(u) for u in session.scalars(select(User).order_by(User.username))]


def count_users(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(User)) or 0)


__all__ = ["UserView", "count_users", "get_user", "list_users", "user_by_email", "view"]

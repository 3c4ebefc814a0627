"""One naming of people everywhere: 王晓明（wang） — the display name with the username — or the username
alone for an account without a display name; 系统 for the desk's own actions. The desk's pages, its audit
trails and its documents all name people through here."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.models import User
from store.records import SYSTEM_ACTOR

SYSTEM_LABEL = "系统（自动）"


def label(username: str, display_name: str = "") -> str:
    """王晓明（wang）; wang; 系统（自动） for the system actor."""
    if not username:
        return ""
    if username == SYSTEM_ACTOR:
        return SYSTEM_LABEL
    return f"{display_name}（{username}）" if display_name and display_name != username else username


def person_label(session: Session, username: str) -> str:
    """The label of one desk user (as the store has them now)."""
    return names(session, [username]).get(username, label(username))


def names(session: Session, usernames: Iterable[str] | None = None) -> dict[str, str]:
    """username → label, for these users (every user when None)."""
    stmt = select(User.username, User.display_name)
    wanted = None if usernames is None else sorted({u for u in usernames if u})
    if wanted is not None:
        if not wanted:
            return {}
        stmt = stmt.where(User.username.in_(wanted))
    out = {u: label(u, d or "") for u, d in session.execute(stmt)}
    for u in wanted or ():
        out.setdefault(u, label(u))
    return out

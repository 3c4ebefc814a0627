"""Acknowledge from the notification itself: every 企业微信 / 钉钉 / 飞书 / email message about an alert carries,
for each person it is addressed to, a link that acknowledges the alert as that person.

The link is ``<desk>/ack?t=<token>``: the token is 256 random bits; the store keeps only its SHA-256 (like
a desk session), with the alert, the person, when it expires (``[notify] ack_link_hours``) and when it
was used. Opening the link shows the alert and one button (a mail scanner that fetches the link does not
acknowledge anything); pressing it acknowledges through ``playbooks.triage.acknowledge`` as that person
(their role is checked, the change is compare-and-set and audited like a click on the desk) and marks the
link used — compare-and-set too, so a link works once even when pressed twice at the same moment. A
link of a disabled person, an expired or used one, or one whose alert is settled is refused with a
Chinese reason. Drills never get a link (nothing about a drill leaves the building, and a rehearsal is
acknowledged on the desk).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from playbooks import triage
from playbooks.authz import Actor
from store.models import AckLink, Alert, User, utcnow
from store.records import audit
from store.times import as_utc

DEFAULT_HOURS = 12.0
PAGE = "ack"  # desk/views/ack.py
PARAM = "t"


class AckLinkInvalid(Exception):
    """The link cannot acknowledge anything (unknown, expired, used, …); the message is Chinese."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def link_url(desk_base_url: str, token: str) -> str:
    return f"{desk_base_url.rstrip('/')}/{PAGE}?{PARAM}={quote(token, safe='')}"


def issue(
    session: Session,
    alert: Alert,
    username: str,
    *,
    purpose: str,
    hours: float = DEFAULT_HOURS,
    now: datetime | None = None,
) -> str | None:
    """A new link's token for ``username`` to acknowledge ``alert``; None for a drill."""
    if alert.drill:
        return None
    now = as_utc(now or utcnow())
    token = secrets.token_urlsafe(32)
    session.add(
        AckLink(
            token_hash=token_hash(token),
            alert_id=alert.id,
            username=username,
            purpose=purpose,
            created_at=now,
            expires_at=now + timedelta(hours=hours),
        )
    )
    session.flush()
    return token


def lines_for(
    session: Session,
    alert: Alert,
    usernames: Sequence[str],
    *,
    desk_base_url: str,
    purpose: str,
    hours: float = DEFAULT_HOURS,
    now: datetime | None = None,
) -> list[str]:
    """The lines a message carries: 「王晓明 一键确认（12 小时内有效，仅限一次）：<link>」, one per active
    person; none for a drill, an acknowledged alert, or nobody."""
    if alert.drill or alert.acknowledged_at is not None or not usernames or not desk_base_url:
        return []
    people = {
        u.username: u
        for u in session.scalars(select(User).where(User.username.in_(list(dict.fromkeys(usernames)))))
        if u.active
    }
    out = []
    for name in dict.fromkeys(usernames):
        user = people.get(name)
        if user is None:
            continue
        token = issue(session, alert, name, purpose=purpose, hours=hours, now=now)
        if token:
            out.append(
                f"{user.display_name or user.username} 一键确认（{hours:g} 小时内有效，仅限一次）："
                f"{link_url(desk_base_url, token)}"
            )
    return out


@dataclass(frozen=True)
class AckLinkView:
    """What the ack page shows before the button is pressed."""

    alert_id: int
    post_id: str
    level: str | None
    title: str
    source: str
    alert_created_at: datetime
    username: str
    display_name: str
    expires_at: datetime
    acknowledged_by: str  # "" while nobody has


def _row(session: Session, token: str) -> AckLink:
    if not token or len(token) > 100:
        raise AckLinkInvalid("链接无效：请从通知中完整打开链接，或登录值守台处理。")
    row = session.scalar(select(AckLink).where(AckLink.token_hash == token_hash(token)))
    if row is None:
        raise AckLinkInvalid("链接无效：请从通知中完整打开链接，或登录值守台处理。")
    return row


def _check(session: Session, row: AckLink, now: datetime) -> tuple[Alert, User]:
    if row.used_at is not None:
        raise AckLinkInvalid("该链接已使用过（每个链接只能使用一次）。如需处理，请登录值守台。")
    if as_utc(now) >= row.expires_at:
        raise AckLinkInvalid("该链接已过期。请登录值守台处理这条预警。")
    alert = session.get(Alert, row.alert_id)
    user = session.scalar(select(User).where(User.username == row.username))
    if alert is None or alert.drill:
        raise AckLinkInvalid("该预警已不存在。请登录值守台查看。")
    if user is None or not user.active:
        raise AckLinkInvalid("该链接所属账号已停用。请联系管理员。")
    return alert, user


def peek(session: Session, token: str, *, now: datetime | None = None) -> AckLinkView:
    """What the link would acknowledge (nothing is changed); AckLinkInvalid (Chinese) when it cannot."""
    row = _row(session, token)
    alert, user = _check(session, row, now or utcnow())
    return AckLinkView(
        alert_id=alert.id,
        post_id=alert.post_id,
        level=alert.level,
        title=alert.title or alert.snippet,
        source=alert.source,
        alert_created_at=alert.created_at,
        username=user.username,
        display_name=user.display_name or user.username,
        expires_at=row.expires_at,
        acknowledged_by=alert.acknowledged_by or "",
    )


def use(
    session: Session, token: str, *, now: datetime | None = None, client: str = ""
) -> tuple[AckLinkView, bool]:
    """Press the button: acknowledge the alert as the link's person (role checked, compare-and-set, audited)
    and mark the link used; (what it was, whether this acknowledged it — False: someone already had)."""
    now = as_utc(now or utcnow())
    view = peek(session, token, now=now)
    row = _row(session, token)
    claimed = session.execute(
        update(AckLink)
        .where(AckLink.id == row.id, AckLink.used_at.is_(None))
        .values(used_at=now, used_from=(client or "")[:80])
        .execution_options(synchronize_session=False)
    ).rowcount
    if not claimed:
        raise AckLinkInvalid("该链接已使用过（每个链接只能使用一次）。如需处理，请登录值守台。")
    user = session.scalar(select(User).where(User.username == view.username))
    assert user is not None
    actor = Actor(username=user.username, role=user.role, display_name=user.display_name or "")
    try:
        done = triage.acknowledge(session, view.alert_id, actor, now=now)
    except triage.TriageError as exc:
        raise AckLinkInvalid(str(exc)) from exc
    audit(
        session,
        actor=user.username,
        action="alert.ack_link_used",
        entity="alert",
        entity_id=view.alert_id,
        link_id=row.id,
        purpose=row.purpose,
        acknowledged=done,
        client=(client or "")[:80],
    )
    return view, done

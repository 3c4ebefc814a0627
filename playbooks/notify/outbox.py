"""The outbox: notifications are rows first, messages second.

``enqueue`` is called inside the caller's transaction; delivery (per channel, with retries) reads the
pending rows afterwards. The same event to the same target is one row (``dedupe_key``), so a clock
checked every minute notifies once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.models import Notification

CHANNELS = ("wecom", "dingtalk", "feishu", "email")
CHANNEL_LABELS = {"wecom": "企业微信", "dingtalk": "钉钉", "feishu": "飞书", "email": "邮件"}


@dataclass(frozen=True)
class Recipient:
    """Where one message goes: a channel and a target (a group bot's configured name, or an address).

    ``mention`` is the person's id on that channel (user id / mobile) for an @ in a group bot.
    """

    channel: str
    target: str
    mention: str = ""
    # the desk users the message is addressed to (a person's email; the people @-mentioned, or on duty, in
    # a group): each gets an acknowledge link of their own in it (playbooks/ack_links.py)
    usernames: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.channel not in CHANNELS:
            raise ValueError(f"unknown channel {self.channel!r}; one of {CHANNELS}")


def enqueue(
    session: Session,
    *,
    recipients: Sequence[Recipient],
    kind: str,
    subject: str,
    body: str,
    link: str = "",
    level: str | None = None,
    escalation_id: int | None = None,
    alert_id: int | None = None,
    drill: bool = False,
    dedupe_key: str,
    extra_lines: Callable[[Recipient], list[str]] | None = None,
) -> list[Notification]:
    """Add one outbox row per recipient (skipping any already there for ``dedupe_key``); returns new rows.

    A drill's rows are stored with status ``suppressed``: the record shows what would have been
    sent, and nothing leaves the building. ``extra_lines``: lines for one recipient's copy only (its
    people's acknowledge links), asked for only when the row is new.
    """
    rows: list[Notification] = []
    for r in recipients:
        key = f"{dedupe_key}:{r.channel}:{r.target}"[:200]
        if session.scalar(select(Notification.id).where(Notification.dedupe_key == key)) is not None:
            continue
        row = Notification(
            dedupe_key=key,
            channel=r.channel,
            target=r.target if not r.mention else f"{r.target}@{r.mention}",
            kind=kind,
            escalation_id=escalation_id,
            alert_id=alert_id,
            level=level,
            subject=subject,
            body="\n".join([body, *extra]) if (extra := (extra_lines(r) if extra_lines else [])) else body,
            link=link,
            drill=drill,
            status="suppressed" if drill else "pending",
        )
        session.add(row)
        rows.append(row)
    session.flush()
    return rows

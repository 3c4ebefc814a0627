"""Delivering the outbox: pending rows whose time has come are sent, with retries and exponential backoff.

One pass (:func:`deliver_pending`):

1. **claim** due rows in a short transaction: ``attempts + 1`` and ``next_attempt_at = now + lease``,
   conditional on the row still being pending, due and at the attempt count just read (a conditional
   UPDATE: of two processes reading the same row only one changes it). On PostgreSQL the candidate rows
   are read ``FOR UPDATE SKIP LOCKED`` first, so two senders do not even contend. A sender that dies
   mid-send leaves its row to come back after the lease.
2. **send** each claimed row outside any transaction (a slow webhook holds no lock).
3. **record** the outcome: ``sent`` with ``sent_at``; or ``last_error`` and the next try after
   ``backoff × 2^(attempts-1)``; or ``failed`` once ``max_attempts`` tries have failed.

Drill rows never leave: they are stored ``suppressed`` by ``enqueue``, and a drill row found ``pending``
(written by hand or by older code) is turned ``suppressed`` here, never sent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from playbooks.notify import dingtalk, email, feishu, wecom
from playbooks.notify.channels import Channel, NotifyConfig, SendError, redact
from playbooks.notify.message import Message
from store.models import Notification
from store.times import as_utc

log = logging.getLogger(__name__)

SENDERS: dict[str, Callable[..., None]] = {
    "wecom": wecom.send,
    "dingtalk": dingtalk.send,
    "feishu": feishu.send,
    "email": email.send,
}

SessionSource = Any  # a Records (``.session()``) or a callable returning a session context manager


def _session_factory(source: SessionSource) -> Callable[[], AbstractContextManager[Session]]:
    return source.session if hasattr(source, "session") else source


@dataclass
class Outcome:
    id: int
    channel: str
    target: str
    ok: bool
    attempts: int
    status: str  # sent | pending (will retry) | failed
    reason: str = ""


@dataclass
class DeliveryReport:
    outcomes: list[Outcome] = field(default_factory=list)
    suppressed: int = 0  # drill rows found pending and set aside

    @property
    def sent(self) -> int:
        return sum(1 for o in self.outcomes if o.ok)

    @property
    def retrying(self) -> int:
        return sum(1 for o in self.outcomes if o.status == "pending")

    @property
    def failed(self) -> int:
        return sum(1 for o in self.outcomes if o.status == "failed")

    def summary(self) -> str:
        return f"已发送 {self.sent} 条，待重试 {self.retrying} 条，失败 {self.failed} 条"


@dataclass(frozen=True)
class _Claimed:
    id: int
    channel: str
    target: str
    attempts: int
    message: Message


def split_target(kind: str, target: str) -> tuple[str, str]:
    """(channel name or address, mention) from an outbox row's target (``enqueue`` writes ``name@mention``)."""
    if kind == "email":
        return target, ""
    name, _, mention = target.partition("@")
    return name, mention


def resolve(config: NotifyConfig, kind: str, target: str) -> tuple[Channel, list[str] | None, str]:
    """The channel for an outbox row, the email recipients it overrides (or None), and the mention.

    Raises SendError (no retry helps a typo, but the reason is kept and an admin can re-queue).
    """
    name, mention = split_target(kind, target)
    ch = config.find(kind, name)
    if ch is not None:
        return ch, None, mention
    if kind == "email" and "@" in name:
        if config.smtp is None or not config.smtp.host:
            raise SendError(f"没有配置邮件服务器（notify.smtp.host），无法发邮件给 {name}")
        person = Channel(name=name, kind="email", smtp=config.smtp, to=(name,), problem=config.smtp_problem)
        return person, [name], ""
    raise SendError(f"没有名为「{name}」的{kind}通知通道（检查 [notify] 配置）")


def send_message(channel: Channel, msg: Message, *, to: list[str] | None = None) -> None:
    """Send one message on one channel now; SendError with a readable, secret-free reason on failure."""
    if channel.problem:
        raise SendError(channel.problem)
    sender = SENDERS.get(channel.kind)
    if sender is None:
        raise SendError(f"未知的通道类型 {channel.kind}")
    try:
        if channel.kind == "email":
            sender(channel, msg, to=to)
        else:
            sender(channel, msg)
    except SendError as exc:
        raise SendError(redact(str(exc), channel.secrets)) from None
    except Exception as exc:  # a bug or an unexpected library error must not stop the other rows
        raise SendError(redact(f"发送出错：{type(exc).__name__}: {exc}", channel.secrets)[:300]) from None


def _claim(session: Session, now: datetime, policy_lease: float, limit: int) -> list[_Claimed]:
    due = and_(
        Notification.status == "pending",
        Notification.drill.is_(False),
        or_(Notification.next_attempt_at.is_(None), Notification.next_attempt_at <= now),
    )
    stmt = select(Notification).where(due).order_by(Notification.created_at, Notification.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    rows = session.scalars(stmt).all()
    lease_until = now + timedelta(seconds=policy_lease)
    claimed: list[_Claimed] = []
    for row in rows:
        seen = row.attempts or 0
        res = session.execute(
            update(Notification)
            .where(Notification.id == row.id, Notification.attempts == seen, due)
            .values(attempts=seen + 1, next_attempt_at=lease_until)
            .execution_options(synchronize_session=False)
        )
        if res.rowcount != 1:
            continue  # another sender took it first
        name, mention = split_target(row.channel, row.target)
        msg = Message(
            subject=row.subject or "",
            body=row.body or "",
            level=row.level,
            link=row.link or "",
            kind=row.kind or "",
            mention=mention,
        )
        claimed.append(_Claimed(row.id, row.channel, row.target, seen + 1, msg))
    return claimed


def _suppress_drills(session: Session) -> int:
    res = session.execute(
        update(Notification)
        .where(Notification.drill.is_(True), Notification.status == "pending")
        .values(status="suppressed", last_error="演练消息不外发")
        .execution_options(synchronize_session=False)
    )
    return res.rowcount or 0


def deliver_pending(
    source: SessionSource,
    config: NotifyConfig,
    now: datetime | None = None,
    *,
    limit: int = 100,
    clock: Callable[[], datetime] | None = None,
) -> DeliveryReport:
    """Send the due pending rows once (see the module docstring); returns what happened to each.

    ``now`` decides which rows are due and when retries are scheduled (tests pass it; default: the
    clock). Sending happens outside transactions; each outcome is written in its own short one.
    """
    factory = _session_factory(source)
    now = now or (clock or (lambda: datetime.now(UTC)))()
    policy = config.retry
    report = DeliveryReport()
    try:
        with factory() as session:
            report.suppressed = _suppress_drills(session)
            claimed = _claim(session, now, policy.lease_s, limit)
    except OperationalError as exc:
        # SQLite: another sender holds the write lock (its snapshot won); it is delivering these rows
        if "locked" not in str(exc.orig).lower() and "busy" not in str(exc.orig).lower():
            raise
        log.info("notify: outbox busy with another sender; nothing claimed this pass")
        return report
    secrets = config.secrets()
    for c in claimed:
        reason = ""
        try:
            channel, to, _ = resolve(config, c.channel, c.target)
            send_message(channel, c.message, to=to)
        except SendError as exc:
            reason = redact(str(exc), secrets)
        report.outcomes.append(
            _record(factory, c, reason, now, policy.max_attempts, policy.delay(c.attempts))
        )
    for o in report.outcomes:
        if o.ok:
            log.info("notify: #%s %s/%s sent (attempt %s)", o.id, o.channel, _name(o), o.attempts)
        else:
            log.warning(
                "notify: #%s %s/%s attempt %s failed: %s", o.id, o.channel, _name(o), o.attempts, o.reason
            )
    return report


def _name(o: Outcome) -> str:
    return split_target(o.channel, o.target)[0]


def _record(factory, c: _Claimed, reason: str, now: datetime, max_attempts: int, delay_s: float) -> Outcome:
    if not reason:
        values: dict[str, Any] = {
            "status": "sent",
            "sent_at": datetime.now(UTC),
            "last_error": "",
            "next_attempt_at": None,
        }
        status = "sent"
    elif c.attempts >= max_attempts:
        values = {"status": "failed", "last_error": reason[:1000], "next_attempt_at": None}
        status = "failed"
    else:
        values = {"last_error": reason[:1000], "next_attempt_at": now + timedelta(seconds=delay_s)}
        status = "pending"
    with factory() as session:
        session.execute(
            update(Notification)
            .where(Notification.id == c.id, Notification.status == "pending")
            .values(**values)
            .execution_options(synchronize_session=False)
        )
    return Outcome(c.id, c.channel, c.target, not reason, c.attempts, status, reason)


# --------------------------------------------------------------------------- channel tests


TEST_KIND = "test"


@dataclass(frozen=True)
class ChannelTest:
    channel: str
    kind: str
    ok: bool
    reason: str
    at: datetime


def run_channel_tests(
    source: SessionSource,
    config: NotifyConfig,
    *,
    names: list[str] | None = None,
    link: str = "",
    now: datetime | None = None,
) -> list[ChannelTest]:
    """Send a test message on each configured channel (or those named) now, and record each result.

    Each result is a Notification row of kind ``test`` (status sent or failed, the reason in
    ``last_error``), which :func:`last_channel_tests` reads back for the holiday readiness check.
    Raises KeyError naming an unknown channel.
    """
    factory = _session_factory(source)
    chosen = list(config.channels)
    if names:
        unknown = [n for n in names if config.channel(n) is None]
        if unknown:
            raise KeyError(", ".join(unknown))
        chosen = [c for c in chosen if c.name in names]
    results: list[ChannelTest] = []
    secrets = config.secrets()
    for ch in chosen:
        at = as_utc(now or datetime.now(UTC))
        msg = Message(
            subject="舆情值守台通知通道测试",
            body=f"这是一条测试消息，用于确认通道「{ch.name}」能够送达。收到即表示通道正常，无需处置。",
            kind=TEST_KIND,
            link=link,
        )
        reason = ""
        try:
            send_message(ch, msg)
        except SendError as exc:
            reason = redact(str(exc), secrets)
        with factory() as session:
            session.add(
                Notification(
                    dedupe_key=f"test:{ch.name}:{at.isoformat()}"[:200],
                    channel=ch.kind,
                    target=ch.name,
                    kind=TEST_KIND,
                    subject=msg.subject,
                    body=msg.body,
                    link=link,
                    drill=False,
                    status="failed" if reason else "sent",
                    attempts=1,
                    last_error=reason[:1000],
                    created_at=at,
                    sent_at=None if reason else at,
                )
            )
        (log.warning if reason else log.info)("notify test: %s/%s %s", ch.kind, ch.name, reason or "ok")
        results.append(ChannelTest(ch.name, ch.kind, not reason, reason, at))
    return results


def last_channel_tests(session: Session) -> dict[str, tuple[datetime, bool]]:
    """For each channel name ever tested: (when its latest test ran, whether it got through)."""
    rows: Iterator[Notification] = session.scalars(
        select(Notification)
        .where(Notification.kind == TEST_KIND)
        .order_by(Notification.created_at, Notification.id)
    )
    latest: dict[str, tuple[datetime, bool]] = {}
    for r in rows:
        latest[r.target] = (r.created_at, r.status == "sent")
    return latest

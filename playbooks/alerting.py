"""Telling people about alerts before anyone has opened an escalation record.

Two duties the escalation chain (playbooks/chain.py) cannot do, because it only watches records:

* ``announce_alerts``: a new alert at a serious level (by default Ⅰ and Ⅱ) is announced at once on the
  duty channels (the group bots and mail lists in ``[notify]``), with what happened, the level, the
  reasons and a link to the item on the desk. An alert that later becomes more severe is announced again
  at its new level; one that becomes milder is not.
* ``chase_alerts``: an alert nobody has acknowledged within its playbook's acknowledge clock (level I: 5
  minutes in the shipped outage playbook) is chased up the same chain as records: after one clock the
  chain's tier 1 (by default every manager), after two clocks tier 2 (every admin). The chain's ``owner``
  means the alert's assignee here.

Both write to the outbox inside the caller's transaction (dedupe keys make repeated runs tell nobody
twice) and audit what they did under the system actor. Drill alerts go through the same code and their
messages are stored as suppressed: nothing about a drill leaves the building.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from playbooks import ack_links
from playbooks.chain import LEVEL_NAMES, entry_label, item_link, recipients_for, validate_chain
from playbooks.notify.outbox import Recipient, enqueue
from playbooks.schema import Playbook
from store.models import Alert, Escalation, Notification, User, level_rank
from store.records import SYSTEM_ACTOR, audit
from store.times import as_utc

DEFAULT_ANNOUNCE_LEVELS = ("I", "II")
OPEN_ALERT = "open"  # Alert.status of an alert nobody has dealt with yet
MAX_TITLE = 80
MAX_SNIPPET = 160


def _one_line(text: str, limit: int) -> str:
    flat = " ".join(str(text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _level_short(level: str | None) -> str:
    return LEVEL_NAMES.get(level or "", "未定级").split("（")[0]


# --------------------------------------------------------------------------- announcing new alerts


def announce_alerts(
    session: Session,
    alerts: Iterable[Alert],
    *,
    recipients: Sequence[Recipient],
    desk_base_url: str,
    levels: Sequence[str] = DEFAULT_ANNOUNCE_LEVELS,
    playbooks: Sequence[Playbook] = (),
    on_duty: Callable[[Session], Sequence[str]] | None = None,
    ack_hours: float = ack_links.DEFAULT_HOURS,
) -> int:
    """Put an announcement in the outbox for each alert at one of ``levels`` not yet announced at
    that level or a more severe one; returns how many alerts were announced.

    ``on_duty``: who is on duty now (usernames; the roster); each of them gets an acknowledge link of
    their own in the group's message (never for a drill)."""
    if not recipients:
        return 0
    duty = tuple(on_duty(session)) if on_duty is not None else ()
    recipients = [Recipient(r.channel, r.target, r.mention, r.usernames or duty) for r in recipients]
    names = {p.id: p.name for p in playbooks}
    told = 0
    for alert in alerts:
        if alert.level not in levels or alert.status != OPEN_ALERT:
            continue
        earlier = session.scalars(
            select(Notification.level).where(Notification.alert_id == alert.id, Notification.kind == "alert")
        ).all()
        if any(level_rank(lv) <= level_rank(alert.level) for lv in earlier):
            continue
        raised = bool(earlier)
        subject, body = _announcement(alert, names.get(alert.playbook_id or ""), desk_base_url, raised)
        rows = enqueue(
            session,
            recipients=recipients,
            kind="alert",
            subject=subject,
            body=body,
            link=item_link(desk_base_url, alert.post_id),
            level=alert.level,
            alert_id=alert.id,
            drill=alert.drill,
            dedupe_key=f"alert:{alert.id}:{alert.level}",
            extra_lines=_ack_lines(session, alert, desk_base_url, "alert", ack_hours),
        )
        if rows:
            told += 1
            audit(
                session,
                actor=SYSTEM_ACTOR,
                action="alert.announced",
                entity="alert",
                entity_id=alert.id,
                level=alert.level,
                channels=sorted({f"{r.channel}:{r.target}" for r in recipients}),
                drill=alert.drill,
            )
    return told


def _ack_lines(session: Session, alert: Alert, base_url: str, purpose: str, hours: float):
    """Each addressed person's own acknowledge link (playbooks/ack_links.py; none for a drill)."""

    def lines(r: Recipient) -> list[str]:
        return ack_links.lines_for(
            session, alert, r.usernames, desk_base_url=base_url, purpose=purpose, hours=hours
        )

    return lines


def _announcement(alert: Alert, playbook_name: str | None, base_url: str, raised: bool) -> tuple[str, str]:
    drill = "【演练】" if alert.drill else ""
    what = "预警升级" if raised else "新预警"
    title = _one_line(alert.title or alert.snippet, MAX_TITLE) or "（无标题）"
    subject = f"{drill}【{what}】{_level_short(alert.level)} · {alert.topic or '其他'} · {title}"
    lines = [
        f"{drill}{'预警级别已升为' if raised else '发现新预警'}：{LEVEL_NAMES.get(alert.level or '', '未定级')}",
        f"来源：{alert.source or '未知'}",
        f"标题：{title}",
    ]
    if alert.snippet and alert.snippet != alert.title:
        lines.append(f"摘要：{_one_line(alert.snippet, MAX_SNIPPET)}")
    if alert.reasons:
        lines.append(f"判定理由：{'；'.join(_one_line(r, 40) for r in alert.reasons[:4])}")
    if alert.falsity_label == "rumor":
        lines.append("疑似不实信息（传言），请按不实信息预案核实并准备澄清。")
    lines.append(f"适用预案：{playbook_name or '通用预案'}")
    lines.append(f"请值班员立即在值守台确认：{item_link(base_url, alert.post_id)}")
    if alert.drill:
        lines.append("（演练：本消息不会真实发出。）")
    return subject, "\n".join(lines)


# --------------------------------------------------------------------------- chasing unacknowledged alerts

AlertResolver = Callable[[Session, Alert, str], list[User]]


def people_for_alert(session: Session, alert: Alert, entry: str) -> list[User]:
    """Who one chain entry means for an alert: ``owner`` is its assignee; active users only."""
    if entry == "owner":
        if not alert.assignee:
            return []
        stmt = select(User).where(User.username == alert.assignee)
    elif entry.startswith("role:"):
        stmt = select(User).where(User.role == entry.removeprefix("role:"))
    else:
        stmt = select(User).where(User.username == entry)
    return [u for u in session.scalars(stmt.order_by(User.username)) if u.active]


@dataclass
class AlertChase:
    """One step up the chain for one unacknowledged alert."""

    alert_id: int
    tier: int
    entry: str
    people: list[str]
    notifications: int
    overdue_minutes: int
    drill: bool


def chase_alerts(
    session: Session,
    *,
    playbooks: Sequence[Playbook],
    chain: Sequence[str],
    now: datetime,
    desk_base_url: str,
    resolve: AlertResolver = people_for_alert,
    ack_hours: float = ack_links.DEFAULT_HOURS,
) -> list[AlertChase]:
    """Chase every open, unacknowledged alert whose acknowledge clock has run out, one tier per clock."""
    chain = validate_chain(chain)
    last = len(chain) - 1
    if last < 1:
        return []
    by_id = {p.id: p for p in playbooks}
    fallback = by_id.get("generic")
    with_record = select(Escalation.alert_id)
    candidates = session.scalars(
        select(Alert)
        .where(
            Alert.status == OPEN_ALERT,
            Alert.acknowledged_at.is_(None),
            Alert.level.is_not(None),
            Alert.id.not_in(with_record),
        )
        .order_by(Alert.level_rank, Alert.id)
    ).all()
    out: list[AlertChase] = []
    for alert in candidates:
        playbook = by_id.get(alert.playbook_id or "") or fallback
        if playbook is None or not playbook.applies_at(alert.level):
            continue
        minutes = playbook.clocks(alert.level).acknowledge_within
        if not minutes:
            continue
        overdue = as_utc(now) - alert.created_at
        windows = int(overdue.total_seconds() // (minutes * 60))
        if windows < 1:
            continue
        tier = min(windows, last)
        people = resolve(session, alert, chain[tier])
        while not people and tier < last:
            tier += 1
            people = resolve(session, alert, chain[tier])
        key = f"alert-ack:{alert.id}:{tier}"
        if session.scalar(select(Notification.id).where(Notification.dedupe_key.startswith(key + ":"))):
            continue  # this tier has been told
        recipients = recipients_for(people)
        overdue_min = max(1, int(overdue.total_seconds() // 60))
        subject, body = _chase_message(
            alert,
            playbook,
            tier,
            chain[tier],
            minutes,
            overdue_min,
            desk_base_url,
            [u.display_name or u.username for u in people],
        )
        rows = enqueue(
            session,
            recipients=recipients,
            kind="alert_chase",
            subject=subject,
            body=body,
            link=item_link(desk_base_url, alert.post_id),
            level=alert.level,
            alert_id=alert.id,
            drill=alert.drill,
            dedupe_key=key,
            extra_lines=_ack_lines(session, alert, desk_base_url, "alert_chase", ack_hours),
        )
        names = [u.username for u in people]
        audit(
            session,
            actor=SYSTEM_ACTOR,
            action="alert.chased",
            entity="alert",
            entity_id=alert.id,
            tier=tier,
            chain_entry=chain[tier],
            notified=names,
            overdue_minutes=overdue_min,
            drill=alert.drill,
        )
        out.append(
            AlertChase(
                alert_id=alert.id,
                tier=tier,
                entry=chain[tier],
                people=names,
                notifications=len(rows),
                overdue_minutes=overdue_min,
                drill=alert.drill,
            )
        )
    return out


def _chase_message(
    alert: Alert,
    playbook: Playbook,
    tier: int,
    entry: str,
    minutes: int,
    overdue: int,
    base_url: str,
    told: Sequence[str] = (),
) -> tuple[str, str]:
    drill = "【演练】" if alert.drill else ""
    title = _one_line(alert.title or alert.snippet, MAX_TITLE) or "（无标题）"
    subject = f"{drill}【预警无人确认】{_level_short(alert.level)} · {title}"
    lines = [
        f"{drill}预警 #{alert.id} 已 {overdue} 分钟无人确认（{_level_short(alert.level)}要求 {minutes} 分钟内确认），"
        f"已按升级链通知第 {tier} 级：{entry_label(entry)}。",
        *([f"本次通知：{'、'.join(told)}"] if told else []),  # e.g. only the manager on duty (roster)
        f"级别：{LEVEL_NAMES.get(alert.level or '', '未定级')}",
        f"来源：{alert.source or '未知'}",
        f"标题：{title}",
        f"适用预案：{playbook.name}",
        f"当前指派：{alert.assignee or '未指派'}",
        f"请立即在值守台确认或指派：{item_link(base_url, alert.post_id)}",
    ]
    if alert.drill:
        lines.append("（演练：本消息不会真实发出。）")
    return subject, "\n".join(lines)

"""The escalation chain: when a clock runs out, the next person up is told.

The chain is a list from the configuration (``[escalation] chain`` in yuqing.toml), tier 0 first::

    chain = ["owner", "role:manager", "role:admin"]

An entry is ``owner`` (the record's owner), ``role:<role>`` (every active desk user of that role),
``duty:<primary|backup|manager>`` (whoever the duty roster has on that duty now) or a username. A record starts at tier 0 (its owner is responsible). Each time ``check_clocks`` finds clocks
on it that have run out and were not reported before, it records one ``ClockBreach`` per clock at the
next tier, moves the record to that tier (``Escalation.chain_tier``; the last tier is the ceiling: later
breaches are told to it again) and puts one message for that tier's people in the outbox: by email and
with an @ on the group bots (their ids from ``User.contacts``, keyed ``wecom`` / ``dingtalk`` / ``feishu``).
Run twice, nothing new is told: a clock is reported once (the unique breach row per clock and tier, and
the outbox's dedupe key, both guard it). A tier where nobody active can be found is skipped.

Which clocks: the level clocks and every step's deadline (playbooks/clocks.py); a step whose deadline
*is* a level clock (``due_clock``) is reported through that level clock, not twice. Only records still
being worked (新建, 已确认, 处置中, 已升级) are checked: a resolved one has stopped its clocks.

Drills: the breach is recorded with ``drill=True`` and the message is enqueued as a drill, which the
outbox stores as ``suppressed``: nothing leaves the building.

"Who is next" is one function, ``people_for`` (issue 7 will let the duty roster answer it): pass another
``resolve`` to ``check_clocks`` to replace it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from playbooks import ack_links
from playbooks.clocks import ClockState, escalation_clocks
from playbooks.notify.outbox import Recipient, enqueue
from playbooks.schema import Playbook
from store.models import DUTIES, ROLES, ClockBreach, Escalation, User
from store.records import SYSTEM_ACTOR, audit

DEFAULT_CHAIN = ("owner", "role:manager", "role:admin")
ACTIVE_STATES = ("new", "acknowledged", "responding", "escalated")
BOT_CHANNELS = ("wecom", "dingtalk", "feishu")
BOT_TARGET = "default"  # the first configured group bot of each kind (NotifyConfig.find)
LEVEL_NAMES = {"I": "Ⅰ级（特别重大）", "II": "Ⅱ级（重大）", "III": "Ⅲ级（较大）", "IV": "Ⅳ级（一般）"}
ROLE_NAMES = {"officer": "值班员", "manager": "负责人", "admin": "管理员"}
_SHANGHAI = ZoneInfo("Asia/Shanghai")

# (session, record, chain entry) → the people that entry means for that record
Resolver = Callable[[Session, Escalation, str], list[User]]


class ChainError(ValueError):
    """A chain entry that cannot be understood."""


def validate_chain(chain: Sequence[str]) -> tuple[str, ...]:
    """The chain as a tuple; raises ChainError for an empty chain or a malformed entry."""
    out = tuple(str(e).strip() for e in chain)
    if not out:
        raise ChainError("the escalation chain needs at least one entry")
    for entry in out:
        if not entry:
            raise ChainError("an escalation chain entry is empty")
        if entry.startswith("role:") and entry.removeprefix("role:") not in ROLES:
            raise ChainError(f"unknown role in chain entry {entry!r}; roles: {', '.join(ROLES)}")
        if entry.startswith("duty:") and entry.removeprefix("duty:") not in DUTIES:
            raise ChainError(f"unknown duty in chain entry {entry!r}; duties: {', '.join(DUTIES)}")
    return out


def people_for(session: Session, esc: Escalation, entry: str) -> list[User]:
    """Who one chain entry means for ``esc``: active users only, in a stable order."""
    if entry == "owner":
        stmt = select(User).where(User.username == (esc.owner or ""))
    elif entry.startswith("role:"):
        stmt = select(User).where(User.role == entry.removeprefix("role:"))
    else:
        stmt = select(User).where(User.username == entry)
    return [u for u in session.scalars(stmt.order_by(User.username)) if u.active]


def entry_label(entry: str) -> str:
    if entry == "owner":
        return "承办人"
    if entry.startswith("role:"):
        role = entry.removeprefix("role:")
        return f"全体{ROLE_NAMES.get(role, role)}"
    if entry.startswith("duty:"):  # the duty roster (playbooks/roster.py): whoever is on that duty now
        return {"primary": "当班主班", "backup": "当班备班", "manager": "当班带班负责人"}.get(
            entry.removeprefix("duty:"), entry
        )
    return entry


def recipients_for(people: Sequence[User]) -> list[Recipient]:
    """One email per address, and one group-bot message per bot kind that @-mentions every person
    with an id there (a group is told once, not once per person)."""
    out: list[Recipient] = []
    for channel in BOT_CHANNELS:
        ids, names = [], []
        for u in people:
            value = (u.contacts or {}).get(channel)
            if isinstance(value, str) and value.strip() and value.strip() not in ids:
                ids.append(value.strip())
                names.append(u.username)
        if ids:
            out.append(Recipient(channel, BOT_TARGET, mention=",".join(ids), usernames=tuple(names)))
    seen: set[str] = set()
    for u in people:
        email = (u.email or "").strip()
        if email and email.lower() not in seen:
            seen.add(email.lower())
            out.append(Recipient("email", email, usernames=(u.username,)))
    return out


def item_link(desk_base_url: str, post_id: str) -> str:
    """The item page of the alert's post on the desk (desk.state.POST_PARAM is ``post``)."""
    return f"{desk_base_url.rstrip('/')}/item?post={quote(post_id, safe='')}"


def duration_text(delta: timedelta) -> str:
    """timedelta → '1 小时 5 分钟' (whole minutes, at least 1)."""
    minutes = max(1, int(delta.total_seconds() // 60))
    days, rem = divmod(minutes, 1440)
    hours, mins = divmod(rem, 60)
    parts = [f"{days} 天" if days else "", f"{hours} 小时" if hours else "", f"{mins} 分钟" if mins else ""]
    return " ".join(p for p in parts if p)


def _bj(value: datetime) -> str:
    return value.astimezone(_SHANGHAI).strftime("%Y-%m-%d %H:%M")


def _clock_line(c: ClockState) -> str:
    what = c.name if c.kind == "level" else f"步骤「{c.name}」（{c.owner_label}）"
    assert c.due_at is not None and c.minutes is not None
    overdue = c.overdue_by or timedelta(0)
    return (
        f"· {what}：时限 {duration_text(timedelta(minutes=c.minutes))}，应于 {_bj(c.due_at)}（北京时间）前完成，"
        f"已超时 {duration_text(overdue)}"
    )


@dataclass
class ChainEvent:
    """One step up the chain for one record in one check."""

    escalation_id: int
    tier: int
    entry: str
    clocks: list[str]
    people: list[str]
    notifications: int
    drill: bool
    subject: str = ""
    body: str = ""
    link: str = ""
    breach_ids: list[int] = field(default_factory=list)


def _message(
    esc: Escalation,
    playbook: Playbook | None,
    new: list[ClockState],
    tier: int,
    entry: str,
    link: str,
    told: Sequence[str] = (),
) -> tuple[str, str]:
    alert = esc.alert
    level = LEVEL_NAMES.get(esc.level or "", "未定级")
    first = new[0]
    more = f"等 {len(new)} 项" if len(new) > 1 else ""
    drill = "【演练】" if esc.drill else ""
    subject = f"{drill}【处置时限已过】{level.split('（')[0]} · 处置记录 #{esc.id} {first.name}{more}已超时"
    title = (alert.title or alert.snippet or "").strip().replace("\n", " ")[:80] if alert else ""
    lines = [
        f"{drill}处置记录 #{esc.id} 有处置时限已过，已按升级链通知第 {tier} 级：{entry_label(entry)}。",
        *([f"本次通知：{'、'.join(told)}"] if told else []),  # e.g. only the manager on duty (roster)
        f"级别：{level}",
        f"预案：{playbook.name if playbook else (esc.playbook_id or '未指定')}",
        f"预警：{title or '（无标题）'}",
        f"当前承办人：{esc.owner or '未指定'}",
        "超时的时限：",
        *(_clock_line(c) for c in new),
        f"请立即在值守台处理：{link}",
    ]
    if esc.drill:
        lines.append("（演练：本消息不会真实发出。）")
    return subject, "\n".join(lines)


def _ack_lines(session: Session, esc: Escalation, base_url: str, hours: float):
    """Each addressed person's acknowledge link, while the record's alert waits for one (never a drill)."""

    def lines(r: Recipient) -> list[str]:
        if esc.alert is None or esc.drill:
            return []
        return ack_links.lines_for(
            session, esc.alert, r.usernames, desk_base_url=base_url, purpose="breach", hours=hours
        )

    return lines


def check_clocks(
    session: Session,
    *,
    playbooks: Sequence[Playbook],
    chain: Sequence[str] = DEFAULT_CHAIN,
    now: datetime,
    desk_base_url: str,
    resolve: Resolver = people_for,
    ack_hours: float = 12.0,
) -> list[ChainEvent]:
    """Report every newly run-out clock of every record being worked, one tier up its chain.

    Each record is handled in a savepoint: a record changed by someone at the same moment (its version
    moved) or a breach another checker recorded first is left for the next run.
    """
    chain = validate_chain(chain)
    by_id = {p.id: p for p in playbooks}
    events: list[ChainEvent] = []
    ids = session.scalars(
        select(Escalation.id).where(Escalation.state.in_(ACTIVE_STATES)).order_by(Escalation.id)
    ).all()
    for esc_id in ids:
        esc = session.get(Escalation, esc_id)
        if esc is None or esc.state not in ACTIVE_STATES:
            continue
        playbook = by_id.get(esc.playbook_id or "")
        clocks = escalation_clocks(session, esc, playbook, now=now)
        breached = [c for c in clocks if c.state == "breached" and not (c.kind == "step" and c.on_clock)]
        if not breached:
            continue
        told = set(session.scalars(select(ClockBreach.clock).where(ClockBreach.escalation_id == esc.id)))
        new = [c for c in breached if c.key not in told]
        if not new:
            continue
        try:
            with session.begin_nested():
                event = _escalate(session, esc, playbook, new, chain, now, desk_base_url, resolve, ack_hours)
        except (IntegrityError, StaleDataError):
            session.expire_all()
            continue
        events.append(event)
    return events


def _escalate(
    session: Session,
    esc: Escalation,
    playbook: Playbook | None,
    new: list[ClockState],
    chain: tuple[str, ...],
    now: datetime,
    desk_base_url: str,
    resolve: Resolver,
    ack_hours: float = 12.0,
) -> ChainEvent:
    last = len(chain) - 1
    tier = min(esc.chain_tier + 1, last)
    people = resolve(session, esc, chain[tier])
    while not people and tier < last:  # nobody there (no active user of that role): the next tier
        tier += 1
        people = resolve(session, esc, chain[tier])
    entry = chain[tier]
    names = [u.username for u in people]
    link = item_link(desk_base_url, esc.alert.post_id) if esc.alert else desk_base_url
    rows = [
        ClockBreach(
            escalation_id=esc.id,
            clock=c.key,
            due_at=c.due_at,
            breached_at=now,
            tier=tier,
            notified=",".join(names)[:200],
            drill=bool(esc.drill),
        )
        for c in new
    ]
    session.add_all(rows)
    before = esc.chain_tier
    # bookkeeping, not an edit: a plain UPDATE leaves the record's version alone, so an officer who
    # acknowledges it at this moment is not refused as "changed by someone else"
    session.execute(
        update(Escalation.__table__).where(Escalation.__table__.c.id == esc.id).values(chain_tier=tier)
    )
    session.flush()
    session.expire(esc, ["chain_tier"])
    subject, body = _message(
        esc, playbook, new, tier, entry, link, [u.display_name or u.username for u in people]
    )
    recipients = recipients_for(people)
    sent = enqueue(
        session,
        recipients=recipients,
        kind="breach",
        subject=subject,
        body=body,
        link=link,
        level=esc.level,
        escalation_id=esc.id,
        alert_id=esc.alert_id,
        drill=bool(esc.drill),
        dedupe_key=f"breach:{esc.id}:{rows[0].id}",
        extra_lines=_ack_lines(session, esc, desk_base_url, ack_hours),
    )
    audit(
        session,
        actor=SYSTEM_ACTOR,
        action="escalation.chain",
        entity="escalation",
        entity_id=esc.id,
        before=before,
        after=tier,
        chain_entry=entry,
        clocks=[c.key for c in new],
        notified=names,
        channels=sorted({r.channel for r in recipients}),
        drill=bool(esc.drill),
    )
    return ChainEvent(
        escalation_id=esc.id,
        tier=tier,
        entry=entry,
        clocks=[c.key for c in new],
        people=names,
        notifications=len(sent),
        drill=bool(esc.drill),
        subject=subject,
        body=body,
        link=link,
        breach_ids=[r.id for r in rows],
    )

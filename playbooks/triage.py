"""Triage: the one-click actions on the alert queue, each checked by role and written to the audit trail.

acknowledge, assign, mark_false_positive, reopen and escalate change an alert; mark_seen moves a
person's "last looked at the queue" mark (what is newer is shown as 新); false_positive_training_rows
yields the alerts officers dismissed as false positives, with the post and the model's analysis, for
retraining.

What the queue shows is read here too: ``queue_states`` (each alert's state as plain values),
``queue_figures`` (per level, new to this person, who can be assigned), ``in_view`` (which posts a view
shows) and ``group_posts`` (one group per event, near-duplicates folded under their first post).

Every action calls ``require(actor, …)`` before it touches anything (the desk hides buttons by role as
a convenience; this is the rule) and writes who and when to the append-only audit trail, in the same
transaction and only when the change was made. The changes are compare-and-set on the alert's version
(``UPDATE … WHERE version = <read>``; the desk passes the version it showed as ``expected_version``):
a double click does the thing once and writes one audit entry, and of two different actions at the
same moment (误报 and 升级) one wins and the other is told 已被他人处理 (AlertConflict). Drill alerts are handled the same way and
stay drill; they are never exported as training data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from playbooks import escalation as escalation_flow
from playbooks.authz import Actor, require
from playbooks.clocks import alert_ack_clock, playbook_for_alert
from playbooks.schema import Playbook
from store.models import Alert, Escalation, PostRecord, User, level_rank, utcnow
from store.records import audit
from store.times import as_utc

MAX_REASON_CHARS = 200  # a false positive's reason: one short sentence


class TriageError(Exception):
    """An action that cannot be done on this alert; the message is Chinese and shown as is."""


class AlertConflict(TriageError):
    """Someone else changed the alert since it was read (or since the page showing it was drawn)."""


STATUS_LABELS = {"open": "待处理", "escalated": "已升级", "false_positive": "误报", "closed": "已关闭"}


class PostLookup(Protocol):
    """What the export needs of a posts index (SqlitePostIndex and EsPostIndex both have it)."""

    def get_many(self, post_ids: Sequence[str]) -> Mapping[str, PostRecord]: ...


# --------------------------------------------------------------------------- reads for the queue


@dataclass(frozen=True)
class AlertState:
    """What the queue shows about an alert besides its post (plain values, safe outside the session)."""

    alert_id: int
    post_id: str
    status: str
    level: str | None
    drill: bool
    event_id: str
    created_at: datetime | None
    assignee: str
    acknowledged_by: str
    acknowledged_at: datetime | None
    false_positive_by: str
    false_positive_at: datetime | None
    false_positive_reason: str
    escalation_id: int | None  # the open escalation record, if any
    escalation_state: str | None
    version: int = 1  # what an action from this view expects (a change made meanwhile is refused)
    # the acknowledge clock (playbooks.clocks.alert_ack_clock): due, allowed minutes, done; None: no clock
    ack_due_at: datetime | None = None
    ack_minutes: int | None = None
    ack_done_at: datetime | None = None

    @property
    def waiting_for_ack(self) -> bool:
        """Nobody has acknowledged it yet and it is still to handle."""
        return self.ack_done_at is None and self.status in ("open", "escalated")


def queue_states(
    session: Session,
    post_ids: Sequence[str],
    *,
    playbooks: Sequence[Playbook] = (),
    now: datetime | None = None,
) -> dict[str, AlertState]:
    """The triage state of the alerts of ``post_ids``, by post id (posts without an alert are left out);
    with ``playbooks``, each alert's acknowledge clock too (the queue shows the time left on every row)."""
    if not post_ids:
        return {}
    alerts = list(session.scalars(select(Alert).where(Alert.post_id.in_(list(post_ids)))))
    open_esc: dict[int, Escalation] = {}
    if alerts:
        rows = session.scalars(
            select(Escalation)
            .where(
                Escalation.alert_id.in_([a.id for a in alerts]),
                Escalation.state.in_(escalation_flow.OPEN_STATES),
            )
            .order_by(Escalation.id)
        )
        open_esc = {e.alert_id: e for e in rows}
    out: dict[str, AlertState] = {}
    now = now or utcnow()
    for a in alerts:
        esc = open_esc.get(a.id)
        clock = (
            alert_ack_clock(
                a,
                playbook_for_alert(a, playbooks),
                now=now,
                escalation_acknowledged_at=esc.acknowledged_at if esc else None,
            )
            if playbooks
            else None
        )
        out[a.post_id] = AlertState(
            alert_id=a.id,
            post_id=a.post_id,
            status=a.status,
            level=a.level,
            drill=bool(a.drill),
            event_id=a.event_id or "",
            created_at=a.created_at,
            assignee=a.assignee or "",
            acknowledged_by=a.acknowledged_by or "",
            acknowledged_at=a.acknowledged_at,
            false_positive_by=a.false_positive_by or "",
            false_positive_at=a.false_positive_at,
            false_positive_reason=a.false_positive_reason or "",
            escalation_id=esc.id if esc else None,
            escalation_state=esc.state if esc else None,
            version=int(a.version or 1),
            ack_due_at=clock.due_at if clock else None,
            ack_minutes=clock.minutes if clock else None,
            ack_done_at=clock.done_at
            if clock
            else (a.acknowledged_at or (esc.acknowledged_at if esc else None)),
        )
    return out


def event_states(
    session: Session,
    event_id: str,
    *,
    playbooks: Sequence[Playbook] = (),
    now: datetime | None = None,
    drill: bool = False,
) -> dict[str, AlertState]:
    """The triage state of every alert of one event (by post id): the item page's group actions."""
    if not event_id:
        return {}
    ids = session.scalars(
        select(Alert.post_id).where(Alert.event_id == event_id, Alert.drill.is_(drill))
    ).all()
    return queue_states(session, list(ids), playbooks=playbooks, now=now)


@dataclass(frozen=True)
class AlertLine:
    """One alert as a listing shows it (``yuqing alerts``): its state and its acknowledge clock."""

    state: AlertState
    title: str
    source: str
    topic: str


def alert_lines(
    session: Session,
    *,
    levels: Sequence[str] = (),
    statuses: Sequence[str] = ("open", "escalated"),
    drill: bool = False,
    limit: int = 100,
    playbooks: Sequence[Playbook] = (),
    now: datetime | None = None,
) -> list[AlertLine]:
    """Alerts by level and status (every status when ``statuses`` is empty), the most urgent first: those
    waiting for an acknowledgment by their deadline, then the rest by level and newest."""
    stmt = select(Alert).where(Alert.drill.is_(drill))
    if levels:
        stmt = stmt.where(Alert.level.in_(list(levels)))
    if statuses:
        stmt = stmt.where(Alert.status.in_(list(statuses)))
    alerts = list(session.scalars(stmt.order_by(Alert.level_rank, Alert.created_at.desc()).limit(limit)))
    states = queue_states(session, [a.post_id for a in alerts], playbooks=playbooks, now=now)
    lines = [
        AlertLine(state=states[a.post_id], title=a.title or a.snippet, source=a.source, topic=a.topic)
        for a in alerts
        if a.post_id in states
    ]

    def urgency(line: AlertLine) -> tuple:
        st_ = line.state
        due = st_.ack_due_at if st_.waiting_for_ack and st_.ack_due_at is not None else None
        return (0 if due else 1, due.timestamp() if due else 0.0, level_rank(st_.level))

    return sorted(lines, key=urgency)


# the queue's views by alert status: still to handle (the default), dismissed as false positive, all
QUEUE_VIEWS: dict[str, tuple[str, ...] | None] = {
    "todo": ("open", "escalated"),
    "false_positive": ("false_positive",),
    "all": None,
}


def in_view(posts: Sequence[PostRecord], states: Mapping[str, AlertState], view: str) -> list[PostRecord]:
    """The posts a queue view (QUEUE_VIEWS) shows, in their order: those whose alert has one of the view's
    statuses; a flagged post whose alert is not there yet counts as still to handle."""
    statuses = QUEUE_VIEWS[view]
    if statuses is None:
        return list(posts)
    return [
        p
        for p in posts
        if (p.id not in states and view == "todo") or (p.id in states and states[p.id].status in statuses)
    ]


@dataclass
class QueueRow:
    """One row of the queue: a post and the near-duplicates collapsed under it."""

    post: PostRecord
    copies: list[PostRecord] = field(default_factory=list)


@dataclass
class QueueGroup:
    """Posts of one event (or one post alone): rows in queue order."""

    rows: list[QueueRow]

    @property
    def posts(self) -> list[PostRecord]:
        return [p for r in self.rows for p in (r.post, *r.copies)]

    @property
    def level(self) -> str | None:
        """The most severe level among the group's posts."""
        return min((p.level for p in self.posts), key=level_rank, default=None)


def by_urgency(groups: Sequence[QueueGroup], states: Mapping[str, AlertState]) -> list[QueueGroup]:
    """Groups in order of urgency, the way an on-call queue is read: first those with an alert nobody has
    acknowledged, the one whose acknowledge deadline comes first (or passed longest ago) leading; then
    the rest; within each, the most severe level, then the newest (the order they came in)."""

    def key(item: tuple[int, QueueGroup]) -> tuple:
        position, g = item
        dues = [
            a.ack_due_at
            for p in g.posts
            if (a := states.get(p.id)) is not None and a.waiting_for_ack and a.ack_due_at is not None
        ]
        first_due = min(dues) if dues else None
        return (
            0 if first_due is not None else 1,
            first_due.timestamp() if first_due is not None else 0.0,
            level_rank(g.level),
            position,
        )

    return [g for _, g in sorted(enumerate(groups), key=key)]


def group_posts(posts: Sequence[PostRecord]) -> list[QueueGroup]:
    """Posts (in queue order) → groups: one per event, near-duplicates folded under their first post.

    Posts are joined when they share an event id, or when one is a near-duplicate of the other
    (``dup_of``); groups keep the order of their first post, so the most severe and newest lead.
    """
    parent = {p.id: p.id for p in posts}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[rb] = ra

    by_event: dict[str, str] = {}
    by_dup: dict[str, str] = {}
    for p in posts:
        if p.event_id:
            union(by_event.setdefault(p.event_id, p.id), p.id)
        key = p.dup_of or p.id
        union(by_dup.setdefault(key, p.id), p.id)
    groups: dict[str, QueueGroup] = {}
    rows: dict[tuple[str, str], QueueRow] = {}
    for p in posts:
        g = groups.setdefault(find(p.id), QueueGroup(rows=[]))
        dup_key = (find(p.id), p.dup_of or p.id)
        row = rows.get(dup_key)
        if row is None:
            rows[dup_key] = row = QueueRow(post=p)
            g.rows.append(row)
        elif p.id == dup_key[1]:  # the first post itself, listed after a newer copy: it leads its row
            row.copies.insert(0, row.post)
            row.post = p
        else:
            row.copies.append(p)
    return list(groups.values())


@dataclass(frozen=True)
class QueueFigures:
    """The figures above a queue view, for one person."""

    seen_at: datetime | None  # when they last marked the queue seen (None: never, or nobody signed in)
    counts: dict[str | None, int]  # alerts per level (None: unrated)
    new_total: int  # alerts new to them
    assignable: list[tuple[str, str]]  # (username, display name) of every active user


def queue_figures(
    session: Session, *, username: str | None, drill: bool, statuses: Sequence[str] | None
) -> QueueFigures:
    """Alerts per level in a queue view, how many are new to ``username``, and who can be assigned."""
    seen_at = last_seen(session, username) if username else None
    return QueueFigures(
        seen_at=seen_at,
        counts=level_counts(session, drill=drill, statuses=statuses),
        new_total=count_new(session, seen_at=seen_at, drill=drill, statuses=statuses) if username else 0,
        assignable=active_users(session),
    )


def level_counts(session: Session, *, drill: bool, statuses: Sequence[str] | None) -> dict[str | None, int]:
    """How many alerts per level (None: unrated) in a queue view."""
    stmt = select(Alert.level, func.count()).where(Alert.drill.is_(drill)).group_by(Alert.level)
    if statuses is not None:
        stmt = stmt.where(Alert.status.in_(list(statuses)))
    return {level: int(n) for level, n in session.execute(stmt)}


def count_new(
    session: Session, *, seen_at: datetime | None, drill: bool, statuses: Sequence[str] | None
) -> int:
    """How many alerts of a queue view opened after ``seen_at`` (all of them when None)."""
    stmt = select(func.count()).select_from(Alert).where(Alert.drill.is_(drill))
    if statuses is not None:
        stmt = stmt.where(Alert.status.in_(list(statuses)))
    if seen_at is not None:
        stmt = stmt.where(Alert.created_at > seen_at)
    return int(session.scalar(stmt) or 0)


def active_users(session: Session) -> list[tuple[str, str]]:
    """(username, display name) of every active user, for the 指派 list."""
    rows = session.execute(
        select(User.username, User.display_name).where(User.active.is_(True)).order_by(User.username)
    )
    return [(u, d or u) for u, d in rows]


def last_seen(session: Session, username: str) -> datetime | None:
    """When this person last marked the queue as seen (None: never, or no such user)."""
    return session.scalar(select(User.last_queue_look_at).where(User.username == username))


def is_new(created_at: datetime | None, seen_at: datetime | None) -> bool:
    """An alert is new to a person when it opened after they last marked the queue seen (or never did)."""
    if created_at is None:
        return False
    return seen_at is None or created_at > seen_at


# --------------------------------------------------------------------------- actions


def acknowledge(
    session: Session,
    alert_id: int,
    actor: Actor,
    *,
    now: datetime | None = None,
    expected_version: int | None = None,
) -> bool:
    """Record that ``actor`` has seen and taken the alert; True when this call did it (False: already done).

    ``expected_version``: the alert's version the person was shown (AlertState.version); a change made
    by someone else since then is refused with AlertConflict (已被他人处理), as is one made between this
    call's read and its write.
    """
    require(actor, "alert.acknowledge")
    alert = _alert(session, alert_id)
    now = now or utcnow()
    done = _change(
        session,
        alert,
        expected_version,
        holds=lambda a: a.acknowledged_at is not None,
        refuse=lambda a: "该预警已标记为误报，无需确认。" if a.status == "false_positive" else None,
        acknowledged_by=actor.username,
        acknowledged_at=now,
    )
    if done:
        _audit(session, actor, "alert.acknowledged", alert, now)
    return done


def assign(
    session: Session,
    alert_id: int,
    assignee: str,
    actor: Actor,
    *,
    now: datetime | None = None,
    expected_version: int | None = None,
) -> bool:
    """Give the alert to ``assignee`` (an active user); True when the assignee changed."""
    require(actor, "alert.assign")
    alert = _alert(session, alert_id)
    assignee = (assignee or "").strip()
    user = session.scalar(select(User).where(User.username == assignee)) if assignee else None
    if user is None or not user.active:
        raise TriageError("只能指派给在岗的值守台用户。")
    now = now or utcnow()
    before = alert.assignee or ""
    done = _change(
        session,
        alert,
        expected_version,
        holds=lambda a: (a.assignee or "") == assignee,
        refuse=lambda a: "该预警已标记为误报，不能指派。" if a.status == "false_positive" else None,
        assignee=assignee,
    )
    if done:
        _audit(session, actor, "alert.assigned", alert, now, before=before, after=assignee)
    return done


def mark_false_positive(
    session: Session,
    alert_id: int,
    actor: Actor,
    reason: str,
    *,
    now: datetime | None = None,
    expected_version: int | None = None,
) -> bool:
    """Dismiss the alert as a false positive: kept (status, who, when, why), never deleted.

    An open escalation of the alert is closed as false positive too, when its state allows that (new
    or acknowledged); once people are responding to it, the record must be settled on the escalation
    page first, and this refuses. True when this call marked it (False: it already was). Of 误报 and
    升级 clicked at the same moment, one wins and the other gets AlertConflict.
    """
    require(actor, "alert.false_positive")
    reason = " ".join((reason or "").split())
    if not reason:
        raise TriageError("请填写误报原因（一句话即可）。")
    if len(reason) > MAX_REASON_CHARS:
        raise TriageError(f"误报原因请控制在 {MAX_REASON_CHARS} 字以内。")
    alert = _alert(session, alert_id)
    esc = _open_escalation(session, alert.id)

    def refuse(a: Alert) -> str | None:
        if esc is not None and "false_positive" not in escalation_flow.allowed_next(esc.state):
            label = escalation_flow.STATE_LABELS.get(esc.state, esc.state)
            return f"该预警的处置记录已是「{label}」，不能直接标为误报，请在处置记录页处理。"
        return None

    now = now or utcnow()
    before = alert.status
    done = _change(
        session,
        alert,
        expected_version,
        holds=lambda a: a.status == "false_positive",
        refuse=refuse,
        status="false_positive",
        false_positive_by=actor.username,
        false_positive_at=now,
        false_positive_reason=reason,
    )
    if not done:
        return False
    _audit(session, actor, "alert.false_positive", alert, now, before=before, reason=reason)
    if esc is not None:
        _escalation_to_false_positive(session, esc, actor, reason)
    return True


def reopen(
    session: Session,
    alert_id: int,
    actor: Actor,
    *,
    note: str = "",
    now: datetime | None = None,
    expected_version: int | None = None,
) -> bool:
    """A manager puts a dismissed (false positive) or closed alert back in the queue as open.

    The false-positive verdict is cleared from the alert (so it is no longer exported as training
    data); the audit trail keeps who said it and why. True when the alert was reopened.
    """
    require(actor, "alert.reopen")
    alert = _alert(session, alert_id)
    now = now or utcnow()
    before = {
        "status": alert.status,
        "false_positive_by": alert.false_positive_by or "",
        "false_positive_reason": alert.false_positive_reason or "",
    }
    done = _change(
        session,
        alert,
        expected_version,
        holds=lambda a: a.status not in ("false_positive", "closed"),
        refuse=lambda a: None,
        status="open",
        false_positive_by="",
        false_positive_at=None,
        false_positive_reason="",
    )
    if done:
        _audit(session, actor, "alert.reopened", alert, now, before=before, note=" ".join(note.split()))
    return done


def escalate(
    session: Session,
    alert_id: int,
    actor: Actor,
    *,
    playbook_id: str | None = None,
    note: str = "",
    expected_version: int | None = None,
) -> tuple[Escalation, bool]:
    """Open the escalation record for the alert (or return the open one); (record, created).

    The record, the alert's move to 已升级 (compare-and-set on its version) and the audit entry are made
    by playbooks.escalation.open_escalation, which is idempotent itself (at most one open record per
    alert, even under a race); an alert dismissed meanwhile is refused with AlertConflict.
    """
    require(actor, "escalation.open")
    alert = _alert(session, alert_id)
    if alert.status == "false_positive" and (expected_version is None or alert.version == expected_version):
        raise TriageError("该预警已标记为误报；如需处置，请负责人先恢复该预警。")
    try:
        return escalation_flow.open_escalation(
            session,
            alert_id=alert.id,
            actor=actor,
            playbook_id=playbook_id,
            note=note,
            expected_alert_version=expected_version,
        )
    except escalation_flow.AlertChanged as exc:
        raise AlertConflict(str(exc)) from exc
    except escalation_flow.EscalationError as exc:
        raise TriageError(str(exc)) from exc


@dataclass(frozen=True)
class GroupResult:
    """What one action on a whole group (an event's alerts) did: each alert in its own savepoint."""

    done: int  # alerts this call changed
    already: int  # alerts where it already held (acknowledged, assigned to that person)
    refused: list[str]  # why the others were refused (Chinese), one per alert

    @property
    def total(self) -> int:
        return self.done + self.already + len(self.refused)


def on_group(
    session: Session,
    items: Sequence[tuple[int, int | None]],
    actor: Actor,
    action: Callable[..., bool],
    *args: Any,
    **kwargs: Any,
) -> GroupResult:
    """Run one triage action (acknowledge, assign, mark_false_positive …) on every alert of a group:
    ``items`` are (alert id, the version shown). The role is checked by the action itself; one alert
    changed by someone else meanwhile is refused on its own (its message kept), the others go through."""
    done = already = 0
    refused: list[str] = []
    for alert_id, version in items:
        try:
            with session.begin_nested():
                changed = action(session, alert_id, *args, actor, expected_version=version, **kwargs)
        except TriageError as exc:
            refused.append(str(exc))
            continue
        done += bool(changed)
        already += not changed
    return GroupResult(done=done, already=already, refused=refused)


def mark_seen(session: Session, actor: Actor, now: datetime | None = None) -> datetime | None:
    """Move this person's "last looked at the queue" mark to ``now`` (never backwards).

    Alerts that opened after the mark are shown as 新 to this person. Returns the mark, or None when
    the actor has no user record (nothing to keep it on).
    """
    require(actor, "alert.view")
    user = session.scalar(select(User).where(User.username == actor.username))
    if user is None:
        return None
    now = as_utc(now or utcnow())
    before = user.last_queue_look_at
    if before is not None and before >= now:
        return before
    user.last_queue_look_at = now
    entry = audit(
        session,
        actor=actor.username,
        action="queue.seen",
        entity="user",
        entity_id=user.id,
        before=before.isoformat(timespec="seconds") if before else None,
        after=now.isoformat(timespec="seconds"),
    )
    entry.at = utcnow()
    return now


# --------------------------------------------------------------------------- training data


def count_false_positives(session: Session, *, include_drills: bool = False) -> int:
    stmt = select(func.count()).select_from(Alert).where(Alert.status == "false_positive")
    if not include_drills:
        stmt = stmt.where(Alert.drill.is_(False))
    return int(session.scalar(stmt) or 0)


def false_positive_training_rows(
    session: Session,
    actor: Actor,
    *,
    posts: PostLookup | None = None,
    batch: int = 500,
) -> Iterator[dict[str, Any]]:
    """The false positives as training rows: the post, what the model said, and the officer's verdict.

    One dict per alert marked false positive (drills never): ``id`` (the post id), ``text``, ``title``,
    ``source``, ``url``, ``published_at``, the model's ``sentiment``, ``falsity``, ``level``, ``topic``,
    ``targets``, ``negative_targets``, ``reasons``, and ``verdict`` ("false_positive"),
    ``verdict_reason``, ``verdict_at``. The full text and analysis come from ``posts`` (the posts
    index); without it, or for a post no longer indexed, from what the alert keeps (title, snippet).
    The permission check and the audit entry (with the count) happen at the first row.
    """
    require(actor, "alert.export_false_positives")
    total = count_false_positives(session)
    _export_audit(session, actor, total)
    last_id = 0
    while True:
        alerts = list(
            session.scalars(
                select(Alert)
                .where(Alert.status == "false_positive", Alert.drill.is_(False), Alert.id > last_id)
                .order_by(Alert.id)
                .limit(batch)
            )
        )
        if not alerts:
            return
        last_id = alerts[-1].id
        found = dict(posts.get_many([a.post_id for a in alerts])) if posts is not None else {}
        for a in alerts:
            post = found.get(a.post_id)
            if post is not None and post.drill:
                continue  # the alert lost its drill mark somehow; the post's word counts
            yield _training_row(a, post)


def _training_row(alert: Alert, post: PostRecord | None) -> dict[str, Any]:
    when = alert.false_positive_at
    row: dict[str, Any] = {
        "id": alert.post_id,
        "alert_id": alert.id,
        "title": post.title if post else alert.title or "",
        "text": post.text if post else alert.snippet or "",
        "source": post.source if post else alert.source or "",
        "url": post.url if post else alert.url or "",
        "published_at": post.published_at if post else "",
        "sentiment": dict(post.sentiment) if post else {},
        "falsity": dict(post.falsity) if post else {"label": alert.falsity_label or "none"},
        "level": (post.level if post else None) or alert.level,
        "topic": post.topic if post and post.topic else alert.topic or "",
        "targets": list(post.targets) if post else [],
        "negative_targets": list(post.negative_targets) if post else [],
        "reasons": list(post.reasons) if post else list(alert.reasons or []),
        "verdict": "false_positive",
        "verdict_reason": alert.false_positive_reason or "",
        "verdict_at": when.isoformat(timespec="seconds") if when else "",
    }
    return row


def _export_audit(session: Session, actor: Actor, total: int) -> None:
    entry = audit(
        session,
        actor=actor.username,
        action="alert.fp_exported",
        entity="export",
        entity_id="false_positives",
        rows=total,
    )
    entry.at = utcnow()


# --------------------------------------------------------------------------- helpers


def _alert(session: Session, alert_id: int) -> Alert:
    alert = session.get(Alert, alert_id, populate_existing=True)  # as the database has it now
    if alert is None:
        raise TriageError(f"预警 {alert_id} 不存在，可能已被清理。")
    return alert


def _open_escalation(session: Session, alert_id: int) -> Escalation | None:
    return session.scalar(
        select(Escalation)
        .where(Escalation.alert_id == alert_id, Escalation.state.in_(escalation_flow.OPEN_STATES))
        .order_by(Escalation.id.desc())
    )


def _change(
    session: Session,
    alert: Alert,
    expected_version: int | None,
    *,
    holds: Callable[[Alert], bool],
    refuse: Callable[[Alert], str | None],
    **values: Any,
) -> bool:
    """Compare-and-set the alert: True when this call changed it; False when what it asks for already
    holds (a double click); TriageError when ``refuse`` says the alert's state forbids it; AlertConflict
    when someone else changed the alert since ``expected_version`` or between this read and the write.

    The write is ``UPDATE alerts … WHERE id = :id AND version = :read`` (the version moves by one): of two
    people acting at the same moment the database lets one through, and the other finds the version
    moved, reads the alert again and is told what it is now.
    """
    if expected_version is not None and alert.version != expected_version:
        if holds(alert):
            return False
        raise AlertConflict(conflict_message(session, alert))
    if holds(alert):
        return False
    problem = refuse(alert)
    if problem:
        raise TriageError(problem)
    session.flush()
    result = session.execute(
        update(Alert)
        .where(Alert.id == alert.id, Alert.version == alert.version)
        .values(**values, version=Alert.version + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    session.refresh(alert)
    if result.rowcount:
        return True
    if holds(alert):
        return False
    raise AlertConflict(conflict_message(session, alert))


def conflict_message(session: Session, alert: Alert) -> str:
    """已被他人处理 and what the alert is now, for the person whose change lost."""
    now_is = f"现为「{STATUS_LABELS.get(alert.status, alert.status)}」"
    if alert.status == "false_positive" and alert.false_positive_by:
        now_is += f"，{alert.false_positive_by} 标为误报"
    esc = _open_escalation(session, alert.id)
    if esc is not None:
        now_is += f"，处置记录 #{esc.id}「{escalation_flow.STATE_LABELS.get(esc.state, esc.state)}」"
    if alert.acknowledged_by:
        now_is += f"，{alert.acknowledged_by} 已确认"
    if alert.assignee:
        now_is += f"，指派给 {alert.assignee}"
    return f"该预警已被他人处理（{now_is}），请刷新后再操作。"


def _audit(session: Session, actor: Actor, action: str, alert: Alert, now: datetime, **detail: Any) -> None:
    entry = audit(
        session,
        actor=actor.username,
        action=action,
        entity="alert",
        entity_id=alert.id,
        post_id=alert.post_id,
        drill=bool(alert.drill),
        **detail,
    )
    entry.at = now


def _escalation_to_false_positive(session: Session, esc: Escalation, actor: Actor, reason: str) -> None:
    try:
        escalation_flow.transition(
            session, escalation_id=esc.id, to_state="false_positive", actor=actor, note=f"误报：{reason}"
        )
    except escalation_flow.EscalationError as exc:
        raise TriageError(str(exc)) from exc

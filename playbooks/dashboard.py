"""Figures for the managers' dashboard (态势总览), without Streamlit: volume, sentiment and levels over
time, top sources, top events, and the open escalations by age and clock state.

Post figures come from the posts index through its engine-neutral ``facets`` call (the same on SQLite
and Elasticsearch), one call per time bucket; event and escalation figures come from the records
database. Drills never count unless the caller asks for them (``include_drills``): a rehearsal must not
show up in production figures.

Times: the desk's people think in Beijing time, so days start at 00:00 Beijing; the index keeps naive
UTC, and bounds are passed to it as such.

One clock for posts and events: a post counts on the day of its time as the index keeps it (published,
or first seen when the source gives no time) — the time the queue sorts by — and an event counts by the
posts of it that are flagged in the range (``flagged_posts`` → ``events_of``), so 预警帖子 and 热点事件
(and a daily brief's posts and new events) never disagree about a day. Records (opened, closed, clocks)
count by when people acted on them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from playbooks.clocks import CLOCK_STATE_LABELS, CLOCK_STATES, ClockState, escalation_clocks, worst_state
from playbooks.escalation import OPEN_STATES, STATE_LABELS
from playbooks.schema import Playbook
from store.models import LEVELS, SENTIMENTS, Alert, Escalation, level_rank
from store.times import as_utc, parse_instant

SHANGHAI = ZoneInfo("Asia/Shanghai")
MAX_BUCKETS = 24 * 7  # hourly buckets are offered for ranges of up to a week
SENTIMENT_NAMES = {"negative": "负面", "neutral": "中性", "positive": "正面"}
LEVEL_NAMES = {"I": "I 级", "II": "II 级", "III": "III 级", "IV": "IV 级"}


class RangeError(ValueError):
    """A date range the dashboard cannot show; the message is Chinese."""


def _bound(value: datetime) -> str:
    """An aware time as the index's bound: naive UTC ISO to the second."""
    return as_utc(value).replace(tzinfo=None).isoformat(timespec="seconds")


def day_range(first: date, last: date) -> tuple[datetime, datetime]:
    """Beijing days ``first`` … ``last`` (both included) as [start, end) aware datetimes."""
    if last < first:
        raise RangeError("结束日期不能早于开始日期。")
    start = datetime.combine(first, time(0), tzinfo=SHANGHAI)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=SHANGHAI)
    return start, end


def default_range(index: Any, today: date, days: int = 7) -> tuple[date, date, str]:
    """The dashboard's opening range: the last ``days`` Beijing days; or, when they hold no posts, the
    ``days`` up to the newest post (a quiet week, a store filled from an older export), with a note
    saying so, so the page does not open on empty charts."""
    first = today - timedelta(days=days - 1)
    start, end = day_range(first, today)
    recent = index.facets(drill=False, since=_bound(start), until=_bound(end))
    if sum(recent.get("source", {}).values()):
        return first, today, ""
    newest = index.search(drill=False, order="newest", limit=1).items
    stamp = newest[0].display_time if newest else ""
    at = parse_instant(stamp)
    if at is None:
        return first, today, ""
    day = at.astimezone(SHANGHAI).date()
    if day >= today:
        return first, today, ""
    return (
        day - timedelta(days=days - 1),
        day,
        f"最近 {days} 天没有帖子，默认显示截至最新帖子（{day.isoformat()}）的 {days} 天；可在上方改选日期。",
    )


def buckets(start: datetime, end: datetime, unit: str) -> list[tuple[datetime, datetime]]:
    """[start, end) cut into Beijing days or hours."""
    if unit not in ("day", "hour"):
        raise ValueError(f"unit must be 'day' or 'hour', not {unit!r}")
    step = timedelta(days=1) if unit == "day" else timedelta(hours=1)
    out = []
    cur = start.astimezone(SHANGHAI)
    while cur < end:
        out.append((cur, min(cur + step, end)))
        cur = cur + step
    if len(out) > MAX_BUCKETS and unit == "hour":
        raise RangeError(f"按小时统计最多 {MAX_BUCKETS // 24} 天，请缩短日期范围或改为按天。")
    return out


# --------------------------------------------------------------------------- posts over time


@dataclass
class Bucket:
    start: datetime  # Beijing time
    total: int
    sentiment: dict[str, int]  # negative / neutral / positive → count
    level: dict[str, int]  # I … IV → count (flagged posts only)


@dataclass
class PostFigures:
    unit: str
    series: list[Bucket]
    sources: list[tuple[str, int]]  # most posts first
    total: int
    negative: int
    flagged: int

    def rows(self) -> list[dict[str, Any]]:
        """Long-form rows (one per bucket and series) for charts: 时间 (naive Beijing time), 时段 (its label:
        10-01, or 10-01 09时), 序列, 类别, 数量."""
        out: list[dict[str, Any]] = []
        for b in self.series:
            t = b.start.astimezone(SHANGHAI).replace(tzinfo=None)
            label = t.strftime("%m-%d") if self.unit == "day" else t.strftime("%m-%d %H时")
            base = {"时间": t, "时段": label}
            out.append({**base, "序列": "发帖量", "类别": "全部", "数量": b.total})
            for s in SENTIMENTS:
                out.append(
                    {**base, "序列": "情绪", "类别": SENTIMENT_NAMES[s], "数量": b.sentiment.get(s, 0)}
                )
            for lv in LEVELS:
                out.append({**base, "序列": "级别", "类别": LEVEL_NAMES[lv], "数量": b.level.get(lv, 0)})
        return out


def post_figures(
    index: Any,
    *,
    start: datetime,
    end: datetime,
    unit: str = "day",
    include_drills: bool = False,
    top: int = 10,
) -> PostFigures:
    """Posts in [start, end): per bucket the count, sentiments and levels; the top sources over all."""
    drill = None if include_drills else False
    series: list[Bucket] = []
    for lo, hi in buckets(start, end, unit):
        f = index.facets(drill=drill, since=_bound(lo), until=_bound(hi))
        series.append(
            Bucket(
                start=lo,
                total=sum(f.get("source", {}).values()),
                sentiment={s: int(f.get("sentiment", {}).get(s, 0)) for s in SENTIMENTS},
                level={lv: int(f.get("level", {}).get(lv, 0)) for lv in LEVELS},
            )
        )
    whole = index.facets(drill=drill, since=_bound(start), until=_bound(end))
    sources = sorted(whole.get("source", {}).items(), key=lambda kv: (-kv[1], kv[0]))
    return PostFigures(
        unit=unit,
        series=series,
        sources=[(k, int(v)) for k, v in sources[:top]],
        total=sum(whole.get("source", {}).values()),
        negative=int(whole.get("sentiment", {}).get("negative", 0)),
        flagged=sum(int(whole.get("level", {}).get(lv, 0)) for lv in LEVELS),
    )


# --------------------------------------------------------------------------- flagged posts and their events

MAX_FLAGGED = 5000  # flagged posts read for the events of a range (a range with more counts the newest)


def flagged_posts(
    index: Any, *, start: datetime, end: datetime, include_drills: bool = False, cap: int = MAX_FLAGGED
) -> list[Any]:
    """The flagged posts whose time (as the index keeps it) falls in [start, end), newest first."""
    out: list[Any] = []
    while len(out) < cap:
        page = index.search(
            "",
            flagged=True,
            drill=None if include_drills else False,
            since=_bound(start),
            until=_bound(end),
            order="newest",
            limit=min(500, cap - len(out)),
            offset=len(out),
        ).items
        out += page
        if len(page) < 500:
            break
    return out


def post_time(post: Any) -> datetime | None:
    """A post's time as the index sorts and counts it (published, else first seen), aware UTC."""
    return parse_instant(post.published_at) or parse_instant(post.first_seen_at)


def events_of(session: Session, posts: Sequence[Any]) -> list[EventRow]:
    """The events of ``posts`` (their alerts' event ids), biggest first, each with its first post's title."""
    by_id = {p.id: p for p in posts}
    alerts: list[Alert] = []
    ids = list(by_id)
    for i in range(0, len(ids), 500):
        alerts += session.scalars(
            select(Alert).where(Alert.post_id.in_(ids[i : i + 500]), Alert.event_id != "")
        )
    members: dict[str, list[tuple[datetime, Alert]]] = {}
    for a in alerts:
        when = post_time(by_id[a.post_id]) or a.created_at
        members.setdefault(a.event_id, []).append((when, a))
    out = []
    for event_id, rows in members.items():
        rows.sort(key=lambda r: (r[0], r[1].id))
        first = rows[0][1]
        rank = min(a.level_rank for _, a in rows)
        out.append(
            EventRow(
                event_id=event_id,
                title=first.title or first.snippet[:60],
                alerts=len(rows),
                first_seen=rows[0][0],
                last_seen=rows[-1][0],
                worst_level=LEVELS[rank - 1] if 1 <= (rank or 9) <= len(LEVELS) else None,
                sources=list(dict.fromkeys(a.source for _, a in rows if a.source)),
            )
        )
    out.sort(key=lambda e: (-e.alerts, level_rank(e.worst_level), e.first_seen, e.event_id))
    return out


# --------------------------------------------------------------------------- top events


@dataclass
class EventRow:
    event_id: str
    title: str  # the title of the event's first alert
    alerts: int
    first_seen: datetime
    last_seen: datetime
    worst_level: str | None
    sources: list[str] = field(default_factory=list)


def top_events(
    session: Session,
    *,
    index: Any,
    start: datetime,
    end: datetime,
    include_drills: bool = False,
    top: int = 10,
) -> list[EventRow]:
    """Events with the most flagged posts in [start, end) (by the posts' time, as 预警帖子 counts them),
    each with its first post's title."""
    posts = flagged_posts(index, start=start, end=end, include_drills=include_drills)
    return events_of(session, posts)[:top]


# --------------------------------------------------------------------------- open escalations


@dataclass
class OpenEscalation:
    id: int
    level: str | None
    state: str
    owner: str
    title: str
    started_at: datetime  # the alert's opening (clocks count from here)
    age: timedelta
    worst: str  # worst clock state
    worst_clock: ClockState | None  # the clock in that state that is furthest behind / soonest due
    drill: bool

    @property
    def state_label(self) -> str:
        return STATE_LABELS.get(self.state, self.state)

    @property
    def worst_label(self) -> str:
        return CLOCK_STATE_LABELS[self.worst]

    @property
    def time_left(self) -> timedelta | None:
        """Time before the worst clock's deadline (negative: overdue by); None when nothing is due."""
        c = self.worst_clock
        if c is None or c.due_at is None or c.state in ("met", "not_required"):
            return None
        if c.done_at is not None:  # met late: how late it was
            return c.due_at - c.done_at
        return c.due_at - c.now


def _pick(clocks: Sequence[ClockState], state: str) -> ClockState | None:
    same = [c for c in clocks if c.state == state and c.due_at is not None]
    return min(same, key=lambda c: c.due_at) if same else None  # type: ignore[arg-type,return-value]


def open_escalations(
    session: Session, *, playbooks: Sequence[Playbook], now: datetime, include_drills: bool = False
) -> list[OpenEscalation]:
    """Every escalation not yet closed (nor a false positive), worst clock state first, then level, then
    least time left, then oldest."""
    now = as_utc(now)
    by_id = {p.id: p for p in playbooks}
    stmt = select(Escalation).where(Escalation.state.in_(OPEN_STATES))
    if not include_drills:
        stmt = stmt.where(Escalation.drill.is_(False))
    rows: list[OpenEscalation] = []
    for esc in session.scalars(stmt.order_by(Escalation.id)):
        alert = esc.alert
        playbook = by_id.get(esc.playbook_id or (alert.playbook_id if alert else "") or "")
        clocks = escalation_clocks(session, esc, playbook, now=now) if playbook else []
        worst = worst_state(clocks)
        started = alert.created_at if alert is not None and alert.created_at else esc.opened_at
        rows.append(
            OpenEscalation(
                id=esc.id,
                level=esc.level,
                state=esc.state,
                owner=esc.owner,
                title=(alert.title or alert.snippet[:60]) if alert is not None else "",
                started_at=started,
                age=now - started,
                worst=worst,
                worst_clock=_pick(clocks, worst),
                drill=bool(esc.drill),
            )
        )

    def key(r: OpenEscalation):
        left = r.time_left
        return (
            CLOCK_STATES.index(r.worst),
            level_rank(r.level),
            left.total_seconds() if left is not None else float("inf"),
            -r.age.total_seconds(),
        )

    rows.sort(key=key)
    return rows


def clock_state_counts(rows: Sequence[OpenEscalation]) -> dict[str, int]:
    """How many open escalations have each worst clock state (every state present, in CLOCK_STATES order)."""
    counts = {s: 0 for s in CLOCK_STATES}
    for r in rows:
        counts[r.worst] += 1
    return counts


def age_bands(rows: Sequence[OpenEscalation]) -> dict[str, int]:
    """Open escalations by age: <1 小时, 1–4 小时, 4–24 小时, 1–3 天, >3 天."""
    bands = {"1 小时内": 0, "1–4 小时": 0, "4–24 小时": 0, "1–3 天": 0, "3 天以上": 0}
    for r in rows:
        h = r.age.total_seconds() / 3600
        key = (
            "1 小时内"
            if h < 1
            else "1–4 小时"
            if h < 4
            else "4–24 小时"
            if h < 24
            else "1–3 天"
            if h < 72
            else "3 天以上"
        )
        bands[key] += 1
    return bands

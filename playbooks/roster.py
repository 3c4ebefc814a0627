"""The duty roster (值班表): who is on duty on each day of a holiday, with backups and contacts.

One row (``store.models.RosterEntry``) is one person on one duty for one shift of one day:

- ``day`` is a Beijing calendar day; ``shift_start`` / ``shift_end`` are Beijing wall-clock times
  "HH:MM".  "00:00"–"24:00" is the whole day.  A shift may end at 24:00; a shift whose end is
  earlier than its start runs over midnight into the next day ("22:00"–"08:00").
- ``duty`` is one of ``primary`` (主班值班员), ``backup`` (备班值班员), ``manager`` (带班负责人).
- ``phone`` is how to reach the person on that shift; empty means the phone on the user account.

The rules a complete roster meets (``gaps``): every hour of every day has a primary; every day has a
backup and a manager; everyone on it is an active desk user with a phone (on the entry or the
account).  A person disabled after being put on the roster is a gap again.

Changing the roster needs the ``roster.edit`` permission (管理员); every change is audited.

The escalation chain follows the roster: ``roster_resolver(now)`` / ``roster_alert_resolver(now)``
replace ``playbooks.chain.people_for`` / ``playbooks.alerting.people_for_alert``.  A chain entry
``role:manager`` means the manager on duty now when the roster has one (else every manager, as
before), and ``duty:primary`` / ``duty:backup`` / ``duty:manager`` means the person on that duty now.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from playbooks import people
from playbooks.authz import Actor, require
from store.models import DUTIES, Alert, Escalation, RosterEntry, User
from store.records import audit
from store.times import as_utc

BEIJING = ZoneInfo("Asia/Shanghai")
DUTY_LABELS = {"primary": "主班", "backup": "备班", "manager": "带班负责人"}
# what a CSV or a form may say for a duty
DUTY_ALIASES = {
    "primary": "primary",
    "主班": "primary",
    "主班值班员": "primary",
    "值班员": "primary",
    "backup": "backup",
    "备班": "backup",
    "备班值班员": "backup",
    "manager": "manager",
    "带班负责人": "manager",
    "带班": "manager",
    "负责人": "manager",
}
CSV_HEADER = ("日期", "开始", "结束", "岗位", "用户名", "电话", "备注")
DAY_MINUTES = 24 * 60

GAP_LABELS = {
    "no_primary": "缺主班",
    "no_backup": "缺备班",
    "no_manager": "缺带班负责人",
    "no_phone": "联系电话缺失",
    "inactive": "账号已停用",
    "unknown_user": "账号不存在",
}


class RosterError(ValueError):
    """A roster change that cannot be made; the message is Chinese, shown as is."""


class RosterImportError(RosterError):
    """A CSV with bad lines; nothing of it was imported.  ``errors`` holds (line number, message)."""

    def __init__(self, errors: list[tuple[int, str]]):
        self.errors = errors
        lines = "；".join(f"第 {n} 行：{msg}" for n, msg in errors[:20])
        more = f"（另有 {len(errors) - 20} 处）" if len(errors) > 20 else ""
        super().__init__(f"值班表未导入，有 {len(errors)} 处错误：{lines}{more}")


# --------------------------------------------------------------------------- parsing


def parse_duty(value: str) -> str:
    duty = DUTY_ALIASES.get((value or "").strip().lower()) or DUTY_ALIASES.get((value or "").strip())
    if duty is None:
        raise RosterError(f"岗位“{value}”无法识别，应为 主班 / 备班 / 带班负责人")
    return duty


def _minutes(value: str, *, end: bool) -> int:
    text = (value or "").strip()
    try:
        hh, mm = text.split(":")
        h, m = int(hh), int(mm)
    except ValueError:
        raise RosterError(f"时间“{value}”格式不对，应为 HH:MM（如 08:00）") from None
    if not (0 <= m < 60 and (0 <= h < 24 or (end and h == 24 and m == 0))):
        raise RosterError(f"时间“{value}”不存在（00:00–{'24:00' if end else '23:59'}）")
    return h * 60 + m


def normalise_shift(start: str, end: str) -> tuple[str, str]:
    """('8:00', '24:00') → ('08:00', '24:00'); a shift must have a length."""
    s = _minutes(start or "00:00", end=False)
    e = _minutes(end or "24:00", end=True)
    if s == e:
        raise RosterError("班次的开始与结束时间不能相同")
    return f"{s // 60:02d}:{s % 60:02d}", f"{e // 60:02d}:{e % 60:02d}"


def parse_day(value: str | date) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = (value or "").strip().replace("/", "-").replace(".", "-")
    try:
        y, m, d = (int(p) for p in text.split("-"))
        return date(y, m, d)
    except ValueError:
        raise RosterError(f"日期“{value}”格式不对，应为 YYYY-MM-DD") from None


def span(entry: RosterEntry) -> tuple[datetime, datetime]:
    """The shift as Beijing-aware datetimes (an overnight shift ends the next day)."""
    day = date.fromisoformat(entry.day)
    base = datetime(day.year, day.month, day.day, tzinfo=BEIJING)
    s = _minutes(entry.shift_start, end=False)
    e = _minutes(entry.shift_end, end=True)
    if e <= s:
        e += DAY_MINUTES
    return base + timedelta(minutes=s), base + timedelta(minutes=e)


def shift_text(entry: RosterEntry) -> str:
    if entry.shift_start == "00:00" and entry.shift_end == "24:00":
        return "全天"
    overnight = _minutes(entry.shift_end, end=True) <= _minutes(entry.shift_start, end=False)
    return f"{entry.shift_start}–{'次日' if overnight else ''}{entry.shift_end}"


# --------------------------------------------------------------------------- changes (admin only)


def _user(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


def _check_new(
    session: Session,
    day: date,
    start: str,
    end: str,
    duty: str,
    username: str,
    pending: Iterable[tuple[date, str, str, str, str]] = (),
) -> None:
    user = _user(session, username)
    if user is None:
        raise RosterError(f"用户“{username}”不存在")
    if not user.active:
        raise RosterError(f"用户“{username}”的账号已停用")
    probe = RosterEntry(day=day.isoformat(), shift_start=start, shift_end=end, duty=duty, username=username)
    lo, hi = span(probe)
    same = session.scalars(
        select(RosterEntry).where(
            RosterEntry.username == username,
            RosterEntry.duty == duty,
            RosterEntry.day.in_([(day + timedelta(days=k)).isoformat() for k in (-1, 0, 1)]),
        )
    ).all()
    others = [span(e) for e in same]
    others += [
        span(RosterEntry(day=d.isoformat(), shift_start=s, shift_end=e, duty=du, username=u))
        for d, s, e, du, u in pending
        if u == username and du == duty
    ]
    for o_lo, o_hi in others:
        if lo < o_hi and o_lo < hi:
            raise RosterError(f"{username} 在 {day.isoformat()} 已有重叠的{DUTY_LABELS[duty]}班次")


def add_entry(
    session: Session,
    actor: Actor,
    *,
    day: date | str,
    duty: str,
    username: str,
    shift_start: str = "00:00",
    shift_end: str = "24:00",
    phone: str = "",
    note: str = "",
) -> RosterEntry:
    """Put one person on one duty for one shift (管理员).  RosterError (Chinese) when it cannot be."""
    require(actor, "roster.edit")
    day = parse_day(day)
    duty = parse_duty(duty)
    username = (username or "").strip()
    start, end = normalise_shift(shift_start, shift_end)
    _check_new(session, day, start, end, duty, username)
    entry = RosterEntry(
        day=day.isoformat(),
        shift_start=start,
        shift_end=end,
        duty=duty,
        username=username,
        phone=(phone or "").strip()[:40],
        note=(note or "").strip(),
        created_by=actor.username,
    )
    session.add(entry)
    session.flush()
    _audit_add(session, actor, entry)
    return entry


def _audit_add(session: Session, actor: Actor, entry: RosterEntry, **extra) -> None:
    audit(
        session,
        actor=actor.username,
        action="roster.add",
        entity="roster",
        entity_id=entry.id,
        day=entry.day,
        shift=f"{entry.shift_start}-{entry.shift_end}",
        duty=entry.duty,
        username=entry.username,
        phone=entry.phone,
        **extra,
    )


def remove_entry(session: Session, actor: Actor, entry_id: int) -> None:
    """Take one entry off the roster (管理员)."""
    require(actor, "roster.edit")
    entry = session.get(RosterEntry, entry_id)
    if entry is None:
        raise RosterError(f"值班记录 #{entry_id} 不存在")
    session.flush()
    gone = session.execute(delete(RosterEntry).where(RosterEntry.id == entry.id)).rowcount
    if not gone:  # two admins removing the same entry at once: one removes it, one audit entry
        raise RosterError(f"值班记录 #{entry_id} 已被他人删除，请刷新后再操作。")
    session.expunge(entry)
    audit(
        session,
        actor=actor.username,
        action="roster.remove",
        entity="roster",
        entity_id=entry.id,
        day=entry.day,
        shift=f"{entry.shift_start}-{entry.shift_end}",
        duty=entry.duty,
        username=entry.username,
    )


def import_csv(session: Session, actor: Actor, text: str | bytes, *, source: str = "") -> list[RosterEntry]:
    """Import ``日期,开始,结束,岗位,用户名,电话,备注`` lines (管理员).  Every line is checked first; one bad
    line refuses the whole file (RosterImportError with line numbers) and nothing is imported."""
    require(actor, "roster.edit")
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = text.decode("gb18030")
    text = text.lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(text)))
    errors: list[tuple[int, str]] = []
    if not rows or tuple(c.strip() for c in rows[0][: len(CSV_HEADER)]) != CSV_HEADER:
        raise RosterImportError([(1, f"表头应为：{','.join(CSV_HEADER)}")])
    parsed: list[tuple[date, str, str, str, str, str, str]] = []
    for lineno, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        row = [c.strip() for c in row] + [""] * (len(CSV_HEADER) - len(row))
        if len(row) > len(CSV_HEADER) and any(row[len(CSV_HEADER) :]):
            errors.append((lineno, f"列数过多（应为 {len(CSV_HEADER)} 列）"))
            continue
        day_s, start_s, end_s, duty_s, username, phone, note = row[: len(CSV_HEADER)]
        try:
            if not username:
                raise RosterError("用户名为空")
            day = parse_day(day_s)
            duty = parse_duty(duty_s)
            start, end = normalise_shift(start_s or "00:00", end_s or "24:00")
            _check_new(session, day, start, end, duty, username, [p[:5] for p in parsed])
        except RosterError as exc:
            errors.append((lineno, str(exc)))
            continue
        parsed.append((day, start, end, duty, username, phone, note))
    if errors:
        raise RosterImportError(errors)
    entries = []
    with session.begin_nested():
        for day, start, end, duty, username, phone, note in parsed:
            entry = RosterEntry(
                day=day.isoformat(),
                shift_start=start,
                shift_end=end,
                duty=duty,
                username=username,
                phone=phone[:40],
                note=note,
                created_by=actor.username,
            )
            session.add(entry)
            entries.append(entry)
        session.flush()
        for entry in entries:
            _audit_add(session, actor, entry, imported=True)
        audit(
            session,
            actor=actor.username,
            action="roster.import",
            entity="roster",
            entity_id="csv",
            source=source,
            entries=len(entries),
        )
    return entries


# --------------------------------------------------------------------------- reading


def entries_between(session: Session, start: date, end: date) -> list[RosterEntry]:
    """Entries of the days start..end (inclusive), by day, shift, duty."""
    rows = session.scalars(
        select(RosterEntry).where(RosterEntry.day >= start.isoformat(), RosterEntry.day <= end.isoformat())
    ).all()
    order = {d: i for i, d in enumerate(DUTIES)}
    return sorted(rows, key=lambda e: (e.day, order.get(e.duty, 9), e.shift_start, e.username))


def _beijing(at: datetime) -> datetime:
    return as_utc(at).astimezone(BEIJING)  # naive datetimes in this project are UTC


def on_duty(session: Session, at: datetime, duty: str | None = None) -> list[RosterEntry]:
    """Who is on duty at ``at`` (any timezone; a naive value is UTC): shifts in Beijing time, the start
    included and the end excluded.  An overnight shift of the day before counts after midnight."""
    local = _beijing(at)
    today = local.date()
    days = [(today - timedelta(days=1)).isoformat(), today.isoformat()]
    stmt = select(RosterEntry).where(RosterEntry.day.in_(days))
    if duty:
        stmt = stmt.where(RosterEntry.duty == parse_duty(duty))
    out = []
    for entry in session.scalars(stmt):
        lo, hi = span(entry)
        if lo <= local < hi:
            out.append(entry)
    order = {d: i for i, d in enumerate(DUTIES)}
    return sorted(out, key=lambda e: (order.get(e.duty, 9), e.shift_start, e.username))


def contact_phone(entry: RosterEntry, user: User | None) -> str:
    return (entry.phone or "").strip() or ((user.phone or "").strip() if user else "")


@dataclass(frozen=True)
class RosterLine:
    """One roster entry as people read it (plain values)."""

    entry_id: int
    day: str  # 2026-10-01
    duty: str  # one of DUTIES
    username: str
    name: str  # the user's display name, else the username
    shift: str  # shift_text: 全天 / 08:00–20:00
    phone: str  # contact_phone; "" when there is none


def roster_lines(session: Session, start: date, end: date) -> list[RosterLine]:
    """The entries of the days start..end (inclusive) in roster order, with names and phones."""
    entries = entries_between(session, start, end)
    users = {u.username: u for u in session.scalars(select(User))}
    out = []
    for e in entries:
        user = users.get(e.username)
        out.append(
            RosterLine(
                entry_id=e.id,
                day=e.day,
                duty=e.duty,
                username=e.username,
                name=people.label(e.username, user.display_name if user else ""),
                shift=shift_text(e),
                phone=contact_phone(e, user),
            )
        )
    return out


def active_people(session: Session) -> dict[str, str]:
    """username → 王晓明（wang） (or the username alone) of every active user, by username."""
    users = sorted(session.scalars(select(User).where(User.active.is_(True))), key=lambda u: u.username)
    return {u.username: people.label(u.username, u.display_name or "") for u in users}


@dataclass(frozen=True)
class Gap:
    """One thing missing from the roster on one day; ``message`` is for people."""

    day: date
    kind: str  # one of GAP_LABELS
    duty: str | None = None
    username: str | None = None
    start: str | None = None  # for no_primary: the uncovered hours
    end: str | None = None
    entry_id: int | None = None

    @property
    def label(self) -> str:
        return GAP_LABELS[self.kind]

    @property
    def message(self) -> str:
        day = self.day.isoformat()
        if self.kind == "no_primary":
            hours = "全天" if (self.start, self.end) == ("00:00", "24:00") else f"{self.start}–{self.end}"
            return f"{day} 缺主班（{hours}）"
        if self.kind in ("no_backup", "no_manager"):
            return f"{day} {self.label}"
        return f"{day} {self.label}：{DUTY_LABELS.get(self.duty or '', self.duty)} {self.username}"


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def gaps(session: Session, start: date, end: date) -> list[Gap]:
    """Everything missing from the roster for the days start..end (inclusive), day by day."""
    if end < start:
        start, end = end, start
    rows = entries_between(session, start - timedelta(days=1), end)
    names = {e.username for e in rows}
    users = (
        {u.username: u for u in session.scalars(select(User).where(User.username.in_(names)))}
        if names
        else {}
    )
    out: list[Gap] = []
    day = start
    while day <= end:
        day_lo = datetime(day.year, day.month, day.day, tzinfo=BEIJING)
        day_hi = day_lo + timedelta(days=1)
        iso = day.isoformat()
        valid_by_duty: dict[str, list[RosterEntry]] = {d: [] for d in DUTIES}
        for entry in rows:
            lo, hi = span(entry)
            if not (lo < day_hi and day_lo < hi):
                continue
            user = users.get(entry.username)
            problem = None
            if user is None:
                problem = "unknown_user"
            elif not user.active:
                problem = "inactive"
            elif not contact_phone(entry, user):
                problem = "no_phone"
            if problem:
                if entry.day == iso:  # told once, on the day the entry belongs to
                    out.append(Gap(day, problem, entry.duty, entry.username, entry_id=entry.id))
                continue
            valid_by_duty.setdefault(entry.duty, []).append(entry)
        # every minute of the day needs a primary
        covered: list[tuple[int, int]] = []
        for entry in valid_by_duty["primary"]:
            lo, hi = span(entry)
            a = max(0, int((lo - day_lo).total_seconds() // 60))
            b = min(DAY_MINUTES, int((hi - day_lo).total_seconds() // 60))
            if a < b:
                covered.append((a, b))
        cursor = 0
        for a, b in sorted(covered):
            if a > cursor:
                out.append(Gap(day, "no_primary", "primary", start=_hhmm(cursor), end=_hhmm(a)))
            cursor = max(cursor, b)
        if cursor < DAY_MINUTES:
            out.append(Gap(day, "no_primary", "primary", start=_hhmm(cursor), end=_hhmm(DAY_MINUTES)))
        for duty, kind in (("backup", "no_backup"), ("manager", "no_manager")):
            if not any(e.day == iso for e in valid_by_duty[duty]):
                out.append(Gap(day, kind, duty))
        day += timedelta(days=1)
    return out


def holiday_days(holiday) -> tuple[date, date]:
    """The days a holiday's roster must cover: its days off and the exchange closure around them."""
    days = [holiday.start, holiday.end, *holiday.exchange_closed_days]
    return min(days), max(days)


def roster_complete(session: Session, holiday) -> tuple[bool, list[Gap]]:
    """Is the roster complete for every day of ``holiday`` (a playbooks.holidays.Holiday)?"""
    start, end = holiday_days(holiday)
    found = gaps(session, start, end)
    return not found, found


# --------------------------------------------------------------------------- the chain follows the roster


def duty_people(session: Session, at: datetime, duty: str) -> list[User]:
    """The active users on ``duty`` at ``at``, in roster order, each once."""
    out: list[User] = []
    for entry in on_duty(session, at, duty):
        user = _user(session, entry.username)
        if user is not None and user.active and user not in out:
            out.append(user)
    return out


def _roster_first(session: Session, at: datetime, entry: str) -> list[User] | None:
    """What the roster says about a chain entry, or None when the usual resolver should answer."""
    if entry.startswith("duty:"):
        duty = entry.removeprefix("duty:")
        if duty not in DUTIES:
            return []
        return duty_people(session, at, duty)
    if entry == "role:manager":
        return duty_people(session, at, "manager") or None
    return None


def roster_on_duty(now: datetime):
    """(session) → the usernames on duty at ``now`` (primary, then backup): who an announcement is for."""

    def people(session: Session) -> list[str]:
        names = [u.username for duty in ("primary", "backup") for u in duty_people(session, now, duty)]
        return list(dict.fromkeys(names))

    return people


def roster_resolver(now: datetime, base=None):
    """A ``playbooks.chain.Resolver`` that follows the roster at ``now``; ``base`` answers the rest
    (``owner``, usernames, other roles, and role:manager when no manager is on duty)."""
    if base is None:
        from playbooks.chain import people_for as base

    def resolve(session: Session, esc: Escalation, entry: str) -> list[User]:
        found = _roster_first(session, now, entry)
        return base(session, esc, entry) if found is None else found

    return resolve


def roster_alert_resolver(now: datetime, base=None):
    """The same for ``playbooks.alerting.chase_alerts`` (``owner`` is the alert's assignee)."""
    if base is None:
        from playbooks.alerting import people_for_alert as base

    def resolve(session: Session, alert: Alert, entry: str) -> list[User]:
        found = _roster_first(session, now, entry)
        return base(session, alert, entry) if found is None else found

    return resolve

"""The State Council's holiday notice entered by an admin on the desk (节前准备), for a year the calendar
package has not published yet: kept in the records database (``HolidayEntry``), audited, and counted by
playbooks.holidays exactly like the package's data (``Holiday.basis`` = ``entered``).

``apply`` hands the active entries to playbooks.holidays; the composition root calls it when the records
database opens, and ``enter`` / ``remove`` call it after each change, so the process that made the change
sees it at once (others at their next start or page load).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from playbooks import holidays
from playbooks.authz import Actor, require
from store.models import HolidayEntry, utcnow
from store.records import audit

log = logging.getLogger(__name__)

PERMISSION = "calendar.edit"
MAX_NAME = 40
MAX_NOTE = 200


class HolidayEntryError(ValueError):
    """An entry that cannot be kept; the message is Chinese and shown as is."""


@dataclass(frozen=True)
class EnteredHoliday:
    id: int
    name: str
    start: dt.date
    end: dt.date
    makeup_workdays: tuple[dt.date, ...]
    note: str
    entered_by: str
    entered_at: dt.datetime


def _view(e: HolidayEntry) -> EnteredHoliday:
    return EnteredHoliday(
        id=e.id,
        name=e.name,
        start=dt.date.fromisoformat(e.start),
        end=dt.date.fromisoformat(e.end),
        makeup_workdays=tuple(dt.date.fromisoformat(d) for d in e.makeup_workdays or []),
        note=e.note or "",
        entered_by=e.entered_by,
        entered_at=e.entered_at,
    )


def entered(session: Session) -> list[EnteredHoliday]:
    """The active entries, in date order."""
    rows = session.scalars(
        select(HolidayEntry).where(HolidayEntry.active.is_(True)).order_by(HolidayEntry.start)
    )
    return [_view(e) for e in rows]


def apply(session: Session) -> int:
    """Hand the active entries to playbooks.holidays (replacing what the desk entered before)."""
    rows = entered(session)
    return holidays.use_desk_schedule(
        [
            {"name": e.name, "start": e.start, "end": e.end, "makeup_workdays": list(e.makeup_workdays)}
            for e in rows
        ]
    )


def enter(
    session: Session,
    actor: Actor | None,
    *,
    name: str,
    start: dt.date,
    end: dt.date,
    makeup_workdays: Sequence[dt.date] = (),
    note: str = "",
) -> EnteredHoliday:
    """Keep one holiday of the notice (admin only); refused, naming the problem, when it cannot be used."""
    who = require(actor, PERMISSION).username
    name = " ".join(str(name or "").split())[:MAX_NAME]
    note = " ".join(str(note or "").split())[:MAX_NOTE]
    makeup = sorted(set(makeup_workdays))
    try:
        holidays.parse_schedule(
            [{"name": name, "start": start, "end": end, "makeup_workdays": makeup}], "录入的节假日"
        )
    except holidays.ScheduleFileError as exc:
        raise HolidayEntryError(str(exc)) from exc
    package_first, package_last = holidays.package_years()
    if package_first <= start.year <= package_last:
        raise HolidayEntryError(
            f"{start.year}年的节假日安排已由 chinesecalendar 收录（国务院公布的安排），无需录入。"
        )
    for other in entered(session):
        if other.start <= end and start <= other.end:
            raise HolidayEntryError(
                f"与已录入的「{other.name}」（{other.start}至{other.end}）日期重叠，请先删除那一条。"
            )
    row = HolidayEntry(
        name=name,
        start=start.isoformat(),
        end=end.isoformat(),
        makeup_workdays=[d.isoformat() for d in makeup],
        note=note,
        entered_by=who,
        entered_at=utcnow(),
    )
    session.add(row)
    session.flush()
    audit(
        session,
        actor=who,
        action="calendar.entered",
        entity="holiday",
        entity_id=row.id,
        name=name,
        start=row.start,
        end=row.end,
        makeup_workdays=row.makeup_workdays,
        note=note,
    )
    apply(session)
    return _view(row)


def remove(session: Session, actor: Actor | None, entry_id: int) -> bool:
    """Withdraw an entry (kept, inactive; audited); False when it was not active."""
    who = require(actor, PERMISSION).username
    row = session.get(HolidayEntry, entry_id)
    if row is None or not row.active:
        return False
    row.active = False
    session.flush()
    audit(
        session,
        actor=who,
        action="calendar.removed",
        entity="holiday",
        entity_id=row.id,
        name=row.name,
        start=row.start,
        end=row.end,
    )
    apply(session)
    return True

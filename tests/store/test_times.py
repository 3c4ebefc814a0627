"""Record times come back aware, in UTC, on every engine; naive times written are UTC (store/times.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import func, select

from store.models import AuditEntry
from store.times import as_utc, parse_instant

BEIJING = timezone(timedelta(hours=8))
T0 = datetime(2026, 10, 1, 1, 30, tzinfo=UTC)  # 09:30 Beijing


def _entry(action: str, at: datetime) -> AuditEntry:
    return AuditEntry(at=at, actor="test", action=action, entity="alert", entity_id="1", detail={})


def test_times_come_back_aware_utc_whatever_was_written(records):
    with records.session() as s:
        s.add_all(
            [
                _entry("utc", T0),
                _entry("beijing", T0.astimezone(BEIJING)),
                _entry("naive", T0.replace(tzinfo=None)),  # naive is UTC, the project's convention
            ]
        )
    with records.session() as s:
        got = {e.action: e.at for e in s.scalars(select(AuditEntry))}
        newest = s.scalar(select(func.max(AuditEntry.at)))  # through an aggregate too
    assert got == {"utc": T0, "beijing": T0, "naive": T0}
    assert all(t.tzinfo is UTC for t in [*got.values(), newest])
    assert newest == T0


def test_bounds_compare_as_instants_whatever_their_zone(records):
    with records.session() as s:
        s.add_all([_entry("before", T0 - timedelta(minutes=1)), _entry("after", T0 + timedelta(minutes=1))])
    with records.session() as s:
        later = select(AuditEntry.action).where(AuditEntry.at >= T0.astimezone(BEIJING))
        assert s.scalars(later).all() == ["after"]
        naive = select(AuditEntry.action).where(AuditEntry.at < T0.replace(tzinfo=None))
        assert s.scalars(naive).all() == ["before"]


def test_as_utc_and_parse_instant():
    assert as_utc(T0.replace(tzinfo=None)) == T0 and as_utc(T0.astimezone(BEIJING)).tzinfo is UTC
    assert parse_instant("2026-10-01T09:30:00+08:00") == T0
    assert parse_instant("2026-10-01T01:30:00") == T0
    assert parse_instant("2026-10-01T01:30:00Z") == T0
    assert parse_instant("") is None and parse_instant(None) is None and parse_instant("昨天") is None

"""Times in the records database: stored as UTC, handed back aware (UTC) on every engine.

SQLite keeps a ``DateTime(timezone=True)`` as text without an offset and hands it back naive;
PostgreSQL keeps a ``timestamptz`` and hands it back aware in the session's zone. ``UTCDateTime``
makes both the same: whatever is written is stored as UTC (a naive value is taken as UTC, the
project's convention since ``store.models.utcnow``), and whatever is read is an aware UTC datetime,
so callers compare and subtract the values they load without converting them first.
The DDL is ``DateTime(timezone=True)``'s, so the migrations are unchanged.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


def as_utc(value: datetime) -> datetime:
    """The same instant, aware, in UTC; a naive value is taken as UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_instant(value: str | None) -> datetime | None:
    """ISO text as an aware UTC datetime (naive means UTC, the store's convention); None if not one.

    For times kept as text (``PostRecord.published_at`` and ``first_seen_at``, JSON fields).
    """
    value = (value or "").strip()
    if not value:
        return None
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        return None
    return as_utc(dt)


class UTCDateTime(TypeDecorator[datetime]):
    """``DateTime(timezone=True)`` that stores UTC and always returns aware UTC datetimes."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if isinstance(value, datetime):
            return as_utc(value)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if isinstance(value, datetime):
            return as_utc(value)
        return value

    @property
    def python_type(self) -> type[datetime]:
        return datetime


__all__ = ["UTCDateTime", "as_utc", "parse_instant"]

"""When posts arrived: counts per hour and the posts of one hour in arrival order (capacity stress runs).

Arrival is ``first_seen_at``, the instant ingest first stored a post (a whole batch shares it, to the
second). Both engines answer from the store without loading the posts: SQLite groups in SQL (one scan,
no index needed), Elasticsearch with a date histogram. Hours are UTC, written ``YYYY-MM-DDTHH``.
Drill posts are left out unless ``drill`` says otherwise: drills never count in production figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from store.posts_sqlite import SqlitePostIndex, StoreUnavailable
from store.times import parse_instant

HOUR_FORMAT = "%Y-%m-%dT%H"


def hour_key(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime(HOUR_FORMAT)


def hour_bounds(hour: str) -> tuple[datetime, datetime]:
    start = datetime.strptime(hour, HOUR_FORMAT).replace(tzinfo=UTC)
    return start, start + timedelta(hours=1)


def arrival_hours(index: Any, *, drill: bool | None = False) -> dict[str, int]:
    """Posts stored per UTC hour of ``first_seen_at``, oldest hour first (hours with none left out)."""
    if isinstance(index, SqlitePostIndex):
        return _sqlite_hours(index, drill)
    return _es_hours(index, drill)


def arrivals_in_hour(index: Any, hour: str, *, drill: bool | None = False) -> list[tuple[datetime, str]]:
    """(arrival instant, post id) of every post first seen in ``hour``, in arrival order.

    Only ids and times are held (a busy hour of 100,000 posts is a few megabytes); the posts themselves
    are read later with ``index.get_many``, as many at a time as the caller wants.
    """
    if isinstance(index, SqlitePostIndex):
        return _sqlite_arrivals(index, hour, drill)
    return _es_arrivals(index, hour, drill)


# --------------------------------------------------------------------------- SQLite

# the zone written after the seconds ("+08:00"), '' for naive (UTC) and 'Z'-less forms
_TZ_SQL = (
    "CASE WHEN first_seen_at GLOB '*[+-][0-9][0-9]:[0-9][0-9]' THEN substr(first_seen_at, -6) ELSE '' END"
)


def _drill_sql(drill: bool | None) -> str:
    return "" if drill is None else f" AND drill = {1 if drill else 0}"


def _sqlite_groups(index: SqlitePostIndex, drill: bool | None) -> list[tuple[str, str, int]]:
    """(hour as written, zone as written, count): one GROUP BY over the table, nothing else in memory."""
    try:
        rows = (
            index._conn()
            .execute(
                f"SELECT substr(first_seen_at, 1, 13) AS h, {_TZ_SQL} AS tz, count(*) AS n FROM posts "
                f"WHERE first_seen_at IS NOT NULL AND first_seen_at != ''{_drill_sql(drill)} GROUP BY h, tz"
            )
            .fetchall()
        )
    except Exception as exc:  # sqlite3.Error: a locked or broken file
        raise StoreUnavailable(f"cannot read posts index {index.path}: {exc}") from exc
    return [(r["h"], r["tz"], int(r["n"])) for r in rows]


def _utc_hour(written_hour: str, tz: str) -> str | None:
    dt = parse_instant(f"{written_hour}:00:00{tz}")
    return hour_key(dt) if dt else None


def _sqlite_hours(index: SqlitePostIndex, drill: bool | None) -> dict[str, int]:
    out: dict[str, int] = {}
    for h, tz, n in _sqlite_groups(index, drill):
        key = _utc_hour(h, tz)  # a zone other than UTC moves the hour (Beijing +08:00 → eight back)
        if key is not None:
            out[key] = out.get(key, 0) + n
    return dict(sorted(out.items()))


def _sqlite_arrivals(index: SqlitePostIndex, hour: str, drill: bool | None) -> list[tuple[datetime, str]]:
    written = sorted({h for h, tz, _ in _sqlite_groups(index, drill) if _utc_hour(h, tz) == hour})
    if not written:
        return []
    start, end = hour_bounds(hour)
    marks = ", ".join("?" for _ in written)
    rows = (
        index._conn()
        .execute(
            f"SELECT rowid AS r, id, first_seen_at FROM posts WHERE substr(first_seen_at, 1, 13) IN ({marks})"
            f"{_drill_sql(drill)}",
            written,
        )
        .fetchall()
    )
    out = []
    for r in rows:
        dt = parse_instant(r["first_seen_at"])
        if dt is not None and start <= dt < end:
            out.append((dt, r["r"], r["id"]))
    out.sort()  # arrival, then the order the store took them in
    return [(dt, post_id) for dt, _, post_id in out]


# --------------------------------------------------------------------------- Elasticsearch


def _es_filter(drill: bool | None) -> list[dict[str, Any]]:
    return [] if drill is None else [{"term": {"drill": bool(drill)}}]


def _es_hours(index: Any, drill: bool | None) -> dict[str, int]:
    from store.posts_es import _es_errors, _unavailable

    index.ensure_index()
    aggs = {
        "hours": {
            "date_histogram": {
                "field": "first_seen_at",
                "fixed_interval": "1h",
                "time_zone": "+00:00",
                "format": "yyyy-MM-dd'T'HH",
                "min_doc_count": 1,
            }
        }
    }
    try:
        resp = index.client.search(
            index=index.alias, query={"bool": {"filter": _es_filter(drill)}}, size=0, aggs=aggs
        )
    except _es_errors() as exc:
        raise _unavailable("count", exc) from exc
    return {b["key_as_string"]: int(b["doc_count"]) for b in resp["aggregations"]["hours"]["buckets"]}


def _es_arrivals(index: Any, hour: str, drill: bool | None) -> list[tuple[datetime, str]]:
    from store.posts_es import _es_errors, _unavailable

    index.ensure_index()
    start, end = hour_bounds(hour)
    rng = {"range": {"first_seen_at": {"gte": start.isoformat(), "lt": end.isoformat()}}}
    query = {"bool": {"filter": [rng, *_es_filter(drill)]}}
    out: list[tuple[datetime, str]] = []
    after: Sequence[Any] | None = None
    while True:
        kwargs: dict[str, Any] = {"search_after": list(after)} if after else {}
        try:
            resp = index.client.search(
                index=index.alias,
                query=query,
                sort=[{"first_seen_at": "asc"}, {"id": "asc"}],
                source=["id", "first_seen_at"],
                size=5000,
                **kwargs,
            )
        except _es_errors() as exc:
            raise _unavailable("read", exc) from exc
        hits = resp["hits"]["hits"]
        if not hits:
            return out
        for h in hits:
            dt = parse_instant(str(h["_source"].get("first_seen_at") or ""))
            if dt is not None:
                out.append((dt, h["_source"]["id"]))
        after = hits[-1]["sort"]


__all__ = ["arrival_hours", "arrivals_in_hour", "hour_bounds", "hour_key", "parse_instant"]

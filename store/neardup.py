"""Near-duplicate groups (reposts, copied articles) in the records database: each post gets ``simhash`` and
``dup_of``.

The fingerprints live in the records database (``near_dup_bands``: :data:`BANDS` halves of
:data:`BAND_BITS` bits per 64-bit fingerprint, one row each), so the lookup is the same on SQLite and
PostgreSQL and does not depend on the posts engine. Two fingerprints within :data:`MAX_FOUND` (3) bits
differ in at most one bit in one of the halves (pigeonhole: two halves, three bits), so a lookup asks for
each half's value and the 32 values one bit away from it (:func:`probes`): candidates are found by
equality. With 32-bit keys a bucket holds the near copies and hardly anything else however large the store
grows, and a post costs two rows. (Until migration 0010: four 16-bit bands, found exactly; the unrelated
fingerprints sharing a 16-bit band grew with the store, ≈7 rows read per post at 70,000 posts. Ten 26-bit
keys, pairs of five blocks, were flat too but cost ten rows per post: measured slower, docs/ingest-speed.md.)
The fingerprint itself is text analysis and is handed in (ingest gives ``nlp.simhash.simhash`` and its
``MAX_DISTANCE``). A post joins the group of the closest stored post within ``max_distance`` bits;
``dup_of`` is the id of that group's first post ("" for the first post itself and for unique posts). Drill
posts group only with drill posts.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.orm import Session

from store.models import NearDupBand, PostRecord, utcnow

BITS = 64
BANDS = 2
BAND_BITS = BITS // BANDS
PROBE_BITS = 1  # a lookup asks for each half's value and every value this many bits from it
MAX_FOUND = BANDS * (PROBE_BITS + 1) - 1  # every pair within this many bits is found: 3
_MASK = (1 << BAND_BITS) - 1
_OFFSET = 1 << (BAND_BITS - 1)  # stored values are signed 32-bit (INTEGER on PostgreSQL too)
_FLIPS = tuple(1 << k for k in range(BAND_BITS))

Fingerprint = Callable[[str, str], int | None]  # (text, title) → a 64-bit fingerprint, None: too short


def bands(value: int) -> list[int]:
    """The stored keys: the fingerprint's :data:`BANDS` halves of :data:`BAND_BITS` bits, high to low, each
    less 2**31 (so it fits a signed 32-bit INTEGER)."""
    return [((value >> (BITS - BAND_BITS * (i + 1))) & _MASK) - _OFFSET for i in range(BANDS)]


def probes(value: int) -> list[list[int]]:
    """For each half, the keys a lookup asks for: the half's own key and the keys one bit away from it."""
    out = []
    for i in range(BANDS):
        half = (value >> (BITS - BAND_BITS * (i + 1))) & _MASK
        out.append([half - _OFFSET, *((half ^ f) - _OFFSET for f in _FLIPS)])
    return out


def to_hex(value: int) -> str:
    return f"{value:016x}"


def from_hex(text: str) -> int | None:
    try:
        return int(text, 16) if text else None
    except ValueError:
        return None


LOOKUP_CHUNK = 4000  # keys per IN list (a post asks for 66)
CONDS_PER_STATEMENT = (
    4  # IN lists per statement: with the batch's own post ids, under SQLite's 32,766 variables
)


@dataclass
class _Row:
    """A band row as the lookup sees it: stored (``order`` = its id) or written by this batch (after them)."""

    post_id: str
    simhash: str
    group_id: str
    drill: bool
    order: tuple[int, int]
    dead: bool = False  # deleted by this batch (its post's content changed)


def assign_near_dups(
    session: Session, records: Sequence[PostRecord], *, fingerprint: Fingerprint, max_distance: int
) -> int:
    """Fill ``simhash`` and ``dup_of`` on ``records`` and index them; returns how many joined a group.

    A batch costs a few statements whatever its size: the rows already stored for its posts and every
    stored row sharing a band with one of its fingerprints are read at once (the ``near_dup_lookup``
    index), the batch is grouped in memory in publication order (a post sees the rows of the posts before
    it in the batch, as if each had been written at once), and the changes are written in one DELETE and
    one INSERT."""
    if not 0 <= max_distance <= MAX_FOUND:
        raise ValueError(
            f"max_distance must be at most {MAX_FOUND} bits: the lookup would miss near-duplicates"
        )
    ordered = sorted(records, key=_published_key)  # in a batch, the earliest published leads its group
    values: dict[int, int | None] = {id(rec): fingerprint(rec.text, rec.title) for rec in ordered}
    fingerprinted = [rec for rec in ordered if values[id(rec)] is not None]
    asks = {id(rec): probes(values[id(rec)] or 0) for rec in fingerprinted}  # each post's lookup keys, once
    stored = _stored_rows(session, fingerprinted, values, asks)
    by_post: dict[str, list[_Row]] = {}
    buckets: dict[tuple[int, int], list[_Row]] = {}
    for key, row in stored:
        buckets.setdefault(key, []).append(row)
        by_post.setdefault(row.post_id, []).append(row)
    now = utcnow()  # one stamp for the batch's rows (not the column default evaluated per row)
    deleted: set[str] = set()  # posts whose rows this batch replaces (their content changed)
    written = 0
    inserts: list[dict[str, Any]] = []
    grouped = 0
    for rec in ordered:
        value = values[id(rec)]
        if value is None:
            rec.simhash, rec.dup_of = "", ""
            continue
        rec.simhash = to_hex(value)
        mine = by_post.get(rec.id, [])
        if mine and mine[0].simhash == rec.simhash:  # stored before with this content: keep its group
            group = mine[0].group_id
        else:
            if mine:
                deleted.add(rec.id)
                for old in mine:
                    old.dead = True
                inserts = [row for row in inserts if row["post_id"] != rec.id]
            group = _closest(buckets, rec, value, asks[id(rec)], max_distance) or rec.id
            written += 1
            row = _Row(rec.id, rec.simhash, group, rec.drill, (1, written))
            by_post[rec.id] = [row]
            for i, piece in enumerate(bands(value)):
                buckets.setdefault((i, piece), []).append(row)
                inserts.append(
                    {
                        "post_id": rec.id,
                        "band": i,
                        "value": piece,
                        "simhash": rec.simhash,
                        "group_id": group,
                        "drill": rec.drill,
                        "at": now,
                    }
                )
        rec.dup_of = group if group != rec.id else ""
        grouped += bool(rec.dup_of)
    ids = sorted(deleted)
    for i in range(0, len(ids), LOOKUP_CHUNK):
        session.execute(delete(NearDupBand).where(NearDupBand.post_id.in_(ids[i : i + LOOKUP_CHUNK])))
    if inserts:
        session.execute(insert(NearDupBand.__table__), inserts)  # Core executemany: no ORM bulk layer
    return grouped


def _stored_rows(
    session: Session,
    records: Sequence[PostRecord],
    values: dict[int, int | None],
    asks: dict[int, list[list[int]]] | None = None,
) -> list[tuple[tuple[int, int], _Row]]:
    """The stored rows of these posts, and the rows of other posts that a lookup of their fingerprints
    finds (:func:`probes`; ``asks``: the probes, when computed already), each once.

    Of the other posts, a bucket gives only the first row of each fingerprint (per drill flag): a later
    row with the same fingerprint is as close and written after it, so :func:`_closest` could never pick
    it. Without that, a post reposted ten thousand times (or a template's copies) would make every new
    copy read ten thousand rows; with it a lookup reads one row per distinct fingerprint, grouped by the
    database on the ``near_dup_lookup`` index (band, value, simhash, drill, id) without touching the
    table. The batch's own posts are read whole (a row of theirs may be replaced by this batch) and kept
    out of the grouping."""
    cols = (
        NearDupBand.id,
        NearDupBand.post_id,
        NearDupBand.band,
        NearDupBand.value,
        NearDupBand.simhash,
        NearDupBand.group_id,
        NearDupBand.drill,
    )
    seen: set[int] = set()
    out: list[tuple[tuple[int, int], _Row]] = []

    def take(stmt: Any) -> None:
        for rid, post_id, band, value, simhash, group_id, drill in session.execute(stmt):
            if rid not in seen:
                seen.add(rid)
                out.append(((band, value), _Row(post_id, simhash, group_id, bool(drill), (0, rid))))

    post_ids = sorted({rec.id for rec in records})
    for k in range(0, len(post_ids), LOOKUP_CHUNK):
        take(select(*cols).where(NearDupBand.post_id.in_(post_ids[k : k + LOOKUP_CHUNK])))
    own = sorted({row.post_id for _, row in out})  # batch posts stored before: read whole above

    wanted: list[set[int]] = [set() for _ in range(BANDS)]
    for rec in records:
        ask = asks[id(rec)] if asks is not None else probes(values[id(rec)] or 0)
        for i, keys in enumerate(ask):
            wanted[i].update(keys)
    if any(wanted):
        take(_first_rows(session, [sorted(w) for w in wanted], own))
    out.sort(key=lambda kr: kr[1].order)
    return out


def _first_rows(session: Session, keys: list[list[int]], own: list[str]) -> Any:
    """The lookup: per half, the first row of each (key, fingerprint, drill) among ``keys``, posts in
    ``own`` left out. The keys (66 a post) go as one array per half (``json_each`` on SQLite, an array on
    PostgreSQL), not one bound variable each: binding tens of thousands of variables cost more than the
    lookup itself."""
    sqlite = session.get_bind().dialect.name == "sqlite"
    params: dict[str, Any] = {}

    def one_of(column: str, name: str, values: list[Any], pg_type: str) -> str:
        if sqlite:
            params[name] = json.dumps(values)
            return f"{column} IN (SELECT value FROM json_each(:{name}))"
        # integers as one array literal, parsed by the server (a list is adapted value by value)
        params[name] = "{" + ",".join(map(str, values)) + "}" if pg_type == "INTEGER" else values
        return f"{column} = ANY(CAST(:{name} AS {pg_type}[]))"

    mine = f" AND NOT ({one_of('post_id', 'own', own, 'VARCHAR')})" if own else ""
    firsts = " UNION ALL ".join(
        f"SELECT min(id) FROM near_dup_bands WHERE band = {i} AND {one_of('value', f'k{i}', k, 'INTEGER')}"
        f"{mine} GROUP BY value, simhash, drill"
        for i, k in enumerate(keys)
        if k
    )
    return text(
        "SELECT id, post_id, band, value, simhash, group_id, drill FROM near_dup_bands "
        f"WHERE id IN ({firsts})"
    ).bindparams(**params)


def _published_key(rec: PostRecord) -> tuple[int, float]:
    try:
        when = datetime.fromisoformat(rec.published_at)
    except (TypeError, ValueError):
        return (1, 0.0)  # unknown times after known ones, in arrival order (sorted() is stable)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return (0, when.timestamp())


def _closest(
    buckets: dict[tuple[int, int], list[_Row]],
    rec: PostRecord,
    value: int,
    ask: list[list[int]],
    max_distance: int,
) -> str | None:
    """The group of the closest row a lookup of ``value`` finds (of equally close ones, the first written)."""
    best: tuple[int, tuple[int, int], str] | None = None
    for i, keys in enumerate(ask):  # probes(value)
        for key in keys:
            for row in buckets.get((i, key), ()):
                if row.dead or row.post_id == rec.id or row.drill != rec.drill:
                    continue
                other = from_hex(row.simhash)
                if other is None:
                    continue
                d = (value ^ other).bit_count()  # Hamming distance
                if d <= max_distance and (best is None or (d, row.order) < best[:2]):
                    best = (d, row.order, row.group_id)
    return best[2] if best else None


def group_members(session: Session, post_id: str) -> list[str]:
    """Ids of the posts in ``post_id``'s group (itself included), first post first."""
    group = session.scalar(select(NearDupBand.group_id).where(NearDupBand.post_id == post_id).limit(1))
    if group is None:
        return [post_id]
    rows = session.execute(
        select(NearDupBand.post_id, NearDupBand.id)
        .where(NearDupBand.group_id == group, NearDupBand.band == 0)
        .order_by(NearDupBand.id)
    ).all()
    return [r[0] for r in rows]


def group_sizes(session: Session, posts: Sequence[PostRecord]) -> dict[str, int]:
    """For each post id: how many stored posts share its near-duplicate group (itself included)."""
    groups = {p.id: (p.dup_of or p.id) for p in posts if p.simhash}
    if not groups:
        return {}
    rows = session.execute(
        select(NearDupBand.group_id, func.count())
        .where(NearDupBand.group_id.in_(set(groups.values())), NearDupBand.band == 0)
        .group_by(NearDupBand.group_id)
    ).all()
    sizes = {g: int(n) for g, n in rows}
    return {pid: sizes.get(g, 1) for pid, g in groups.items()}

"""Near-duplicate groups (reposts, copied articles) in the records database: each post gets ``simhash`` and
``dup_of``.

The fingerprints live in the records database (``near_dup_bands``, :data:`BANDS` pieces of
:data:`BAND_BITS` bits per 64-bit fingerprint), so the lookup is the same on SQLite and PostgreSQL and
does not depend on the posts engine: two fingerprints within ``BANDS - 1`` bits share at least one piece
(pigeonhole), so candidates are found by equality. The fingerprint itself is text analysis and is handed
in (ingest gives ``nlp.simhash.simhash`` and its ``MAX_DISTANCE``). A post joins the group of the closest
stored post within ``max_distance`` bits; ``dup_of`` is the id of that group's first post ("" for the
first post itself and for unique posts). Drill posts group only with drill posts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.orm import Session

from store.models import NearDupBand, PostRecord

BITS = 64
BANDS = 4
BAND_BITS = BITS // BANDS

Fingerprint = Callable[[str, str], int | None]  # (text, title) → a 64-bit fingerprint, None: too short


def bands(value: int) -> list[int]:
    """The fingerprint cut into :data:`BANDS` pieces of :data:`BAND_BITS` bits, high to low."""
    mask = (1 << BAND_BITS) - 1
    return [(value >> (BITS - BAND_BITS * (i + 1))) & mask for i in range(BANDS)]


def to_hex(value: int) -> str:
    return f"{value:016x}"


def from_hex(text: str) -> int | None:
    try:
        return int(text, 16) if text else None
    except ValueError:
        return None


def assign_near_dups(
    session: Session, records: Sequence[PostRecord], *, fingerprint: Fingerprint, max_distance: int
) -> int:
    """Fill ``simhash`` and ``dup_of`` on ``records`` and index them; returns how many joined a group."""
    if not 0 <= max_distance < BANDS:
        raise ValueError(f"max_distance must be below {BANDS} bits: the bands would miss near-duplicates")
    grouped = 0
    for rec in sorted(records, key=_published_key):  # in a batch, the earliest published leads its group
        value = fingerprint(rec.text, rec.title)
        if value is None:
            rec.simhash, rec.dup_of = "", ""
            continue
        rec.simhash = to_hex(value)
        mine = list(session.scalars(select(NearDupBand).where(NearDupBand.post_id == rec.id)))
        if mine and mine[0].simhash == rec.simhash:  # stored before with this content: keep its group
            group = mine[0].group_id
        else:
            if mine:
                session.execute(delete(NearDupBand).where(NearDupBand.post_id == rec.id))
            group = _closest_group(session, rec, value, max_distance) or rec.id
            for i, piece in enumerate(bands(value)):
                session.add(
                    NearDupBand(
                        post_id=rec.id,
                        band=i,
                        value=piece,
                        simhash=rec.simhash,
                        group_id=group,
                        drill=rec.drill,
                    )
                )
            session.flush()
        rec.dup_of = group if group != rec.id else ""
        grouped += bool(rec.dup_of)
    return grouped


def _published_key(rec: PostRecord) -> tuple[int, float]:
    try:
        when = datetime.fromisoformat(rec.published_at)
    except (TypeError, ValueError):
        return (1, 0.0)  # unknown times after known ones, in arrival order (sorted() is stable)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return (0, when.timestamp())


def _closest_group(session: Session, rec: PostRecord, value: int, max_distance: int) -> str | None:
    pieces = bands(value)
    stmt = select(NearDupBand).where(
        or_(*(and_(NearDupBand.band == i, NearDupBand.value == v) for i, v in enumerate(pieces))),
        NearDupBand.post_id != rec.id,
        NearDupBand.drill == rec.drill,
    )
    best: tuple[int, int, str] | None = None
    for row in session.scalars(stmt):
        other = from_hex(row.simhash)
        if other is None:
            continue
        d = (value ^ other).bit_count()  # Hamming distance
        if d <= max_distance and (best is None or (d, row.id) < best[:2]):
            best = (d, row.id, row.group_id)
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

"""Near-duplicate groups of a batch read in a few statements are the groups the post-by-post lookup gave.

``reference`` is the lookup in its plainest form: for each post in publication order, its stored rows, then
every stored row of other posts compared with it (no keys: the closest within the distance, the first written
of equally close ones), then its own rows written and flushed. Both run on every reachable records
engine over the same generated batches: fingerprints drawn near a few bases (so candidates, ties and
chains are common), posts too short to fingerprint, drills, the same post again unchanged, the same post
with new content, the same post twice in one batch, and unknown publication times.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, select

from store.models import NearDupBand, PostRecord
from store.neardup import BANDS, _published_key, assign_near_dups, bands, from_hex, group_members, to_hex
from store.records import Records

MAX_DISTANCE = 3
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def fingerprint(text: str, title: str) -> int | None:
    """The test's texts carry their fingerprint: ``fp:<hex>`` (``short`` for one too short to judge)."""
    return None if text == "short" else int(text.removeprefix("fp:"), 16)


def reference(session, records, *, fingerprint, max_distance) -> int:
    grouped = 0
    for rec in sorted(records, key=_published_key):
        value = fingerprint(rec.text, rec.title)
        if value is None:
            rec.simhash, rec.dup_of = "", ""
            continue
        rec.simhash = to_hex(value)
        mine = list(session.scalars(select(NearDupBand).where(NearDupBand.post_id == rec.id)))
        if mine and mine[0].simhash == rec.simhash:
            group = mine[0].group_id
        else:
            if mine:
                session.execute(delete(NearDupBand).where(NearDupBand.post_id == rec.id))
            stmt = select(NearDupBand).where(  # every stored row: no keys, no lookup to trust
                NearDupBand.post_id != rec.id,
                NearDupBand.drill == rec.drill,
            )
            best = None
            for row in session.scalars(stmt):
                d = (value ^ from_hex(row.simhash)).bit_count()
                if d <= max_distance and (best is None or (d, row.id) < best[:2]):
                    best = (d, row.id, row.group_id)
            group = best[2] if best else rec.id
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


def batches(rng: random.Random, n_batches: int) -> list[list[PostRecord]]:
    bases = [rng.getrandbits(64) for _ in range(6)]
    current: dict[str, str] = {}  # post id → its text as last sent
    out = []
    serial = 0
    for _ in range(n_batches):
        batch = []
        for _ in range(rng.randint(1, 25)):
            roll = rng.random()
            if current and roll < 0.15:  # the same post again, unchanged or with new content
                pid = rng.choice(sorted(current))
                text = current[pid] if rng.random() < 0.5 else _near(rng, bases)
            else:
                serial += 1
                pid, text = f"p{serial}", "short" if roll > 0.93 else _near(rng, bases)
            current[pid] = text
            when = T0 + timedelta(minutes=rng.randint(0, 600))
            batch.append(
                PostRecord(
                    id=pid,
                    text=text,
                    published_at="" if rng.random() < 0.05 else when.isoformat(),
                    drill=rng.random() < 0.1,
                )
            )
            if rng.random() < 0.05:  # the same post twice in one batch
                batch.append(PostRecord(id=pid, text=_near(rng, bases), published_at=when.isoformat()))
        out.append(batch)
    return out


def _near(rng: random.Random, bases: list[int]) -> str:
    value = rng.choice(bases)
    for _ in range(rng.choice([0, 0, 1, 2, 3, 4, 6, 20])):
        value ^= 1 << rng.randrange(64)
    return f"fp:{value:016x}"


def stored(records: Records) -> list[tuple]:
    with records.session() as s:
        rows = s.execute(
            select(
                NearDupBand.post_id,
                NearDupBand.band,
                NearDupBand.value,
                NearDupBand.group_id,
                NearDupBand.drill,
            )
        ).all()
    return sorted(tuple(r) for r in rows)


@pytest.mark.parametrize("seed", range(4))
def test_batched_groups_equal_the_post_by_post_lookup(records, tmp_path, seed):
    rng = random.Random(seed)
    plan = batches(rng, 30)
    slow = Records(f"sqlite:///{tmp_path / 'reference.db'}")
    try:
        for k, batch in enumerate(plan):
            mine = [
                PostRecord(id=r.id, text=r.text, published_at=r.published_at, drill=r.drill) for r in batch
            ]
            with records.session() as s:
                got = assign_near_dups(s, mine, fingerprint=fingerprint, max_distance=MAX_DISTANCE)
            with slow.session() as s:
                want = reference(s, batch, fingerprint=fingerprint, max_distance=MAX_DISTANCE)
            assert got == want, f"batch {k}"
            assert [(r.id, r.simhash, r.dup_of) for r in mine] == [(r.id, r.simhash, r.dup_of) for r in batch]
        assert stored(records) == stored(slow)
        some = plan[-1][0].id
        with records.session() as a, slow.session() as b:
            assert group_members(a, some) == group_members(b, some)
    finally:
        slow.dispose()


def test_a_batch_reads_in_a_few_statements(records):
    """No statement per post: 300 posts cost the same handful of statements as 3."""
    from sqlalchemy import event

    rng = random.Random(1)
    counts = []
    for n in (3, 300):
        posts = [PostRecord(id=f"n{n}-{i}", text=_near(rng, [rng.getrandbits(64)])) for i in range(n)]
        seen: list[int] = []

        def listener(*_args, _seen=seen, **_kwargs):
            _seen.append(1)

        event.listen(records.engine, "before_cursor_execute", listener)
        try:
            with records.session() as s:
                assign_near_dups(s, posts, fingerprint=fingerprint, max_distance=MAX_DISTANCE)
        finally:
            event.remove(records.engine, "before_cursor_execute", listener)
        counts.append(len(seen))
    assert counts[1] <= counts[0] + BANDS


def test_a_fingerprint_stored_many_times_is_read_once_per_band(records):
    """A post reposted many times: a new copy reads the first row of its fingerprint in each band, not every
    copy (the cost of a lookup does not grow with the group), and still joins the first post's group."""
    from store.neardup import _stored_rows

    value = random.Random(3).getrandbits(64)
    copies = [PostRecord(id=f"c{i}", text=f"fp:{value:016x}") for i in range(60)]
    with records.session() as s:
        assign_near_dups(s, copies, fingerprint=fingerprint, max_distance=MAX_DISTANCE)
    new = PostRecord(id="new", text=f"fp:{value ^ 1:016x}")
    with records.session() as s:
        rows = _stored_rows(s, [new], {id(new): value ^ 1})
        # one bit off in the low half: each half finds the first copy's row (exactly, and one bit away),
        # one row per half (not 2 x 60)
        assert len(rows) == BANDS and {r.post_id for _, r in rows} == {"c0"}
        assert assign_near_dups(s, [new], fingerprint=fingerprint, max_distance=MAX_DISTANCE) == 1
    assert new.dup_of == "c0"


def test_a_changed_first_copy_leaves_its_group_to_the_next(records, tmp_path):
    """The first row of a fingerprint belongs to a post whose content changes in this batch: the next copy
    of the fingerprint is found instead (as the post-by-post lookup finds it)."""
    value = random.Random(5).getrandbits(64)
    other = random.Random(6).getrandbits(64)
    plan = [
        [PostRecord(id="a", text=f"fp:{value:016x}", published_at=T0.isoformat())],
        [PostRecord(id="b", text=f"fp:{value:016x}", published_at=(T0 + timedelta(minutes=1)).isoformat())],
        [
            PostRecord(id="a", text=f"fp:{other:016x}", published_at=T0.isoformat()),
            PostRecord(id="c", text=f"fp:{value:016x}", published_at=(T0 + timedelta(minutes=2)).isoformat()),
        ],
    ]
    slow = Records(f"sqlite:///{tmp_path / 'reference.db'}")
    try:
        for batch in plan:
            mine = [PostRecord(id=r.id, text=r.text, published_at=r.published_at) for r in batch]
            with records.session() as s:
                assign_near_dups(s, mine, fingerprint=fingerprint, max_distance=MAX_DISTANCE)
            with slow.session() as s:
                reference(s, batch, fingerprint=fingerprint, max_distance=MAX_DISTANCE)
            assert [(r.id, r.dup_of) for r in mine] == [(r.id, r.dup_of) for r in batch]
        assert [(r.id, r.dup_of) for r in mine] == [("a", ""), ("c", "a")]  # c joins b, whose group is a's
        assert stored(records) == stored(slow)
    finally:
        slow.dispose()

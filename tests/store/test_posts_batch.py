"""The SQLite posts index writes a batch in a few statements (stored rows read at once, new posts inserted
with executemany): the rows, the full-text index and the results are those of writing the posts one at a
time, whatever the batch holds (new posts, known ones unchanged or changed, a post the store cannot take,
the same post twice)."""

from __future__ import annotations

import random

import pytest

from store.models import PostRecord
from store.posts_sqlite import SqlitePostIndex

WORDS = [
    "华鼎证券",
    "客服",
    "电话",
    "打不通",
    "理财",
    "亏损",
    "投诉",
    "中信证券",
    "公告",
    "业绩",
    "天气",
    "很好",
]


class OneAtATime(SqlitePostIndex):
    """The index as it wrote before: each post on its own (a SELECT, an INSERT or UPDATE, its FTS row)."""

    def _write_distinct(self, conn, posts, now, out):
        self._write_each(conn, posts, now, out)


def _post(rng: random.Random, n: int) -> PostRecord:
    text = "".join(rng.choice(WORDS) for _ in range(rng.randint(2, 8)))
    level = rng.choice([None, None, "IV", "III", "II"])
    return PostRecord.from_post(
        {
            "text": text,
            "url": f"https://x.example/{n}",
            "title": text[:6] if rng.random() < 0.3 else "",
            "reposts": rng.randint(0, 50),
            "published_at": f"2026-03-0{rng.randint(1, 9)}T0{rng.randint(0, 9)}:00:00+00:00",
            "sentiment": {"label": rng.choice(["negative", "neutral"]), "scores": {}},
            "flagged": level is not None,
            "level": level,
            "reasons": ["投诉"] if level else [],
        }
    )


def _state(index: SqlitePostIndex) -> tuple[list, dict[str, list[str]]]:
    conn = index._conn()
    skip = {"updated_at", "first_seen_at"}  # stamped with the time of the write
    rows = [
        {k: v for k, v in dict(r).items() if k not in skip}
        for r in conn.execute("SELECT rowid AS r, * FROM posts ORDER BY rowid").fetchall()
    ]
    found = {w: sorted(p.id for p in index.search(w, limit=1000, drill=None).items) for w in WORDS}
    return rows, found


@pytest.mark.parametrize("seed", range(3))
def test_a_batch_is_written_as_one_post_at_a_time(tmp_path, segmenter, seed):
    rng = random.Random(seed)
    batched = SqlitePostIndex(tmp_path / "batched.db", segmenter)
    single = OneAtATime(tmp_path / "single.db", segmenter)
    made: list[PostRecord] = []
    try:
        for k in range(12):
            batch = []
            for _ in range(rng.randint(1, 30)):
                if made and rng.random() < 0.3:  # a known post: the same, more reposts, or new text
                    old = rng.choice(made)
                    post = PostRecord.from_post({**old.to_dict(), "reposts": old.reposts + rng.randint(0, 1)})
                    if rng.random() < 0.3:
                        post.text = post.text + rng.choice(WORDS)
                else:
                    post = _post(rng, len(made))
                    made.append(post)
                batch.append(post)
            if k % 4 == 3:  # a post the store cannot take, among the others
                bad = _post(rng, 10_000 + k)
                bad.reposts = 2**64
                batch.insert(len(batch) // 2, bad)
            if k % 5 == 4:
                batch.append(PostRecord.from_post(batch[0].to_dict()))  # the same post twice
            got = batched.write_many([PostRecord.from_post(p.to_dict()) for p in batch])
            want = single.write_many([PostRecord.from_post(p.to_dict()) for p in batch])
            assert [(r.id, r.created, r.changed, bool(r.error)) for r in got] == [
                (r.id, r.created, r.changed, bool(r.error)) for r in want
            ], f"batch {k}"
        assert _state(batched) == _state(single)
    finally:
        batched.close()
        single.close()


@pytest.mark.parametrize("seed", range(2))
def test_a_time_bounded_search_finds_what_plain_sql_finds(tmp_path, segmenter, seed):
    """Searches with a time span read the span's posts first and match among them (the firm's volume in the
    last hour): the same totals and pages as the plain SQL search, posts stored out of time order too."""
    rng = random.Random(seed)
    columns = SqlitePostIndex(tmp_path / "posts.db", segmenter)
    sql = SqlitePostIndex(tmp_path / "posts.db", segmenter, columnar=False)
    try:
        for n in range(6):
            columns.write_many([_post(rng, 100 * n + i) for i in range(40)])
        for _ in range(30):
            day, hour = rng.randint(1, 9), rng.randint(0, 9)
            since = f"2026-03-0{day}T0{hour}:00:00" if rng.random() < 0.8 else None
            until = f"2026-03-0{min(9, day + rng.randint(0, 2))}T0{rng.randint(0, 9)}:00:00"
            query = rng.choice(["华鼎证券", "客服电话", "投诉", "天气"])
            flagged = rng.choice([None, True])
            got = columns.search(query, since=since, until=until, flagged=flagged, limit=500, drill=None)
            want = sql.search(query, since=since, until=until, flagged=flagged, limit=500, drill=None)
            assert got.total == want.total and got.total <= 240
            assert sorted(p.id for p in got.items) == sorted(p.id for p in want.items), (query, since, until)
        assert columns.search("华鼎证券", since="2026-03-02T00:00:00", limit=0, drill=None).total > 0
    finally:
        columns.close()
        sql.close()

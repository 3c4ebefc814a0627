"""The near-duplicate store alone (store/neardup.py): cost per post of grouping as the store grows.

    yuqing bench neardup_store [--posts 100000] [--batch 500] [--records-url URL] [--data DIR]

The posts of ``yuqing bench ingest``'s realistic mix (its texts repeat beyond ≈44,000 posts, one in ten is a
repost), fingerprinted first (SimHash is not timed here), then grouped batch by batch into fresh records
(a temporary SQLite file; ``--records-url postgresql+psycopg://…``: a fresh schema there, dropped after).
Prints, per tenth of the posts, the CPU ms/post of the whole grouping, of the lookup (``_stored_rows``)
and of the commit, the stored rows the lookup read per post, how many posts joined a group and a digest of
every post's group (equal digests: equal groups), and the records file's size. CPU time of this process:
with PostgreSQL the server's own work is not in it. Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a plain script
    sys.path.insert(0, str(ROOT))

from bench.bench_ingest import DEFAULT_DATA, fresh_schema, realistic_posts  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="yuqing bench neardup_store")
    ap.add_argument("--posts", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--records-url", default="")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    if args.posts < 10 or args.batch < 1:
        ap.error("--posts at least 10, --batch positive")

    import store.neardup as nd
    from nlp.simhash import MAX_DISTANCE, simhash
    from store.models import PostRecord
    from store.records import Records

    posts, kind = realistic_posts(args.posts, args.data, 24, args.seed)
    prints = {(p["text"], p["title"]): simhash(p["text"], p["title"]) for p in posts}
    records = [
        PostRecord(id=f"nd{i}", text=p["text"], title=p["title"], published_at=p["published_at"])
        for i, p in enumerate(posts)
    ]
    drop = None
    workdir = tempfile.TemporaryDirectory(prefix="yuqing-bench-neardup-")
    url = f"sqlite:///{workdir.name}/records.db"
    if args.records_url:
        url, drop = fresh_schema(args.records_url)
    print(f"posts: {len(posts)} ({kind}); batches of {args.batch}; records: {url.split('?')[0]}")
    store = Records(url)
    lookup = {"s": 0.0, "rows": 0}
    stored_rows = nd._stored_rows

    def timed_lookup(*a, **k):  # type: ignore[no-untyped-def]
        c = time.process_time()
        out = stored_rows(*a, **k)
        lookup["s"] += time.process_time() - c
        lookup["rows"] += len(out)
        return out

    nd._stored_rows = timed_lookup
    per_batch: list[tuple[int, float, float, float, int]] = []  # posts, all, lookup, commit, rows read
    grouped = 0
    try:
        for k in range(0, len(records), args.batch):
            batch = records[k : k + args.batch]
            lookup["s"], lookup["rows"] = 0.0, 0
            c = time.process_time()
            with store.session() as session:
                grouped += nd.assign_near_dups(
                    session, batch, fingerprint=lambda t, ti: prints[(t, ti)], max_distance=MAX_DISTANCE
                )
                c_commit = time.process_time()
            done = time.process_time()
            per_batch.append((len(batch), done - c, lookup["s"], done - c_commit, lookup["rows"]))
    finally:
        nd._stored_rows = stored_rows
        store.dispose()
        if drop is not None:
            drop()
    tenth = max(1, len(per_batch) // 10)
    parts = [
        per_batch[i * tenth : (i + 1) * tenth] for i in range(10) if per_batch[i * tenth : (i + 1) * tenth]
    ]

    def line(name: str, col: int, scale: float, fmt: str) -> None:
        vals = [scale * sum(b[col] for b in p) / sum(b[0] for b in p) for p in parts]
        print(f"  {name:24s}" + " ".join(format(v, fmt) for v in vals))

    print("per tenth of the posts:")
    line("CPU ms/post, all", 1, 1000, "6.3f")
    line("  lookup", 2, 1000, "6.3f")
    line("  commit", 3, 1000, "6.3f")
    line("rows read per post", 4, 1, "6.1f")
    digest = hashlib.sha1("|".join(r.dup_of for r in records).encode()).hexdigest()[:12]
    print(f"grouped: {grouped} posts joined a group; groups digest {digest}")
    if not args.records_url:
        print(f"records file: {Path(workdir.name, 'records.db').stat().st_size / 1e6:,.1f} MB")
    workdir.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())

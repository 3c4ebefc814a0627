"""The embedded store at size: indexing throughput, search and facet latency. Prints figures, asserts nothing.

    yuqing bench store [--posts 5000] [--queries 200] [--db PATH] [--keep]

Synthetic posts (seeded, so runs compare): Chinese text drawn from jieba's own dictionary by word
frequency, the firm and a peer named in some posts, 40 sources, three sentiments, ~8 % flagged
across four levels, publication times over 90 days. Queries mix the firm's name (matches many
posts), common words, rare words and two-word searches, with and without filters, as the desk
sends them. Targets at 1M posts: search p95 <= 100 ms, faceted counts p95 <= 300 ms.
``--db PATH --keep`` builds once and re-measures queries on the same file later.
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import random
import statistics
import tempfile
import time
from pathlib import Path

from nlp.segment import Segmenter
from store.models import LEVELS, PostRecord
from store.posts_sqlite import SqlitePostIndex

FIRM = ["华鼎证券", "华鼎证券股份有限公司", "华鼎金管家"]
PEERS = ["中信证券", "国泰君安", "招商证券"]
SENTIMENTS = ("negative", "neutral", "positive")


def vocabulary(size: int = 20000) -> tuple[list[str], list[int]]:
    """Words from jieba's dictionary with their frequencies (Zipf-like, like real text)."""
    import jieba

    words: list[tuple[str, int]] = []
    with jieba.get_dict_file() as fh:
        for raw in fh:
            parts = raw.decode("utf-8").split()
            if len(parts) >= 2 and parts[1].isdigit() and len(parts[0]) >= 2:
                words.append((parts[0], int(parts[1])))
    words.sort(key=lambda w: -w[1])
    words = words[:size]
    return [w for w, _ in words], [f for _, f in words]


def synthetic_posts(n: int, seed: int = 7):
    rng = random.Random(seed)
    vocab, weights = vocabulary()
    cum = list(itertools.accumulate(weights))  # once: random.choices would re-add 20,000 weights per post
    sources = [f"来源{i:02d}" for i in range(40)]
    start = 1_763_000_000  # 2025-11-13, so 90 days of posts
    for i in range(n):
        words = rng.choices(vocab, cum_weights=cum, k=rng.randint(12, 40))
        if rng.random() < 0.35:
            words.insert(rng.randrange(len(words)), rng.choice(FIRM))
        if rng.random() < 0.15:
            words.insert(rng.randrange(len(words)), rng.choice(PEERS))
        flagged = rng.random() < 0.08
        ts = time.gmtime(start + rng.randrange(90 * 86400))
        yield PostRecord.from_post(
            {
                "url": f"https://bench.example/{seed}/{i}",
                "title": "" if rng.random() < 0.6 else "".join(words[:3]),
                "text": "，".join("".join(words[j : j + 5]) for j in range(0, len(words), 5)) + "。",
                "source": rng.choice(sources),
                "published_at": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", ts),
                "sentiment": {"label": rng.choices(SENTIMENTS, weights=(3, 5, 2))[0], "scores": {}},
                "flagged": flagged,
                "level": rng.choice(LEVELS) if flagged else None,
                "reposts": int(rng.paretovariate(1.2)),
            }
        )


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def timed(fn, runs: list) -> list[float]:
    out = []
    for args, kwargs in runs:
        t = time.perf_counter()
        fn(*args, **kwargs)
        out.append((time.perf_counter() - t) * 1000)
    return out


def line(name: str, ms: list[float], target: float | None = None) -> str:
    p50, p95 = statistics.median(ms), pct(ms, 95)
    verdict = (
        "" if target is None else f"  (target ≤ {target:.0f} ms: {'met' if p95 <= target else 'MISSED'})"
    )
    return f"{name:<34} p50 {p50:8.1f} ms   p95 {p95:8.1f} ms   max {max(ms):8.1f} ms   n={len(ms)}{verdict}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--posts", type=int, default=5000)
    ap.add_argument("--queries", type=int, default=200, help="runs per query kind")
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--db", type=Path, help="store file (default: a temporary one)")
    ap.add_argument("--keep", action="store_true", help="keep the store file, and reuse it when present")
    args = ap.parse_args()

    print(
        f"machine: {platform.machine()} {platform.system()} {os.cpu_count()} cpus, python {platform.python_version()}"
    )
    tmp = None
    if args.db is None:
        tmp = tempfile.TemporaryDirectory(prefix="yuqing-bench-")
        args.db = Path(tmp.name) / "bench.db"
    seg = Segmenter(FIRM + PEERS)
    seg.cut("预热")  # load jieba's dictionary outside the timings
    index = SqlitePostIndex(args.db, seg)

    have = index.count()
    if have >= args.posts and args.keep:
        print(f"reusing {args.db}: {have:,} posts")
    else:
        spent = 0.0  # time in upsert_many only (jieba + SQLite), not in making up the posts
        batch: list[PostRecord] = []
        done = 0
        for post in synthetic_posts(args.posts):
            batch.append(post)
            if len(batch) >= args.batch or done + len(batch) == args.posts:
                t0 = time.perf_counter()
                index.upsert_many(batch)
                spent += time.perf_counter() - t0
                done += len(batch)
                batch.clear()
                if done % 100_000 == 0:
                    print(f"  … {done:,} posts, {done / spent:,.0f} posts/s", flush=True)
        print(
            f"indexing: {args.posts:,} posts in {spent:,.1f} s = {args.posts / spent:,.0f} posts/s "
            f"(jieba search-mode tokens + SQLite FTS5, batches of {args.batch})"
        )
        t0 = time.perf_counter()
        index.optimize()
        print(f"optimize (ANALYZE + FTS merge): {time.perf_counter() - t0:,.1f} s")
    size = args.db.stat().st_size / 1e6
    print(f"store file: {size:,.0f} MB ({size * 1e6 / max(1, index.count()):,.0f} bytes/post)")

    rng = random.Random(11)
    vocab, _ = vocabulary()
    common, rare = vocab[20:300], vocab[8000:20000]
    n = args.queries
    kinds = {
        "search: firm name": [(("华鼎证券",), {}) for _ in range(n)],
        "search: common word": [((rng.choice(common),), {}) for _ in range(n)],
        "search: rare word": [((rng.choice(rare),), {}) for _ in range(n)],
        "search: two words": [((rng.choice(common) + " " + rng.choice(rare),), {}) for _ in range(n)],
        "search: firm + filters": [
            (("华鼎证券",), {"sentiments": ["negative"], "sources": [f"来源{rng.randrange(40):02d}"]})
            for _ in range(n)
        ],
        "triage queue (flagged, severity)": [
            ((), {"flagged": True, "offset": rng.choice((0, 50, 100))}) for _ in range(n)
        ],
        "browse newest, no query": [((), {"order": "newest"}) for _ in range(n)],
    }
    facet_kinds = {
        "facets: all posts": [((), {}) for _ in range(n)],
        "facets: triage (flagged)": [((), {"flagged": True}) for _ in range(n)],
        "facets: firm name": [(("华鼎证券",), {}) for _ in range(n)],
        "facets: common word": [((rng.choice(common),), {}) for _ in range(n)],
        "facets: one source, 30 days": [
            (
                (),
                {
                    "sources": [f"来源{rng.randrange(40):02d}"],
                    "since": "2025-12-01T00:00:00",
                    "until": "2025-12-31T00:00:00",
                },
            )
            for _ in range(n)
        ],
    }
    t0 = time.perf_counter()
    index.facets()  # the first query loads the column cache (once per process)
    print(f"column cache loaded in {(time.perf_counter() - t0) * 1000:,.0f} ms (first query of a process)")
    all_search, all_facets = [], []
    print(f"\nqueries on {index.count():,} posts (limit 50, drills excluded, as the desk asks):")
    for name, runs in kinds.items():
        ms = timed(index.search, runs)
        all_search += ms
        print(line(name, ms))
    for name, runs in facet_kinds.items():
        ms = timed(index.facets, runs)
        all_facets += ms
        print(line(name, ms))
    print()
    print(line("ALL full-text/filtered searches", all_search, 100))
    print(line("ALL faceted counts", all_facets, 300))
    index.close()
    if args.keep:
        print(f"kept {args.db}")
    elif tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()

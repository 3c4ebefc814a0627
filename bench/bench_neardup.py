"""Near-duplicate detection (nlp/simhash.py; the store's bands: store/neardup.py) on real financial posts:
prints figures, asserts nothing.

    yuqing bench neardup [--n 2000] [--copies 300] [--data ../shared/data/sentiment/finnsp_train.jsonl]

Takes ``--n`` real texts (FinNSP financial news and posts, at least 60 characters) and makes, from the
first ``--copies`` of them, copies the way reposting and copying sites make them: a ``【标题】`` header,
trailing ``来源：`` / ``责任编辑：`` lines, a Weibo repost wrapper with a short comment, other punctuation,
and a copy with one sentence dropped (a harder case: an edit, not only wrapping). Prints, per kind of copy,
the share found as near-duplicates of their original (recall, distance ≤ MAX_DISTANCE); the number of
pairs of *different* lines of the data set that the bands and the distance group together, with examples
(FinNSP is de-duplicated only exactly, and holds templated posts that differ in a few words, e.g. 超话
spam: many of these pairs are real near-duplicates, so read the examples rather than call them all
errors); the distance distribution; and fingerprinting speed.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import time
from collections import defaultdict
from itertools import combinations
from pathlib import Path

from nlp.simhash import MAX_DISTANCE, distance, simhash
from store.neardup import BANDS, bands

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "sentiment" / "finnsp_train.jsonl"


def load_texts(path: Path, n: int) -> list[str]:
    texts: list[str] = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            text = str(json.loads(line).get("text") or "").strip()
            if len(text) >= 60:
                texts.append(text)
            if len(texts) >= n:
                break
    return texts


def copies_of(text: str, rng: random.Random) -> dict[str, str]:
    sentences = [s for s in re.split(r"(?<=[。！？!?])", text) if s.strip()]
    dropped = (
        "".join(s for i, s in enumerate(sentences) if i != len(sentences) // 2) if len(sentences) > 2 else ""
    )
    return {
        "header": f"【{text[:14]}】\n{text}",
        "trailer": f"{text}\n来源：证券时报网\n责任编辑：王{rng.choice('伟芳磊静')}",
        "repost": f"{rng.choice(['转发微博', '关注', '又来了？', '怎么回事'])}//@财经观察{rng.randint(1, 99)}: {text}",
        "punct": text.replace("，", ",").replace("。", ". ").replace("：", ":"),
        "sentence_dropped": dropped,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="yuqing bench neardup")
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--copies", type=int, default=300)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    if not args.data.exists():
        print(f"data not found: {args.data} (../shared/data from the repo root); nothing measured")
        return 0
    rng = random.Random(args.seed)
    texts = load_texts(args.data, args.n)
    print(
        f"texts: {len(texts)} from {args.data.name} (≥ 60 chars, median {statistics.median(map(len, texts)):.0f})"
    )

    t0 = time.perf_counter()
    hashes = [simhash(t) for t in texts]
    elapsed = time.perf_counter() - t0
    chars = sum(map(len, texts))
    print(
        f"fingerprints: {len(texts) / elapsed:,.0f} texts/s, {chars / elapsed / 1e6:.2f} M chars/s (1 thread)"
    )

    found: dict[str, list[int]] = defaultdict(list)
    for text, h in zip(texts[: args.copies], hashes, strict=False):
        for kind, copy in copies_of(text, rng).items():
            if not copy or h is None:
                continue
            other = simhash(copy)
            found[kind].append(distance(h, other) if other is not None else 64)
    print(f"\ncopies of {min(args.copies, len(texts))} originals (found = distance ≤ {MAX_DISTANCE}):")
    print(f"{'kind':<18}{'n':>6}{'found':>9}{'median d':>10}{'p90 d':>8}")
    for kind, ds in found.items():
        ds_sorted = sorted(ds)
        p90 = ds_sorted[int(0.9 * (len(ds_sorted) - 1))]
        hit = sum(d <= MAX_DISTANCE for d in ds) / len(ds)
        print(f"{kind:<18}{len(ds):>6}{hit:>9.1%}{statistics.median(ds):>10.1f}{p90:>8}")

    # false groups: different originals within MAX_DISTANCE (found through the bands, as the store does)
    buckets: dict[tuple[int, int], list[int]] = defaultdict(list)
    for i, h in enumerate(hashes):
        if h is not None:
            for b, v in enumerate(bands(h)):
                buckets[(b, v)].append(i)
    candidates = {pair for ids in buckets.values() for pair in combinations(ids, 2)}
    false = [(i, j) for i, j in candidates if distance(hashes[i], hashes[j]) <= MAX_DISTANCE]
    n = sum(h is not None for h in hashes)
    print(
        f"\ndifferent texts: {n * (n - 1) // 2:,} pairs, {len(candidates):,} band candidates "
        f"({BANDS} bands), {len(false)} grouped (distance ≤ {MAX_DISTANCE}); examples:"
    )
    for i, j in false[:5]:
        print(f"  d={distance(hashes[i], hashes[j])}: {texts[i][:40]!r} ~ {texts[j][:40]!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

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

Then SimHash against MinHash + LSH (the alternative the issue asks about: text-dedup's comparison found
MinHash ahead on its corpus) on the same copies and the same pairs of different texts: MinHash over the
same normalised character 3-shingles, ``--perms`` permutations (universal hashing, numpy), LSH in
``--bands`` bands, a pair grouped when it shares a band and its estimated Jaccard similarity is at least
``--jaccard``. For each: recall per kind of copy, pairs of different texts grouped, precision, F1.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import statistics
import sys
import time
from collections import defaultdict
from itertools import combinations
from pathlib import Path

import numpy as np

from nlp.simhash import MAX_DISTANCE, MIN_CHARS, SHINGLE, distance, normalize_for_dup, repost_core, simhash
from store.neardup import BANDS, bands, probes

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


PRIME = (1 << 31) - 1


def shingle_ids(text: str) -> np.ndarray | None:
    """The text's character 3-shingles as 31-bit ids, normalised as ``simhash`` normalises (None: too short)."""
    norm = normalize_for_dup(repost_core(text))
    if len(norm) < MIN_CHARS:
        return None
    grams = {norm[i : i + SHINGLE] for i in range(max(1, len(norm) - SHINGLE + 1))}
    return np.array(
        [int.from_bytes(hashlib.blake2b(g.encode(), digest_size=4).digest(), "big") % PRIME for g in grams],
        dtype=np.uint64,
    )


class MinHasher:
    """MinHash signatures by universal hashing ``(a x + b) mod p``, and their LSH bands."""

    def __init__(self, perms: int, bands: int, seed: int = 1):
        if perms % bands:
            raise SystemExit(f"--perms {perms} must be a multiple of --bands {bands}")
        rng = np.random.default_rng(seed)
        self.a = rng.integers(1, PRIME, size=perms, dtype=np.uint64)
        self.b = rng.integers(0, PRIME, size=perms, dtype=np.uint64)
        self.bands, self.rows = bands, perms // bands

    def signature(self, text: str) -> np.ndarray | None:
        ids = shingle_ids(text)
        if ids is None:
            return None
        return ((np.outer(ids, self.a) + self.b) % PRIME).min(axis=0)

    def keys(self, sig: np.ndarray) -> list[tuple[int, bytes]]:
        return [(i, sig[i * self.rows : (i + 1) * self.rows].tobytes()) for i in range(self.bands)]

    @staticmethod
    def jaccard(a: np.ndarray, b: np.ndarray) -> float:
        return float((a == b).mean())


def compare(texts: list[str], copies: list[dict[str, str]], args: argparse.Namespace) -> None:
    """SimHash (today's) against MinHash + LSH on the same labelled pairs; precision, recall, F1."""
    mh = MinHasher(args.perms, args.bands)
    t0 = time.perf_counter()
    sigs = [mh.signature(t) for t in texts]
    mh_rate = len(texts) / (time.perf_counter() - t0)
    hashes = [simhash(t) for t in texts]

    def sim_same(a: str, b: str) -> bool:
        x, y = simhash(a), simhash(b)
        return x is not None and y is not None and distance(x, y) <= MAX_DISTANCE

    def mh_same(a: str, b: str) -> bool:
        x, y = mh.signature(a), mh.signature(b)
        if x is None or y is None:
            return False
        shares = any(k == j for k, j in zip(mh.keys(x), mh.keys(y), strict=True))
        return shares and mh.jaccard(x, y) >= args.jaccard

    # positives: each copy against its original
    rows: dict[str, dict[str, list[bool]]] = {"SimHash": defaultdict(list), "MinHash": defaultdict(list)}
    for text, kinds in zip(texts, copies, strict=False):
        for kind, copy in kinds.items():
            if copy:
                rows["SimHash"][kind].append(sim_same(text, copy))
                rows["MinHash"][kind].append(mh_same(text, copy))
    # negatives: pairs of different lines of the data set each method groups (found through its bands)
    mh_buckets: dict[tuple[int, bytes], list[int]] = defaultdict(list)
    for i, sig in enumerate(sigs):
        if sig is not None:
            for key in mh.keys(sig):
                mh_buckets[key].append(i)
    sim_pairs = store_candidates(hashes)
    mh_pairs = {p for ids in mh_buckets.values() for p in combinations(ids, 2)}
    false = {
        "SimHash": sum(distance(hashes[i], hashes[j]) <= MAX_DISTANCE for i, j in sim_pairs),
        "MinHash": sum(mh.jaccard(sigs[i], sigs[j]) >= args.jaccard for i, j in mh_pairs),
    }
    kinds = list(rows["SimHash"])
    print(
        f"\nSimHash (64 bits, distance ≤ {MAX_DISTANCE}, {BANDS} stored keys) against MinHash ({args.perms} perms, "
        f"{args.bands} bands of {args.perms // args.bands}, Jaccard ≥ {args.jaccard}); MinHash signatures "
        f"{mh_rate:,.0f} texts/s"
    )
    print(
        f"{'method':<9}"
        + "".join(f"{k:>17}" for k in kinds)
        + f"{'recall':>8}{'FP pairs':>10}{'precision':>11}{'F1':>7}"
    )
    for name, per_kind in rows.items():
        tp = sum(sum(v) for v in per_kind.values())
        pos = sum(len(v) for v in per_kind.values())
        recall = tp / pos if pos else 0.0
        precision = tp / (tp + false[name]) if tp + false[name] else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        cells = "".join(f"{sum(per_kind[k]) / len(per_kind[k]):>17.1%}" for k in kinds)
        print(f"{name:<9}{cells}{recall:>8.1%}{false[name]:>10}{precision:>11.3f}{f1:>7.3f}")
    print(
        "  (FP pairs: different lines of the data set grouped; FinNSP holds templated near-copies, so some "
        "are real near-duplicates)"
    )


def store_candidates(hashes: list[int | None]) -> set[tuple[int, int]]:
    """Pairs of fingerprints the store's lookup would bring together (store.neardup: each post's stored
    keys, looked up with ``probes``), as (i, j) with i < j."""
    buckets: dict[tuple[int, int], list[int]] = defaultdict(list)
    for i, h in enumerate(hashes):
        if h is not None:
            for b, v in enumerate(bands(h)):
                buckets[(b, v)].append(i)
    pairs: set[tuple[int, int]] = set()
    for i, h in enumerate(hashes):
        if h is None:
            continue
        for b, keys in enumerate(probes(h)):
            for key in keys:
                pairs.update((min(i, j), max(i, j)) for j in buckets.get((b, key), ()) if j != i)
    return pairs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="yuqing bench neardup")
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--copies", type=int, default=300)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--perms", type=int, default=128, help="MinHash permutations")
    ap.add_argument("--bands", type=int, default=32, help="MinHash LSH bands (perms / bands rows each)")
    ap.add_argument("--jaccard", type=float, default=0.5, help="MinHash: estimated Jaccard to group a pair")
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
    made = [copies_of(text, rng) for text in texts[: args.copies]]
    for h, kinds in zip(hashes, made, strict=False):
        for kind, copy in kinds.items():
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
    candidates = store_candidates(hashes)
    false = [(i, j) for i, j in candidates if distance(hashes[i], hashes[j]) <= MAX_DISTANCE]
    n = sum(h is not None for h in hashes)
    print(
        f"\ndifferent texts: {n * (n - 1) // 2:,} pairs, {len(candidates):,} band candidates "
        f"({BANDS} stored keys, looked up as the store does), {len(false)} grouped (distance ≤ {MAX_DISTANCE}); examples:"
    )
    for i, j in false[:5]:
        print(f"  d={distance(hashes[i], hashes[j])}: {texts[i][:40]!r} ~ {texts[j][:40]!r}")
    compare(texts, made, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())

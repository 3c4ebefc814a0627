"""Near-duplicates by SimHash: reposts and copied articles get (almost) the same 64-bit fingerprint.

A copied article differs from its original in the wrapping, not the words: a leading ``【标题】``, a
``转发微博`` or ``//@某人:`` prefix, a trailing ``来源：证券时报`` or ``（责任编辑：某某）`` line, other
punctuation. :func:`normalize_for_dup` strips that wrapping; :func:`simhash` then hashes the weighted
character 3-grams of what is left. Character shingles need no segmenter, so this module treats Chinese
and Latin text alike and depends on nothing of ours (the nlp room).

Two posts are near-duplicates when their fingerprints differ in at most :data:`MAX_DISTANCE` bits.
The store keeps the fingerprints cut into bands so it can find candidates by equality
(store/neardup.py); ingest (yuqing/ingest.py) hands it this fingerprint and :data:`MAX_DISTANCE`.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter

import numpy as np

BITS = 64
MAX_DISTANCE = 3  # ≤ store.neardup.MAX_FOUND, so every near-duplicate is found through the store's keys
SHINGLE = 3
MIN_CHARS = 12  # shorter texts ("晚安", "好") repeat legitimately and are never grouped
TITLE_BELOW = 40  # a text shorter than this is fingerprinted with its title

_URL = re.compile(r"https?://\S+|www\.\S+", re.I)
_REPOST_CHAIN = re.compile(r"//\s*@[^:：\s]{1,30}\s*[:：]")  # //@某人: the repost chain marker
_MENTION = re.compile(r"@[\w\u4e00-\u9fff\-]{1,30}")
_REPOST_WORDS = re.compile(
    r"转发微博|转发了?|轉發|repost(?:ed)?|\bRT\b|原文[:：]?|分享自|网页链接|全文", re.I
)
_TRAILER_LINE = re.compile(
    r"^\s*[（(【\[]?\s*(?:来源|来自|出处|稿源|原标题|责任编辑|责编|编辑|作者|记者|校对|审核|声明|免责声明"
    r"|本文来源|文章来源|图片来源|转载|本文转载自)\s*[:：].*$",
    re.M,
)
_TRAILER_PAREN = re.compile(r"[（(]\s*(?:来源|责任编辑|责编|编辑|记者|作者)\s*[:：][^）)]{0,40}[）)]")
_HEADER = re.compile(r"^\s*[【\[][^】\]\n]{0,60}[】\]]", re.M)  # 【快讯】, 【headline】 at a line's start
_KEEP = re.compile(r"[0-9a-z\u3400-\u9fff\uf900-\ufaff]+")


def normalize_for_dup(text: str) -> str:
    """The words of a post without the wrapping that copies add: markers, mentions, 来源 lines, punctuation."""
    text = (text or "").lower()
    text = _URL.sub(" ", text)
    text = _TRAILER_LINE.sub(" ", text)
    text = _TRAILER_PAREN.sub(" ", text)
    text = _HEADER.sub(" ", text)
    text = _REPOST_CHAIN.sub(" ", text)
    text = _MENTION.sub(" ", text)
    text = _REPOST_WORDS.sub(" ", text)
    return "".join(_KEEP.findall(text))


_REPOST_SPLIT = re.compile(r"//\s*(?:转发\s*)?@[^:：\s]{1,30}\s*[:：]")
MIN_CORE = 20


def repost_core(text: str) -> str:
    """The reposted text of a repost chain (``comment //@A: …`` or our ``//转发 @A：original``): what follows
    the last marker, when it is long enough to stand on its own; otherwise the whole text.

    Reposts of one post then share a fingerprint whatever each reposter added in front.
    """
    parts = _REPOST_SPLIT.split(text or "")
    if len(parts) > 1 and len(normalize_for_dup(parts[-1])) >= MIN_CORE:
        return parts[-1]
    return text or ""


def _shingles(norm: str) -> Counter[str]:
    if len(norm) <= SHINGLE:
        return Counter([norm]) if norm else Counter()
    return Counter(norm[i : i + SHINGLE] for i in range(len(norm) - SHINGLE + 1))


def _hash64(token: str) -> int:
    return int.from_bytes(hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest(), "big")


# shingle → its 64-bit hash: Chinese 3-grams repeat across posts (the firm's name, 证券, 公告 …), and a
# hash costs more than a look-up. Bounded: cleared when full, so memory never grows with the stream.
_HASHES: dict[str, int] = {}
HASH_CACHE = 1 << 17


def _hashes(grams: Counter[str]) -> list[int]:
    cache = _HASHES
    if len(cache) > HASH_CACHE:
        cache.clear()
    out = []
    for g in grams:
        h = cache.get(g)
        if h is None:
            h = cache[g] = _hash64(g)
        out.append(h)
    return out


def simhash(text: str, title: str = "") -> int | None:
    """64-bit SimHash of a post's text (weighted 3-gram shingles); None when too short to judge.

    The title counts only when the text is short: copies keep the body and often change the headline.
    """
    norm = normalize_for_dup(repost_core(text))
    if len(norm) < TITLE_BELOW and title:
        norm = normalize_for_dup(title) + norm
    if len(norm) < MIN_CHARS:
        return None
    grams = _shingles(norm)
    hashes = np.array(_hashes(grams), dtype=np.uint64)
    weights = np.fromiter(grams.values(), dtype=np.int64, count=len(grams))
    bits = np.unpackbits(hashes.byteswap().view(np.uint8).reshape(-1, 8), axis=1)  # (n, 64), MSB first
    score = weights @ (bits.astype(np.int64) * 2 - 1)  # per bit: + weight where set, - weight where not
    return int.from_bytes(np.packbits(score > 0).tobytes(), "big")


def distance(a: int, b: int) -> int:
    """Hamming distance of two fingerprints."""
    return (a ^ b).bit_count()


def is_near_duplicate(a: int | None, b: int | None, max_distance: int = MAX_DISTANCE) -> bool:
    return a is not None and b is not None and distance(a, b) <= max_distance

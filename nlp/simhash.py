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

import re
from collections import Counter
from hashlib import blake2b

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
    """The words of a post without the wrapping that copies add: markers, mentions, 来源 lines, punctuation.

    A pattern is applied only where the text holds the character it cannot match without (a colon, a
    bracket, //, @, a URL's start): without it the substitution would leave the text as it is."""
    text = (text or "").lower()
    if "http" in text or "www." in text:
        text = _URL.sub(" ", text)
    if ":" in text or "：" in text:
        text = _TRAILER_LINE.sub(" ", text)
        text = _TRAILER_PAREN.sub(" ", text)
    if "【" in text or "[" in text:
        text = _HEADER.sub(" ", text)
    if "//" in text:
        text = _REPOST_CHAIN.sub(" ", text)
    if "@" in text:
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
    return Counter([norm[i : i + SHINGLE] for i in range(len(norm) - SHINGLE + 1)])


def _hash64(token: str) -> int:
    return int.from_bytes(_digest(token), "big")


def _digest(token: str) -> bytes:
    """The shingle's 64-bit hash as 8 big-endian bytes (what :func:`_hash64` reads as an integer)."""
    return blake2b(token.encode("utf-8"), digest_size=8).digest()


# shingle → its 64-bit hash (8 bytes): Chinese 3-grams repeat across posts (the firm's name, 证券, 公告 …),
# and a hash costs more than a look-up. Bounded: cleared when full, so memory never grows with the stream.
_HASHES: dict[str, bytes] = {}
HASH_CACHE = 1 << 17


def _digests(grams: Counter[str]) -> bytes:
    """The shingles' hashes, 8 bytes each, in the order of ``grams``."""
    cache = _HASHES
    if len(cache) > HASH_CACHE:
        cache.clear()
    for g in [g for g in grams if g not in cache]:
        cache[g] = blake2b(g.encode(), digest_size=8).digest()  # = _digest(g)
    return b"".join(map(cache.__getitem__, grams))


def simhash(text: str, title: str = "") -> int | None:
    """64-bit SimHash of a post's text (weighted 3-gram shingles); None when too short to judge.

    The title counts only when the text is short: copies keep the body and often change the headline.
    Bit ``i`` (from the most significant) is set when the shingles whose hash has bit ``i`` set weigh more
    than those whose hash has it clear: ``2 · (weights @ bits) > sum(weights)``, in integers.
    """
    norm = normalize_for_dup(repost_core(text))
    if len(norm) < TITLE_BELOW and title:
        norm = normalize_for_dup(title) + norm
    if len(norm) < MIN_CHARS:
        return None
    grams = _shingles(norm)
    bits = np.unpackbits(np.frombuffer(_digests(grams), dtype=np.uint8).reshape(-1, 8), axis=1)  # MSB first
    weights = np.fromiter(grams.values(), dtype=np.int64, count=len(grams))
    score = weights @ bits if len(norm) - SHINGLE + 1 != len(grams) else bits.sum(axis=0, dtype=np.int64)
    return int.from_bytes(np.packbits(2 * score > int(weights.sum())).tobytes(), "big")


def distance(a: int, b: int) -> int:
    """Hamming distance of two fingerprints."""
    return (a ^ b).bit_count()


def is_near_duplicate(a: int | None, b: int | None, max_distance: int = MAX_DISTANCE) -> bool:
    return a is not None and b is not None and distance(a, b) <= max_distance

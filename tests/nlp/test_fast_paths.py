"""The fast paths of the ingest's text work give what the plain ones gave: SimHash (cached shingle hashes,
integer sums, packed bits) and the search tokens (kept per word), on texts made up here."""

from __future__ import annotations

import hashlib
import random

import numpy as np

from nlp import simhash as sh
from nlp.segment import Segmenter

PHRASES = [
    "华鼎证券",
    "今日",
    "早盘",
    "交易系统",
    "出现",
    "故障",
    "客户",
    "无法",
    "登录",
    "手机APP",
    "下单",
    "委托",
    "长时间",
    "显示",
    "处理中",
    "公司",
    "客服",
    "回应",
    "技术团队",
    "正在",
    "紧急排查",
    "预计",
    "午间",
    "恢复",
    "投资者",
    "可以",
    "通过",
    "电话委托",
    "进行",
    "交易",
    "据了解",
    "此次",
    "持续",
    "一个半小时",
    "网传",
    "总经理",
    "被带走",
    "谣言",
    "辟谣",
    "公告",
    "监管",
    "罚单",
    "证监局",
    "处罚",
    "ETF",
    "基金",
    "A股",
    "科创板",
    "2026年",
    "3.5%",
    "转发微博",
    "//@财经观察:",
    "【快讯】",
    "来源：证券时报",
    "（责任编辑：王伟）",
    "http://t.cn/A6xYz",
    "。",
    "，",
    "！",
    "？",
    "……",
]


def texts(seed: int, n: int) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        words = [rng.choice(PHRASES) for _ in range(rng.choice([1, 3, 8, 20, 60]))]
        out.append(("" if rng.random() < 0.5 else " ").join(words))
    return out


def simhash_plain(text: str, title: str = "") -> int | None:
    """nlp.simhash.simhash as first written: a hash per shingle, float sums, a bit at a time."""
    norm = sh.normalize_for_dup(sh.repost_core(text))
    if len(norm) < sh.TITLE_BELOW and title:
        norm = sh.normalize_for_dup(title) + norm
    if len(norm) < sh.MIN_CHARS:
        return None
    grams = sh._shingles(norm)
    hashes = np.array(
        [int.from_bytes(hashlib.blake2b(g.encode(), digest_size=8).digest(), "big") for g in grams],
        dtype=np.uint64,
    )
    weights = np.array(list(grams.values()), dtype=np.float64)
    bits = np.unpackbits(hashes.byteswap().view(np.uint8).reshape(-1, 8), axis=1)
    score = ((bits.astype(np.float64) * 2 - 1) * weights[:, None]).sum(axis=0)
    value = 0
    for b in score > 0:
        value = (value << 1) | int(b)
    return value


def test_simhash_equals_the_plain_computation(monkeypatch):
    monkeypatch.setattr(sh, "HASH_CACHE", 50)  # the cache fills and is cleared along the way
    for i, text in enumerate(texts(1, 400)):
        title = "标题：华鼎证券公告" if i % 3 == 0 else ""
        assert sh.simhash(text, title) == simhash_plain(text, title), text
    assert len(sh._HASHES) <= 51


def normalize_plain(text: str) -> str:
    """nlp.simhash.normalize_for_dup as first written: every substitution, whatever the text holds."""
    text = (text or "").lower()
    for pattern in (
        sh._URL,
        sh._TRAILER_LINE,
        sh._TRAILER_PAREN,
        sh._HEADER,
        sh._REPOST_CHAIN,
        sh._MENTION,
        sh._REPOST_WORDS,
    ):
        text = pattern.sub(" ", text)
    return "".join(sh._KEEP.findall(text))


def test_normalize_skips_only_substitutions_that_cannot_match():
    odd = [
        "HTTP://T.CN/ABC 华鼎证券 WWW.EXAMPLE.COM 公告",
        "[快讯] 华鼎证券\n来源:新浪财经\n（责任编辑：王伟）",
        "转发 // @张三 : 华鼎证券 RT @李四 原文：网页链接",
        "【标题】\n  [标题二] 正文 (来源: 证券时报)",
        "华鼎证券今日公告",
        "",
    ]
    for text in [*texts(5, 400), *odd]:
        assert sh.normalize_for_dup(text) == normalize_plain(text), text


def search_tokens_plain(seg: Segmenter, text: str) -> list[str]:
    """jieba's search mode from the precise-mode words, computed afresh for every word."""
    freq = seg.tokenizer.FREQ
    out: list[str] = []
    for w in seg.tokenizer.cut(text):
        n = len(w)
        if n > 2:
            out += [
                w[i : i + 2].lower()
                for i in range(n - 1)
                if freq.get(w[i : i + 2]) and w[i : i + 2].isalnum()
            ]
        if n > 3:
            out += [
                w[i : i + 3].lower()
                for i in range(n - 2)
                if freq.get(w[i : i + 3]) and w[i : i + 3].isalnum()
            ]
        if any(ch.isalnum() for ch in w):
            out.append(w.lower())
    return out


def test_search_tokens_kept_per_word_equal_jieba_search_mode(segmenter, monkeypatch):
    import nlp.segment as segment

    monkeypatch.setattr(segment, "WORD_PIECES", 30)  # cleared along the way too
    for text in texts(2, 300):
        assert segmenter.search_tokens(text) == search_tokens_plain(segmenter, text), text
        assert segmenter.search_tokens(text) == search_tokens_plain(segmenter, text)  # from the kept words
    assert len(segmenter._pieces) <= 31


def test_index_text_equals_the_cleaned_search_tokens_joined(segmenter, monkeypatch):
    """What the posts index stores for a post (store.posts_sqlite): the cleaned search tokens, joined; the
    per-word joins kept by the segmenter give the same text."""
    import nlp.segment as segment
    from store.posts_sqlite import _clean_token

    monkeypatch.setattr(segment, "WORD_PIECES", 30)  # cleared along the way
    for text in [*texts(6, 300), *gibberish(7, 100), "", "，。！", "华鼎证券ABC x1"]:
        want = " ".join(c for c in map(_clean_token, segmenter.search_tokens(text)) if c)
        assert segmenter.index_text(text, _clean_token) == want, text
        assert segmenter.index_text(text, _clean_token) == want
    assert all(len(m) <= 31 for m in segmenter._joined.values())


COMMON = "的一是了我不人在他有这个上们来到时大地为子中你说生国年着就那和要她出也得里后自以会家可下而过天去能对小多然于心学么之都好看起发当没成只如事把还用第样道想作种开美总从无情己面最女但现前些所同日手又行意动方期它头经长儿回位分爱老因很给名法间斯知世什两次使身者被高已亲其进此话常与活正感"


def gibberish(seed: int, n: int) -> list[str]:
    """Runs of common characters in random order (words jieba knows and strings only its HMM can read),
    with latin, digits, spaces, line breaks and punctuation between them."""
    rng = random.Random(seed)
    glue = [
        " ",
        "\r\n",
        "\n",
        "，",
        "。",
        "ABC",
        "x1",
        "3.5%",
        "#话题#",
        "-",
        "_",
        "  ",
        "！？",
        "华鼎证券",
        "华鼎金管家",
    ]
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(1, 12)):
            parts.append("".join(rng.choice(COMMON) for _ in range(rng.randint(1, 15))))
            parts.append(rng.choice(glue))
        out.append("".join(parts))
    return out


def test_words_equal_jieba_cut(monkeypatch):
    import nlp.segment as segment

    monkeypatch.setattr(segment, "BLOCKS", 40)  # the kept runs are cleared along the way
    monkeypatch.setattr(segment, "LOG_PROBS", 200)  # and the kept log probabilities
    monkeypatch.setattr(segment, "HMM_RUNS", 20)  # and the HMM's readings
    monkeypatch.setattr(segment, "WORD_PIECES", 30)  # and cut()'s words
    seg = Segmenter(["华鼎证券", "华鼎金管家", "鼎盈1号"])
    for text in [
        *texts(3, 300),
        *gibberish(4, 300),
        "",
        " ",
        "\r\n",
        "好",
        "华鼎证券：网传总经理被带走系谣言",
    ]:
        want = list(seg.tokenizer.cut(text))
        assert seg._cut(text) == want, text
        assert seg._cut(text) == want  # again, from the kept runs
        plain = [w.lower() for w in want if any(ch.isalnum() for ch in w)]
        seg._recent.clear()
        assert seg.cut(text) == plain
        assert seg.cut(text) == plain  # again, from the kept words
    assert len(seg._runs) <= 41
    assert len(seg._lp) <= 201
    assert len(segment._HMM) <= 21
    assert len(seg._kept) <= 31


def test_words_follow_a_dictionary_changed_after_first_use():
    """A word added to the tokenizer after the first cut (the total and the prefixes change) counts at once:
    the kept log probabilities belong to one state of the dictionary."""
    seg = Segmenter(["华鼎证券"])
    texts_ = ["岚峰证券今日公告总经理辞职", "客户称岚峰证券APP无法登录，岚峰证券回应"]
    for text in texts_:
        assert seg._cut(text) == list(seg.tokenizer.cut(text))
    seg.tokenizer.add_word("岚峰证券", freq=2_000_000)
    seg._runs.clear()
    for text in texts_:
        got = seg._cut(text)
        assert got == list(seg.tokenizer.cut(text))
        assert "岚峰证券" in got


def test_hmm_reading_equals_finalseg(monkeypatch):
    """The HMM's reading of characters the dictionary left single (nlp.segment._hmm_cut, its Viterbi pass
    written out) is finalseg.cut's: common characters, characters it has never seen (ties between
    states), latin and digits between them, and a force-split word."""
    from jieba import finalseg

    import nlp.segment as segment

    rng = random.Random(8)
    rare = "".join(chr(c) for c in range(0x9F00, 0x9FD5))
    pools = [COMMON, rare, COMMON + rare[:30], COMMON + "ab1.5%X -"]
    strings = [
        "".join(rng.choice(pool) for _ in range(rng.randint(1, 14))) for pool in pools for _ in range(800)
    ]
    for s in strings:
        assert segment._hmm_cut(s) == list(finalseg.cut(s)), s
    word = next(w for s in strings for w in finalseg.cut(s) if len(w) > 1 and "\u4e00" <= w[0] <= "\u9fd5")
    monkeypatch.setattr(finalseg, "Force_Split_Words", {word})
    for s in strings:
        assert segment._hmm_cut(s) == list(finalseg.cut(s)), s

"""Word segmentation: jieba with the firm's own dictionary.

Each :class:`Segmenter` holds its own ``jieba.Tokenizer`` (never the process-global one, which other
code may change), built lazily under a lock on first use, with jieba's dictionary cache in a
directory the project owns (``$YUQING_CACHE_DIR/jieba``, default ``~/.cache/yuqing/jieba``; a temp
directory when that is not writable).

The store calls :meth:`Segmenter.search_tokens` both to index and to query, so 中信证券 is found by
中信证券, by 中信 and by 证券.
"""

from __future__ import annotations

import logging
import math
import os
import tempfile
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

import jieba
from jieba import finalseg

log = logging.getLogger(__name__)

# high enough that a watched name always wins over jieba's own split of it
USER_WORD_FREQ = 2_000_000
# texts whose segmentation is kept for the next caller: ingest segments a post for its event keywords
# and again for the posts index; a batch's worth, short texts only
RECENT_TEXTS = 2048
RECENT_MAX_CHARS = 20_000
# words whose search tokens are kept (a word's tokens depend on the word alone; words repeat): bounded,
# cleared when full
WORD_PIECES = 100_000
# runs of Chinese text (jieba's unit of work) whose words are kept; bounded, cleared when full
BLOCKS = 50_000
BLOCK_MAX_CHARS = 200
_RE_HAN = jieba.re_han_default  # how jieba's precise mode splits a text into runs, and what it skips
_RE_SKIP = jieba.re_skip_default


def default_cache_dir() -> Path:
    base = os.environ.get("YUQING_CACHE_DIR")
    root = Path(base).expanduser() if base else Path.home() / ".cache" / "yuqing"
    d = root / "jieba"
    try:
        d.mkdir(parents=True, exist_ok=True)
        if os.access(d, os.W_OK):
            return d
    except OSError:
        pass
    d = Path(tempfile.gettempdir()) / f"yuqing-jieba-{os.getuid() if hasattr(os, 'getuid') else 'u'}"
    d.mkdir(parents=True, exist_ok=True)
    return d


# jieba's default dictionary as first loaded in this process (before any user word): every later tokenizer
# starts from a copy (≈15 ms) instead of reading the cache again (≈0.6 s; a CLI command builds two or three)
_BASE: tuple[dict[str, int], int] | None = None
_BASE_LOCK = threading.Lock()


def _initialize(tk: jieba.Tokenizer) -> None:
    """``tk.initialize()``, from the in-process copy when there is one and ``tk``'s cache file exists."""
    global _BASE
    base = _BASE
    if base is not None and (Path(tk.tmp_dir) / tk.cache_file).is_file():
        tk.FREQ, tk.total = base[0].copy(), base[1]
        tk.initialized = True
        return
    tk.initialize()
    with _BASE_LOCK:
        if _BASE is None:
            _BASE = (tk.FREQ.copy(), tk.total)


# ``_LogProbs`` marks: a fragment that is no prefix of any dictionary word, and one that is only a prefix
_NOT_PREFIX = object()
_PREFIX_ONLY = object()
LOG_PROBS = 300_000  # fragments whose log probability is kept per tokenizer; bounded, cleared when full
HMM_RUNS = 50_000  # leftover single characters read by jieba's HMM, kept; bounded, cleared when full
_HMM: dict[str, tuple[str, ...]] = {}
_HMM_SPLITS: list[tuple[int, int]] = [(0, -1)]  # finalseg's force-split words (which set, how many) for _HMM


class _LogProbs(dict):
    """fragment → ``ln(freq) - ln(total)`` as jieba computes it per candidate word (the same float: the same
    two operands, the same subtraction), :data:`_PREFIX_ONLY` for a prefix of longer words only (frequency
    0) and :data:`_NOT_PREFIX` for a fragment that starts no dictionary word. Filled on first look-up of
    each fragment (a look-up instead of two and a logarithm), for one state of the dictionary."""

    def __init__(self, tk: jieba.Tokenizer):
        super().__init__()
        self.freq = tk.FREQ
        self.total = tk.total
        self.size = len(tk.FREQ)
        self.logtotal = math.log(tk.total)
        self.alone = math.log(1) - self.logtotal  # a character no word starts with (jieba: freq or 1)

    def current(self, tk: jieba.Tokenizer) -> bool:
        """Still the tokenizer's dictionary (``add_word`` changes the total and the size)."""
        return tk.FREQ is self.freq and tk.total == self.total and len(tk.FREQ) == self.size

    def __missing__(self, frag: str) -> object:
        if len(self) > LOG_PROBS:
            self.clear()
        f = self.freq.get(frag)
        v: object = _NOT_PREFIX if f is None else math.log(f) - self.logtotal if f else _PREFIX_ONLY
        self[frag] = v
        return v


def _cut_run(tk: jieba.Tokenizer, sentence: str, lp: _LogProbs | None = None) -> list[str]:
    """jieba's precise-mode words of one run of Chinese text (``Tokenizer.__cut_DAG``, HMM on), computed the
    same way in one pass: the word graph and the best route from the end (log frequencies, ties to the
    longer word, the same float operations in the same order), then the characters left single joined
    and read by jieba's HMM (``finalseg``) unless the dictionary knows them. Each fragment's log
    probability comes from ``lp`` (:class:`_LogProbs`: one look-up, the same float jieba computes); the
    HMM's reading of leftover characters is kept (:data:`HMM_RUNS`). tests/nlp/test_fast_paths.py holds
    the words equal to jieba's."""
    if lp is None:  # _cut hands in its table, checked against the dictionary once per text
        lp = _LogProbs(tk)
    n = len(sentence)
    if n == 1:  # one character: itself, whatever the dictionary says
        return [sentence]
    route_v = [0.0] * (n + 1)  # best log probability from here to the end
    route_x = [0] * (n + 1)  # where the first word of that route ends
    alone = lp.alone
    for idx in range(n - 1, -1, -1):
        p = lp[sentence[idx]]
        if p is _NOT_PREFIX:  # no word starts here: the character alone
            route_v[idx] = alone + route_v[idx + 1]
            route_x[idx] = idx
            continue
        best_v: float | None = None
        best_x = idx
        i = idx
        while True:  # the prefix dictionary holds every prefix of every word
            if p is not _PREFIX_ONLY:
                v = p + route_v[i + 1]
                if best_v is None or v >= best_v:  # max over (v, end): a tie goes to the later end
                    best_v = v
                    best_x = i
            i += 1
            if i == n:
                break
            p = lp[sentence[idx : i + 1]]
            if p is _NOT_PREFIX:
                break
        route_v[idx] = alone + route_v[idx + 1] if best_v is None else best_v
        route_x[idx] = best_x
    freq = lp.freq
    out: list[str] = []
    buf = ""
    x = 0
    while x < n:
        y = route_x[x] + 1
        if y - x == 1:
            buf += sentence[x]
        else:
            if buf:
                _flush(buf, freq, out)
                buf = ""
            out.append(sentence[x:y])
        x = y
    if buf:
        _flush(buf, freq, out)
    return out


def _flush(buf: str, freq: dict[str, int], out: list[str]) -> None:
    """Single characters in a row: one character as it is; several, by the HMM unless they are a word.
    The HMM's words depend on the characters and finalseg's force-split words alone: kept per string."""
    if len(buf) == 1:
        out.append(buf)
    elif not freq.get(buf):
        splits = (id(finalseg.Force_Split_Words), len(finalseg.Force_Split_Words))
        if _HMM_SPLITS[0] != splits or len(_HMM) > HMM_RUNS:
            _HMM.clear()
            _HMM_SPLITS[0] = splits
        words = _HMM.get(buf)
        if words is None:
            words = _HMM[buf] = tuple(_hmm_cut(buf))
        out.extend(words)
    else:
        out.extend(buf)


def _hmm_cut(text: str) -> list[str]:
    """``list(finalseg.cut(text))``: jieba's HMM reading of characters its dictionary left single, with the
    Viterbi pass written out for its four states (:func:`_viterbi`: the same sums in the same order, ties
    broken as jieba's ``max`` over ``(probability, state)`` breaks them)."""
    out: list[str] = []
    split_words = finalseg.Force_Split_Words
    for blk in finalseg.re_han.split(text):
        if not blk:
            continue
        if finalseg.re_han.match(blk):
            for word in _hmm_words(blk):
                if word in split_words:
                    out.extend(word)
                else:
                    out.append(word)
        else:
            out.extend(x for x in finalseg.re_skip.split(blk) if x)
    return out


def _hmm_words(sentence: str) -> list[str]:
    """finalseg's ``__cut``: the words of one run of Chinese characters by their B/M/E/S states."""
    states = _viterbi(sentence)
    out: list[str] = []
    begin = nexti = 0
    for i, pos in enumerate(states):
        if pos == "B":
            begin = i
        elif pos == "E":
            out.append(sentence[begin : i + 1])
            nexti = i + 1
        elif pos == "S":
            out.append(sentence[i])
            nexti = i + 1
    if nexti < len(sentence):
        out.append(sentence[nexti:])
    return out


_START = finalseg.start_P
_TRANS = finalseg.trans_P
_EMIT = finalseg.emit_P


def _viterbi(obs: str) -> str:
    """The best B/M/E/S state sequence of ``obs`` as ``finalseg.viterbi(obs, "BMES", …)`` finds it.

    jieba takes ``max`` of ``[(V[prev] + trans[prev][state] + emit, prev) for prev in PrevStatus[state]]``:
    the later candidate wins when its sum is larger, or equal with a larger state letter (E < S for B and
    S; B < M for M and E); the final state likewise from (E, S). Every transition it asks for exists, so
    ``trans.get(…, MIN_FLOAT)`` is the value itself. Back-pointers replace its copied paths."""
    low = finalseg.MIN_FLOAT
    e_b, e_m, e_e, e_s = _EMIT["B"].get, _EMIT["M"].get, _EMIT["E"].get, _EMIT["S"].get
    t_eb, t_sb = _TRANS["E"]["B"], _TRANS["S"]["B"]
    t_mm, t_bm = _TRANS["M"]["M"], _TRANS["B"]["M"]
    t_ss, t_es = _TRANS["S"]["S"], _TRANS["E"]["S"]
    t_be, t_me = _TRANS["B"]["E"], _TRANS["M"]["E"]
    c = obs[0]
    vb = _START["B"] + e_b(c, low)
    vm = _START["M"] + e_m(c, low)
    ve = _START["E"] + e_e(c, low)
    vs = _START["S"] + e_s(c, low)
    back: list[tuple[str, str, str, str]] = []  # per step: the previous state of B, M, E, S
    for c in obs[1:]:
        em = e_b(c, low)
        a, b = ve + t_eb + em, vs + t_sb + em  # B from E, S
        nb, pb = (b, "S") if b >= a else (a, "E")
        em = e_m(c, low)
        a, b = vm + t_mm + em, vb + t_bm + em  # M from M, B
        nm, pm = (b, "B") if b > a else (a, "M")
        em = e_s(c, low)
        a, b = vs + t_ss + em, ve + t_es + em  # S from S, E
        ns, ps = (b, "E") if b > a else (a, "S")
        em = e_e(c, low)
        a, b = vb + t_be + em, vm + t_me + em  # E from B, M
        ne, pe = (b, "M") if b >= a else (a, "B")
        back.append((pb, pm, pe, ps))
        vb, vm, ve, vs = nb, nm, ne, ns
    state = "S" if vs >= ve else "E"
    path = [state]
    column = {"B": 0, "M": 1, "E": 2, "S": 3}
    for prev in reversed(back):
        state = prev[column[state]]
        path.append(state)
    path.reverse()
    return "".join(path)


def _keep(token: str) -> bool:
    """Drop whitespace and punctuation-only tokens (CJK characters count as alphanumeric)."""
    return any(ch.isalnum() for ch in token)


class Segmenter:
    """jieba segmentation that keeps every watched name as one word."""

    def __init__(self, user_words: Iterable[str] = (), *, cache_dir: str | Path | None = None) -> None:
        self.user_words: tuple[str, ...] = tuple(
            dict.fromkeys(w.strip() for w in user_words if w and w.strip())
        )
        self._cache_dir = Path(cache_dir) if cache_dir else None
        self._tk: jieba.Tokenizer | None = None
        self._lock = threading.Lock()
        self._recent: dict[str, list[str]] = {}  # text → jieba's words, oldest first
        self._recent_lock = threading.Lock()
        self._pieces: dict[str, tuple[str, ...]] = {}  # word → its search tokens (search_tokens)
        self._runs: dict[str, tuple[str, ...]] = {}  # a Chinese run → jieba's words of it (_cut)
        self._lp: _LogProbs | None = None  # the tokenizer's log probabilities, per fragment (_cut_run)
        self._kept: dict[str, str] = {}  # word → as cut() gives it ("" when dropped)
        self._joined: dict[Callable[[str], str], dict[str, str]] = {}  # index_text: clean → word → tokens

    @property
    def tokenizer(self) -> jieba.Tokenizer:
        """The jieba tokenizer, built on first use (≈1 s the first time, then from the cache)."""
        if self._tk is None:
            with self._lock:
                if self._tk is None:
                    tk = jieba.Tokenizer()
                    tk.tmp_dir = str(self._cache_dir or default_cache_dir())
                    tk.cache_file = "jieba.cache"  # jieba's default dictionary, cached in our directory
                    _initialize(tk)
                    for w in self.user_words:
                        tk.add_word(w, freq=USER_WORD_FREQ)
                    self._tk = tk
        return self._tk

    def _words(self, text: str) -> list[str]:
        """jieba's precise-mode words of ``text`` as it gives them; the last few texts' are kept, so the
        event keywords and the posts index of one post segment it once."""
        words = self._recent.get(text)
        if words is not None:
            return words
        words = self._cut(text)
        if len(text) <= RECENT_MAX_CHARS:
            with self._recent_lock:
                self._recent[text] = words
                while len(self._recent) > RECENT_TEXTS:
                    del self._recent[next(iter(self._recent))]
        return words

    def _cut(self, text: str) -> list[str]:
        """``list(tokenizer.cut(text))``, the Chinese runs' words kept per run (:data:`BLOCKS`).

        jieba cuts a text run by run (a run: characters of ``re_han_default`` between punctuation and
        spaces), each on its own with a fixed dictionary, so a run seen before gives the words it gave then:
        the firm's name before a colon, 转发微博, a template's sentences, the text of a repost."""
        tk = self.tokenizer
        runs = self._runs
        if len(runs) > BLOCKS:
            runs.clear()
        lp = self._lp
        if lp is None or not lp.current(tk):
            lp = self._lp = _LogProbs(tk)
        out: list[str] = []
        for blk in _RE_HAN.split(text):
            if not blk:
                continue
            if _RE_HAN.match(blk):
                words = runs.get(blk)
                if words is None:
                    words = tuple(_cut_run(tk, blk, lp))
                    if len(blk) <= BLOCK_MAX_CHARS:
                        runs[blk] = words
                out.extend(words)
            else:
                for x in _RE_SKIP.split(blk):
                    if _RE_SKIP.match(x):
                        out.append(x)
                    else:
                        out.extend(x)  # one character at a time, as jieba gives them
        return out

    def cut(self, text: str) -> list[str]:
        """Words of ``text`` (precise mode), whitespace and punctuation dropped, latin lower-cased."""
        if not text:
            return []
        kept = self._kept
        if len(kept) > WORD_PIECES:
            kept.clear()
        out = []
        for w in self._words(text):
            k = kept.get(w)
            if k is None:
                k = kept[w] = w.lower() if _keep(w) else ""
            if k:
                out.append(k)
        return out

    def search_tokens(self, text: str) -> list[str]:
        """Tokens for a search index (jieba search mode): 中信证券 → 中信证券, 中信, 证券.

        Use the same call to index documents and to tokenise queries. The tokens are jieba's
        ``tokenize(text, mode="search")``, made from the precise-mode words as jieba makes them (each
        word's 2- and 3-character pieces that are dictionary words, then the word)."""
        if not text:
            return []
        pieces = self._pieces
        if len(pieces) > WORD_PIECES:
            pieces.clear()
        out: list[str] = []
        for w in self._words(text):
            got = pieces.get(w)
            if got is None:
                got = pieces[w] = self._search_pieces(w)
            out.extend(got)
        return out

    def index_text(self, text: str, clean: Callable[[str], str]) -> str:
        """``" ".join(c for c in map(clean, self.search_tokens(text)) if c)``: a search index's document
        text, each word's cleaned tokens joined once and kept (:data:`WORD_PIECES`, per ``clean``)."""
        if not text:
            return ""
        memo = self._joined.get(clean)
        if memo is None or len(memo) > WORD_PIECES:
            memo = self._joined[clean] = {}
        parts = []
        for w in self._words(text):
            joined = memo.get(w)
            if joined is None:
                joined = memo[w] = " ".join(c for c in map(clean, self._search_pieces(w)) if c)
            if joined:
                parts.append(joined)
        return " ".join(parts)

    def _search_pieces(self, w: str) -> tuple[str, ...]:
        """One precise-mode word's search tokens: its 2- and 3-character dictionary words, then itself."""
        freq = self.tokenizer.FREQ
        out: list[str] = []
        n = len(w)
        if n > 2:
            out.extend(g.lower() for g in (w[i : i + 2] for i in range(n - 1)) if freq.get(g) and _keep(g))
        if n > 3:
            out.extend(g.lower() for g in (w[i : i + 3] for i in range(n - 2)) if freq.get(g) and _keep(g))
        if _keep(w):
            out.append(w.lower())
        return tuple(out)

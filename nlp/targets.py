"""Whom a post is negative about: an entity-level model over the mentions of each candidate.

A post names several entities (ours, a look-alike, a counterparty); "negative about us" needs a
verdict per entity, not per post. For each candidate entity the model reads:

- how negative the post is, and how negative the clauses that name the entity are, by two scores:
  the sentiment model's P(negative) (reviews, forums, Weibo) and a news-domain negativity model
  (``doc_model``: char n-gram logistic regression trained on finnsp's post-level ``negative`` flag);
- where and how the entity is named: in the title, first or later, how often, how many other
  candidates there are, whether its name is part of a longer candidate's name (finnsp, like a duty
  officer, names the most specific entity: 中信证券 in 中信证券资管, not 中信) or contains one;
- the characters right before and after each mention (the entity masked), hashed, and the last
  characters of the name (银行, 钱包, 金服 …).

Candidates that a post's candidate list names but its text does not (finnsp lists variant spellings
and entities of the truncated part) get a second, small model (``AbsentLayer``, ``absent_features``):
how much of the name the text has anyway, how negative the post is, and how the entity model scored
the named candidates. ``nlp.training.targets`` (``score_rows``, ``evaluate``) uses it; the analyzer reports
named entities only.

Logistic regression, shipped as plain files (``doc/`` is a LinearSentimentClassifier directory,
``weights.npz`` + ``meta.json`` for the entity layer) that numpy applies; trained by
``python -m nlp.training targets train`` on finnsp's train split (held-out rows by
``nlp.training.data.is_heldout``) and measured by ``python -m nlp.training targets eval``
(:mod:`nlp.training.targets`).
"""

from __future__ import annotations

import bisect
import json
import math
import re
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nlp.sentiment import MODELS_DIR, LinearSentimentClassifier, char_ngrams, gram_counts, normalize
from nlp.watchlist import EXCLUDED, Mention

TARGETS_DIR = MODELS_DIR / "targets-linear"
FORMAT_VERSION = 1
HASH_BITS = 16
HASH_DIM = 1 << HASH_BITS
CONTEXT_CHARS = 8
DEFAULT_THRESHOLD = 0.5

CLAUSE = re.compile(r"[^。！？!?；;，,\n]+")
MAX_CLAUSES_PER_POST = 24
MAX_CLAUSE_CHARS = 300

DENSE = (
    "bias_found",
    "post_neg",
    "post_doc",
    "clause_neg_max",
    "clause_doc_max",
    "clause_neg_mean",
    "clause_doc_mean",
    "in_title",
    "first_pos",
    "log_count",
    "n_candidates",
    "is_sub",
    "has_sub",
    "only_candidate",
    "first_candidate",
    "post_doc_x_sub",
    "post_doc_x_first",
    "clause_doc_x_sub",
    "lookalike",
)

# candidates the post's candidate list names but the text does not (finnsp's entity lists name
# spelling variants and entities of the truncated part): a second, small model (``absent``)
ABSENT_DENSE = (
    "bias",
    "lcs_share",
    "log_lcs",
    "bigram_cover",
    "log_name_len",
    "post_doc",
    "post_neg",
    "found_max",
    "found_n_negative",
    "log_n_found",
    "has_found_sub",
    "found_sub_max",
    "in_found",
    "found_super_max",
)
ABSENT_TEXT_CHARS = 3000


def clause_spans(text: str) -> list[tuple[int, int]]:
    return [(c.start(), c.end()) for c in CLAUSE.finditer(text)]


def mention_clauses(
    text: str, mentions: Sequence[Mention]
) -> tuple[list[tuple[int, int]], list[tuple[int, int] | None]]:
    """The clauses that name someone (at most MAX_CLAUSES_PER_POST) and each mention's clause."""
    clauses: list[tuple[int, int]] = []
    of_mention: list[tuple[int, int] | None] = [None] * len(mentions)
    if not mentions:
        return clauses, of_mention
    spans = clause_spans(text)
    starts = [s for s, _ in spans]
    seen: set[tuple[int, int]] = set()
    for j, m in enumerate(mentions):
        i = bisect.bisect_right(starts, m.start) - 1
        if i < 0 or not spans[i][0] <= m.start < spans[i][1]:
            continue
        if spans[i] in seen:
            of_mention[j] = spans[i]
        elif len(clauses) < MAX_CLAUSES_PER_POST:
            clauses.append(spans[i])
            seen.add(spans[i])
            of_mention[j] = spans[i]
    return clauses, of_mention


def linear_scores(jobs: Sequence[tuple[LinearSentimentClassifier, Sequence[str]]]) -> list[np.ndarray]:
    """P(second label) of two-label char n-gram models, each on its own texts, reading each distinct
    text's n-grams once: the news-negativity and rumor models read the same post heads.

    Same arithmetic as ``LinearSentimentClassifier.predict_proba`` (sublinear tf × idf, l2, linear). Each
    model's texts are looked up together (``nlp.sentiment.gram_counts``): the same entries in the same
    order as counting each text's n-grams with a dict (:func:`_gram_entries_each`, for other features).
    """
    cache: dict[tuple[str, int, tuple[int, int]], dict[str, int]] = {}
    out = []
    for model, texts in jobs:
        idf, w = model.idf, (model.coef[:, 1] - model.coef[:, 0])
        bias = float(model.intercept[1] - model.intercept[0])
        codes = model.gram_codes(len(texts))
        if codes is not None:
            rows, idx, tf = gram_counts(texts, codes, model.max_chars, model.ngram_range)
        else:
            rows, idx, tf = _gram_entries_each(model, texts, cache)
        n = len(texts)
        z = np.full(n, bias, dtype=np.float64)
        if len(idx):
            r = np.asarray(rows)
            ix = np.asarray(idx)
            vals = (1.0 + np.log(np.asarray(tf, np.float64))) * idf[ix]
            norm = np.sqrt(np.bincount(r, vals * vals, minlength=n))
            dot = np.bincount(r, vals * w[ix], minlength=n)
            z += np.divide(dot, norm, out=np.zeros(n), where=norm > 0)
        out.append(1.0 / (1.0 + np.exp(-z)))
    return out


def _gram_entries_each(
    model: LinearSentimentClassifier,
    texts: Sequence[str],
    cache: dict[tuple[str, int, tuple[int, int]], dict[str, int]],
) -> tuple[list[int], list[int], list[int]]:
    """(row, feature index, count) of each text's n-grams counted with a dict, text by text."""
    get = model.vocabulary.get
    rows: list[int] = []
    idx: list[int] = []
    tf: list[int] = []
    for i, text in enumerate(texts):
        key = (text or "", model.max_chars, model.ngram_range)
        counts = cache.get(key)
        if counts is None:
            counts = {}
            for g in char_ngrams(key[0][: model.max_chars], model.ngram_range):
                counts[g] = counts.get(g, 0) + 1
            cache[key] = counts
        for g, c in counts.items():
            j = get(g)
            if j is not None:
                rows.append(i)
                idx.append(j)
                tf.append(c)
    return rows, idx, tf


def _h(feature: str) -> int:
    return zlib.crc32(feature.encode("utf-8")) & (HASH_DIM - 1)


@dataclass
class Candidate:
    """One entity as the model sees it: its name and every mention of it in the post."""

    name: str
    mentions: list[Mention]
    clauses: list[tuple[int, int]]
    lookalike: bool = False


def group_candidates(
    mentions: Sequence[Mention], of_mention: Sequence[tuple[int, int] | None]
) -> list[Candidate]:
    """Mentions grouped per entity (a look-alike is its own candidate), in order of first mention."""
    out: dict[str, Candidate] = {}
    for m, c in zip(mentions, of_mention, strict=True):
        key = m.entity
        cand = out.get(key)
        if cand is None:
            cand = out[key] = Candidate(key, [], [], lookalike=m.role == EXCLUDED)
        cand.mentions.append(m)
        if c is not None and c not in cand.clauses:
            cand.clauses.append(c)
    return list(out.values())


def features(
    text: str,
    title_len: int,
    cands: Sequence[Candidate],
    clause_neg: Mapping[tuple[int, int], float],
    clause_doc: Mapping[tuple[int, int], float],
    post_neg: float,
    post_doc: float,
    *,
    extra_names: Sequence[str] = (),
) -> list[tuple[np.ndarray, list[int]]]:
    """(dense vector, hashed sparse indices) per candidate, in ``cands`` order.

    ``extra_names``: candidate names that are not found in the text (still count for is_sub/has_sub).
    """
    n_text = max(1, len(text))
    aliases = {c.name: {m.alias for m in c.mentions} | {c.name} for c in cands}
    all_names = [a for c in cands for a in aliases[c.name]] + list(extra_names)
    n_cands = len(cands) + len(extra_names)
    first_start = min((c.mentions[0].start for c in cands), default=0)
    out = []
    for c in cands:
        mine = aliases[c.name]
        is_sub = any(a != o and a in o for a in mine for o in all_names if o not in mine)
        has_sub = any(a != o and o in a for a in mine for o in all_names if o not in mine)
        cn = [clause_neg.get(s, post_neg) for s in c.clauses] or [post_neg]
        cd = [clause_doc.get(s, post_doc) for s in c.clauses] or [post_doc]
        first = c.mentions[0].start
        in_title = any(m.start < title_len for m in c.mentions)
        first_cand = first == first_start
        dense = np.array(
            [
                1.0,
                post_neg,
                post_doc,
                max(cn),
                max(cd),
                sum(cn) / len(cn),
                sum(cd) / len(cd),
                float(in_title),
                first / n_text,
                math.log1p(len(c.mentions)),
                math.log1p(n_cands),
                float(is_sub),
                float(has_sub),
                float(n_cands == 1),
                float(first_cand),
                post_doc * is_sub,
                post_doc * first_cand,
                max(cd) * is_sub,
                float(c.lookalike),
            ],
            dtype=np.float32,
        )
        sparse: set[int] = set()
        for m in c.mentions[:8]:
            left = normalize(text[max(0, m.start - CONTEXT_CHARS) : m.start])
            right = normalize(text[m.end : m.end + CONTEXT_CHARS])
            for n in (1, 2):
                for i in range(len(left) - n + 1):
                    g, dist = left[i : i + n], len(left) - i
                    sparse.add(_h(f"L:{g}"))
                    if dist <= 3:
                        sparse.add(_h(f"L{dist}:{g}"))
                for i in range(len(right) - n + 1):
                    g = right[i : i + n]
                    sparse.add(_h(f"R:{g}"))
                    if i < 3:
                        sparse.add(_h(f"R{i}:{g}"))
        name = normalize(c.name)
        for k in (1, 2, 3):
            if len(name) >= k:
                sparse.add(_h(f"N-{k}:{name[-k:]}"))
                sparse.add(_h(f"N+{k}:{name[:k]}"))
        out.append((dense, sorted(sparse)))
    return out


def _longest_common(a: str, b: str) -> int:
    from difflib import SequenceMatcher

    return SequenceMatcher(None, a, b, autojunk=False).find_longest_match(0, len(a), 0, len(b)).size


def absent_features(
    text: str, name: str, found: Mapping[str, float], post_neg: float, post_doc: float
) -> tuple[np.ndarray, list[int]]:
    """Features of a candidate the text does not name: how much of the name the text has anyway (a
    variant spelling, a truncated name), how negative the post is, and how the entity model scored the
    candidates the text does name (``found``: name → P(negative about it)), those inside this name most."""
    t = normalize(text[:ABSENT_TEXT_CHARS])
    n = normalize(name)
    lcs = _longest_common(n, t) if n and t else 0
    grams = [n[i : i + 2] for i in range(len(n) - 1)]
    inner = [v for k, v in found.items() if k != name and k in name]
    outer = [v for k, v in found.items() if k != name and name in k]
    dense = np.array(
        [
            1.0,
            lcs / max(1, len(n)),
            math.log1p(lcs),
            sum(g in t for g in grams) / max(1, len(grams)),
            math.log1p(len(n)),
            post_doc,
            post_neg,
            max(found.values(), default=0.0),
            float(sum(v >= 0.5 for v in found.values())),
            math.log1p(len(found)),
            float(bool(inner)),
            max(inner, default=0.0),
            float(bool(outer)),
            max(outer, default=0.0),
        ],
        dtype=np.float32,
    )
    sparse = set()
    for k in (1, 2, 3):
        if len(n) >= k:
            sparse.add(_h(f"N-{k}:{n[-k:]}"))
            sparse.add(_h(f"N+{k}:{n[:k]}"))
    return dense, sorted(sparse)


@dataclass
class AbsentLayer:
    """Logistic regression for candidates the text does not name (``ABSENT_DENSE`` + hashed name ends)."""

    coef: np.ndarray
    intercept: float
    mean: np.ndarray
    scale: np.ndarray
    threshold: float = DEFAULT_THRESHOLD

    def __post_init__(self) -> None:
        self.coef = np.asarray(self.coef, np.float32)
        self.mean = np.asarray(self.mean, np.float32)
        self.scale = np.asarray(self.scale, np.float32)
        if self.coef.shape != (len(ABSENT_DENSE) + HASH_DIM,):
            raise ValueError(f"absent coef shape {self.coef.shape} != ({len(ABSENT_DENSE) + HASH_DIM},)")


def linear_layer(
    rows: Sequence[tuple[np.ndarray, list[int]]],
    coef: np.ndarray,
    intercept: float,
    mean: np.ndarray,
    scale: np.ndarray,
) -> np.ndarray:
    """P per row of (dense vector, hashed indices): the logistic function of the intercept + the
    standardised dense part · its weights + the weights of the hashed indices (both layers of the model;
    training applies it to out-of-fold weights too)."""
    nd = len(mean)
    out = np.empty(len(rows), np.float32)
    for i, (dense, idx) in enumerate(rows):
        z = intercept + float(np.dot((dense - mean) / scale, coef[:nd]))
        if idx:
            z += float(coef[nd + np.asarray(idx)].sum())
        out[i] = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))
    return out


class TargetModel:
    """Applies the shipped entity model: ``score(...)`` gives P(the post is negative about the entity);
    ``score_absent(...)`` the same for a candidate that the text does not name (finnsp-style lists)."""

    def __init__(
        self,
        doc_model: LinearSentimentClassifier,
        coef: np.ndarray,
        intercept: float,
        *,
        threshold: float = DEFAULT_THRESHOLD,
        mean: np.ndarray | None = None,
        scale: np.ndarray | None = None,
        absent: AbsentLayer | None = None,
    ) -> None:
        self.doc_model = doc_model
        self.coef = np.asarray(coef, dtype=np.float32)
        self.intercept = float(intercept)
        self.threshold = float(threshold)
        self.mean = np.zeros(len(DENSE), np.float32) if mean is None else np.asarray(mean, np.float32)
        self.scale = np.ones(len(DENSE), np.float32) if scale is None else np.asarray(scale, np.float32)
        if self.coef.shape != (len(DENSE) + HASH_DIM,):
            raise ValueError(f"coef shape {self.coef.shape} != ({len(DENSE) + HASH_DIM},)")
        self.absent = absent
        self._doc_neg = list(doc_model.labels).index("negative")

    @classmethod
    def load(cls, directory: str | Path = TARGETS_DIR) -> TargetModel:
        d = Path(directory)
        meta = json.loads((d / "meta.json").read_text(encoding="utf-8"))
        if (
            meta.get("format") != FORMAT_VERSION
            or list(meta.get("dense", [])) != list(DENSE)
            or ("absent" in meta and list(meta["absent"].get("dense", [])) != list(ABSENT_DENSE))
        ):
            raise ValueError(f"{d / 'meta.json'}: unsupported format or feature list")
        absent = None
        with np.load(d / "weights.npz", allow_pickle=False) as w:
            coef, mean, scale = w["coef"].astype(np.float32), w["mean"], w["scale"]
            if "absent" in meta:
                a = meta["absent"]
                absent = AbsentLayer(
                    w["absent_coef"].astype(np.float32),
                    a["intercept"],
                    w["absent_mean"],
                    w["absent_scale"],
                    threshold=a["threshold"],
                )
        doc = LinearSentimentClassifier.load(d / "doc")
        return cls(
            doc, coef, meta["intercept"], threshold=meta["threshold"], mean=mean, scale=scale, absent=absent
        )

    def save(self, directory: str | Path, *, extra: Mapping[str, object] | None = None) -> None:
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        self.doc_model.save(d / "doc")
        meta: dict[str, object] = {
            "format": FORMAT_VERSION,
            "kind": "entity-level logistic regression (dense + hashed context)",
            "dense": list(DENSE),
            "hash_bits": HASH_BITS,
            "context_chars": CONTEXT_CHARS,
            "intercept": self.intercept,
            "threshold": self.threshold,
        }
        arrays = {"coef": self.coef.astype(np.float16), "mean": self.mean, "scale": self.scale}
        if self.absent is not None:
            meta["absent"] = {
                "dense": list(ABSENT_DENSE),
                "intercept": self.absent.intercept,
                "threshold": self.absent.threshold,
            }
            arrays.update(
                absent_coef=self.absent.coef.astype(np.float16),
                absent_mean=self.absent.mean,
                absent_scale=self.absent.scale,
            )
        meta.update(dict(extra) if extra else {})
        (d / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
        np.savez_compressed(d / "weights.npz", **arrays)

    def doc_scores(self, texts: Sequence[str]) -> np.ndarray:
        """News-domain P(negative) for each text (posts and clauses in one call)."""
        return self.doc_model.predict_proba(texts)[:, self._doc_neg]

    def score(self, rows: Sequence[tuple[np.ndarray, list[int]]]) -> np.ndarray:
        if not rows:
            return np.zeros(0, np.float32)
        return linear_layer(rows, self.coef, self.intercept, self.mean, self.scale)

    def score_absent(self, rows: Sequence[tuple[np.ndarray, list[int]]]) -> np.ndarray:
        """P(negative about it) for candidates not in the text (rows of ``absent_features``); 0 without
        the absent layer."""
        if not rows or self.absent is None:
            return np.zeros(len(rows), np.float32)
        a = self.absent
        return linear_layer(rows, a.coef, a.intercept, a.mean, a.scale)


_lock_model: TargetModel | None = None


def load_default() -> TargetModel | None:
    """The shipped model, or None when its files are missing (the analyzer then falls back to rules)."""
    global _lock_model
    if _lock_model is None and (TARGETS_DIR / "weights.npz").exists():
        _lock_model = TargetModel.load(TARGETS_DIR)
    return _lock_model

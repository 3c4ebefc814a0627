"""The desk's learned second look: is a post that names us bad news for us, in words no rule holds?

The context rules (nlp.context_rules) flag what they have words for; fresh writers bring new words every
time (bench/e2e/README.md: rules written on half a battery lifted its other half not at all). This model
was trained on the desk's own labelled material instead — hand-written batteries and worlds of fictional
brokers, each labelled by what a duty officer must see — with every watched name replaced by a placeholder
(本司, 本司产品, 本司高管, 本司代码, 本司子公司; look-alikes 他司), so it learns wording, not names, and
carries to any firm. It reads only posts that name one of ours (or come from a source declared about the
firm). Where the rules did not flag a post it may add a flag, with its reason: 语境模型：对X不利（0.86）;
where the rules flagged one at a low level (III, IV), at least DEMOTE_MIN_CHARS long, and the model finds
it very unlikely to be bad news for us (below ``demote``) both in the post's head and in the sentences that
name us read alone (:func:`about_us`), it lowers that flag, with its reason: 语境模型：对X不利可能性低（0.07），不预警.
Levels I and II (severe topics, rumors with reach, authoritative sources) are never lowered.

Model: TF-IDF over character 1–3-grams (sublinear tf, smooth idf, l2 rows) and a class-balanced L2
logistic regression (nlp.training.rescue; ``python -m nlp.training rescue``), stored as one gzipped JSON
(nlp/models/rescue-linear/model.json.gz). Pure Python and numpy at run time.
"""

from __future__ import annotations

import gzip
import json
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nlp.sentiment import GRAM_CODES_AFTER, GramCodes, gram_counts
from nlp.watchlist import CODE, EXCLUDED, EXECUTIVE, PRODUCT, Mention, WatchList

RESCUE_DIR = Path(__file__).resolve().parent / "models" / "rescue-linear"
MAX_CHARS = 600  # the head of a post: what it is about is said early
# a rules' flag is lowered only on a post this long at least (its normalized head): on a few words
# (本司太差了) the model has too little to go on, and its probability is little more than its prior
DEMOTE_MIN_CHARS = 30
# the levels of a rules' flag the model may lower (I and II: severe topics, rumors with reach, authoritative
# sources, never)
DEMOTABLE_LEVELS = ("III", "IV")
_SPACES = re.compile(r"\s+")

# the placeholder of each kind of name (the training data is normalized the same way)
OURS, OUR_CODE, OUR_PRODUCT, OUR_PERSON, OUR_UNIT, THEIRS = (
    "本司",
    "本司代码",
    "本司产品",
    "本司高管",
    "本司子公司",
    "他司",
)


def normalize(text: str, mentions: Sequence[Mention], watchlist: WatchList) -> str:
    """``text`` with every watched name (as found: ``watchlist.find(text, include_excluded=True)``) put
    as its placeholder."""
    firm = next((e.name for e in watchlist.entities if e.kind == "firm"), None)
    out, at = [], 0
    for m in sorted(mentions, key=lambda m: m.start):
        if m.start < at:
            continue
        if m.role == EXCLUDED:
            tag = THEIRS
        elif m.role == CODE:
            tag = OUR_CODE
        elif m.role == PRODUCT:
            tag = OUR_PRODUCT
        elif m.role == EXECUTIVE:
            tag = OUR_PERSON
        else:
            tag = OURS if firm is None or m.entity == firm else OUR_UNIT
        out.append(text[at : m.start])
        out.append(tag)
        at = m.end
    out.append(text[at:])
    return "".join(out)


_SENTENCE = re.compile(r"[^。！？!?\n]+")
ABOUT_US_CHARS = 300


def about_us(normalized: str) -> str:
    """The sentences of a normalized post that name one of ours (a placeholder 本司…), joined, at most
    ABOUT_US_CHARS: what the post says about us, read apart from the rest before a flag is lowered."""
    parts = [m.group(0) for m in _SENTENCE.finditer(normalized) if OURS in m.group(0)]
    return "。".join(parts)[:ABOUT_US_CHARS]


def lowers(level: str | None, normalized: str, p_head: float, p_about: float | None, demote: float) -> bool:
    """Whether the model lowers a rules' flag at ``level`` (the analyzer's second look, and the training's
    CV, by this one rule): level III or IV, a normalized head of DEMOTE_MIN_CHARS or more, and both its
    head's probability and that of the sentences that name us (``p_about``; None: none do) below
    ``demote``."""
    return (
        level in DEMOTABLE_LEVELS
        and len(normalized.strip()) >= DEMOTE_MIN_CHARS
        and p_head < demote
        and (p_about is None or p_about < demote)
    )


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))


def _collapse_spaces(text: str) -> str:
    return _SPACES.sub(" ", text)


def ngrams(text: str, lo: int = 1, hi: int = 3) -> Counter:
    s = _SPACES.sub(" ", text[:MAX_CHARS])
    return Counter(s[i : i + n] for n in range(lo, hi + 1) for i in range(len(s) - n + 1))


@dataclass
class RescueModel:
    """weights[g] = (idf, coefficient) per n-gram; p = sigmoid(w·x + b), x the l2-normalized tf-idf.
    ``threshold``: at or above it an unflagged post is flagged; ``demote``: below it a rules' flag at level
    III or IV is lowered (0: never)."""

    weights: dict[str, tuple[float, float]]
    intercept: float
    threshold: float
    meta: dict
    demote: float = 0.0

    def probability(self, normalized: str) -> float:
        counts = ngrams(normalized)
        # the n-grams in first-occurrence order, looked up in one pass (C-level map)
        feats = [
            ((1.0 + math.log(k)) * wi[0], wi[1])
            for wi, k in zip(map(self.weights.get, counts), counts.values(), strict=True)
            if wi is not None
        ]
        if not feats:
            return _sigmoid(self.intercept)
        norm = math.sqrt(sum(v * v for v, _ in feats))
        return _sigmoid(self.intercept + sum(v * c for v, c in feats) / norm)

    def probabilities(self, texts: Sequence[str]) -> list[float]:
        """:meth:`probability` of each text, their n-grams looked up together (``nlp.sentiment.gram_counts``:
        the same n-grams in the same order, the same arithmetic per text) once the model has been asked
        for :data:`nlp.sentiment.GRAM_CODES_AFTER` texts in all; text by text before."""
        table = self._table(len(texts))
        if table is None:
            return [self.probability(t) for t in texts]
        codes, idf, coef = table
        rows, feats, counts = gram_counts(texts, codes, MAX_CHARS, (1, 3), prepare=_collapse_spaces)
        ends = np.searchsorted(rows, np.arange(1, len(texts) + 1)).tolist()
        feats_l, counts_l = feats.tolist(), counts.tolist()
        out, at = [], 0
        for end in ends:
            if at == end:
                out.append(_sigmoid(self.intercept))
                continue
            vs = [
                (1.0 + math.log(k)) * idf[j] for j, k in zip(feats_l[at:end], counts_l[at:end], strict=True)
            ]
            norm = math.sqrt(sum(v * v for v in vs))
            out.append(
                _sigmoid(
                    self.intercept + sum(v * coef[j] for v, j in zip(vs, feats_l[at:end], strict=True)) / norm
                )
            )
            at = end
        return out

    def _table(self, texts: int) -> tuple[GramCodes, list[float], list[float]] | None:
        """The weights as n-gram codes with their idf and coefficients by index, built once the model has
        been asked for GRAM_CODES_AFTER texts (None before, or for weights that are not 1–3-grams)."""
        table = self.__dict__.get("_codes", False)
        if table is False:
            self._asked = self.__dict__.get("_asked", 0) + texts
            if self._asked < GRAM_CODES_AFTER:
                return None
            grams = list(self.weights)
            codes = GramCodes.of({g: i for i, g in enumerate(grams)})
            table = None
            if codes is not None:
                table = (codes, [self.weights[g][0] for g in grams], [self.weights[g][1] for g in grams])
            self._codes = table
        return table

    @classmethod
    def load(cls, path: Path = RESCUE_DIR) -> RescueModel:
        doc = json.loads(gzip.decompress((path / "model.json.gz").read_bytes()).decode("utf-8"))
        grams, idf, coef = doc["ngrams"], doc["idf"], doc["coef"]
        if not (len(grams) == len(idf) == len(coef)):
            raise ValueError(f"{path}: ngrams, idf and coef differ in length")
        return cls(
            weights={g: (float(i), float(c)) for g, i, c in zip(grams, idf, coef, strict=True)},
            intercept=float(doc["intercept"]),
            threshold=float(doc["threshold"]),
            meta=doc.get("meta", {}),
            demote=float(doc.get("demote", 0.0)),
        )

    def save(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        grams = sorted(self.weights)
        doc = {
            "ngrams": grams,
            "idf": [round(self.weights[g][0], 5) for g in grams],
            "coef": [round(self.weights[g][1], 5) for g in grams],
            "intercept": round(self.intercept, 6),
            "threshold": self.threshold,
            "demote": self.demote,
            "meta": self.meta,
        }
        raw = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        (path / "model.json.gz").write_bytes(gzip.compress(raw, compresslevel=9, mtime=0))


_default: RescueModel | None = None


def load_default() -> RescueModel | None:
    """The shipped model, or None when its file is missing (the rules alone)."""
    global _default
    if _default is None and (RESCUE_DIR / "model.json.gz").exists():
        _default = RescueModel.load(RESCUE_DIR)
    return _default


def load_rescue(name: str | None) -> RescueModel | None:
    """``[model] rescue``: 'builtin' (the shipped model), 'none' / '' (off), or a directory of one."""
    if not name or name in ("none", "off"):
        return None
    if name == "builtin":
        return load_default()
    path = Path(name)
    if not (path / "model.json.gz").is_file():
        raise FileNotFoundError(f"[model] rescue = {name!r}: no model.json.gz there")
    return RescueModel.load(path)

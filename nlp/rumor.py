"""False items (不实): a learnt rumor score and the firm's rumor register.

Two kinds of evidence, each named in the reasons:

- :class:`RumorModel`: char 1–3-gram TF-IDF + logistic regression trained on the Weibo rumor sets in
  ``../shared/data/rumor`` (ced, jin2017, checked), shipped as plain files under
  ``nlp/models/rumor-linear`` (a LinearSentimentClassifier directory with labels ``non-rumor`` /
  ``rumor``) and applied with numpy. Those sets are general Weibo news and hoaxes, so the model's score
  alone must be high (``model_threshold``) to call a post a rumor; the cue rules of ``nlp.falsity`` and
  the register carry the firm's own cases.
- :class:`RumorRegister`: the firm's clarifications and past debunked claims (kept on the desk, stored in
  the records database). A post that repeats a registered claim — its keywords, or enough of its
  character shingles — is 不实, and the reason names the claim and links the clarification. A post that
  itself denies the claim (辟谣, 澄清 …) is the clarification being spread, not the rumor.

Trained and measured by ``python -m nlp.training rumor train`` / ``… rumor eval``
(:mod:`nlp.training.rumor`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nlp.sentiment import MODELS_DIR, LinearSentimentClassifier

RUMOR_DIR = MODELS_DIR / "rumor-linear"


class RumorModel:
    """P(rumor) per text from the shipped linear model."""

    def __init__(self, clf: LinearSentimentClassifier) -> None:
        self.clf = clf
        self._rumor = list(clf.labels).index("rumor")

    @classmethod
    def load(cls, directory: str | Path = RUMOR_DIR) -> RumorModel:
        return cls(LinearSentimentClassifier.load(directory))

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros(0, np.float32)
        return self.clf.predict_proba(list(texts))[:, self._rumor]


_default_model: RumorModel | None = None


def load_default() -> RumorModel | None:
    """The shipped rumor model, or None when its files are missing (cue rules and register only)."""
    global _default_model
    if _default_model is None and (RUMOR_DIR / "weights.npz").exists():
        _default_model = RumorModel.load(RUMOR_DIR)
    return _default_model


# -- the register -----------------------------------------------------------------------------------

_KEEP = re.compile(r"[\w]+", re.UNICODE)
SHINGLE = 3
MIN_SIMILARITY = 0.5  # share of the claim's shingles that the post contains
MAX_POST_CHARS = 20_000


def _norm(text: str) -> str:
    """NFKC, lower case, only letters/digits/CJK (punctuation and spaces do not change a claim)."""
    t = unicodedata.normalize("NFKC", text or "").lower()
    return "".join(_KEEP.findall(t))


def shingles(text: str, n: int = SHINGLE) -> set[str]:
    t = _norm(text)
    if len(t) <= n:
        return {t} if t else set()
    return {t[i : i + n] for i in range(len(t) - n + 1)}


@dataclass(frozen=True)
class RegisterEntry:
    """One known rumor and the firm's answer to it (mirrors ``store.models.RumorEntry``)."""

    claim: str
    clarification: str = ""
    url: str = ""
    date: str = ""
    keywords: tuple[str, ...] = ()
    id: int | str | None = None

    @classmethod
    def coerce(cls, obj: Any) -> RegisterEntry:
        """From a RegisterEntry, a mapping, or an ORM row with the same attribute names."""
        if isinstance(obj, RegisterEntry):
            return obj
        get = obj.get if isinstance(obj, Mapping) else (lambda k, d=None: getattr(obj, k, d))
        kws = get("keywords", ()) or ()
        if isinstance(kws, str):
            kws = split_keywords(kws)
        date = get("date", "") or ""
        return cls(
            claim=str(get("claim", "") or "").strip(),
            clarification=str(get("clarification", "") or ""),
            url=str(get("url", "") or get("clarification_url", "") or ""),
            date=str(date)[:10],
            keywords=tuple(k for k in (str(x).strip() for x in kws) if k),
            id=get("id"),
        )


def split_keywords(text: str) -> list[str]:
    """Keywords as typed on the desk: separated by spaces, commas (either width), 、 or ;."""
    return [k for k in re.split(r"[\s,，、;；]+", text or "") if k]


@dataclass(frozen=True)
class RegisterMatch:
    entry: RegisterEntry
    similarity: float
    keywords: tuple[str, ...]

    def reason(self) -> str:
        claim = self.entry.claim if len(self.entry.claim) <= 40 else self.entry.claim[:40] + "…"
        how = f"关键词：{'、'.join(self.keywords)}" if self.keywords else f"相似度 {self.similarity:.2f}"
        link = f"，澄清：{self.entry.url}" if self.entry.url else ""
        when = f"（{self.entry.date}）" if self.entry.date else ""
        return f"与已辟谣传言相符：“{claim}”{when}（{how}）{link}"


@dataclass
class RumorRegister:
    """Known rumors, matched by keywords (all of an entry's keywords present) or shingle similarity."""

    entries: list[RegisterEntry] = field(default_factory=list)
    min_similarity: float = MIN_SIMILARITY

    def __post_init__(self) -> None:
        self.entries = [RegisterEntry.coerce(e) for e in self.entries]
        self.entries = [e for e in self.entries if e.claim or e.keywords]
        self._shingles = [shingles(e.claim) for e in self.entries]
        self._keywords = [tuple(_norm(k) for k in e.keywords if _norm(k)) for e in self.entries]

    @classmethod
    def of(cls, entries: Iterable[Any] | RumorRegister | None) -> RumorRegister:
        if isinstance(entries, RumorRegister):
            return entries
        return cls(list(entries or ()))

    def __len__(self) -> int:
        return len(self.entries)

    def match(self, text: str) -> RegisterMatch | None:
        """The best-matching entry for ``text``, or None."""
        if not self.entries or not text:
            return None
        norm = _norm(text[:MAX_POST_CHARS])
        if not norm:
            return None
        post = {norm[i : i + SHINGLE] for i in range(max(1, len(norm) - SHINGLE + 1))}
        best: RegisterMatch | None = None
        for entry, sh, kws in zip(self.entries, self._shingles, self._keywords, strict=True):
            kw_hit = tuple(k for k, n in zip(entry.keywords, kws, strict=True) if n in norm) if kws else ()
            sim = len(sh & post) / len(sh) if sh else 0.0
            if not ((kws and len(kw_hit) == len(kws)) or sim >= self.min_similarity):
                continue
            score = max(sim, 1.0 if kws and len(kw_hit) == len(kws) else 0.0)
            if best is None or score > max(best.similarity, 1.0 if best.keywords else 0.0):
                best = RegisterMatch(entry, round(sim, 3), kw_hit if len(kw_hit) == len(kws) else ())
        return best

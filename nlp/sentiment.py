"""Three-class sentiment (negative / neutral / positive).

The shipped default ("builtin") is a linear model: TF-IDF over character 1–3-grams with a
multinomial logistic regression, trained by ``python -m nlp.train sentiment`` and stored as plain
files (``vocab.json`` + ``weights.npz``) that numpy alone applies: no pickle, no scikit-learn at
inference, nothing that breaks when a library version moves.

A later issue adds Hugging Face model directories behind the same :func:`create_sentiment_model`.
"""

from __future__ import annotations

import json
import math
import re
import threading
import unicodedata
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

LABELS: tuple[str, str, str] = ("negative", "neutral", "positive")

MODELS_DIR = Path(__file__).resolve().parent / "models"
BUILTIN_DIR = MODELS_DIR / "sentiment-linear"
VOCAB_FILE = "vocab.json"
WEIGHTS_FILE = "weights.npz"
FORMAT_VERSION = 1

# The model reads at most this many characters of a post (head of the text: titles and ledes
# carry the sentiment; a 1 MB page must not cost seconds).
DEFAULT_MAX_CHARS = 3000

_DIGITS = str.maketrans("0123456789", "0000000000")
_WS = re.compile(r"\s+")


class UnknownModelError(ValueError):
    """A sentiment model name the registry does not know."""


def normalize(text: str) -> str:
    """NFKC (full-width → half-width), lower case, every digit → 0, whitespace runs → one space."""
    t = unicodedata.normalize("NFKC", text).lower().translate(_DIGITS)
    return _WS.sub(" ", t).strip()


def char_ngrams(text: str, ngram_range: tuple[int, int] = (1, 3)) -> list[str]:
    """The model's features: character n-grams of the normalised text.

    Training (``nlp.train``) hands this very function to scikit-learn's vectoriser, so training and
    inference see the same features.
    """
    t = normalize(text)
    lo, hi = ngram_range
    out: list[str] = []
    n_chars = len(t)
    for n in range(lo, hi + 1):
        out.extend(t[i : i + n] for i in range(n_chars - n + 1))
    return out


@runtime_checkable
class SentimentModel(Protocol):
    """What the analyzer needs from a sentiment model."""

    labels: tuple[str, ...]

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Probabilities, shape ``(len(texts), len(labels))``, rows in input order."""
        ...


class LinearSentimentClassifier:
    """TF-IDF (sublinear tf, l2-normalised) → linear layer → softmax, in numpy.

    Takes already-loaded arrays, so tests can inject a tiny model::

        LinearSentimentClassifier(["好", "差"], idf=np.ones(2), coef=[[-1, 0, 1], [1, 0, -1]], intercept=[0, 0, 0])

    ``coef`` has one row per feature and one column per label.
    """

    def __init__(
        self,
        vocabulary: Sequence[str] | Mapping[str, int],
        *,
        idf: np.ndarray | Sequence[float],
        coef: np.ndarray | Sequence[Sequence[float]],
        intercept: np.ndarray | Sequence[float],
        labels: Sequence[str] = LABELS,
        ngram_range: tuple[int, int] = (1, 3),
        max_chars: int = DEFAULT_MAX_CHARS,
    ) -> None:
        if isinstance(vocabulary, Mapping):
            self.vocabulary = dict(vocabulary)
        else:
            self.vocabulary = {f: i for i, f in enumerate(vocabulary)}
        self.idf = np.asarray(idf, dtype=np.float32)
        self.coef = np.asarray(coef, dtype=np.float32)
        self.intercept = np.asarray(intercept, dtype=np.float32)
        self.labels = tuple(labels)
        self.ngram_range = (int(ngram_range[0]), int(ngram_range[1]))
        self.max_chars = int(max_chars)
        n_feat = len(self.vocabulary)
        if self.coef.shape != (n_feat, len(self.labels)):
            raise ValueError(f"coef shape {self.coef.shape} != ({n_feat}, {len(self.labels)})")
        if self.idf.shape != (n_feat,):
            raise ValueError(f"idf shape {self.idf.shape} != ({n_feat},)")
        if self.intercept.shape != (len(self.labels),):
            raise ValueError(f"intercept shape {self.intercept.shape} != ({len(self.labels)},)")

    # -- files ------------------------------------------------------------------------------------

    @classmethod
    def load(cls, directory: str | Path) -> LinearSentimentClassifier:
        d = Path(directory)
        meta = json.loads((d / VOCAB_FILE).read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT_VERSION:
            raise ValueError(f"{d / VOCAB_FILE}: unsupported format {meta.get('format')!r}")
        with np.load(d / WEIGHTS_FILE, allow_pickle=False) as w:
            coef, idf, intercept = w["coef"], w["idf"], w["intercept"]
        return cls(
            meta["features"],
            idf=idf,
            coef=coef.astype(np.float32),
            intercept=intercept,
            labels=meta["labels"],
            ngram_range=tuple(meta["ngram_range"]),
            max_chars=meta.get("max_chars", DEFAULT_MAX_CHARS),
        )

    def save(self, directory: str | Path, *, extra: Mapping[str, object] | None = None) -> None:
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        features = [""] * len(self.vocabulary)
        for f, i in self.vocabulary.items():
            features[i] = f
        meta = {
            "format": FORMAT_VERSION,
            "kind": "tfidf-char-ngram-logreg",
            "labels": list(self.labels),
            "ngram_range": list(self.ngram_range),
            "max_chars": self.max_chars,
            "normalize": "NFKC, lower, digits->0, whitespace->single space",
            "tf": "sublinear (1 + ln tf), l2-normalised after idf",
            **(dict(extra) if extra else {}),
            "features": features,
        }
        (d / VOCAB_FILE).write_text(
            json.dumps(meta, ensure_ascii=False, separators=(",", ":")), encoding="utf-8"
        )
        np.savez_compressed(
            d / WEIGHTS_FILE,
            coef=self.coef.astype(np.float16),
            idf=self.idf.astype(np.float32),
            intercept=self.intercept.astype(np.float32),
        )

    # -- inference --------------------------------------------------------------------------------

    def _rows(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """CSR parts (indptr, indices, data) of the TF-IDF matrix."""
        vocab_get = self.vocabulary.get
        indptr = [0]
        indices: list[int] = []
        data: list[float] = []
        idf = self.idf
        for text in texts:
            counts: dict[int, int] = {}
            for g in char_ngrams((text or "")[: self.max_chars], self.ngram_range):
                j = vocab_get(g)
                if j is not None:
                    counts[j] = counts.get(j, 0) + 1
            if counts:
                idx = list(counts)
                vals = np.fromiter((1.0 + math.log(c) for c in counts.values()), np.float32, len(idx))
                vals *= idf[idx]
                vals /= float(np.sqrt(np.dot(vals, vals))) or 1.0
                indices.extend(idx)
                data.extend(vals.tolist())
            indptr.append(len(indices))
        return (
            np.asarray(indptr, dtype=np.int64),
            np.asarray(indices, dtype=np.int64),
            np.asarray(data, dtype=np.float32),
        )

    def decision_function(self, texts: Sequence[str]) -> np.ndarray:
        indptr, indices, data = self._rows(texts)
        n = len(indptr) - 1
        out = np.tile(self.intercept, (n, 1))
        if len(indices):
            contrib = self.coef[indices] * data[:, None]
            # sum each row's slice; empty rows contribute nothing
            sums = np.add.reduceat(contrib, indptr[:-1].clip(max=len(indices) - 1), axis=0)
            nonempty = indptr[1:] > indptr[:-1]
            out[nonempty] += sums[nonempty]
        return out

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) == 0:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        z = self.decision_function(texts)
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def predict(self, texts: Sequence[str]) -> list[dict]:
        """``[{"label": ..., "scores": {label: p}}]``, one per text (the Analysis ``sentiment`` shape)."""
        probs = self.predict_proba(texts)
        return [to_result(row, self.labels) for row in probs]


def to_result(row: np.ndarray | Sequence[float], labels: Sequence[str] = LABELS) -> dict:
    scores = {lab: round(float(p), 4) for lab, p in zip(labels, row, strict=True)}
    label = max(scores, key=scores.__getitem__)
    return {"label": label, "scores": scores}


# -- registry -------------------------------------------------------------------------------------

_builtin_lock = threading.Lock()
_builtin: LinearSentimentClassifier | None = None


def _load_builtin() -> LinearSentimentClassifier:
    global _builtin
    if _builtin is None:
        with _builtin_lock:
            if _builtin is None:
                if not (BUILTIN_DIR / WEIGHTS_FILE).exists():
                    raise FileNotFoundError(
                        f"shipped sentiment model missing under {BUILTIN_DIR}; "
                        "rebuild it with `python -m nlp.train sentiment`"
                    )
                _builtin = LinearSentimentClassifier.load(BUILTIN_DIR)
    return _builtin


REGISTRY = {"builtin": _load_builtin}


def create_sentiment_model(name: str = "builtin") -> SentimentModel:
    """The sentiment model named in settings (``ModelConfig.sentiment_model``); fails fast on a bad name.

    ``"builtin"`` is the shipped linear model (loaded once per process, shared: it is read-only).
    """
    factory = REGISTRY.get(name)
    if factory is not None:
        return factory()
    known = ", ".join(sorted(REGISTRY))
    if name and Path(name).expanduser().is_dir():
        raise UnknownModelError(
            f"sentiment model {name!r} is a directory: Hugging Face model directories are not supported yet "
            f"(a later issue adds them); use one of: {known}"
        )
    raise UnknownModelError(
        f"unknown sentiment model {name!r}; known: {known} "
        "(Hugging Face directories and hub names: a later issue adds them)"
    )

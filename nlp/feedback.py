"""The firm's own layer over the analysis, fit on its officers' verdicts (``yuqing learn``).

Officers' verdicts — 误报 (an alert dismissed as a false positive, with a reason) and alerts confirmed
(acknowledged, assigned) or escalated — are labelled data about this firm. The layer looks at a post the
analysis flagged and decides whether it is worth an officer's attention:

- it remembers the verdicts' posts (:class:`Memory`: TF-IDF over character 2- and 3-grams of the head
  of each text, the IDF from the firm's own stream of stored posts, with the verdict and the officer's
  误报 reason), and reads how alike a new post is to
  the nearest 误报 and to the nearest confirmed alert (:func:`similarity_features`);
- optionally the analysis' own scores (P(negative) and the other classes, the entity model's
  negativity toward a target, the news-negativity of the head, the rumor model's and the falsity
  score, level, topic, negative targets, reach, authority …: :func:`score_features`) and which of its
  reasons fired (``负面指向``, ``辟谣/澄清``, ``相似名称已排除``, the context rules …, each keyword, the
  source and its family: :func:`reason_tokens`);
- a small logistic regression over the chosen features (``feature_set``), whose weights, feature set
  and threshold ``yuqing learn`` chooses by cross-validation on the verdicts (nlp/feedback_fit.py).

At run time (:meth:`FeedbackLayer.apply`) a flagged post scoring below the threshold, and at least
``min_similarity`` alike to one remembered 误报 (the precedent it names), is lowered to no alert and its reasons say so — ``本司反馈模型：降为不预警（历史误报相似 0.41 > 已确认预警 0.12；误报原因：
「…」）`` — except at the levels in ``protect_levels`` (default Ⅰ). The layer never raises a flag: posts
the analysis does not flag get no verdict, so nothing here knows how often such a post is worth seeing.

The Analyzer applies a layer in one place (``Analyzer._with_feedback``). Stored, a layer is a plain dict
(:meth:`FeedbackLayer.to_dict`: the weights, the threshold and the remembered verdicts' texts) in the
records database (store/feedback_layers.py). Pure numpy; this room imports nothing of ours but itself.
"""

from __future__ import annotations

import hashlib
import math
import re
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from nlp.risk import reach
from nlp.topics import TOPICS

FORMAT = 2  # the stored layer's format; a layer of another format is not applied
LEVELS = ("I", "II", "III", "IV")
GRAM_SIZES = (2, 3)
GRAM_CHARS = 200  # the head of the text (title + text) the memory reads
GRAM_DIM = 1 << 18
MEMORY_MAX = 1000  # verdicts remembered (the newest)
MAX_REASON = 30  # characters of an officer's reason quoted in a post's reasons
TOP = 3  # similarity features: the nearest one and the mean of the nearest TOP of each kind

SIM_FEATURES = ("sim_confirmed", "sim_false_positive", "sim_difference", "sim_confirmed_top", "sim_fp_top")
SCORE_FEATURES = (
    "p_negative",
    "p_neutral",
    "p_positive",
    "target_negativity",
    "head_negativity",
    "rumor_model",
    "falsity_score",
    "rumor",
    "negative_targets",
    "n_targets",
    "reach_log",
    "authority",
    "verified",
    "length_log",
    *(f"level_{lv}" for lv in LEVELS),
    *(f"topic_{t}" for t in TOPICS),
)
REASON_DIM = 256
# what the layer may read, in the order the columns are laid out; yuqing learn picks one by cross-validation
FEATURE_SETS: dict[str, tuple[str, ...]] = {
    "similarity": ("similarity",),
    "similarity+scores": ("similarity", "scores"),
    "similarity+scores+reasons": ("similarity", "scores", "reasons"),
}
BLOCK_DIM = {"similarity": len(SIM_FEATURES), "scores": len(SCORE_FEATURES), "reasons": REASON_DIM}
FEATURE_SET_LABELS = {
    "similarity": "与历史裁定的相似度",
    "similarity+scores": "相似度 + 分析得分",
    "similarity+scores+reasons": "相似度 + 分析得分 + 预警理由",
}

_NUM = re.compile(r"[\d.,%]+")
_PAREN = re.compile(r"[（(][^）)]*[）)]")
_WS = re.compile(r"\s+")


@dataclass
class FeedbackInput:
    """One analysed post as the layer sees it: the post, the text the analyzer read, its analysis (the
    dict ``Analyzer.analyze`` returns, changed in place by a layer) and scores the analysis computed but
    does not return."""

    post: Mapping[str, Any]
    text: str
    analysis: dict[str, Any]
    rumor_score: float | None = None
    head_negativity: float | None = None
    target_probs: Mapping[str, float] = field(default_factory=dict)
    authority: float = 0.5


class FeedbackHook(Protocol):
    """What ``Analyzer(feedback=…)`` takes: a layer, or a recorder (``yuqing learn``)."""

    def wants(self, analysis: Mapping[str, Any]) -> bool: ...

    def apply(self, items: Sequence[FeedbackInput]) -> None: ...


# --------------------------------------------------------------------------- features of one post


def _num(v: Any, default: float = 0.0) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return default
    return f if math.isfinite(f) else default


def score_features(item: FeedbackInput) -> np.ndarray:
    """The analysis' own scores and decisions, each in [0, 1] (SCORE_FEATURES)."""
    a = item.analysis
    scores = (a.get("sentiment") or {}).get("scores") or {}
    targets = list(a.get("targets") or [])
    tp = [_num(item.target_probs.get(t)) for t in targets if t in item.target_probs]
    falsity = a.get("falsity") or {}
    values = {
        "p_negative": _num(scores.get("negative")),
        "p_neutral": _num(scores.get("neutral")),
        "p_positive": _num(scores.get("positive")),
        "target_negativity": max(tp, default=0.0),
        "head_negativity": _num(item.head_negativity),
        "rumor_model": _num(item.rumor_score),
        "falsity_score": min(1.0, _num(falsity.get("score"))),
        "rumor": 1.0 if falsity.get("label") == "rumor" else 0.0,
        "negative_targets": 1.0 if a.get("negative_targets") else 0.0,
        "n_targets": min(len(targets), 3) / 3,
        "reach_log": min(1.0, math.log10(1 + reach(item.post)) / 6),
        "authority": _num(item.authority, 0.5),
        "verified": 1.0 if item.post.get("user_verified") in (True, 1, "1", "true", "True") else 0.0,
        "length_log": min(1.0, math.log10(1 + len(item.text or "")) / 4),
        f"level_{a.get('level')}": 1.0,
        f"topic_{a.get('topic')}": 1.0,
    }
    return np.array([values.get(name, 0.0) for name in SCORE_FEATURES])


def reason_tokens(reasons: Iterable[str]) -> list[str]:
    """What fired, without the numbers and names: 「负面情绪 0.65」→ r:负面情绪, 「关键词：处罚、证监会」→
    r:关键词 + kw:处罚 + kw:证监会, 「否定/否认，不作为事实：“…”」→ r:否定/否认，不作为事实."""
    out: list[str] = []
    for r in reasons:
        head, sep, rest = str(r).partition("：")
        head = _WS.sub("", _NUM.sub("", _PAREN.sub("", head)))
        if not head:
            continue
        out.append(f"r:{head}")
        if sep and head == "关键词":
            out.extend(f"kw:{k.strip()}" for k in rest.split("、") if k.strip())
    return out


def reason_features(item: FeedbackInput) -> dict[int, float]:
    """Hashed reason, keyword, source and family tokens, the block scaled to length 1."""
    toks = reason_tokens(item.analysis.get("reasons") or ())
    toks.append(f"family:{item.post.get('source_family') or ''}")
    toks.append(f"source:{item.post.get('source') or ''}")
    cols = {zlib.crc32(t.encode("utf-8")) % REASON_DIM for t in dict.fromkeys(toks)}
    v = 1.0 / math.sqrt(len(cols)) if cols else 0.0
    return dict.fromkeys(cols, v)


def char_ngrams(text: str, sizes: Sequence[int] = GRAM_SIZES, limit: int = GRAM_CHARS) -> list[str]:
    s = _WS.sub(" ", text[:limit]).strip()
    return [s[i : i + n] for n in sizes for i in range(len(s) - n + 1) if " " not in s[i : i + n]]


def p_negative(analysis: Mapping[str, Any]) -> float:
    return _num(((analysis.get("sentiment") or {}).get("scores") or {}).get("negative"))


def analysis_signature(analyzer: Any) -> str:
    """What a layer's features depend on: the sentiment model and the risk thresholds. A layer fit on
    another analysis is not applied (its weights read scores that mean something else now)."""
    model = getattr(analyzer, "model", None)
    ident = [type(model).__module__, type(model).__name__]
    for attr in ("name", "model_name", "path", "model_dir"):
        v = getattr(model, attr, None)
        if isinstance(v, str | bytes) or (v is not None and hasattr(v, "__fspath__")):
            ident.append(f"{attr}={v}")
    ident.append(repr(getattr(analyzer, "thresholds", None)))
    return hashlib.sha1("|".join(map(str, ident)).encode("utf-8")).hexdigest()[:16]


# --------------------------------------------------------------------------- the remembered verdicts


@dataclass(frozen=True)
class Remembered:
    """One verdict the layer keeps: the head of the post's text, confirmed or 误报, the officer's reason."""

    text: str
    confirmed: bool
    reason: str = ""


def gram_counts(text: str) -> dict[int, int]:
    """The text's hashed character n-grams and how often each occurs."""
    out: dict[int, int] = {}
    for g in char_ngrams(text):
        j = zlib.crc32(g.encode("utf-8")) % GRAM_DIM
        out[j] = out.get(j, 0) + 1
    return out


def idf_of(texts: Iterable[str], keep: set[int] | None = None) -> tuple[dict[int, float], float]:
    """(IDF of each n-gram, the IDF of one never seen) over ``texts``; only the n-grams in ``keep`` are
    returned when given (those of the remembered posts: no other n-gram is ever in a dot product)."""
    df: dict[int, int] = {}
    n = 0
    for t in texts:
        n += 1
        for j in gram_counts(t):
            df[j] = df.get(j, 0) + 1
    idf = {j: round(math.log((n + 1) / (c + 1)) + 1.0, 3) for j, c in df.items() if keep is None or j in keep}
    return idf, round(math.log(n + 1) + 1.0, 3)


class Memory:
    """The remembered verdicts as L2-normalised TF-IDF rows over hashed character n-grams. The IDF comes
    from the firm's own stream of posts when given (``yuqing learn`` reads the newest stored posts: the
    boilerplate of a source, 财联社X月X日电, says little), else from the remembered posts themselves."""

    def __init__(
        self,
        entries: Sequence[Remembered],
        idf: Mapping[int, float] | None = None,
        unseen_idf: float | None = None,
    ) -> None:
        self.entries = list(entries)
        self.confirmed = np.array([e.confirmed for e in self.entries], dtype=bool)
        grams = [gram_counts(e.text) for e in self.entries]
        if idf is None:
            own, unseen = idf_of(e.text for e in self.entries)
            self.idf, self.unseen_idf = own, unseen
        else:
            self.idf = dict(idf)
            self.unseen_idf = float(
                unseen_idf if unseen_idf is not None else max(self.idf.values(), default=1.0)
            )
        n = len(self.entries)
        rows = [self._weights(g) for g in grams]
        lengths = np.array([len(r) for r in rows], dtype=np.int64)
        indices = np.array([j for r in rows for j in r], dtype=np.int64)
        data = np.array([v for r in rows for v in r.values()], dtype=np.float64)
        row_of = np.repeat(np.arange(n), lengths)
        # posting lists: for each n-gram, the remembered posts that have it and its weight there, so a
        # query touches only the posts that share one of its n-grams
        order = np.argsort(indices, kind="stable")
        self._post_row, self._post_weight = row_of[order], data[order]
        self._grams, self._starts, self._counts = np.unique(
            indices[order], return_index=True, return_counts=True
        )

    def _weights(self, counts: Mapping[int, int]) -> dict[int, float]:
        w = {j: (1.0 + math.log(c)) * self.idf.get(j, self.unseen_idf) for j, c in counts.items()}
        norm = math.sqrt(sum(v * v for v in w.values()))
        return {j: v / norm for j, v in w.items()} if norm else {}

    def __len__(self) -> int:
        return len(self.entries)

    def similarities(self, text: str) -> np.ndarray:
        """Cosine similarity of ``text`` to every remembered post."""
        q = self._weights(gram_counts(text))
        if not q or not len(self.entries):
            return np.zeros(len(self.entries))
        keys = np.fromiter(q.keys(), dtype=np.int64, count=len(q))
        vals = np.fromiter(q.values(), dtype=np.float64, count=len(q))
        pos = np.searchsorted(self._grams, keys)
        pos[pos >= len(self._grams)] = 0
        hit = self._grams[pos] == keys
        pos, vals = pos[hit], vals[hit]
        if not len(pos):
            return np.zeros(len(self.entries))
        counts = self._counts[pos]
        # the postings of every shared n-gram, one after another
        offsets = np.repeat(self._starts[pos] - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
        at = np.arange(int(counts.sum())) + offsets
        weights = self._post_weight[at] * np.repeat(vals, counts)
        return np.bincount(self._post_row[at], weights=weights, minlength=len(self.entries))

    def matrix(self) -> np.ndarray:
        """Every remembered post's similarity to every other (the diagonal is 1)."""
        return (
            np.vstack([self.similarities(e.text) for e in self.entries]) if self.entries else np.zeros((0, 0))
        )


def similarity_features(sims: np.ndarray, confirmed: np.ndarray, exclude: int | None = None) -> np.ndarray:
    """SIM_FEATURES from one post's similarities to remembered verdicts (``exclude``: its own row)."""
    mask = np.ones(len(sims), dtype=bool)
    if exclude is not None:
        mask[exclude] = False
    c = np.sort(sims[mask & confirmed])[::-1]
    f = np.sort(sims[mask & ~confirmed])[::-1]
    c0 = float(c[0]) if len(c) else 0.0
    f0 = float(f[0]) if len(f) else 0.0
    return np.array(
        [c0, f0, c0 - f0, float(c[:TOP].mean()) if len(c) else 0.0, float(f[:TOP].mean()) if len(f) else 0.0]
    )


def design_row(
    feature_set: str, sim: np.ndarray, scores: np.ndarray, reasons: Mapping[int, float]
) -> tuple[np.ndarray, np.ndarray]:
    """One sparse row (indices, values) laid out as ``FEATURE_SETS[feature_set]``."""
    idx: list[np.ndarray] = []
    val: list[np.ndarray] = []
    base = 0
    for block in FEATURE_SETS[feature_set]:
        if block == "similarity":
            idx.append(base + np.arange(len(sim)))
            val.append(sim)
        elif block == "scores":
            nz = np.flatnonzero(scores)
            idx.append(base + nz)
            val.append(scores[nz])
        else:
            keys = sorted(reasons)
            idx.append(base + np.array(keys, dtype=np.int64))
            val.append(np.array([reasons[k] for k in keys], dtype=np.float64))
        base += BLOCK_DIM[block]
    return np.concatenate(idx).astype(np.int64), np.concatenate(val).astype(np.float64)


def feature_dim(feature_set: str) -> int:
    return sum(BLOCK_DIM[b] for b in FEATURE_SETS[feature_set])


# --------------------------------------------------------------------------- the layer


@dataclass
class FeedbackLayer:
    """A fitted layer: weights over ``feature_set``, the threshold below which a flag is lowered, and the
    verdicts it remembers."""

    feature_set: str
    weights: np.ndarray
    bias: float
    threshold: float
    memory: Memory
    min_similarity: float = 0.0  # lowered only when this alike to a remembered 误报 (a precedent to name)
    version: int | None = None
    signature: str = ""
    protect_levels: tuple[str, ...] = ("I",)
    figures: dict[str, Any] = field(default_factory=dict)

    def wants(self, analysis: Mapping[str, Any]) -> bool:
        return bool(analysis.get("flagged")) and analysis.get("level") not in self.protect_levels

    def score(self, item: FeedbackInput) -> tuple[float, np.ndarray]:
        """P(worth an officer's attention), and the post's similarities to the remembered verdicts."""
        sims = self.memory.similarities(item.text)
        sim = similarity_features(sims, self.memory.confirmed)
        blocks = FEATURE_SETS[self.feature_set]
        scores = score_features(item) if "scores" in blocks else np.zeros(0)
        reasons = reason_features(item) if "reasons" in blocks else {}
        idx, val = design_row(self.feature_set, sim, scores, reasons)
        z = float(val @ self.weights[idx]) + self.bias
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z)))), sims

    def apply(self, items: Sequence[FeedbackInput]) -> None:
        """Lower the flag of each wanted item scoring below the threshold; its reasons say so."""
        for it in items:
            if not self.wants(it.analysis):
                continue
            p, sims = self.score(it)
            if p >= self.threshold or not self._precedent(sims):
                continue
            a = it.analysis
            a["flagged"] = False
            a["level"] = None
            a["reasons"] = [*list(a.get("reasons") or ()), self.explain(sims)]

    def _precedent(self, sims: np.ndarray) -> bool:
        fp = ~self.memory.confirmed
        return bool(fp.any()) and float(sims[fp].max()) >= self.min_similarity

    def explain(self, sims: np.ndarray) -> str:
        """本司反馈模型：降为不预警（历史误报相似 0.41 > 已确认预警 0.12；误报原因：「…」）."""
        conf = self.memory.confirmed
        fp_sims = np.where(~conf, sims, -1.0)
        c_sims = np.where(conf, sims, -1.0)
        parts = []
        if (~conf).any():
            j = int(np.argmax(fp_sims))
            parts.append(f"历史误报相似 {max(0.0, fp_sims[j]):.2f}")
            if conf.any():
                parts[-1] += f"，已确认预警相似 {max(0.0, float(c_sims.max())):.2f}"
            reason = self.memory.entries[j].reason
            if reason and fp_sims[j] > 0:
                short = reason if len(reason) <= MAX_REASON else reason[: MAX_REASON - 1] + "…"
                parts.append(f"误报原因：「{short}」")
        return "本司反馈模型：降为不预警（" + ("；".join(parts) or "历史误报相似") + "）"

    # -- storage

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "feature_set": self.feature_set,
            "columns": {b: BLOCK_DIM[b] for b in FEATURE_SETS[self.feature_set]},
            "scores": list(SCORE_FEATURES),
            "weights": [round(float(w), 6) for w in self.weights],
            "bias": round(float(self.bias), 6),
            "threshold": round(float(self.threshold), 6),
            "min_similarity": self.min_similarity,
            "signature": self.signature,
            "protect_levels": list(self.protect_levels),
            "memory": [
                {"text": e.text, "confirmed": e.confirmed, "reason": e.reason} for e in self.memory.entries
            ],
            "idf": {str(j): v for j, v in sorted(self.memory.idf.items())},
            "unseen_idf": self.memory.unseen_idf,
            "figures": self.figures,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, version: int | None = None) -> FeedbackLayer:
        """Raises ValueError for a layer of another format or feature layout."""
        fs = str(data.get("feature_set") or "")
        if data.get("format") != FORMAT or fs not in FEATURE_SETS:
            raise ValueError(
                f"feedback layer format {data.get('format')} / {fs!r} is not this version's: fit it again "
                "(yuqing learn)"
            )
        w = np.array([float(x) for x in data.get("weights") or ()])
        if len(w) != feature_dim(fs) or list(data.get("scores") or ()) != list(SCORE_FEATURES):
            raise ValueError(
                "feedback layer features differ from this version's: fit it again (yuqing learn)"
            )
        stored_idf = data.get("idf")
        memory = Memory(
            [
                Remembered(str(m.get("text") or ""), bool(m.get("confirmed")), str(m.get("reason") or ""))
                for m in data.get("memory") or ()
            ],
            idf={int(j): float(v) for j, v in stored_idf.items()} if stored_idf is not None else None,
            unseen_idf=float(data["unseen_idf"]) if data.get("unseen_idf") is not None else None,
        )
        return cls(
            feature_set=fs,
            weights=w,
            bias=float(data.get("bias") or 0.0),
            threshold=float(data.get("threshold") or 0.0),
            min_similarity=float(data.get("min_similarity") or 0.0),
            memory=memory,
            version=version,
            signature=str(data.get("signature") or ""),
            protect_levels=tuple(data.get("protect_levels") or ()),
            figures=dict(data.get("figures") or {}),
        )


def remembered(text: str, confirmed: bool, reason: str = "") -> Remembered:
    """What the layer keeps of one verdict's post: the head of its text, the verdict, the reason."""
    return Remembered(_WS.sub(" ", text[:GRAM_CHARS]).strip(), confirmed, " ".join(str(reason or "").split()))


class FeatureRecorder:
    """A hook that changes nothing and keeps every post it wants, as the layer would see it (``yuqing
    learn`` reads the verdicts' posts through the analysis with this in place of a layer)."""

    def __init__(self) -> None:
        self.items: list[FeedbackInput] = []

    def wants(self, analysis: Mapping[str, Any]) -> bool:
        return bool(analysis.get("targets"))

    def apply(self, items: Sequence[FeedbackInput]) -> None:
        for it in items:
            self.items.append(
                FeedbackInput(
                    post=it.post,
                    text=it.text,
                    analysis=dict(it.analysis),
                    rumor_score=it.rumor_score,
                    head_negativity=it.head_negativity,
                    target_probs=dict(it.target_probs),
                    authority=it.authority,
                )
            )


__all__ = [
    "FEATURE_SETS",
    "FEATURE_SET_LABELS",
    "MEMORY_MAX",
    "FeatureRecorder",
    "FeedbackHook",
    "FeedbackInput",
    "FeedbackLayer",
    "Memory",
    "Remembered",
    "analysis_signature",
    "design_row",
    "feature_dim",
    "p_negative",
    "reason_features",
    "reason_tokens",
    "remembered",
    "score_features",
    "similarity_features",
]

"""Fitting the firm's layer (``nlp.feedback``) on its officers' verdicts, with numpy only.

    result = learn_layer(items, confirmed, flagged=..., protected=..., reasons=..., options=LearnOptions())
    result.refusal or result.layer

``items`` are the verdicts' posts as the analysis reads them now (``nlp.feedback.FeatureRecorder``),
``confirmed`` 1 for an alert officers confirmed or escalated and 0 for a 误报, ``flagged`` whether the
analysis flags the post today (the layer only ever sees flagged posts), ``protected`` whether its level
is one the layer may not lower, ``reasons`` the officers' 误报 reasons.

How it is measured, and when it is refused:

- *before*: the analysis as it is, on every verdict: the share of confirmed alerts it flags (recall),
  the share of flagged verdicts that were confirmed (precision), the share of 误报 it still raises, and
  F2 (recall weighs four times precision: a missed alert costs a desk more than a false one);
- *after*: the same with the layer, cross-validated: stratified k-fold (k = 5, or fewer with few
  verdicts of one kind), repeated with other folds (5 times; fewer with many verdicts) and averaged,
  the folds fixed by the posts' ids, not by the order the verdicts come in; inside each training part a second cross-validation picks the feature set
  (similarity to the remembered verdicts; plus the analysis' scores; plus its reasons), the L2
  strength and the threshold (the best F2 among thresholds that keep at least ``min_kept`` of the
  confirmed alerts the analysis flags) and the similarity floor (a flag is lowered only when the post
  is at least this alike to a remembered 误报, so the layer can always name its precedent); the held-out part is decided by a layer that never saw it,
  remembering only the training part's verdicts. A training post's similarity features leave the post
  itself out, as a new post is not in the memory;
- refused when there are too few verdicts (``min_verdicts`` in all, ``min_each`` of each kind, among the
  posts the analysis flags), when the layer keeps fewer than ``min_kept`` of the confirmed alerts, or
  when its F2 is not better than the analysis alone.

The layer that is switched on remembers the newest ``MEMORY_MAX`` verdicts and is fit on all of them,
with the feature set, the L2 strength and the threshold chosen by cross-validation on all of them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nlp.feedback import (
    FEATURE_SETS,
    MEMORY_MAX,
    SIM_FEATURES,
    TOP,
    FeedbackInput,
    FeedbackLayer,
    Memory,
    design_row,
    feature_dim,
    gram_counts,
    idf_of,
    reason_features,
    remembered,
    score_features,
)

C_GRID = (0.3, 1.0, 3.0, 10.0)  # C as in scikit-learn: 0.5‖w‖² + C·Σ loss (balanced class weights)
# a flag is lowered only when the post is at least this alike (cosine) to one remembered 误报: the layer
# always has a precedent to name; cross-validation picks one of these
SIMILARITY_GRID = (0.15, 0.25, 0.35)


@dataclass(frozen=True)
class LearnOptions:
    min_verdicts: int = 30
    min_each: int = 8
    min_kept: float = 0.95
    beta: float = 2.0
    folds: int = 5
    repeats: int = 5  # the outer cross-validation, repeated with other folds (fewer with many verdicts)
    seed: int = 20261201
    protect_levels: tuple[str, ...] = ("I",)
    feature_sets: tuple[str, ...] = tuple(FEATURE_SETS)


# --------------------------------------------------------------------------- sparse rows


@dataclass
class Sparse:
    """Rows of (indices, values) as CSR arrays, with the two products a logistic fit needs."""

    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    n_cols: int

    @classmethod
    def from_rows(cls, rows: Sequence[tuple[np.ndarray, np.ndarray]], n_cols: int) -> Sparse:
        lengths = np.array([len(i) for i, _ in rows], dtype=np.int64)
        indptr = np.concatenate([[0], np.cumsum(lengths)])
        indices = np.concatenate([i for i, _ in rows]) if rows else np.zeros(0, np.int64)
        data = np.concatenate([v for _, v in rows]) if rows else np.zeros(0)
        return cls(indptr, indices.astype(np.int64), data.astype(np.float64), n_cols)

    @property
    def n_rows(self) -> int:
        return len(self.indptr) - 1

    def take(self, ids: np.ndarray) -> Sparse:
        rows = [
            (
                self.indices[self.indptr[i] : self.indptr[i + 1]],
                self.data[self.indptr[i] : self.indptr[i + 1]],
            )
            for i in ids
        ]
        return Sparse.from_rows(rows, self.n_cols)

    def _row_of(self) -> np.ndarray:
        return np.repeat(np.arange(self.n_rows), np.diff(self.indptr))

    def dot(self, w: np.ndarray) -> np.ndarray:
        return np.bincount(self._row_of(), weights=self.data * w[self.indices], minlength=self.n_rows)

    def tdot(self, r: np.ndarray) -> np.ndarray:
        return np.bincount(self.indices, weights=self.data * r[self._row_of()], minlength=self.n_cols)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


def fit_logistic(
    X: Sparse, y: np.ndarray, *, c: float = 1.0, max_iter: int = 300, tol: float = 1e-6
) -> tuple[np.ndarray, float]:
    """L2 logistic regression with balanced class weights, by L-BFGS: (weights, bias)."""
    n = X.n_rows
    y = y.astype(np.float64)
    pos = max(1.0, y.sum())
    neg = max(1.0, n - y.sum())
    cw = np.where(y > 0.5, n / (2 * pos), n / (2 * neg))
    l2 = 1.0 / (c * n)
    row_of = X._row_of()

    def f_grad(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = theta[:-1], theta[-1]
        z = np.bincount(row_of, weights=X.data * w[X.indices], minlength=n) + b
        loss = np.logaddexp(0.0, z) - y * z
        f = float((cw * loss).sum() / n + 0.5 * l2 * (w @ w))
        r = cw * (_sigmoid(z) - y) / n
        g = np.empty_like(theta)
        g[:-1] = np.bincount(X.indices, weights=X.data * r[row_of], minlength=X.n_cols) + l2 * w
        g[-1] = r.sum()
        return f, g

    theta = np.zeros(X.n_cols + 1)
    f, g = f_grad(theta)
    mem_s: list[np.ndarray] = []
    mem_y: list[np.ndarray] = []
    for _ in range(max_iter):
        if np.linalg.norm(g) < tol:
            break
        # two-loop recursion
        q = g.copy()
        alphas = []
        for s, yy in zip(reversed(mem_s), reversed(mem_y), strict=True):
            rho = 1.0 / (yy @ s)
            a = rho * (s @ q)
            alphas.append((rho, a))
            q -= a * yy
        if mem_s:
            q *= (mem_s[-1] @ mem_y[-1]) / (mem_y[-1] @ mem_y[-1])
        for (s, yy), (rho, a) in zip(zip(mem_s, mem_y, strict=True), reversed(alphas), strict=True):
            bcoef = rho * (yy @ q)
            q += s * (a - bcoef)
        d = -q
        slope = g @ d
        if slope >= 0:  # not a descent direction: restart from the gradient
            mem_s.clear()
            mem_y.clear()
            d, slope = -g, -(g @ g)
        step = 1.0
        while True:
            new = theta + step * d
            f_new, g_new = f_grad(new)
            if f_new <= f + 1e-4 * step * slope or step < 1e-10:
                break
            step *= 0.5
        s_vec, y_vec = new - theta, g_new - g
        if s_vec @ y_vec > 1e-12:
            mem_s.append(s_vec)
            mem_y.append(y_vec)
            if len(mem_s) > 10:
                mem_s.pop(0)
                mem_y.pop(0)
        converged = abs(f - f_new) < tol * max(1.0, abs(f))
        theta, f, g = new, f_new, g_new
        if converged:
            break
    return theta[:-1], float(theta[-1])


def predict(X: Sparse, w: np.ndarray, b: float) -> np.ndarray:
    return _sigmoid(X.dot(w) + b)


# --------------------------------------------------------------------------- folds and thresholds


def stratified_folds(y: np.ndarray, k: int, seed: int, keys: Sequence[str] | None = None) -> np.ndarray:
    """Fold number of each row: each class spread evenly over k folds, in a shuffled order fixed by
    ``seed`` and, when given, by each row's ``keys`` (post ids), so the folds do not depend on the order
    the verdicts come in."""
    if keys is not None:
        rank = np.array([hashlib.sha1(f"{seed}:{key}".encode()).digest()[:8] for key in keys], dtype="S8")
    else:
        rank = np.random.default_rng(seed).permutation(len(y)).astype("S8")
    fold = np.empty(len(y), dtype=np.int64)
    offset = 0
    for cls in (0, 1):
        ids = np.flatnonzero(y == cls)
        ids = ids[np.argsort(rank[ids], kind="stable")]
        fold[ids] = (np.arange(len(ids)) + offset) % k
        offset += len(ids)
    return fold


def fbeta(precision: float, recall: float, beta: float) -> float:
    if precision <= 0 or recall <= 0:
        return 0.0
    b2 = beta * beta
    return (1 + b2) * precision * recall / (b2 * precision + recall)


def choose_threshold(
    p: np.ndarray, y: np.ndarray, forced: np.ndarray, *, min_kept: float, beta: float
) -> tuple[float, float]:
    """(threshold, F-beta): keep = p ≥ threshold or forced; the best F-beta among thresholds that keep at
    least ``min_kept`` of the confirmed (y = 1) rows; 0.0 (keep all) when none does better. ``forced``
    rows are kept whatever their score (a protected level, or no precedent alike enough)."""
    conf = max(1, int(y.sum()))
    cands = np.unique(p)
    mids = np.concatenate([[0.0], (cands[:-1] + cands[1:]) / 2]) if len(cands) else np.array([0.0])
    best_t, best_f = 0.0, -1.0
    for t in mids:
        keep = (p >= t) | forced
        tp = int((keep & (y == 1)).sum())
        kept = int(keep.sum())
        if tp / conf < min_kept:
            continue
        f = fbeta(tp / kept if kept else 0.0, tp / conf, beta)
        if f > best_f + 1e-12:  # ties keep the lower threshold (more alerts reach a person)
            best_t, best_f = float(t), f
    return best_t, best_f


# --------------------------------------------------------------------------- figures


@dataclass
class Figures:
    """Decisions on the verdicts against them."""

    verdicts: int
    confirmed: int
    false_positives: int
    flagged: float  # counts; the mean over repeats for cross-validated figures
    confirmed_flagged: float
    false_positives_flagged: float
    beta: float = 2.0
    repeats: int = 1

    @property
    def recall(self) -> float:
        return self.confirmed_flagged / self.confirmed if self.confirmed else 0.0

    @property
    def precision(self) -> float:
        return self.confirmed_flagged / self.flagged if self.flagged else 0.0

    @property
    def false_positive_rate(self) -> float:
        return self.false_positives_flagged / self.false_positives if self.false_positives else 0.0

    @property
    def f(self) -> float:
        return fbeta(self.precision, self.recall, self.beta)

    def as_dict(self) -> dict[str, Any]:
        return {
            "verdicts": self.verdicts,
            "confirmed": self.confirmed,
            "false_positives": self.false_positives,
            "flagged": round(self.flagged, 2),
            "confirmed_flagged": round(self.confirmed_flagged, 2),
            "false_positives_flagged": round(self.false_positives_flagged, 2),
            "repeats": self.repeats,
            "recall": round(self.recall, 4),
            "precision": round(self.precision, 4),
            "false_positive_rate": round(self.false_positive_rate, 4),
            f"f{self.beta:g}": round(self.f, 4),
        }


def mean_figures(runs: Sequence[Figures]) -> Figures:
    """The mean of repeated cross-validations (counts become means)."""
    first = runs[0]
    return Figures(
        verdicts=first.verdicts,
        confirmed=first.confirmed,
        false_positives=first.false_positives,
        flagged=float(np.mean([r.flagged for r in runs])),
        confirmed_flagged=float(np.mean([r.confirmed_flagged for r in runs])),
        false_positives_flagged=float(np.mean([r.false_positives_flagged for r in runs])),
        beta=first.beta,
        repeats=len(runs),
    )


def figures(y: np.ndarray, flagged: np.ndarray, beta: float) -> Figures:
    return Figures(
        verdicts=len(y),
        confirmed=int((y == 1).sum()),
        false_positives=int((y == 0).sum()),
        flagged=int(flagged.sum()),
        confirmed_flagged=int((flagged & (y == 1)).sum()),
        false_positives_flagged=int((flagged & (y == 0)).sum()),
        beta=beta,
    )


@dataclass
class LearnResult:
    before: Figures
    after: Figures | None
    layer: FeedbackLayer | None
    refusal: str | None
    kept_share: float | None = None  # of the confirmed alerts the analysis flags, the share the layer keeps
    fold_count: int = 0
    c: float | None = None
    feature_set: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def accepted(self) -> bool:
        return self.refusal is None and self.layer is not None


def too_few(n_fp: int, n_conf: int, opts: LearnOptions) -> str | None:
    """The refusal for too few verdicts (in Chinese, with how many are needed), or None."""
    if n_fp + n_conf >= opts.min_verdicts and n_fp >= opts.min_each and n_conf >= opts.min_each:
        return None
    return (
        f"裁定不足：至少需要 {opts.min_verdicts} 条当前仍会预警的裁定，其中误报与确认/升级各至少 {opts.min_each} 条；"
        f"现有 {n_fp + n_conf} 条（误报 {n_fp}，确认/升级 {n_conf}）。演练不计入。"
    )


class _Design:
    """The verdicts' feature rows for any training part: similarity features against that part (leaving
    a post itself out), the analysis' scores and reasons as they are."""

    def __init__(
        self,
        items: Sequence[FeedbackInput],
        y: np.ndarray,
        reasons: Sequence[str],
        keys: Sequence[str],
        idf: tuple[dict[int, float], float] | None,
    ) -> None:
        self.y = y
        self.keys = list(keys)
        memory = Memory(
            [remembered(it.text, bool(c), r) for it, c, r in zip(items, y, reasons, strict=True)],
            *(idf or (None, None)),
        )
        self.sims = memory.matrix()
        self.scores = [score_features(it) for it in items]
        self.reasons = [reason_features(it) for it in items]

    def similarity_block(self, rows: np.ndarray, ref: np.ndarray) -> np.ndarray:
        """SIM_FEATURES of every row against ``ref`` (a row in ``ref`` leaves itself out), at once:
        the same values as ``nlp.feedback.similarity_features`` row by row."""
        s = self.sims[np.ix_(rows, ref)].astype(np.float64)
        s[rows[:, None] == ref[None, :]] = -np.inf  # itself
        conf = self.y[ref] == 1
        out = np.zeros((len(rows), len(SIM_FEATURES)))
        for col, top_col, mask in ((0, 3, conf), (1, 4, ~conf)):
            block = s[:, mask]
            if not block.shape[1]:
                continue
            k = min(TOP, block.shape[1])
            top = -np.partition(-block, k - 1, axis=1)[:, :k]
            top = np.sort(top, axis=1)[:, ::-1]
            finite = np.isfinite(top)
            first = np.where(finite[:, 0], top[:, 0], 0.0)
            n = finite.sum(axis=1)
            mean = np.where(n > 0, np.where(finite, top, 0.0).sum(axis=1) / np.maximum(n, 1), 0.0)
            out[:, col], out[:, top_col] = first, mean
        out[:, 2] = out[:, 0] - out[:, 1]
        return out

    def rows(self, feature_set: str, rows: np.ndarray, ref: np.ndarray) -> Sparse:
        sims = self.similarity_block(rows, ref)
        out = [
            design_row(feature_set, sim, self.scores[i], self.reasons[i])
            for sim, i in zip(sims, rows, strict=True)
        ]
        return Sparse.from_rows(out, feature_dim(feature_set))

    def fit(self, feature_set: str, tr: np.ndarray, c: float) -> tuple[np.ndarray, float]:
        return fit_logistic(self.rows(feature_set, tr, tr), self.y[tr], c=c)

    def predict(
        self, feature_set: str, te: np.ndarray, tr: np.ndarray, w: np.ndarray, b: float
    ) -> np.ndarray:
        return predict(self.rows(feature_set, te, tr), w, b)

    def nearest_fp(self, rows: np.ndarray, ref: np.ndarray) -> np.ndarray:
        """Each row's similarity to its most alike 误报 among ``ref`` (itself left out)."""
        fp = ref[self.y[ref] == 0]
        if not len(fp):
            return np.zeros(len(rows))
        out = np.empty(len(rows))
        for k, i in enumerate(rows):
            sims = self.sims[i, fp]
            out[k] = float(np.max(np.where(fp == i, -1.0, sims)))
        return out


@dataclass(frozen=True)
class Choice:
    feature_set: str
    c: float
    threshold: float
    min_similarity: float


def _select(d: _Design, part: np.ndarray, forced: np.ndarray, opts: LearnOptions, seed: int) -> Choice:
    """Feature set, C, threshold and the similarity floor by cross-validation inside ``part``: out-of-fold
    scores for each feature set and C, then the threshold and floor with the best F-beta; the best of
    those (ties: the simpler feature set, the stronger L2, the higher floor)."""
    y = d.y[part]
    k = max(2, min(opts.folds - 1, int(y.sum()), int((1 - y).sum())))
    fold = stratified_folds(y, k, seed, [d.keys[i] for i in part])
    near = np.zeros(len(y))
    for f in range(k):
        near[fold == f] = d.nearest_fp(part[fold == f], part[fold != f])
    best, best_score = Choice(opts.feature_sets[0], C_GRID[0], 0.0, SIMILARITY_GRID[-1]), -1.0
    for fs in opts.feature_sets:
        parts = []  # each fold's rows, built once for every C
        for f in range(k):
            tr, te = part[fold != f], part[fold == f]
            parts.append((d.rows(fs, tr, tr), d.y[tr], d.rows(fs, te, tr)))
        for c in C_GRID:
            oof = np.zeros(len(y))
            for f, (x_tr, y_tr, x_te) in enumerate(parts):
                w, b = fit_logistic(x_tr, y_tr, c=c)
                oof[fold == f] = predict(x_te, w, b)
            for m in reversed(SIMILARITY_GRID):
                keep_anyway = forced[part] | (near < m)
                t, score = choose_threshold(oof, y, keep_anyway, min_kept=opts.min_kept, beta=opts.beta)
                if score > best_score + 1e-9:
                    best, best_score = Choice(fs, c, t, m), score
    return best


def learn_layer(
    items: Sequence[FeedbackInput | None],
    confirmed: Sequence[int],
    *,
    flagged: Sequence[bool],
    protected: Sequence[bool],
    reasons: Sequence[str],
    keys: Sequence[str] | None = None,
    background: Sequence[str] = (),
    signature: str = "",
    options: LearnOptions | None = None,
) -> LearnResult:
    """Measure the analysis alone and with a layer (cross-validated), and fit the layer on all verdicts.

    The sequences are aligned, one entry per verdict, oldest first; an item is None for a post the
    analysis no longer reads as about a watched entity (not flagged, so outside the layer's reach).
    ``keys`` (post ids) fix the folds whatever order the verdicts come in. ``background``: texts of the
    firm's stream (the newest stored posts) for the IDF; without them the verdicts' own texts."""
    opts = options or LearnOptions()
    y_all = np.asarray(confirmed, dtype=np.int64)
    base = np.asarray(flagged, dtype=bool)
    prot = np.asarray(protected, dtype=bool)
    before = figures(y_all, base, opts.beta)
    all_keys = [str(k) for k in keys] if keys is not None else [f"{i:09d}" for i in range(len(y_all))]
    # the layer only sees what the analysis flags; in the order of the posts' ids, so nothing depends on
    # the order the verdicts come in
    dom = np.array(sorted(np.flatnonzero(base), key=lambda i: all_keys[i]), dtype=np.int64)
    newest = set(np.flatnonzero(base)[-MEMORY_MAX:].tolist())  # what the switched-on layer remembers
    y = y_all[dom]
    n_fp, n_conf = int((y == 0).sum()), int((y == 1).sum())
    refusal = too_few(n_fp, n_conf, opts)
    if refusal:
        return LearnResult(before, None, None, refusal)
    dom_items = [items[i] for i in dom]
    if any(it is None for it in dom_items):
        raise ValueError("a flagged verdict needs its analysed post")
    heads = [remembered(it.text, True).text for it in dom_items]  # type: ignore[union-attr]
    keep_grams = {j for t in heads for j in gram_counts(t)}
    idf = idf_of([*background, *heads], keep_grams) if background else None
    d = _Design(
        dom_items,  # type: ignore[arg-type]
        y,
        [reasons[i] if y_all[i] == 0 else "" for i in dom],
        [all_keys[i] for i in dom],
        idf,
    )
    forced = prot[dom]
    every = np.arange(len(y))

    # after: nested cross-validation, each held-out fold decided by a layer fit (and remembering) without
    # it; repeated with other folds, the figures are the mean of the repeats
    k = max(2, min(opts.folds, n_fp, n_conf))
    repeats = opts.repeats if len(y) <= 300 else 2 if len(y) <= 1000 else 1
    runs: list[Figures] = []
    kept: list[float] = []
    chosen = []
    for r in range(max(1, repeats)):
        seed = opts.seed + 1000 * r
        fold = stratified_folds(y, k, seed, d.keys)
        keep = np.ones(len(y), dtype=bool)
        for f in range(k):
            tr, te = every[fold != f], every[fold == f]
            ch = _select(d, tr, forced, opts, seed + f + 1)
            w, b = d.fit(ch.feature_set, tr, ch.c)
            p = d.predict(ch.feature_set, te, tr, w, b)
            keep[te] = (p >= ch.threshold) | forced[te] | (d.nearest_fp(te, tr) < ch.min_similarity)
            chosen.append(
                {
                    "feature_set": ch.feature_set,
                    "c": ch.c,
                    "threshold": round(ch.threshold, 3),
                    "min_similarity": ch.min_similarity,
                }
            )
        after_flag = base.copy()
        after_flag[dom] = keep
        runs.append(figures(y_all, after_flag, opts.beta))
        kept.append(float((keep & (y == 1)).sum() / n_conf))
    after = mean_figures(runs)
    kept_share = float(np.mean(kept))

    # the layer to switch on: chosen by cross-validation on all verdicts, fit on all, remembering the newest
    ch = _select(d, every, forced, opts, opts.seed)
    fs, c, t = ch.feature_set, ch.c, ch.threshold  # chosen with the first repeat's folds
    w, b = d.fit(fs, every, c)
    kept_entries = [
        remembered(dom_items[k].text, bool(y[k]), reasons[dom[k]] if y[k] == 0 else "")  # type: ignore[union-attr]
        for k in every
        if int(dom[k]) in newest
    ]
    if idf is not None:  # only the n-grams of what is remembered are ever in a dot product
        grams = {j for e in kept_entries for j in gram_counts(e.text)}
        memory = Memory(kept_entries, {j: v for j, v in idf[0].items() if j in grams}, idf[1])
    else:
        memory = Memory(kept_entries)
    layer = FeedbackLayer(
        feature_set=fs,
        weights=w,
        bias=b,
        threshold=t,
        min_similarity=ch.min_similarity,
        memory=memory,
        signature=signature,
        protect_levels=tuple(opts.protect_levels),
    )
    result = LearnResult(
        before, after, layer, None, kept_share, k, c, fs, {"folds": chosen, "repeats": len(runs)}
    )
    if kept_share < opts.min_kept:
        result.refusal = f"新模型在交叉验证中只保留了 {kept_share:.0%} 的已确认预警（要求至少 {opts.min_kept:.0%}），不启用。"
    elif after.f <= before.f + 1e-9:
        result.refusal = (
            f"新模型在交叉验证中不优于现状（F{opts.beta:g} {after.f:.3f} ≤ {before.f:.3f}），不启用。"
        )
    elif t <= 0.0:
        result.refusal = "在全部裁定上选出的阈值不改变任何决定，不启用。"
    layer.figures = {
        "before": before.as_dict(),
        "after_cv": after.as_dict(),
        "kept_share": round(kept_share, 4),
        "folds": k,
        "repeats": len(runs),
        "feature_set": fs,
        "c": c,
        "threshold": round(t, 4),
        "min_similarity": ch.min_similarity,
    }
    return result


__all__ = [
    "C_GRID",
    "Figures",
    "LearnOptions",
    "LearnResult",
    "Sparse",
    "choose_threshold",
    "fit_logistic",
    "learn_layer",
    "stratified_folds",
    "too_few",
]

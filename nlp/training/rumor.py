"""The rumor model (``nlp/models/rumor-linear``): train it, measure it held-out next to the cue rules.

    python -m nlp.training rumor train --data ../shared/data    # writes the model and its metrics.json
    python -m nlp.training rumor eval --data ../shared/data     # the shipped model on the held-out rows
    python -m nlp.training rumor baseline --data ../shared/data # the first experiment; ships nothing

Char 1–3-gram TF-IDF + logistic regression on the Weibo rumor sets (scikit-learn: the ``train`` extra),
saved as a :class:`~nlp.sentiment.LinearSentimentClassifier` directory that :class:`nlp.rumor.RumorModel`
applies with numpy.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nlp.falsity import DEFAULT_MODEL_THRESHOLD, detect
from nlp.rumor import RumorModel
from nlp.sentiment import LinearSentimentClassifier, char_ngrams
from nlp.training.data import RUMOR_SETS, is_heldout, read_jsonl, rumor_rows

RUMOR_LABELS = ("non-rumor", "rumor")


def _f1(pred: Sequence[int], gold: Sequence[int]) -> dict:
    tp = sum(p and g for p, g in zip(pred, gold, strict=True))
    fp = sum(p and not g for p, g in zip(pred, gold, strict=True))
    fn = sum(g and not p for p, g in zip(pred, gold, strict=True))
    return {
        "n": len(gold),
        "rumor_f1": round(2 * tp / max(1, 2 * tp + fp + fn), 4),
        "precision": round(tp / max(1, tp + fp), 4),
        "recall": round(tp / max(1, tp + fn), 4),
    }


def evaluate(model: RumorModel, rows: list[tuple[str, str, int]], threshold: float = 0.5) -> dict:
    """Rumor-class F1 overall and per set at ``threshold`` (0.5: the model as a classifier)."""
    s = model.scores([t for _, t, _ in rows])
    pred = [int(v >= threshold) for v in s]
    gold = [y for _, _, y in rows]
    out: dict[str, Any] = {"all": _f1(pred, gold)}
    for name in RUMOR_SETS:
        idx = [i for i, (n, _, _) in enumerate(rows) if n == name]
        out[name] = _f1([pred[i] for i in idx], [gold[i] for i in idx])
    return out


FINANCE_SETS = ("finfe", "stock_comments", "finnsp")


def finance_rows(data: Path, part: str, cap: int | None = None) -> list[str]:
    """Finance posts and news (finfe, stock comments, finnsp) of ``part``: what the desk reads every day.
    As non-rumor examples they teach the model that an ordinary market post is not a hoax (trained on
    the Weibo rumor sets alone, it gave P(rumor) ≥ 0.5 to 20–27 % of them)."""
    from nlp.training.data import SENTIMENT_SETS, finnsp_rows, sentiment_rows

    texts: list[str] = []
    for ds in SENTIMENT_SETS:
        if ds.name in FINANCE_SETS:
            texts.extend(t for t, _ in sentiment_rows(data, ds, part, cap=False))
    texts.extend(r["full"] for r in finnsp_rows(data, "heldout" if part == "heldout" else "train"))
    texts.sort(key=lambda t: hashlib.blake2b(t.encode(), digest_size=8).digest())
    return texts[:cap] if cap else texts


def finance_false_rumor_rate(model: RumorModel, data: Path, threshold: float = 0.5) -> dict:
    """Share of held-out finance posts the model calls rumors (they are not, as a rule)."""
    out = {}
    for name, texts in (("finance (finfe, stock comments, finnsp)", finance_rows(data, "heldout")),):
        s = np.asarray(model.scores(texts))
        out[name] = {"n": len(texts), f"P(rumor) ≥ {threshold}": round(float((s >= threshold).mean()), 4)}
    return out


def train(
    data: Path, out: Path, *, c: float = 8.0, max_features: int = 150_000, finance_negatives: int = 0
) -> dict:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    t0 = time.time()
    rows = rumor_rows(data, "train")
    texts, y = [t for _, t, _ in rows], [v for _, _, v in rows]
    if finance_negatives:
        extra = finance_rows(data, "train", finance_negatives)
        texts, y = texts + extra, y + [0] * len(extra)
    vec = TfidfVectorizer(
        analyzer=char_ngrams, sublinear_tf=True, min_df=2, max_features=max_features, dtype=np.float32
    )
    x = vec.fit_transform(texts)
    clf = LogisticRegression(C=c, max_iter=3000).fit(x, y)
    coef = np.zeros((x.shape[1], 2), np.float32)
    coef[:, 1] = clf.coef_[0]
    model = LinearSentimentClassifier(
        vec.vocabulary_,
        idf=vec.idf_.astype(np.float32),
        coef=coef,
        intercept=np.array([0.0, clf.intercept_[0]], np.float32),
        labels=RUMOR_LABELS,
    )
    probe = texts[:200]
    diff = np.abs(model.predict_proba(probe)[:, 1] - clf.predict_proba(vec.transform(probe))[:, 1]).max()
    if diff > 1e-3:
        raise RuntimeError(f"numpy inference disagrees with scikit-learn: max |Δp| = {diff:.2e}")
    meta = {
        "trained_rows": len(rows),
        "finance_negatives": finance_negatives,
        "C": c,
        "max_features": max_features,
        "split": "15% per set by blake2b('yuqing-split-v1:<set>:<text>') (nlp.training.data.is_heldout)",
    }
    model.save(out, extra={"training": meta})
    shipped = RumorModel.load(out)
    test = rumor_rows(data, "heldout")
    cue = [int(detect(t)["label"] == "rumor") for _, t, _ in test]
    report = {
        "heldout": evaluate(shipped, test),
        "heldout_at_model_threshold": evaluate(shipped, test, DEFAULT_MODEL_THRESHOLD)["all"],
        "cue_rules": _f1(cue, [v for _, _, v in test]),
        "finance_posts_called_rumor": finance_false_rumor_rate(shipped, data),
        **meta,
        "train_seconds": round(time.time() - t0, 1),
    }
    print(f"trained in {time.time() - t0:.0f}s", file=sys.stderr)
    (out / "metrics.json").write_text(
        json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    return report


# -- the first experiment (evaluated only, ships nothing) --------------------------------------------

RUMOR_FILES = ("rumor/ced_train.jsonl", "rumor/jin2017_train.jsonl", "rumor/checked_train.jsonl")


def eval_rumor(data: Path) -> dict:
    """Train a char n-gram LR on the rumor sets and report held-out F1, next to the cue rules."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score

    train_x, train_y, test_x, test_y, test_set = [], [], [], [], []
    for f in RUMOR_FILES:
        name = Path(f).stem
        for r in read_jsonl(data / f):
            y = int(r["label"] == "rumor")
            if is_heldout(name, r["text"]):
                test_x.append(r["text"])
                test_y.append(y)
                test_set.append(name)
            else:
                train_x.append(r["text"])
                train_y.append(y)
    vec = TfidfVectorizer(analyzer=char_ngrams, sublinear_tf=True, min_df=2, max_features=200_000)
    clf = LogisticRegression(C=4.0, max_iter=2000).fit(vec.fit_transform(train_x), train_y)
    pred = clf.predict(vec.transform(test_x))
    cue = [int(detect(t)["label"] == "rumor") for t in test_x]
    out = {
        "n_train": len(train_x),
        "n_heldout": len(test_x),
        "lr_f1": round(float(f1_score(test_y, pred)), 4),
        "cue_rules_f1": round(float(f1_score(test_y, cue)), 4),
        "cue_rules_precision": round(
            sum(c and y for c, y in zip(cue, test_y, strict=True)) / max(1, sum(cue)), 4
        ),
    }
    for name in sorted(set(test_set)):
        idx = [i for i, s in enumerate(test_set) if s == name]
        out[f"lr_f1[{name}]"] = round(float(f1_score([test_y[i] for i in idx], [pred[i] for i in idx])), 4)
    return out

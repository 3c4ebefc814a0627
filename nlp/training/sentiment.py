"""Sentiment models: the linear ones (``linear``, ``linear-fit``, ``domain``), their held-out figures,
and the linear + transformer ensemble's calibration (scikit-learn: the ``train`` extra).

    python -m nlp.training sentiment --data ../shared/data --out nlp/models/sentiment-linear
    python -m nlp.training sentiment-ensemble --data ../shared/data

The small BERT behind ``bert-small`` is :mod:`nlp.training.bert`; the rows and splits,
:mod:`nlp.training.data`.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

from nlp.sentiment import (
    DEFAULT_MAX_CHARS,
    LABELS,
    LinearSentimentClassifier,
    char_ngrams,
    load_linear_model,
    text_features,
)
from nlp.training.data import (
    HELDOUT_PERCENT,
    NEWS_SET,
    SENTIMENT_SETS,
    SPLIT_SALT,
    read_jsonl,
    sentiment_rows,
)


def news_negativity(model, rows: list[tuple[str, str]]) -> dict:
    """How well P(negative) tells negative financial news from the rest: ROC AUC, F1 of the negative
    label (argmax), and the share of negative news read as surely (≥ 0.9) positive. numpy only (the
    tests use it without scikit-learn)."""
    probs = np.asarray(model.predict_proba([t for t, _ in rows]))
    gold = np.array([lab == "negative" for _, lab in rows])
    neg = LABELS.index("negative")
    score = probs[:, neg]
    # AUC = P(score of a negative item > score of another), ties counted half (Mann-Whitney U)
    order = np.argsort(score, kind="mergesort")
    ranks = np.empty(len(score))
    ranks[order] = np.arange(1, len(score) + 1)
    ordered = score[order]
    for v in np.unique(ordered[np.diff(ordered, prepend=np.nan) == 0]):  # tied scores share their mean rank
        ranks[score == v] = ranks[score == v].mean()
    n_pos, n_neg = int(gold.sum()), int((~gold).sum())
    auc = (ranks[gold].sum() - n_pos * (n_pos + 1) / 2) / max(1, n_pos * n_neg)
    pred = probs.argmax(axis=1) == neg
    tp, fp, fn = int((pred & gold).sum()), int((pred & ~gold).sum()), int((~pred & gold).sum())
    return {
        "n": len(rows),
        "negative_auc": round(float(auc), 4),
        "negative_f1": round(2 * tp / max(1, 2 * tp + fp + fn), 4),
        "negative_read_as_surely_positive": round(
            float((probs[gold, LABELS.index("positive")] >= 0.9).mean()), 4
        ),
    }


def evaluate(model: LinearSentimentClassifier, rows: list[tuple[str, str]]) -> dict:
    """3-class accuracy and macro-F1; for two-class sets also accuracy of negative vs positive only."""
    texts = [t for t, _ in rows]
    gold = np.array([LABELS.index(lab) for _, lab in rows])
    probs = model.predict_proba(texts)
    pred = probs.argmax(axis=1)
    out: dict = {"n": len(rows), "accuracy": round(float((pred == gold).mean()), 4)}
    present = sorted(set(gold.tolist()))
    f1s = []
    for c in present:
        tp = int(((pred == c) & (gold == c)).sum())
        fp = int(((pred == c) & (gold != c)).sum())
        fn = int(((pred != c) & (gold == c)).sum())
        f1s.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    out["macro_f1"] = round(float(np.mean(f1s)), 4)
    if 1 not in present:  # binary set: neg vs pos, ignoring the neutral column
        neg, pos = LABELS.index("negative"), LABELS.index("positive")
        bin_pred = np.where(probs[:, neg] >= probs[:, pos], neg, pos)
        out["binary_accuracy"] = round(float((bin_pred == gold).mean()), 4)
    out["majority_baseline"] = round(max(Counter(gold.tolist()).values()) / len(gold), 4)
    return out


def train_sentiment(
    data: Path,
    out: Path,
    *,
    c: float,
    max_features: int,
    min_df: int,
    words: bool = False,
    part: str = "train",
    domains: bool = False,
    domain_scale: float = 1.0,
    router_c: float = 4.0,
    router_sharpen: float = 1.0,
    news: bool = False,
) -> dict:
    """A linear model: char 1–3-grams (``words``: plus jieba words and word bigrams) → TF-IDF → LR.

    ``part="fit"`` leaves the validation slice out, so an ensemble can be calibrated on it (and the
    report then has validation figures too).

    ``domains``: one logistic regression over ``[x, s·1[d=1]·x, …, s·1[d=K]·x, 1[d]]`` where ``d`` is
    the row's corpus (feature augmentation; ``s`` = ``domain_scale``, a weaker penalty on the
    per-corpus blocks as it grows), plus a router (LR, ``router_c``) that predicts the corpus from
    ``x``, its logits multiplied by ``router_sharpen`` (> 1: closer to picking one corpus); saved as a
    :class:`~nlp.sentiment.DomainLinearSentimentClassifier`.

    ``news``: finnsp's training rows join as one more corpus (:data:`NEWS_SET`).
    """
    from functools import partial

    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    t0 = time.time()
    texts: list[str] = []
    labels: list[int] = []
    weights: list[float] = []
    corpus: list[int] = []
    counts = {}
    sets = SENTIMENT_SETS + ((NEWS_SET,) if news else ())
    for k, ds in enumerate(sets):
        rows = sentiment_rows(data, ds, part)
        counts[ds.name] = len(rows)
        for t, lab in rows:
            texts.append(t[:DEFAULT_MAX_CHARS])  # what the model reads at inference (news can be long)
            labels.append(LABELS.index(lab))
            weights.append(ds.weight)
            corpus.append(k)
    print(f"training rows: {counts} total {len(texts)}", file=sys.stderr)

    vec = TfidfVectorizer(
        analyzer=partial(text_features, words=True) if words else char_ngrams,
        sublinear_tf=True,
        min_df=min_df,
        max_features=max_features,
        dtype=np.float32,
    )
    x = vec.fit_transform(texts)
    print(f"features: {x.shape[1]} ({time.time() - t0:.0f}s)", file=sys.stderr)
    vocab = vec.vocabulary_
    probe = [texts[i] for i in range(0, len(texts), max(1, len(texts) // 300))]
    if domains:
        if words:
            raise ValueError("--domains is built on char n-grams only")
        model, expected = _fit_domains(
            x,
            np.array(labels),
            np.array(weights),
            np.array(corpus),
            vec,
            probe,
            [ds.name for ds in sets],
            c=c,
            scale=domain_scale,
            router_c=router_c,
            sharpen=router_sharpen,
        )
    else:
        clf = LogisticRegression(C=c, max_iter=2000, solver="lbfgs")
        clf.fit(x, np.array(labels), sample_weight=np.array(weights))
        model = LinearSentimentClassifier(
            vocab,
            idf=vec.idf_.astype(np.float32),
            coef=clf.coef_.T.astype(np.float32),
            intercept=clf.intercept_.astype(np.float32),
            labels=LABELS,
            words=words,
        )
        expected = clf.predict_proba(vec.transform(probe))
    print(f"fitted ({time.time() - t0:.0f}s)", file=sys.stderr)
    # the numpy inference must agree with scikit-learn on the same texts
    diff = np.abs(model.predict_proba(probe) - expected).max()
    if diff > 1e-3:
        raise RuntimeError(f"numpy inference disagrees with scikit-learn: max |Δp| = {diff:.2e}")

    # save (float16 weights), reload, and evaluate the shipped files, not the in-memory model
    metrics_meta = {
        "trained_rows": counts,
        "C": c,
        "min_df": min_df,
        "max_features": max_features,
        "features_kind": "char 1-3-grams + jieba words + word bigrams" if words else "char 1-3-grams",
        **(
            {
                "domains": [ds.name for ds in sets],
                "domain_scale": domain_scale,
                "router_C": router_c,
                "router_sharpen": router_sharpen,
            }
            if domains
            else {}
        ),
        "rows": part,
        "heldout": f"{HELDOUT_PERCENT}% per dataset by blake2b('{SPLIT_SALT}:<dataset>:<text>'); "
        "chnsenticorp: its published dev split",
    }
    model.save(out, extra={"training": metrics_meta})
    shipped = load_linear_model(out)
    saved, kept = shipped.predict_proba(probe), model.predict_proba(probe)
    metrics_meta["saved_vs_trained"] = {
        "max_abs_dp": round(float(np.abs(saved - kept).max()), 4),
        "same_label": round(float((saved.argmax(1) == kept.argmax(1)).mean()), 4),
    }
    print(f"saved files vs trained model: {metrics_meta['saved_vs_trained']}", file=sys.stderr)
    metrics: dict = {}
    for ds in SENTIMENT_SETS:
        metrics[ds.name] = evaluate(shipped, sentiment_rows(data, ds, "heldout"))
    metrics["finnsp (news, negative vs rest)"] = news_negativity(
        shipped, sentiment_rows(data, NEWS_SET, "heldout")
    )
    if part == "fit":  # the slice settings are chosen on
        metrics["validation"] = {
            ds.name: evaluate(shipped, sentiment_rows(data, ds, "validation"))["accuracy"]
            for ds in SENTIMENT_SETS
        }
        metrics["validation"]["mean"] = round(float(np.mean(list(metrics["validation"].values()))), 4)
        metrics["validation"]["finnsp negative_auc"] = news_negativity(
            shipped, sentiment_rows(data, NEWS_SET, "validation")
        )["negative_auc"]
    finfe_dev = [(r["text"], r["label"]) for r in read_jsonl(data / "sentiment/finfe_dev.jsonl")]
    metrics["finfe_dev (published, 151)"] = evaluate(shipped, finfe_dev)
    size = sum(p.stat().st_size for p in out.iterdir() if p.is_file())
    report = {
        "metrics": metrics,
        "features": len(vocab),
        "size_bytes": size,
        "train_seconds": round(time.time() - t0, 1),
        "machine": f"{platform.machine()} {platform.system()} python {platform.python_version()}",
        **metrics_meta,
    }
    (out / "metrics.json").write_text(
        json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    return report


def _fit_domains(
    x, y, w, corpus, vec, probe, names, *, c: float, scale: float, router_c: float, sharpen: float
):
    """Router + augmented logistic regression (see :func:`train_sentiment`); also sklearn's own
    probabilities of ``probe``, with the router's soft weights, to check the numpy inference."""
    import scipy.sparse as sp
    from sklearn.linear_model import LogisticRegression

    from nlp.sentiment import DomainLinearSentimentClassifier

    k = len(names)

    def augment(m, p):
        blocks = [m] + [sp.diags(p[:, j] * scale) @ m for j in range(k)] + [sp.csr_matrix(p)]
        return sp.hstack(blocks).tocsr()

    router = LogisticRegression(C=router_c, max_iter=2000).fit(x, corpus)
    print(f"router fitted: training accuracy {router.score(x, corpus):.3f}", file=sys.stderr)
    onehot = np.eye(k, dtype=np.float32)[corpus]
    clf = LogisticRegression(C=c, max_iter=3000, solver="lbfgs").fit(augment(x, onehot), y, sample_weight=w)
    n_feat = x.shape[1]
    wt = clf.coef_.T.astype(np.float32)  # (features, labels)
    domain_coef = np.stack([wt[n_feat * (j + 1) : n_feat * (j + 2)] * scale for j in range(k)], axis=1)
    model = DomainLinearSentimentClassifier(
        vec.vocabulary_,
        idf=vec.idf_.astype(np.float32),
        coef=wt[:n_feat],
        intercept=clf.intercept_.astype(np.float32),
        domains=names,
        domain_coef=domain_coef.reshape(n_feat, -1),
        domain_bias=wt[n_feat * (k + 1) :],
        router_coef=router.coef_.T * sharpen,
        router_intercept=router.intercept_ * sharpen,
        labels=LABELS,
    )
    xp = vec.transform(probe)
    r = router.decision_function(xp) * sharpen
    p = np.exp(r - r.max(axis=1, keepdims=True))
    return model, clf.predict_proba(augment(xp, p / p.sum(axis=1, keepdims=True)))


def _set_rows(data: Path, part: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    texts: list[str] = []
    gold: list[int] = []
    names: list[str] = []
    for ds in SENTIMENT_SETS:
        for t, lab in sentiment_rows(data, ds, part):
            texts.append(t)
            gold.append(LABELS.index(lab))
            names.append(ds.name)
    return texts, np.array(gold), np.array(names)


def _weighted_accuracy(p: np.ndarray, gold: np.ndarray, names: np.ndarray) -> float:
    """Mean of the per-dataset accuracies (each slice counts the same, whatever its size)."""
    return float(np.mean([(p.argmax(1)[names == n] == gold[names == n]).mean() for n in sorted(set(names))]))


def calibrate_ensemble(data: Path, linear: str, transformer: str, *, max_routed: float) -> dict:
    """Weight and gate of the ensemble from the validation slice; held-out figures of every model.

    The weight ``w`` (linear share) is searched on a 0.05 grid, the gate (linear top probability below
    which the transformer is asked) on the validation quantiles, keeping the share of texts the
    transformer reads at or under ``max_routed`` (its speed is the desk's budget). The score is the mean
    of per-dataset validation accuracies. Writes nlp/models/ensemble.json; "builtin" then means it.
    """
    from nlp.sentiment import ENSEMBLE_FILE, EnsembleSentimentClassifier, create_sentiment_model

    lin = create_sentiment_model(linear)
    tra = create_sentiment_model(transformer)
    vtexts, vgold, vnames = _set_rows(data, "validation")
    t0 = time.time()
    p_lin = lin.predict_proba(vtexts)
    t_lin = time.time() - t0
    t0 = time.time()
    p_tra = tra.predict_proba(vtexts)
    t_tra = time.time() - t0
    print(
        f"validation rows {len(vtexts)}: linear {len(vtexts) / t_lin:,.0f}/s, transformer {len(vtexts) / t_tra:,.0f}/s",
        file=sys.stderr,
    )
    top = p_lin.max(axis=1)
    gates = sorted({1.01, *np.quantile(top, np.linspace(0.05, 1.0, 20)).round(4).tolist()})
    best = (-1.0, 1.0, 0.0)
    for gate in gates:
        routed = top < gate
        if routed.mean() > max_routed:
            continue
        for w in np.arange(0.0, 1.0001, 0.05):
            p = p_lin.copy()
            p[routed] = w * p_lin[routed] + (1 - w) * p_tra[routed]
            score = _weighted_accuracy(p, vgold, vnames)
            if score > best[0] + 1e-9:
                best = (score, round(float(w), 2), float(gate))
    score, w, gate = best
    full = max(
        (_weighted_accuracy(w2 * p_lin + (1 - w2) * p_tra, vgold, vnames), round(float(w2), 2))
        for w2 in np.arange(0.0, 1.0001, 0.05)
    )
    cfg = {
        "linear": linear,
        "transformer": transformer,
        "weight": w,
        "gate": gate,
        "validation": {
            "mean_per_set_accuracy": round(score, 4),
            "linear_alone": round(_weighted_accuracy(p_lin, vgold, vnames), 4),
            "transformer_alone": round(_weighted_accuracy(p_tra, vgold, vnames), 4),
            "ungated_best": {"accuracy": round(full[0], 4), "weight": full[1]},
            "routed_share": round(float((top < gate).mean()), 4),
            "rows": len(vtexts),
        },
    }
    ENSEMBLE_FILE.write_text(json.dumps(cfg, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    ens = EnsembleSentimentClassifier(lin, tra, weight=w, gate=gate)
    ungated = EnsembleSentimentClassifier(lin, tra, weight=full[1], gate=1.01)
    floor = create_sentiment_model("linear")
    heldout: dict = {}
    for ds in SENTIMENT_SETS:
        rows = sentiment_rows(data, ds, "heldout")
        heldout[ds.name] = {
            "linear (floor)": evaluate(floor, rows)["accuracy"],
            linear: evaluate(lin, rows)["accuracy"],
            transformer: evaluate(tra, rows)["accuracy"],
            "ensemble (shipped)": evaluate(ens, rows)["accuracy"],
            "ensemble ungated": evaluate(ungated, rows)["accuracy"],
            "n": len(rows),
        }
    cfg["heldout"] = heldout
    (ENSEMBLE_FILE.parent / "ensemble-metrics.json").write_text(
        json.dumps(cfg, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    return cfg

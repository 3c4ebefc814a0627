"""Train the shipped models from ``../shared/data`` (scikit-learn: the ``train`` extra).

    python -m nlp.train sentiment --data ../shared/data --out nlp/models/sentiment-linear
    python -m nlp.train rumor --data ../shared/data        # evaluates the optional rumor model, ships nothing

Held-out rows are chosen by a hash of (dataset, text), not by shuffling, so the split is the same on
every machine and every run, and tests can pick the same held-out rows with :func:`is_heldout`
without importing scikit-learn. The data is research material and is never committed; only the
trained model files are.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
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

HELDOUT_PERCENT = 15
SPLIT_SALT = "yuqing-split-v1"
VALIDATION_PERCENT = 8
VALIDATION_SALT = "yuqing-val-v1"


def is_heldout(dataset: str, text: str, percent: int = HELDOUT_PERCENT) -> bool:
    """Whether a row belongs to the fixed held-out validation slice of its dataset."""
    h = hashlib.blake2b(f"{SPLIT_SALT}:{dataset}:{text}".encode(), digest_size=8).digest()
    return int.from_bytes(h, "big") % 100 < percent


def is_validation(dataset: str, text: str, percent: int = VALIDATION_PERCENT) -> bool:
    """Whether a training row belongs to the validation slice (ensemble calibration, model choice).

    Carved from the rows that are not held out, with its own salt: the held-out slices are never used
    to tune anything.
    """
    h = hashlib.blake2b(f"{VALIDATION_SALT}:{dataset}:{text}".encode(), digest_size=8).digest()
    return int.from_bytes(h, "big") % 100 < percent


@dataclass(frozen=True)
class SentimentSet:
    name: str
    file: str
    weight: float = 1.0  # sample weight of each training row
    max_train: int | None = None  # cap on training rows (deterministic: hash order)
    heldout_file: str | None = None  # a published dev split used whole as held-out, instead of carving
    news: bool = False  # finnsp: title + text; its post-level ``negative`` flag → negative, else neutral


SENTIMENT_SETS: tuple[SentimentSet, ...] = (
    SentimentSet("finfe", "sentiment/finfe_train.jsonl", weight=2.0),
    SentimentSet("stock_comments", "sentiment/stock_comments.jsonl", weight=1.5),
    SentimentSet("weibo_emotion", "sentiment/weibo_emotion_smp2020.jsonl", weight=1.5),
    SentimentSet(
        "chnsenticorp", "sentiment/chnsenticorp_train.jsonl", heldout_file="sentiment/chnsenticorp_dev.jsonl"
    ),
    SentimentSet("weibo_senti", "sentiment/weibo_senti_sample.jsonl"),
    SentimentSet("waimai", "sentiment/waimai_10k.jsonl"),
    SentimentSet("online_shopping", "sentiment/online_shopping_10_cats.jsonl", weight=0.5, max_train=20_000),
)
# Financial news about named firms (FinNSP): negative news vs the rest. Not in the first model's recipe
# (``linear``); ``--news`` adds it. Its held-out rows are the same as ``nlp.targets`` holds out.
NEWS_SET = SentimentSet("finnsp", "sentiment/finnsp_train.jsonl", news=True)


def read_jsonl(path: Path) -> Iterator[dict]:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if line:
                yield json.loads(line)


def sentiment_rows(data: Path, ds: SentimentSet, part: str, *, cap: bool = True) -> list[tuple[str, str]]:
    """(text, label) rows of one dataset.

    ``part``: ``heldout`` (the fixed test slice), ``train`` (everything else), or the two halves of
    ``train``: ``validation`` (:func:`is_validation`) and ``fit`` (the rest). ``cap=False`` ignores
    ``max_train``.
    """
    if part not in ("train", "fit", "validation", "heldout"):
        raise ValueError(f"unknown part {part!r}")
    if ds.heldout_file:
        path = data / (ds.file if part != "heldout" else ds.heldout_file)
        rows = [(r["text"], r["label"]) for r in read_jsonl(path)]
    else:
        want = part == "heldout"
        rows = [_row(ds, r) for r in read_jsonl(data / ds.file) if is_heldout(ds.name, r["text"]) == want]
    rows = [(t, lab) for t, lab in rows if t and lab in LABELS]
    if part in ("fit", "validation"):
        want = part == "validation"
        rows = [(t, lab) for t, lab in rows if is_validation(ds.name, t) == want]
    if part != "heldout" and cap and ds.max_train and len(rows) > ds.max_train:
        rows.sort(key=lambda r: hashlib.blake2b(r[0].encode(), digest_size=8).digest())
        rows = rows[: ds.max_train]
    return rows


def _row(ds: SentimentSet, r: dict) -> tuple[str, str]:
    if not ds.news:
        return r["text"], r["label"]
    title = (r.get("title") or "").strip()
    text = r["text"] if not title or title in r["text"] else f"{title}。{r['text']}"
    return text, "negative" if r["negative"] else "neutral"


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


# -- rumor (evaluated only; the shipped falsity detector is rule-based) -----------------------------

RUMOR_FILES = ("rumor/ced_train.jsonl", "rumor/jin2017_train.jsonl", "rumor/checked_train.jsonl")


def eval_rumor(data: Path) -> dict:
    """Train a char n-gram LR on the rumor sets and report held-out F1, next to the cue rules."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score

    from nlp.falsity import detect

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


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m nlp.train", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="what", required=True)
    s = sub.add_parser("sentiment", help="train and save the shipped sentiment model")
    s.add_argument("--data", type=Path, default=Path("../shared/data"))
    s.add_argument("--out", type=Path, default=Path("nlp/models/sentiment-linear"))
    s.add_argument("--C", type=float, default=2.0)
    s.add_argument("--max-features", type=int, default=250_000)
    s.add_argument("--min-df", type=int, default=2)
    s.add_argument(
        "--words", action="store_true", help="add jieba words and word bigrams to the char n-grams"
    )
    s.add_argument(
        "--domains",
        action="store_true",
        help="per-corpus corrections and a corpus router (the shipped builtin, nlp/models/sentiment-domain)",
    )
    s.add_argument("--domain-scale", type=float, default=1.0)
    s.add_argument("--router-C", type=float, default=4.0)
    s.add_argument("--router-sharpen", type=float, default=1.0, help="router logits × this (1: soft)")
    s.add_argument("--news", action="store_true", help="finnsp's financial news as one more corpus")
    s.add_argument(
        "--part",
        choices=["train", "fit"],
        default="train",
        help="fit: leave the validation slice out (ensembles)",
    )
    e = sub.add_parser(
        "sentiment-ensemble",
        help="calibrate the linear + transformer ensemble on the validation slice; held-out figures of all",
    )
    e.add_argument("--data", type=Path, default=Path("../shared/data"))
    e.add_argument("--linear", default="linear-fit")
    e.add_argument("--transformer", default="bert-small")
    e.add_argument("--max-routed", type=float, default=0.35, help="most texts the transformer may read")
    b = sub.add_parser(
        "sentiment-bert",
        help="pre-train (MLM) and fine-tune the small BERT, export ONNX (torch: train extra)",
    )
    from nlp import train_bert

    train_bert.add_arguments(b)
    r = sub.add_parser("rumor", help="evaluate a char n-gram rumor model against the cue rules")
    r.add_argument("--data", type=Path, default=Path("../shared/data"))
    args = p.parse_args(argv)
    if args.what == "sentiment-bert":
        report = train_bert.run(args)
    elif args.what == "sentiment":
        report = train_sentiment(
            args.data,
            args.out,
            c=args.C,
            max_features=args.max_features,
            min_df=args.min_df,
            words=args.words,
            part=args.part,
            domains=args.domains,
            domain_scale=args.domain_scale,
            router_c=args.router_C,
            router_sharpen=args.router_sharpen,
            news=args.news,
        )
    elif args.what == "sentiment-ensemble":
        report = calibrate_ensemble(args.data, args.linear, args.transformer, max_routed=args.max_routed)
    else:
        report = eval_rumor(args.data)
    print(json.dumps(report, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

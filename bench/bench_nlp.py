"""Speed, memory and accuracy of the nlp room on this machine: prints figures, asserts nothing.

    yuqing bench nlp [--posts 5000] [--models builtin,builtin+encoder,linear] [--bert-base-posts 300]

``builtin`` is the screening path (the linear models alone); ``builtin+encoder`` the encoder path (the
fine-tuned encoder also reads every post that names the firm).

Each model is measured in its own child process pinned to at most 2 CPUs, so its peak RSS is its own:
load time, the model alone, ``Analyzer.analyze`` end to end in batches of 50 (the crawl pipeline's
batch size), peak RSS, and accuracy on the held-out slices (``nlp.training.data.is_heldout``) that no
model trained or was calibrated on (for ``NAME+encoder``: the encoder alone and the shipped blend,
:func:`encoder_figures`). "bert-base" is a randomly initialised bert-base-chinese-size classifier
(12 layers, hidden 768) exported to ONNX int8 the same way as the shipped model: its answers mean
nothing, its speed is what a bert-base model of one's own would cost (needs torch: the train extra).

Texts are real held-out rows of ../shared/data (finfe, weibo_emotion, chnsenticorp) when present, 70 %
of them prefixed with the firm's name (the realistic mix: keyword crawls bring posts that name the firm);
synthetic otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

from nlp.analyzer import Analyzer
from nlp.segment import Segmenter
from nlp.sentiment import LABELS, create_sentiment_model
from nlp.training.data import SENTIMENT_SETS, sentiment_rows

FIRM = {
    "name": "华鼎证券股份有限公司",
    "short_names": ["华鼎证券", "华鼎"],
    "stock_codes": ["609999"],
    "executives": ["张明远"],
    "products": ["华鼎金管家"],
    "exclude": ["华鼎银行"],
}
ACCURACY_SETS = (
    "finfe",
    "chnsenticorp",
    "stock_comments",
    "weibo_emotion",
    "waimai",
    "online_shopping",
    "weibo_senti",
)
BERT_BASE_DIR = (
    Path(os.environ.get("YUQING_CACHE_DIR", Path.home() / ".cache" / "yuqing")) / "bench-bert-base"
)


def texts(data: Path, n: int) -> tuple[list[str], str]:
    if data.exists():
        out: list[str] = []
        for name in ("finfe", "weibo_emotion", "chnsenticorp"):
            ds = next(d for d in SENTIMENT_SETS if d.name == name)
            out += [t for t, _ in sentiment_rows(data, ds, "heldout")]
        if len(out) > n:  # spread a small sample over every set
            out = out[:: len(out) // n]
        while len(out) < n:
            out += out
        # the realistic mix: keyword crawls bring posts that name the firm, about 70 % of them
        out = [f"华鼎证券：{t}" if i % 10 < 7 else t for i, t in enumerate(out[:n])]
        return out, "held-out rows of ../shared/data, 70 % naming the firm"
    base = "华鼎证券APP又登不上了，交易失败，客服不理人，我要投诉！网传要出事了"
    return [f"{base}{i}" for i in range(n)], "synthetic"


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds:,.0f} posts/s ({seconds * 1000 / n:.2f} ms/post)"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def build_bert_base(directory: Path) -> Path:
    """A random bert-base-size classifier (bert-base-chinese vocabulary size) as ONNX int8, cached."""
    if (directory / "model.onnx").exists():
        return directory
    import torch
    from tokenizers import BertWordPieceTokenizer
    from transformers import BertConfig, BertForSequenceClassification

    from nlp.training.bert import BASE_VOCAB, export_onnx

    torch.manual_seed(0)
    directory.mkdir(parents=True, exist_ok=True)
    cfg = BertConfig(
        vocab_size=21128,
        num_labels=3,
        id2label=dict(enumerate(LABELS)),
        label2id={x: i for i, x in enumerate(LABELS)},
    )
    model = BertForSequenceClassification(cfg).eval()
    model.config.save_pretrained(directory)
    BertWordPieceTokenizer(str(BASE_VOCAB), lowercase=True).save(str(directory / "tokenizer.json"))
    export_onnx(model, directory / "model-fp32.onnx", directory / "model.onnx")
    (directory / "model-fp32.onnx").unlink()
    return directory


def measure(name: str, n_posts: int, data: Path, accuracy: bool) -> dict:
    """One model, in this (child) process."""
    out: dict = {"model": name}
    t = time.perf_counter()
    if name == "bert-base-build":  # its own process: torch's memory must not count as the model's
        try:
            build_bert_base(BERT_BASE_DIR)
        except ImportError as e:
            return {"model": name, "skipped": f"needs torch + transformers (train extra): {e}"}
        return {"model": name, "build_s": round(time.perf_counter() - t, 2)}
    encoder = None
    if name.endswith("+encoder"):  # the encoder path: the fine-tuned encoder reads posts about the firm
        name, encoder = name.removesuffix("+encoder"), "builtin"
    if name == "bert-base":
        model = create_sentiment_model(str(BERT_BASE_DIR))
    else:
        model = create_sentiment_model(name)
    analyzer = Analyzer.from_config(firm=FIRM, sentiment_model=model, encoder=encoder)
    if encoder and analyzer.encoder is None:
        return {"model": out["model"], "skipped": "no encoder model files (nlp/models/encoder-e5)"}
    out["load_s"] = round(time.perf_counter() - t, 2)
    posts_text, kind = texts(data, n_posts)
    out["posts"] = f"{len(posts_text)} ({kind}), mean {sum(map(len, posts_text)) / len(posts_text):.0f} chars"
    model.predict_proba(posts_text[:50])  # warm-up: lazy jieba dictionary, ONNX session
    analyzer.analyze([{"text": x} for x in posts_text[:50]])
    t = time.perf_counter()
    model.predict_proba(posts_text)
    out["model_alone"] = rate(len(posts_text), time.perf_counter() - t)
    posts = [{"text": x, "reposts": i % 50} for i, x in enumerate(posts_text)]
    t = time.perf_counter()
    for i in range(0, len(posts), 50):
        analyzer.analyze(posts[i : i + 50])
    dt = time.perf_counter() - t
    out["analyze"] = rate(len(posts), dt)
    out["analyze_posts_per_s"] = round(len(posts) / dt)
    big = {"text": ("华鼎证券的服务太差了，投诉！" + "正常的一天。" * 10) * 12_000}
    t = time.perf_counter()
    analyzer.analyze([big])
    out["one_1MB_post_s"] = round(time.perf_counter() - t, 2)
    out["peak_rss_mb"] = round(peak_rss_mb())
    if accuracy and data.exists() and encoder:
        out["encoder_heldout"] = encoder_figures(analyzer.encoder, model, data)
    if accuracy and data.exists() and not encoder:
        acc = {}
        for ds in SENTIMENT_SETS:
            if ds.name not in ACCURACY_SETS:
                continue
            rows = sentiment_rows(data, ds, "heldout")
            pred = model.predict_proba([t for t, _ in rows]).argmax(axis=1)
            acc[ds.name] = round(
                sum(LABELS[p] == g for p, (_, g) in zip(pred, rows, strict=True)) / len(rows), 4
            )
        out["heldout_accuracy"] = acc
    return out


def encoder_figures(enc, model, data: Path, batch: int = 50) -> dict:
    """The encoder path on the held-out slices, read as the desk reads them (``DeskEncoder.read`` on
    batches of ``batch`` texts, the crawl pipeline's size; every text of a set, in the sets' order):
    sentiment accuracy of the encoder alone and of the shipped blend with ``model`` (the blend's weight
    and neutral bias from ``meta.json``, as ``Analyzer`` applies them), rumor-class F1 (encoder alone at
    0.5, and the shipped blend with the rumor model), entity F1 of the encoder alone at 0.5 on finnsp's
    (clause window, named candidate) examples. Figures to set beside nlp/models/encoder-e5/metrics.json
    (which read each set in one call) and beside themselves before and after a change to the encoder."""
    import numpy as np

    from nlp import rumor
    from nlp.training.data import rumor_rows
    from nlp.training.encoder import _f1, _with_neutral, entity_examples, finnsp_part

    def read(items: list) -> list:
        return [r for s in range(0, len(items), batch) for r in enc.read(items[s : s + batch])]

    b = enc.blend
    w, bias = b["sentiment_linear_weight"], b["sentiment_neutral_bias"]
    t0, n_read = time.perf_counter(), 0
    sent: dict = {}
    for ds in SENTIMENT_SETS:
        if ds.name not in ACCURACY_SETS:
            continue
        rows = sentiment_rows(data, ds, "heldout")
        texts = [t for t, _ in rows]
        gold = np.array([LABELS.index(g) for _, g in rows])
        pe = np.stack([r.sentiment for r in read([(t, {}) for t in texts])])
        pl = model.predict_proba(texts)
        mixed = _with_neutral(w * pl + (1 - w) * pe, bias)
        sent[ds.name] = {
            "n": len(rows),
            "encoder": round(float((pe.argmax(1) == gold).mean()), 4),
            "blend": round(float((mixed.argmax(1) == gold).mean()), 4),
        }
        n_read += len(texts)
    rows = rumor_rows(data, "heldout")
    texts = [t for _, t, _ in rows]
    gold = np.array([y for *_, y in rows])
    pe = np.array([r.rumor for r in read([(t, {}) for t in texts])])
    pl = np.asarray(rumor.load_default().clf.predict_proba(texts))[:, 1]
    a, cut = b["rumor_linear_weight"], b["rumor_threshold"]
    rum = {"n": len(rows), "encoder": _f1(pe >= 0.5, gold), "blend": _f1(a * pl + (1 - a) * pe >= cut, gold)}
    exs = entity_examples(finnsp_part(data, "heldout"))
    got = read([(ex.text, {name: list(ex.spans)}) for ex, _, name in exs])
    pe = np.array([r.negative_about.get(name, 0.0) for r, (_, _, name) in zip(got, exs, strict=True)])
    ent = {"n": len(exs), "encoder": _f1(pe >= 0.5, np.array([ex.label for ex, _, _ in exs]))}
    n_read += len(texts) + len(exs)
    return {
        "sentiment": sent,
        "rumor": rum,
        "entity": ent,
        "texts_per_s": round(n_read / (time.perf_counter() - t0)),
    }


def child(name: str, n: int, data: Path, accuracy: bool) -> dict:
    """Run :func:`measure` in a fresh interpreter limited to 2 CPUs (peak RSS per model)."""
    cmd = [sys.executable, __file__, "--one", name, "--posts", str(n), "--data", str(data)]
    if not accuracy:
        cmd.append("--no-accuracy")
    env = {**os.environ, "OMP_NUM_THREADS": "2", "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if r.returncode != 0:
        return {"model": name, "error": r.stderr.strip().splitlines()[-1:] or [f"exit {r.returncode}"]}
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--posts", type=int, default=5000)
    ap.add_argument(
        "--models",
        default="builtin,builtin+encoder,linear",
        help="shipped model names, comma-separated; NAME+encoder: with the fine-tuned encoder (the encoder path)",
    )
    ap.add_argument("--bert-base-posts", type=int, default=300, help="0: skip the bert-base-size model")
    ap.add_argument("--no-accuracy", action="store_true")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    ap.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "data"
    )
    args = ap.parse_args()
    if args.one:
        if hasattr(os, "sched_setaffinity") and len(os.sched_getaffinity(0)) > 2:
            os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:2])
        print(json.dumps(measure(args.one, args.posts, args.data, not args.no_accuracy), ensure_ascii=False))
        return

    print(
        f"machine: {platform.machine()} {platform.system()} {os.cpu_count()} cpus, python {platform.python_version()}"
        f"; each model in its own process on at most 2 CPUs"
    )
    runs = [(m, args.posts, not args.no_accuracy) for m in args.models.split(",") if m]
    if args.bert_base_posts:
        runs.append(("bert-base", args.bert_base_posts, False))
    for name, n, acc in runs:
        if name == "bert-base":
            r = child("bert-base-build", 1, args.data, False)
            if "error" in r or "skipped" in r:
                print(f"[{name}] {r.get('error') or r.get('skipped')}")
                continue
        r = child(name, n, args.data, acc)
        if "error" in r or "skipped" in r:
            print(f"[{name}] {r.get('error') or r.get('skipped')}")
            continue
        print(
            f"[{name}] load {r['load_s']}s; posts {r['posts']}\n"
            f"    model alone: {r['model_alone']}\n"
            f"    Analyzer.analyze, batches of 50: {r['analyze']}; peak RSS {r['peak_rss_mb']} MB; "
            f"one 1 MB post {r['one_1MB_post_s']}s"
        )
        if r.get("encoder_heldout"):
            e = r["encoder_heldout"]
            print(
                "    encoder path, held-out (encoder alone / shipped blend): "
                + ", ".join(f"{k} {v['encoder']:.3f} / {v['blend']:.3f}" for k, v in e["sentiment"].items())
                + f"; rumor F1 {e['rumor']['encoder']:.3f} / {e['rumor']['blend']:.3f}"
                f"; entity F1 (encoder alone) {e['entity']['encoder']:.3f}"
                f"; {e['texts_per_s']} texts/s read in batches of 50"
            )
        if r.get("heldout_accuracy"):
            print(
                "    held-out accuracy: "
                + ", ".join(f"{k} {v:.3f}" for k, v in r["heldout_accuracy"].items())
            )

    seg = Segmenter(["华鼎证券", "华鼎"])
    posts_text, _ = texts(args.data, args.posts)
    t = time.perf_counter()
    seg.search_tokens("预热")
    print(f"segmenter first use (jieba dictionary, cached): {time.perf_counter() - t:.2f}s")
    t = time.perf_counter()
    for x in posts_text:
        seg.search_tokens(x)
    print(f"Segmenter.search_tokens: {rate(len(posts_text), time.perf_counter() - t)}")
    detect_figures(args.data, create_sentiment_model("builtin"))


def detect_figures(data: Path, model) -> None:
    """Held-out figures of the detection models (helper "detect"): negative targets on finnsp (entity
    model alone and through Analyzer.analyze) and the rumor model per set, on the slices training never saw."""
    from nlp import rumor, targets
    from nlp.training import rumor as rumor_training
    from nlp.training import targets as targets_training
    from nlp.training.data import finnsp_rows, rumor_rows

    if not (data / "sentiment" / "finnsp_train.jsonl").exists():
        print(f"detection figures: skipped (no data under {data})")
        return
    rows = finnsp_rows(data, "heldout")
    m = targets_training.evaluate(targets.load_default(), rows)
    a = targets_training.evaluate_analyzer(
        Analyzer.from_config(firm={"name": "华鼎证券"}, sentiment_model=model), rows
    )
    print(
        f"negative targets, finnsp held-out ({m['n_posts']} posts, {m['n_negative_pairs']} negative pairs): "
        f"entity F1 {m['entity_f1']:.3f} (P {m['entity_precision']:.3f} R {m['entity_recall']:.3f}), "
        f"post flag F1 {m['post_flag_f1']:.3f}; through Analyzer.analyze entity F1 {a['entity_f1']:.3f} "
        f"(P {a['entity_precision']:.3f} R {a['entity_recall']:.3f})"
    )
    if (data / "rumor").exists():
        r = rumor_training.evaluate(rumor.load_default(), rumor_rows(data, "heldout"))
        per = ", ".join(f"{k} {v['rumor_f1']:.3f} (n={v['n']})" for k, v in r.items())
        print(f"rumor model, rumor-class F1 on held-out rows: {per}")


if __name__ == "__main__":
    main()

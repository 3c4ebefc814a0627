"""Throughput of the nlp room on this machine: prints figures, asserts nothing.

    python bench/bench_nlp.py [--posts 5000] [--data ../shared/data]

Texts are real held-out rows of ../shared/data (finfe, weibo_emotion, chnsenticorp) when present,
each prefixed with the firm's name so every post goes through the whole path; synthetic otherwise.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

from nlp.analyzer import Analyzer
from nlp.segment import Segmenter
from nlp.sentiment import create_sentiment_model
from nlp.train import SENTIMENT_SETS, sentiment_rows

FIRM = {
    "name": "华鼎证券股份有限公司",
    "short_names": ["华鼎证券", "华鼎"],
    "stock_codes": ["609999"],
    "executives": ["张明远"],
    "products": ["华鼎金管家"],
    "exclude": ["华鼎银行"],
}


def texts(data: Path, n: int) -> tuple[list[str], str]:
    if data.exists():
        out: list[str] = []
        for name in ("finfe", "weibo_emotion", "chnsenticorp"):
            ds = next(d for d in SENTIMENT_SETS if d.name == name)
            out += [t for t, _ in sentiment_rows(data, ds, "heldout")]
        out = [f"华鼎证券：{t}" for t in out]
        while len(out) < n:
            out += out
        return out[:n], "held-out rows of ../shared/data"
    base = "华鼎证券APP又登不上了，交易失败，客服不理人，我要投诉！网传要出事了"
    return [f"{base}{i}" for i in range(n)], "synthetic"


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds:,.0f} posts/s ({seconds * 1000 / n:.2f} ms/post)"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--posts", type=int, default=5000)
    ap.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "data"
    )
    args = ap.parse_args()

    print(
        f"machine: {platform.machine()} {platform.system()} {os.cpu_count()} cpus, python {platform.python_version()}"
    )
    t = time.perf_counter()
    model = create_sentiment_model("builtin")
    print(f"load builtin sentiment model: {time.perf_counter() - t:.2f}s")
    analyzer = Analyzer.from_config(firm=FIRM, sentiment_model=model)
    posts_text, kind = texts(args.data, args.posts)
    mean_len = sum(map(len, posts_text)) / len(posts_text)
    print(f"posts: {len(posts_text)} ({kind}), mean {mean_len:.0f} chars")

    t = time.perf_counter()
    model.predict_proba(posts_text)
    print(f"sentiment model alone, one batch: {rate(len(posts_text), time.perf_counter() - t)}")

    posts = [{"text": x, "reposts": i % 50} for i, x in enumerate(posts_text)]
    t = time.perf_counter()
    for i in range(0, len(posts), 50):  # the crawl pipeline's batch size
        analyzer.analyze(posts[i : i + 50])
    dt = time.perf_counter() - t
    print(f"Analyzer.analyze, batches of 50: {rate(len(posts), dt)}")

    seg = Segmenter(analyzer.watchlist.all_words())
    t = time.perf_counter()
    seg.search_tokens("预热")
    print(f"segmenter first use (jieba dictionary, cached): {time.perf_counter() - t:.2f}s")
    t = time.perf_counter()
    for x in posts_text:
        seg.search_tokens(x)
    print(f"Segmenter.search_tokens: {rate(len(posts_text), time.perf_counter() - t)}")

    big = {"text": ("华鼎证券的服务太差了，投诉！" + "正常的一天。" * 10) * 12_000}
    t = time.perf_counter()
    analyzer.analyze([big])
    print(f"one 1 MB post: {time.perf_counter() - t:.2f}s")
    detect_figures(args.data, model)


def detect_figures(data: Path, model) -> None:
    """Held-out figures of the detection models (helper "detect"): negative targets on finnsp (entity
    model alone and through Analyzer.analyze) and the rumor model per set, on the slices training never saw."""
    from nlp import rumor, targets

    if not (data / "sentiment" / "finnsp_train.jsonl").exists():
        print(f"detection figures: skipped (no data under {data})")
        return
    rows = targets.finnsp_rows(data, "heldout")
    m = targets.evaluate(targets.load_default(), rows)
    a = targets.evaluate_analyzer(
        Analyzer.from_config(firm={"name": "华鼎证券"}, sentiment_model=model), rows
    )
    print(
        f"negative targets, finnsp held-out ({m['n_posts']} posts, {m['n_negative_pairs']} negative pairs): "
        f"entity F1 {m['entity_f1']:.3f} (P {m['entity_precision']:.3f} R {m['entity_recall']:.3f}), "
        f"post flag F1 {m['post_flag_f1']:.3f}; through Analyzer.analyze entity F1 {a['entity_f1']:.3f} "
        f"(P {a['entity_precision']:.3f} R {a['entity_recall']:.3f})"
    )
    if (data / "rumor").exists():
        r = rumor.evaluate(rumor.load_default(), rumor.rumor_rows(data, "heldout"))
        per = ", ".join(f"{k} {v['rumor_f1']:.3f} (n={v['n']})" for k, v in r.items())
        print(f"rumor model, rumor-class F1 on held-out rows: {per}")


if __name__ == "__main__":
    main()

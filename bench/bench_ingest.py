"""Ingest against analysis (yuqing/ingest.py): how much the store, events, near-duplicates and alerts add to
reading the posts, and whether the cost per post grows with what is stored. Prints figures, asserts nothing.

    yuqing bench ingest [--posts 20000] [--batch 500] [--records-url URL] [--workdir DIR] [--in-order] [--phases]
                        [--no-freeze]

Builds a fresh store (the embedded SQLite default; ``--records-url postgresql+psycopg://…``: the records in
a fresh schema of that database, dropped afterwards) and the realistic mix: real rows of ../shared/data's
finance and Weibo sets (:func:`distinct_texts`: shuffled, so every tenth holds the same mix; distinct up to
≈44,000 posts), 70 % naming the demo firm 华鼎证券 as keyword crawls bring them, one in ten a repost of an earlier post (near-duplicate groups), published over the last ``--hours`` hours, from the
stress bench's sources. One duty channel is configured, so serious new alerts are announced (outbox rows,
nothing is sent).

Then, with the same loaded model, in batches of ``--batch`` (``yuqing ingest``'s size):

- analysis: ``Analyzer.analyze`` alone, as ``yuqing analyze`` runs it;
- ingest: ``yuqing.ingest.ingest`` end to end (checks, analysis, events, near-duplicates, posts, alerts,
  evidence snapshots, audit rows, announcements), inside ``settled_start_up`` as `yuqing ingest` runs it
  (start-up's objects frozen out of the garbage collector's way; ``--no-freeze``: without).

Prints analysis and ingest posts/s, the ratio of ingest time to analysis time, the cost per post of the
last tenth of the posts against the first tenth (ingest, and ingest less analysis of the same batches),
the same in CPU time of the process (steadier than wall time on a machine shared with other work: compare
runs by it), and the process's peak RSS. ``--phases``: also the CPU time of each part of ingest per post
(analysis, events and their jieba keywords, the firm's volume, near-duplicates with their fingerprints and
lookup, the posts index with its tokens, alerts), over all posts, the first tenth and the last tenth.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a plain script
    sys.path.insert(0, str(ROOT))

from bench.bench_nlp import FIRM, texts  # noqa: E402
from bench.bench_stress import FIRM_TOML, SOURCES  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data"
CHANNEL_TOML = """
[notify]
announce_levels = ["I", "II"]

[[notify.channels]]
name = "值班群-企业微信"
kind = "wecom"
webhook_secret = "bench_wecom"
"""


INGEST_SETS = ("finfe", "stock_comments", "weibo_emotion", "weibo_senti", "chnsenticorp")


def distinct_texts(data: Path, n: int, seed: int, *, in_order: bool = False) -> tuple[list[str], str]:
    """``n`` texts of the realistic mix in an order whose every stretch holds the same mix.

    ``yuqing bench nlp``'s texts are its held-out rows, set after set (≈5,200 texts: 20,000 posts repeat
    each about four times, and the last tenth is all chnsenticorp's long hotel reviews, so "last tenth
    against first" measured text length as much as the store). Here every row of the finance and Weibo
    sets (held-out and training: accuracy is not measured, ≈44,000 distinct texts) is shuffled with the
    seed; a text repeats only beyond that. 70 % name the firm, as in ``bench nlp``.
    ``in_order``: ``bench nlp``'s texts as they are (the figures before this change)."""
    if in_order or not data.exists():
        return texts(data, n)
    from nlp.training.data import SENTIMENT_SETS, sentiment_rows

    rows: list[str] = []
    for ds in SENTIMENT_SETS:
        if ds.name in INGEST_SETS:
            for part in ("heldout", "train"):
                rows += [t for t, _ in sentiment_rows(data, ds, part, cap=False)]
    rows = list(dict.fromkeys(rows))
    random.Random(seed).shuffle(rows)
    distinct = len(rows)
    while len(rows) < n:
        rows += rows[:distinct]
    prefix = FIRM["short_names"][0]
    out = [f"{prefix}：{t}" if i % 10 < 7 else t for i, t in enumerate(rows[:n])]
    return out, f"{min(n, distinct):,} distinct rows of ../shared/data shuffled, 70 % naming the firm"


def realistic_posts(
    n: int, data: Path, hours: float, seed: int, *, in_order: bool = False
) -> tuple[list[dict[str, Any]], str]:
    """``n`` posts of the realistic mix, oldest first, published over the last ``hours`` hours."""
    rng = random.Random(seed)
    bodies, kind = distinct_texts(data, n, seed, in_order=in_order)
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    start = end - timedelta(hours=hours)
    posts: list[dict[str, Any]] = []
    for i, body in enumerate(bodies):
        if posts and rng.random() < 0.10:  # a repost of an earlier post, as on Weibo
            body = f"{rng.choice(['转发微博', '关注', '怎么回事'])}//@财经观察{rng.randint(1, 99)}: {rng.choice(posts)['text']}"
        source, family = rng.choice(SOURCES)
        at = start + timedelta(seconds=hours * 3600 * i / max(1, n) + rng.uniform(0, 60))
        posts.append(
            {
                "text": body,
                "title": "" if family in ("weibo", "guba", "xueqiu") else body[:20],
                "source": source,
                "source_family": family,
                "author": f"用户{rng.randint(1000, 99999)}",
                "url": f"https://{source}.example/bench-ingest/{seed}/{i}",
                "published_at": min(at, end).isoformat(),
                "reposts": int(rng.paretovariate(1.3)) - 1,
                "comments": int(rng.paretovariate(1.5)) - 1,
                "user_followers": int(rng.paretovariate(0.9) * 50),
            }
        )
    return posts, f"{kind}, 10 % reposts, over {hours:g} h"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def tenths(costs: list[tuple[int, float]], total: int) -> tuple[float, float]:
    """Seconds per post of the batches starting in the first and in the last tenth of the posts."""
    first = [(n, s) for start, n, s in _starts(costs) if start < total / 10] or [_starts(costs)[0][1:]]
    last = [(n, s) for start, n, s in _starts(costs) if start >= total * 9 / 10] or [_starts(costs)[-1][1:]]

    def per_post(part: list[tuple[int, float]]) -> float:
        return sum(s for _, s in part) / max(1, sum(n for n, _ in part))

    return per_post(first), per_post(last)


def _starts(costs: list[tuple[int, float]]) -> list[tuple[int, int, float]]:
    out, start = [], 0
    for n, s in costs:
        out.append((start, n, s))
        start += n
    return out


def fresh_schema(url: str) -> tuple[str, Any]:
    """A schema of our own in the PostgreSQL database ``url`` names; the URL that uses it, and a dropper."""
    from sqlalchemy import create_engine, text

    schema = f"bench_ingest_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))

    def drop() -> None:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}", drop


PHASES = (  # (module, owner attribute path, label): wrapped by --phases, timed in CPU seconds per batch
    ("nlp.analyzer", "Analyzer.analyze", "analysis"),
    ("nlp.events", "EventTracker.apply", "events"),
    ("nlp.events", "EventTracker.keywords", "  events: keywords (jieba)"),
    ("yuqing.ingest", "firm_volume", "  events: firm volume (bursts)"),
    ("yuqing.ingest", "store_batch", "store (one transaction)"),
    ("yuqing.ingest", "assign_near_dups", "  near-duplicates"),
    ("yuqing.ingest", "simhash", "    fingerprints (SimHash)"),
    ("store.neardup", "_stored_rows", "    lookup"),
    ("store.posts_sqlite", "SqlitePostIndex.write_many", "  posts index"),
    ("nlp.segment", "Segmenter.search_tokens", "    tokens (jieba)"),
    ("nlp.segment", "Segmenter.index_text", "    tokens (jieba)"),  # the same, joined per word
    ("yuqing.ingest", "_alert_written", "  alerts, evidence, audit"),
    ("yuqing.ingest", "check_post", "checks"),
)


class PhaseTimer:
    """CPU time per phase and batch, by wrapping the functions named in :data:`PHASES` (nested phases
    count in their parents too). Only while a batch is being ingested."""

    def __init__(self) -> None:
        import importlib

        self.current: dict[str, float] | None = None
        self.batches: list[tuple[int, dict[str, float]]] = []
        self._undo: list[tuple[Any, str, Any]] = []
        for module, path, label in PHASES:
            owner: Any = importlib.import_module(module)
            *parents, name = path.split(".")
            for part in parents:
                owner = getattr(owner, part)
            fn = owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)
            self._undo.append((owner, name, fn))
            setattr(owner, name, self._wrap(getattr(owner, name), label))

    def close(self) -> None:
        """Put the wrapped functions back."""
        for owner, name, fn in reversed(self._undo):
            setattr(owner, name, fn)
        self._undo.clear()

    def _wrap(self, fn: Any, label: str) -> Any:
        def timed(*args: Any, **kwargs: Any) -> Any:
            acc = self.current
            if acc is None:
                return fn(*args, **kwargs)
            c = time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                acc[label] = acc.get(label, 0.0) + time.process_time() - c

        return timed

    def start(self) -> None:
        self.current = {}

    def stop(self, n: int, cpu: float) -> None:
        assert self.current is not None
        self.current["ingest (all)"] = cpu
        self.batches.append((n, self.current))
        self.current = None

    def report(self, total: int) -> None:
        starts, at = [], 0
        for n, d in self.batches:
            starts.append((at, n, d))
            at += n
        every = [(n, d) for _, n, d in starts]
        parts = {  # as tenths(): the batches starting in the first and in the last tenth (else one batch)
            "all": every,
            "first tenth": [(n, d) for a, n, d in starts if a < total / 10] or every[:1],
            "last tenth": [(n, d) for a, n, d in starts if a >= total * 9 / 10] or every[-1:],
        }
        rest = "  rest of store: commit, announcements"
        for _, d in every:
            d[rest] = d.get("store (one transaction)", 0.0) - sum(
                d.get(k, 0.0) for k in ("  near-duplicates", "  posts index", "  alerts, evidence, audit")
            )

        def ms(part: list[tuple[int, dict[str, float]]], label: str) -> float:
            return 1000 * sum(d.get(label, 0.0) for _, d in part) / max(1, sum(n for n, _ in part))

        print(f"{'CPU ms/post by phase':40s}{'all':>12s}{'first tenth':>14s}{'last tenth':>14s}")
        labels = list(dict.fromkeys(label for _, _, label in PHASES))
        labels.insert(labels.index("checks"), rest)
        for label in ["ingest (all)", *labels]:
            print(
                f"  {label:38s}"
                + "".join(f"{ms(p, label):{w}.3f}" for p, w in zip(parts.values(), (12, 14, 14), strict=True))
            )
        print(
            f"  {'ingest less analysis':38s}"
            + "".join(
                f"{ms(p, 'ingest (all)') - ms(p, 'analysis'):{w}.3f}"
                for p, w in zip(parts.values(), (12, 14, 14), strict=True)
            )
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="yuqing bench ingest")
    ap.add_argument("--posts", type=int, default=20000)
    ap.add_argument("--batch", type=int, default=500, help="posts per ingest call (yuqing ingest: 500)")
    ap.add_argument("--hours", type=float, default=24.0, help="the posts are published over this many hours")
    ap.add_argument("--records-url", default="", help="PostgreSQL records (a fresh schema in this database)")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--workdir", type=Path, help="keep the config and store here (default: a temporary dir)")
    ap.add_argument(
        "--in-order",
        action="store_true",
        help="bench nlp's held-out texts set after set, repeated (the mix measured before the shuffle)",
    )
    ap.add_argument("--phases", action="store_true", help="also print CPU time per phase of ingest")
    ap.add_argument(
        "--no-freeze",
        action="store_true",
        help="ingest without settled_start_up's gc.freeze (yuqing ingest freezes start-up before its batches)",
    )
    args = ap.parse_args(argv)
    if args.posts < 1 or args.batch < 1:
        ap.error("--posts and --batch must be positive")

    from store.incoming import check_post
    from yuqing.config import load_settings
    from yuqing.context import build_context
    from yuqing.ingest import ingest, settled_start_up

    phases = PhaseTimer() if args.phases else None

    print(
        f"machine: {platform.machine()} {platform.system()} {os.cpu_count()} cpus, python {platform.python_version()}"
    )
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="yuqing-bench-ingest-"))
    workdir.mkdir(parents=True, exist_ok=True)
    drop = None
    records = "embedded SQLite (one file with the posts)"
    body = FIRM_TOML + CHANNEL_TOML
    if args.records_url:
        url, drop = fresh_schema(args.records_url)
        body = body.replace("[store]\n", f'[store]\nrecords_url = "{url}"\n')
        records = f"PostgreSQL {args.records_url.rsplit('@', 1)[-1]} (a fresh schema)"
    config = workdir / "yuqing.toml"
    config.write_text(body, encoding="utf-8")
    try:
        posts, kind = realistic_posts(args.posts, args.data, args.hours, args.seed, in_order=args.in_order)
        print(f"posts: {len(posts)} ({kind}); batches of {args.batch}; records: {records}")
        settings = load_settings(config)
        ctx = build_context(settings)
        try:
            analyzer = ctx.analyzer
            analyzer.analyze([dict(p) for p in posts[:50]])  # warm-up: lazy dictionaries, model sessions
            ctx.segmenter.cut("华鼎证券")  # start-up, not ingest: the store's jieba dictionary, the playbooks
            _ = ctx.playbooks

            batches = [posts[i : i + args.batch] for i in range(0, len(posts), args.batch)]
            analysis: list[tuple[int, float]] = []
            analysis_cpu: list[tuple[int, float]] = []
            for batch in batches:  # as `yuqing analyze` runs: check each post, analyse the batch
                t, c = time.perf_counter(), time.process_time()
                checked = [check_post(p, analysis=True).post for p in batch]
                analyzer.analyze([p for p in checked if p is not None])
                analysis.append((len(batch), time.perf_counter() - t))
                analysis_cpu.append((len(batch), time.process_time() - c))
            rss_analysis = peak_rss_mb()

            costs: list[tuple[int, float]] = []
            costs_cpu: list[tuple[int, float]] = []
            stored = flagged = opened = 0
            settled = nullcontext() if args.no_freeze else settled_start_up(ctx)  # as `yuqing ingest` runs
            with settled:
                for batch in batches:
                    if phases is not None:
                        phases.start()
                    t, c = time.perf_counter(), time.process_time()
                    report = ingest(batch, ctx=ctx)
                    costs.append((len(batch), time.perf_counter() - t))
                    costs_cpu.append((len(batch), time.process_time() - c))
                    if phases is not None:
                        phases.stop(len(batch), costs_cpu[-1][1])
                    stored += report.stored_new
                    flagged += report.flagged
                    opened += report.alerts_opened
        finally:
            ctx.close()
        t_analysis = sum(s for _, s in analysis)
        t_ingest = sum(s for _, s in costs)
        n = len(posts)
        print(f"stored {stored} new posts, {flagged} flagged, {opened} alerts opened")
        print(f"analysis: {n / t_analysis:,.0f} posts/s ({t_analysis:.1f} s)")
        print(f"ingest:   {n / t_ingest:,.0f} posts/s ({t_ingest:.1f} s)")
        print(f"ingest time / analysis time: {t_ingest / t_analysis:.2f}")
        first, last = tenths(costs, n)
        a_first, a_last = tenths(analysis, n)
        print(
            f"cost per post, last tenth / first tenth: {last / first:.2f} "
            f"({first * 1000:.2f} → {last * 1000:.2f} ms/post)"
        )
        over_first, over_last = first - a_first, last - a_last
        print(
            f"  less analysis (store, events, near-duplicates, alerts): {over_first * 1000:.2f} → "
            f"{over_last * 1000:.2f} ms/post"
        )
        per_batch = [s * 1000 / k for k, s in costs]
        print(
            f"  per batch: median {statistics.median(per_batch):.2f} ms/post, worst {max(per_batch):.2f} ms/post"
        )
        # CPU time of this process (all its threads): what the work costs, whatever else the machine runs
        c_analysis, c_ingest = sum(s for _, s in analysis_cpu), sum(s for _, s in costs_cpu)
        c_first, c_last = tenths(costs_cpu, n)
        ca_first, ca_last = tenths(analysis_cpu, n)
        print(
            f"CPU time: analysis {c_analysis:.1f} s, ingest {c_ingest:.1f} s ({n / c_ingest:,.0f} posts per "
            f"CPU-second), ingest / analysis {c_ingest / c_analysis:.2f}, last / first tenth "
            f"{c_last / c_first:.2f} ({c_first * 1000:.2f} → {c_last * 1000:.2f} ms/post; less analysis "
            f"{(c_first - ca_first) * 1000:.2f} → {(c_last - ca_last) * 1000:.2f})"
        )
        print(f"peak RSS: {peak_rss_mb():,.0f} MB (after analysis: {rss_analysis:,.0f} MB)")
        if phases is not None:
            phases.report(n)
        if settings.store.path.exists():
            size = sum(
                p.stat().st_size for p in settings.store.path.parent.glob(settings.store.path.name + "*")
            )
            print(f"store on disk: {size / 1e6:,.1f} MB")
        return 0
    finally:
        if phases is not None:
            phases.close()
        if drop is not None:
            drop()
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

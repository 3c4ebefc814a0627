"""Learning from the desk, simulated on the e2e world: verdicts on one half, measured on the other.

    yuqing bench feedback [--world NAME] [--train-part dev|holdout] [--json] [--verbose] [--workdir DIR]
                          [--config-extra FILE] [--learn-args "..."] [--no-rollback]

A world of ``yuqing bench e2e`` (bench/e2e/worlds/NAME; by default lanshan: 岚山证券, 122 items over the
eight source families, labels written by hand) is served on 127.0.0.1 for the whole run, and:

1. crawled into a fresh embedded store by the real spiders and ingest (``yuqing.crawl.crawl_sources``;
   the seen-store off so later crawls read everything again) → *before* figures per part;
2. the flagged items of the training part (dev by default) get desk verdicts from the officer's labels
   (the world's labels.yaml), through the desk's own service functions (playbooks/triage.py) as two desk
   users: a must-flag item is escalated (severity Ⅰ/Ⅱ) or acknowledged (Ⅲ/Ⅳ); any other flagged item
   is dismissed as 误报 with the label's ``why`` as the officer's reason. Missed items get no verdict
   (nobody saw them) and nothing of the other part is touched;
3. ``yuqing learn --as <manager>`` runs as a person would run it (its output is printed);
4. the world is crawled again into the same store: every post is analysed again, now with the layer
   the context reads from the records database → *after* figures;
5. ``yuqing learn --rollback`` and a third crawl → *after rollback* (should equal *before*).

Figures per part (the e2e bench's definitions): flagged, discovery rate (flagged ∩ must_flag /
must_flag), false-alarm rate (flagged ∩ no-action / no-action), precision; the training part's figures
are in-sample (its verdicts trained the layer), the other part's are the measure. ``--verbose`` lists
every decision the layer changed, with the reason it added. Figures are benchmarks, never tests.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import platform
import shlex
import sys
import tempfile
import time
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a plain script
    sys.path.insert(0, str(ROOT))

from bench.bench_e2e import LOOPBACK_SETTINGS, join, score  # noqa: E402
from bench.e2e.render import (  # noqa: E402
    DEFAULT_WORLD,
    config_dict,
    deep_merge,
    load_labels,
    load_world,
    render,
    world_names,
    world_paths,
    write_config,
)

OFFICER, MANAGER = "bench-duty", "bench-lead"
PASSWORD = "Bench-feedback-2026!"  # a throwaway store's throwaway accounts
KEYS = ("flagged", "discovery_rate", "false_alarm_rate", "precision")


def _crawl(config: Path, timeout: float) -> tuple[list[dict[str, Any]], float]:
    """Crawl every source into the store of ``config`` and return the stored posts (yuqing export)."""
    from yuqing.cli import main as yuqing_main
    from yuqing.config import load_settings
    from yuqing.context import build_context
    from yuqing.crawl import crawl_sources

    settings = load_settings(config)
    ctx = build_context(settings)
    t0 = time.perf_counter()
    try:
        crawl_sources(ctx, settings=dict(LOOPBACK_SETTINGS), timeout=timeout)
    finally:
        ctx.close()
    took = time.perf_counter() - t0
    export = config.parent / "posts.jsonl"
    with contextlib.redirect_stdout(io.StringIO()):
        rc = yuqing_main(["--config", str(config), "export", "--output", str(export)])
    if rc != 0:
        raise SystemExit(f"yuqing export failed (exit {rc})")
    posts = [json.loads(x) for x in export.read_text(encoding="utf-8").splitlines() if x.strip()]
    return posts, took


def _users(config: Path) -> None:
    from playbooks.users import create_user
    from yuqing.config import load_settings
    from yuqing.context import build_context

    ctx = build_context(load_settings(config))
    try:
        with ctx.records.session() as session:
            create_user(session, username=OFFICER, role="officer", password=PASSWORD, by="bench")
            create_user(session, username=MANAGER, role="manager", password=PASSWORD, by="bench")
    finally:
        ctx.close()


def give_verdicts(config: Path, run: dict[str, Any], part: str) -> dict[str, int]:
    """The officer's labels of the flagged items of ``part`` as desk verdicts (playbooks/triage.py)."""
    from playbooks import triage
    from playbooks.authz import Actor
    from store.records import alerts_for_posts
    from yuqing.config import load_settings
    from yuqing.context import build_context

    labels, items = run["labels"], run["rendered"].items
    stored, _ = join(run["posts"], items)
    officer = Actor(username=OFFICER, role="officer")
    flagged = {
        i: stored[i]["id"]
        for i in labels
        if labels[i]["split"] == part and i in stored and stored[i].get("flagged")
    }
    done = {"escalated": 0, "acknowledged": 0, "false_positive": 0, "no_alert": 0}
    ctx = build_context(load_settings(config))
    try:
        with ctx.records.session() as session:
            alerts = alerts_for_posts(session, post_ids=list(flagged.values()))
            for item_id, post_id in sorted(flagged.items()):
                alert = alerts.get(post_id)
                if alert is None:
                    done["no_alert"] += 1
                    continue
                lab = labels[item_id]
                if lab["must_flag"] and lab.get("severity") in ("I", "II"):
                    triage.escalate(session, alert.id, officer, note="基准模拟：值班员升级")
                    done["escalated"] += 1
                elif lab["must_flag"]:
                    triage.acknowledge(session, alert.id, officer)
                    done["acknowledged"] += 1
                else:
                    triage.mark_false_positive(session, alert.id, officer, lab["why"])
                    done["false_positive"] += 1
    finally:
        ctx.close()
    return done


def _learn(config: Path, extra: list[str]) -> tuple[int, str]:
    from yuqing.cli import main as yuqing_main

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
        rc = yuqing_main(["--config", str(config), "learn", "--as", MANAGER, *extra])
    return rc, buf.getvalue()


def _changes(run_before: dict, run_after: dict, part: str) -> list[dict[str, Any]]:
    labels, items = run_before["labels"], run_before["rendered"].items
    b, _ = join(run_before["posts"], items)
    a, _ = join(run_after["posts"], items)
    out = []
    for i in labels:
        if labels[i]["split"] != part or i not in b or i not in a:
            continue
        fb, fa = bool(b[i].get("flagged")), bool(a[i].get("flagged"))
        if fb != fa:
            layer = [r for r in a[i].get("reasons") or [] if r.startswith("本司反馈模型")]
            out.append(
                {
                    "id": i,
                    "kind": labels[i]["kind"],
                    "must_flag": labels[i]["must_flag"],
                    "before": fb,
                    "after": fa,
                    "right": fa == labels[i]["must_flag"],
                    "reason": layer[0] if layer else "",
                    "text": " ".join(((a[i].get("title") or "") + " " + (a[i].get("text") or "")).split())[
                        :60
                    ],
                }
            )
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="yuqing bench feedback",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument(
        "--world",
        default=DEFAULT_WORLD,
        choices=world_names(),
        help=f"the world under bench/e2e/worlds/ (default {DEFAULT_WORLD})",
    )
    ap.add_argument("--train-part", choices=("dev", "holdout"), default="dev", help="whose verdicts train")
    ap.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    ap.add_argument("--verbose", "-v", action="store_true", help="list every decision the layer changed")
    ap.add_argument("--workdir", help="keep the rendered site, config, store and exports here")
    ap.add_argument("--config-extra", help="TOML merged into the generated yuqing.toml")
    ap.add_argument(
        "--learn-args", default="", help='extra arguments for yuqing learn, e.g. "--min-kept 0.9"'
    )
    ap.add_argument("--no-rollback", action="store_true", help="skip the rollback and third crawl")
    ap.add_argument("--crawl-timeout", type=float, default=300.0)
    args = ap.parse_args(argv)

    from yuqing.localsite import LocalSite

    world_dir, labels_file = world_paths(args.world)
    world, labels = load_world(world_dir), load_labels(labels_file)
    workdir = Path(args.workdir).resolve() if args.workdir else Path(tempfile.mkdtemp(prefix="yuqing-fb-"))
    workdir.mkdir(parents=True, exist_ok=True)
    store = workdir / "e2e.db"
    for stale in workdir.glob("e2e.db*"):
        if stale.is_file():
            stale.unlink()
    rendered = render(world, workdir, datetime.now(UTC))
    extra: dict[str, Any] = {"crawl": {"seen_store": False}}  # every crawl reads (and analyses) all again
    if args.config_extra:
        with open(args.config_extra, "rb") as fh:
            extra = deep_merge(extra, tomllib.load(fh))
    eval_part = "holdout" if args.train_part == "dev" else "dev"
    parts = [args.train_part, eval_part]
    t_all = time.perf_counter()
    with LocalSite(workdir, {"routes": rendered.routes}) as site:
        data = deep_merge(config_dict(world, rendered, site.base_url, store), extra)
        config = write_config(data, workdir / "yuqing.toml", rendered.about_firm)
        base = {"labels": labels, "rendered": rendered, "world": world, "served_at": datetime.now(UTC)}

        posts, crawl_s = _crawl(config, args.crawl_timeout)
        before = {**base, "posts": posts}
        _users(config)
        verdicts = give_verdicts(config, before, args.train_part)
        rc, learn_out = _learn(config, shlex.split(args.learn_args))
        posts, crawl2_s = _crawl(config, args.crawl_timeout)
        after = {**base, "posts": posts}
        rolled = None
        rollback_out = ""
        if rc == 0 and not args.no_rollback:
            _, rollback_out = _learn(config, ["--rollback"])
            posts, _ = _crawl(config, args.crawl_timeout)
            rolled = {**base, "posts": posts}
    took = time.perf_counter() - t_all

    runs = {"before": before, "after": after} | ({"after_rollback": rolled} if rolled else {})
    scored = {name: {p: score(r, p) for p in parts} for name, r in runs.items()}
    figures = {
        name: {p: {k: sp[p][k] for k in (*KEYS, "must_flag")} for p in parts} for name, sp in scored.items()
    }
    changes = {p: _changes(before, after, p) for p in parts}
    if args.json:
        print(
            json.dumps(
                {
                    "train_part": args.train_part,
                    "eval_part": eval_part,
                    "verdicts": verdicts,
                    "learn_exit": rc,
                    "learn_output": learn_out,
                    "figures": figures,
                    "changes": changes,
                    "seconds": round(took, 1),
                },
                ensure_ascii=False,
                indent=1,
            )
        )
        return 0

    print(
        f"yuqing bench feedback — world {world.firm['name']}: verdicts on {args.train_part}, measured on "
        f"{eval_part}; {platform.machine()} {platform.python_version()}, {took:.0f} s in all "
        f"(crawls {crawl_s:.1f} s, {crawl2_s:.1f} s)"
    )
    print(
        f"verdicts given on {args.train_part} (its flagged items): 升级 {verdicts['escalated']}, "
        f"确认 {verdicts['acknowledged']}, 误报 {verdicts['false_positive']}"
        + (f", no alert found {verdicts['no_alert']}" if verdicts["no_alert"] else "")
    )
    print()
    print(f"$ yuqing learn --as {MANAGER} {args.learn_args}".rstrip() + f"   (exit {rc})")
    print("\n".join("  " + line for line in learn_out.rstrip().splitlines()))
    if rollback_out:
        print(f"$ yuqing learn --rollback --as {MANAGER}")
        print("\n".join("  " + line for line in rollback_out.rstrip().splitlines()))
    print()
    cols = list(runs)
    for p in parts:
        tag = (
            "in-sample: its verdicts trained the layer" if p == args.train_part else "never seen by the layer"
        )
        print(f"{p} ({tag}); must-flag {figures['before'][p]['must_flag']}")
        print(f"  {'':20s}" + "".join(f"{c:>16s}" for c in cols))
        for k in KEYS:
            cells = []
            for c in cols:
                v = figures[c][p][k]
                cells.append("—" if v is None else (str(v) if k == "flagged" else f"{v:.2f}"))
            print(f"  {k:20s}" + "".join(f"{x:>16s}" for x in cells))
        ch = changes[p]
        right = sum(1 for c in ch if c["right"])
        print(f"  decisions changed by the layer: {len(ch)} ({right} now right, {len(ch) - right} now wrong)")
        if args.verbose:
            for c in ch:
                what = "must-flag" if c["must_flag"] else "no action"
                print(
                    f"    {'✓' if c['right'] else '✗'} {c['id']} [{c['kind']}, {what}] "
                    f"{'flagged→not' if c['before'] else 'not→flagged'}: {c['text']}"
                )
                if c["reason"]:
                    print(f"      {c['reason']}")
        print()
    if args.workdir:
        print(f"kept: {workdir} (yuqing.toml, e2e.db, posts.jsonl, site/)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

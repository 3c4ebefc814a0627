"""End-to-end detection: a hand-written world of a fictional broker, crawled for real, scored against
a duty officer's labels. Prints figures, asserts nothing.

    yuqing bench e2e [--world NAME] [--part dev|holdout|all] [--json] [--verbose] [--workdir DIR]
                     [--config-extra FILE] [--polite] [--crawl-timeout S]

A world is a folder under bench/e2e/worlds/ (bench/e2e/README.md), each written by hand by a different
person: world/*.yaml and labels.yaml. ``lanshan`` (the default) is 岚山证券 (609688) and its
look-alikes: 122 items over all eight source families, each in the format its spider parses. The bench
renders the world into a temporary folder (times relative to now), serves it on 127.0.0.1 (yuqing.localsite),
writes a yuqing.toml with one [[sources]] per site and a fresh embedded store, runs the real crawl and
ingest (``yuqing.crawl.crawl_sources``, the function ``yuqing crawl`` and ``yuqing demo`` use: the
spiders in a child process, then analysis, store and alerts), exports the stored posts with
``yuqing export`` and joins them to the world's labels.yaml by the items' stable ids (platform id or URL
path). Labels were written by hand before anything was measured; ``dev`` items may be tuned on, the
``holdout`` items never.

Figures, for dev, holdout and all:

- items served / lost (served but not stored) / stored posts that match no item
- discovery rate: flagged ∩ must_flag / must_flag (a lost must-flag item is a miss)
- false-alarm rate: flagged ∩ ¬must_flag / ¬must_flag; precision: flagged ∩ must_flag / flagged
- topic accuracy: on flagged must-flag items, the desk's topic is the label's topic (or one it also
  accepts)
- rumor recall: of the items that spread a rumor, the share the desk read as rumor (falsity label),
  and the share it flagged as rumor
- level: on flagged must-flag items, the desk's level equals the label's severity / is within one step
- time from serving to flag: the flagged must-flag post's first_seen_at minus the moment the site
  started serving (median, max), i.e. crawl + analysis + store on this machine

and, per kind of item, how many were caught and how many falsely flagged. ``--verbose`` lists every
miss and false alarm with the desk's reasons and the officer's note. ``--json`` prints the same as one
JSON object. ``--config-extra FILE`` merges a TOML file into the generated config (tables key by key,
[[sources]] by name), so later work can switch options on. ``--workdir`` keeps the rendered site, the
config, the store and the export. By default the crawl runs with the tests' loopback settings (no
download delay, no autothrottle); ``--polite`` keeps the configured polite defaults instead.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import tomllib
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a plain script
    sys.path.insert(0, str(ROOT))

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

# as tests/crawlers/crawl_site.py: no politeness delays against the loopback site (robots.txt still obeyed)
LOOPBACK_SETTINGS = {
    "AUTOTHROTTLE_ENABLED": False,
    "DOWNLOAD_DELAY": 0,
    "RETRY_TIMES": 1,
    "DOWNLOAD_TIMEOUT": 10,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 8,
    "LOG_LEVEL": "INFO",
}
PARTS = ("dev", "holdout", "all")
LEVEL_RANK = {"I": 1, "II": 2, "III": 3, "IV": 4}


# ------------------------------------------------------------------------------------------------ run


def run_world(args: argparse.Namespace) -> dict[str, Any]:
    from yuqing.config import load_settings
    from yuqing.context import build_context
    from yuqing.crawl import crawl_sources
    from yuqing.localsite import LocalSite

    world_dir, labels_file = world_paths(args.world)
    world = load_world(world_dir)
    labels = load_labels(labels_file)
    workdir = Path(args.workdir).resolve() if args.workdir else Path(tempfile.mkdtemp(prefix="yuqing-e2e-"))
    workdir.mkdir(parents=True, exist_ok=True)
    store = workdir / "e2e.db"
    for stale in workdir.glob("e2e.db*"):  # a fresh store every run
        if stale.is_file():
            stale.unlink()
    rendered = render(world, workdir, datetime.now(UTC))
    unlabelled = sorted(set(rendered.items) - set(labels))
    unserved = sorted(set(labels) - set(rendered.items))
    if unlabelled or unserved:  # printed here: `yuqing bench` keeps only the exit status of SystemExit
        print(
            f"world and labels disagree: unlabelled {unlabelled}, labelled but not served {unserved}",
            file=sys.stderr,
        )
        raise SystemExit(1)
    extra: dict[str, Any] = {}
    if args.config_extra:
        with open(args.config_extra, "rb") as fh:
            extra = tomllib.load(fh)
    with LocalSite(workdir, {"routes": rendered.routes}) as site:
        served_at = datetime.now(UTC)
        data = deep_merge(config_dict(world, rendered, site.base_url, store), extra)
        config = write_config(data, workdir / "yuqing.toml", rendered.about_firm)
        settings = load_settings(config)
        ctx = build_context(settings)
        t0 = time.perf_counter()
        try:
            result = crawl_sources(
                ctx, settings=None if args.polite else dict(LOOPBACK_SETTINGS), timeout=args.crawl_timeout
            )
        finally:
            ctx.close()
        crawl_s = time.perf_counter() - t0
        requests = len(site.requests)
    export = workdir / "posts.jsonl"
    t1 = time.perf_counter()
    from yuqing.cli import main as yuqing_main

    quiet = open(Path(workdir / "export.log"), "w", encoding="utf-8")  # noqa: SIM115
    old_stdout, sys.stdout = sys.stdout, quiet
    try:
        rc = yuqing_main(["--config", str(config), "export", "--output", str(export)])
    finally:
        sys.stdout = old_stdout
        quiet.close()
    if rc != 0:
        print(f"yuqing export failed (exit {rc})", file=sys.stderr)
        raise SystemExit(1)
    export_s = time.perf_counter() - t1
    posts = [json.loads(line) for line in export.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {
        "world": world,
        "labels": labels,
        "rendered": rendered,
        "posts": posts,
        "served_at": served_at,
        "crawl": result,
        "crawl_s": crawl_s,
        "export_s": export_s,
        "requests": requests,
        "workdir": workdir,
        "kept": bool(args.workdir),
    }


# ------------------------------------------------------------------------------------------------ score


def item_keys(post: dict[str, Any]) -> list[str]:
    keys = []
    if post.get("site_id"):
        keys.append(str(post["site_id"]))
    for u in (post.get("url"), post.get("canonical_url")):
        if u:
            keys.append(urlsplit(u).path)
    return keys


def join(
    posts: list[dict[str, Any]], items: dict[str, Any]
) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    by_id: dict[str, dict[str, Any]] = {}
    unmatched = []
    for p in posts:
        hit = next((k for k in item_keys(p) if k in items), None)
        if hit is None:
            unmatched.append(p)
        elif hit not in by_id or (p.get("flagged") and not by_id[hit].get("flagged")):
            by_id[hit] = p
    return by_id, unmatched


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 3) if b else None


def _parse_time(s: str) -> datetime | None:
    if not s:
        return None
    try:
        dt = datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def score(run: dict[str, Any], part: str) -> dict[str, Any]:
    labels, items = run["labels"], run["rendered"].items
    ids = [i for i in labels if part == "all" or labels[i]["split"] == part]
    stored, _ = join(run["posts"], items)
    must = [i for i in ids if labels[i]["must_flag"]]
    nots = [i for i in ids if not labels[i]["must_flag"]]
    flagged = {i for i in ids if i in stored and stored[i].get("flagged")}
    hit = [i for i in must if i in flagged]
    fa = [i for i in nots if i in flagged]
    topic_ok = [
        i for i in hit if stored[i].get("topic") in {labels[i]["topic"], *(labels[i].get("also") or [])}
    ]
    rumors = [i for i in ids if labels[i]["rumor"]]
    read_rumor = [
        i for i in rumors if i in stored and (stored[i].get("falsity") or {}).get("label") == "rumor"
    ]
    flag_rumor = [i for i in read_rumor if i in flagged]
    lv = [
        (LEVEL_RANK.get(stored[i].get("level") or ""), LEVEL_RANK.get(labels[i]["severity"] or ""))
        for i in hit
    ]
    lv = [(a, b) for a, b in lv if a and b]
    delays = []
    for i in hit:
        t = _parse_time(stored[i].get("first_seen_at", ""))
        if t is not None:
            delays.append((t - run["served_at"]).total_seconds())
    by_kind: dict[str, Counter] = defaultdict(Counter)
    for i in ids:
        k = by_kind[labels[i]["kind"]]
        k["n"] += 1
        if labels[i]["must_flag"]:
            k["must"] += 1
            k["caught"] += i in flagged
        else:
            k["not"] += 1
            k["false_alarms"] += i in flagged
        k["lost"] += i not in stored
    by_family: dict[str, Counter] = defaultdict(Counter)
    for i in ids:
        f = by_family[items[i]["family"]]
        f["served"] += 1
        f["stored"] += i in stored
    return {
        "items_served": len(ids),
        "items_lost": sum(1 for i in ids if i not in stored),
        "must_flag": len(must),
        "not_must_flag": len(nots),
        "flagged": len(flagged),
        "discovery_rate": _ratio(len(hit), len(must)),
        "false_alarm_rate": _ratio(len(fa), len(nots)),
        "precision": _ratio(len(hit), len(flagged)),
        "topic_accuracy": _ratio(len(topic_ok), len(hit)),
        "rumor_items": len(rumors),
        "rumor_recall": _ratio(len(read_rumor), len(rumors)),
        "rumor_recall_flagged": _ratio(len(flag_rumor), len(rumors)),
        "level_exact": _ratio(sum(1 for a, b in lv if a == b), len(lv)),
        "level_within_one": _ratio(sum(1 for a, b in lv if abs(a - b) <= 1), len(lv)),
        "time_to_flag_median_s": round(statistics.median(delays), 1) if delays else None,
        "time_to_flag_max_s": round(max(delays), 1) if delays else None,
        "by_kind": {k: dict(v) for k, v in sorted(by_kind.items())},
        "by_family": {k: dict(v) for k, v in sorted(by_family.items())},
        "misses": [_case(i, labels, items, stored) for i in must if i not in flagged],
        "false_alarms": [_case(i, labels, items, stored) for i in fa],
        "wrong_topic": [_case(i, labels, items, stored) for i in hit if i not in topic_ok],
    }


def _case(i: str, labels: dict, items: dict, stored: dict) -> dict[str, Any]:
    lab, post = labels[i], stored.get(i)
    out = {
        "id": i,
        "family": items[i]["family"],
        "source": items[i]["source"],
        "kind": lab["kind"],
        "split": lab["split"],
        "label": {k: lab[k] for k in ("must_flag", "topic", "rumor", "severity")},
        "why": lab["why"],
    }
    if post is None:
        out["desk"] = "lost: served but not stored"
    else:
        out["desk"] = {
            "flagged": bool(post.get("flagged")),
            "level": post.get("level"),
            "topic": post.get("topic"),
            "sentiment": (post.get("sentiment") or {}).get("label"),
            "falsity": (post.get("falsity") or {}).get("label"),
            "targets": post.get("targets"),
            "reasons": post.get("reasons"),
            "text": " ".join(((post.get("title") or "") + " " + (post.get("text") or "")).split())[:90],
        }
    return out


# ------------------------------------------------------------------------------------------------ print

ROWS = [
    ("items served", "items_served", "d"),
    ("items lost (served, not stored)", "items_lost", "d"),
    ("must-flag / no action", None, "mf"),
    ("flagged", "flagged", "d"),
    ("discovery rate", "discovery_rate", "f"),
    ("false-alarm rate", "false_alarm_rate", "f"),
    ("precision", "precision", "f"),
    ("topic accuracy (flagged must-flag)", "topic_accuracy", "f"),
    ("rumor recall (read as rumor)", "rumor_recall", "f"),
    ("rumor recall (flagged as rumor)", "rumor_recall_flagged", "f"),
    ("level = severity", "level_exact", "f"),
    ("level within one step", "level_within_one", "f"),
    ("serve → flag, median s", "time_to_flag_median_s", "s"),
    ("serve → flag, max s", "time_to_flag_max_s", "s"),
]


def _fmt(v: Any, kind: str) -> str:
    if v is None:
        return "—"
    if kind == "f":
        return f"{v:.2f}"
    if kind == "s":
        return f"{v:.1f}"
    return str(v)


def print_report(
    run: dict[str, Any], figures: dict[str, dict[str, Any]], parts: list[str], verbose: bool
) -> None:
    rendered, world = run["rendered"], run["world"]
    stored, unmatched = join(run["posts"], rendered.items)
    fams = Counter(v["family"] for v in rendered.items.values())
    print(
        f"yuqing bench e2e — world: {world.firm['name']}（{'、'.join(world.firm['stock_codes'])}）, "
        f"{len(rendered.items)} items over {len(fams)} families, {len(rendered.sources)} sources on 127.0.0.1"
    )
    rep = run["crawl"].report
    print(
        f"crawl + analysis + store {run['crawl_s']:.1f} s ({run['requests']} requests, "
        f"{'polite defaults' if run.get('polite') else 'loopback settings'}), export {run['export_s']:.1f} s; "
        f"stored {len(run['posts'])} posts, {len(unmatched)} matching no item; {rep.summary()}"
    )
    head = f"{'':36s}" + "".join(f"{p:>10s}" for p in parts)
    print()
    print(head)
    for label, key, kind in ROWS:
        if kind == "mf":
            cells = [f"{figures[p]['must_flag']}/{figures[p]['not_must_flag']}" for p in parts]
        else:
            cells = [_fmt(figures[p][key], kind) for p in parts]
        print(f"{label:36s}" + "".join(f"{c:>10s}" for c in cells))
    print()
    print("by kind (" + " / ".join(parts) + "): must-flag caught, no-action falsely flagged")
    kinds = sorted({k for p in parts for k in figures[p]["by_kind"]})
    width = max([16, *(len(k) for k in kinds)])
    for k in kinds:
        cells = []
        for p in parts:
            c = figures[p]["by_kind"].get(k, {})
            s = []
            if c.get("must"):
                s.append(f"caught {c.get('caught', 0)}/{c['must']}")
            if c.get("not"):
                s.append(f"false {c.get('false_alarms', 0)}/{c['not']}")
            cells.append(", ".join(s) or "—")
        print(f"  {k:{width}s} " + " | ".join(f"{c:26s}" for c in cells))
    last = parts[-1]
    print()
    print(f"by family ({last}): stored / served")
    print("  " + ", ".join(f"{f} {c['stored']}/{c['served']}" for f, c in figures[last]["by_family"].items()))
    errors = {n: s for n, s in run["crawl"].stats.items() if isinstance(s, dict) and s.get("errors")}
    if errors:
        print("source errors:")
        for n, s in errors.items():
            for r in s.get("error_reasons", [])[:5]:
                print(f"  {n}: {r}")
    if verbose:
        for title, key in (
            ("misses", "misses"),
            ("false alarms", "false_alarms"),
            ("wrong topic", "wrong_topic"),
        ):
            cases = figures[last][key]
            print()
            print(f"{title} ({last}): {len(cases)}")
            for c in cases:
                d = c["desk"]
                lab = c["label"]
                print(
                    f"- {c['id']} [{c['family']}/{c['source']}] kind={c['kind']} split={c['split']} "
                    f"label: {'must' if lab['must_flag'] else 'no action'} {lab['topic'] or ''} "
                    f"{lab['severity'] or ''}{' rumor' if lab['rumor'] else ''} — {c['why']}"
                )
                if isinstance(d, str):
                    print(f"    desk: {d}")
                    continue
                print(
                    f"    desk: flagged={d['flagged']} level={d['level']} topic={d['topic']} "
                    f"sentiment={d['sentiment']} falsity={d['falsity']} targets={d['targets']}"
                )
                print(f"    reasons: {'；'.join(d['reasons'] or [])}")
                print(f"    text: {d['text']}")
    if run["kept"]:
        print()
        print(f"kept: {run['workdir']} (yuqing.toml, e2e.db, posts.jsonl, site/)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="yuqing bench e2e", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--world",
        default=DEFAULT_WORLD,
        choices=world_names(),
        help=f"the world under bench/e2e/worlds/ (default {DEFAULT_WORLD})",
    )
    ap.add_argument("--part", choices=PARTS, help="show one part only (default: dev, holdout and all)")
    ap.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    ap.add_argument("--verbose", "-v", action="store_true", help="list misses and false alarms with reasons")
    ap.add_argument("--workdir", help="keep the rendered site, config, store and export here")
    ap.add_argument("--config-extra", help="TOML merged into the generated yuqing.toml")
    ap.add_argument(
        "--polite", action="store_true", help="crawl with the polite defaults (slow: ~1 s a request)"
    )
    ap.add_argument(
        "--crawl-timeout", type=float, default=300.0, help="stop the crawl after this many seconds"
    )
    args = ap.parse_args(argv)
    run = run_world(args)
    run["polite"] = args.polite
    parts = [args.part] if args.part else list(PARTS)
    figures = {p: score(run, p) for p in parts}
    if args.json:
        out = {
            "world": run["world"].firm["name"],
            "items": len(run["rendered"].items),
            "sources": len(run["rendered"].sources),
            "crawl_s": round(run["crawl_s"], 1),
            "export_s": round(run["export_s"], 1),
            "stored_posts": len(run["posts"]),
            "source_errors": {
                n: s.get("error_reasons", [])
                for n, s in run["crawl"].stats.items()
                if isinstance(s, dict) and s.get("errors")
            },
            "parts": figures,
        }
        if run["kept"]:
            out["workdir"] = str(run["workdir"])
        print(json.dumps(out, ensure_ascii=False, indent=1))
    else:
        print_report(run, figures, parts, args.verbose)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

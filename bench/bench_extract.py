"""Article extraction against hand-written references: prints figures, asserts nothing.

    yuqing bench extract [--repeat 3] [--pages ../shared/pages] [--refs bench/extract_refs] [--show-diff]

Every reference in ``bench/extract_refs/<site>/<page>.json`` (written by hand from the saved page in
``../shared/pages``) is compared with what ``crawlers.extract.extract_article`` returns, three ways:

- ``site``: with the site's options from ``bench/extract_refs/sites.json`` (a configured source);
- ``generic``: no options (what a newly added site gets before anyone writes selectors);
- ``bare``: no options, on the page with every ``class`` and ``id`` attribute deleted, so the generic
  rules cannot lean on names like ``article`` or ``footer``: a check on how much of ``generic`` comes
  from text density alone, i.e. how it may fare on a site whose markup names nothing.

Per page: title exact match, published_at match (``=`` same instant, ``~`` same minute, ``x`` otherwise),
author exact match, body precision / recall / F1 over characters, line counts, and time per page.
Body figures are LCS-based: the longest common subsequence of the extracted and the reference body,
whitespace removed (so paragraph breaks do not count there; the line counts show them), divided by
the extracted length (precision) and by the reference length (recall). Order matters: a body with
the right characters in a scrambled order scores low.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a plain script
    sys.path.insert(0, str(ROOT))

from crawlers.extract import decode_html, extract_article, parse_datetime_obj  # noqa: E402

DEFAULT_PAGES = ROOT.parent / "shared" / "pages"
DEFAULT_REFS = ROOT / "bench" / "extract_refs"


def squeeze(text: str) -> str:
    """The characters that count: everything but whitespace."""
    return re.sub(r"\s+", "", text.replace("\u3000", " ").replace("\xa0", " "))


def lcs_length(a: str, b: str) -> int:
    """Length of the longest common subsequence, bit-parallel (Allison–Dix / Hyyrö): O(len·len/word)."""
    if not a or not b:
        return 0
    if len(a) < len(b):
        a, b = b, a
    masks: dict[str, int] = {}
    for i, ch in enumerate(a):
        masks[ch] = masks.get(ch, 0) | (1 << i)
    full = (1 << len(a)) - 1
    v = full
    for ch in b:
        u = v & masks.get(ch, 0)
        v = ((v + u) | (v - u)) & full
    return len(a) - v.bit_count()


def prf(extracted: str, reference: str) -> tuple[float, float, float]:
    got, ref = squeeze(extracted), squeeze(reference)
    common = lcs_length(got, ref)
    p = common / len(got) if got else (1.0 if not ref else 0.0)
    r = common / len(ref) if ref else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def time_match(got: str, want: str) -> str:
    a, b = parse_datetime_obj(got), parse_datetime_obj(want)
    if a is None or b is None:
        return "=" if not got and not want else "x"
    if a == b:
        return "="
    if abs((a - b).total_seconds()) < 60 and a.replace(second=0) == b.replace(second=0):
        return "~"
    return "x"


@dataclass
class Row:
    page: str
    mode: str
    title: bool
    time: str
    author: bool
    p: float
    r: float
    f: float
    lines: int
    ref_lines: int
    ms: float
    got: dict[str, str]
    ref: dict


def load_refs(refs_dir: Path) -> list[tuple[str, dict]]:
    out = []
    for path in sorted(refs_dir.glob("*/*.json")):
        out.append((f"{path.parent.name}/{path.stem}", json.loads(path.read_text(encoding="utf-8"))))
    return out


_CLASS_OR_ID = re.compile(r"""\s(?:class|id)\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]+)""", re.I)


def strip_class_and_id(html: str) -> str:
    return _CLASS_OR_ID.sub("", html)


def run_one(page_id: str, ref: dict, html: str, options: dict, mode: str, repeat: int) -> Row:
    times = []
    art: dict[str, str] = {}
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        art = extract_article(html, ref.get("url", ""), options)
        times.append(time.perf_counter() - t0)
    reference_body = "\n".join(ref["body"])
    p, r, f = prf(art["text"], reference_body)
    return Row(
        page=page_id,
        mode=mode,
        title=art["title"] == ref["title"],
        time=time_match(art["published_at"], ref["published_at"]),
        author=art["author"] == ref.get("author", ""),
        p=p,
        r=r,
        f=f,
        lines=len([line for line in art["text"].split("\n") if line.strip()]),
        ref_lines=len(ref["body"]),
        ms=statistics.median(times) * 1000,
        got=art,
        ref=ref,
    )


HEADER = f"{'page':<22} {'mode':<8} {'title':>5} {'time':>4} {'author':>6} {'P':>6} {'R':>6} {'F1':>6} {'lines':>7} {'ms':>7}"


def fmt(row: Row) -> str:
    yes = {True: "ok", False: "x"}
    return (
        f"{row.page:<22} {row.mode:<8} {yes[row.title]:>5} {row.time:>4} {yes[row.author]:>6} "
        f"{row.p:6.3f} {row.r:6.3f} {row.f:6.3f} {f'{row.lines}/{row.ref_lines}':>7} {row.ms:7.1f}"
    )


def summary(rows: list[Row], mode: str) -> str:
    sel = [r for r in rows if r.mode == mode]
    n = len(sel)
    if not n:
        return f"{'MEAN':<22} {mode:<8} (no pages)"
    titles = sum(r.title for r in sel)
    times = sum(r.time != "x" for r in sel)
    authors = sum(r.author for r in sel)
    return (
        f"{'MEAN (' + str(n) + ' pages)':<22} {mode:<8} {f'{titles}/{n}':>5} {f'{times}/{n}':>4} {f'{authors}/{n}':>6} "
        f"{statistics.mean(r.p for r in sel):6.3f} {statistics.mean(r.r for r in sel):6.3f} "
        f"{statistics.mean(r.f for r in sel):6.3f} {'':>7} {statistics.mean(r.ms for r in sel):7.1f}"
    )


def show_diff(row: Row) -> None:
    got, ref = row.got, row.ref
    if not row.title:
        print(f"  {row.page} [{row.mode}] title:  got {got['title']!r} want {ref['title']!r}")
    if row.time == "x":
        print(f"  {row.page} [{row.mode}] time:   got {got['published_at']!r} want {ref['published_at']!r}")
    if not row.author:
        print(f"  {row.page} [{row.mode}] author: got {got['author']!r} want {ref.get('author', '')!r}")
    ref_lines = {squeeze(x) for x in ref["body"]}
    extra = [x for x in got["text"].split("\n") if x.strip() and squeeze(x) not in ref_lines]
    missing = [x for x in ref["body"] if squeeze(x) not in {squeeze(y) for y in got["text"].split("\n")}]
    for x in extra[:8]:
        print(f"  {row.page} [{row.mode}] + {x[:70]}")
    for x in missing[:8]:
        print(f"  {row.page} [{row.mode}] - {x[:70]}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=3, help="extractions per page for the timing (median)")
    ap.add_argument("--pages", type=Path, default=DEFAULT_PAGES, help="the saved pages (../shared/pages)")
    ap.add_argument("--refs", type=Path, default=DEFAULT_REFS, help="hand-written references")
    ap.add_argument("--show-diff", action="store_true", help="print mismatching fields and body lines")
    args = ap.parse_args(argv)

    refs = load_refs(args.refs)
    sites = json.loads((args.refs / "sites.json").read_text(encoding="utf-8"))
    print(
        f"machine: {platform.machine()} {platform.system()} {os.cpu_count()} cpus, python {platform.python_version()}"
    )
    print(f"references: {len(refs)} hand-written in {args.refs}; pages from {args.pages}")
    if not (args.pages / "SOURCES.md").exists():
        print(f"saved pages not found at {args.pages}: nothing to measure")
        return 0
    print(
        "body P/R/F1: LCS of non-whitespace characters (extracted vs reference); "
        "time: '=' same instant, '~' same minute, 'x' wrong or missing; lines: extracted/reference; "
        f"ms: median of {args.repeat} extractions (decoding excluded)"
    )
    print(
        "modes: 'site' = with the site's options from sites.json; 'generic' = no options; "
        "'bare' = no options, every class/id attribute deleted from the page"
    )
    print()
    print(HEADER)
    rows: list[Row] = []
    for page_id, ref in refs:
        site = page_id.split("/")[0]
        path = args.pages / ref["page"]
        if not path.exists():
            print(f"{page_id:<22} (page missing: {path})")
            continue
        html, _ = decode_html(path.read_bytes())
        for mode, options in (("site", sites.get(site, {})), ("generic", {}), ("bare", {})):
            page_html = strip_class_and_id(html) if mode == "bare" else html
            row = run_one(page_id, ref, page_html, options, mode, args.repeat)
            rows.append(row)
            print(fmt(row))
    print()
    print(summary(rows, "site"))
    print(summary(rows, "generic"))
    print(summary(rows, "bare"))
    if args.show_diff:
        print()
        for row in rows:
            show_diff(row)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

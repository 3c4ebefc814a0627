"""Labelled batteries of short posts about one fictional broker (泰和证券): a quick development check of the
desk's analysis, in process, without crawling.

    python bench/e2e/battery.py                      # every battery: discovery and false alarms
    python bench/e2e/battery.py -v social            # + each miss and false alarm with the desk's reasons

A battery file holds one post per line: ``+ text`` (the duty officer must see it) or ``- text`` (no action),
optionally ``标题 ||| 正文``; ``#`` starts a comment. The files were written by hand (social.txt and
media.txt by two helpers who never read the desk's code, lead.txt by the lead) and the rules were then
written on their misses: these are development figures, not results (those are the blind worlds of
bench/e2e/README.md and the held-out batteries: `python bench/e2e/battery.py --heldout`, aggregate lines
only, never read line by line; fresh-d.txt, 238 near-miss lines by a helper who never read the code).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent / "batteries"
HELDOUT = Path(__file__).resolve().parent / "heldout"  # never read line by line: aggregate figures only
ROOT = Path(__file__).resolve().parents[2]

FIRM = {
    "name": "泰和证券股份有限公司",
    "short_names": ["泰和证券", "泰和"],
    "stock_codes": ["601990"],
    "executives": ["高志远", "林晓"],
    "products": ["泰和智投", "泰和稳盈1号", "稳盈1号"],
    "exclude": ["泰和医药"],
}
WATCH = [{"name": "泰和期货", "aliases": ["泰和期货有限公司"], "kind": "subsidiary"}]


def read(path: Path) -> list[tuple[bool, str, str]]:
    """(must_flag, title, text) per labelled line."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#") or line[:2] not in ("+ ", "- "):
            continue
        body = line[2:]
        title, text = body.split(" ||| ", 1) if " ||| " in body else ("", body)
        out.append((line[0] == "+", title, text))
    return out


def analyzer(rescue: str = "shipped"):
    """The desk's analyzer as `yuqing analyze` builds it (shipped models), for the battery's firm;
    ``rescue="none"``: without the learned second look (nlp/rescue.py)."""
    sys.path.insert(0, str(ROOT))
    from nlp.analyzer import Analyzer

    return Analyzer.from_config(firm=FIRM, watch=WATCH, rescue=rescue)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("names", nargs="*", help="battery names (files in bench/e2e/batteries), default all")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every miss and false alarm")
    ap.add_argument(
        "--heldout",
        action="store_true",
        help="the held-out batteries (bench/e2e/heldout): aggregate figures only",
    )
    ap.add_argument(
        "--no-rescue", action="store_true", help="the desk without its learned second look (nlp/rescue.py)"
    )
    args = ap.parse_args(argv)
    if args.heldout and args.verbose:
        ap.error("held-out batteries are never read line by line: no --verbose with --heldout")
    where = HELDOUT if args.heldout else HERE
    files = [where / f"{n}.txt" for n in args.names] or sorted(where.glob("*.txt"))
    an = analyzer("none" if args.no_rescue else "shipped")
    print(
        f"{'battery':<10} {'must':>5} {'found':>6} {'discovery':>10} {'harmless':>9} {'flagged':>8} {'false alarms':>13}"
    )
    for f in files:
        rows = read(f)
        out = an.analyze([{"title": t, "text": x, "source": "weibo"} for _, t, x in rows])
        must = sum(r[0] for r in rows)
        found = sum(1 for r, o in zip(rows, out, strict=True) if r[0] and o["flagged"])
        fa = sum(1 for r, o in zip(rows, out, strict=True) if not r[0] and o["flagged"])
        harmless = len(rows) - must
        print(
            f"{f.stem:<10} {must:>5} {found:>6} {found / max(must, 1):>10.2f} {harmless:>9} {fa:>8} "
            f"{fa / max(harmless, 1):>13.2f}"
        )
        if args.verbose:
            for (want, title, text), o in zip(rows, out, strict=True):
                if o["flagged"] != want:
                    tag = "MISS" if want else "FA  "
                    print(
                        f"  {tag} {(title + ' | ') if title else ''}{text[:100]}\n       {'；'.join(o['reasons'])}"
                    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

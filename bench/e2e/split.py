"""The dev / holdout split of the e2e world, by a fixed rule on the item id (labels.yaml: split_rule).

    python bench/e2e/split.py            # show the split and check that every kind is in both parts
    python bench/e2e/split.py --write    # fill the `split: ?` placeholders in labels.yaml (done once)

dev (~55 %) may be tuned on; holdout (~45 %) never. The rule is fixed; it is never re-run with another
salt to move an item, and items added later get their part by the same rule.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
LABELS = HERE / "labels.yaml"
SALT = "yuqing-e2e-v1:"
DEV_PERCENT = 55


def split_of(item_id: str) -> str:
    h = int(hashlib.sha1((SALT + item_id).encode("utf-8")).hexdigest()[:8], 16)
    return "dev" if h % 100 < DEV_PERCENT else "holdout"


_ID_LINE = re.compile(r'^\s*"([^"]+)":\s*$')
_KIND_LINE = re.compile(r"^\s+kind:\s*(\S+)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--write", action="store_true", help="fill the `split: ?` placeholders in labels.yaml")
    args = ap.parse_args(argv)
    lines = LABELS.read_text(encoding="utf-8").splitlines(keepends=True)
    current = None
    kinds: Counter = Counter()
    by_part: dict[str, Counter] = {"dev": Counter(), "holdout": Counter()}
    out = []
    for line in lines:
        m = _ID_LINE.match(line)
        if m:
            current = m.group(1)
        k = _KIND_LINE.match(line)
        if k and current:
            kinds[k.group(1)] += 1
            by_part[split_of(current)][k.group(1)] += 1
        if current and re.match(r"^\s+split:\s*\?\s*$", line):
            line = line.replace("?", split_of(current))
        out.append(line)
    n_dev, n_hold = sum(by_part["dev"].values()), sum(by_part["holdout"].values())
    print(f"dev {n_dev}, holdout {n_hold} of {n_dev + n_hold}")
    missing = []
    for kind in sorted(kinds):
        d, h = by_part["dev"][kind], by_part["holdout"][kind]
        print(f"  {kind:16s} dev {d:3d}  holdout {h:3d}")
        if not d or not h:
            missing.append(kind)
    if missing:
        print(f"kinds missing from a part: {', '.join(missing)}", file=sys.stderr)
    if args.write:
        LABELS.write_text("".join(out), encoding="utf-8")
        print(f"written: {LABELS}")
    return 1 if missing else 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The dev / holdout split of an e2e world, by a fixed rule on the item id (labels.yaml: split_rule).

    python bench/e2e/split.py [--world NAME]            # show the split; check every kind is in both parts
    python bench/e2e/split.py [--world NAME] --write    # fill the `split: ?` placeholders (done once a world)

dev may be tuned on; holdout never. The rule is the same for every world: an item is dev when the
first 8 hex digits of sha1(salt + id), mod 100, are below the world's dev percentage. Each world's
labels.yaml names its salt (``split_salt``: ``yuqing-e2e-v1:`` for lanshan, ``yuqing-e2e-<name>-v1:``
for later worlds) and may name its percentage (``split_dev_percent``; 55 when absent, as lanshan; 50 for
chicheng). The rule is fixed; it is never re-run with another salt to move an item, and items added
later get their part by the same rule.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_WORLD = "lanshan"
SALT = "yuqing-e2e-v1:"  # lanshan's salt (its labels.yaml says so too)
DEV_PERCENT = 55


def split_of(item_id: str, salt: str = SALT, dev_percent: int = DEV_PERCENT) -> str:
    h = int(hashlib.sha1((salt + item_id).encode("utf-8")).hexdigest()[:8], 16)
    return "dev" if h % 100 < dev_percent else "holdout"


_ID_LINE = re.compile(r'^\s*"([^"]+)":\s*$')
_KIND_LINE = re.compile(r"^\s+kind:\s*(\S+)")
_SALT_LINE = re.compile(r'^split_salt:\s*"([^"]+)"\s*$')
_PERCENT_LINE = re.compile(r"^split_dev_percent:\s*(\d{1,2})\s*$")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--world", default=DEFAULT_WORLD, help="the world under bench/e2e/worlds/")
    ap.add_argument("--write", action="store_true", help="fill the `split: ?` placeholders in labels.yaml")
    args = ap.parse_args(argv)
    labels = HERE / "worlds" / args.world / "labels.yaml"
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", args.world) or not labels.is_file():
        print(f"no e2e world {args.world!r} (bench/e2e/worlds/NAME/labels.yaml)", file=sys.stderr)
        return 2
    lines = labels.read_text(encoding="utf-8").splitlines(keepends=True)
    salts = [m.group(1) for line in lines if (m := _SALT_LINE.match(line))]
    if len(salts) != 1:
        print(f'{labels}: needs exactly one top-level split_salt: "…" line', file=sys.stderr)
        return 2
    salt = salts[0]
    percents = [int(m.group(1)) for line in lines if (m := _PERCENT_LINE.match(line))]
    dev_percent = percents[0] if percents else DEV_PERCENT

    def part(item_id: str) -> str:
        return split_of(item_id, salt, dev_percent)

    current = None
    kinds: Counter = Counter()
    by_part: dict[str, Counter] = {"dev": Counter(), "holdout": Counter()}
    must: dict[str, Counter] = {"dev": Counter(), "holdout": Counter()}
    wrong = []
    out = []
    for line in lines:
        m = _ID_LINE.match(line)
        if m:
            current = m.group(1)
        k = _KIND_LINE.match(line)
        if k and current:
            kinds[k.group(1)] += 1
            by_part[part(current)][k.group(1)] += 1
        if current and re.match(r"^\s+must_flag:\s*true\s*$", line):
            must[part(current)]["must"] += 1
        if current and re.match(r"^\s+split:\s*\?\s*$", line):
            line = line.replace("?", part(current))
        elif (
            current
            and (s := re.match(r"^\s+split:\s*(dev|holdout)\s*$", line))
            and s.group(1) != part(current)
        ):
            wrong.append(current)
        out.append(line)
    n_dev, n_hold = sum(by_part["dev"].values()), sum(by_part["holdout"].values())
    print(
        f"world {args.world} (salt {salt!r}, dev below {dev_percent}): dev {n_dev} ({must['dev']['must']} must-flag), "
        f"holdout {n_hold} ({must['holdout']['must']} must-flag) of {n_dev + n_hold}"
    )
    missing = []
    width = max([16, *(len(k) for k in kinds)])
    for kind in sorted(kinds):
        d, h = by_part["dev"][kind], by_part["holdout"][kind]
        print(f"  {kind:{width}s} dev {d:3d}  holdout {h:3d}")
        if not d or not h:
            missing.append(kind)
    if missing:
        print(f"kinds missing from a part: {', '.join(missing)}", file=sys.stderr)
    if wrong:
        print(f"split fields that disagree with the rule: {', '.join(wrong)}", file=sys.stderr)
    if args.write:
        labels.write_text("".join(out), encoding="utf-8")
        print(f"written: {labels}")
    return 1 if missing or wrong else 0


if __name__ == "__main__":
    raise SystemExit(main())

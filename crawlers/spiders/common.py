"""Small parsers several source families share (their one home: spiders never import each other)."""

from __future__ import annotations

import re
from typing import Any

_COUNT_RE = re.compile(r"^\s*([\d.,]+)\s*(万|w|W|亿)?\+?\s*$")


def parse_count(value: Any) -> int:
    """Counts as sites give them: ints, or strings such as ``"1.2万"``, ``"3亿"``, ``"100万+"``, ``"1,234"``."""
    if value is None or isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return max(value, 0)
    if isinstance(value, float):
        return max(int(value), 0)
    m = _COUNT_RE.match(str(value))
    if not m:
        return 0
    try:
        number = float(m.group(1).replace(",", ""))
    except ValueError:
        return 0
    unit = m.group(2)
    if unit in ("万", "w", "W"):
        number *= 10_000
    elif unit == "亿":
        number *= 100_000_000
    return int(round(number))


def str_list(value: Any) -> list[str]:
    """A list option as strings: one value (``"华鼎证券"``, ``609999``) is a list of one; blanks dropped."""
    if value is None:
        return []
    if isinstance(value, str | int):
        value = [value]
    return [str(v).strip() for v in value if str(v).strip()]

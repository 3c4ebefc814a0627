"""What the analyzer reads: a post's text with traditional characters, full-width letters and the
common miswriting 证劵 brought to the forms the models, the watch list and the rules know.

Hong Kong media write 雲夢證券董事長遭留置, Taiwanese forums 證券, a post dodging a filter writes ＹＭ证券;
each is one character for one character (the text keeps its length, so every span the analysis reports
points at the same place in the stored text, which is never changed).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

_TABLE = Path(__file__).with_name("t2s.txt")
# full-width digits and letters (not punctuation: ，。！？ are the clause marks the rules read) and ％
_WIDE = {
    c: c - 0xFEE0 for c in (*range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B), 0xFF05)
}
# characters people write for another in a firm's name (证劵 for 证券)
_MISWRITTEN = {ord("劵"): "券"}


@lru_cache(maxsize=1)
def _changed() -> frozenset[str]:
    """Every character the table changes: most posts have none, and looking is cheaper than translating."""
    return frozenset(chr(c) for c in _table())


@lru_cache(maxsize=1)
def _table() -> dict[int, str | int]:
    table: dict[int, str | int] = {}
    for line in _TABLE.read_text(encoding="utf-8").splitlines():
        if len(line) == 2 and not line.startswith("#"):
            table[ord(line[0])] = line[1]
    table.update(_WIDE)
    table.update(_MISWRITTEN)
    return table


def simplified(text: str) -> str:
    """``text`` in simplified characters, half-width letters and digits, 证券 for 证劵; same length."""
    if not text or text.isascii() or _changed().isdisjoint(text):
        return text
    return text.translate(_table())

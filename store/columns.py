"""In-memory columns of the posts table, so filters, ordering and facet counts are array operations.

Why: SQLite answers "which posts match 华鼎证券" quickly (FTS5), but counting a few hundred thousand
matches by source, sentiment, level and day, or ordering them by severity, costs one B-tree lookup
per matching row, which at a million posts is seconds. Here the handful of small columns the desk
filters and counts on live in numpy arrays indexed by rowid (~20 bytes a post, 20 MB at 1M), kept
current from the ``change_seq`` column every writer bumps, so another process's writes (the crawler)
are seen on the next query. SQLite stays the only store of record; this is a cache of it.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np

from store.times import parse_instant

NO_TIME = -(2**62)  # posts with no known time sort last, like '' in the SQL path
DAY = 86_400
BEIJING = 8 * 3600


def epoch(value: str | None) -> int | None:
    """Naive-UTC ISO text (the ``sort_time`` column, or a since/until bound) → epoch seconds."""
    dt = parse_instant(value)
    return None if dt is None else int(dt.timestamp())


class _Codes:
    """Strings ↔ small ints for one column (sources, sentiments, levels)."""

    def __init__(self) -> None:
        self.names: list[str | None] = []
        self.index: dict[str | None, int] = {}

    def code(self, name: str | None) -> int:
        c = self.index.get(name)
        if c is None:
            c = self.index[name] = len(self.names)
            self.names.append(name)
        return c

    def codes(self, names: Sequence[str]) -> np.ndarray:
        return np.array([self.index[n] for n in names if n in self.index], dtype=np.int32)


class PostColumns:
    """The cached columns and the queries answered from them."""

    # sort_time as epoch seconds computed by SQLite: parsing a million ISO strings in Python took 10 s
    FIELDS = (
        "rowid, drill, flagged, source, sentiment_label, level, level_rank, "
        "CAST(strftime('%s', nullif(sort_time, '')) AS INTEGER), change_seq"
    )

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seq = -1
        self.size = 0
        self.present = np.zeros(0, dtype=bool)
        self.drill = np.zeros(0, dtype=bool)
        self.flagged = np.zeros(0, dtype=bool)
        self.source = np.zeros(0, dtype=np.int32)
        self.sentiment = np.zeros(0, dtype=np.int32)
        self.level = np.zeros(0, dtype=np.int32)
        self.rank = np.zeros(0, dtype=np.int8)
        self.time = np.zeros(0, dtype=np.int64)
        self.sources, self.sentiments, self.levels = _Codes(), _Codes(), _Codes()

    # ----------------------------------------------------------------- keeping current

    def refresh(self, conn: sqlite3.Connection) -> None:
        """Pull rows changed since the last look (all rows the first time). Call with ``lock`` held."""
        top = conn.execute("SELECT max(change_seq) FROM posts").fetchone()[0]
        top = -1 if top is None else int(top)
        if top < self.seq:  # the file was replaced (restore): start again
            self.__init__()
        if top == self.seq:
            return
        # answered from the covering index posts_columns alone: ~60 bytes a row instead of the whole post
        rows = conn.execute(
            f"SELECT {self.FIELDS} FROM posts INDEXED BY posts_columns WHERE change_seq > ?", (self.seq,)
        ).fetchall()
        if not rows:
            self.seq = top
            return
        rowid, drill, flagged, source, sentiment, level, rank, t, seq = zip(
            *rows, strict=True
        )  # columns, in C
        ids = np.array(rowid, dtype=np.int64)
        if int(ids.max()) >= self.size:
            self._grow(max(int(ids.max()) + 1, int(self.size * 1.5)))
        self.present[ids] = True
        self.drill[ids] = np.array(drill, dtype=bool)
        self.flagged[ids] = np.array(flagged, dtype=bool)
        self.source[ids] = self._encode(self.sources, source)
        self.sentiment[ids] = self._encode(self.sentiments, sentiment)
        self.level[ids] = self._encode(self.levels, level)
        self.rank[ids] = np.array(rank, dtype=np.int8)
        self.time[ids] = np.array([NO_TIME if v is None else v for v in t], dtype=np.int64)
        self.seq = max(top, max(seq))

    @staticmethod
    def _encode(codes: _Codes, values: tuple) -> np.ndarray:
        index = codes.index
        return np.fromiter(
            (index[v] if v in index else codes.code(v) for v in (v or None for v in values)),
            dtype=np.int32,
            count=len(values),
        )

    def _grow(self, n: int) -> None:
        for name in ("present", "drill", "flagged", "source", "sentiment", "level", "rank", "time"):
            old = getattr(self, name)
            new = np.zeros(n, dtype=old.dtype)
            new[: len(old)] = old
            setattr(self, name, new)
        self.size = n

    # ----------------------------------------------------------------- answering

    def select(
        self,
        rowids: np.ndarray | None,
        *,
        levels: Sequence[str] | None,
        sources: Sequence[str] | None,
        sentiments: Sequence[str] | None,
        flagged: bool | None,
        drill: bool | None,
        since: int | None,
        until: int | None,
    ) -> np.ndarray:
        """Rowids (ascending) that pass the filters; ``rowids`` = full-text matches, None = all posts."""
        if rowids is None:
            idx = np.flatnonzero(self.present)
        else:
            idx = rowids[(rowids < self.size)]
            idx = idx[self.present[idx]]
        mask = np.ones(len(idx), dtype=bool)
        for values, codes, col in (
            (levels, self.levels, self.level),
            (sources, self.sources, self.source),
            (sentiments, self.sentiments, self.sentiment),
        ):
            if values:
                mask &= np.isin(col[idx], codes.codes(values))
        if flagged is not None:
            mask &= self.flagged[idx] == bool(flagged)
        if drill is not None:
            mask &= self.drill[idx] == bool(drill)
        if since is not None:
            mask &= self.time[idx] >= since
        if until is not None:
            mask &= self.time[idx] < until  # like SQL's '' < until: posts without a time pass
        return idx[mask]

    def top(self, idx: np.ndarray, *, order: str, offset: int, limit: int) -> list[int]:
        """Rowids of one page: severity (rank, newest first) or newest; ties: newest rowid first."""
        need = offset + limit
        if need <= 0 or len(idx) == 0:
            return []
        t = np.maximum(self.time[idx], -1)  # unknown time: before every real one
        primary = -t
        if order == "severity":
            primary = primary + (self.rank[idx].astype(np.int64) << 34)
        if len(idx) > need:
            kth = np.partition(primary, need - 1)[need - 1]
            cand = idx[primary <= kth]
        else:
            cand = idx
        ct = np.maximum(self.time[cand], -1)
        keys = (-cand, -ct, self.rank[cand]) if order == "severity" else (-cand, -ct)
        ordered = cand[np.lexsort(keys)]
        return [int(r) for r in ordered[offset:need]]

    def counts(self, idx: np.ndarray) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for key, codes, col in (
            ("source", self.sources, self.source),
            ("sentiment", self.sentiments, self.sentiment),
            ("level", self.levels, self.level),
        ):
            bins = np.bincount(col[idx], minlength=len(codes.names)) if len(idx) else []
            out[key] = {}
            for code, n in enumerate(bins):
                if n:
                    name = codes.names[code] or "—"
                    out[key][name] = out[key].get(name, 0) + int(n)
        t = self.time[idx]
        t = t[t != NO_TIME]
        days: dict[str, int] = {}
        if len(t):
            d = (t + BEIJING) // DAY
            uniq, n = np.unique(d, return_counts=True)
            for day, c in zip(uniq.tolist(), n.tolist(), strict=True):
                days[datetime.fromtimestamp(day * DAY, UTC).date().isoformat()] = c
        out["day"] = days
        return out


__all__ = ["PostColumns", "epoch"]

"""The embedded posts index: one SQLite file, FTS5 over jieba tokens.

Documents are indexed with search-mode tokens (中信证券 → 中信证券, 中信, 证券) and queries are cut in
precise mode, every query token quoted, so 中信证券 and 证券 both find a post that says 中信证券 and
no search box input can reach FTS5's query syntax.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from store.columns import PostColumns, epoch
from store.models import LEVELS, PostRecord, dumps, level_rank, utcnow_iso
from store.times import parse_instant

MAX_QUERY_CHARS = 200
READ_CHUNK = 500  # ids per IN list when a batch reads its stored rows (well under SQLite's variable limit)
SQLITE_CACHE_KIB = 65_536  # page cache per connection (SQLite's default: 2 MiB); as store.records


class Tokenizer(Protocol):
    def search_tokens(self, text: str) -> list[str]: ...

    def cut(self, text: str) -> list[str]: ...


class StoreUnavailable(Exception):
    """The posts index cannot be reached or written; the message says why."""


class PostsRejected(ValueError):
    """The engine refused documents for what they hold (not an outage): retrying them cannot help.

    ``results`` has one :class:`UpsertResult` per post handed in, when the engine said which; a refused
    post's ``error`` says why.
    """

    def __init__(self, message: str, results: list[UpsertResult] | None = None):
        super().__init__(message)
        self.results = results or []


@dataclass
class UpsertResult:
    id: str
    created: bool
    changed: bool
    error: str = ""  # why this post was not written ("": written, or unchanged)
    retry: bool = False  # with ``error``: the engine could not take it now (an outage for this post)

    @property
    def written(self) -> bool:
        return not self.error


def raise_for_errors(results: list[UpsertResult]) -> list[UpsertResult]:
    """``upsert_many``'s contract over ``write_many``: every post written, or an exception that says which
    were not (``StoreUnavailable`` when any could not be taken now, else ``PostsRejected``)."""
    failed = [r for r in results if r.error]
    if not failed:
        return results
    summary = "; ".join(f"{r.id}: {r.error}" for r in failed[:5])
    if any(r.retry for r in failed):
        raise StoreUnavailable(f"posts index could not take {len(failed)} posts: {summary}")
    raise PostsRejected(f"存储拒收 {len(failed)} 条：{summary}", results)


# errors that say a value could not be written, not that the database is unavailable
_DATA_ERRORS: tuple[type[Exception], ...] = (
    sqlite3.InterfaceError,  # a parameter that cannot be bound
    sqlite3.IntegrityError,
    sqlite3.DataError,
    sqlite3.ProgrammingError,
    sqlite3.NotSupportedError,
    OverflowError,  # an integer beyond 64 bits
    UnicodeEncodeError,  # a lone surrogate
    TypeError,
    ValueError,
)
_INT64 = (-(2**63), 2**63 - 1)


@dataclass
class SearchPage:
    total: int
    items: list[PostRecord]
    note: str = ""  # a message for the person searching (e.g. query shortened)


_JSON_FIELDS = ("sentiment", "targets", "negative_targets", "falsity", "reasons")
_JSON_SET = frozenset(_JSON_FIELDS)
_COLUMNS = [n for n in PostRecord.field_names() if n != "id"]
_STORED = ("id", *_COLUMNS)  # what _unstorable checks

_COLUMN_TYPES = {
    "text": "TEXT NOT NULL",
    "reposts": "INTEGER",
    "comments": "INTEGER",
    "likes": "INTEGER",
    "user_followers": "INTEGER",
    "user_verified": "INTEGER",
    "flagged": "INTEGER",
    "drill": "INTEGER",
}
_COLUMN_DEFS = ",\n    ".join(f"{c} {_COLUMN_TYPES.get(c, 'TEXT')}" for c in _COLUMNS)

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS posts (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    {_COLUMN_DEFS},
    sentiment_label TEXT,
    level_rank INTEGER NOT NULL DEFAULT 9,
    sort_time TEXT,
    change_seq INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS posts_queue ON posts(flagged, level_rank, sort_time DESC);
CREATE INDEX IF NOT EXISTS posts_source ON posts(source);
CREATE INDEX IF NOT EXISTS posts_hash ON posts(content_hash);
-- the column cache (store/columns.py) reads only this index: first load and every "what changed"
CREATE INDEX IF NOT EXISTS posts_columns
    ON posts(change_seq, drill, flagged, source, sentiment_label, level, level_rank, sort_time);
CREATE VIRTUAL TABLE IF NOT EXISTS posts_fts USING fts5(tokens, tokenize = 'unicode61 remove_diacritics 0');
"""


class SqlitePostIndex:
    """Posts in one SQLite file. Thread-safe: one connection per thread."""

    def __init__(self, path: str | Path, tokenizer: Tokenizer, *, columnar: bool = True):
        self.path = Path(path)
        self.tokenizer = tokenizer
        self._local = threading.local()
        # filters, order and counts from in-memory columns (store/columns.py); False: plain SQL
        self._cols = PostColumns() if columnar else None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._add_change_seq()
            self._conn().executescript(_SCHEMA)
            self._add_missing_columns()
        except (sqlite3.Error, OSError) as exc:
            raise StoreUnavailable(f"cannot open posts index {self.path}: {exc}") from exc

    def _add_change_seq(self) -> None:
        """A store made before ``change_seq`` existed gains it (every row 0: all read on first use)."""
        conn = self._conn()
        have = {r["name"] for r in conn.execute("PRAGMA table_info(posts)").fetchall()}
        if have and "change_seq" not in have:
            conn.execute("ALTER TABLE posts ADD COLUMN change_seq INTEGER NOT NULL DEFAULT 0")

    def _add_missing_columns(self) -> None:
        """A store made before a PostRecord field existed (e.g. ``simhash``, ``dup_of``) gains its column."""
        conn = self._conn()
        have = {r["name"] for r in conn.execute("PRAGMA table_info(posts)").fetchall()}
        for c in _COLUMNS:
            if c not in have:
                conn.execute(f"ALTER TABLE posts ADD COLUMN {c} {_COLUMN_TYPES.get(c, 'TEXT')}")

    # ----------------------------------------------------------------- connection

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=30000")
            conn.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")  # 2 MiB by default (store/records.py)
            self._local.conn = _Txn(conn)
            conn = self._local.conn
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.raw.close()
            self._local.conn = None

    # ----------------------------------------------------------------- writing

    def upsert_many(self, posts: Iterable[PostRecord]) -> list[UpsertResult]:
        """Insert new posts and update known ones (same id) in one transaction; every post or an exception
        (:func:`raise_for_errors`)."""
        return raise_for_errors(self.write_many(posts))

    def write_many(
        self, posts: Iterable[PostRecord], *, connection: sqlite3.Connection | None = None
    ) -> list[UpsertResult]:
        """Insert new posts and update known ones (same id) in one transaction; one result per post.

        A post whose values cannot be stored (an integer beyond 64 bits, text that cannot be encoded) is
        not written: its result's ``error`` says why, and the others are written. ``connection``: write
        inside that connection's transaction (the records database's, when it is this same file, so posts
        and their alerts commit together; ``yuqing.ingest``) instead of one of our own; the caller commits.

        Raises StoreUnavailable when the file cannot be written (locked past the timeout, disk full, I/O
        error, not a database) and PostsRejected when SQLite refuses the batch for what it holds.
        """
        results: list[UpsertResult] = []
        now = utcnow_iso()
        try:
            if connection is not None:
                self._write(_Borrowed(connection), posts, now, results)
            else:
                with self._conn() as conn:
                    self._write(conn, posts, now, results)
        except _DATA_ERRORS as exc:
            raise PostsRejected(f"posts index refused the batch: {type(exc).__name__}: {exc}") from exc
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"cannot write posts index {self.path}: {exc}") from exc
        return results

    def _write(self, conn: _Txn | _Borrowed, posts: Iterable[PostRecord], now: str, out: list) -> None:
        # every write bumps change_seq (inside the IMMEDIATE transaction: one writer at a time),
        # so column caches in other processes see exactly which rows changed
        self._seq = int(conn.execute("SELECT coalesce(max(change_seq), 0) FROM posts").fetchone()[0])
        posts = list(posts)
        if len({p.id for p in posts}) != len(posts):  # the same post twice: each sees the one before
            self._write_each(conn, posts, now, out)
        else:
            self._write_distinct(conn, posts, now, out)

    def _write_each(self, conn: _Txn | _Borrowed, posts: list[PostRecord], now: str, out: list) -> None:
        """One post at a time, each reading its stored row."""
        for post in posts:
            problem = _unstorable(post)
            if problem:
                out.append(UpsertResult(post.id, created=False, changed=False, error=problem))
                continue
            out.append(self._upsert_one(conn, post, now))

    def _write_distinct(self, conn: _Txn | _Borrowed, posts: list[PostRecord], now: str, out: list) -> None:
        """Posts with distinct ids in a few statements: the stored rows read at once, the new posts and
        their index entries inserted with ``executemany`` (rowids given as SQLite would choose them, one
        past the largest, inside the write transaction), known ones updated one by one as before."""
        stored: dict[str, sqlite3.Row] = {}
        ids = [p.id for p in posts]
        for k in range(0, len(ids), READ_CHUNK):
            chunk = ids[k : k + READ_CHUNK]
            for row in conn.execute(
                "SELECT rowid, id, first_seen_at, content_hash, level, reposts, comments, likes FROM posts "
                f"WHERE id IN ({', '.join('?' for _ in chunk)})",
                chunk,
            ):
                stored[row["id"]] = row
        rows: list[tuple] = []
        tokens: list[tuple[int, str]] = []
        cols: list[str] = []
        rowid = 0
        for post in posts:
            problem = _unstorable(post)
            if problem:
                out.append(UpsertResult(post.id, created=False, changed=False, error=problem))
                continue
            row = stored.get(post.id)
            if row is not None:
                out.append(self._upsert_one(conn, post, now, row=row))
                continue
            post.updated_at = now
            post.first_seen_at = post.first_seen_at or now
            values = _to_row(post)
            self._seq += 1
            values["change_seq"] = self._seq
            if not rows:
                cols = list(values)
                rowid = int(conn.execute("SELECT coalesce(max(rowid), 0) FROM posts").fetchone()[0])
            rowid += 1
            rows.append((rowid, post.id, *values.values()))
            tokens.append((rowid, self._index_text(post)))
            out.append(UpsertResult(post.id, created=True, changed=True))
        if rows:
            conn.executemany(
                f"INSERT INTO posts (rowid, id, {', '.join(cols)}) VALUES (?, ?, {', '.join('?' for _ in cols)})",
                rows,
            )
            conn.executemany("INSERT INTO posts_fts (rowid, tokens) VALUES (?, ?)", tokens)

    def _upsert_one(
        self, conn: _Txn | _Borrowed, post: PostRecord, now: str, *, row: sqlite3.Row | None = None
    ) -> UpsertResult:
        """One post; ``row``: its stored row, already read (the post is known)."""
        if row is None:
            row = conn.execute(
                "SELECT rowid, first_seen_at, content_hash, level, reposts, comments, likes FROM posts "
                "WHERE id = ?",
                (post.id,),
            ).fetchone()
        post.updated_at = now
        if row is None:
            post.first_seen_at = post.first_seen_at or now
        else:
            post.first_seen_at = row["first_seen_at"] or now
        values = _to_row(post)
        self._seq += 1
        values["change_seq"] = self._seq
        if row is None:
            cols = list(values)
            cur = conn.execute(
                f"INSERT INTO posts (id, {', '.join(cols)}) VALUES (?, {', '.join('?' for _ in cols)})",
                (post.id, *values.values()),
            )
            conn.execute(
                "INSERT INTO posts_fts (rowid, tokens) VALUES (?, ?)", (cur.lastrowid, self._index_text(post))
            )
            return UpsertResult(post.id, created=True, changed=True)
        changed = (
            row["content_hash"] != post.content_hash
            or row["level"] != post.level
            or (row["reposts"], row["comments"], row["likes"]) != (post.reposts, post.comments, post.likes)
        )
        if not changed:
            return UpsertResult(post.id, created=False, changed=False)
        conn.execute(
            f"UPDATE posts SET {', '.join(f'{c} = ?' for c in values)} WHERE rowid = ?",
            (*values.values(), row["rowid"]),
        )
        if row["content_hash"] != post.content_hash:
            conn.execute("DELETE FROM posts_fts WHERE rowid = ?", (row["rowid"],))
            conn.execute(
                "INSERT INTO posts_fts (rowid, tokens) VALUES (?, ?)", (row["rowid"], self._index_text(post))
            )
        return UpsertResult(post.id, created=False, changed=True)

    def _index_text(self, post: PostRecord) -> str:
        text = f"{post.title}\n{post.text}"
        joined = getattr(self.tokenizer, "index_text", None)  # nlp.segment.Segmenter: kept per word
        if joined is not None:
            return joined(text, _clean_token)
        return " ".join(c for c in map(_clean_token, self.tokenizer.search_tokens(text)) if c)

    def flagged_ids(self, *, since: str | None = None, batch: int = 1000) -> Iterator[list[str]]:
        """Ids of flagged posts (drills too), a page at a time, first seen at or after ``since`` (ISO UTC)
        when given: what the alert sweep (``yuqing sweep``) checks against the alerts."""
        last = 0
        cond, params = ("", []) if not since else (" AND first_seen_at >= ?", [since])
        while True:
            rows = (
                self._conn()
                .execute(
                    f"SELECT rowid AS _r, id FROM posts WHERE flagged = 1 AND rowid > ?{cond} ORDER BY rowid LIMIT ?",
                    (last, *params, batch),
                )
                .fetchall()
            )
            if not rows:
                return
            yield [r["id"] for r in rows]
            last = rows[-1]["_r"]

    def optimize(self) -> None:
        """After a bulk load: refresh the planner's statistics and merge the FTS index's segments."""
        conn = self._conn()
        conn.execute("ANALYZE")
        conn.execute("INSERT INTO posts_fts(posts_fts) VALUES ('optimize')")

    # ----------------------------------------------------------------- reading

    def get(self, post_id: str) -> PostRecord | None:
        row = self._conn().execute("SELECT * FROM posts WHERE id = ?", (post_id,)).fetchone()
        return _from_row(row) if row else None

    def get_many(self, post_ids: Sequence[str]) -> dict[str, PostRecord]:
        out: dict[str, PostRecord] = {}
        ids = list(post_ids)
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            rows = (
                self._conn()
                .execute(f"SELECT * FROM posts WHERE id IN ({', '.join('?' for _ in chunk)})", chunk)
                .fetchall()
            )
            out.update({r["id"]: _from_row(r) for r in rows})
        return out

    def count(self) -> int:
        return int(self._conn().execute("SELECT count(*) FROM posts").fetchone()[0])

    def search(
        self,
        query: str = "",
        *,
        levels: Sequence[str] | None = None,
        sources: Sequence[str] | None = None,
        sentiments: Sequence[str] | None = None,
        flagged: bool | None = None,
        drill: bool | None = False,
        since: str | None = None,
        until: str | None = None,
        limit: int = 50,
        offset: int = 0,
        order: str = "severity",
    ) -> SearchPage:
        """Full-text search plus filters. ``order``: 'severity' (most severe, then newest) or 'newest'."""
        cached = self._from_columns(query, levels, sources, sentiments, flagged, drill, since, until)
        if cached is not None:
            idx, note = cached
            if idx is None:
                return SearchPage(total=0, items=[], note=note)
            page = self._cols.top(idx, order=order, offset=max(0, int(offset)), limit=max(0, int(limit)))
            rows = self._rows_by_rowid(page)
            return SearchPage(
                total=len(idx), items=[_from_row(rows[r]) for r in page if r in rows], note=note
            )
        where, params, note = self._where(query, levels, sources, sentiments, flagged, drill, since, until)
        if where is None:
            return SearchPage(total=0, items=[], note=note)
        order_sql = "p.level_rank ASC, p.sort_time DESC" if order == "severity" else "p.sort_time DESC"
        conn = self._conn()
        total = conn.execute(f"SELECT count(*) FROM posts p WHERE {where}", params).fetchone()[0]
        rows = conn.execute(
            f"SELECT p.* FROM posts p WHERE {where} ORDER BY {order_sql}, p.rowid DESC LIMIT ? OFFSET ?",
            (*params, max(0, int(limit)), max(0, int(offset))),
        ).fetchall()
        return SearchPage(total=int(total), items=[_from_row(r) for r in rows], note=note)

    def facets(self, query: str = "", **filters: Any) -> dict[str, dict[str, int]]:
        """Counts by source, sentiment, level and day (Beijing time) for the posts a search would return."""
        cached = self._from_columns(
            query,
            filters.get("levels"),
            filters.get("sources"),
            filters.get("sentiments"),
            filters.get("flagged"),
            filters.get("drill", False),
            filters.get("since"),
            filters.get("until"),
        )
        if cached is not None:
            idx, _ = cached
            if idx is None:
                return {"source": {}, "sentiment": {}, "level": {}, "day": {}}
            with self._cols.lock:
                counts = self._cols.counts(idx)
            counts["day"] = dict(sorted(counts["day"].items()))
            return counts
        where, params, _ = self._where(
            query,
            filters.get("levels"),
            filters.get("sources"),
            filters.get("sentiments"),
            filters.get("flagged"),
            filters.get("drill", False),
            filters.get("since"),
            filters.get("until"),
        )
        out: dict[str, dict[str, int]] = {"source": {}, "sentiment": {}, "level": {}, "day": {}}
        if where is None:
            return out
        conn = self._conn()
        for key, col in (("source", "p.source"), ("sentiment", "p.sentiment_label"), ("level", "p.level")):
            rows = conn.execute(
                f"SELECT {col} AS k, count(*) AS n FROM posts p WHERE {where} GROUP BY {col}", params
            ).fetchall()
            out[key] = {(r["k"] or "—"): int(r["n"]) for r in rows}
        # days in Beijing time (sort_time is UTC): what the desk's people call "today"
        rows = conn.execute(
            f"SELECT substr(p.sort_time, 1, 13) AS h, count(*) AS n FROM posts p WHERE {where} "
            "AND p.sort_time != '' GROUP BY h",
            params,
        ).fetchall()
        for r in rows:
            day = _beijing_day(r["h"])
            out["day"][day] = out["day"].get(day, 0) + int(r["n"])
        out["day"] = dict(sorted(out["day"].items()))
        return out

    def iter_all(self, batch: int = 1000, *, drill: bool | None = None) -> Iterator[PostRecord]:
        last = 0
        cond = "" if drill is None else f" AND drill = {1 if drill else 0}"
        while True:
            rows = (
                self._conn()
                .execute(
                    f"SELECT rowid AS _r, * FROM posts WHERE rowid > ?{cond} ORDER BY rowid LIMIT ?",
                    (last, batch),
                )
                .fetchall()
            )
            if not rows:
                return
            for r in rows:
                yield _from_row(r)
            last = rows[-1]["_r"]

    def _from_columns(self, query, levels, sources, sentiments, flagged, drill, since, until):
        """(rowids passing query + filters, note) from the column cache; None: use SQL instead."""
        if self._cols is None:
            return None
        lo, hi = epoch(since), epoch(until)
        if (since and lo is None) or (until and hi is None):
            return None  # a bound that is not a time: let SQL compare it as text
        query, note = _shorten(query)
        conn = self._conn()
        # the column cache's filters, the same for a plain search and for one bounded in time
        filters = dict(
            levels=levels,
            sources=sources,
            sentiments=sentiments,
            flagged=flagged,
            drill=drill,
            since=lo,
            until=hi,
        )
        rowids = None
        if query:
            match = self.fts_query(query)
            if not match:
                return None, "搜索词中没有可检索的文字"
            if lo is not None or hi is not None:
                return self._matches_in_span(conn, match, filters), note
            # one string from SQLite, parsed in C: ten times faster than a Python tuple per match
            found = conn.execute(
                "SELECT group_concat(rowid) FROM posts_fts WHERE posts_fts MATCH ?", (match,)
            ).fetchone()[0]
            rowids = np.fromstring(found, dtype=np.int64, sep=",") if found else np.zeros(0, np.int64)
        with self._cols.lock:
            self._cols.refresh(conn.raw)
            idx = self._cols.select(rowids, **filters)
        return idx, note

    def _matches_in_span(self, conn, match, filters: dict[str, Any]) -> np.ndarray:
        """A time-bounded search (the firm's volume in the last hour, a day's posts): the posts passing the
        filters first, from the columns, then the full-text matches among their rowids only (``rowid
        BETWEEN``, which FTS5 answers by seeking), so the cost follows the posts of the span, not every
        match in the store (the firm's name is in most of it). The same rowids as matching first."""
        with self._cols.lock:
            self._cols.refresh(conn.raw)
            span = self._cols.select(None, **filters)
        if not len(span):
            return span
        found = conn.execute(
            "SELECT group_concat(rowid) FROM posts_fts WHERE posts_fts MATCH ? AND rowid BETWEEN ? AND ?",
            (match, int(span[0]), int(span[-1])),
        ).fetchone()[0]
        rowids = np.fromstring(found, dtype=np.int64, sep=",") if found else np.zeros(0, np.int64)
        return span[np.isin(span, rowids, assume_unique=True)]

    def _rows_by_rowid(self, rowids: list[int]) -> dict[int, sqlite3.Row]:
        if not rowids:
            return {}
        marks = ", ".join("?" for _ in rowids)
        rows = self._conn().execute(f"SELECT rowid AS _r, * FROM posts WHERE rowid IN ({marks})", rowids)
        return {r["_r"]: r for r in rows.fetchall()}

    def _where(self, query, levels, sources, sentiments, flagged, drill, since, until):
        clauses: list[str] = []
        params: list[Any] = []
        query, note = _shorten(query)
        if query:
            match = self.fts_query(query)
            if not match:
                return None, [], "搜索词中没有可检索的文字"
            clauses.append("p.rowid IN (SELECT rowid FROM posts_fts WHERE posts_fts MATCH ?)")
            params.append(match)
        for col, values in (("p.level", levels), ("p.source", sources), ("p.sentiment_label", sentiments)):
            if values:
                vals = list(values)
                clauses.append(f"{col} IN ({', '.join('?' for _ in vals)})")
                params.extend(vals)
        if flagged is not None:
            clauses.append("p.flagged = ?")
            params.append(1 if flagged else 0)
        if drill is not None:
            clauses.append("p.drill = ?")
            params.append(1 if drill else 0)
        if since:
            clauses.append("p.sort_time >= ?")
            params.append(since)
        if until:
            clauses.append("p.sort_time < ?")
            params.append(until)
        return (" AND ".join(clauses) or "1=1"), params, note

    def fts_query(self, query: str) -> str:
        """Turn what a person typed into a safe FTS5 expression: every token a quoted string, ANDed."""
        tokens = [_clean_token(t) for t in self.tokenizer.cut(query)]
        tokens = [t for t in tokens if t]
        return " ".join('"' + t.replace('"', '""') + '"' for t in dict.fromkeys(tokens))


class _Borrowed:
    """Someone else's connection (and transaction), read with named columns as ours are."""

    def __init__(self, conn: sqlite3.Connection):
        self.raw = conn

    def execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> sqlite3.Cursor:
        cur = self.raw.cursor()
        cur.row_factory = sqlite3.Row
        return cur.execute(sql, params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> sqlite3.Cursor:
        return self.raw.executemany(sql, rows)


class _Txn:
    """A connection whose ``with`` block is one IMMEDIATE transaction (autocommit otherwise)."""

    def __init__(self, conn: sqlite3.Connection):
        self.raw = conn
        self._depth = 0

    def execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> sqlite3.Cursor:
        return self.raw.execute(sql, params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> sqlite3.Cursor:
        return self.raw.executemany(sql, rows)

    def executescript(self, sql: str) -> None:
        self.raw.executescript(sql)

    def __enter__(self) -> _Txn:
        if self._depth == 0:
            self.raw.execute("BEGIN IMMEDIATE")
        self._depth += 1
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self._depth -= 1
        if self._depth == 0:
            self.raw.execute("ROLLBACK" if exc_type else "COMMIT")


def _shorten(query: str | None) -> tuple[str, str]:
    """The query as searched (trimmed, at most MAX_QUERY_CHARS) and a note when it was cut."""
    query = (query or "").strip()
    if len(query) > MAX_QUERY_CHARS:
        return query[:MAX_QUERY_CHARS], f"搜索词过长，已截取前 {MAX_QUERY_CHARS} 个字符"
    return query, ""


@lru_cache(maxsize=1 << 16)  # tokens repeat across posts; a look-up is cheaper than the checks
def _clean_token(token: str) -> str:
    t = token.strip().lower()
    # unicode61 splits on punctuation anyway; keep only tokens with a letter or digit in them
    return t if any(ch.isalnum() for ch in t) else ""


def _to_row(post: PostRecord) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for c in _COLUMNS:
        v = getattr(post, c)  # not asdict(): it deep-copies every list and dict, a third of indexing time
        if c in _JSON_SET:
            v = dumps(v)
        elif v is True or v is False:
            v = int(v)
        row[c] = v
    row["sentiment_label"] = post.sentiment_label
    row["level_rank"] = level_rank(post.level)
    row["sort_time"] = _sort_time(post)
    return row


def _unstorable(post: PostRecord) -> str:
    """Why SQLite cannot store this post's values ("" when it can): checked before writing, so a bad value
    is refused with its reason and never taken for a database that is down."""
    for name in _STORED:
        v = getattr(post, name)
        if isinstance(v, str):  # the most common: checked first; ASCII always encodes
            if not v.isascii():
                try:
                    v.encode("utf-8")
                except UnicodeEncodeError:
                    return f"{name} 含无法编码的字符（单独的 Unicode 代理字符）"
            continue
        if v is None or isinstance(v, bool | float):
            continue
        if isinstance(v, int):
            if not _INT64[0] <= v <= _INT64[1]:
                return f"{name} 超出 64 位整数范围"
        elif name not in _JSON_SET:  # JSON fields are checked when written (a refusal names the batch)
            return f"{name} 类型错误（{type(v).__name__}）"
    return ""


def _sort_time(post: PostRecord) -> str:
    """A comparable UTC timestamp (naive ISO): published time when known, else first seen."""
    for value in (post.published_at, post.first_seen_at):
        dt = parse_instant(value)
        if dt is not None:
            return dt.replace(tzinfo=None).isoformat(timespec="seconds")
    return ""


def _beijing_day(utc_hour: str) -> str:
    """'2026-11-20T17' (UTC, to the hour) → '2026-11-21' (the day in Beijing, UTC+8)."""
    try:
        dt = datetime.fromisoformat(utc_hour + ":00")
    except ValueError:
        return utc_hour[:10]
    return (dt + timedelta(hours=8)).date().isoformat()


def _from_row(row: sqlite3.Row) -> PostRecord:
    d = dict(row)
    values: dict[str, Any] = {}
    for name in PostRecord.field_names():
        v = d.get(name)
        if name in _JSON_FIELDS:
            v = json.loads(v) if v else ({} if name in ("sentiment", "falsity") else [])
        elif name in ("user_verified", "flagged", "drill"):
            v = bool(v)
        elif v is None and name not in ("level",):
            v = "" if name not in ("reposts", "comments", "likes", "user_followers") else 0
        values[name] = v
    return PostRecord(**values)


__all__ = [
    "LEVELS",
    "PostsRejected",
    "SearchPage",
    "SqlitePostIndex",
    "StoreUnavailable",
    "UpsertResult",
    "raise_for_errors",
]

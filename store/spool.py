"""A durable on-disk queue of batches the store could not take, so nothing is lost while it is down.

One batch = one JSONL file (a header line, then one post per line) written to a temporary name,
fsync'ed, renamed into place and the directory fsync'ed: after ``put`` returns, the batch survives a
crash or a power cut. Names sort in arrival order, so replay keeps the order posts came in. A file
is deleted only after the store has taken the whole batch; taking a batch twice is harmless because
every write downstream is an idempotent upsert.
"""

from __future__ import annotations

import fcntl
import itertools
import json
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from store.models import PostRecord, dumps, utcnow_iso

SUFFIX = ".jsonl"
REJECTED = "rejected"  # batches the store refused, kept for a person (docs/engines.md has the runbook)
REASON_SUFFIX = ".reason.txt"
_seq = itertools.count()
STAGES = ("posts", "alerts")


class SpoolError(Exception):
    """The spool itself cannot be written (disk full, no permission): the batch was NOT kept."""


class SpoolCorrupt(ValueError):
    """A batch file that cannot be read back (cut short, edited by hand); the message says where and why."""


@dataclass
class SpooledBatch:
    path: Path
    stage: str  # "posts": index + alerts still to do; "alerts": posts are stored, alerts still to do
    drill: bool
    reason: str
    posts: list[PostRecord]


class Spool:
    """Batches waiting for the store, oldest first."""

    def __init__(self, directory: str | os.PathLike[str]):
        self.dir = Path(directory)

    # ----------------------------------------------------------------- writing

    def put(
        self,
        posts: Sequence[PostRecord],
        *,
        stage: str,
        drill: bool,
        reason: str,
        reasons: dict[str, str] | None = None,
        name: str | None = None,
        into: Path | None = None,
    ) -> Path:
        """Write one batch durably; returns its file. Raises SpoolError when it could not be kept.

        ``reasons``: why each post (by id) was set aside; ``name``: the file's name (a batch rewritten in
        place keeps its place in the queue); ``into``: another directory (``rejected/``).
        """
        name = name or f"{time.time_ns():020d}-{os.getpid():07d}-{next(_seq):06d}{SUFFIX}"
        directory = into or self.dir
        header: dict[str, Any] = {
            "stage": stage,
            "drill": drill,
            "reason": reason[:2000],
            "count": len(posts),
            "at": utcnow_iso(),
        }
        if reasons:
            header["reasons"] = {k: v[:500] for k, v in reasons.items()}
        try:
            directory.mkdir(parents=True, exist_ok=True)
            tmp = directory / f".{name}.tmp"
            with tmp.open("w", encoding="utf-8") as fh:
                fh.write(dumps(header) + "\n")
                for post in posts:
                    fh.write(dumps(post.to_dict()) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            final = directory / name
            os.replace(tmp, final)
            self._fsync_dir(directory)
        except (OSError, UnicodeEncodeError) as exc:
            why = exc.strerror if isinstance(exc, OSError) else None
            raise SpoolError(f"暂存目录 {directory} 无法写入：{why or exc}") from exc
        return final

    def done(self, batch: SpooledBatch) -> None:
        batch.path.unlink(missing_ok=True)
        self._fsync_dir()

    def rewrite(self, batch: SpooledBatch, posts: Sequence[PostRecord], reason: str) -> Path:
        """Keep only ``posts`` of a batch, in its place in the queue (the rest were written)."""
        return self.put(posts, stage=batch.stage, drill=batch.drill, reason=reason, name=batch.path.name)

    @property
    def rejected_dir(self) -> Path:
        return self.dir / REJECTED

    def reject(self, batch: SpooledBatch | Path, reason: str) -> Path:
        """Set aside a batch the store refuses (not an outage), or a file that cannot be read: kept in
        ``rejected/`` with the reason, so it neither blocks the batches behind it nor disappears."""
        path = batch.path if isinstance(batch, SpooledBatch) else batch
        target = self.rejected_dir
        target.mkdir(parents=True, exist_ok=True)
        dest = target / path.name
        os.replace(path, dest)
        (target / f"{path.name}{REASON_SUFFIX}").write_text(reason, encoding="utf-8")
        self._fsync_dir(target)
        self._fsync_dir()
        return dest

    def set_aside(
        self, posts: Sequence[PostRecord], *, reason: str, reasons: dict[str, str], drill: bool
    ) -> Path:
        """Posts the store refused on their first try: straight into ``rejected/``, each with its reason."""
        path = self.put(
            posts, stage="posts", drill=drill, reason=reason, reasons=reasons, into=self.rejected_dir
        )
        (self.rejected_dir / f"{path.name}{REASON_SUFFIX}").write_text(reason, encoding="utf-8")
        self._fsync_dir(self.rejected_dir)
        return path

    def rejected(self) -> list[Path]:
        target = self.rejected_dir
        return sorted(target.glob(f"*{SUFFIX}")) if target.is_dir() else []

    def rejected_reason(self, path: Path) -> str:
        """Why a set-aside batch was set aside (its ``.reason.txt``)."""
        note = path.parent / f"{path.name}{REASON_SUFFIX}"
        try:
            return note.read_text(encoding="utf-8").strip()
        except OSError:
            return ""

    def requeue(self, path: Path) -> Path:
        """Put a set-aside batch back in the queue, in its place by arrival (after the cause was fixed);
        ``replay`` then writes it, or sets it aside again with the new reason."""
        if path.parent != self.rejected_dir or not path.name.endswith(SUFFIX):
            raise SpoolError(f"{path} 不是 {self.rejected_dir} 中的暂存批次")
        dest = self.dir / path.name
        os.replace(path, dest)
        (path.parent / f"{path.name}{REASON_SUFFIX}").unlink(missing_ok=True)
        self._fsync_dir(self.rejected_dir)
        self._fsync_dir()
        return dest

    def _fsync_dir(self, directory: Path | None = None) -> None:
        fd = os.open(directory or self.dir, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    # ----------------------------------------------------------------- reading

    def pending(self) -> list[Path]:
        if not self.dir.is_dir():
            return []
        return sorted(p for p in self.dir.iterdir() if p.name.endswith(SUFFIX) and not p.name.startswith("."))

    def __len__(self) -> int:
        return len(self.pending())

    def pending_posts(self) -> int:
        """Posts waiting, from the header lines only (the batches are not parsed)."""
        return sum(int(self.header(path).get("count", 0) or 0) for path in self.pending())

    def header(self, path: Path) -> dict[str, Any]:
        """A batch's first line (stage, drill, reason, count, at); {} when it cannot be read."""
        try:
            with path.open("r", encoding="utf-8") as fh:
                header = json.loads(fh.readline())
        except (OSError, ValueError):
            return {}
        return header if isinstance(header, dict) else {}

    def batches(self) -> Iterator[SpooledBatch]:
        for path in self.pending():
            yield self.read(path)

    def read(self, path: Path) -> SpooledBatch:
        """One batch; raises SpoolCorrupt when the file cannot be read back (replay sets it aside)."""
        known = {f.name for f in fields(PostRecord)}
        n = 1
        try:
            with path.open("r", encoding="utf-8") as fh:
                header: dict[str, Any] = json.loads(fh.readline())
                if not isinstance(header, dict) or header.get("stage") not in STAGES:
                    raise SpoolCorrupt(f"{path.name}: 第 1 行不是暂存批次的头（stage 应为 posts 或 alerts）")
                posts = []
                for line_no, line in enumerate(fh, start=2):
                    n = line_no  # named in the error below
                    if line.strip():
                        d = json.loads(line)
                        posts.append(PostRecord(**{k: v for k, v in d.items() if k in known}))
        except SpoolCorrupt:
            raise
        except (ValueError, TypeError, AttributeError) as exc:  # cut short, edited, not a post
            raise SpoolCorrupt(f"{path.name}: 第 {n} 行无法读取：{type(exc).__name__}: {exc}"[:500]) from exc
        return SpooledBatch(
            path, header["stage"], bool(header.get("drill")), str(header.get("reason", "")), posts
        )

    # ----------------------------------------------------------------- one replayer at a time

    @contextmanager
    def replay_lock(self, *, wait: bool = False) -> Iterator[bool]:
        """Yields True when this process may replay now (another replayer holds it otherwise)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        fh = (self.dir / ".lock").open("a")
        try:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
        finally:
            fh.close()


def spool_dir_for(store_path: Path, configured: Path | None = None) -> Path:
    """The spool lives next to the store it feeds (``yuqing.db`` → ``yuqing.db.spool/``)."""
    return configured if configured else store_path.parent / f"{store_path.name}.spool"


__all__ = ["Spool", "SpoolCorrupt", "SpoolError", "SpooledBatch", "spool_dir_for"]

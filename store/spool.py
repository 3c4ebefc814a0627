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
_seq = itertools.count()


class SpoolError(Exception):
    """The spool itself cannot be written (disk full, no permission): the batch was NOT kept."""


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

    def put(self, posts: Sequence[PostRecord], *, stage: str, drill: bool, reason: str) -> Path:
        """Write one batch durably; returns its file. Raises SpoolError when it could not be kept."""
        name = f"{time.time_ns():020d}-{os.getpid():07d}-{next(_seq):06d}{SUFFIX}"
        header = {
            "stage": stage,
            "drill": drill,
            "reason": reason[:500],
            "count": len(posts),
            "at": utcnow_iso(),
        }
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            tmp = self.dir / f".{name}.tmp"
            with tmp.open("w", encoding="utf-8") as fh:
                fh.write(dumps(header) + "\n")
                for post in posts:
                    fh.write(dumps(post.to_dict()) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            final = self.dir / name
            os.replace(tmp, final)
            self._fsync_dir()
        except OSError as exc:
            raise SpoolError(f"暂存目录 {self.dir} 无法写入：{exc.strerror or exc}") from exc
        return final

    def done(self, batch: SpooledBatch) -> None:
        batch.path.unlink(missing_ok=True)
        self._fsync_dir()

    def reject(self, batch: SpooledBatch, reason: str) -> Path:
        """Set aside a batch the store refuses (not an outage): kept in ``rejected/`` with the reason,
        so it neither blocks the batches behind it nor disappears."""
        target = self.dir / "rejected"
        target.mkdir(exist_ok=True)
        dest = target / batch.path.name
        os.replace(batch.path, dest)
        (target / f"{batch.path.name}.reason.txt").write_text(reason, encoding="utf-8")
        self._fsync_dir()
        return dest

    def rejected(self) -> list[Path]:
        target = self.dir / "rejected"
        return sorted(target.glob(f"*{SUFFIX}")) if target.is_dir() else []

    def _fsync_dir(self) -> None:
        fd = os.open(self.dir, os.O_RDONLY)
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
        total = 0
        for path in self.pending():
            with path.open("r", encoding="utf-8") as fh:
                total += int(json.loads(fh.readline()).get("count", 0))
        return total

    def batches(self) -> Iterator[SpooledBatch]:
        for path in self.pending():
            yield self.read(path)

    def read(self, path: Path) -> SpooledBatch:
        known = {f.name for f in fields(PostRecord)}
        with path.open("r", encoding="utf-8") as fh:
            header: dict[str, Any] = json.loads(fh.readline())
            posts = []
            for line in fh:
                if line.strip():
                    d = json.loads(line)
                    posts.append(PostRecord(**{k: v for k, v in d.items() if k in known}))
        return SpooledBatch(path, header["stage"], bool(header.get("drill")), header.get("reason", ""), posts)

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


__all__ = ["Spool", "SpoolError", "SpooledBatch", "spool_dir_for"]

"""``yuqing backup`` / ``yuqing restore`` for the embedded store (the regulator asks for data backups).

Each SQLite file (posts index, records when they are SQLite) is copied with SQLite's online backup
API: the copy is one consistent snapshot even while the desk and the crawler keep writing (WAL mode
lets them). Pending spool batches are copied too, so a backup taken during an outage loses nothing, and so
are set-aside batches (``rejected/``) with their reasons.
``manifest.json`` lists every file with its SHA-256 and per-table row counts; restore checks them
before touching anything and refuses to overwrite an existing store without ``--force``.
PostgreSQL and Elasticsearch have their own tools (pg_dump, snapshots); this module says so.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from store.models import utcnow_iso
from store.spool import REASON_SUFFIX, REJECTED, Spool

MANIFEST = "manifest.json"
FORMAT = 1


class BackupError(Exception):
    """Backup or restore cannot proceed; the message (Chinese first) says why and what to do."""


@dataclass
class StoreFile:
    role: str  # "posts", "records" or "posts+records" (one file holds both: the default)
    path: Path


def embedded_files(store_path: Path, records_url: str, posts_engine: str) -> list[StoreFile]:
    """The SQLite files that make up this store; raises when nothing here is embedded."""
    files: dict[Path, list[str]] = {}
    if posts_engine == "sqlite":
        files.setdefault(store_path.resolve(), []).append("posts")
    url = make_url(records_url)
    if url.get_backend_name() == "sqlite" and url.database:
        files.setdefault(Path(url.database).resolve(), []).append("records")
    if not files:
        raise BackupError(
            "帖子在 Elasticsearch、记录在 PostgreSQL：请用快照（snapshot）和 pg_dump 备份 / "
            "nothing embedded to back up: use Elasticsearch snapshots and pg_dump"
        )
    return [StoreFile("+".join(roles), path) for path, roles in files.items()]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _table_counts(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
                "AND name NOT LIKE 'posts_fts_%' ORDER BY name"
            )
        ]
        return {n: int(conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0]) for n in names}
    finally:
        conn.close()


def _copy_sqlite(src: Path, dst: Path) -> None:
    """Online backup: one consistent snapshot of ``src`` while others keep writing to it."""
    source = sqlite3.connect(src, timeout=30)
    target = sqlite3.connect(dst)
    try:
        source.backup(target)  # all pages in one step: a single read transaction, one snapshot
        target.execute("PRAGMA journal_mode=DELETE")  # a backup is one self-contained file
        ok = target.execute("PRAGMA integrity_check").fetchone()[0]
        if ok != "ok":
            raise BackupError(f"备份文件校验失败 / integrity check failed for {dst.name}: {ok}")
    finally:
        target.close()
        source.close()


def backup(files: list[StoreFile], dest: Path, *, spool: Spool | None = None) -> dict[str, Any]:
    """Write a backup of ``files`` (and pending spool batches) into the new directory ``dest``."""
    if dest.exists() and any(dest.iterdir()):
        raise BackupError(f"备份目录 {dest} 已存在且不为空 / backup directory exists and is not empty")
    for f in files:
        if not f.path.is_file():
            raise BackupError(f"存储文件不存在 / store file not found: {f.path}")
    dest.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, Any] = {"format": FORMAT, "created_at": utcnow_iso(), "files": [], "spool": []}
    for i, f in enumerate(files):
        name = f"{i:02d}-{f.path.name}"
        out = dest / name
        _copy_sqlite(f.path, out)
        manifest["files"].append(
            {
                "name": name,
                "role": f.role,
                "source": str(f.path),
                "bytes": out.stat().st_size,
                "sha256": _sha256(out),
                "tables": _table_counts(out),
            }
        )
    if spool is not None:  # pending batches, and the set-aside ones with their reasons (rejected/…)
        kept = [(p, p.name) for p in spool.pending()]
        for p in spool.rejected():
            kept.append((p, f"{REJECTED}/{p.name}"))
            note = p.parent / f"{p.name}{REASON_SUFFIX}"
            if note.is_file():
                kept.append((note, f"{REJECTED}/{note.name}"))
        for p, name in kept:
            (dest / "spool" / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(p, dest / "spool" / name)
            manifest["spool"].append({"name": name, "sha256": _sha256(dest / "spool" / name)})
    (dest / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    return manifest


def verify(src: Path) -> dict[str, Any]:
    """Read the manifest and check every file's checksum; raises BackupError on any mismatch."""
    try:
        manifest = json.loads((src / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BackupError(f"{src} 不是有效的备份（缺少或无法读取 {MANIFEST}）/ not a backup: {exc}") from exc
    if manifest.get("format") != FORMAT:
        raise BackupError(f"不支持的备份格式 / unsupported backup format {manifest.get('format')!r}")
    entries = [(src / f["name"], f["sha256"]) for f in manifest["files"]]
    entries += [(src / "spool" / s["name"], s["sha256"]) for s in manifest.get("spool", [])]
    for path, expected in entries:
        if not path.is_file() or _sha256(path) != expected:
            raise BackupError(f"备份文件缺失或已损坏 / missing or corrupt backup file: {path.name}")
    return manifest


def restore(src: Path, files: list[StoreFile], *, spool: Spool | None = None, force: bool = False) -> dict:
    """Restore a verified backup into the configured store files (roles must match)."""
    manifest = verify(src)
    by_role = {f["role"]: f for f in manifest["files"]}
    targets = {f.role: f.path for f in files}
    if set(by_role) != set(targets):
        raise BackupError(
            f"备份内容（{', '.join(sorted(by_role))}）与当前存储配置（{', '.join(sorted(targets))}）不一致 / "
            "backup roles do not match the configured store"
        )
    existing = [p for p in targets.values() if p.exists() and p.stat().st_size > 0]
    if existing and not force:
        raise BackupError(
            f"存储已存在，不会覆盖：{', '.join(map(str, existing))}；确认后加 --force / "
            "store exists; use --force to overwrite"
        )
    for role, entry in by_role.items():
        target = targets[role]
        target.parent.mkdir(parents=True, exist_ok=True)
        source = sqlite3.connect(f"file:{src / entry['name']}?mode=ro", uri=True)
        dest = sqlite3.connect(target, timeout=30)
        try:
            source.backup(dest)  # page by page into the live file, under SQLite's own locking
        finally:
            dest.close()
            source.close()
        if _table_counts(target) != entry["tables"]:
            raise BackupError(f"恢复后行数与清单不符 / row counts differ after restoring {target}")
    if spool is not None:
        for s in manifest.get("spool", []):
            (spool.dir / s["name"]).parent.mkdir(parents=True, exist_ok=True)
            if not (spool.dir / s["name"]).exists():
                shutil.copy2(src / "spool" / s["name"], spool.dir / s["name"])
    return manifest


__all__ = ["BackupError", "StoreFile", "backup", "embedded_files", "restore", "verify"]

"""Backups of the embedded store: consistent while the desk writes, checked on restore, never a silent overwrite."""

from __future__ import annotations

import json
import sqlite3
import threading

import pytest

from store.backup import BackupError, backup, embedded_files, restore, verify
from store.models import PostRecord
from store.posts_sqlite import SqlitePostIndex
from store.records import Records, upsert_alert
from store.spool import Spool
from yuqing.cli import main


def flagged(i: int) -> PostRecord:
    return PostRecord.from_post(
        {
            "text": f"华鼎证券APP无法登录 {i}",
            "url": f"https://weibo.example/{i}",
            "level": "II",
            "flagged": True,
        }
    )


@pytest.fixture
def store(tmp_path, segmenter):
    path = tmp_path / "live" / "yuqing.db"
    index = SqlitePostIndex(path, segmenter)
    records = Records(f"sqlite:///{path}")
    yield path, index, records
    index.close()
    records.dispose()


def counts(path) -> tuple[int, int, int]:
    conn = sqlite3.connect(path)
    try:
        return tuple(
            conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("posts", "alerts", "audit_log")
        )
    finally:
        conn.close()


def test_backup_while_the_desk_writes_is_one_consistent_snapshot(store, tmp_path):
    path, index, records = store
    for i in range(50):
        index.upsert_many([flagged(i)])
    stop = threading.Event()

    def desk_keeps_writing():
        i = 1000
        while not stop.is_set():
            post = flagged(i)
            index.upsert_many([post])
            with records.session() as s:
                upsert_alert(s, post=post)
            i += 1

    writer = threading.Thread(target=desk_keeps_writing)
    writer.start()
    try:
        manifests = [
            backup(embedded_files(path, f"sqlite:///{path}", "sqlite"), tmp_path / f"b{n}") for n in range(3)
        ]
    finally:
        stop.set()
        writer.join()
    for n, manifest in enumerate(manifests):
        (entry,) = manifest["files"]
        assert entry["role"] == "posts+records"
        copy = tmp_path / f"b{n}" / entry["name"]
        assert sqlite3.connect(copy).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        posts, alerts, audit = counts(copy)
        assert (entry["tables"]["posts"], entry["tables"]["alerts"]) == (posts, alerts)
        assert posts >= 50 and alerts == audit  # every alert with its audit line: no torn write
        fts = sqlite3.connect(copy).execute("SELECT count(*) FROM posts_fts").fetchone()[0]
        assert fts == posts  # the search index matches the posts it indexes
    assert verify(tmp_path / "b0")["files"][0]["sha256"]


def test_restore_refuses_to_overwrite_then_restores_with_force(store, tmp_path):
    path, index, records = store
    index.upsert_many([flagged(i) for i in range(5)])
    files = embedded_files(path, f"sqlite:///{path}", "sqlite")
    backup(files, tmp_path / "b")
    index.upsert_many([flagged(i) for i in range(5, 9)])  # work after the backup
    with pytest.raises(BackupError, match="不会覆盖"):
        restore(tmp_path / "b", files)
    assert counts(path)[0] == 9  # untouched
    restore(tmp_path / "b", files, force=True)
    assert counts(path)[0] == 5
    fresh = tmp_path / "elsewhere" / "yuqing.db"
    restore(tmp_path / "b", embedded_files(fresh, f"sqlite:///{fresh}", "sqlite"))
    assert counts(fresh)[0] == 5


def test_a_corrupt_backup_is_refused_before_anything_is_touched(store, tmp_path):
    path, index, _ = store
    index.upsert_many([flagged(1)])
    files = embedded_files(path, f"sqlite:///{path}", "sqlite")
    manifest = backup(files, tmp_path / "b")
    with (tmp_path / "b" / manifest["files"][0]["name"]).open("r+b") as fh:
        fh.seek(200)
        fh.write(b"\xff" * 16)
    with pytest.raises(BackupError, match="损坏"):
        restore(tmp_path / "b", files, force=True)
    assert counts(path)[0] == 1
    with pytest.raises(BackupError, match="不是有效的备份"):
        verify(tmp_path)


def test_pending_spool_batches_travel_with_the_backup(store, tmp_path):
    path, index, _ = store
    spool = Spool(tmp_path / "live" / "yuqing.db.spool")
    spool.put([flagged(7)], stage="posts", drill=False, reason="down")
    files = embedded_files(path, f"sqlite:///{path}", "sqlite")
    manifest = backup(files, tmp_path / "b", spool=spool)
    assert len(manifest["spool"]) == 1
    target = Spool(tmp_path / "other.spool")
    restore(tmp_path / "b", files, spool=target, force=True)
    assert [b.posts[0].url for b in target.batches()] == ["https://weibo.example/7"]


def test_set_aside_batches_travel_with_the_backup_with_their_reasons(store, tmp_path):
    path, _, _ = store
    spool = Spool(tmp_path / "live" / "yuqing.db.spool")
    post = flagged(8)
    spool.set_aside([post], reason="存储拒收 1 条：HTTP 400", reasons={post.id: "HTTP 400"}, drill=False)
    files = embedded_files(path, f"sqlite:///{path}", "sqlite")
    backup(files, tmp_path / "b", spool=spool)
    target = Spool(tmp_path / "other.spool")
    restore(tmp_path / "b", files, spool=target, force=True)
    (kept,) = target.rejected()
    assert target.rejected_reason(kept) == "存储拒收 1 条：HTTP 400" and len(target) == 0


def test_nothing_embedded_is_a_clear_refusal(tmp_path):
    with pytest.raises(BackupError, match="pg_dump"):
        embedded_files(tmp_path / "x.db", "postgresql+psycopg://u@h/db", "elasticsearch")


# --------------------------------------------------------------------------- the commands


def test_cli_backup_restore_migrate_and_spool(config_file, tmp_path, capsys):
    posts = tmp_path / "in.jsonl"
    posts.write_text(
        "\n".join(
            json.dumps(
                {"url": f"https://weibo.example/{i}", "text": f"华鼎证券APP无法登录，交易系统崩溃 {i}"},
                ensure_ascii=False,
            )
            for i in range(4)
        ),
        encoding="utf-8",
    )
    assert main(["ingest", "--input", str(posts)]) == 0
    assert main(["migrate"]) == 0
    assert "最新" in capsys.readouterr().out
    assert main(["migrate", "--sql"]) == 0
    assert "CREATE TABLE" in capsys.readouterr().out
    assert main(["spool", "status"]) == 0
    assert "0 批" in capsys.readouterr().out

    assert main(["backup", "--output", str(tmp_path / "bk")]) == 0
    out = capsys.readouterr().out
    assert "posts 4" in out and "alerts 4" in out
    assert main(["backup", "--output", str(tmp_path / "bk")]) == 2  # never into a used directory
    assert main(["restore", "--input", str(tmp_path / "bk")]) == 2
    assert "--force" in capsys.readouterr().err
    assert main(["restore", "--input", str(tmp_path / "bk"), "--force"]) == 0
    assert counts(tmp_path / "yuqing.db") == (
        4,
        4,
        8,
    )  # each alert opened and its post kept as evidence, both audited

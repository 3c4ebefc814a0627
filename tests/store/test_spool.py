"""Nothing lost: while the posts index or the records database is down, ingest keeps batches on disk
and writes them, in order and once, when the store is back."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from store.models import Alert, AuditEntry, PostRecord
from store.spool import Spool, SpoolError
from tests.store import es_wire
from yuqing.config import settings_from_dict
from yuqing.context import build_context
from yuqing.ingest import ingest, replay_spool

FIRM = {"name": "华鼎证券股份有限公司", "short_names": ["华鼎证券", "华鼎"]}


def batch(tag: str, n: int = 3) -> list[dict]:
    """n posts: the first is an outage complaint (flagged), the rest are neutral news."""
    posts = [
        {
            "url": f"https://weibo.example/{tag}/0",
            "text": f"华鼎证券APP又无法登录了，交易系统崩溃，客户投诉无门 {tag}",
        }
    ]
    posts += [
        {"url": f"https://news.example/{tag}/{i}", "text": f"华鼎证券发布公告 第{i}号 {tag}"}
        for i in range(1, n)
    ]
    return posts


def make_ctx(tmp_path: Path, **store):
    settings = settings_from_dict({"firm": FIRM, "store": {"path": str(tmp_path / "yuqing.db"), **store}})
    return build_context(settings)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------- the spool itself


def test_spool_files_are_durable_ordered_and_round_trip(tmp_path):
    spool = Spool(tmp_path / "spool")
    a = [PostRecord.from_post({"text": "第一批", "url": "a"})]
    b = [PostRecord.from_post({"text": "第二批", "url": "b", "reasons": ["理由"]})]
    spool.put(a, stage="posts", drill=False, reason="down")
    spool.put(b, stage="alerts", drill=True, reason="down")
    batches = list(Spool(tmp_path / "spool").batches())  # a new process sees the same
    assert [(x.stage, x.drill, x.posts[0].text) for x in batches] == [
        ("posts", False, "第一批"),
        ("alerts", True, "第二批"),
    ]
    assert batches[1].posts[0] == b[0]
    assert spool.pending_posts() == 2
    assert not [p for p in (tmp_path / "spool").iterdir() if p.name.endswith(".tmp")]


def test_unwritable_spool_says_so(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(SpoolError, match="无法写入"):
        Spool(blocker / "spool").put(
            [PostRecord.from_post({"text": "x"})], stage="posts", drill=False, reason=""
        )


# --------------------------------------------------------------------------- posts index down


def test_elasticsearch_on_a_dead_port_spools_then_replays_when_it_answers(tmp_path):
    port = free_port()
    ctx = make_ctx(tmp_path, posts_engine="elasticsearch", elasticsearch_url=f"http://127.0.0.1:{port}")
    ctx.index.client = ctx.index.client.options(max_retries=0, request_timeout=2)
    first = ingest(batch("a"), ctx=ctx)
    second = ingest(batch("b"), ctx=ctx)
    assert (first.spooled, second.spooled, first.stored_new) == (3, 3, 0)
    assert "已暂存 3 条" in first.summary()
    assert len(ctx.spool) == 2

    wire, server = es_wire.start(port=port)  # the cluster is back
    try:
        third = ingest(batch("c"), ctx=ctx)
        assert (third.replayed, third.stored_new, third.spooled) == (6, 9, 0)
        assert len(ctx.spool) == 0
        bulk_urls = [line["url"] for body in wire.bodies("PUT", "/_bulk") for line in body if "url" in line]
        assert [u.split("/")[3] for u in bulk_urls] == ["a"] * 3 + ["b"] * 3 + ["c"] * 3  # in arrival order
        with ctx.records.session() as s:  # the outage complaints got their alerts, once each
            assert s.scalar(select(func.count()).select_from(Alert)) == 3
    finally:
        ctx.close()
        server.shutdown()
        server.server_close()


def test_a_batch_the_index_refuses_is_set_aside_and_does_not_block_the_rest(tmp_path):
    port = free_port()
    ctx = make_ctx(tmp_path, posts_engine="elasticsearch", elasticsearch_url=f"http://127.0.0.1:{port}")
    ctx.index.client = ctx.index.client.options(max_retries=0, request_timeout=2)
    assert ingest(batch("bad"), ctx=ctx).spooled == 3
    assert ingest(batch("good"), ctx=ctx).spooled == 3
    wire, server = es_wire.start(port=port)
    wire.refuse_text = "bad"
    try:
        report = ingest(batch("late"), ctx=ctx)
        assert any("拒收" in r for r in report.rejected)
        assert len(ctx.spool) == 0 and len(ctx.spool.rejected()) == 1  # kept for a person, not lost
        assert {d["url"].split("/")[3] for d in wire.docs.values()} == {"good", "late"}
        fresh = ingest(batch("bad2"), ctx=ctx)  # refused on first try: set aside too, ingest goes on
        assert any("拒收" in r for r in fresh.rejected) and len(ctx.spool.rejected()) == 2
    finally:
        ctx.close()
        server.shutdown()
        server.server_close()


# --------------------------------------------------------------------------- records database down


def test_records_database_unreachable_spools_and_replays_once(tmp_path):
    missing = tmp_path / "not-yet"
    ctx = make_ctx(tmp_path, records_url=f"sqlite:///{missing / 'records.db'}")
    report = ingest(batch("a"), ctx=ctx)
    assert report.spooled == 3 and ctx.index.count() == 0
    missing.mkdir()  # the database can be reached again
    again = replay_spool(ctx)
    assert again.replayed == 3 and ctx.index.count() == 3
    assert replay_spool(ctx).replayed == 0  # replaying twice stores once
    assert ingest(batch("a"), ctx=ctx).stored_new == 0  # and the same batch again is not new
    with ctx.records.session() as s:
        assert s.scalar(select(func.count()).select_from(Alert)) == 1
        opened = select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "alert.opened")
        assert s.scalar(opened) == 1  # replayed once: one alert opened, audited once
        kept = select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "evidence.snapshot")
        assert s.scalar(kept) == 1  # and its post kept as evidence once
    ctx.close()


class TcpProxy:
    """127.0.0.1:port → target; ``close`` drops the listener and every open connection (a dead network)."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.port = free_port()
        self._conns: list[socket.socket] = []
        self._server: socket.socket | None = None

    def open(self) -> None:
        srv = socket.socket()
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("127.0.0.1", self.port))
        srv.listen(16)
        self._server = srv
        threading.Thread(target=self._accept, args=(srv,), daemon=True).start()

    def _accept(self, srv: socket.socket) -> None:
        while True:
            try:
                client, _ = srv.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        if self._server is not None:
            with contextlib.suppress(OSError):
                self._server.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
            self._server.close()
            self._server = None
        for s in self._conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
                s.close()
            except OSError:
                pass
        self._conns.clear()


@pytest.mark.skipif(not os.environ.get("YUQING_TEST_PG_URL"), reason="YUQING_TEST_PG_URL not set")
def test_postgresql_unreachable_mid_run_loses_nothing(tmp_path):
    base = os.environ["YUQING_TEST_PG_URL"]
    engine = create_engine(base)
    schema = f"s_{uuid.uuid4().hex[:12]}"
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = engine.url
    proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
    proxy.open()
    proxied = url.set(
        host="127.0.0.1",
        port=proxy.port,
        query={**url.query, "options": f"-csearch_path={schema}", "connect_timeout": "3"},
    )
    ctx = make_ctx(tmp_path, records_url=proxied.render_as_string(hide_password=False))
    try:
        assert ingest(batch("a"), ctx=ctx).alerts_opened == 1

        proxy.close()  # the network to PostgreSQL goes away mid-run
        down = ingest(batch("b"), ctx=ctx)
        assert down.spooled == 3 and down.alerts_opened == 0
        assert ingest(batch("c"), ctx=ctx).spooled == 3  # queued behind b, order kept
        assert len(ctx.spool) == 2

        proxy.open()  # back
        back = ingest(batch("d"), ctx=ctx)
        assert (back.replayed, back.spooled) == (6, 0)
        assert len(ctx.spool) == 0
        assert ctx.index.count() == 12
        with ctx.records.session() as s:
            alerts = s.scalars(select(Alert).order_by(Alert.id)).all()
            assert [a.url.split("/")[3] for a in alerts] == ["a", "b", "c", "d"]  # once each, in order
            opened = select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "alert.opened")
            assert s.scalar(opened) == 4
    finally:
        ctx.close()
        proxy.close()
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()

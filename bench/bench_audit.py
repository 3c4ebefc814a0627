"""The chained audit trail and compare-and-set: what they cost. Prints figures, asserts nothing.

    yuqing bench audit [--entries 2000] [--writers 8] [--pg URL]

* batch: one transaction writing N audit entries (an ingest batch opening N alerts writes one each);
* single: N transactions of one entry each (people's actions), one writer, then ``--writers`` threads
  at once on connections of their own (they take turns on the chain's head row);
* verify: ``yuqing audit verify``'s walk over the log, rows per second;
* triage: a person's acknowledge (read, compare-and-set, audit, commit) per second.

SQLite always (a file in a temporary directory); PostgreSQL too with ``--pg`` (or $YUQING_TEST_PG_URL),
in a schema of its own, dropped afterwards.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import threading
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

from playbooks import triage
from playbooks.authz import Actor
from store.auditlog import verify_audit
from store.models import PostRecord
from store.records import Records, audit, upsert_alert


def _rate(n: int, seconds: float) -> str:
    return f"{n / seconds:,.0f}/s ({seconds * 1000 / n:.2f} ms each)" if seconds else "—"


def measure(rec: Records, entries: int, writers: int) -> None:
    t = time.perf_counter()
    with rec.session() as s:
        for i in range(entries):
            audit(
                s,
                actor="system",
                action="alert.opened",
                entity="alert",
                entity_id=i,
                level="II",
                topic="不实信息",
            )
    print(f"  batch   {entries} entries in one commit: {_rate(entries, time.perf_counter() - t)}")

    n = max(1, entries // 4)
    t = time.perf_counter()
    for i in range(n):
        with rec.session() as s:
            audit(s, actor="wang", action="alert.acknowledged", entity="alert", entity_id=i)
    print(f"  single  {n} commits of one entry, 1 writer: {_rate(n, time.perf_counter() - t)}")

    per = max(1, n // writers)
    barrier = threading.Barrier(writers)

    def writer(w: int) -> None:
        barrier.wait()
        for i in range(per):
            with rec.session() as s:
                audit(s, actor=f"w{w}", action="alert.assigned", entity="alert", entity_id=f"{w}-{i}")

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(writers)]
    t = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    print(
        f"  single  {per * writers} commits, {writers} writers at once: {_rate(per * writers, time.perf_counter() - t)}"
    )

    t = time.perf_counter()
    with rec.session() as s:
        report = verify_audit(s)
    print(
        f"  verify  {report.rows} rows, chain {'intact' if report.ok else 'BROKEN'}: "
        f"{_rate(report.rows, time.perf_counter() - t)}"
    )

    ids = []
    with rec.session() as s:
        for i in range(n):
            post = PostRecord(id=f"bench-{i}", title="华鼎证券", text="华鼎证券", level="III", flagged=True)
            ids.append(upsert_alert(s, post=post)[0].id)
    officer = Actor("wang", "officer")
    t = time.perf_counter()
    for alert_id in ids:
        with rec.session() as s:
            triage.acknowledge(s, alert_id, officer)
    print(
        f"  triage  {n} acknowledgements (read, compare-and-set, audit, commit): {_rate(n, time.perf_counter() - t)}"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--entries", type=int, default=2000)
    p.add_argument("--writers", type=int, default=8)
    p.add_argument("--pg", default=os.environ.get("YUQING_TEST_PG_URL", ""))
    args = p.parse_args()
    print(
        f"machine: {platform.node()} · {platform.processor() or platform.machine()} · {os.cpu_count()} CPUs · "
        f"Python {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        print("SQLite (embedded):")
        rec = Records(f"sqlite:///{Path(tmp) / 'bench.db'}")
        try:
            measure(rec, args.entries, args.writers)
        finally:
            rec.dispose()
    if args.pg:
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        admin = create_engine(args.pg)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        print("PostgreSQL:")
        rec = Records(f"{args.pg}{'&' if '?' in args.pg else '?'}options=-csearch_path%3D{schema}")
        try:
            measure(rec, args.entries, args.writers)
        finally:
            rec.dispose()
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


if __name__ == "__main__":
    main()

"""Records contract tests run against every engine that can be reached.

SQLite always; PostgreSQL when YUQING_TEST_PG_URL is set (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test).
Each PostgreSQL test gets a schema of its own (tests/migrated.py: dropped afterwards, or emptied for the next).
"""

from __future__ import annotations

import os
import uuid

import pytest

from store.records import Records
from tests.migrated import pg_schema

ENGINES = ["sqlite"] + (["postgresql"] if os.environ.get("YUQING_TEST_PG_URL") else [])


@pytest.fixture(params=ENGINES)
def records(request, tmp_path):
    if request.param == "sqlite":
        rec = Records(f"sqlite:///{tmp_path / 'records.db'}")
        yield rec
        rec.dispose()
        return
    base = os.environ["YUQING_TEST_PG_URL"]
    sep = "&" if "?" in base else "?"
    with pg_schema(base) as schema:  # a schema of its own (tests/migrated.py: new, or an emptied one)
        rec = Records(f"{base}{sep}options=-csearch_path%3D{schema}")
        yield rec
        rec.dispose()


# --------------------------------------------------------------------------- posts index engines

# "sqlite" answers filters and counts from its column cache, "sqlite-sql" from plain SQL: both must agree
POST_ENGINES = ["sqlite", "sqlite-sql"] + (["elasticsearch"] if os.environ.get("YUQING_TEST_ES_URL") else [])


@pytest.fixture(params=POST_ENGINES)
def index(request, tmp_path, segmenter):
    """The posts index on each reachable engine; on Elasticsearch an alias of its own, dropped after."""
    if request.param.startswith("sqlite"):
        from store.posts_sqlite import SqlitePostIndex

        idx = SqlitePostIndex(tmp_path / "posts.db", segmenter, columnar=request.param == "sqlite")
        yield idx
        idx.close()
        return
    from store.posts_es import EsPostIndex, make_client

    idx = EsPostIndex(
        make_client(os.environ["YUQING_TEST_ES_URL"]), segmenter, alias=f"yuqing-test-{uuid.uuid4().hex[:10]}"
    )
    yield idx
    idx.drop()
    idx.close()

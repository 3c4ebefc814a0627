"""A records database per reachable engine for the report and dashboard tests: SQLite always,
PostgreSQL when YUQING_TEST_PG_URL is set (a schema of its own per test, dropped afterwards)."""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import create_engine, text

from store.records import Records

ENGINES = ["sqlite"] + (["postgresql"] if os.environ.get("YUQING_TEST_PG_URL") else [])


@pytest.fixture(params=ENGINES)
def records(request, tmp_path):
    if request.param == "sqlite":
        rec = Records(f"sqlite:///{tmp_path / 'records.db'}")
        yield rec
        rec.dispose()
        return
    base = os.environ["YUQING_TEST_PG_URL"]
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    rec = Records(f"{base}{sep}options=-csearch_path%3D{schema}")
    yield rec
    rec.dispose()
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()

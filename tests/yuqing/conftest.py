"""Fixtures shared by the command-line tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.migrated import pg_schema

ENGINES = ["sqlite"] + (["postgresql"] if os.environ.get("YUQING_TEST_PG_URL") else [])


@pytest.fixture(params=ENGINES)
def records_url(request, config_file: Path) -> Iterator[str]:
    """The records database: the embedded SQLite file, and a schema of its own on PostgreSQL when
    YUQING_TEST_PG_URL is set (written into the test's yuqing.toml)."""
    if request.param == "sqlite":
        yield ""
        return
    base = os.environ["YUQING_TEST_PG_URL"]
    with pg_schema(base) as schema:  # a schema of its own (tests/migrated.py: new, or an emptied one)
        url = f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
        body = config_file.read_text(encoding="utf-8")
        config_file.write_text(
            body.replace("[store]\n", f'[store]\nrecords_url = "{url}"\n'), encoding="utf-8"
        )
        yield url


class RepeatedLine:
    """A stdin that answers every readline with the same line: ``--password-stdin`` for several commands."""

    def __init__(self, line: str):
        self.line = line

    def readline(self) -> str:
        return self.line + "\n"

    def isatty(self) -> bool:
        return False


@pytest.fixture
def password_on_stdin(monkeypatch):
    """``password_on_stdin(pw)``: each command's ``--password-stdin`` reads ``pw`` (the real credential path)."""

    def put(password: str) -> list[str]:
        monkeypatch.setattr("sys.stdin", RepeatedLine(password))
        return ["--password-stdin"]

    return put

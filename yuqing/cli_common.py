"""What every command shares: the error a person at the terminal can fix, and reading JSONL input.

Its own module so the command line's parts (yuqing/cli.py, yuqing/stress.py …) import it without importing
each other.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any


class CliError(Exception):
    """A problem the person at the terminal can fix; printed without a traceback."""


def read_jsonl(path: Path) -> Iterator[tuple[int, Any, str | None]]:
    """Yield (line number, object or None, error or None) for each non-blank line; never raises on bad lines."""
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise CliError(f"无法读取输入文件 {path}: {exc.strerror}") from exc
    with fh:
        for n, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                line = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                try:
                    line = raw.decode("gb18030")
                except UnicodeDecodeError:
                    yield n, None, "不是 UTF-8 或 GBK 编码"
                    continue
            try:
                yield n, json.loads(line), None
            except json.JSONDecodeError as exc:
                yield n, None, f"JSON 格式错误：{exc.msg}（第 {exc.colno} 列）"

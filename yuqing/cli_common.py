"""What every command shares: the error a person at the terminal can fix, and reading JSONL input.

Its own module so the command line's parts (yuqing/cli.py, yuqing/stress.py …) import it without importing
each other.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from store.incoming import MAX_LINE_BYTES, LineError, decode_line


class CliError(Exception):
    """A problem the person at the terminal can fix; printed without a traceback."""


def read_jsonl(path: Path) -> Iterator[tuple[int, Any, str | None]]:
    """Yield (line number, object or None, error or None) for each non-blank line; never raises on bad lines.

    Each line is read within the limits of ``store.incoming.decode_line`` (size, nesting depth, finite
    numbers); the error says why a line could not be read.
    """
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise CliError(f"无法读取输入文件 {path}: {exc.strerror}") from exc
    with fh:
        n = 0
        while raw := fh.readline(MAX_LINE_BYTES + 1):
            n += 1
            if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
                size = len(raw)
                while (rest := fh.readline(1 << 20)) and not rest.endswith(b"\n"):  # never all in memory
                    size += len(rest)
                yield n, None, f"行过长（超过 {MAX_LINE_BYTES} 字节，实际 {size + len(rest)} 字节）"
                continue
            if not raw.strip():
                continue
            try:
                obj = decode_line(raw)
            except LineError as exc:
                yield n, None, str(exc)
                continue
            yield n, obj, None

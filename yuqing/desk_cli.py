"""`yuqing desk` (and `yuqing demo` after its crawl): start the Streamlit desk on 127.0.0.1."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

DESK_APP = Path(__file__).resolve().parent.parent / "desk" / "app.py"


# Simplified Chinese fonts named before the browser's default: Streamlit's page says lang="en", and
# with only "sans-serif" Chromium on Linux draws Chinese in Noto Sans CJK JP (Japanese glyph forms).
DESK_FONT = '"Source Sans", "Noto Sans CJK SC", "Noto Sans SC", "PingFang SC", "Microsoft YaHei", sans-serif'
DESK_CODE_FONT = '"Source Code Pro", "Noto Sans Mono CJK SC", "Microsoft YaHei", monospace'


def run_desk(env: dict[str, str], *, port: int, base_url: str = "") -> int:
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(DESK_APP),
        "--server.headless", "true", "--server.port", str(port), "--server.address", "127.0.0.1",
        "--browser.gatherUsageStats", "false", "--client.toolbarMode", "viewer",
        "--theme.font", DESK_FONT, "--theme.codeFont", DESK_CODE_FONT,
    ]  # fmt: skip
    print(f"值守台已启动 / desk at http://127.0.0.1:{port}  (Ctrl+C 退出)")
    try:
        return subprocess.call(cmd, env=env)
    except KeyboardInterrupt:
        return 0

"""A real desk in a real browser: start `yuqing desk` on a free port, drive headless Debian Chromium.

Used by tests/desk/test_browser.py. Chromium, its driver and the CJK fonts are Debian packages
(`chromium`, `chromium-driver`, `fonts-noto-cjk`); .ci/run installs them. Where they are missing the
browser tests skip with the reason, except in CI (CI=true), where they fail: CI must not pass a
browser test it never ran.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
DRIVER_CANDIDATES = ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver")
INSTALL_HINT = "apt-get install -y chromium chromium-driver fonts-noto-cjk"

# Draws text on a canvas in the given element's font and compares the pixels: two different Chinese
# characters drawn with a real CJK font differ from each other and from a private-use code point
# (which no font draws: the browser's "missing glyph" box, i.e. tofu). Without a CJK font every
# Chinese character is that same box, so the check fails. Returns what it saw, for the message.
GLYPH_CHECK_JS = r"""
const el = arguments[0];
const cs = getComputedStyle(el);
const font = `${cs.fontWeight} 48px ${cs.fontFamily}`;
function draw(ch) {
  const c = document.createElement('canvas');
  c.width = 64; c.height = 64;
  const g = c.getContext('2d');
  g.fillStyle = '#fff'; g.fillRect(0, 0, 64, 64);
  g.fillStyle = '#000'; g.font = font; g.textBaseline = 'top';
  g.fillText(ch, 4, 4);
  const px = g.getImageData(0, 0, 64, 64).data;
  let ink = 0, sig = [];
  for (let i = 0; i < px.length; i += 4) { const dark = px[i] < 128 ? 1 : 0; ink += dark; sig.push(dark); }
  return {ink: ink, sig: sig.join(''), width: g.measureText(ch).width};
}
const chars = Array.from(arguments[1]);
const tofu = draw('\uE000');
const drawn = chars.map(draw);
const distinct = new Set(drawn.map(d => d.sig)).size;
return {
  font: cs.fontFamily,
  chars: chars.length,
  distinct: distinct,
  like_tofu: drawn.filter(d => d.sig === tofu.sig).length,
  without_ink: drawn.filter(d => d.ink === 0).length,
  min_width: Math.min(...drawn.map(d => d.width)),
};
"""


def platform_fonts(drv, selector: str) -> list[str]:
    """The system fonts Chromium actually drew the first element matching ``selector`` with (DevTools)."""
    drv.execute_cdp_cmd("DOM.enable", {})
    drv.execute_cdp_cmd("CSS.enable", {})
    root = drv.execute_cdp_cmd("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
    node = drv.execute_cdp_cmd("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    assert node, f"no element {selector!r} on the page"
    fonts = drv.execute_cdp_cmd("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    return [f["familyName"] for f in fonts if f.get("glyphCount", 0) > 0]


def chinese_font_families() -> set[str]:
    """Font family names fontconfig offers for Simplified Chinese (`fc-list :lang=zh-cn family`)."""
    if not shutil.which("fc-list"):
        return set()
    out = subprocess.run(["fc-list", ":lang=zh-cn", "family"], capture_output=True, text=True, timeout=30)
    return {name.strip() for line in out.stdout.splitlines() for name in line.split(",") if name.strip()}


def missing(reason: str) -> None:
    """Skip on a developer machine; fail in CI, where the project installs the browser itself."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason} (CI must run the browser test; .ci/run installs: {INSTALL_HINT})")
    pytest.skip(f"{reason}; install with: {INSTALL_HINT}")


def browser_paths() -> tuple[str, str]:
    """(chromium, chromedriver), or skip/fail saying what is missing."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing("the Python package selenium is not installed (pip install -e '.[test]')")
    chromium = next((p for p in CHROMIUM_CANDIDATES if os.access(p, os.X_OK)), None) or shutil.which(
        "chromium"
    )
    if not chromium:
        missing("Chromium is not installed")
    driver = next((p for p in DRIVER_CANDIDATES if os.access(p, os.X_OK)), None) or shutil.which(
        "chromedriver"
    )
    if not driver:
        missing("chromedriver (Debian package chromium-driver) is not installed")
    return chromium, driver


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_desk(config: Path, log_path: Path, timeout: float = 45.0):
    """`yuqing desk --config CONFIG --port <free>` until /_stcore/health answers; yields the base URL.

    The desk runs in its own process group, which is killed (TERM, then KILL) on the way out.
    """
    port = free_port()
    env = dict(os.environ)
    env["YUQING_CONFIG"] = str(config)
    env["STREAMLIT_SERVER_FILE_WATCHER_TYPE"] = "none"  # no "File change. Rerun" from edits elsewhere
    cmd = [sys.executable, "-c", "import sys; from yuqing.cli import main; sys.exit(main())",
           "--config", str(config), "desk", "--port", str(port)]  # fmt: skip
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise AssertionError(
                    f"the desk exited ({proc.returncode}):\n{log_path.read_text(errors='replace')}"
                )
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"the desk did not answer in {timeout:.0f} s:\n{log_path.read_text(errors='replace')}"
                )
            time.sleep(0.3)
        yield base
    finally:
        _kill_group(proc)


def _kill_group(proc: subprocess.Popen) -> None:
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


@contextmanager
def chromium_driver(chromium: str, driver: str, *, env: dict[str, str] | None = None, width: int = 1400,
                    height: int = 1000, log_path: Path | None = None):  # fmt: skip
    """A headless Chromium WebDriver (Debian's browser and its matching driver; no download)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                f"--window-size={width},{height}", "--lang=zh-CN", "--no-first-run",
                "--disable-extensions", "--disable-background-networking"):  # fmt: skip
        options.add_argument(arg)
    service = Service(executable_path=driver, env=env, log_output=str(log_path) if log_path else None)
    drv = webdriver.Chrome(options=options, service=service)
    try:
        drv.set_page_load_timeout(30)
        yield drv
    finally:
        drv.quit()

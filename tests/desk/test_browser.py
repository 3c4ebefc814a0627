"""The desk in a real browser: headless Debian Chromium shows the triage queue in Chinese, without errors.

The test starts `yuqing desk` against a small store made here (a few flagged posts, one with hostile
HTML in its title, and a drill), signs in through the login form, saves a screenshot and checks what
a person would see: the queue's title 预警队列 and the flagged posts' titles, no Streamlit exception or
error box, no script run from a post, and Chinese drawn with a real Simplified Chinese font (not tofu
boxes, not Japanese glyph forms).

Needs the Debian packages chromium, chromium-driver and fonts-noto-cjk (.ci/run installs them). Without
them the test skips with the reason; in CI (CI=true) it fails instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.desk import browser
from tests.desk.conftest import HOSTILE_TEXT, TEST_PASSWORD, DeskStore, make_user, sample_posts

REPO = Path(__file__).resolve().parents[2]
ARTEFACTS = REPO / "artefacts"  # git-ignored: the newest screenshot is copied here for people to look at
ERROR_SELECTORS = ('[data-testid="stException"]', '[data-testid="stAlertContentError"]')
QUEUE_POSTS = ("outage", "rumor", "hostile", "complaint")
SIGN_IN_USER = "值班员小周"
CJK_SAMPLE = "预警队列华鼎证券"  # eight different characters: eight different glyphs with a real font


def _wait_for(condition, timeout: float, what: str, drv=None):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            seen = f"\npage text: {_page_text(drv)[:800]!r}" if drv is not None else ""
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}{seen}")
        time.sleep(0.25)


def _page_text(drv) -> str:
    return drv.execute_script("return document.body ? document.body.innerText : ''") or ""


def _headings(drv) -> list[str]:
    """The page's h1 texts, read in one script: the page draws in steps, so an element found first may be
    gone when its text is asked for (a stale element)."""
    js = "return Array.from(document.querySelectorAll('h1')).map(e => e.innerText.trim())"
    return drv.execute_script(js) or []


def _errors_on_page(drv) -> list[str]:
    found = []
    for selector in ERROR_SELECTORS:
        # read in one script: the page redraws while it refreshes, an element found first may be gone
        # (stale) by the time its text is asked for
        texts = drv.execute_script(
            "return Array.from(document.querySelectorAll(arguments[0])).map(e => e.innerText || '')", selector
        )
        found += [f"{selector}: {t[:300]}" for t in texts or []]
    text = _page_text(drv)
    if "Traceback" in text:
        found.append("Traceback: " + text[text.index("Traceback") :][:300])
    return found


def _input(drv, label: str):
    from selenium.webdriver.common.by import By

    found = drv.find_elements(By.CSS_SELECTOR, f'input[aria-label="{label}"]')
    return found[0] if found else None


def _try_click(drv, selector: str, matches):
    """Click the first element under ``selector`` whose text ``matches`` and return it, or None while the
    page is still drawing it (not there yet, disabled, or redrawn between finding and clicking)."""
    from selenium.common.exceptions import ElementClickInterceptedException, StaleElementReferenceException
    from selenium.webdriver.common.by import By

    try:
        for el in drv.find_elements(By.CSS_SELECTOR, selector):
            if matches(el.text.strip()) and el.is_enabled():
                drv.execute_script("arguments[0].scrollIntoView({block: 'center'});", el)
                el.click()
                return el
    except (StaleElementReferenceException, ElementClickInterceptedException):
        pass
    return None


def _click(drv, label: str, *, timeout: float = 30, contains: bool = False) -> None:
    """Click the button showing ``label`` (exactly, or containing it), again if a redraw swallowed it."""
    matches = (lambda text: label in text) if contains else (lambda text: text == label)
    _wait_for(lambda: _try_click(drv, "button", matches), timeout, f"a click on 「{label}」", drv)


def _sign_in(drv, username: str, password: str) -> None:
    """Fill the desk's login form (用户名, 密码, 登录) the way a person does."""

    _wait_for(lambda: _input(drv, "用户名") and _input(drv, "密码"), 30, "the login form (用户名, 密码)", drv)
    _input(drv, "用户名").send_keys(username)
    _input(drv, "密码").send_keys(password)
    _click(drv, "登录")


@pytest.fixture
def browser_paths():
    return browser.browser_paths()


def test_triage_page_renders_chinese_in_chromium(browser_paths, desk_config, tmp_path, capsys):
    chromium, driver = browser_paths
    families = browser.chinese_font_families()
    if not families:
        browser.missing("no Chinese font: `fc-list :lang=zh-cn` finds none (Debian package fonts-noto-cjk)")

    posts = sample_posts()
    store = DeskStore(config=desk_config, posts=posts)
    store.add(list(posts.values()))
    make_user(store, username=SIGN_IN_USER, role="officer")

    shot = tmp_path / "desk-triage.png"
    with (
        browser.running_desk(desk_config, tmp_path / "desk.log") as base,
        browser.chromium_driver(chromium, driver, log_path=tmp_path / "chromedriver.log") as drv,
    ):
        from selenium.webdriver.common.by import By

        drv.get(base + "/")
        _sign_in(drv, SIGN_IN_USER, TEST_PASSWORD)
        # Streamlit draws the page over its websocket after load: wait for the last row of the queue
        _wait_for(lambda: posts["complaint"].title in _page_text(drv), 40, "the triage queue", drv)
        drv.execute_script("return document.fonts.ready")
        time.sleep(0.5)  # let the last elements settle before the screenshot
        assert drv.save_screenshot(str(shot)), "Chromium could not save a screenshot"
        ARTEFACTS.mkdir(exist_ok=True)
        shutil.copyfile(shot, ARTEFACTS / shot.name)
        with capsys.disabled():  # shown in every run, not only with -s
            print(f"\ndesk screenshot: {shot} (copied to {ARTEFACTS / shot.name})")

        assert _errors_on_page(drv) == []
        text = _page_text(drv)
        headings = [el.text.strip() for el in drv.find_elements(By.CSS_SELECTOR, "h1")]
        assert "预警队列" in headings, headings
        assert SIGN_IN_USER in text  # the signed-in officer is named on the page
        for key in QUEUE_POSTS:
            assert posts[key].title in text, f"{key}: {posts[key].title!r} not on the page"
        assert posts["drill"].title not in text  # a drill stays out of the production queue
        # hostile markup in a post is shown as the characters it is (asterisks and tags), and never ran
        assert posts["hostile"].title in text, "the hostile title was not shown literally"
        assert "<script>alert(1)</script>" in HOSTILE_TEXT and "<script>alert(1)</script>" in text

        # Chinese drawn with real glyphs: a Simplified Chinese font from fontconfig drew the heading
        # (Streamlit's page says lang="en"; left to itself Chromium picks Noto Sans CJK JP) ...
        used = browser.platform_fonts(drv, "h1")
        assert used and all(f in families for f in used), (used, sorted(families))
        assert not any(f.endswith((" JP", " KR", " TC", " HK")) for f in used), used
        # ... and each character is its own glyph, none the missing-glyph box
        h1 = next(el for el in drv.find_elements(By.CSS_SELECTOR, "h1") if el.text.strip() == "预警队列")
        glyphs = drv.execute_script(browser.GLYPH_CHECK_JS, h1, CJK_SAMPLE)
        assert glyphs["without_ink"] == 0 and glyphs["like_tofu"] == 0, glyphs
        assert glyphs["distinct"] == len(CJK_SAMPLE), glyphs

        # the playbook library, from the sidebar: read-only for an officer, without errors
        links = drv.find_elements(By.CSS_SELECTOR, '[data-testid="stSidebarNavLink"]')
        next(link for link in links if "预案库" in link.text).click()
        _wait_for(lambda: "分级时限" in _page_text(drv), 30, "the 预案库 page", drv)
        tables = "return document.querySelectorAll('[data-testid=\"stDataFrame\"] canvas').length"
        _wait_for(lambda: drv.execute_script(tables) >= 2, 30, "the clocks and steps tables drawn", drv)
        time.sleep(0.5)
        drv.save_screenshot(str(tmp_path / "desk-playbooks.png"))
        shutil.copyfile(tmp_path / "desk-playbooks.png", ARTEFACTS / "desk-playbooks.png")
        assert _errors_on_page(drv) == []
        assert "预案库" in [el.text.strip() for el in drv.find_elements(By.CSS_SELECTOR, "h1")]
        assert "需合规审核" in _page_text(drv) and "预案由管理员维护" in _page_text(drv)
        assert not drv.find_elements(By.CSS_SELECTOR, "textarea")  # no editor for an officer
    assert shot.stat().st_size > 20_000  # a drawn page, not a blank one


def test_glyph_check_sees_tofu_without_a_chinese_font(browser_paths, tmp_path):
    """The glyph checks above fail where no Chinese font is installed (here: a browser shown Latin fonts only)."""
    chromium, driver = browser_paths
    fonts = tmp_path / "fonts"
    fonts.mkdir()
    latin = subprocess.run(
        ["fc-match", "-f", "%{file}", "sans-serif:lang=en"], capture_output=True, text=True
    )
    if latin.returncode == 0 and latin.stdout and "CJK" not in latin.stdout:
        (fonts / Path(latin.stdout).name).symlink_to(latin.stdout)
    conf = tmp_path / "fonts.conf"
    conf.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">\n'
        f"<fontconfig><dir>{fonts}</dir><cachedir>{tmp_path / 'fc-cache'}</cachedir></fontconfig>\n",
        encoding="utf-8",
    )
    page = tmp_path / "page.html"
    page.write_text(f'<html lang="en"><body style="font-family:sans-serif"><h1>{CJK_SAMPLE}</h1></body></html>',
                    encoding="utf-8")  # fmt: skip
    env = dict(os.environ, FONTCONFIG_FILE=str(conf))
    with browser.chromium_driver(chromium, driver, env=env) as drv:
        from selenium.webdriver.common.by import By

        drv.get(page.as_uri())
        glyphs = drv.execute_script(
            browser.GLYPH_CHECK_JS, drv.find_element(By.CSS_SELECTOR, "h1"), CJK_SAMPLE
        )
        used = browser.platform_fonts(drv, "h1")
    assert glyphs["without_ink"] > 0 or glyphs["like_tofu"] > 0 or glyphs["distinct"] < len(CJK_SAMPLE), (
        glyphs
    )
    assert not set(used) & browser.chinese_font_families(), used

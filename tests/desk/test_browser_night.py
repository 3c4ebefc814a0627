"""The desk at 2 a.m., in a real browser (headless Debian Chromium, see tests/desk/browser.py).

What only a browser shows: a reload (F5) keeps the person signed in and on the page they were on; an
item link opened while signed out shows the login form (no English "Page not found") and, after
signing in, the item itself; an unattended queue with 自动刷新 on stays signed in past the idle limit
(the refresh counts as presence); a source that goes silent while the queue is open shows up in the
banner and the sidebar without a click.
"""

from __future__ import annotations

import time

import pytest

from tests.desk import browser
from tests.desk.conftest import TEST_PASSWORD, DeskStore, make_user, sample_posts
from tests.desk.test_browser import _click, _errors_on_page, _headings, _page_text, _sign_in, _wait_for

USER = "值班员小夜"


@pytest.fixture
def browser_paths():
    return browser.browser_paths()


def test_item_link_survives_sign_in_and_reload(browser_paths, desk_config, tmp_path):
    chromium, driver = browser_paths
    posts = sample_posts()
    store = DeskStore(config=desk_config, posts=posts)
    store.add(list(posts.values()))
    make_user(store, username=USER, role="officer")
    with (
        browser.running_desk(desk_config, tmp_path / "desk.log") as base,
        browser.chromium_driver(chromium, driver, log_path=tmp_path / "chromedriver.log") as drv,
    ):
        # a shared item link, opened signed out: the login form, in Chinese, no "Page not found"
        drv.get(f"{base}/item?post={posts['rumor'].id}")
        _sign_in(drv, USER, TEST_PASSWORD)
        _wait_for(lambda: "预警详情" in _headings(drv), 40, "the item page after signing in", drv)
        _wait_for(lambda: posts["rumor"].text in _page_text(drv), 40, "the item's text", drv)
        assert "Page not found" not in _page_text(drv)
        assert f"post={posts['rumor'].id}" in drv.current_url
        assert _errors_on_page(drv) == []

        # F5: still signed in, still on the item
        drv.refresh()
        _wait_for(lambda: "预警详情" in _headings(drv), 40, "the item page after a reload", drv)
        _wait_for(lambda: posts["rumor"].text in _page_text(drv), 40, "the item's text after a reload", drv)
        text = _page_text(drv)
        assert posts["rumor"].title in text and USER in text
        assert "登录" not in _headings(drv)[0]
        assert _errors_on_page(drv) == []

        # a page the officer may not use answers in Chinese, not with "Page not found"
        drv.get(f"{base}/dashboard")
        _wait_for(lambda: "无权访问" in _page_text(drv), 40, "the refusal of 态势总览", drv)
        assert "Page not found" not in _page_text(drv)

        # signing out forgets the cookie: a reload shows the login form
        drv.get(base + "/")
        _wait_for(lambda: "预警队列" in _headings(drv), 40, "the queue", drv)
        _click(drv, "退出登录")  # found and clicked again if the queue redraws in between
        _wait_for(lambda: "已退出登录" in _page_text(drv), 20, "the signed-out message", drv)
        drv.refresh()
        _wait_for(lambda: browser_input(drv, "用户名"), 30, "the login form after a reload", drv)
        assert "预警队列" not in _headings(drv)


def browser_input(drv, label: str):
    from selenium.webdriver.common.by import By

    return drv.find_elements(By.CSS_SELECTOR, f'input[aria-label="{label}"]')


SOURCES_TOML = """
[[sources]]
name = "hexun"
family = "rss"
url = "https://news.hexun.com/rss.xml"
interval_minutes = 60
options = { display_name = "和讯网" }
"""


def test_unattended_queue_stays_signed_in_and_learns_of_a_silent_source(browser_paths, desk_config, tmp_path):
    """自动刷新 on, nobody touching the page past the idle limit: still signed in; a source that fails
    meanwhile appears in the queue's banner and the sidebar without a click."""
    from tests.desk.test_health import failed_stats, healthy_history, run
    from yuqing.config import load_settings
    from yuqing.context import build_context

    chromium, driver = browser_paths
    idle_seconds, refresh = 18, 5
    with desk_config.open("a", encoding="utf-8") as f:
        f.write(f"\n[desk]\nqueue_refresh_seconds = {refresh}\nsession_idle_minutes = {idle_seconds / 60}\n")
        f.write(SOURCES_TOML)
    posts = sample_posts()
    store = DeskStore(config=desk_config, posts=posts)
    store.add(list(posts.values()))
    make_user(store, username=USER, role="officer")
    ctx = build_context(load_settings(desk_config))
    try:
        healthy_history(ctx)
        with (
            browser.running_desk(desk_config, tmp_path / "desk.log") as base,
            browser.chromium_driver(chromium, driver, log_path=tmp_path / "chromedriver.log") as drv,
        ):
            drv.get(base + "/")
            _sign_in(drv, USER, TEST_PASSWORD)
            _wait_for(lambda: posts["complaint"].title in _page_text(drv), 40, "the triage queue", drv)
            assert "信息源告警" not in _page_text(drv)
            for minutes in (25, 15, 5):  # the source fails while nobody touches the page
                run(ctx, minutes, hexun=failed_stats())
            _wait_for(
                lambda: _page_text(drv).count("信息源告警") >= 2,
                refresh * 4,
                "the banner and sidebar flag",
                drv,
            )
            time.sleep(idle_seconds * 1.6 - refresh * 2)  # well past the idle limit, untouched
            text = _page_text(drv)
            assert "登录已过期" not in text and "预警队列" in _headings(drv), text[:300]
            assert posts["complaint"].title in text
            assert [
                e for e in _errors_on_page(drv) if "信息源告警" not in e
            ] == []  # the flag is red on purpose
    finally:
        ctx.close()


FIRST_ALERT_JS = """
const want = arguments[0];
const el = Array.from(document.querySelectorAll('[data-testid="stText"]')).find(e => e.innerText.trim() === want);
if (!el) return null;
const r = el.getBoundingClientRect();
return {top: r.top, bottom: r.bottom, height: window.innerHeight, width: window.innerWidth};
"""


def test_the_phone_view_shows_the_first_alert_on_the_first_screen(browser_paths, desk_config, tmp_path):
    """A phone (390 × 844): after signing in, the most urgent alert's title is on the first screen,
    without scrolling (the bar, the search box, the folded filters and one row of figures above it)."""
    chromium, driver = browser_paths
    posts = sample_posts()
    store = DeskStore(config=desk_config, posts=posts)
    store.add(list(posts.values()))
    make_user(store, username=USER, role="officer")
    with (
        browser.running_desk(desk_config, tmp_path / "desk.log") as base,
        browser.chromium_driver(chromium, driver, width=390, height=844, log_path=tmp_path / "cd.log") as drv,
    ):
        # a phone's viewport (Chromium's window cannot be made narrower than 500 px: emulate the device)
        drv.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": 390, "height": 844, "deviceScaleFactor": 3, "mobile": True},
        )
        drv.get(base + "/")
        _sign_in(drv, USER, TEST_PASSWORD)
        first = posts["outage"].title  # level I, its 5-minute clock the nearest
        _wait_for(lambda: first in _page_text(drv), 40, "the queue on a phone", drv)
        time.sleep(1.0)
        box = drv.execute_script(FIRST_ALERT_JS, first)
        drv.save_screenshot(str(tmp_path / "desk-phone.png"))
        assert box is not None, "the first alert's title is not drawn as text"
        assert box["width"] <= 400
        assert box["top"] >= 0 and box["bottom"] <= box["height"], box
        assert _errors_on_page(drv) == []

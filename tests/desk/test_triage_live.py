"""The triage queue in a real browser: it refreshes itself (a new alert appears, marked 新, without a
click), and a manager's 导出误报训练数据 button downloads the false positives as JSONL.

AppTest runs a fragment once and cannot show ``run_every``; this starts `yuqing desk` with a short
refresh interval, signs in through the login form in headless Chromium, stores a new flagged post
while the page stays open, and waits for it to appear. Needs chromium and chromium-driver (see
tests/desk/browser.py: skips without them, fails in CI).
"""

from __future__ import annotations

import time

import pytest

from tests.desk import browser
from tests.desk.conftest import TEST_PASSWORD, DeskStore, make_post, make_user, sample_posts
from tests.desk.test_browser import _click, _errors_on_page, _page_text, _sign_in, _wait_for

REFRESH_SECONDS = 5
USER = "值班员小林"


@pytest.fixture
def browser_paths():
    return browser.browser_paths()


# the 新 badges, counted in one script (elements found one by one may be redrawn before their text is read)
NEW_BADGES_JS = """
return Array.from(document.querySelectorAll('[data-testid="stMarkdownContainer"] span'))
  .filter(e => e.innerText.trim() === '新').length;
"""


def test_new_alert_appears_without_a_click(browser_paths, desk_config, tmp_path):
    chromium, driver = browser_paths
    with desk_config.open("a", encoding="utf-8") as f:
        f.write(f"\n[desk]\nqueue_refresh_seconds = {REFRESH_SECONDS}\n")
    posts = sample_posts()
    store = DeskStore(config=desk_config, posts=posts)
    store.add(list(posts.values()))
    make_user(store, username=USER, role="officer")
    late = make_post(
        "late",
        title="华鼎证券两融穿仓传闻发酵",
        text="多个论坛转发华鼎证券两融客户穿仓的传闻。",
        level="II",
        source="微博",
        minutes_ago=0,
    )

    with (
        browser.running_desk(desk_config, tmp_path / "desk.log") as base,
        browser.chromium_driver(chromium, driver, log_path=tmp_path / "chromedriver.log") as drv,
    ):
        from selenium.webdriver.common.by import By

        drv.get(base + "/")
        _sign_in(drv, USER, TEST_PASSWORD)
        _wait_for(lambda: posts["complaint"].title in _page_text(drv), 40, "the triage queue", drv)

        # mark everything seen, so the 新 on the late post is its own (the list can be drawn a moment
        # before the buttons above it on a loaded machine; the fragment may redraw between find and click)
        _click(drv, "全部已读")
        _wait_for(lambda: "已全部标为已读" in _page_text(drv), 20, "the 全部已读 message", drv)
        assert late.title not in _page_text(drv)

        store.add([late])  # arrives while the page stays open; nobody touches it
        started = time.monotonic()
        _wait_for(lambda: late.title in _page_text(drv), REFRESH_SECONDS * 4, "the new alert to appear", drv)
        waited = time.monotonic() - started
        assert _errors_on_page(drv) == []

        # the only 新 on the page belongs to the post that just arrived; the page draws in steps (the title
        # can be there a moment before its badge), so wait for the page to settle on exactly one
        def _badges() -> int:
            return drv.execute_script(NEW_BADGES_JS)

        _wait_for(lambda: _badges() == 1, 20, "exactly one 新 badge", drv)
        _wait_for(lambda: "新到达\n\n1\n" in _page_text(drv), 20, "the count of new alerts (1)", drv)
        assert _badges() == 1
    print(f"\nnew alert shown {waited:.1f} s after it was stored (refresh every {REFRESH_SECONDS} s)")


def test_manager_downloads_false_positives_as_training_data(browser_paths, desk_config, tmp_path):
    import json

    from playbooks.authz import Actor
    from playbooks.triage import mark_false_positive
    from store.records import get_alert_for_post

    chromium, driver = browser_paths
    posts = sample_posts()
    store = DeskStore(config=desk_config, posts=posts)
    store.add(list(posts.values()))
    make_user(store, username="李负责", role="manager")
    ctx = store.context()
    try:
        with ctx.records.session() as s:
            alert = get_alert_for_post(s, post_id="post-complaint")
            mark_false_positive(s, alert.id, Actor("王晓明", "officer"), "赎回慢属正常到账周期，非投诉")
    finally:
        ctx.close()
    downloads = tmp_path / "downloads"
    downloads.mkdir()

    with (
        browser.running_desk(desk_config, tmp_path / "desk.log") as base,
        browser.chromium_driver(chromium, driver, log_path=tmp_path / "chromedriver.log") as drv,
    ):
        from selenium.webdriver.common.by import By

        drv.execute_cdp_cmd(
            "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
        )
        drv.get(base + "/")
        _sign_in(drv, "李负责", TEST_PASSWORD)
        _wait_for(lambda: "预警合计" in _page_text(drv), 40, "the queue", drv)
        # the export sits in the queue's 设置 popover (kept out of the way of the first screen)
        _click(drv, "设置", contains=True)
        _wait_for(lambda: "导出误报训练数据（1 条" in _page_text(drv), 40, "the export button", drv)
        files: list = []
        for _ in range(3):  # a click swallowed by a redraw on a loaded machine is clicked again
            _click(drv, "导出误报训练数据", contains=True, timeout=20)
            try:
                files = _wait_for(lambda: list(downloads.glob("*.jsonl")), 15, "the downloaded file", drv)
                break
            except AssertionError:
                continue
        assert files, "no file downloaded after three clicks"
        assert _errors_on_page(drv) == []
    (row,) = [json.loads(line) for line in files[0].read_text(encoding="utf-8").splitlines()]
    assert row["id"] == "post-complaint" and row["title"] == posts["complaint"].title
    assert row["text"] == posts["complaint"].text and row["sentiment"]["label"] == "negative"
    assert row["verdict"] == "false_positive" and row["verdict_reason"] == "赎回慢属正常到账周期，非投诉"

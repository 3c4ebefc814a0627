"""Each role's main flow in a real browser (headless Debian Chromium; see tests/desk/browser.py), failing
on any Streamlit exception, error box or traceback along the way:

* the duty officer opens an item from a notification's link (signed out: the login form, then the
  item), reloads and stays signed in, acknowledges it, escalates it, drafts a holding statement and
  submits it for compliance review;
* the manager approves the statement, generates the 报告证监局 draft and signs it;
* the admin opens 用户管理.
"""

from __future__ import annotations

import time

import pytest

from tests.desk import browser
from tests.desk.conftest import TEST_PASSWORD, DeskStore, make_user, sample_posts
from tests.desk.test_browser import (
    _click,
    _errors_on_page,
    _headings,
    _page_text,
    _sign_in,
    _try_click,
    _wait_for,
)

OFFICER, MANAGER, ADMIN = "值班员小周", "李负责", "管理员老王"


@pytest.fixture
def browser_paths():
    return browser.browser_paths()


def _open_expander(drv, label: str):
    """Click the expander titled ``label`` and return its summary, or None while the page is still drawing
    it."""
    return _try_click(drv, "summary", lambda text: label in text)


def _see(drv, text: str, what: str, timeout: float = 40) -> None:
    _wait_for(lambda: text in _page_text(drv), timeout, what, drv)
    assert _errors_on_page(drv) == [], what


def _sign_out(drv) -> None:
    _click(drv, "退出登录")
    _see(drv, "已退出登录", "the signed-out message")


def test_each_role_walks_its_main_flow(browser_paths, desk_config, tmp_path):
    chromium, driver = browser_paths
    posts = sample_posts()
    store = DeskStore(config=desk_config, posts=posts)
    store.add(list(posts.values()))
    make_user(store, username=OFFICER, role="officer")
    make_user(store, username=MANAGER, role="manager")
    make_user(store, username=ADMIN, role="admin")
    outage = posts["outage"]
    with (
        browser.running_desk(desk_config, tmp_path / "desk.log") as base,
        browser.chromium_driver(chromium, driver, log_path=tmp_path / "chromedriver.log") as drv,
    ):
        from selenium.webdriver.common.by import By

        # --- the duty officer: a link from a notification, signed out
        drv.get(f"{base}/item?post={outage.id}")
        _sign_in(drv, OFFICER, TEST_PASSWORD)
        _see(drv, outage.text, "the item after signing in")
        assert "预警详情" in _headings(drv)
        drv.refresh()
        _see(drv, outage.text, "the item after a reload")
        assert OFFICER in _page_text(drv)
        _click(drv, "确认")
        _see(drv, "已确认 1 条预警", "the acknowledgment")
        _click(drv, "立案处置 / 开启处置记录")
        _see(drv, "已开启处置记录", "the escalation record opened")
        _click(drv, "前往处置记录")
        _wait_for(lambda: "处置记录" in _headings(drv), 40, "the record page", drv)
        _see(drv, "对外口径", "the holding statements")
        # draft from the first template: fill what it asks for
        expander = _wait_for(lambda: _open_expander(drv, "起草新的对外口径"), 40, "the draft expander", drv)
        time.sleep(1.0)
        details = expander.find_element(By.XPATH, "./ancestor::details[1]")
        for box in details.find_elements(By.CSS_SELECTOR, "input[type='text']"):
            if not box.get_attribute("value"):
                box.send_keys("今日 09:35")
                box.send_keys("\t")
                time.sleep(0.3)
        _click(drv, "生成草稿")
        _see(drv, "口径草稿已生成", "the draft")
        _click(drv, "提交合规审核")
        _see(drv, "已提交合规审核", "the draft submitted")
        _sign_out(drv)

        # --- the manager: approve the statement, generate and sign the regulator report
        drv.get(f"{base}/escalations")
        _sign_in(drv, MANAGER, TEST_PASSWORD)
        _wait_for(lambda: "处置记录" in _headings(drv), 40, "the record page for the manager", drv)
        _click(drv, "批准")
        _see(drv, "口径已批准", "the statement approved")
        drv.get(f"{base}/reports")
        _wait_for(
            lambda: "报告证监局" in _headings(drv), 40, "the reports page (signed in after a reload)", drv
        )
        _click(drv, "生成报告证监局草稿")
        _see(drv, "已生成报告证监局草稿", "the report generated")
        _click(drv, "签发")
        _see(drv, "报告已签发", "the report signed")
        _sign_out(drv)

        # --- the admin: user management
        drv.get(f"{base}/users")
        _sign_in(drv, ADMIN, TEST_PASSWORD)
        _wait_for(lambda: "用户管理" in _headings(drv), 40, "用户管理", drv)
        _see(drv, OFFICER, "the users listed")
        drv.save_screenshot(str(tmp_path / "desk-admin.png"))

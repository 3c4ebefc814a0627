"""The entry file: the duty officer's name, and a clear message when config or store is missing."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.desk.conftest import APP, OFFICER_KEY


def test_missing_config_shows_a_chinese_error(tmp_path, monkeypatch):
    monkeypatch.setenv("YUQING_CONFIG", str(tmp_path / "nope.toml"))
    at = AppTest.from_file(str(APP), default_timeout=30).run()
    assert not at.exception
    assert any("无法读取配置文件" in e.value and "yuqing init" in e.value for e in at.error)
    assert not at.title  # no page ran


def test_broken_config_shows_a_chinese_error(tmp_path, monkeypatch):
    bad = tmp_path / "yuqing.toml"
    bad.write_text("[firm\nname = ", encoding="utf-8")
    monkeypatch.setenv("YUQING_CONFIG", str(bad))
    at = AppTest.from_file(str(APP), default_timeout=30).run()
    assert not at.exception
    assert any("无法读取配置文件" in e.value for e in at.error)


def test_unusable_store_shows_a_chinese_error(tmp_path, monkeypatch, desk_config):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x", encoding="utf-8")
    desk_config.write_text(
        desk_config.read_text(encoding="utf-8").replace(
            str((tmp_path / "desk.db").as_posix()), (blocker / "desk.db").as_posix()
        ),
        encoding="utf-8",
    )
    at = AppTest.from_file(str(APP), default_timeout=30).run()
    assert not at.exception
    assert any("无法打开数据存储" in e.value for e in at.error)


def test_officer_enters_a_name_once(desk_store):
    at = AppTest.from_file(str(APP), default_timeout=30).run()
    assert not at.exception
    assert any("填写姓名后才能立案" in c.value for c in at.sidebar.caption)
    at.sidebar.text_input(key="desk.officer_input").input("  王晓明  ")
    at.sidebar.button[0].click().run()  # the form's 开始值守
    assert not at.exception
    assert at.session_state[OFFICER_KEY] == "王晓明"
    # it stays for the session, across pages
    at.switch_page("views/escalations.py").run()
    assert at.session_state[OFFICER_KEY] == "王晓明"


def test_sidebar_names_the_officer_and_hands_over(desk_store):
    # AppTest (streamlit 1.67) re-runs only the page script after the first run, so what the entry
    # file draws in the sidebar is checked on a first run with the name already in session state.
    at = AppTest.from_file(str(APP), default_timeout=30)
    at.session_state[OFFICER_KEY] = "王晓明"
    at.run()
    assert any("当前值班员" in m.value and "王晓明" in m.value for m in at.sidebar.markdown)
    at.sidebar.button(key="desk.end_duty").click().run()
    assert at.session_state[OFFICER_KEY] == ""


def test_blank_officer_name_is_refused(desk_store):
    at = AppTest.from_file(str(APP), default_timeout=30).run()
    at.sidebar.text_input(key="desk.officer_input").input("   ")
    at.sidebar.button[0].click().run()
    assert not at.exception
    assert at.session_state[OFFICER_KEY] == ""
    assert any("请填写值班员姓名" in w.value for w in at.warning)

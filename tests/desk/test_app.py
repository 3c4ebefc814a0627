"""The entry file: sign-in before anything else, and a clear message when config or store is missing."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.desk.conftest import APP


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

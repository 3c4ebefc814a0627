"""Relative paths in yuqing.toml mean "next to this file", wherever the command is started from."""

from __future__ import annotations

from yuqing.config import load_settings


def test_relative_store_and_secrets_paths_resolve_next_to_the_config(tmp_path, monkeypatch):
    site = tmp_path / "desk"
    site.mkdir()
    (site / "secrets.toml").write_text('xq_a_token = "t"\n', encoding="utf-8")
    config = site / "yuqing.toml"
    config.write_text(
        'secrets_file = "secrets.toml"\n\n[firm]\nname = "华鼎证券股份有限公司"\n\n[store]\npath = "data/yuqing.db"\n',
        encoding="utf-8",
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    settings = load_settings(config)

    assert settings.secrets_file == (site / "secrets.toml").resolve()
    assert settings.secrets_file.is_file()
    assert settings.store.path == (site / "data" / "yuqing.db").resolve()

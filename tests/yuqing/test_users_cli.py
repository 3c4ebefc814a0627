"""`yuqing user …`: desk accounts from the terminal; passwords only from stdin or a prompt."""

from __future__ import annotations

import io
import logging
import subprocess
import sys

import pytest
from sqlalchemy import select

from playbooks import users
from store.models import AuditEntry
from store.records import Records
from yuqing.cli import main
from yuqing.config import load_settings

TOML = """
[firm]
name = "华鼎证券股份有限公司"
short_names = ["华鼎证券"]

[store]
path = "{store}"
"""


@pytest.fixture
def config(tmp_path, monkeypatch):
    path = tmp_path / "yuqing.toml"
    path.write_text(TOML.format(store=(tmp_path / "y.db").as_posix()), encoding="utf-8")
    monkeypatch.delenv("YUQING_CONFIG", raising=False)
    return path


def _records(config) -> Records:
    return Records(load_settings(config).store.resolved_records_url())


def _cli(config, monkeypatch, *args: str, stdin: str | None = None) -> int:
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    return main(["--config", str(config), "user", *args])


def _login(config, username: str, password: str) -> bool:
    rec = _records(config)
    try:
        with rec.session() as s:
            try:
                users.authenticate(s, username, password)
                return True
            except users.LoginRefused:
                return False
    finally:
        rec.dispose()


def test_add_list_passwd_disable_unlock(config, monkeypatch, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    assert (
        _cli(
            config,
            monkeypatch,
            "add",
            "zhaoli",
            "--role",
            "admin",
            "--display-name",
            "赵丽",
            "--email",
            "zhaoli@huading.example",
            "--password-stdin",
            stdin="First-Pass-2024\n",
        )
        == 0
    )
    assert "已添加用户 zhaoli" in capsys.readouterr().out
    assert _login(config, "zhaoli", "First-Pass-2024")

    assert _cli(config, monkeypatch, "list") == 0
    out = capsys.readouterr().out
    assert "zhaoli" in out and "管理员 admin" in out and "赵丽" in out and "正常" in out

    assert _cli(config, monkeypatch, "passwd", "zhaoli", "--password-stdin", stdin="Second-Pass-2024\n") == 0
    assert _login(config, "zhaoli", "Second-Pass-2024") and not _login(config, "zhaoli", "First-Pass-2024")

    for _ in range(5):
        _login(config, "zhaoli", "wrong-password")
    assert not _login(config, "zhaoli", "Second-Pass-2024")  # locked
    assert _cli(config, monkeypatch, "list") == 0
    assert "锁定" in capsys.readouterr().out
    assert _cli(config, monkeypatch, "unlock", "zhaoli") == 0
    assert _login(config, "zhaoli", "Second-Pass-2024")

    assert _cli(config, monkeypatch, "disable", "zhaoli") == 0
    assert not _login(config, "zhaoli", "Second-Pass-2024")
    assert _cli(config, monkeypatch, "enable", "zhaoli") == 0
    assert _login(config, "zhaoli", "Second-Pass-2024")

    rec = _records(config)
    with rec.session() as s:
        trail = [(a.actor, a.action, a.detail) for a in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    rec.dispose()
    assert [a for _, a, _ in trail] == [
        "user.created",
        "user.password_set",
        "user.unlocked",
        "user.disabled",
        "user.enabled",
    ]
    assert all(actor.startswith("cli") for actor, _, _ in trail)
    everything = repr(trail) + caplog.text + capsys.readouterr().out
    assert "First-Pass-2024" not in everything and "Second-Pass-2024" not in everything


def test_weak_password_duplicate_and_unknown_user_are_refused(config, monkeypatch, capsys):
    assert (
        _cli(config, monkeypatch, "add", "zhaoli", "--role", "officer", "--password-stdin", stdin="short\n")
        == 2
    )
    assert "至少需要 10 个字符" in capsys.readouterr().err
    assert (
        _cli(config, monkeypatch, "add", "zhaoli", "--role", "officer", "--password-stdin", stdin="\n") == 2
    )
    assert (
        _cli(
            config,
            monkeypatch,
            "add",
            "zhaoli",
            "--role",
            "officer",
            "--password-stdin",
            stdin="Good-Password-1\n",
        )
        == 0
    )
    assert (
        _cli(
            config,
            monkeypatch,
            "add",
            "zhaoli",
            "--role",
            "officer",
            "--password-stdin",
            stdin="Good-Password-1\n",
        )
        == 2
    )
    assert "已存在" in capsys.readouterr().err
    assert _cli(config, monkeypatch, "unlock", "nobody") == 2
    assert "不存在" in capsys.readouterr().err


def test_password_is_never_an_argument(config):
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "yuqing.cli",
            "--config",
            str(config),
            "user",
            "add",
            "zhaoli",
            "--role",
            "officer",
            "--password",
            "Good-Password-1",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 2 and "unrecognized arguments" in res.stderr


def test_prompted_password_must_be_typed_the_same_twice(config, monkeypatch, capsys):
    typed = iter(["Good-Password-1", "Good-Password-2"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(typed))
    assert _cli(config, monkeypatch, "add", "zhaoli", "--role", "officer") == 2
    assert "不一致" in capsys.readouterr().err
    typed = iter(["Good-Password-1", "Good-Password-1"])
    assert _cli(config, monkeypatch, "add", "zhaoli", "--role", "officer") == 0
    assert _login(config, "zhaoli", "Good-Password-1")


def test_accounts_in_the_config_file_are_refused_with_the_way_to_add_them(tmp_path):
    from yuqing.config import ConfigError

    path = tmp_path / "yuqing.toml"
    path.write_text(
        TOML.format(store=(tmp_path / "y.db").as_posix())
        + '\n[desk]\n[[desk.users]]\nusername = "wangxm"\npassword_hash = "x"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="yuqing user add"):
        load_settings(path)

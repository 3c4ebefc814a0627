"""`yuqing holidays` and `yuqing roster import|show` from the terminal."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from playbooks.users import hash_password
from store.models import RosterEntry, User
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

HEADER = "日期,开始,结束,岗位,用户名,电话,备注\n"
PASSWORD = "roster-cli-pass-42"


@pytest.fixture
def config(tmp_path, monkeypatch, password_on_stdin):
    path = tmp_path / "yuqing.toml"
    path.write_text(TOML.format(store=(tmp_path / "y.db").as_posix()), encoding="utf-8")
    monkeypatch.delenv("YUQING_CONFIG", raising=False)
    rec = Records(load_settings(path).store.resolved_records_url())
    with rec.session() as s:
        pw = hash_password(PASSWORD)
        s.add(User(username="admin", role="admin", active=True, phone="13800000000", password_hash=pw))
        s.add(User(username="wang", role="officer", active=True, phone="13800000001", password_hash=pw))
        s.add(User(username="zhao", role="officer", active=True))
        s.add(User(username="li", role="manager", active=True, phone="13800000003"))
    rec.dispose()
    password_on_stdin(PASSWORD)  # --as NAME --password-stdin: the person's own password
    return path


def _entries(config) -> list[tuple[str, str, str]]:
    rec = Records(load_settings(config).store.resolved_records_url())
    try:
        with rec.session() as s:
            return [
                (e.day, e.duty, e.username) for e in s.scalars(select(RosterEntry).order_by(RosterEntry.id))
            ]
    finally:
        rec.dispose()


def _cli(config, *args: str) -> int:
    return main(["--config", str(config), *args])


def test_holidays_for_a_year_and_from_a_date(capsys):
    assert main(["holidays", "--year", "2025"]) == 0
    out = capsys.readouterr().out
    assert "国庆节、中秋节  2025-10-01 至 2025-10-08（共 8 天）" in out
    assert "调休上班：2025-09-28（周日）、2025-10-11（周六）" in out
    assert "2025-10-09（周四）开市" in out
    assert main(["holidays", "--today", "2026-09-20"]) == 0
    out = capsys.readouterr().out
    assert "中秋节  2026-09-25 至 2026-09-27（共 3 天）  还有 5 天" in out
    assert "国庆节  2026-10-01 至 2026-10-07（共 7 天）  还有 11 天" in out


def test_holidays_of_an_unpublished_year_is_an_error(capsys):
    assert main(["holidays", "--year", "2027"]) == 2
    assert "2027年的节假日安排尚未收录" in capsys.readouterr().err
    assert main(["holidays", "--today", "2026-11-22"]) == 2
    assert "可用 --year 2026" in capsys.readouterr().err


def test_roster_import_and_show_with_gaps(config, tmp_path, capsys):
    csv = tmp_path / "roster.csv"
    csv.write_text(
        HEADER
        + "2026-10-01,00:00,24:00,主班,wang,,\n"
        + "2026-10-01,00:00,24:00,备班,zhao,13911112222,\n"
        + "2026-10-01,00:00,24:00,带班负责人,li,,\n"
        + "2026-10-02,08:00,24:00,主班,wang,,\n"
        + "2026-10-02,00:00,24:00,备班,zhao,,\n",
        encoding="utf-8",
    )
    assert _cli(config, "roster", "import", str(csv), "--as", "admin", "--password-stdin") == 0
    assert "已导入 5 条值班记录（2026-10-01 至 2026-10-02）" in capsys.readouterr().out
    assert _cli(config, "roster", "show", "--from", "2026-10-01", "--to", "2026-10-01") == 0
    out = capsys.readouterr().out
    assert "主班  全天  wang（wang）13800000001" in out and "值班表完整" in out
    assert _cli(config, "roster", "show", "--from", "2026-10-01", "--to", "2026-10-02") == 1
    out = capsys.readouterr().out
    assert "缺口 4 处" in out and "2026-10-02 缺备班" in out
    assert "2026-10-02 缺主班（00:00–08:00）" in out
    assert "2026-10-02 联系电话缺失：备班 zhao" in out
    assert "2026-10-02 缺带班负责人" in out
    assert _cli(config, "roster", "show", "--holiday", "国庆", "--today", "2026-09-01") == 1
    out = capsys.readouterr().out
    assert "值班表：国庆节（2026-10-01 至 2026-10-07）" in out and "2026-10-07 缺带班负责人" in out


def test_roster_import_refuses_a_bad_file_and_an_officer(config, tmp_path, capsys):
    csv = tmp_path / "roster.csv"
    csv.write_text(
        HEADER + "2026-10-01,00:00,24:00,主班,wang,,\n2026-10-01,00:00,24:00,主班,ghost,,\n", "utf-8"
    )
    assert _cli(config, "roster", "import", str(csv), "--as", "admin", "--password-stdin") == 2
    err = capsys.readouterr().err
    assert "第 3 行：用户“ghost”不存在" in err
    assert _entries(config) == []
    csv.write_text(HEADER + "2026-10-01,00:00,24:00,主班,wang,,\n", "utf-8")
    assert _cli(config, "roster", "import", str(csv), "--as", "wang", "--password-stdin") == 2
    assert "无权" in capsys.readouterr().err
    assert _entries(config) == []

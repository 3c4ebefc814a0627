"""`yuqing readiness`: a fully prepared store for 国庆 2026 is ready (exit 0); take away one ingredient at a
time and it is not (exit 1), and the output names exactly that problem in Chinese; the check cannot run at
all (exit 2) when the records database does not answer. A manager's sign-off needs every check passed.

The store is prepared through the real paths where they exist: sources' crawl runs through
store.health.record_runs, channel tests through playbooks.notify.deliver.run_channel_tests against a
local 企业微信-style webhook, users through playbooks.users.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update

from playbooks.authz import Actor, PermissionDenied
from playbooks.readiness import check_readiness, find_holiday, sign_off
from store.models import AuditEntry, DrillRun, Notification, RosterEntry, SourceRun, User
from tests.yuqing.readiness_support import CHANNEL_TOML, NOW, PASSWORD, Bot, Prepared, prepare
from yuqing.cli import main


@pytest.fixture
def bot() -> Iterator[Bot]:
    b = Bot()
    yield b
    b.close()


@pytest.fixture
def prepared(config_file: Path, records_url: str, bot: Bot, monkeypatch, password_on_stdin) -> Prepared:
    password_on_stdin(PASSWORD)  # --as zhao proves it with zhao's password (below)
    return prepare(config_file, bot, monkeypatch)


def readiness(capsys, *args: str) -> tuple[int, str, list[str]]:
    """(exit code, stdout + stderr, the ✗ lines)."""
    code = main(["readiness", "--at", NOW.isoformat(), "--as", "zhao", "--password-stdin", *args])
    cap = capsys.readouterr()
    out = cap.out + cap.err
    return code, out, [line for line in out.splitlines() if line.startswith("✗")]


def test_a_fully_prepared_store_is_ready(prepared, capsys):
    code, out, failed = readiness(capsys)
    assert code == 0, out
    assert failed == []
    assert "节前准备检查：国庆节（10月1日至10月7日），还有 3 天" in out
    for name in ("值班表完整", "信息源健康", "最近一次演练通过", "通知通道已测试", "负责人与管理员"):
        assert f"✓ {name}" in out
    assert "✓ 升级链可达" in out and "✓ 预案库可加载" in out and "✓ 帖子索引可访问" in out
    assert "国庆期间APP无法登录传言" in out
    assert "结论：已就绪。" in out
    # who looked and what they saw is in the audit trail
    entries = prepared.session(
        lambda s: [
            (e.actor, e.entity_id, e.detail["ready"], e.detail["via"])
            for e in s.scalars(select(AuditEntry).where(AuditEntry.action == "readiness.check"))
        ]
    )
    assert entries == [("zhao", "国庆节 2026-10-01", True, "cli")]


def _drop_manager_on_oct_3(p: Prepared) -> None:
    p.session(
        lambda s: s.execute(
            delete(RosterEntry).where(RosterEntry.day == "2026-10-03", RosterEntry.duty == "manager")
        )
    )


def _silent_source(p: Prepared) -> None:
    p.session(lambda s: s.execute(delete(SourceRun)))
    p.crawl(NOW - timedelta(hours=5))


def _crashed_source(p: Prepared) -> None:
    p.crawl(NOW - timedelta(minutes=3), finish_reason="crashed", scraped=0, errors=1)


def _no_drill(p: Prepared) -> None:
    p.session(lambda s: s.execute(delete(DrillRun)))


def _failed_drill(p: Prepared) -> None:
    p.session(lambda s: s.execute(update(DrillRun).values(passed=False)))


def _old_drill(p: Prepared) -> None:
    p.session(lambda s: s.execute(update(DrillRun).values(finished_at=NOW - timedelta(days=40))))


def _failed_channel_test(p: Prepared) -> None:
    p.bot.failing = True
    p.test_channels(NOW - timedelta(hours=2))


def _stale_channel_test(p: Prepared) -> None:
    p.session(lambda s: s.execute(delete(Notification)))
    p.test_channels(NOW - timedelta(days=8))


def _untested_channel(p: Prepared) -> None:
    p.config.write_text(
        p.config.read_text(encoding="utf-8") + CHANNEL_TOML.replace("wecom-duty", "wecom-managers"),
        encoding="utf-8",
    )


def _no_channels(p: Prepared) -> None:
    p.edit_config(CHANNEL_TOML, "")


def _no_admin(p: Prepared) -> None:
    p.session(lambda s: s.execute(update(User).where(User.role == "admin").values(active=False)))


def _broken_playbooks(p: Prepared) -> None:
    library = p.config.parent / "playbooks"
    library.mkdir()
    (library / "broken.yaml").write_text("id: [unclosed\n", encoding="utf-8")
    p.config.write_text(
        f'playbooks_dir = "{library.as_posix()}"\n' + p.config.read_text(encoding="utf-8"), encoding="utf-8"
    )


# (what is taken away, the check(s) that must fail, words the ✗ line must say)
REMOVALS = [
    (_drop_manager_on_oct_3, ["值班表完整"], ["10月3日"]),
    (_silent_source, ["信息源健康"], ["证券观察报", "沉默"]),
    (_crashed_source, ["信息源健康"], ["证券观察报", "抓取进程崩溃"]),
    (_no_drill, ["最近一次演练通过"], ["尚无完成的演练记录"]),
    (_failed_drill, ["最近一次演练通过"], ["国庆期间APP无法登录传言", "未通过"]),
    (_old_drill, ["最近一次演练通过"], ["超过 30 天"]),
    (_failed_channel_test, ["通知通道已测试"], ["「wecom-duty」最近一次测试", "失败"]),
    (_stale_channel_test, ["通知通道已测试"], ["「wecom-duty」上次测试成功", "已超过 7 天"]),
    (_untested_channel, ["通知通道已测试"], ["「wecom-managers」从未测试"]),
    (_no_channels, ["通知通道已测试"], ["没有配置通知通道"]),
    # the chain's role:admin tier has nobody left either: both say so
    (_no_admin, ["负责人与管理员", "升级链可达"], ["没有启用的管理员账号"]),
    (_broken_playbooks, ["预案库可加载"], ["预案库无法加载"]),
]


@pytest.mark.parametrize(("remove", "checks", "words"), REMOVALS, ids=[r[0].__name__[1:] for r in REMOVALS])
def test_each_missing_ingredient_is_named(prepared, capsys, remove, checks, words):
    remove(prepared)
    code, out, failed = readiness(capsys)
    assert code == 1, out
    assert [line.split("：", 1)[0].removeprefix("✗ ") for line in failed] == checks
    for word in words:
        assert word in failed[0], failed[0]
    assert "处理：" in out  # every failed check says what to do
    assert f"结论：未就绪（{len(checks)} 项未通过）。" in out


def test_the_roster_gap_says_where_to_fix_it(prepared, capsys):
    _drop_manager_on_oct_3(prepared)
    _, out, _ = readiness(capsys)
    assert "处理：在「假期与值班」页添加，或运行 yuqing roster import" in out


def test_a_chain_tier_that_follows_the_roster_needs_that_duty_every_day(prepared, capsys):
    prepared.config.write_text(
        prepared.config.read_text(encoding="utf-8")
        + '\n[escalation]\nchain = ["owner", "duty:manager", "role:admin"]\n',
        encoding="utf-8",
    )
    code, out, _ = readiness(capsys)
    assert code == 0, out
    assert "第 1 级 当班带班负责人（按值班表）" in out
    _drop_manager_on_oct_3(prepared)
    code, out, failed = readiness(capsys)
    assert code == 1
    assert failed[1] == "✗ 升级链可达：第 1 级「当班带班负责人」在 10月3日 无人值带班负责人"


def test_the_drill_window_is_configurable(prepared, capsys):
    _old_drill(prepared)
    prepared.config.write_text(
        prepared.config.read_text(encoding="utf-8") + "\n[readiness]\ndrill_max_age_days = 60\n",
        encoding="utf-8",
    )
    code, out, _ = readiness(capsys)
    assert code == 0, out


def test_json_output_lists_every_check(prepared, capsys):
    _no_drill(prepared)
    code, out, _ = readiness(capsys, "--json", "--holiday", "国庆")
    assert code == 1
    data = json.loads(out)
    assert data["ready"] is False
    assert data["holiday"] == {"name": "国庆节", "start": "2026-10-01", "end": "2026-10-07"}
    assert data["days_left"] == 3
    assert [c["key"] for c in data["checks"] if not c["ok"]] == ["drill"]
    assert len(data["checks"]) == 8


def test_unreachable_records_database_exits_2(prepared, capsys, tmp_path):
    missing = f"sqlite:///{(tmp_path / 'missing' / 'x.db').as_posix()}"
    kept = [
        line for line in prepared.config.read_text(encoding="utf-8").splitlines() if "records_url" not in line
    ]
    text_ = "\n".join(kept).replace("[store]", f'[store]\nrecords_url = "{missing}"', 1)
    prepared.config.write_text(text_ + "\n", encoding="utf-8")
    code, out, _ = readiness(capsys)
    assert code == 2
    assert "记录库无法访问" in out


def test_an_unknown_holiday_exits_2(prepared, capsys):
    code, out, _ = readiness(capsys, "--holiday", "圣诞节")
    assert code == 2
    assert "圣诞节" in out


def test_sign_off_needs_a_manager_and_every_check_passed(prepared):
    holiday = find_holiday(NOW.date(), "国庆")

    def attempt(actor: Actor):
        return prepared.run(lambda ctx: sign_off(ctx.readiness_parts(), actor, holiday=holiday, now=NOW))

    with pytest.raises(PermissionDenied, match="无权"):
        attempt(Actor("wang", "officer"))
    result = attempt(Actor("zhao", "manager"))
    assert result.ready
    _no_drill(prepared)
    with pytest.raises(PermissionDenied, match="最近一次演练通过"):
        attempt(Actor("zhao", "manager"))
    signed = prepared.session(
        lambda s: [
            (e.actor, e.entity_id)
            for e in s.scalars(select(AuditEntry).where(AuditEntry.action == "readiness.signoff"))
        ]
    )
    assert signed == [("zhao", "国庆节 2026-10-01")]


def test_check_readiness_sees_the_same_as_the_cli(prepared):
    holiday = find_holiday(NOW.date())
    assert holiday.name_cn == "国庆节"  # 中秋 ended the day before: 国庆 is next
    result = prepared.run(lambda ctx: check_readiness(ctx.readiness_parts(), holiday=holiday, now=NOW))
    assert result.ready and result.days_left() == 3

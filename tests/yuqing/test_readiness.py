"""`yuqing readiness`: a fully prepared store for 国庆 2026 is ready (exit 0); take away one ingredient at a
time and it is not (exit 1), and the output names exactly that problem in Chinese; the check cannot run at
all (exit 2) when the records database does not answer. A manager's sign-off needs every check passed.

The store is prepared through the real paths where they exist: sources' crawl runs through
yuqing.health.record_runs, channel tests through playbooks.notify.deliver.run_channel_tests against a
local 企业微信-style webhook, users through store.users.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, select, update

from playbooks.authz import Actor, PermissionDenied
from playbooks.notify.deliver import run_channel_tests
from store import users
from store.models import AuditEntry, DrillRun, Notification, RosterEntry, SourceRun, User
from yuqing.cli import main
from yuqing.config import load_settings
from yuqing.context import Context, build_context
from yuqing.health import record_runs
from yuqing.notify import notify_config
from yuqing.readiness import check_readiness, find_holiday, sign_off

SHANGHAI = ZoneInfo("Asia/Shanghai")
# 10:00 in Beijing, three days before 国庆节 (10月1日至10月7日); UTC, as everything stored is
NOW = datetime(2026, 9, 28, 10, 0, tzinfo=SHANGHAI).astimezone(UTC)
HOLIDAY_DAYS = [f"2026-10-0{d}" for d in range(1, 8)]
PASSWORD = "readiness-test-pass-42"

SOURCES_TOML = """
[[sources]]
name = "zqgc"
family = "rss"
url = "http://127.0.0.1:9/feed.xml"
interval_minutes = 30
options = { display_name = "证券观察报" }
"""

CHANNEL_TOML = """
[[notify.channels]]
name = "wecom-duty"
kind = "wecom"
webhook_secret = "wecom_duty_webhook"
"""


class Bot:
    """A 企业微信 group bot stand-in: answers errcode 0, or HTTP 500 while ``failing``."""

    def __init__(self) -> None:
        bot = self
        self.failing = False
        self.received: list[dict] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if bot.failing:
                    self.send_response(500)
                    self.end_headers()
                    return
                bot.received.append(json.loads(body))
                data = json.dumps({"errcode": 0, "errmsg": "ok"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def webhook(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/cgi-bin/webhook/send?key=duty"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def bot() -> Iterator[Bot]:
    b = Bot()
    yield b
    b.close()


@dataclass
class Prepared:
    config: Path
    bot: Bot

    def context(self) -> Context:
        return build_context(load_settings(self.config))

    def run(self, fn: Callable[[Context], object]) -> object:
        ctx = self.context()
        try:
            return fn(ctx)
        finally:
            ctx.close()

    def session(self, fn: Callable) -> object:
        def inner(ctx: Context):
            with ctx.records.session() as s:
                return fn(s)

        return self.run(inner)

    def test_channels(self, at: datetime) -> None:
        self.run(lambda ctx: run_channel_tests(ctx.records, notify_config(ctx.settings), now=at))

    def crawl(self, at: datetime, **stats) -> None:
        source = {"family": "rss", "finish_reason": "finished", "scraped": 12, **stats}
        self.run(
            lambda ctx: record_runs(
                ctx,
                run_id=f"run-{at.isoformat()}",
                started_at=at,
                finished_at=at + timedelta(minutes=1),
                stats={"zqgc": source},
            )
        )

    def edit_config(self, old: str, new: str) -> None:
        text = self.config.read_text(encoding="utf-8")
        assert old in text
        self.config.write_text(text.replace(old, new), encoding="utf-8")


def _people_and_roster(s) -> None:
    for username, role in (("wang", "officer"), ("zhou", "officer"), ("zhao", "manager"), ("root", "admin")):
        users.create_user(s, username=username, role=role, password=PASSWORD, by="test")
    for day in HOLIDAY_DAYS:
        s.add(RosterEntry(day=day, duty="primary", username="wang", phone="13800000001", created_by="test"))
        s.add(RosterEntry(day=day, duty="backup", username="zhou", phone="13800000002", created_by="test"))
        s.add(RosterEntry(day=day, duty="manager", username="zhao", phone="13800000003", created_by="test"))
    s.add(
        DrillRun(
            scenario_id="app-login-rumor",
            scenario_name="国庆期间APP无法登录传言",
            status="finished",
            run_by="zhao",
            started_at=NOW - timedelta(days=5, hours=1),
            finished_at=NOW - timedelta(days=5),
            passed=True,
            score={"discovery_rate": 1.0},
        )
    )


@pytest.fixture
def prepared(config_file: Path, bot: Bot, monkeypatch) -> Prepared:
    """Roster complete for 国庆, a passed drill 5 days ago, the channel tested yesterday, the source crawled
    ten minutes ago, a manager and an admin: ready."""
    config_file.write_text(
        config_file.read_text(encoding="utf-8") + SOURCES_TOML + CHANNEL_TOML, encoding="utf-8"
    )
    monkeypatch.setenv("YUQING_SECRET_WECOM_DUTY_WEBHOOK", bot.webhook)
    p = Prepared(config_file, bot)
    p.session(_people_and_roster)
    p.crawl(NOW - timedelta(minutes=10))
    p.test_channels(NOW - timedelta(days=1))
    assert len(bot.received) == 1  # the test message really went out
    return p


def readiness(capsys, *args: str) -> tuple[int, str, list[str]]:
    """(exit code, stdout + stderr, the ✗ lines)."""
    code = main(["readiness", "--at", NOW.isoformat(), "--as", "zhao", *args])
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
    prepared.edit_config(
        "[store]\n", f'[store]\nrecords_url = "sqlite:///{(tmp_path / "missing" / "x.db").as_posix()}"\n'
    )
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
        return prepared.run(lambda ctx: sign_off(ctx, actor, holiday=holiday, now=NOW))

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
    result = prepared.run(lambda ctx: check_readiness(ctx, holiday=holiday, now=NOW))
    assert result.ready and result.days_left() == 3

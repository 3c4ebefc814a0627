"""A store prepared for the holiday readiness gate (国庆 2026), shared by the CLI and the desk page tests.

Prepared through the real paths: users through playbooks.users, crawl runs through store.health.record_runs,
channel tests through playbooks.notify.deliver.run_channel_tests against a local 企业微信-style webhook.
The roster goes in through playbooks.roster.import_csv (what yuqing roster import does). The finished drill
run is written directly as the drill runner leaves it (status, finished_at, passed): a real run would be
stamped with today's clock, not the fixed NOW these tests check against.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

from playbooks import roster, users
from playbooks.authz import Actor
from playbooks.notify.deliver import run_channel_tests
from store.health import record_runs
from store.models import DrillRun
from yuqing.config import load_settings
from yuqing.context import Context, build_context
from yuqing.notify import notify_config

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
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )  # shutdown() waits up to one poll
        self.thread.start()

    @property
    def webhook(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/cgi-bin/webhook/send?key=duty"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


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
        self.session(
            lambda s: record_runs(
                s,
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


def people_and_roster(s) -> None:
    for username, role in (("wang", "officer"), ("zhou", "officer"), ("zhao", "manager"), ("root", "admin")):
        users.create_user(s, username=username, role=role, password=PASSWORD, by="test")
    lines = ["日期,开始,结束,岗位,用户名,电话,备注"]
    for day in HOLIDAY_DAYS:
        lines += [
            f"{day},00:00,24:00,主班,wang,13800000001,",
            f"{day},00:00,24:00,备班,zhou,13800000002,",
            f"{day},00:00,24:00,带班负责人,zhao,13800000003,",
        ]
    roster.import_csv(s, Actor("root", "admin"), "\n".join(lines) + "\n", source="readiness test")
    # the drill runner's finished run (playbooks.drills.runner.score_run with finish=True writes these fields)
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


def prepare(config: Path, bot: Bot, monkeypatch) -> Prepared:
    """Roster complete for 国庆, a passed drill 5 days ago, the channel tested yesterday, the source crawled
    ten minutes ago, a manager and an admin: ready."""
    config.write_text(config.read_text(encoding="utf-8") + SOURCES_TOML + CHANNEL_TOML, encoding="utf-8")
    monkeypatch.setenv("YUQING_SECRET_WECOM_DUTY_WEBHOOK", bot.webhook)
    p = Prepared(config, bot)
    p.session(people_and_roster)
    p.crawl(NOW - timedelta(minutes=10))
    p.test_channels(NOW - timedelta(days=1))
    assert len(bot.received) == 1  # the test message really went out
    return p

"""From a clock that ran out to a message in the duty group: the chain's outbox rows, delivered to a local
企业微信 receiver that checks the payload, @-mention the next tier and carry the level and the desk link."""

from __future__ import annotations

from datetime import timedelta

from playbooks.chain import check_clocks
from playbooks.escalation import open_escalation
from playbooks.notify.channels import Channel, NotifyConfig, RetryPolicy
from playbooks.notify.deliver import deliver_pending
from tests.playbooks.escalation_support import LIBRARY, OFFICER, T0, add_users, outage_alert
from tests.playbooks.notify.conftest import BotReceiver, _serve
from tests.store import conftest as engines

db = engines.records  # the records-engine fixture: SQLite, and PostgreSQL when YUQING_TEST_PG_URL is set

DESK = "https://desk.huading.example"


def test_a_breach_reaches_the_duty_group_mentioning_the_managers(db):
    rx = BotReceiver(kind="wecom", token="tok-escalation-chain")
    server, thread = _serve(rx)
    try:
        with db.session() as s:
            add_users(s)
            alert = outage_alert(s, level="I")
            open_escalation(s, alert_id=alert.id, actor=OFFICER)
            post_id = alert.post_id
        with db.session() as s:
            events = check_clocks(
                s,
                playbooks=list(LIBRARY.values()),
                chain=["owner", "role:manager", "role:admin"],
                now=T0 + timedelta(minutes=8),
                desk_base_url=DESK,
            )
        assert [e.tier for e in events] == [1]
        duty = Channel(name="值班群", kind="wecom", webhook=rx.webhook, format="text", timeout_s=5)
        report = deliver_pending(db, NotifyConfig(channels=(duty,), retry=RetryPolicy(max_attempts=2)), T0)
        # the group bot got one message; the emails have no SMTP configured here and wait or fail
        assert len(rx.received) == 1 and rx.rejected == []
        text = rx.received[0]["text"]
        assert sorted(text["mentioned_list"]) == ["ChenGang", "LiJing"]
        content = text["content"]
        assert "Ⅰ级" in content and "确认预警" in content and "已超时 3 分钟" in content
        assert f"{DESK}/item?post={post_id}" in content
        assert report.sent == 1
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)

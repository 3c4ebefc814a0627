"""Acknowledge from the notification itself: each person a message about an alert is addressed to gets a
link of their own that acknowledges the alert as them — once, before it expires, audited, never for a
drill."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from playbooks import ack_links
from playbooks.alerting import announce_alerts, chase_alerts
from playbooks.notify.outbox import Recipient
from store.models import AckLink, Alert, Notification
from store.records import audit_trail
from tests.playbooks.escalation_support import LIBRARY, T0, add_users, outage_alert
from tests.store import conftest as engines

db = engines.records  # SQLite, and PostgreSQL when YUQING_TEST_PG_URL is set

DESK = "https://desk.huading.example"
LINK = re.compile(r"(\S+) 一键确认（12 小时内有效，仅限一次）：(https://desk\.huading\.example/ack\?t=(\S+))")


def _chase(db, minutes: float):
    with db.session() as s:
        return chase_alerts(
            s,
            playbooks=list(LIBRARY.values()),
            chain=["owner", "role:manager", "role:admin"],
            now=T0 + timedelta(minutes=minutes),
            desk_base_url=DESK,
        )


def _bodies(db, kind: str) -> dict[str, str]:
    with db.session() as s:
        rows = s.scalars(select(Notification).where(Notification.kind == kind).order_by(Notification.id))
        return {f"{r.channel}:{r.target}": r.body for r in rows}


def test_a_chase_carries_one_link_per_person_and_the_link_acknowledges_as_them_once(db):
    with db.session() as s:
        add_users(s)
        alert_id = outage_alert(s, level="I").id
    _chase(db, 6)  # past the 5-minute clock: the managers are told
    bodies = _bodies(db, "alert_chase")
    email = bodies["email:li@huading.example"]
    ((who, url, token),) = LINK.findall(email)  # the email to 李静 carries her link only
    assert who == "李静" and url.startswith(f"{DESK}/ack?t=")
    group = LINK.findall(bodies["wecom:default@ChenGang,LiJing"])
    assert sorted(w for w, _, _ in group) == ["李静", "陈刚"]  # the group message: one per person @-ed

    now = T0 + timedelta(minutes=7)
    with db.session() as s:
        view = ack_links.peek(s, token, now=now)  # looking changes nothing
        assert (view.username, view.alert_id, view.acknowledged_by) == ("li", alert_id, "")
        assert s.get(Alert, alert_id).acknowledged_at is None
    with db.session() as s:
        view, done = ack_links.use(s, token, now=now, client="10.0.0.8")
    assert done
    with db.session() as s:
        alert = s.get(Alert, alert_id)
        assert alert.acknowledged_by == "li" and alert.acknowledged_at is not None
        actions = [(e.actor, e.action) for e in audit_trail(s, entity="alert", entity_id=alert_id)]
        assert ("li", "alert.acknowledged") in actions and ("li", "alert.ack_link_used") in actions
    with db.session() as s, pytest.raises(ack_links.AckLinkInvalid, match="已使用过"):
        ack_links.use(s, token, now=now)
    # 陈刚's link still opens, and says someone already acknowledged it
    chen = next(t for w, _, t in group if w == "陈刚")
    with db.session() as s:
        view, done = ack_links.use(s, chen, now=now)
    assert not done and view.acknowledged_by == "li"


def test_an_expired_or_forged_link_acknowledges_nothing(db):
    with db.session() as s:
        add_users(s)
        alert = outage_alert(s, level="I")
        token = ack_links.issue(s, alert, "li", purpose="alert", hours=1, now=T0)
    with db.session() as s, pytest.raises(ack_links.AckLinkInvalid, match="已过期"):
        ack_links.use(s, token, now=T0 + timedelta(hours=1, seconds=1))
    for forged in ("", "x" * 43, token[:-1] + ("A" if token[-1] != "A" else "B")):
        with db.session() as s, pytest.raises(ack_links.AckLinkInvalid, match="链接无效"):
            ack_links.use(s, forged, now=T0)
    with db.session() as s:
        assert s.scalar(select(Alert.acknowledged_at)) is None
        assert [r.token_hash for r in s.scalars(select(AckLink))] == [
            ack_links.token_hash(token)
        ]  # no token kept


def test_an_announcement_carries_a_link_for_each_person_on_duty_but_a_drill_none(db):
    with db.session() as s:
        add_users(s)
        real = outage_alert(s, level="I", key="r")
        drill = outage_alert(s, level="I", key="d", drill=True)
        told = announce_alerts(
            s,
            [real, drill],
            recipients=[Recipient("wecom", "值班群")],
            desk_base_url=DESK,
            playbooks=list(LIBRARY.values()),
            on_duty=lambda _s: ["wang", "zhao"],
        )
        assert told == 2
        rows = {r.alert_id: r for r in s.scalars(select(Notification).where(Notification.kind == "alert"))}
        assert sorted(w for w, _, _ in LINK.findall(rows[real.id].body)) == ["王晓明", "赵敏"]
        assert "一键确认" not in rows[drill.id].body and rows[drill.id].status == "suppressed"
        assert s.scalar(select(AckLink.id).where(AckLink.alert_id == drill.id)) is None

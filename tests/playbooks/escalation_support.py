"""Shared helpers for the escalation tests: a flagged alert at a fixed time, desk users, actors."""

from __future__ import annotations

from datetime import UTC, datetime

from playbooks.authz import Actor
from playbooks.schema import load_library
from store.models import Alert, PostRecord, User
from store.records import upsert_alert

T0 = datetime(2026, 10, 1, 1, 30, tzinfo=UTC)  # 09:30 Beijing time, the market opens

OFFICER = Actor("wang", "officer", "王晓明")
OFFICER_2 = Actor("zhao", "officer", "赵敏")
MANAGER = Actor("li", "manager", "李静")
MANAGER_2 = Actor("chen", "manager", "陈刚")
ADMIN = Actor("admin", "admin", "系统管理员")

LIBRARY = {p.id: p for p in load_library()}
OUTAGE = LIBRARY["trading-system-outage"]


def add_users(session) -> None:
    """The desk's people, with their email and group-bot ids (the chain notifies these)."""
    people = [
        (OFFICER, "wang@huading.example", {"wecom": "WangXM"}),
        (OFFICER_2, "zhao@huading.example", {}),
        (MANAGER, "li@huading.example", {"wecom": "LiJing", "dingtalk": "13800000001"}),
        (MANAGER_2, "chen@huading.example", {"wecom": "ChenGang"}),
        (ADMIN, "admin@huading.example", {"feishu": "ou_admin0001"}),
    ]
    for actor, email, contacts in people:
        session.add(
            User(
                username=actor.username,
                display_name=actor.display_name,
                role=actor.role,
                email=email,
                contacts=contacts,
                active=True,
            )
        )
    session.flush()


def outage_alert(
    session, *, level: str = "I", drill: bool = False, key: str = "1", at: datetime = T0
) -> Alert:
    """A flagged trading-system-outage post's alert, opened at ``at``."""
    post = PostRecord.from_post(
        {
            "url": f"https://weibo.example/outage-{key}",
            "title": "华鼎证券APP崩了，开盘无法登录",
            "text": "华鼎证券APP又无法登录了，委托下不了单",
            "source": "微博",
            "level": level,
            "flagged": True,
            "topic": "交易系统故障",
            "reasons": ["关键词：无法登录"],
            "falsity": {"label": "none", "score": 0.1},
        },
        drill=drill,
    )
    alert, _ = upsert_alert(session, post=post, playbook_id=OUTAGE.id)
    alert.created_at = at
    session.flush()
    return alert

"""Officers' verdicts as labelled data (playbooks/verdicts.py), on every reachable records engine
(SQLite; PostgreSQL when YUQING_TEST_PG_URL is set)."""

from __future__ import annotations

import pytest

from playbooks import triage
from playbooks.authz import Actor
from playbooks.verdicts import collect_verdicts, count_by_kind
from store.models import PostRecord, User
from store.records import upsert_alert
from tests.store.conftest import records  # noqa: F401  (SQLite, and PostgreSQL when set)

OFFICER = Actor("wang", "officer", "王晓明")
MANAGER = Actor("li", "manager", "李负责")


def _post(key: str, *, drill: bool = False) -> PostRecord:
    return PostRecord(
        id=f"post-{key}",
        title=f"华鼎证券{key}",
        text=f"华鼎证券{key}相关帖子，客户投诉不断。",
        source="股吧",
        targets=["华鼎证券"],
        topic="客户投诉",
        level="III",
        flagged=True,
        drill=drill,
    )


@pytest.fixture
def rec(records):  # noqa: F811
    with records.session() as s:
        s.add_all([User(username="wang", role="officer"), User(username="li", role="manager")])
    return records


def _alerts(rec, *keys: str, drill: bool = False) -> dict[str, int]:
    with rec.session() as s:
        return {k: upsert_alert(s, post=_post(k, drill=drill))[0].id for k in keys}


def test_verdicts_are_what_officers_did_and_drills_never_count(rec):
    ids = _alerts(rec, "fp", "ack", "assigned", "escalated", "untouched", "reopened")
    drill = _alerts(rec, "drill-fp", "drill-ack", drill=True)
    with rec.session() as s:
        triage.mark_false_positive(s, ids["fp"], OFFICER, "股价涨跌的抱怨")
        triage.acknowledge(s, ids["ack"], OFFICER)
        triage.assign(s, ids["assigned"], "wang", OFFICER)
        triage.escalate(s, ids["escalated"], OFFICER)
        triage.mark_false_positive(s, ids["reopened"], OFFICER, "看错了")
        triage.reopen(s, ids["reopened"], MANAGER, note="其实是真的")
        triage.mark_false_positive(s, drill["drill-fp"], OFFICER, "演练")
        triage.acknowledge(s, drill["drill-ack"], OFFICER)
    with rec.session() as s:
        verdicts = collect_verdicts(s)
    by_post = {v.post_id: v for v in verdicts}
    assert set(by_post) == {"post-fp", "post-ack", "post-assigned", "post-escalated"}
    assert by_post["post-fp"].confirmed is False and by_post["post-fp"].reason == "股价涨跌的抱怨"
    assert by_post["post-fp"].by == "wang" and by_post["post-fp"].at is not None
    assert by_post["post-ack"].kind == "acknowledged" and by_post["post-ack"].confirmed
    assert by_post["post-assigned"].kind == "assigned" and by_post["post-assigned"].confirmed
    assert by_post["post-escalated"].kind == "escalated" and by_post["post-escalated"].reason == ""
    assert count_by_kind(verdicts) == {"false_positive": 1, "escalated": 1, "acknowledged": 1, "assigned": 1}

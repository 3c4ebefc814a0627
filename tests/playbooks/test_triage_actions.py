"""Triage actions (playbooks/triage.py) on every reachable records engine: effect, audit, roles, idempotence.

SQLite always; PostgreSQL when YUQING_TEST_PG_URL is set (the ``records`` fixture of tests/store).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from playbooks import triage
from playbooks.authz import Actor, PermissionDenied
from playbooks.escalation import transition
from store.models import Alert, AuditEntry, Escalation, PostRecord, User
from store.posts_sqlite import SqlitePostIndex
from store.records import audit_trail, upsert_alert
from store.times import as_utc
from tests.store.conftest import records  # noqa: F401  (the engine fixture: SQLite, and PostgreSQL when set)

OFFICER = Actor("wang", "officer", "王晓明")
OFFICER_2 = Actor("zhao", "officer", "赵敏")
MANAGER = Actor("li", "manager", "李负责")
T0 = datetime(2026, 10, 1, 2, 0, tzinfo=UTC)

LONG_TEXT = "网传华鼎证券将被证监会立案调查。" * 30  # longer than the alert's 280-character snippet


def _post(key: str, *, drill: bool = False, level: str = "II", event: str = "", text: str = "") -> PostRecord:
    return PostRecord(
        id=f"post-{key}",
        title=f"华鼎证券{key}",
        text=text or f"华鼎证券{key}相关帖子，客户投诉不断。",
        source="股吧",
        url=f"https://example.com/{key}",
        published_at="2026-10-01T09:00:00+08:00",
        sentiment={"label": "negative", "scores": {"negative": 0.9, "neutral": 0.05, "positive": 0.05}},
        targets=["华鼎证券"],
        negative_targets=["华鼎证券"],
        falsity={"label": "rumor", "score": 0.8},
        topic="不实信息",
        level=level,
        flagged=True,
        reasons=["疑似不实信息", "对华鼎证券的负面情绪强烈"],
        drill=drill,
        event_id=event,
    )


@pytest.fixture
def rec(records):  # noqa: F811
    """The records store with three users (one disabled)."""
    with records.session() as s:
        s.add_all(
            [
                User(username="wang", display_name="王晓明", role="officer"),
                User(username="zhao", display_name="赵敏", role="officer"),
                User(username="li", display_name="李负责", role="manager"),
                User(username="gone", display_name="已离职", role="officer", active=False),
            ]
        )
    return records


def _alert(rec, post: PostRecord) -> int:
    with rec.session() as s:
        alert, _ = upsert_alert(s, post=post)
        return alert.id


def _trail(rec, alert_id: int, action: str) -> list[AuditEntry]:
    with rec.session() as s:
        return [e for e in audit_trail(s, entity="alert", entity_id=alert_id) if e.action == action]


def _get(rec, alert_id: int) -> Alert:
    with rec.session() as s:
        return s.get(Alert, alert_id)


# --------------------------------------------------------------------------- acknowledge


def test_acknowledge_records_who_and_when_once(rec):
    aid = _alert(rec, _post("a"))
    with rec.session() as s:
        assert triage.acknowledge(s, aid, OFFICER, now=T0) is True
    with rec.session() as s:  # a double click, or a second officer a moment later
        assert triage.acknowledge(s, aid, OFFICER_2, now=T0 + timedelta(seconds=1)) is False
    alert = _get(rec, aid)
    assert alert.acknowledged_by == "wang"
    assert as_utc(alert.acknowledged_at) == T0
    entries = _trail(rec, aid, "alert.acknowledged")
    assert len(entries) == 1
    assert entries[0].actor == "wang"
    assert as_utc(entries[0].at) == T0


def test_acknowledge_race_with_a_stale_read_is_done_once(rec):
    aid = _alert(rec, _post("race"))
    with rec.session() as late:
        assert late.get(Alert, aid).acknowledged_at is None  # what the second officer's page showed
        with rec.session() as first:
            assert triage.acknowledge(first, aid, OFFICER) is True
        assert triage.acknowledge(late, aid, OFFICER_2) is False
    assert _get(rec, aid).acknowledged_by == "wang"
    assert len(_trail(rec, aid, "alert.acknowledged")) == 1


def test_signed_out_cannot_act(rec):
    aid = _alert(rec, _post("x"))
    with rec.session() as s, pytest.raises(PermissionDenied, match="请先登录"):
        triage.acknowledge(s, aid, None)
    assert _get(rec, aid).acknowledged_at is None
    assert _trail(rec, aid, "alert.acknowledged") == []


def test_unknown_alert_is_a_chinese_error(rec):
    with rec.session() as s, pytest.raises(triage.TriageError, match="不存在"):
        triage.acknowledge(s, 99999, OFFICER)


def test_drill_alert_is_handled_the_same_and_stays_drill(rec):
    aid = _alert(rec, _post("drill", drill=True))
    with rec.session() as s:
        assert triage.acknowledge(s, aid, OFFICER) is True
        assert triage.assign(s, aid, "zhao", OFFICER) is True
    alert = _get(rec, aid)
    assert alert.drill is True and alert.acknowledged_by == "wang" and alert.assignee == "zhao"
    assert _trail(rec, aid, "alert.acknowledged")[0].detail["drill"] is True


# --------------------------------------------------------------------------- assign


def test_assign_to_an_active_user(rec):
    aid = _alert(rec, _post("b"))
    with rec.session() as s:
        assert triage.assign(s, aid, "zhao", OFFICER, now=T0) is True
    with rec.session() as s:
        assert triage.assign(s, aid, "zhao", OFFICER) is False  # double click: nothing new
    with rec.session() as s:
        assert triage.assign(s, aid, "li", OFFICER_2) is True
    assert _get(rec, aid).assignee == "li"
    entries = _trail(rec, aid, "alert.assigned")
    assert [(e.actor, e.detail["before"], e.detail["after"]) for e in entries] == [
        ("wang", "", "zhao"),
        ("zhao", "zhao", "li"),
    ]


@pytest.mark.parametrize("who", ["gone", "nobody", ""])
def test_assign_refuses_disabled_or_unknown_users(rec, who):
    aid = _alert(rec, _post("c"))
    with rec.session() as s, pytest.raises(triage.TriageError, match="在岗"):
        triage.assign(s, aid, who, OFFICER)
    assert _get(rec, aid).assignee == ""
    assert _trail(rec, aid, "alert.assigned") == []


def test_active_users_lists_only_active_ones(rec):
    with rec.session() as s:
        names = [u for u, _ in triage.active_users(s)]
    assert names == sorted(["wang", "zhao", "li"])


# --------------------------------------------------------------------------- false positive


def test_false_positive_is_kept_with_who_when_why(rec):
    aid = _alert(rec, _post("fp"))
    with rec.session() as s:
        assert triage.mark_false_positive(s, aid, OFFICER, "  同名 公司，非本司  ", now=T0) is True
    with rec.session() as s:
        assert triage.mark_false_positive(s, aid, OFFICER_2, "再点一次") is False
    alert = _get(rec, aid)  # still there: kept, not deleted
    assert alert.status == "false_positive"
    assert alert.false_positive_by == "wang"
    assert as_utc(alert.false_positive_at) == T0
    assert alert.false_positive_reason == "同名 公司，非本司"
    entries = _trail(rec, aid, "alert.false_positive")
    assert len(entries) == 1
    assert entries[0].detail["reason"] == "同名 公司，非本司"
    assert entries[0].detail["before"] == "open"


@pytest.mark.parametrize("reason", ["", "   ", "长" * (triage.MAX_REASON_CHARS + 1)])
def test_false_positive_needs_a_short_reason(rec, reason):
    aid = _alert(rec, _post("fp2"))
    with rec.session() as s, pytest.raises(triage.TriageError, match="误报原因"):
        triage.mark_false_positive(s, aid, OFFICER, reason)
    assert _get(rec, aid).status == "open"


def test_false_positive_closes_a_new_escalation_as_false_positive(rec):
    aid = _alert(rec, _post("fp3"))
    with rec.session() as s:
        esc, created = triage.escalate(s, aid, OFFICER)
        esc_id = esc.id
    with rec.session() as s:
        assert triage.mark_false_positive(s, aid, OFFICER, "机器人转发，非真实投诉") is True
    with rec.session() as s:
        esc = s.get(Escalation, esc_id)
        assert esc.state == "false_positive"
        states = [
            e for e in audit_trail(s, entity="escalation", entity_id=esc_id) if e.action == "escalation.state"
        ]
        assert [(e.actor, e.detail["after"]) for e in states] == [("wang", "false_positive")]
    assert _get(rec, aid).status == "false_positive"


def test_false_positive_refused_once_people_are_responding(rec):
    aid = _alert(rec, _post("fp4"))
    with rec.session() as s:
        esc, _ = triage.escalate(s, aid, OFFICER)
        transition(s, escalation_id=esc.id, to_state="acknowledged", actor=OFFICER)
        transition(s, escalation_id=esc.id, to_state="responding", actor=OFFICER)
    with rec.session() as s, pytest.raises(triage.TriageError, match="处置中"):
        triage.mark_false_positive(s, aid, OFFICER, "看错了")
    alert = _get(rec, aid)
    assert alert.status == "escalated" and alert.false_positive_reason == ""


def test_acknowledge_and_assign_refuse_a_false_positive(rec):
    aid = _alert(rec, _post("fp5"))
    with rec.session() as s:
        triage.mark_false_positive(s, aid, OFFICER, "广告")
    with rec.session() as s, pytest.raises(triage.TriageError, match="误报"):
        triage.acknowledge(s, aid, OFFICER)
    with rec.session() as s, pytest.raises(triage.TriageError, match="误报"):
        triage.assign(s, aid, "zhao", OFFICER)
    with rec.session() as s, pytest.raises(triage.TriageError, match="误报"):
        triage.escalate(s, aid, OFFICER)


# --------------------------------------------------------------------------- reopen


def test_reopen_is_for_managers_and_keeps_the_verdict_in_the_trail(rec):
    aid = _alert(rec, _post("re"))
    with rec.session() as s:
        triage.mark_false_positive(s, aid, OFFICER, "同名公司")
    with rec.session() as s, pytest.raises(PermissionDenied, match="负责人"):
        triage.reopen(s, aid, OFFICER)
    assert _get(rec, aid).status == "false_positive"
    with rec.session() as s:
        assert triage.reopen(s, aid, MANAGER, note="确属本司") is True
    with rec.session() as s:
        assert triage.reopen(s, aid, MANAGER) is False  # already open
    alert = _get(rec, aid)
    assert alert.status == "open" and alert.false_positive_reason == "" and alert.false_positive_at is None
    (entry,) = _trail(rec, aid, "alert.reopened")
    assert entry.actor == "li"
    assert entry.detail["before"]["false_positive_reason"] == "同名公司"
    assert entry.detail["note"] == "确属本司"
    # back in the queue: it can be escalated now
    with rec.session() as s:
        _, created = triage.escalate(s, aid, OFFICER)
    assert created


# --------------------------------------------------------------------------- escalate


def test_escalate_opens_one_record_and_audits_it(rec):
    aid = _alert(rec, _post("esc", level="I"))
    with rec.session() as s:
        esc, created = triage.escalate(s, aid, OFFICER, note="开盘故障")
        esc_id = esc.id
    with rec.session() as s:
        again, created_again = triage.escalate(s, aid, OFFICER_2)
        assert again.id == esc_id
    assert created and not created_again
    assert _get(rec, aid).status == "escalated"
    with rec.session() as s:
        esc = s.get(Escalation, esc_id)
        assert (esc.opened_by, esc.level, esc.state, esc.drill) == ("wang", "I", "new", False)
        opened = [
            e
            for e in audit_trail(s, entity="escalation", entity_id=esc_id)
            if e.action == "escalation.opened"
        ]
        assert len(opened) == 1 and opened[0].actor == "wang"


def test_escalate_a_drill_opens_a_drill_record(rec):
    aid = _alert(rec, _post("escdrill", drill=True))
    with rec.session() as s:
        esc, _ = triage.escalate(s, aid, OFFICER)
        assert esc.drill is True


# --------------------------------------------------------------------------- seen


def test_mark_seen_moves_forward_only_and_drives_new(rec):
    aid = _alert(rec, _post("seen"))
    with rec.session() as s:
        created = triage.queue_states(s, ["post-seen"])["post-seen"].created_at
        assert triage.last_seen(s, "wang") is None
        assert triage.is_new(created, None)  # never looked: everything is new
    later = created + timedelta(minutes=1)
    with rec.session() as s:
        assert triage.mark_seen(s, OFFICER, later) == later
    with rec.session() as s:
        assert triage.mark_seen(s, OFFICER, later - timedelta(hours=1)) == later  # never backwards
        seen = triage.last_seen(s, "wang")
        assert seen == later
        assert not triage.is_new(created, seen)
        assert triage.last_seen(s, "zhao") is None  # per person
        entries = [e for e in audit_trail(s, entity="user") if e.action == "queue.seen"]
        assert len(entries) == 1 and entries[0].actor == "wang"
    assert aid


def test_mark_seen_without_a_user_record_keeps_nothing(rec):
    with rec.session() as s:
        assert triage.mark_seen(s, Actor("cli-admin", "admin"), T0) is None


def test_queue_states_shows_who_has_it_and_the_open_escalation(rec):
    aid = _alert(rec, _post("qs", event="evt-1"))
    _alert(rec, _post("other"))
    with rec.session() as s:
        triage.acknowledge(s, aid, OFFICER)
        triage.assign(s, aid, "zhao", OFFICER)
        esc, _ = triage.escalate(s, aid, OFFICER)
        esc_id = esc.id
    with rec.session() as s:
        states = triage.queue_states(s, ["post-qs", "post-other", "post-missing"])
    assert set(states) == {"post-qs", "post-other"}
    st = states["post-qs"]
    assert (st.acknowledged_by, st.assignee, st.escalation_id, st.escalation_state) == (
        "wang",
        "zhao",
        esc_id,
        "new",
    )
    assert st.event_id == "evt-1" and st.status == "escalated"
    assert states["post-other"].escalation_id is None


# --------------------------------------------------------------------------- export


@pytest.fixture
def index(tmp_path, segmenter):
    idx = SqlitePostIndex(tmp_path / "posts.db", segmenter)
    yield idx
    idx.close()


def test_officer_cannot_export(rec):
    with rec.session() as s, pytest.raises(PermissionDenied):
        next(triage.false_positive_training_rows(s, OFFICER))
    with rec.session() as s:
        assert [e for e in audit_trail(s, entity="export")] == []


def test_export_false_positives_with_reason_and_analysis_drills_excluded(rec, index):
    real = _post("fpx", text=LONG_TEXT)
    drill = _post("fpdrill", drill=True)
    kept = _post("kept")
    index.upsert_many([real, drill, kept])
    ids = {p.id: _alert(rec, p) for p in (real, drill, kept)}
    with rec.session() as s:
        triage.mark_false_positive(s, ids["post-fpx"], OFFICER, "旧闻重发，已澄清", now=T0)
        triage.mark_false_positive(s, ids["post-fpdrill"], OFFICER, "演练")
    with rec.session() as s:
        rows = list(triage.false_positive_training_rows(s, MANAGER, posts=index))
    assert [r["id"] for r in rows] == ["post-fpx"]  # not the drill, not the one still open
    row = rows[0]
    assert row["text"] == LONG_TEXT  # the full post from the index, not the alert's snippet
    assert row["title"] == "华鼎证券fpx" and row["source"] == "股吧"
    assert row["sentiment"]["label"] == "negative"
    assert row["falsity"] == {"label": "rumor", "score": 0.8}
    assert row["level"] == "II"
    assert row["reasons"] == ["疑似不实信息", "对华鼎证券的负面情绪强烈"]
    assert row["verdict"] == "false_positive"
    assert row["verdict_reason"] == "旧闻重发，已澄清"
    assert row["verdict_at"] == T0.isoformat(timespec="seconds")
    with rec.session() as s:
        (entry,) = [e for e in audit_trail(s, entity="export")]
    assert entry.actor == "li" and entry.detail["rows"] == 1


def test_export_without_the_index_falls_back_to_the_alert(rec):
    aid = _alert(rec, _post("noindex", text=LONG_TEXT))
    with rec.session() as s:
        triage.mark_false_positive(s, aid, OFFICER, "误判")
    with rec.session() as s:
        (row,) = triage.false_positive_training_rows(s, MANAGER)
    assert row["text"] == LONG_TEXT[:280]
    assert row["level"] == "II" and row["verdict_reason"] == "误判"


def test_a_reopened_alert_is_no_longer_exported(rec):
    aid = _alert(rec, _post("back"))
    with rec.session() as s:
        triage.mark_false_positive(s, aid, OFFICER, "误判")
        triage.reopen(s, aid, MANAGER)
    with rec.session() as s:
        assert list(triage.false_positive_training_rows(s, MANAGER)) == []
        assert s.scalar(select(Alert.status).where(Alert.id == aid)) == "open"


def test_queue_counts_per_view_and_new_since_a_mark(rec):
    ids = {k: _alert(rec, _post(k, level=lv)) for k, lv in (("c1", "I"), ("c2", "II"), ("c3", "II"))}
    _alert(rec, _post("cdrill", level="I", drill=True))
    with rec.session() as s:
        triage.mark_false_positive(s, ids["c3"], OFFICER, "广告")
    todo, fps = triage.QUEUE_VIEWS["todo"], triage.QUEUE_VIEWS["false_positive"]
    with rec.session() as s:
        assert triage.level_counts(s, drill=False, statuses=todo) == {"I": 1, "II": 1}
        assert triage.level_counts(s, drill=False, statuses=fps) == {"II": 1}
        assert triage.level_counts(s, drill=False, statuses=None) == {"I": 1, "II": 2}
        assert triage.level_counts(s, drill=True, statuses=todo) == {"I": 1}
        created = triage.queue_states(s, ["post-c2"])["post-c2"].created_at
        assert triage.count_new(s, seen_at=None, drill=False, statuses=todo) == 2
        assert triage.count_new(s, seen_at=created + timedelta(seconds=1), drill=False, statuses=todo) == 0
        assert triage.count_new(s, seen_at=created - timedelta(hours=1), drill=False, statuses=todo) == 2

"""The feedback layer's versions (store/feedback_layers.py): kept, one active, rolled back, audited; on
every reachable records engine (SQLite; PostgreSQL when YUQING_TEST_PG_URL is set)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from store import feedback_layers
from store.models import FeedbackLayerVersion
from store.records import audit_trail


def _switch_on(s, actor: str, n: int) -> FeedbackLayerVersion:
    return feedback_layers.switch_on(
        s,
        layer={"format": 2, "n": n},
        figures={"after_cv": {"recall": 1.0}},
        signature="sig",
        verdicts=40,
        false_positives=15,
        confirmed=25,
        actor=actor,
    )


def test_versions_are_kept_one_is_active_and_rollback_restores_the_previous(records):
    with records.session() as s:
        v1 = _switch_on(s, "li", 1).id
    with records.session() as s:
        v2 = _switch_on(s, "li", 2).id
    with records.session() as s:
        assert feedback_layers.active_version_id(s) == v2
        rows = {r.id: r for r in feedback_layers.versions(s)}
        assert rows[v1].state == "retired" and not rows[v1].active
        assert rows[v2].previous_id == v1 and rows[v2].layer == {"format": 2, "n": 2}
    with records.session() as s:
        off, on = feedback_layers.rollback(s, actor="li")
        assert (off.id, on.id) == (v2, v1)
    with records.session() as s:
        assert feedback_layers.active_version_id(s) == v1
        assert s.get(FeedbackLayerVersion, v2).state == "rolled_back"
    with records.session() as s:
        off, on = feedback_layers.rollback(s, actor="li")
        assert off.id == v1 and on is None
    with records.session() as s:
        assert feedback_layers.active_version(s) is None
        assert len(feedback_layers.versions(s)) == 2  # nothing is deleted
    with records.session() as s, pytest.raises(feedback_layers.NothingToRollBack, match="无需回滚"):
        feedback_layers.rollback(s, actor="li")
    with records.session() as s:
        trail = audit_trail(s, entity="feedback_layer")
    assert [(e.action, e.actor, e.entity_id) for e in trail] == [
        ("feedback.switched_on", "li", str(v1)),
        ("feedback.switched_on", "li", str(v2)),
        ("feedback.rolled_back", "li", str(v2)),
        ("feedback.rolled_back", "li", str(v1)),
    ]
    assert trail[1].detail["previous"] == v1 and trail[2].detail == {"before": v2, "after": v1}
    assert trail[0].at is not None


def test_the_database_holds_at_most_one_active_version(records):
    with records.session() as s:
        _switch_on(s, "li", 1)
    with pytest.raises(IntegrityError), records.session() as s:
        s.add(FeedbackLayerVersion(created_by="x", active=True, state="active", layer={}, figures={}))
        s.flush()
    with records.session() as s:
        assert len(list(s.scalars(select(FeedbackLayerVersion).where(FeedbackLayerVersion.active)))) == 1


def test_a_refusal_is_audited_with_its_reason(records):
    with records.session() as s:
        feedback_layers.record_refusal(s, actor="li", reason="裁定不足", figures={"verdicts": 3})
    with records.session() as s:
        (entry,) = audit_trail(s, entity="feedback_layer")
        assert entry.action == "feedback.refused" and entry.detail["reason"] == "裁定不足"
        assert feedback_layers.active_version(s) is None

"""Officers' verdicts on alerts, as labelled data about the firm (``yuqing learn``; nlp/feedback.py).

An alert carries a verdict once a person has judged it on the desk (playbooks/triage.py):

- 误报: dismissed as a false positive (``status = false_positive``), with the officer's reason → not
  worth an officer's attention;
- confirmed: escalated (an escalation record opened and not closed as 误报), acknowledged (确认) or
  assigned (指派), and not dismissed since → worth it.

An alert nobody has touched has no verdict. Drill alerts never count (``drill`` on the alert; the
caller also drops a post the posts index marks drill). A reopened alert loses its 误报 (triage.reopen
clears it), so it counts by what people did afterwards.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.models import Alert, Escalation

FALSE_POSITIVE = "false_positive"
ESCALATED = "escalated"
ACKNOWLEDGED = "acknowledged"
ASSIGNED = "assigned"
KIND_LABELS = {FALSE_POSITIVE: "误报", ESCALATED: "升级", ACKNOWLEDGED: "确认", ASSIGNED: "指派"}


@dataclass(frozen=True)
class Verdict:
    """One judged alert, as plain values (safe outside the session)."""

    alert_id: int
    post_id: str
    confirmed: bool  # worth an officer's attention (escalated, acknowledged, assigned); False: 误报
    kind: str  # false_positive | escalated | acknowledged | assigned
    reason: str  # the officer's 误报 reason ("" for a confirmed alert)
    by: str
    at: datetime | None
    title: str
    snippet: str
    source: str
    level: str | None


def verdict_of(alert: Alert, escalated: bool) -> Verdict | None:
    """The verdict people gave ``alert`` (None: nobody has judged it). ``escalated``: it has an escalation
    record that was not closed as 误报."""
    if alert.status == FALSE_POSITIVE:
        kind, by, at = FALSE_POSITIVE, alert.false_positive_by, alert.false_positive_at
    elif escalated or alert.status in ("escalated", "closed"):
        kind, by, at = ESCALATED, alert.acknowledged_by or alert.assignee, alert.acknowledged_at
    elif alert.acknowledged_at is not None:
        kind, by, at = ACKNOWLEDGED, alert.acknowledged_by, alert.acknowledged_at
    elif alert.assignee:
        kind, by, at = ASSIGNED, alert.assignee, None
    else:
        return None
    return Verdict(
        alert_id=alert.id,
        post_id=alert.post_id,
        confirmed=kind != FALSE_POSITIVE,
        kind=kind,
        reason=(alert.false_positive_reason or "") if kind == FALSE_POSITIVE else "",
        by=by or "",
        at=at,
        title=alert.title or "",
        snippet=alert.snippet or "",
        source=alert.source or "",
        level=alert.level,
    )


def collect_verdicts(session: Session, *, batch: int = 1000) -> list[Verdict]:
    """Every judged alert that is not a drill, oldest first."""
    out: list[Verdict] = []
    last_id = 0
    while True:
        alerts = list(
            session.scalars(
                select(Alert)
                .where(Alert.drill.is_(False), Alert.id > last_id)
                .order_by(Alert.id)
                .limit(batch)
            )
        )
        if not alerts:
            return out
        last_id = alerts[-1].id
        escalated = set(
            session.scalars(
                select(Escalation.alert_id).where(
                    Escalation.alert_id.in_([a.id for a in alerts]),
                    Escalation.state != FALSE_POSITIVE,
                    Escalation.drill.is_(False),
                )
            )
        )
        for a in alerts:
            v = verdict_of(a, a.id in escalated)
            if v is not None:
                out.append(v)


def count_by_kind(verdicts: list[Verdict]) -> dict[str, int]:
    c = Counter(v.kind for v in verdicts)
    return {k: c.get(k, 0) for k in (FALSE_POSITIVE, ESCALATED, ACKNOWLEDGED, ASSIGNED)}


__all__ = ["KIND_LABELS", "Verdict", "collect_verdicts", "count_by_kind", "verdict_of"]

"""One call for a batch: analyse → store → open or update alerts.

Crawled posts, vendor feeds (`yuqing ingest`) and drills all enter here, so every path is the same.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from store.models import PostRecord
from store.records import upsert_alert
from yuqing.context import Context
from yuqing.neardup import assign_near_dups

log = logging.getLogger(__name__)

MAX_TEXT_CHARS = 1_000_000


@dataclass
class IngestReport:
    received: int = 0
    stored_new: int = 0
    updated: int = 0
    unchanged: int = 0
    flagged: int = 0
    alerts_opened: int = 0
    alerts_updated: int = 0
    rejected: list[str] = field(default_factory=list)

    def merge(self, other: IngestReport) -> None:
        for name in (
            "received",
            "stored_new",
            "updated",
            "unchanged",
            "flagged",
            "alerts_opened",
            "alerts_updated",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.rejected.extend(other.rejected)

    def summary(self) -> str:
        return (
            f"收到 {self.received} 条，新增 {self.stored_new}，更新 {self.updated}，未变 {self.unchanged}，"
            f"预警 {self.flagged} 条（新开 {self.alerts_opened}，更新 {self.alerts_updated}），"
            f"拒收 {len(self.rejected)} 条"
        )


def validate_post(post: Any, position: int | str) -> tuple[dict[str, Any] | None, str | None]:
    """Check one incoming post; return (clean post, None) or (None, reason in Chinese).

    ``position`` names the post in the reason (a line number, or its place in the batch).
    """
    if not isinstance(post, Mapping):
        return None, f"{_label(post, position)}不是对象（JSON object）"
    text = post.get("text")
    if not isinstance(text, str) or not text.strip():
        title = post.get("title")
        if isinstance(title, str) and title.strip():
            text = ""
        else:
            return None, f"{_label(post, position)}没有正文（text）"
    clean = dict(post)
    clean["text"] = text if len(text) <= MAX_TEXT_CHARS else text[:MAX_TEXT_CHARS]
    if len(text) > MAX_TEXT_CHARS:
        log.warning("post %s truncated from %d to %d characters", position, len(text), MAX_TEXT_CHARS)
    return clean, None


def _label(post: Any, position: int | str) -> str:
    where = f"第 {position} 条" if isinstance(position, int) else str(position)
    if isinstance(post, Mapping):
        ident = post.get("id") or post.get("url")
        if ident:
            return f"{where}（{str(ident)[:80]}）"
    return where


def ingest(posts: Sequence[Any], *, ctx: Context, drill: bool = False) -> IngestReport:
    """Analyse, store and alert one batch. Invalid posts are reported, not stored, and never stop the batch."""
    report = IngestReport(received=len(posts))
    valid: list[dict[str, Any]] = []
    for i, post in enumerate(posts, start=1):
        clean, reason = validate_post(post, i)
        if clean is None:
            report.rejected.append(reason or f"第 {i} 条无效")
            continue
        valid.append(clean)
    if not valid:
        return report

    analyses = ctx.analyzer.analyze(valid)
    records = []
    for post, analysis in zip(valid, analyses, strict=True):
        merged = {**post, **analysis}
        records.append(PostRecord.from_post(merged, drill=drill))

    with ctx.records.session() as session:  # reposts and copied articles join their group (dup_of)
        assign_near_dups(session, records)
    results = ctx.index.upsert_many(records)
    for res in results:
        if res.created:
            report.stored_new += 1
        elif res.changed:
            report.updated += 1
        else:
            report.unchanged += 1

    flagged = [
        r for r, res in zip(records, results, strict=True) if r.flagged and (res.created or res.changed)
    ]
    report.flagged = sum(1 for r in records if r.flagged)
    if flagged:
        with ctx.records.session() as session:
            for rec in flagged:
                match = ctx.match_playbook(rec)
                _, what = upsert_alert(session, post=rec, playbook_id=match.playbook.id if match else None)
                if what == "opened":
                    report.alerts_opened += 1
                elif what == "updated":
                    report.alerts_updated += 1
    return report


def ingest_in_batches(
    posts: Sequence[Any], *, ctx: Context, batch_size: int = 500, drill: bool = False
) -> IngestReport:
    total = IngestReport()
    for i in range(0, len(posts), batch_size):
        total.merge(ingest(posts[i : i + batch_size], ctx=ctx, drill=drill))
    return total

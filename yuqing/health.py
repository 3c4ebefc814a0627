"""Source health: is every source still being seen? A blind desk looks calm, so silence is a flag.

Every crawl writes one ``source_runs`` row per source (:func:`record_runs`). From those rows,
:func:`source_health` tells for each configured source: the last successful crawl, the items of the
last 24 hours, the error rate, and two alerts:

- **silent** (信息源沉默): nothing listed by the source for longer than ``interval_minutes ×
  health.silent_factor`` (or never crawled at all). A source counts as alive when a run found items,
  including items skipped as unchanged: a quiet feed is not a dead one.
- **failing** (错误率突增): the error rate of the last ``health.recent_runs`` runs exceeds that of the
  ``health.baseline_runs`` runs before them by ``health.error_rate_jump`` or more, or the last run did
  not finish (crashed, timed out, not started). A run's error rate is errors / (errors + items found):
  one dead link among twenty articles is 5 %, a feed that answers 503 is 100 %.

Every flag carries a short Chinese reason the duty officer can read.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from store.models import SourceRun
from yuqing.config import HealthConfig, SourceConfig
from yuqing.context import Context

log = logging.getLogger(__name__)

FINISHED = "finished"
MAX_REASONS = 20
DAY = timedelta(hours=24)


def _found(stats: Mapping[str, Any]) -> int:
    """Items the source listed: scraped, plus those skipped because they are stored unchanged."""
    raw = stats.get("stats") or {}
    return int(stats.get("scraped", 0) or 0) + int(raw.get("yuqing/seen_skipped", 0) or 0)


def _error_kinds(stats: Mapping[str, Any]) -> dict[str, int]:
    prefix = "yuqing/source_error/"
    raw = stats.get("stats") or {}
    kinds = {k[len(prefix) :]: int(v) for k, v in raw.items() if k.startswith(prefix) and isinstance(v, int)}
    return kinds or ({"error": int(stats.get("errors", 0))} if stats.get("errors") else {})


def record_runs(
    ctx: Context,
    *,
    run_id: str,
    started_at: datetime,
    finished_at: datetime,
    stats: Mapping[str, Mapping[str, Any]],
    new_by_source: Mapping[str, int] | None = None,
) -> list[SourceRun]:
    """One ``source_runs`` row per source of a crawl (the runner's per-source stats)."""
    rows = []
    new_by_source = new_by_source or {}
    for name, s in stats.items():
        if not isinstance(s, Mapping):
            continue
        raw = s.get("stats") or {}
        rows.append(
            SourceRun(
                run_id=run_id,
                source=name,
                family=str(s.get("family") or ""),
                started_at=started_at,
                finished_at=finished_at,
                finish_reason=str(s.get("finish_reason") or ""),
                items_found=_found(s),
                items_new=int(new_by_source.get(name, 0)),
                unchanged=int(raw.get("yuqing/unchanged", 0) or 0)
                + int(raw.get("yuqing/seen_skipped", 0) or 0),
                requests=int(s.get("requests", 0) or 0),
                errors=int(s.get("errors", 0) or 0),
                error_reasons=[str(r) for r in (s.get("error_reasons") or [])][:MAX_REASONS],
                error_kinds=_error_kinds(s),
            )
        )
    with ctx.records.session() as session:
        session.add_all(rows)
    return rows


def record_failed_run(
    ctx: Context,
    *,
    run_id: str,
    sources: Iterable[Mapping[str, Any]],
    started_at: datetime,
    reason: str,
    finish_reason: str = "crashed",
) -> None:
    """The crawl process crashed or timed out: each of its sources gets a failed run with the reason."""
    stats = {
        str(src.get("name")): {
            "family": src.get("family", ""),
            "finish_reason": finish_reason,
            "errors": 1,
            "error_reasons": [reason],
            "stats": {f"yuqing/source_error/{finish_reason}": 1},
        }
        for src in sources
        if src.get("name")
    }
    record_runs(ctx, run_id=run_id, started_at=started_at, finished_at=datetime.now(UTC), stats=stats)


def record_quietly(record: Any, ctx: Context, **kwargs: Any) -> bool:
    """Call :func:`record_runs` or :func:`record_failed_run`; a records database that is down costs the
    health history this run (logged as an error), never the crawl's posts."""
    try:
        record(ctx, **kwargs)
    except Exception:
        log.exception("source runs not recorded (records database unavailable?)")
        return False
    return True


# ----------------------------------------------------------------------------- health


@dataclass
class SourceHealth:
    source: str
    label: str
    enabled: bool
    interval_minutes: int
    last_run_at: datetime | None = None
    last_success_at: datetime | None = None
    last_found_at: datetime | None = None
    runs_24h: int = 0
    items_new_24h: int = 0
    items_found_24h: int = 0
    errors_24h: int = 0
    error_rate: float = 0.0  # recent runs
    baseline_error_rate: float = 0.0
    last_finish_reason: str = ""
    last_errors: list[str] = field(default_factory=list)
    silent: bool = False
    failing: bool = False
    reasons: list[str] = field(default_factory=list)

    @property
    def flagged(self) -> bool:
        return self.silent or self.failing

    @property
    def status(self) -> str:
        if not self.enabled:
            return "已停用"
        if self.failing and self.silent:
            return "沉默且报错"
        if self.failing:
            return "错误率突增"
        if self.silent:
            return "沉默"
        return "正常"


def run_error_rate(run: SourceRun) -> float:
    if run.finish_reason and run.finish_reason != FINISHED:
        return 1.0
    total = run.errors + run.items_found
    return run.errors / total if total else 0.0


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _fmt_age(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} 分钟"
    hours, mins = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} 小时" + (f" {mins} 分钟" if mins and hours < 6 else "")
    return f"{hours // 24} 天"


def assess(
    source: SourceConfig, runs: Sequence[SourceRun], cfg: HealthConfig, now: datetime, day: Mapping[str, int]
) -> SourceHealth:
    """Health of one source from its recent runs (newest first) and its 24-hour totals."""
    h = SourceHealth(
        source=source.name,
        label=source.label,
        enabled=source.enabled,
        interval_minutes=source.interval_minutes,
    )
    h.runs_24h, h.items_new_24h = day.get("runs", 0), day.get("new", 0)
    h.items_found_24h, h.errors_24h = day.get("found", 0), day.get("errors", 0)
    if runs:
        last = runs[0]
        h.last_run_at = last.started_at
        h.last_finish_reason = last.finish_reason
        h.last_errors = list(last.error_reasons or [])
        ok = [r for r in runs if r.finish_reason == FINISHED and (r.items_found > 0 or r.errors == 0)]
        h.last_success_at = ok[0].started_at if ok else None
        found = [r for r in runs if r.items_found > 0]
        h.last_found_at = found[0].started_at if found else None
        recent, baseline = (
            runs[: cfg.recent_runs],
            runs[cfg.recent_runs : cfg.recent_runs + cfg.baseline_runs],
        )
        h.error_rate = _mean([run_error_rate(r) for r in recent])
        h.baseline_error_rate = _mean([run_error_rate(r) for r in baseline])
    if not source.enabled:
        return h

    window = timedelta(minutes=source.interval_minutes * cfg.silent_factor)
    if not runs:
        h.silent = True
        h.reasons.append("尚无抓取记录：该信息源从未运行，值守台看不到它的内容")
    else:
        since = h.last_found_at or runs[-1].started_at
        if since is not None and now - since > window:
            h.silent = True
            what = "未抓到任何内容" if h.last_found_at else "自有记录以来从未抓到内容"
            h.reasons.append(f"已 {_fmt_age(now - since)}{what}（预期每 {source.interval_minutes} 分钟更新）")

    if runs:
        last = runs[0]
        if last.finish_reason and last.finish_reason != FINISHED:
            h.failing = True
            why = {"crashed": "抓取进程崩溃", "timeout": "抓取超时被终止", "not_started": "未能启动"}.get(
                last.finish_reason, f"异常结束（{last.finish_reason}）"
            )
            h.reasons.append(f"最近一次抓取{why}")
        elif h.error_rate - h.baseline_error_rate >= cfg.error_rate_jump:
            h.failing = True
            h.reasons.append(
                f"错误率突增：最近 {min(len(runs), cfg.recent_runs)} 次平均 {h.error_rate:.0%}，"
                f"此前 {h.baseline_error_rate:.0%}"
            )
        if h.failing and h.last_errors:
            h.reasons.append("最近错误：" + "；".join(h.last_errors[:3]))
    return h


def source_health(ctx: Context, *, now: datetime | None = None) -> list[SourceHealth]:
    """Health of every configured source, flagged ones first."""
    cfg = ctx.settings.health
    now = now or datetime.now(UTC)
    keep = cfg.recent_runs + cfg.baseline_runs
    out: list[SourceHealth] = []
    with ctx.records.session() as session:
        day_rows = session.execute(
            select(
                SourceRun.source,
                func.count(SourceRun.id),
                func.coalesce(func.sum(SourceRun.items_new), 0),
                func.coalesce(func.sum(SourceRun.items_found), 0),
                func.coalesce(func.sum(SourceRun.errors), 0),
            )
            .where(SourceRun.started_at >= now - DAY)
            .group_by(SourceRun.source)
        ).all()
        day = {r[0]: {"runs": r[1], "new": r[2], "found": r[3], "errors": r[4]} for r in day_rows}
        for src in ctx.settings.sources:
            runs = list(
                session.scalars(
                    select(SourceRun)
                    .where(SourceRun.source == src.name, SourceRun.started_at <= now)
                    .order_by(SourceRun.started_at.desc(), SourceRun.id.desc())
                    .limit(keep)
                )
            )
            out.append(assess(src, runs, cfg, now, day.get(src.name, {})))
    out.sort(key=lambda h: (not h.flagged, not h.enabled, h.label))
    return out


def health_flags(ctx: Context, *, now: datetime | None = None) -> list[SourceHealth]:
    """The sources a duty officer must hear about: silent or failing."""
    return [h for h in source_health(ctx, now=now) if h.flagged]


def recent_runs(ctx: Context, *, limit: int = 100, source: str | None = None) -> list[SourceRun]:
    with ctx.records.session() as session:
        stmt = select(SourceRun).order_by(SourceRun.started_at.desc(), SourceRun.id.desc()).limit(limit)
        if source:
            stmt = stmt.where(SourceRun.source == source)
        return list(session.scalars(stmt))

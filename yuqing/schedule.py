"""`yuqing schedule`: crawl each enabled source at its interval, for as long as the desk is on duty.

Each run is one source in its own crawl process (``crawlers.runner`` through :func:`yuqing.crawl.crawl_sources`),
so Twisted's reactor is never restarted, and a spider that crashes its process or hangs (stopped after
``schedule.run_timeout_minutes``) costs that one run only: it is logged, written to ``source_runs`` (the
health page then flags the source) and the schedule goes on. The analysis models stay loaded in this
process between runs.

Holiday mode (``--holiday``) shortens every interval by ``schedule.holiday_factor`` (0.5: twice as often),
as the regulator's holiday notices ask for closer watch. Runs are one at a time, the most overdue
first; a source never runs twice at once.

Every ``schedule.sweep_minutes`` (and once at the start) the schedule sweeps the alerts
(:func:`yuqing.ingest.sweep_alerts`): spooled batches are replayed and a flagged post without its alert
(a process killed between the posts' commit and the alerts', on engines where they are two) gets it.
The first sweep looks at every flagged post, the later ones at posts first seen since the previous one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from yuqing.config import SourceConfig
from yuqing.context import Context
from yuqing.crawl import CrawlTimeout, crawl_sources
from yuqing.ingest import SweepReport, sweep_alerts, sweep_window

log = logging.getLogger(__name__)


@dataclass
class RunLog:
    """One scheduled run of one source, as logged."""

    source: str
    started_at: datetime
    seconds: float
    outcome: str  # ok | errors | crashed | timeout | failed
    new: int = 0
    errors: int = 0
    message: str = ""
    at: float = 0.0  # the scheduler's clock when the run began

    def line(self) -> str:
        when = self.started_at.astimezone().strftime("%Y-%m-%d %H:%M:%S")
        what = {
            "ok": f"新增 {self.new} 条",
            "errors": f"新增 {self.new} 条，错误 {self.errors} 个",
            "crashed": "抓取进程崩溃",
            "timeout": "抓取超时，已终止",
            "failed": "运行失败",
        }.get(self.outcome, self.outcome)
        tail = f"（{self.message}）" if self.message else ""
        return f"[{when}] {self.source}：{what}，用时 {self.seconds:.1f} 秒{tail}"


@dataclass
class _Slot:
    source: SourceConfig
    interval_s: float
    due: float  # monotonic seconds


@dataclass
class Scheduler:
    """Runs the enabled sources of ``ctx`` at their intervals.

    ``minute`` is how many seconds a configured minute lasts (60; tests make it shorter), ``settings_for``
    gives extra Scrapy settings for a source's runs, ``on_run`` is called with each :class:`RunLog`.
    """

    ctx: Context
    holiday: bool = False
    names: Sequence[str] | None = None
    minute: float = 60.0
    timeout_s: float | None = None
    crawl_settings: dict[str, Any] | None = None
    settings_for: Callable[[str], dict[str, Any]] | None = None
    on_run: Callable[[RunLog], None] | None = None
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    history: list[RunLog] = field(default_factory=list)
    sweeps: list[SweepReport] = field(default_factory=list)
    wall: Callable[[], float] = time.time  # the sweep's window is in real time, whatever ``clock`` is
    _swept_at: float | None = field(default=None, init=False, repr=False)  # ``clock`` at the last sweep
    _swept_wall: float | None = field(default=None, init=False, repr=False)  # ``wall`` at the last good one

    def __post_init__(self) -> None:
        sources = [s for s in self.ctx.settings.sources if s.enabled]
        if self.names:
            known = {s.name for s in self.ctx.settings.sources}
            unknown = [n for n in self.names if n not in known]
            if unknown:
                raise ValueError(f"未配置的信息源 / unknown sources: {', '.join(unknown)}")
            sources = [s for s in sources if s.name in set(self.names)]
        now = self.clock()
        self.slots = [_Slot(s, self.interval_seconds(s), now) for s in sources]
        if self.timeout_s is None:
            self.timeout_s = self.ctx.settings.schedule.run_timeout_minutes * 60

    def interval_seconds(self, source: SourceConfig) -> float:
        factor = self.ctx.settings.schedule.holiday_factor if self.holiday else 1.0
        return source.interval_minutes * factor * self.minute

    def run(self, *, once: bool = False, max_runs: int | None = None) -> list[RunLog]:
        """Keep running sources when due; ``once``: each source once; ``max_runs``: stop after that many."""
        self.maybe_sweep()
        if not self.slots:
            log.warning("schedule: no enabled sources")
            return self.history
        pending_once = {id(s) for s in self.slots}
        while True:
            self.maybe_sweep()
            if max_runs is not None and len(self.history) >= max_runs:
                break
            if once and not pending_once:
                break
            slot = min(self.slots, key=lambda s: s.due)
            if once and id(slot) not in pending_once:
                slot = next(s for s in self.slots if id(s) in pending_once)
            wait = slot.due - self.clock()
            if wait > 0 and not once:
                self.sleep(min(wait, 60.0))
                continue
            started = self.clock()
            self._run_one(slot.source)
            pending_once.discard(id(slot))
            slot.due = max(started + slot.interval_s, self.clock())
        return self.history

    def maybe_sweep(self) -> SweepReport | None:
        """Sweep the alerts when ``schedule.sweep_minutes`` have passed since the last sweep (or never ran)."""
        every = self.ctx.settings.schedule.sweep_minutes * self.minute
        now = self.clock()
        if every <= 0 or (self._swept_at is not None and now - self._swept_at < every):
            return None
        self._swept_at = now
        started = self.wall()
        try:
            result = sweep_alerts(self.ctx, since=sweep_window(self._swept_wall))
        except Exception:  # a sweep that fails must not stop the crawling; the next one looks again
            log.exception("schedule: alert sweep failed")
            return None
        if not result.error:
            self._swept_wall = started
        self.sweeps.append(result)
        (log.warning if result.opened or result.error else log.info)("schedule: %s", result.summary())
        return result

    def _run_one(self, source: SourceConfig) -> RunLog:
        started_at = datetime.now(UTC)
        t0 = self.clock()
        settings = dict(self.crawl_settings or {})
        if self.settings_for is not None:
            settings.update(self.settings_for(source.name) or {})
        entry = RunLog(source=source.name, started_at=started_at, seconds=0.0, outcome="ok", at=t0)
        try:
            result = crawl_sources(self.ctx, names=[source.name], settings=settings, timeout=self.timeout_s)
        except CrawlTimeout as exc:
            entry.outcome, entry.message = "timeout", str(exc)
        except RuntimeError as exc:  # the crawl process died
            first = (str(exc).strip().splitlines() or [""])[0]  # "crawl process failed (exit N); …"
            entry.outcome, entry.message = "crashed", first[:200]
        except Exception as exc:  # ingest or store trouble: log it, keep the schedule going
            log.exception("schedule: run of %s failed", source.name)
            entry.outcome, entry.message = "failed", f"{type(exc).__name__}: {exc}"[:200]
        else:
            stats = result.stats.get(source.name) or {}
            entry.new = result.report.stored_new
            entry.errors = int(stats.get("errors", 0) or 0)
            entry.outcome = "errors" if entry.errors else "ok"
        entry.seconds = self.clock() - t0
        self.history.append(entry)
        (log.info if entry.outcome in ("ok", "errors") else log.error)("schedule: %s", entry.line())
        if self.on_run is not None:
            self.on_run(entry)
        return entry

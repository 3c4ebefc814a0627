"""Drills on the live path: inject a scenario's posts through ingest, marked drill, then score the desk.

``run_drill`` creates a DrillRun (audited: who started it), injects each step at its time divided by
the speed (speed 60: a scenario minute per second; speed 0: no waiting) through the ingest callable it
is handed (:class:`LivePath`; the composition root gives ``yuqing.ingest.ingest`` with ``drill=True``,
the same call crawled posts take), records a DrillInjection per post (flagged? level? when?), waits a
response window for the people at the desk (scaled by the speed), then scores what they did
(playbooks/drills/scoring.py) and stores the score, ``passed`` and the report on the run.

Each run's posts get their own URL (``…?drill_run=<id>&step=<n>``), so two runs never share a post or
an alert. A store that is down refuses the drill before anything is written; a store lost during the
run aborts it (status ``aborted``) with a clear message.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from playbooks.drills.runs import rescore
from playbooks.drills.schema import Scenario, find_scenario, load_scenarios, render
from playbooks.drills.scoring import Score, Thresholds
from playbooks.schema import Playbook
from store.models import Alert, DrillInjection, DrillRun, PostRecord, utcnow
from store.outage import STORE_DOWN
from store.records import audit, change_if
from store.spool import Spool

if TYPE_CHECKING:
    from store.posts_es import EsPostIndex
    from store.posts_sqlite import SqlitePostIndex

log = logging.getLogger(__name__)

HEADLESS_WINDOW_S = 5.0  # the most a headless run waits for the desk after its last post
DRILL_URL = "https://drill.yuqing.invalid"


class DrillError(Exception):
    """A drill that cannot start or go on; the message is Chinese and shown as is."""


class Ingested(Protocol):
    """What the ingest callable reports about a batch (``yuqing.ingest.IngestReport`` is one)."""

    spooled: int
    alerts_spooled: int
    rejected: list[str]


@dataclass(frozen=True)
class LivePath:
    """The running desk a drill goes through, handed in by the composition root
    (``yuqing.context.Context.drill_path``).

    The parts that may be down are reached through callables, so a store lost before or during a run
    becomes a DrillError here, not an error while the parts are handed over.
    """

    session: Callable[[], AbstractContextManager[Session]]  # a records transaction
    posts: Callable[[], SqlitePostIndex | EsPostIndex]  # the posts index
    spool: Callable[[], Spool]  # batches kept while the store was down
    playbooks: Callable[[], Sequence[Playbook]]  # the library
    firm: Any  # ``FirmConfig``-like: name, short_names, executives, products
    ingest: Callable[[list[dict[str, Any]]], Ingested]  # one batch through the one door, marked drill
    warm_up: Callable[[], None]  # the model and the event state loaded, as a running crawler has them


@dataclass
class DrillResult:
    run_id: int
    score: Score
    report_md: str
    status: str

    @property
    def passed(self) -> bool:
        return self.score.passed


def scenarios(firm: Any) -> list[Scenario]:
    """The shipped scenarios, rendered for the configured firm (``FirmConfig``-like)."""
    return [render(s, firm) for s in load_scenarios()]


def scenario(firm: Any, name: str) -> Scenario:
    return render(find_scenario(name), firm)


def firm_label(firm: Any) -> str:
    return firm.short_names[0] if firm.short_names else firm.name


def thresholds_of(s: Scenario) -> Thresholds:
    own = {k: v for k, v in s.thresholds.model_dump().items() if v is not None}
    return Thresholds.from_dict({**Thresholds().as_dict(), **own})


def check_store(path: LivePath) -> None:
    """Refuse to start when the records database or the posts index cannot be used right now."""
    try:
        with path.session() as session:
            session.execute(select(DrillRun.id).limit(1))
        path.posts().count()
    except STORE_DOWN as exc:
        raise DrillError(f"存储不可用，演练未开始：{exc}") from exc
    except Exception as exc:  # e.g. an Elasticsearch connection error
        raise DrillError(f"存储不可用，演练未开始：{exc}") from exc
    if path.spool().pending():
        raise DrillError(
            "存储有暂存批次尚未补写（存储刚恢复或仍不可用），演练未开始；请先运行 yuqing spool 查看。"
        )


def post_for(step_no: int, s: Scenario, run_id: int, now: datetime) -> dict[str, Any]:
    step = s.timeline[step_no - 1]
    post = step.post.model_dump()
    base = post.pop("url") or f"{DRILL_URL}/{s.id}"
    post["url"] = f"{base}{'&' if '?' in base else '?'}drill_run={run_id}&step={step_no}"
    post["published_at"] = now.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds")
    return post


def start_run(path: LivePath, s: Scenario, *, speed: float, run_by: str, via: str = "cli") -> int:
    check_store(path)
    plan = [
        {
            "step_no": n,
            "at": step.at,
            "title": step.post.title or step.post.text[:60],
            "source": step.post.source,
            "should_flag": step.expect.flag,
            "min_level": step.expect.min_level,
            "rumor": step.expect.rumor,
            "note": step.note,
        }
        for n, step in enumerate(s.timeline, start=1)
    ]
    with path.session() as session:
        run = DrillRun(
            scenario_id=s.id,
            scenario_name=s.name,
            speed=float(speed),
            status="running",
            run_by=run_by,
            started_at=utcnow(),
            score={"plan": plan, "description": s.description, "thresholds": thresholds_of(s).as_dict()},
        )
        session.add(run)
        session.flush()
        audit(
            session,
            actor=run_by,
            action="drill.started",
            entity="drill_run",
            entity_id=run.id,
            scenario=s.id,
            speed=float(speed),
            via=via,
        )
        return run.id


def inject_step(path: LivePath, s: Scenario, run_id: int, step_no: int) -> DrillInjection:
    """Put one step's post through ingest (drill=True) and record what became of it."""
    now = utcnow()
    post = post_for(step_no, s, run_id, now)
    report = path.ingest([post])
    if report.spooled or report.alerts_spooled or report.rejected:
        why = "；".join(report.rejected) or "存储不可用，帖子已暂存"
        raise DrillError(f"第 {step_no} 条演练帖子未能入库（{why}），演练已中止")
    post_id = PostRecord.from_post(post).id
    step = s.timeline[step_no - 1]
    with path.session() as session:
        alert = session.scalar(select(Alert).where(Alert.post_id == post_id))
        row = DrillInjection(
            drill_run_id=run_id,
            step_no=step_no,
            post_id=post_id,
            should_flag=step.expect.flag,
            injected_at=now,
            flagged=alert is not None,
            level=alert.level if alert is not None else None,
            flagged_at=alert.created_at if alert is not None else None,
        )
        session.add(row)
        session.flush()
        session.expunge(row)
        return row


def score_run(path: LivePath, run_id: int, *, finish: bool = False, actor: str = "") -> DrillResult:
    """Score a run as things stand now (what people did on the desk so far) and store it."""
    with path.session() as session:
        run = session.get(DrillRun, run_id)
        if run is None:
            raise DrillError(f"演练 #{run_id} 不存在")
        now = utcnow()
        if finish:
            run.status = "finished"
            run.finished_at = now
        s = rescore(
            session,
            run,
            playbooks=path.playbooks(),
            now=now,
            firm=firm_label(path.firm),
            posts=path.posts(),
        )
        if finish:
            audit(
                session,
                actor=actor or run.run_by,
                action="drill.finished",
                entity="drill_run",
                entity_id=run.id,
                passed=s.passed,
                discovery_rate=s.discovery_rate,
            )
        return DrillResult(run_id=run.id, score=s, report_md=run.report_md, status=run.status)


def abort_run(path: LivePath, run_id: int, *, actor: str, reason: str) -> None:
    """Mark a run aborted (best effort: the records database may be the thing that failed)."""
    try:
        with path.session() as session:
            run = session.get(DrillRun, run_id)
            if run is None or run.status != "running":
                return
            # compare-and-set: a run that finished (or was aborted) meanwhile keeps its end
            if not change_if(
                session,
                run,
                DrillRun.status == "running",
                status="aborted",
                finished_at=utcnow(),
                passed=False,
            ):
                return
            audit(
                session,
                actor=actor,
                action="drill.aborted",
                entity="drill_run",
                entity_id=run_id,
                reason=reason,
            )
    except Exception as exc:
        log.warning("drill run %s could not be marked aborted: %s", run_id, exc)


def response_window_s(s: Scenario, *, speed: float, headless: bool, window_s: float | None = None) -> float:
    if window_s is not None:
        return max(0.0, window_s)
    scaled = 0.0 if speed <= 0 else s.response_minutes * 60.0 / speed
    return min(scaled, HEADLESS_WINDOW_S) if headless else scaled


def run_drill(
    path: LivePath,
    s: Scenario,
    *,
    speed: float = 60.0,
    run_by: str,
    headless: bool = False,
    window_s: float | None = None,
    via: str = "cli",
    progress: Callable[[str], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> DrillResult:
    """Run a whole scenario: start, inject each step on time, wait for the desk, score, finish."""
    say = progress or (lambda _msg: None)
    check_store(path)  # before warming up: the event state reads (and would create) the posts index
    path.warm_up()  # time to flag then measures the path, not a cold start (about 1.5 s on the first post)
    run_id = start_run(path, s, speed=speed, run_by=run_by, via=via)
    say(
        f"演练 #{run_id} 开始：{s.name}（{len(s.timeline)} 条帖子，{'不等待' if speed <= 0 else f'{speed:g} 倍速'}）"
    )
    t0 = monotonic()
    try:
        for n, step in enumerate(s.timeline, start=1):
            if speed > 0:
                wait = step.at * 60.0 / speed - (monotonic() - t0)
                if wait > 0:
                    sleep(wait)
            row = inject_step(path, s, run_id, n)
            what = f"已预警 {row.level or '未定'}级" if row.flagged else "未预警"
            want = "应预警" if row.should_flag else "不应预警"
            say(f"+{step.at:g} 分 第 {n} 条（{step.post.source}，{want}）：{what}")
        window = response_window_s(s, speed=speed, headless=headless, window_s=window_s)
        if window > 0:
            say(f"帖子已全部注入，等待值守台响应 {window:.0f} 秒：请在值守台确认、升级演练预警")
            sleep(window)
        result = score_run(path, run_id, finish=True)
    except DrillError as exc:
        abort_run(path, run_id, actor=run_by, reason=str(exc))
        raise
    except (*STORE_DOWN,) as exc:
        abort_run(path, run_id, actor=run_by, reason=str(exc))
        raise DrillError(f"存储不可用，演练 #{run_id} 已中止：{exc}") from exc
    except BaseException:
        abort_run(path, run_id, actor=run_by, reason="interrupted")
        raise
    return result

"""Running the escalation chain: `yuqing clocks` and the watcher thread in `yuqing schedule`.

``check_once`` reads the playbook library and ``[escalation] chain`` from the settings, and lets
playbooks.chain.check_clocks record what ran out and put the messages in the outbox (delivery is the
outbox pump's job). ``ClockWatch`` does that every ``[escalation] check_interval_minutes`` in a daemon
thread, so a long crawl run does not hold a breach back.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime

from playbooks.alerting import AlertChase, chase_alerts
from playbooks.chain import ChainEvent, check_clocks
from playbooks.periodic import Periodic
from playbooks.roster import roster_alert_resolver, roster_resolver
from store.models import utcnow
from yuqing.context import Context

log = logging.getLogger(__name__)


def check_once(ctx: Context, *, now: datetime | None = None) -> list[ChainEvent | AlertChase]:
    """One pass, in one transaction: the records being worked, then the alerts nobody has acknowledged."""
    settings = ctx.settings
    now = now or utcnow()
    with ctx.records.session() as s:
        events: list[ChainEvent | AlertChase] = list(
            check_clocks(
                s,
                playbooks=ctx.playbooks,
                chain=settings.escalation.chain,
                now=now,
                desk_base_url=settings.desk.base_url,
                resolve=roster_resolver(now),  # the chain follows the duty roster
                ack_hours=settings.notify.ack_link_hours,
            )
        )
        events += chase_alerts(
            s,
            playbooks=ctx.playbooks,
            chain=settings.escalation.chain,
            now=now,
            desk_base_url=settings.desk.base_url,
            resolve=roster_alert_resolver(now),
            ack_hours=settings.notify.ack_link_hours,
        )
        return events


def describe(event: ChainEvent | AlertChase) -> str:
    """One line for the console: 处置记录 #12 → 第 1 级（role:manager：li, chen），确认预警 … (2 条通知)."""
    drill = "【演练】" if event.drill else ""
    who = ", ".join(event.people) or "无可通知的人"
    if isinstance(event, AlertChase):
        return (
            f"{drill}预警 #{event.alert_id} 已 {event.overdue_minutes} 分钟无人确认 → 第 {event.tier} 级"
            f"（{event.entry}：{who}），{event.notifications} 条通知入队"
        )
    return (
        f"{drill}处置记录 #{event.escalation_id} 超时 → 第 {event.tier} 级（{event.entry}：{who}），"
        f"时限 {', '.join(event.clocks)}，{event.notifications} 条通知入队"
    )


class ClockWatch(Periodic):
    """Checks the clocks every ``every`` seconds in a daemon thread until stopped."""

    name = "clock-watch"

    def __init__(self, ctx: Context, *, every: float | None = None, on_event=None):
        self.ctx = ctx
        self.on_event = on_event
        super().__init__(every if every is not None else ctx.settings.escalation.check_interval_minutes * 60)

    def once(self) -> list[ChainEvent | AlertChase] | None:
        try:
            events = check_once(self.ctx)
        except Exception:  # a records database that is down, a broken library: try again next time
            log.exception("escalation clock check failed")
            return None
        self.passes += 1
        for event in events:
            log.warning("%s", describe(event))
            if self.on_event is not None:
                self.on_event(event)
        return events


def run_forever(ctx: Context, *, every: float, on_event) -> None:
    """`yuqing clocks` without --once: check, sleep, repeat (Ctrl+C stops)."""
    while True:
        for event in check_once(ctx):
            on_event(event)
        time.sleep(every)

"""The outbox pump: delivers the outbox every few seconds in a daemon thread (``yuqing schedule``).

A crawl run can take minutes; a clock breach's message must not wait for it.
"""

from __future__ import annotations

import logging

from playbooks.notify.channels import NotifyConfig
from playbooks.notify.deliver import DeliveryReport, SessionSource, deliver_pending
from playbooks.periodic import Periodic

log = logging.getLogger(__name__)


class OutboxPump(Periodic):
    """Delivers the outbox every ``every`` seconds (``notify.deliver_every_seconds``) until stopped."""

    name = "outbox-pump"

    def __init__(self, records: SessionSource, config: NotifyConfig, *, every: float):
        self.records = records
        self.config = config
        super().__init__(every)

    def once(self) -> DeliveryReport | None:
        try:
            report = deliver_pending(self.records, self.config)
        except Exception:  # a records database that is down: try again next time
            log.exception("outbox delivery failed")
            return None
        self.passes += 1
        if report.outcomes:
            log.info("outbox: %s", report.summary())
        return report

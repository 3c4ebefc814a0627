"""A task repeated every few seconds in a daemon thread beside `yuqing schedule`'s crawl loop.

The clock watch (yuqing/clock_watch.py) and the outbox pump (playbooks/notify/pump.py) run this way, so
a crawl that takes minutes holds back neither a breach nor its message. A subclass says what one pass
does in ``once``; an exception there is its own business (each logs and tries again next time).
"""

from __future__ import annotations

import threading
from typing import Any, Self


class Periodic:
    """Runs ``once`` now and then every ``every`` seconds until ``stop``; ``passes`` counts good passes."""

    name = "periodic"

    def __init__(self, every: float):
        self.every = every
        self.passes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.once()
            self._stop.wait(self.every)

    def once(self) -> Any:
        raise NotImplementedError

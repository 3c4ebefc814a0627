"""What people call a source: the configured display name (``options.display_name``, e.g. 证券观察报), never
its internal id (``zqgcb-securities``), in documents, tables and the analyzer's reasons.

``SourceNames`` maps ids to names; the composition root builds it from ``[[sources]]``
(``yuqing.context.Context.source_names``). An id it does not know (a vendor feed's own name) is shown as
it is. ``reason`` puts the names into a reason the analyzer wrote with an id in it (权威来源：<id>).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping


class SourceNames:
    """id → display name; callable."""

    def __init__(self, labels: Mapping[str, str] | None = None):
        self.labels = {str(k): str(v) for k, v in (labels or {}).items() if k and v and k != v}
        ids = sorted(self.labels, key=len, reverse=True)
        self._pattern = (
            re.compile(r"(?<![\w.-])(" + "|".join(re.escape(i) for i in ids) + r")(?![\w.-])")
            if ids
            else None
        )

    def __call__(self, source: str | None) -> str:
        return self.labels.get(source or "", source or "")

    def many(self, sources: Iterable[str]) -> list[str]:
        return list(dict.fromkeys(self(s) for s in sources if s))

    def reason(self, text: str) -> str:
        """A reason with every configured source id replaced by its name."""
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(lambda m: self.labels[m.group(1)], text)

    def reasons(self, items: Iterable[str]) -> list[str]:
        return [self.reason(r) for r in items or []]


IDENTITY = SourceNames()

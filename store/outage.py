"""What a store that is down raises: the posts index, the records database, or the driver underneath.

Ingest spools a batch on these (yuqing/ingest.py); a drill refuses to start or stops on them
(playbooks/drills/runner.py).
"""

from __future__ import annotations

import sqlalchemy.exc

from store.posts_sqlite import StoreUnavailable
from store.records import RecordsUnavailable

STORE_DOWN: tuple[type[Exception], ...] = (
    StoreUnavailable,
    RecordsUnavailable,
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
)

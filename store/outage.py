"""What a store that is down raises: the posts index, the records database, or the driver underneath.

Ingest spools a batch on these (yuqing/ingest.py); a drill refuses to start or stops on them
(playbooks/drills/runner.py). :func:`is_outage` tells an outage (spool, retry later) from a value the
database refuses (reject that post with its reason; retrying cannot help): SQLite reports a parameter it
cannot bind as an ``InterfaceError``, which on PostgreSQL's driver means a lost connection.
"""

from __future__ import annotations

import sqlite3

import sqlalchemy.exc

from store.posts_sqlite import StoreUnavailable
from store.records import RecordsUnavailable

STORE_DOWN: tuple[type[Exception], ...] = (
    StoreUnavailable,
    RecordsUnavailable,
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
)


def is_outage(exc: BaseException) -> bool:
    """Whether ``exc`` says the store cannot be used now (as opposed to: it refuses this data)."""
    if isinstance(exc, StoreUnavailable | RecordsUnavailable):
        return True
    if isinstance(exc, sqlalchemy.exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        orig = exc.orig
        if isinstance(orig, sqlite3.Error):  # SQLite: only "cannot open / locked / I/O / full / corrupt"
            return isinstance(orig, sqlite3.OperationalError) or type(orig) is sqlite3.DatabaseError
        return isinstance(exc, sqlalchemy.exc.OperationalError | sqlalchemy.exc.InterfaceError)
    if isinstance(exc, sqlalchemy.exc.DisconnectionError | sqlalchemy.exc.TimeoutError):
        return True  # the pool could not hand out a connection
    if isinstance(exc, sqlite3.Error):
        return isinstance(exc, sqlite3.OperationalError) or type(exc) is sqlite3.DatabaseError
    return False


__all__ = ["STORE_DOWN", "is_outage"]

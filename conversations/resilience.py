"""Riding out short outages of the database and the channel layer.

A reply must always reach a terminal state and a user's message must never be
dropped silently; a database that is away for a few seconds (a failover, a
restart) or a channel layer whose Redis restarts must not change that.
"""

import asyncio
import logging
import time
from collections.abc import Callable

from channels.db import database_sync_to_async
from django.db import (
    InterfaceError,
    OperationalError,
    close_old_connections,
    connections,
)

from conversations.broadcast import thread_broadcast

logger = logging.getLogger(__name__)

# Errors of a database that is away, as opposed to a query the app got wrong
# (an IntegrityError is an answer, not an outage, and is never retried).
TRANSIENT = (OperationalError, InterfaceError)

# A reply's end is worth waiting for: about half a minute in all.
FINISH_DELAYS = (0.1, 0.25, 0.5, 1, 2, 4, 8, 15)
# A user waits for a send: a couple of seconds, then they are told.
SEND_DELAYS = (0.1, 0.3, 0.6, 1.0)


def _unchecked[T](func: Callable[[], T]) -> T:
    """Run `func` without the connection's health check first.

    Channels closes old connections around every trip to the database
    thread, so with CONN_HEALTH_CHECKS each trip began with a `SELECT 1`: a
    round trip of its own, waiting for PostgreSQL's turn on a busy machine
    (bench/concurrency.py). A retried trip needs none: a dead connection
    fails its first statement, is closed, and the trip runs again.
    """
    for alias in connections:
        connections[alias].health_check_done = True
    return func()


def _retry_sync[T](func: Callable[[], T], delays: tuple[float, ...], what: str) -> T:
    for delay in delays:
        try:
            return _unchecked(func)
        except TRANSIENT as exc:
            logger.warning("Database unavailable while %s (%s); retrying.", what, exc)
            # A broken connection must be dropped, or the retry reuses it.
            close_old_connections()
            time.sleep(delay)
    return func()


def with_db_retry[T](
    func: Callable[[], T], *, what: str, delays: tuple[float, ...] = SEND_DELAYS
) -> T:
    """Run a short sync unit of work, retrying it while the database is away.

    `func` must be safe to run again: one transaction that either happened or not.
    """
    return _retry_sync(func, delays, what)


async def adb_retry[T](
    func: Callable[[], T], *, what: str, delays: tuple[float, ...] = FINISH_DELAYS
) -> T:
    """The async twin: each attempt runs in the database thread; waits don't."""
    for delay in delays:
        try:
            return await database_sync_to_async(_unchecked)(func)
        except TRANSIENT as exc:
            logger.warning("Database unavailable while %s (%s); retrying.", what, exc)
            await database_sync_to_async(close_old_connections)()
            await asyncio.sleep(delay)
    return await database_sync_to_async(func)()


BROADCAST_DELAYS = (0.05, 0.5, None)


async def broadcast_quietly(
    thread_id: object, text: str, *, reply_id: int | None = None, seq: int = 0
) -> bool:
    """Broadcast, but never let a channel layer outage break the caller.

    What is lost is only a live frame: the stored state is the truth, and a
    page that reconnects asks for it (`sync`).
    """
    for delay in BROADCAST_DELAYS:
        try:
            await thread_broadcast(thread_id, text, reply_id=reply_id, seq=seq)
            return True
        except Exception as exc:  # redis-py, OSError, timeouts: all the same here
            logger.warning("Channel layer unavailable, frame not sent: %r", exc)
        if delay is None:
            return False
        # A restarted Redis leaves dead pooled connections: the failed call
        # dropped one, so a second try soon after usually gets through.
        await asyncio.sleep(delay)
    return False

"""Saving the partial text of every reply being written in this process.

A streaming reply's text lives in memory; what is stored is a checkpoint, so
a crash loses little and a page that loads mid-stream shows something. One
task per event loop saves every reply that changed, each at most once per
`CHAT_SAVE_INTERVAL_MS`, in one statement: with hundreds of replies streaming,
one UPDATE a second per reply kept the process's single database thread busy
and every send waited behind them (bench/concurrency.py). Saves run beside
the streams, never in their way, and a database that is briefly away costs
only a checkpoint: the final save retries.
"""

import asyncio
import logging
import time
import weakref

from channels.db import database_sync_to_async
from django.conf import settings

from conversations import services
from conversations.live import LiveReply
from conversations.resilience import TRANSIENT

logger = logging.getLogger(__name__)


class Checkpoints:
    def __init__(self) -> None:
        self.due: dict[int, LiveReply] = {}
        self.last_tick = 0.0
        self.task: asyncio.Task | None = None

    def mark(self, live: LiveReply) -> None:
        """`live`'s text changed since it was last saved."""
        self.due[live.reply_id] = live
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(
                self._ticks(), name="checkpoints"
            )

    def forget(self, live: LiveReply) -> None:
        """`live` is ending: its final save replaces any checkpoint."""
        self.due.pop(live.reply_id, None)

    async def _ticks(self) -> None:
        try:
            while self.due:
                interval = settings.CHAT_SAVE_INTERVAL_MS / 1000
                await asyncio.sleep(
                    max(0.0, self.last_tick + interval - time.monotonic())
                )
                self.last_tick = tick = time.monotonic()
                # Ticks are an interval apart, so a reply saved at the last
                # one is due again now; one started since then waits a tick.
                ready = [
                    live
                    for live in self.due.values()
                    if live.saved_at <= tick - interval
                ]
                for live in ready:
                    del self.due[live.reply_id]
                    live.saved_at = tick
                if ready:
                    await _save(ready)
        finally:
            self.task = None


async def _save(replies: list[LiveReply]) -> None:
    progress = [
        services.Progress(live.reply_id, live.text, live.first_token_at, _stored(live))
        for live in replies
    ]
    saved = False
    try:
        await database_sync_to_async(services.replies_save_progress)(progress=progress)
        saved = True
    except TRANSIENT as exc:
        logger.warning(
            "Partial texts of %d replies not saved (%s).", len(progress), exc
        )
    except Exception:
        logger.exception(
            "Could not save the partial text of %d replies.", len(progress)
        )
    # After a failure what is stored is unknown (the commit may have landed):
    # the next checkpoint stores the whole text.
    for live, p in zip(replies, progress, strict=True):
        live.saved_text = p.text if saved else None


def _stored(live: LiveReply) -> int | None:
    """How much of `live`'s text the last checkpoint stored, if the text only
    grew since (a step's completed text may differ from its deltas)."""
    saved = live.saved_text
    if saved is not None and live.text.startswith(saved):
        return len(saved)
    return None


_checkpoints: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Checkpoints] = (
    weakref.WeakKeyDictionary()
)


def checkpoints() -> Checkpoints:
    """This event loop's checkpoints."""
    loop = asyncio.get_running_loop()
    found = _checkpoints.get(loop)
    if found is None:
        found = _checkpoints[loop] = Checkpoints()
    return found

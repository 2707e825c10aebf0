"""Sending the frames of every reply being written in this process.

One task per event loop sends frames in rounds: each round renders and sends
every reply whose text changed since its last frame. A round starts at most
once per `CHAT_FRAME_INTERVAL_MS`, and at once after a quiet spell (leading
edge), so a lone reply's deltas go out as they arrive. When a round takes
longer than the interval, the next one starts right after it: a busy process
sends fewer, larger frames rather than falling behind its upstreams, so the
coalescing follows the load without a setting (bench/concurrency.py).
"""

import asyncio
import json
import logging
import time
import weakref

from django.conf import settings

from conversations.live import LiveReply
from conversations.resilience import broadcast_quietly

logger = logging.getLogger(__name__)


class FrameFlusher:
    def __init__(self) -> None:
        self.dirty: dict[int, LiveReply] = {}
        self.last_round = 0.0
        self.task: asyncio.Task | None = None
        # The reply whose frame is being sent, and when that is done.
        self.sending: tuple[LiveReply, asyncio.Event] | None = None

    def poke(self, live: LiveReply) -> None:
        """`live`'s text changed: send it in the next round."""
        self.dirty[live.reply_id] = live
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(
                self._rounds(), name="frames"
            )

    async def discard(self, live: LiveReply) -> None:
        """No frame of `live` goes out once this returns: its final state,
        sent next, replaces whatever a pending frame would have shown."""
        self.dirty.pop(live.reply_id, None)
        if self.sending is not None and self.sending[0] is live:
            await self.sending[1].wait()

    async def _rounds(self) -> None:
        # Ends when a round leaves nothing to send; the next poke starts it
        # again. Nothing awaits between the last check and `task = None`.
        try:
            while self.dirty:
                interval = settings.CHAT_FRAME_INTERVAL_MS / 1000
                wait = self.last_round + interval - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                self.last_round = time.monotonic()
                batch, self.dirty = self.dirty, {}
                for live in batch.values():
                    done = asyncio.Event()
                    self.sending = (live, done)
                    try:
                        await _send(live)
                    except Exception:
                        logger.exception("Reply %s: a frame failed.", live.reply_id)
                    finally:
                        self.sending = None
                        done.set()
        finally:
            self.task = None


async def _send(live: LiveReply) -> None:
    before, before_html = live.stable_n, live.stable_html
    added, tail = live.render()
    payload = {
        "t": "frame",
        "id": live.reply_id,
        "seq": live.seq,
        "at": before,
        "add": added,
        "tail": tail,
    }
    if not added and live.stable_html != before_html:
        # The stable part was re-rendered (rare): send it whole.
        payload = json.loads(live.snapshot())
    await broadcast_quietly(
        live.thread_id, json.dumps(payload), reply_id=live.reply_id, seq=live.seq
    )


_flushers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, FrameFlusher] = (
    weakref.WeakKeyDictionary()
)


def flusher() -> FrameFlusher:
    """This event loop's frame flusher."""
    loop = asyncio.get_running_loop()
    found = _flushers.get(loop)
    if found is None:
        found = _flushers[loop] = FrameFlusher()
    return found

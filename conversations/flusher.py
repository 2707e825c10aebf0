"""Sending the frames of every reply being written in this process.

One task per event loop sends frames in rounds: each round renders and sends
every reply whose text changed since its last frame. A round starts at most
once per `CHAT_FRAME_INTERVAL_MS`, and at once after a quiet spell (leading
edge), so a lone reply's deltas go out as they arrive. A round of n frames is
followed by at least n / `CHAT_FRAME_RATE` seconds, and when a round takes
longer than that, the next starts right after it: a busy process sends fewer,
larger frames rather than falling behind its upstreams. Every frame costs
the process, the network and the page the same, words in it or not: at 300
replies a frame per delta took the process's whole core, while one per 60 ms
leaves it room and keeps the delay well within the 100 ms that readers
notice (bench/concurrency.py, README "Benchmarks").

A reply whose frames are expensive (a long loose list or a table being
written is rendered whole on every frame: milliseconds at 120 lines,
bench/markdown_frames.py) gets fewer of them: when its frames cost c seconds
of CPU (smoothed), its next one waits c / FRAME_CPU_SHARE, so no reply spends
more than that share of the process on its frames while the others' go out
on time. Prose frames cost microseconds: they are never held back.
"""

import asyncio
import logging
import time
import weakref

import orjson
from django.conf import settings

from conversations.live import LiveReply
from conversations.resilience import broadcast_quietly

logger = logging.getLogger(__name__)

# The most of the process's CPU one reply's frames may take.
FRAME_CPU_SHARE = 0.05
# A frame's cost counts this much against its reply's recent ones: one slow
# frame (a collection, a page fault) must not hold back a reply of prose.
COST_SMOOTHING = 0.25


class FrameFlusher:
    def __init__(self) -> None:
        self.dirty: dict[int, LiveReply] = {}
        # The round's replies not yet sent.
        self.batch: dict[int, LiveReply] = {}
        self.last_round = 0.0
        self.task: asyncio.Task | None = None
        # The reply whose frame is being sent, and when that is done.
        self.sending: tuple[LiveReply, asyncio.Event] | None = None
        # How many replies the last round had to send: kept here, not in
        # `_rounds`, which ends when a round leaves nothing to send and must
        # not forget the last one when the next burst starts it again.
        self.round_size = 0

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
        self.batch.pop(live.reply_id, None)
        if self.sending is not None and self.sending[0] is live:
            await self.sending[1].wait()

    async def _rounds(self) -> None:
        # Ends when a round leaves nothing to send; the next poke starts it
        # again. Nothing awaits between the last check and `task = None`.
        try:
            while self.dirty:
                # A round of n frames is followed by at least n / CHAT_FRAME_RATE
                # seconds: with hundreds of replies, fewer and larger frames
                # (each costs the process, the page and the network the same).
                interval = max(
                    settings.CHAT_FRAME_INTERVAL_MS / 1000,
                    self.round_size / settings.CHAT_FRAME_RATE,
                )
                wait = self.last_round + interval - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                self.last_round = now = time.monotonic()
                self.batch, self.dirty = self.dirty, {}
                self.round_size = len(self.batch)
                sent = False
                while self.batch:
                    live = self.batch.pop(next(iter(self.batch)))
                    if live.next_frame_at > now:
                        # Its text waits for a later round (newer by then).
                        self.dirty.setdefault(live.reply_id, live)
                        continue
                    sent = True
                    done = asyncio.Event()
                    self.sending = (live, done)
                    try:
                        cost = await _send(live)
                        live.frame_cost += COST_SMOOTHING * (cost - live.frame_cost)
                        hold = live.frame_cost / FRAME_CPU_SHARE
                        live.next_frame_at = time.monotonic() + hold
                    except Exception:
                        logger.exception("Reply %s: a frame failed.", live.reply_id)
                    finally:
                        self.sending = None
                        done.set()
                if not sent:
                    # Only replies held back: wait, rather than spin, for them.
                    await asyncio.sleep(max(interval, 0.005))
        finally:
            self.task = None

    async def finish(self, live: LiveReply) -> str:
        """Render `live` as final and return its HTML. Text its viewers have
        not seen goes out now in a last frame, not after the reply is stored
        (with a hundred replies ending together, their stores queue on the
        database thread for seconds). No frame of it goes out after this."""
        await self.discard(live)
        unseen = live.text != live.framed_text
        payload = _frame(live, final=True)
        if unseen:
            await broadcast_quietly(
                live.thread_id, payload, reply_id=live.reply_id, seq=live.seq
            )
        return live.stable_html + live.tail_html


async def _send(live: LiveReply) -> float:
    """Send `live`'s frame; returns what rendering it cost (CPU seconds)."""
    # Wall time of a section that never awaits: CPU time, bar preemption, and
    # a tenth of the cost of reading the thread's CPU clock (a system call).
    started = time.perf_counter()
    payload = _frame(live)
    cost = time.perf_counter() - started
    await broadcast_quietly(
        live.thread_id, payload, reply_id=live.reply_id, seq=live.seq
    )
    return cost


def _frame(live: LiveReply, *, final: bool = False) -> str:
    """Advance `live`'s rendering to its text; the frame that shows it."""
    before, before_html = live.stable_n, live.stable_html
    added, tail = live.render(final=final)
    if not added and live.stable_html != before_html:
        # The stable part was re-rendered (rare): send it whole.
        return live.snapshot()
    return orjson.dumps(
        {
            "t": "frame",
            "id": live.reply_id,
            "seq": live.seq,
            "at": before,
            "add": added,
            "tail": tail,
        }
    ).decode()


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

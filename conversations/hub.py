"""Who watches which thread in this process, and sending to all of them.

Streamed frames are the app's busiest traffic: tens a second per reply, to
every viewer. They skip the channel layer: a broadcast goes straight to the
sockets of this process, and with Redis one PUBLISH carries it to the other
processes, whose relays hand it to their own sockets. Through the channel
layer every frame was one message per viewer: a round trip to Redis each with
channels_redis, a scan of every channel for expired messages each with the
in-memory layer (bench/concurrency.py). Access checks and Stop stay on the channel
layer: they are rare and address single channels.

Presence lives here too: who views a thread is this hub's viewers plus what
the other processes announce of theirs. Joins and leaves are coalesced into
one list per thread, rendered once per language and sent to every local
viewer, so a thousand people opening one thread cost a few renders, not a
message from each socket to every other. Each process announces its viewers
of a thread when they change, when another process starts watching it, and
a few times per `CHAT_PRESENCE_STALE_S`; names not heard of for that long
(a process that died) are dropped.

A reply's frames are published only while another process watches its
thread: most threads are watched from one process, and each frame published
was also read back by every process subscribed to the thread, the publisher
included (bench/concurrency.py, one process on Redis held to half a core,
100 streams: steady p95 45-57 ms when every frame was published, 21 ms now).
Presence says who watches: a process starting to watch a thread announces
itself before its page can ask for a snapshot, and one asking for a snapshot
is taken as watching. Where this process has no viewer of the thread it hears
no presence, so it publishes. Other broadcasts (new turns, ends, tool cards)
always go. A page that misses a frame all the same sees its `at` skip and
asks for a sync (static/js/chat.js).

A process's broadcasts reach every viewer in the order they were made. A frame
published while Redis is away is lost to the other processes only; their pages
notice the silence and ask for a sync.
"""

import asyncio
import collections
import logging
import time
import uuid
import weakref
from typing import Any, Protocol

import orjson
from django.conf import settings
from django.utils import translation

logger = logging.getLogger(__name__)

# Frames waiting for Redis beyond this are dropped: pages resync anyway.
MAX_OUTBOX = 10_000
# Joins and leaves within this are shown together.
PRESENCE_DELAY_S = 0.2


class Viewer(Protocol):
    viewer_name: str
    viewer_language: str
    # The names its page shows now.
    presence_shown: list[str] | None

    async def thread_send(self, event: dict[str, Any]) -> None: ...


def _channel(thread_id: str) -> str:
    return f"qtc.thread.{thread_id}"


class _Relay:
    """This process's link to the others: one publishing connection, written
    in batches by one task (one round trip per batch, order kept), and one
    subscription per thread watched here."""

    def __init__(self, hub: "Hub", url: str) -> None:
        import redis.asyncio

        self.hub = hub
        self.redis = redis.asyncio.Redis.from_url(url)
        self.pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        self.outbox: collections.deque[tuple[str, bytes]] = collections.deque()
        self.pending = asyncio.Event()
        loop = asyncio.get_running_loop()
        self.writer = loop.create_task(self._write(), name="hub-publish")
        self.refresher = loop.create_task(self._refresh(), name="hub-presence")
        self.reader: asyncio.Task | None = None

    def publish(self, thread_id: str, event: dict[str, Any]) -> None:
        if len(self.outbox) >= MAX_OUTBOX:
            self.outbox.popleft()
        self.outbox.append(
            (_channel(thread_id), orjson.dumps({"o": self.hub.origin, **event}))
        )
        self.pending.set()

    async def _write(self) -> None:
        while True:
            await self.pending.wait()
            self.pending.clear()
            while self.outbox:
                size = min(500, len(self.outbox))
                batch = [self.outbox.popleft() for _ in range(size)]
                try:
                    async with self.redis.pipeline(transaction=False) as pipe:
                        for channel, data in batch:
                            pipe.publish(channel, data)
                        await pipe.execute()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    logger.warning(
                        "Redis unavailable: %d broadcasts not sent to other "
                        "processes (%r).",
                        len(batch),
                        exc,
                    )
                    await asyncio.sleep(0.5)

    async def subscribe(self, thread_id: str) -> None:
        await self.pubsub.subscribe(_channel(thread_id))
        if self.reader is None or self.reader.done():
            self.reader = asyncio.get_running_loop().create_task(
                self._read(), name="hub-subscribe"
            )

    async def unsubscribe(self, thread_id: str) -> None:
        await self.pubsub.unsubscribe(_channel(thread_id))

    async def _read(self) -> None:
        while True:
            try:
                message = await self.pubsub.get_message(
                    ignore_subscribe_messages=True, timeout=None
                )
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # redis-py reconnects and subscribes again on the next read.
                logger.warning("Redis subscription broken, retrying: %r", exc)
                await asyncio.sleep(1)
                continue
            if message is None or message.get("type") != "message":
                continue
            event = orjson.loads(message["data"])
            event["origin"] = event.pop("o", None)
            if event["origin"] == self.hub.origin:
                continue  # our own broadcast: delivered here already
            thread_id = message["channel"].decode().removeprefix("qtc.thread.")
            if "names" in event:
                self.hub.presence_heard(thread_id, event["origin"], event)
            else:
                await self.hub.deliver(thread_id, event)

    async def _refresh(self) -> None:
        while True:
            await asyncio.sleep(settings.CHAT_PRESENCE_STALE_S / 3)
            for thread_id in list(self.hub.viewers):
                self.hub.presence_changed(thread_id, announce=True)

    async def close(self) -> None:
        for task in (self.writer, self.refresher, self.reader):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        await self.pubsub.aclose()
        await self.redis.aclose()


class Hub:
    """The viewers of each thread on one event loop."""

    def __init__(self) -> None:
        self.origin = uuid.uuid4().hex
        self.viewers: dict[str, set[Viewer]] = {}
        # thread id -> process -> (its viewers' names, when heard)
        self.remote: dict[str, dict[str, tuple[list[str], float]]] = {}
        # Threads whose presence is due to be shown: announce it too?
        self.presence_due: dict[str, bool] = {}
        # Threads another process asked a reply's snapshot of (control.py).
        self.followed: set[str] = set()
        self.relay = _Relay(self, settings.REDIS_URL) if settings.REDIS_URL else None

    async def join(self, thread_id: str, viewer: Viewer) -> None:
        viewers = self.viewers.setdefault(thread_id, set())
        first = not viewers
        viewers.add(viewer)
        if first and self.relay is not None:
            # Sent before the socket is accepted, so before its page can ask
            # for a snapshot: every later frame of the thread reaches it.
            await self.relay.subscribe(thread_id)
            # And the processes already watching it say who is there.
            self.relay.publish(thread_id, {"names": [viewer.viewer_name], "ask": True})
        self.presence_changed(thread_id, announce=True)

    async def leave(self, thread_id: str, viewer: Viewer) -> None:
        viewers = self.viewers.get(thread_id)
        if viewers is None or viewer not in viewers:
            return
        viewers.discard(viewer)
        self.presence_changed(thread_id, announce=True)
        if not viewers:
            del self.viewers[thread_id]
            self.remote.pop(thread_id, None)
            self.followed.discard(thread_id)
            if self.relay is not None:
                await self.relay.unsubscribe(thread_id)

    async def deliver(self, thread_id: str, event: dict[str, Any]) -> None:
        # A copy: a viewer may leave while an earlier one is being sent to.
        for viewer in list(self.viewers.get(thread_id, ())):
            await viewer.thread_send(event)

    async def broadcast(self, thread_id: str, event: dict[str, Any]) -> None:
        await self.deliver(thread_id, event)
        if self.relay is not None and (
            "reply" not in event or self.watched_elsewhere(thread_id)
        ):
            self.relay.publish(thread_id, event)

    def watched_elsewhere(self, thread_id: str) -> bool:
        """Whether another process may have viewers of the thread: it has said
        so, or asked for a snapshot; unknown (so yes) without a viewer here."""
        if thread_id not in self.viewers or thread_id in self.followed:
            return True
        return any(names for names, _ in self.remote.get(thread_id, {}).values())

    def followed_elsewhere(self, thread_id: str) -> None:
        """Another process's page follows the thread's reply from a snapshot:
        the frames after it must reach that process, whatever presence said."""
        if thread_id in self.viewers:
            self.followed.add(thread_id)

    # --- presence ---------------------------------------------------------------

    def presence_changed(self, thread_id: str, *, announce: bool) -> None:
        """Show the thread's viewers soon (and tell the other processes)."""
        if thread_id in self.presence_due:
            self.presence_due[thread_id] |= announce
            return
        self.presence_due[thread_id] = announce
        asyncio.get_running_loop().call_later(
            PRESENCE_DELAY_S,
            lambda: asyncio.ensure_future(self._presence_show(thread_id)),
        )

    def presence_heard(
        self, thread_id: str, origin: str, event: dict[str, Any]
    ) -> None:
        if thread_id not in self.viewers:
            return
        self.remote.setdefault(thread_id, {})[origin] = (
            [str(name) for name in event["names"]],
            time.monotonic(),
        )
        self.presence_changed(thread_id, announce=bool(event.get("ask")))

    def names(self, thread_id: str) -> list[str]:
        """Who views the thread, on any process: one name per person."""
        names = {viewer.viewer_name for viewer in self.viewers.get(thread_id, ())}
        fresh = time.monotonic() - settings.CHAT_PRESENCE_STALE_S
        for heard, at in self.remote.get(thread_id, {}).values():
            if at >= fresh:
                names.update(heard)
        return sorted(names, key=str.casefold)

    async def _presence_show(self, thread_id: str) -> None:
        # Imported here: presence.py renders the list, and imports this module.
        from conversations.presence import presence_html

        announce = self.presence_due.pop(thread_id, False)
        viewers = self.viewers.get(thread_id, set())
        if announce and self.relay is not None:
            local = sorted({viewer.viewer_name for viewer in viewers})
            self.relay.publish(thread_id, {"names": local})
        if not viewers:
            return
        names = self.names(thread_id)
        by_language: dict[str, list[Viewer]] = {}
        for viewer in viewers:
            if viewer.presence_shown != names:
                viewer.presence_shown = names
                by_language.setdefault(viewer.viewer_language, []).append(viewer)
        for language, group in by_language.items():
            with translation.override(language):
                event = {"text": presence_html(names, oob=True)}
            for viewer in group:
                await viewer.thread_send(event)


# One hub per event loop: Redis connections are bound to the loop they were
# made on (tests run one loop per test).
_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = (
    weakref.WeakKeyDictionary()
)


def hub() -> Hub:
    loop = asyncio.get_running_loop()
    found = _hubs.get(loop)
    if found is None:
        found = _hubs[loop] = Hub()
    return found


async def hub_close() -> None:
    """Close this loop's hub (tests: before their loop closes)."""
    found = _hubs.pop(asyncio.get_running_loop(), None)
    if found is not None and found.relay is not None:
        await found.relay.close()

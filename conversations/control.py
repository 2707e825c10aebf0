"""Reaching a generation that runs in another process: Stop across processes.

A generation belongs to the process that started it, but Stop may be pressed on
a page served by any process. Each process listens on one channel of the
channel layer (its control channel); while a reply is generated, that channel
is in the reply's group, so a stop sent to the group reaches whichever process
holds the task. With the in-memory layer there is only one process and the
group simply loops back.
"""

import asyncio
import logging
from typing import Any

from channels.layers import BaseChannelLayer, get_channel_layer

from conversations.hub import hub

logger = logging.getLogger(__name__)

STOP = "reply.stop"
SNAPSHOT = "reply.snapshot"


def reply_group(reply_id: int) -> str:
    return f"reply.{reply_id}"


class _Listener:
    """The control channel of this process on one event loop."""

    def __init__(self, layer: BaseChannelLayer, channel: str) -> None:
        self.layer = layer
        self.channel = channel
        self.task = asyncio.get_running_loop().create_task(
            self._loop(), name="control-channel"
        )

    async def _loop(self) -> None:
        # Imported here: generation imports this module.
        from conversations.generation import reply_stop

        while True:
            try:
                message: dict[str, Any] = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                # The layer is down (Redis restarting): try again shortly
                # rather than losing the ability to stop replies for good.
                logger.exception("Control channel receive failed; retrying.")
                await asyncio.sleep(1)
                continue
            reply = message.get("reply")
            if not isinstance(reply, int):
                continue
            if message.get("type") == STOP and reply_stop(reply):
                logger.info("Reply %s stopped from another process.", reply)
            elif message.get("type") == SNAPSHOT:
                await self._send_snapshot(reply, message.get("to"))

    async def _send_snapshot(self, reply_id: int, to: object) -> None:
        from conversations.live import live_reply

        live = live_reply(reply_id)
        if live is None or not isinstance(to, str):
            return
        # Before the snapshot: every frame after it is published.
        hub().followed_elsewhere(live.thread_id)
        await self.layer.send(
            to,
            {
                "type": "snapshot.deliver",
                "text": live.snapshot(),
                "reply": reply_id,
                "seq": live.seq,
            },
        )


# One listener per event loop: channel layers and their connections are bound
# to the loop they first ran on (tests run one loop per test).
_listeners: dict[asyncio.AbstractEventLoop, _Listener] = {}


async def control_channel() -> tuple[BaseChannelLayer, str] | None:
    """This process's control channel, created (and listened on) on first use."""
    layer = get_channel_layer()
    if layer is None:
        return None
    loop = asyncio.get_running_loop()
    listener = _listeners.get(loop)
    if listener is None or listener.task.done() or listener.layer is not layer:
        for stale in [key for key in _listeners if key.is_closed()]:
            del _listeners[stale]
        # The default prefix: channels_redis pops every process-local channel
        # through one receive loop per prefix, and consumers use the default;
        # a second prefix would starve one of the two.
        listener = _Listener(layer, await layer.new_channel())
        _listeners[loop] = listener
    return listener.layer, listener.channel


async def reply_listen(reply_id: int) -> None:
    """Make this process reachable by a stop for `reply_id` pressed anywhere."""
    found = await control_channel()
    if found is not None:
        layer, channel = found
        await layer.group_add(reply_group(reply_id), channel)


async def reply_unlisten(reply_id: int) -> None:
    found = await control_channel()
    if found is not None:
        layer, channel = found
        await layer.group_discard(reply_group(reply_id), channel)


async def reply_stop_anywhere(reply_id: int) -> None:
    """Ask whichever process generates `reply_id` to stop it."""
    layer = get_channel_layer()
    if layer is not None:
        await layer.group_send(reply_group(reply_id), {"type": STOP, "reply": reply_id})


async def reply_snapshot_request(reply_id: int, reply_to: str) -> None:
    """Ask the process writing `reply_id` to send its snapshot to `reply_to`
    (a page that joined on another process cannot render the live state)."""
    layer = get_channel_layer()
    if layer is not None:
        await layer.group_send(
            reply_group(reply_id), {"type": SNAPSHOT, "reply": reply_id, "to": reply_to}
        )


async def listener_stop() -> None:
    """Stop this loop's control listener (tests: a loop that closes while the
    listener waits would leave channels_redis's receive lock held)."""
    listener = _listeners.pop(asyncio.get_running_loop(), None)
    if listener is not None:
        listener.task.cancel()
        await asyncio.gather(listener.task, return_exceptions=True)

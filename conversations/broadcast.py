"""Sending to everyone who watches a thread, through the channel layer."""

from channels.layers import get_channel_layer


def thread_group(thread_id: object) -> str:
    return f"thread.{thread_id}"


async def thread_broadcast(thread_id: object, text: str) -> None:
    """Send one ready-made websocket text frame to every viewer of a thread.

    The payload is serialised once here, not once per viewer.
    """
    layer = get_channel_layer()
    if layer is not None:
        await layer.group_send(
            thread_group(thread_id), {"type": "thread.send", "text": text}
        )

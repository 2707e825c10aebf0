"""Sending to everyone who watches a thread (conversations/hub.py carries it)."""

from conversations.hub import hub


def thread_group(thread_id: object) -> str:
    """The thread's channel-layer group: presence, access checks, Stop."""
    return f"thread.{thread_id}"


async def thread_broadcast(
    thread_id: object, text: str, *, reply_id: int | None = None, seq: int = 0
) -> None:
    """Send one ready-made websocket text frame to every viewer of a thread.

    The payload is serialised once here, not once per viewer. A streaming
    frame also carries its reply id and sequence number outside the text, so
    a consumer can drop frames its page's snapshot already covers without
    parsing them.
    """
    event: dict[str, object] = {"text": text}
    if reply_id is not None:
        event |= {"reply": reply_id, "seq": seq}
    await hub().broadcast(str(thread_id), event)

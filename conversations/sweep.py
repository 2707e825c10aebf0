"""Replies nobody is writing any more: a process that died mid-reply.

Each process touches `Message.heartbeat_at` of the replies it generates every
`CHAT_SWEEP_INTERVAL_S` (the partial-text saves touch it too). Any process may
then mark a streaming reply whose heartbeat is older than `CHAT_STALE_AFTER_S`
as interrupted, keeping its partial text: whoever was writing it is gone. The
sweep runs when a process starts serving (so a restart cleans up after the
process it replaces) and then periodically, on every process.
"""

import asyncio
import logging
from collections.abc import Iterable
from datetime import timedelta

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from conversations.broadcast import thread_broadcast
from conversations.frames import reply_final_html
from conversations.live import running
from conversations.models import Message, Thread
from conversations.rendering import render_markdown

logger = logging.getLogger(__name__)

INTERRUPTED_CATEGORY = "process_lost"
INTERRUPTED_MESSAGE = (
    "The server writing this reply stopped before it finished; "
    "the text so far is kept. Press Retry to generate it again."
)


def replies_heartbeat(*, reply_ids: Iterable[int]) -> int:
    """Mark replies as still being written by this process (one query)."""
    ids = list(reply_ids)
    if not ids:
        return 0
    return Message.objects.filter(pk__in=ids, status=Message.Status.STREAMING).update(
        heartbeat_at=timezone.now()
    )


@transaction.atomic
def replies_sweep_interrupted(
    *, stale_after: timedelta | None = None, exclude: Iterable[int] = ()
) -> list[Message]:
    """Mark streaming replies with a stale heartbeat as interrupted.

    `exclude` names replies this process is writing (never stale to itself).
    Returns the replies marked, with their partial text kept and rendered.
    """
    if stale_after is None:
        stale_after = timedelta(seconds=settings.CHAT_STALE_AFTER_S)
    now = timezone.now()
    # Two processes sweeping at once must not both finish the same reply:
    # rows another sweep holds are skipped, the rest are locked until commit.
    stale = list(
        Message.objects.select_for_update(skip_locked=True)
        .filter(status=Message.Status.STREAMING, heartbeat_at__lt=now - stale_after)
        .exclude(pk__in=list(exclude))
        .order_by("pk")
    )
    for reply in stale:
        reply.status = Message.Status.INTERRUPTED
        reply.html = render_markdown(reply.text)
        reply.finished_at = now
        reply.error_category = INTERRUPTED_CATEGORY
        reply.error_message = INTERRUPTED_MESSAGE
        reply.save(
            update_fields=[
                "status",
                "html",
                "finished_at",
                "error_category",
                "error_message",
            ]
        )
    if stale:
        # What the lost turn did to the server-side Conversation is unknown,
        # so no later turn may rely on the Conversation's last turn.
        Thread.objects.filter(pk__in={r.thread_id for r in stale}).update(
            conversation_tip=None
        )
        logger.warning(
            "Marked %d reply(ies) interrupted: %s",
            len(stale),
            ", ".join(str(r.pk) for r in stale),
        )
    return stale


def _tick() -> list[tuple[str, str]]:
    replies_heartbeat(reply_ids=list(running))
    swept = replies_sweep_interrupted(exclude=list(running))
    return [(str(r.thread_id), reply_final_html(r)) for r in swept]


async def sweep_once() -> None:
    """Heartbeat this process's replies, sweep stale ones, tell their viewers."""
    for thread_id, html in await database_sync_to_async(_tick)():
        await thread_broadcast(thread_id, html)


async def _maintain(interval: float) -> None:
    while True:
        try:
            await sweep_once()
        except asyncio.CancelledError:
            raise
        except Exception:
            # A database blip must not end the sweep for the process's lifetime.
            logger.exception("Reply sweep failed; trying again.")
        await asyncio.sleep(interval)


_started: dict[asyncio.AbstractEventLoop, asyncio.Task] = {}


def maintenance_start() -> asyncio.Task | None:
    """Start heartbeats and the sweep on this event loop, once (cheap to repeat)."""
    interval = settings.CHAT_SWEEP_INTERVAL_S
    if interval <= 0:
        return None
    loop = asyncio.get_running_loop()
    task = _started.get(loop)
    if task is None or task.done():
        for stale in [key for key in _started if key.is_closed()]:
            del _started[stale]
        task = loop.create_task(_maintain(interval), name="reply-sweep")
        _started[loop] = task
    return task

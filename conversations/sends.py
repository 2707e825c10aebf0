"""A message's send: its database trip, and where that trip runs.

One trip stores the message and its reply, renders the new turn and loads what
the reply is to be written from: with hundreds of people sending at once,
every trip waits behind theirs (bench/concurrency.py). It runs in a worker
process when `CHAT_SEND_WORKERS` is set (workers.py), else on this process's
database thread.
"""

from dataclasses import dataclass

from channels.db import database_sync_to_async
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import prefetch_related_objects

from conversations import attachments, generation, services, workers
from conversations.frames import turn_append_html
from conversations.models import Thread
from conversations.resilience import TRANSIENT, with_db_retry

Trip = tuple[services.Sent, str, generation.Turn | str | None]


@dataclass(frozen=True, slots=True)
class Send:
    """What a person sent (picklable: it may go to a worker process)."""

    author: AbstractBaseUser
    thread: Thread
    text: str
    client_id: str
    attachment_ids: list[int]


async def message_send_trip(send: Send) -> Trip:
    """The send, the new turn's markup ("" for a replay, or if it could not be
    rendered: pages catch up by sync) and its reply's turn (None if it could
    not be loaded: the reply loads it again itself, retried through an outage,
    and ends as failed rather than spinning if it cannot be)."""
    if workers.enabled():
        # Safe to run twice, as workers.run may: a second run is a replay.
        return await workers.run(_trip, send)
    return await database_sync_to_async(_trip)(send)


def _trip(send: Send) -> Trip:
    # Retried through a short database outage. Storing and rendering are
    # separate steps: a store that committed is never redone (it would come
    # back as a replay and the reply would never start).
    sent = with_db_retry(lambda: _store(send), what="storing a message")
    if not sent.created:
        return sent, "", None

    def render() -> str:
        # Its markup and its reply's turn both read them: one query, or none
        # when nothing was attached.
        if send.attachment_ids:
            prefetch_related_objects([sent.user_message], "attachments")
        else:
            attachments.known_none(sent.user_message)
        return turn_append_html(sent.user_message, sent.reply)

    try:
        html = with_db_retry(render, what="rendering a message")
    except TRANSIENT:
        html = ""
    try:
        turn = generation.turn_load(sent.reply, new=True)
    except Exception:
        turn = None
    return sent, html, turn


def _store(send: Send) -> services.Sent:
    # The send checks the author's rights as it locks the thread to write.
    def store() -> services.Sent:
        return services.message_send(
            thread=send.thread,
            author=send.author,
            text=send.text,
            client_id=send.client_id,
        )

    if not send.attachment_ids:
        return store()  # its own transaction (a savepoint here costs two trips)
    # One transaction: a retry after an outage redoes the send and its
    # attachments together, never a stored send without its attachments.
    with transaction.atomic():
        sent = store()
        if sent.created:
            # Before the reply starts: its turn is decided by what is attached.
            attachments.attachments_claim(
                thread=send.thread,
                message=sent.user_message,
                ids=send.attachment_ids,
                uploader=send.author,
            )
    return sent

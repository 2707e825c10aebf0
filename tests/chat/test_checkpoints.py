"""Partial texts of streaming replies, saved together (conversations/checkpoints.py)."""

import pytest
from channels.db import database_sync_to_async
from django.db import OperationalError
from django.utils import timezone

from conversations import checkpoints, services
from conversations.live import LiveReply
from conversations.models import Message
from tests import turns


def test_one_save_stores_every_streaming_reply_and_spares_finished_ones(thread, alice):
    first = turns.finished_turn(thread, alice, text="One", answer="Done.").reply
    second = services.message_send(thread=thread, author=alice, text="Two").reply
    started = timezone.now()

    saved = services.replies_save_progress(
        progress=[
            services.Progress(first.pk, "late checkpoint", started),
            services.Progress(second.pk, "half an ans", started),
        ]
    )

    assert saved == 1
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.text, first.status) == ("Done.", Message.Status.COMPLETED)
    assert (second.text, second.first_token_at) == ("half an ans", started)
    assert second.heartbeat_at is not None


def test_a_checkpoint_appends_only_what_was_written_since_the_last(thread, alice):
    reply = services.message_send(thread=thread, author=alice, text="Rivers?").reply
    services.replies_save_progress(
        progress=[services.Progress(reply.pk, "Rivers run", None)]
    )

    saved = services.replies_save_progress(
        progress=[
            services.Progress(
                reply.pk, "Rivers run to the sea.", None, stored=len("Rivers run")
            )
        ]
    )

    assert saved == 1
    reply.refresh_from_db()
    assert reply.text == "Rivers run to the sea."


# The saves run as they do in the app, through the database thread, whose
# connection handling needs a real transaction around the test.
@pytest.mark.django_db(transaction=True)
async def test_checkpoints_store_the_whole_text_again_after_a_failed_one(
    thread, alice, monkeypatch
):
    reply = await streaming_reply(thread, alice)
    live = LiveReply(reply.pk, str(thread.pk), text="Rivers")
    sent: list[services.Progress] = []
    original = services.replies_save_progress
    failures = [OperationalError("the database went away")]

    def recording(*, progress):
        sent.extend(progress)
        if failures:
            raise failures.pop()
        return original(progress=progress)

    monkeypatch.setattr(services, "replies_save_progress", recording)

    await checkpoints._save([live])
    live.text += " run"
    await checkpoints._save([live])
    live.text += " to the sea."
    await checkpoints._save([live])

    # The first failed (its commit may or may not have landed): the second
    # sends all, the third only its own words.
    assert [(p.text, p.stored) for p in sent] == [
        ("Rivers", None),
        ("Rivers run", None),
        ("Rivers run to the sea.", len("Rivers run")),
    ]
    assert await stored_text(reply) == "Rivers run to the sea."


@pytest.mark.django_db(transaction=True)
async def test_a_text_that_was_rewritten_is_stored_whole(thread, alice):
    # A step's completed text replaces its deltas' when the two differ.
    reply = await streaming_reply(thread, alice)
    live = LiveReply(reply.pk, str(thread.pk), text="Rivers rn")
    await checkpoints._save([live])
    live.text = "Rivers run."
    await checkpoints._save([live])
    assert await stored_text(reply) == "Rivers run."


@database_sync_to_async
def streaming_reply(thread, alice) -> Message:
    return services.message_send(thread=thread, author=alice, text="Rivers?").reply


@database_sync_to_async
def stored_text(reply: Message) -> str:
    reply.refresh_from_db()
    return reply.text

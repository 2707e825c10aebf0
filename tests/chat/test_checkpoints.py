"""Partial texts of streaming replies, saved together (conversations/checkpoints.py)."""

from django.utils import timezone

from conversations import services
from conversations.models import Message


def test_one_save_stores_every_streaming_reply_and_spares_finished_ones(thread, alice):
    first = services.message_send(thread=thread, author=alice, text="One").reply
    services.reply_finish(
        reply_id=first.pk,
        text="Done.",
        status="completed",
        first_token_at=None,
        context_mode="new",
        responses=[],
    )
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

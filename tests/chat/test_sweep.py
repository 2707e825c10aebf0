"""Replies whose writer is gone are marked interrupted; Stop reaches the writer
through the reply's group (conversations/sweep.py, conversations/control.py).

The separate-process versions are in tests/production/test_processes.py.
"""

import json
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from conversations import control, services
from conversations.models import Message
from conversations.sweep import (
    INTERRUPTED_CATEGORY,
    replies_heartbeat,
    replies_sweep_interrupted,
    sweep_once,
)


def streaming_reply(thread, alice, *, text: str, age: timedelta) -> Message:
    sent = services.message_send(thread=thread, author=alice, text="hello")
    Message.objects.filter(pk=sent.reply.pk).update(
        text=text, heartbeat_at=timezone.now() - age
    )
    return Message.objects.get(pk=sent.reply.pk)


@pytest.mark.django_db
def test_a_reply_whose_writer_is_gone_is_interrupted_with_its_text_kept(
    thread, alice, settings
):
    settings.CHAT_STALE_AFTER_S = 60
    reply = streaming_reply(
        thread, alice, text="Half **an** answer", age=timedelta(minutes=2)
    )
    swept = replies_sweep_interrupted()
    assert [r.pk for r in swept] == [reply.pk]
    reply.refresh_from_db()
    assert reply.status == Message.Status.INTERRUPTED
    assert reply.text == "Half **an** answer"
    assert reply.html == "<p>Half <strong>an</strong> answer</p>\n"
    assert reply.error_category == INTERRUPTED_CATEGORY
    assert reply.finished_at is not None


@pytest.mark.django_db
def test_live_replies_are_left_alone(thread, alice, bob, settings):
    settings.CHAT_STALE_AFTER_S = 60
    fresh = streaming_reply(thread, alice, text="still", age=timedelta(seconds=5))
    other = services.thread_create(owner=bob)
    own = streaming_reply(other, bob, text="mine", age=timedelta(minutes=5))
    assert replies_sweep_interrupted(exclude=[own.pk]) == []
    fresh.refresh_from_db()
    own.refresh_from_db()
    assert (fresh.status, own.status) == ("streaming", "streaming")


@pytest.mark.django_db
def test_a_heartbeat_keeps_a_quiet_reply_from_being_swept(thread, alice):
    reply = streaming_reply(thread, alice, text="", age=timedelta(minutes=5))
    assert replies_heartbeat(reply_ids=[reply.pk]) == 1
    assert replies_sweep_interrupted(stale_after=timedelta(minutes=1)) == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("upstream", "idle_generations")
async def test_viewers_see_a_swept_reply_end(connect, thread, alice, settings):
    settings.CHAT_STALE_AFTER_S = 60
    reply = await database_sync_to_async(streaming_reply)(
        thread, alice, text="Partial words", age=timedelta(minutes=2)
    )
    viewer = await connect(alice, thread)
    await sweep_once()
    final = await viewer.until_final()
    assert f'id="msg-{reply.pk}"' in final
    assert 'data-status="interrupted"' in final
    assert "Partial words" in final


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("upstream", "idle_generations")
async def test_a_stop_sent_to_the_reply_group_stops_its_generation(
    connect, thread, alice
):
    # What a process that does not hold the generation does on Stop.
    viewer = await connect(alice, thread)
    await viewer.send(
        action="send",
        message="[[pace:ttft=0,tps=30]] [[tokens:300]] go",
        client_id="c1",
    )
    frame = json.loads(
        await viewer.until(
            lambda t: t.startswith("{") and json.loads(t)["t"] == "frame"
        )
    )
    await control.reply_stop_anywhere(frame["id"])
    final = await viewer.until_final()
    assert 'data-status="stopped"' in final
    reply = await Message.objects.aget(pk=frame["id"])
    assert reply.status == "stopped"
    assert 0 < len(reply.text.split()) < 300

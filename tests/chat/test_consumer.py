"""The thread websocket, end to end: real consumer, channel layer and simulator."""

import asyncio
import json
import threading
import time

import pytest
from channels.db import database_sync_to_async
from django.conf import settings as django_settings
from django.test import Client

from conversations import services
from conversations.live import live_reply
from conversations.models import Message
from conversations.rendering import render_markdown
from tests.chat.conftest import frame_kind, thread_socket

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("upstream", "idle_generations"),
]


@database_sync_to_async
def messages_of(thread):
    return list(thread.messages.order_by("created_at", "id"))


async def test_an_outsider_cannot_open_the_socket(connect, thread, bob):
    viewer = await connect(bob, thread)
    assert viewer.connected is False


async def open_with_cookie(thread, cookie: bytes) -> bool:
    communicator = thread_socket(thread, cookie)
    connected, _ = await communicator.connect(timeout=10)
    await communicator.disconnect()
    return connected


async def test_a_socket_needs_a_signed_in_session(thread, alice):
    def signed_in_then_out() -> tuple[bytes, bytes]:
        client = Client()
        client.force_login(alice)
        name = django_settings.SESSION_COOKIE_NAME
        cookie = f"{name}={client.cookies[name].value}".encode()
        other = Client()
        other.force_login(alice)
        kept = f"{name}={other.cookies[name].value}".encode()
        client.logout()
        return cookie, kept

    signed_out, signed_in = await database_sync_to_async(signed_in_then_out)()

    assert await open_with_cookie(thread, b"") is False
    assert await open_with_cookie(thread, b"sessionid=not-a-session") is False
    assert await open_with_cookie(thread, signed_out) is False
    assert await open_with_cookie(thread, signed_in) is True


async def test_a_foreign_origin_is_refused(connect, thread, alice):
    viewer = await connect(alice, thread, origin=b"http://evil.example")
    assert viewer.connected is False


async def test_a_reply_streams_in_frames_and_ends_as_stored(connect, thread, alice):
    viewer = await connect(alice, thread)
    await viewer.send(
        action="send", message="Tell me about rivers [[tokens:60]]", client_id="c1"
    )
    final = await viewer.until_final()
    user_message, reply = await messages_of(thread)
    assert user_message.role == "user"
    assert user_message.text == "Tell me about rivers [[tokens:60]]"
    assert reply.status == "completed"
    assert len(reply.text.split()) >= 50
    assert viewer.frames()
    # The final markup is the stored rendering, so what is seen is what is stored.
    assert reply.html in final
    responses = await database_sync_to_async(list)(reply.responses.all())
    assert responses[0].output_tokens > 0
    assert responses[0].response_id


async def test_a_streamed_markdown_reply_is_stored_as_a_full_render(
    connect, thread, alice
):
    # The stored HTML comes from the stream's own rendering, not a new one.
    answer = (
        "# Rivers\n\n- *Nile*\n- `Amazon`\n\n```python\nflow = 1\n```\n\n"
        "[r]: https://r.example\n\nSee [the list][r].\r\nDone."
    )
    viewer = await connect(alice, thread)
    await viewer.send(action="send", message=f"[[echo]]{answer}", client_id="c1")
    await viewer.until_final()
    _, reply = await messages_of(thread)
    assert reply.text == answer
    assert reply.html == render_markdown(answer)
    assert '<a href="https://r.example"' in reply.html


async def test_a_reply_ending_inside_a_code_block_is_stored_highlighted(
    connect, thread, alice
):
    # While a block is open its frames are unhighlighted; the stored end is not.
    answer = "Here:\n\n```python\ndef flow():\n    return 1"
    viewer = await connect(alice, thread)
    await viewer.send(action="send", message=f"[[echo]]{answer}", client_id="c1")
    await viewer.until_final()
    _, reply = await messages_of(thread)
    assert reply.html == render_markdown(answer)
    assert '<span class="k">def</span>' in reply.html


async def test_a_send_plans_its_reply_in_its_own_trip_to_the_database(
    connect, thread, alice, monkeypatch
):
    # Hundreds of sends at once queue on the database thread: a second trip
    # per reply, before its first token, doubled the wait (bench/concurrency.py).
    from conversations import generation

    loads: list[int] = []
    real = generation._load_turn

    def load_turn(live):
        loads.append(live.reply_id)
        return real(live)

    monkeypatch.setattr(generation, "_load_turn", load_turn)
    viewer = await connect(alice, thread)
    await viewer.send(action="send", message="Hello", client_id="c1")
    assert 'data-status="completed"' in await viewer.until_final()
    assert loads == []
    reply = (await messages_of(thread))[-1]
    await viewer.send(action="regenerate", reply=str(reply.pk))
    assert 'data-status="completed"' in await viewer.until_final()
    assert len(loads) == 1


async def test_a_reply_whose_plan_failed_at_send_plans_again_and_ends(
    connect, thread, alice, monkeypatch
):
    from conversations import generation

    real = generation.turn_load
    calls: list[bool] = []

    def turn_load(reply, **kwargs):
        calls.append(kwargs.get("new", False))
        if kwargs.get("new"):
            raise RuntimeError("planning broke at send")
        return real(reply, **kwargs)

    monkeypatch.setattr(generation, "turn_load", turn_load)
    viewer = await connect(alice, thread)
    await viewer.send(action="send", message="[[echo]]Still answered.", client_id="c1")
    final = await viewer.until_final()
    assert 'data-status="completed"' in final and "Still answered." in final
    assert calls == [True, False]


async def test_a_replys_last_words_show_before_it_is_stored(
    connect, thread, alice, settings, monkeypatch
):
    # Frames a second apart: every word after the first waits for a round
    # that comes after the reply has ended. With replies ending together their
    # stores queue on the database thread; the words must not wait for them.
    settings.CHAT_FRAME_INTERVAL_MS = 1000
    release = threading.Event()
    original = services.reply_finish

    def slow_finish(**kwargs):
        release.wait(10)
        return original(**kwargs)

    monkeypatch.setattr(services, "reply_finish", slow_finish)
    viewer = await connect(alice, thread)
    await viewer.send(
        action="send",
        message="[[pace:ttft=0,tps=50]] [[echo]]Rivers end in the ocean.",
        client_id="c1",
    )
    try:
        last = await viewer.until(lambda t: t.startswith("{") and "ocean" in t)
    finally:
        release.set()
    assert "Rivers end in the ocean." in json.loads(last)["tail"]
    final = await viewer.until_final()
    assert 'data-status="completed"' in final
    assert not viewer.received[viewer.received.index(final) + 1 :]


async def test_the_users_message_is_stored_even_when_the_upstream_fails(
    connect, thread, alice, upstream
):
    upstream.faults.push("500")
    viewer = await connect(alice, thread)
    await viewer.send(action="send", message="Are you there?", client_id="c1")
    final = await viewer.until_final()
    user_message, reply = await messages_of(thread)
    assert user_message.text == "Are you there?"
    assert reply.status == "failed"
    assert reply.error_category == "server_error"
    assert "internal error" in final
    assert 'data-testid="regenerate"' in final


async def test_a_replayed_send_creates_one_turn(connect, thread, alice):
    viewer = await connect(alice, thread)
    await viewer.send(action="send", message="Hello once", client_id="same-id")
    await viewer.until_final()
    await viewer.send(action="send", message="Hello once", client_id="same-id")
    await viewer.until(lambda t: "msg-" in t)
    assert [m.role for m in await messages_of(thread)] == ["user", "assistant"]


@pytest.mark.parametrize(
    ("text", "error"),
    [("   ", "Type a message"), ("x" * 30, "limited to 20 characters")],
)
async def test_bad_messages_are_refused_before_the_upstream(
    connect, thread, alice, upstream, settings, text, error
):
    settings.CHAT_MAX_MESSAGE_CHARS = 20
    before = len(upstream.state.responses)
    viewer = await connect(alice, thread)
    await viewer.send(action="send", message=text, client_id="c1")
    reply = await viewer.receive()
    assert 'id="composer-error"' in reply
    assert error in reply
    assert await messages_of(thread) == []
    assert len(upstream.state.responses) == before


async def test_a_second_send_while_streaming_is_refused(connect, thread, alice):
    viewer = await connect(alice, thread)
    await viewer.send(
        action="send", message="[[pace:ttft=0,tps=40]] one", client_id="c1"
    )
    await viewer.until(lambda t: t.startswith("{"))
    await viewer.send(action="send", message="two", client_id="c2")
    refusal = await viewer.until(
        lambda t: 'id="composer-error"' in t and "still being written" in t
    )
    assert refusal
    await viewer.until_final()
    assert len(await messages_of(thread)) == 2


async def test_stop_keeps_the_partial_text(connect, thread, alice):
    viewer = await connect(alice, thread)
    await viewer.send(
        action="send",
        message="[[pace:ttft=0,tps=30]] [[tokens:200]] go",
        client_id="c1",
    )
    await viewer.until(lambda t: t.startswith("{") and json.loads(t).get("tail"))
    reply = (await messages_of(thread))[1]
    await viewer.send(action="stop", reply=str(reply.pk))
    final = await viewer.until_final()
    await database_sync_to_async(reply.refresh_from_db)()
    assert reply.status == "stopped"
    assert 0 < len(reply.text.split()) < 200
    assert 'data-status="stopped"' in final


async def test_closing_the_socket_does_not_stop_the_reply(connect, thread, alice):
    viewer = await connect(alice, thread)
    await viewer.send(
        action="send",
        message="[[pace:ttft=0,tps=200]] [[tokens:40]] go",
        client_id="c1",
    )
    await viewer.until(lambda t: t.startswith("{"))
    await viewer.ws.disconnect()
    reply = (await messages_of(thread))[1]
    live = live_reply(reply.pk)
    assert live is not None
    await live.task
    await database_sync_to_async(reply.refresh_from_db)()
    assert reply.status == "completed"
    assert len(reply.text.split()) == 40


async def test_a_reconnecting_viewer_gets_the_reply_so_far_then_live(
    connect, thread, alice
):
    first = await connect(alice, thread)
    await first.send(
        action="send",
        message="[[pace:ttft=0,tps=40]] [[tokens:200]] go",
        client_id="c1",
    )
    await first.until(lambda t: t.startswith("{") and json.loads(t).get("seq", 0) >= 3)
    reply = (await messages_of(thread))[1]
    second = await connect(alice, thread)
    await second.send(action="sync", after=str(reply.pk))
    snap_text = await second.until(lambda t: frame_kind(t) == "snap")
    snap = json.loads(snap_text)
    assert snap["id"] == reply.pk
    assert snap["stable"] + snap["tail"]
    await second.until_final()
    # Frames may arrive between joining the group and the sync (the page
    # ignores those); the ones after the snapshot must continue it.
    after_snap = second.received[second.received.index(snap_text) + 1 :]
    later = [
        f
        for f in (json.loads(t) for t in after_snap if t.startswith("{"))
        if f["t"] == "frame"
    ]
    # Frames after the snapshot continue it: none is older, none is skipped.
    assert all(f["seq"] > snap["seq"] for f in later)
    assert [f["seq"] for f in later] == sorted({f["seq"] for f in later})


async def test_deltas_are_coalesced_into_frames(connect, thread, alice, settings):
    settings.CHAT_FRAME_INTERVAL_MS = 100
    viewer = await connect(alice, thread)
    await viewer.send(
        action="send",
        message="[[pace:ttft=0,tps=400]] [[tokens:200]] go",
        client_id="c1",
    )
    await viewer.until_final()
    frames = viewer.frames()
    # 200 tokens at 400/s take ~0.5 s: about 5-7 frames, never one per token.
    assert 2 <= len(frames) <= 20


async def test_a_slow_stream_is_not_delayed_by_coalescing(
    connect, thread, alice, settings
):
    settings.CHAT_FRAME_INTERVAL_MS = 100
    viewer = await connect(alice, thread)
    await viewer.send(
        action="send", message="[[pace:ttft=0,tps=4]] [[tokens:4]] go", client_id="c1"
    )
    await viewer.until_final()
    # Each token arrives after a quiet period longer than the interval, so
    # each goes out at once, in its own frame (leading edge).
    assert len(viewer.frames()) >= 4


async def test_partial_text_is_saved_about_once_a_second(
    connect, thread, alice, settings, monkeypatch
):
    settings.CHAT_SAVE_INTERVAL_MS = 1000
    saves = []
    original = services.replies_save_progress

    def counting(*, progress):
        saves.extend(p.text for p in progress)
        return original(progress=progress)

    monkeypatch.setattr(services, "replies_save_progress", counting)
    viewer = await connect(alice, thread)
    started = time.monotonic()
    await viewer.send(
        action="send",
        message="[[pace:ttft=0,tps=100]] [[tokens:150]] go",
        client_id="c1",
    )
    await viewer.until_final()
    streamed = time.monotonic() - started
    # ~1.5 s of streaming, 150 deltas: a save per second of it, not 150.
    assert 1 <= len(saves) <= int(streamed)


@pytest.mark.parametrize(
    ("fault", "status", "words"),
    [
        ("429", "failed", "Rate limited"),
        ("401", "failed", "API key"),
        ("moderation", "failed", "moderation"),
        ("drop", "interrupted", "connection"),
        ("stop", "interrupted", "ended before"),
        ("incomplete", "failed", "cut short"),
    ],
)
async def test_each_failure_is_explained_and_keeps_partial_text(
    connect, thread, alice, upstream, fault, status, words
):
    upstream.faults.push(fault, after=5)
    viewer = await connect(alice, thread)
    await viewer.send(action="send", message="Tell me about rivers", client_id="c1")
    final = await viewer.until_final()
    reply = (await messages_of(thread))[1]
    assert reply.status == status
    assert words in final
    if fault in ("drop", "stop", "incomplete"):
        assert reply.text  # the words that arrived before the cut are kept


async def test_hostile_frames_get_an_error_not_a_crash(connect, thread, alice):
    viewer = await connect(alice, thread)
    await viewer.ws.send_to(text_data="{not json")
    assert "could not be read" in await viewer.receive()
    await viewer.send(action="explode")
    assert "not known" in await viewer.receive()
    await viewer.send(action="send", message=["a", "list"])
    assert "could not be read" in await viewer.receive()
    await viewer.ws.send_to(text_data="x" * (300 * 1024))
    assert "too large" in await viewer.receive()
    await viewer.send(action="stop", reply="999999")
    assert "not in this thread" in await viewer.receive()
    assert await messages_of(thread) == []


async def test_regenerate_adds_a_sibling_reply(connect, thread, alice):
    viewer = await connect(alice, thread)
    await viewer.send(action="send", message="Tell me a fact", client_id="c1")
    await viewer.until_final()
    user_message, first = await messages_of(thread)
    await viewer.send(action="regenerate", reply=str(first.pk))
    await viewer.until_final()
    messages = await messages_of(thread)
    assert len(messages) == 3
    assert messages[2].parent_id == user_message.pk
    assert messages[2].status == "completed"


async def test_another_users_reply_id_cannot_be_stopped(connect, thread, alice, bob):
    bobs = await database_sync_to_async(services.thread_create)(owner=bob)
    sent = await database_sync_to_async(services.message_send)(
        thread=bobs, author=bob, text="mine"
    )
    viewer = await connect(alice, thread)
    await viewer.send(action="stop", reply=str(sent.reply.pk))
    assert "not in this thread" in await viewer.receive()
    await asyncio.sleep(0)
    assert (
        await database_sync_to_async(Message.objects.get)(pk=sent.reply.pk)
    ).status == "streaming"

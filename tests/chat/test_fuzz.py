"""Hypothesis drives the thread websocket with generated frames.

Whatever arrives, the consumer must not crash, must not show a traceback, must
leave every reply in a terminal state, and must change no row that the user
may not change (another user's thread and messages stay exactly as they were).
"""

import json
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from chatsite.asgi import application
from conversations import services
from conversations.live import running
from conversations.models import Message, Thread
from tests.chat.conftest import session_cookie

pytestmark = [pytest.mark.django_db(transaction=True)]

ACTIONS = ["send", "stop", "regenerate", "edit", "switch", "sync", "continue"]
# Names the test resolves to real ids: the user's own and another user's.
REFS = ["own_user", "own_reply", "bob_user", "bob_reply"]

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)
refs = st.sampled_from(REFS) | values
structured = st.fixed_dictionaries(
    {"action": st.sampled_from(ACTIONS) | values},
    optional={
        "message": st.text(max_size=120) | values,
        "client_id": st.text(max_size=80) | values,
        "reply": refs,
        "target": refs,
        "to": refs,
        "after": refs,
    },
)
frames = st.one_of(
    structured,
    st.text(max_size=120),  # mostly not JSON at all
    values.map(json.dumps),  # JSON, but not an object or the wrong shape
)


def snapshot_of_others(alice) -> list[tuple[Any, ...]]:
    threads = list(
        Thread.objects.exclude(owner=alice)
        .order_by("pk")
        .values_list(
            "pk", "title", "active_leaf_id", "archived", "model", "conversation_id"
        )
    )
    messages = list(
        Message.objects.exclude(thread__owner=alice)
        .order_by("pk")
        .values_list("pk", "thread_id", "parent_id", "status", "text", "html")
    )
    return threads + messages


@pytest.fixture
def world(alice, bob, upstream, settings):
    settings.CHAT_RATE_LIMIT_BURST = 10_000
    own = services.thread_create(owner=alice)
    sent = services.message_send(thread=own, author=alice, text="hi", client_id="a")
    services.reply_finish(
        reply_id=sent.reply.pk,
        text="Hello, cut",
        status=Message.Status.INTERRUPTED,
        first_token_at=None,
        context_mode="",
        responses=[],
    )
    bobs = services.thread_create(owner=bob)
    bob_sent = services.message_send(thread=bobs, author=bob, text="b", client_id="b")
    services.reply_finish(
        reply_id=bob_sent.reply.pk,
        text="Bob's answer",
        status=Message.Status.INTERRUPTED,
        first_token_at=None,
        context_mode="",
        responses=[],
    )
    return {
        "thread": own,
        "cookie": session_cookie(alice),
        "ids": {
            "own_user": sent.user_message.pk,
            "own_reply": sent.reply.pk,
            "bob_user": bob_sent.user_message.pk,
            "bob_reply": bob_sent.reply.pk,
        },
    }


def resolve(frame: Any, ids: dict[str, int]) -> str:
    if not isinstance(frame, dict):
        return frame if isinstance(frame, str) else json.dumps(frame)
    resolved = {
        key: (
            ids[value]
            if isinstance(value, str) and value in ids and key != "action"
            else value
        )
        for key, value in frame.items()
    }
    return json.dumps(resolved)


async def drive(world: dict[str, Any], texts: list[str]) -> list[str]:
    communicator = WebsocketCommunicator(
        application,
        f"/ws/threads/{world['thread'].pk}/",
        headers=[
            (b"cookie", world["cookie"]),
            (b"origin", b"http://localhost"),
            (b"host", b"localhost"),
        ],
    )
    connected, _ = await communicator.connect()
    assert connected
    received: list[str] = []
    try:
        for text in texts:
            # Raw input: the helper refuses an empty frame, a browser does not.
            await communicator.send_input({"type": "websocket.receive", "text": text})
        # Frames are handled in order: once this refusal is back, every
        # generated frame before it has been handled.
        await communicator.send_to(
            text_data=json.dumps({"action": "send", "message": " ", "client_id": "z"})
        )
        while True:
            # Raises here if the consumer crashed on any frame.
            answer = await communicator.receive_from(timeout=20)
            received.append(answer)
            if "Type a message before sending." in answer:
                break
        for live in list(running.values()):
            if live.task is not None:
                await live.task
    finally:
        await communicator.disconnect()
    return received


@hsettings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(generated=st.lists(frames, min_size=1, max_size=6))
def test_generated_frames_never_crash_leak_or_touch_others_rows(
    world, alice, generated
):
    before = snapshot_of_others(alice)
    texts = [resolve(frame, world["ids"]) for frame in generated]

    received = async_to_sync(drive)(world, texts)

    for answer in received:
        assert "Traceback" not in answer and 'File "' not in answer, answer
    assert snapshot_of_others(alice) == before
    # Every reply the fuzzing started has reached a terminal state.
    stuck = Message.objects.filter(thread__owner=alice, status=Message.Status.STREAMING)
    assert not stuck.exists()
    # Nothing of Alice's points into someone else's thread.
    foreign_parent = (
        Message.objects.filter(thread__owner=alice)
        .exclude(parent__isnull=True)
        .exclude(parent__thread__owner=alice)
    )
    assert not foreign_parent.exists()
    world["thread"].refresh_from_db()
    leaf = world["thread"].active_leaf
    assert leaf is None or leaf.thread_id == world["thread"].pk

"""Regenerate, edit and switch over the websocket: the tree and the path shown."""

import re

import pytest
from channels.db import database_sync_to_async

from conversations import services
from conversations.models import Message, Thread
from conversations.selectors import thread_path

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("upstream", "idle_generations"),
]


@database_sync_to_async
def active_path(thread: Thread) -> list[str]:
    thread.refresh_from_db()
    return [m.text for m in thread_path(thread)]


@database_sync_to_async
def user_message(thread: Thread, text: str) -> Message:
    return thread.messages.get(role="user", text=text)


def positions(html: str) -> list[str]:
    return re.findall(r'data-testid="branch-position">(\d+/\d+)<', html)


async def two_turns(viewer) -> None:
    for n, text in enumerate(["My name is John.", "My favourite colour is blue."]):
        await viewer.send(action="send", message=text, client_id=f"c{n}")
        await viewer.until_final()


async def test_editing_a_message_shows_the_new_branch_as_two_of_two(
    connect, thread, alice
):
    viewer = await connect(alice, thread)
    await two_turns(viewer)
    blue = await user_message(thread, "My favourite colour is blue.")
    await viewer.send(
        action="edit",
        target=str(blue.pk),
        message="My favourite colour is green.",
        client_id="e1",
    )
    path_html = await viewer.until(lambda t: 'hx-swap-oob="innerHTML"' in t)
    assert "green" in path_html and "blue" not in path_html
    assert positions(path_html) == ["2/2"]
    final = await viewer.until_final()
    assert positions(final) == []  # the new reply has no siblings of its own
    path = await active_path(thread)
    assert path[0] == "My name is John."
    assert path[2] == "My favourite colour is green."
    assert len(path) == 4


async def test_switching_shows_the_other_alternative_to_every_viewer(
    connect, thread, alice
):
    viewer = await connect(alice, thread)
    other_tab = await connect(alice, thread)
    await two_turns(viewer)
    blue = await user_message(thread, "My favourite colour is blue.")
    await viewer.send(
        action="edit", target=str(blue.pk), message="Actually, green.", client_id="e1"
    )
    await viewer.until_final()
    await viewer.send(action="switch", to=str(blue.pk))
    switched = await other_tab.until(
        lambda t: 'hx-swap-oob="innerHTML"' in t and "blue" in t
    )
    assert "Actually, green." not in switched
    assert positions(switched) == ["1/2"]
    path = await active_path(thread)
    assert path[2] == "My favourite colour is blue."
    assert len(path) == 4


async def test_regenerated_replies_are_numbered_alternatives(connect, thread, alice):
    viewer = await connect(alice, thread)
    await viewer.send(action="send", message="Tell me a fact", client_id="c1")
    await viewer.until_final()
    first = (await database_sync_to_async(list)(thread.messages.order_by("id")))[1]
    await viewer.send(action="regenerate", reply=str(first.pk))
    final = await viewer.until_final()
    assert positions(final) == ["2/2"]
    await viewer.send(action="switch", to=str(first.pk))
    switched = await viewer.until(lambda t: 'hx-swap-oob="innerHTML"' in t)
    assert positions(switched) == ["1/2"]
    assert f'id="msg-{first.pk}"' in switched


async def test_an_unchanged_edit_is_refused_and_adds_nothing(connect, thread, alice):
    viewer = await connect(alice, thread)
    await two_turns(viewer)
    blue = await user_message(thread, "My favourite colour is blue.")
    await viewer.send(
        action="edit", target=str(blue.pk), message=blue.text, client_id="e1"
    )
    refusal = await viewer.until(lambda t: 'id="composer-error"' in t)
    assert services.UNCHANGED_EDIT.split(":")[0] in refusal
    assert await database_sync_to_async(thread.messages.count)() == 4


async def test_a_reply_cannot_be_edited(connect, thread, alice):
    viewer = await connect(alice, thread)
    await two_turns(viewer)
    reply = await database_sync_to_async(
        thread.messages.filter(role="assistant").first
    )()
    await viewer.send(action="edit", target=str(reply.pk), message="Rewritten")
    refusal = await viewer.until(lambda t: 'id="composer-error"' in t)
    assert "a reply can be regenerated" in refusal
    assert await database_sync_to_async(thread.messages.count)() == 4


async def test_a_replayed_edit_creates_one_branch(connect, thread, alice):
    viewer = await connect(alice, thread)
    await two_turns(viewer)
    blue = await user_message(thread, "My favourite colour is blue.")
    before = len(viewer.received)
    for _ in range(2):
        await viewer.send(
            action="edit", target=str(blue.pk), message="Green.", client_id="e1"
        )
        await viewer.until(lambda t: 'hx-swap-oob="innerHTML"' in t)
    # The edit's reply may have ended before the replay's resync came back.
    if not any(
        'hx-swap-oob="outerHTML"' in t and 'data-status="completed"' in t
        for t in viewer.received[before:]
    ):
        await viewer.until_final()
    assert await database_sync_to_async(thread.messages.count)() == 6


async def test_switching_while_a_reply_is_written_is_refused(connect, thread, alice):
    viewer = await connect(alice, thread)
    await viewer.send(action="send", message="One", client_id="c1")
    await viewer.until_final()
    first = await database_sync_to_async(
        thread.messages.filter(role="assistant").first
    )()
    await viewer.send(
        action="send", message="[[pace:ttft=0,tps=30]] Two", client_id="c2"
    )
    await viewer.until(lambda t: t.startswith("{"))
    await viewer.send(action="switch", to=str(first.pk))
    refusal = await viewer.until(lambda t: 'id="composer-error"' in t and "switch" in t)
    assert "Wait for the reply" in refusal
    streaming = await database_sync_to_async(thread.messages.get)(status="streaming")
    await viewer.send(action="stop", reply=str(streaming.pk))
    await viewer.until_final()
    assert (await active_path(thread))[-2] == "[[pace:ttft=0,tps=30]] Two"


@pytest.mark.parametrize("action", ["edit", "switch"])
async def test_a_message_of_another_thread_is_not_found(
    connect, thread, alice, bob, action
):
    bobs = await database_sync_to_async(services.thread_create)(owner=bob)
    sent = await database_sync_to_async(services.message_send)(
        thread=bobs, author=bob, text="bob's secret"
    )
    await database_sync_to_async(Message.objects.filter(pk=sent.reply.pk).update)(
        status="completed"
    )
    viewer = await connect(alice, thread)
    await viewer.send(
        action=action,
        target=str(sent.user_message.pk),
        to=str(sent.user_message.pk),
        message="mine now",
        client_id="x",
    )
    refusal = await viewer.receive()
    assert "not in this thread" in refusal
    assert "secret" not in refusal
    assert await database_sync_to_async(bobs.messages.count)() == 2

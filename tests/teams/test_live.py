"""A shared thread over real websockets: who may do what, watching together,
presence, one reply at a time, and sockets closed when access is lost."""

import json
import re
from types import SimpleNamespace

import pytest
from channels.db import database_sync_to_async
from django.test import Client
from django.urls import reverse

from conversations import consumers, services, teams
from conversations.presence import CLOSE_ACCESS_LOST
from tests import turns
from tests.chat.conftest import frame_kind
from tests.teams.conftest import membership

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("upstream", "idle_generations"),
]

SLOW = "[[pace:ttft=0,tps=40]] [[tokens:120]]"


@database_sync_to_async
def roles_of(thread) -> list[tuple[str, str]]:
    return [
        (m.role, m.author.username if m.author else "")
        for m in thread.messages.select_related("author").order_by("created_at", "id")
    ]


finished_turn = database_sync_to_async(turns.finished_turn)


async def closed_code(viewer) -> int:
    """Read until the server closes the socket; returns the close code."""
    while True:
        output = await viewer.ws.receive_output(timeout=10)
        if output["type"] == "websocket.close":
            # As a browser would: acknowledge, so the consumer ends cleanly and
            # leaves no receive pending on the channel layer.
            await viewer.ws.disconnect()
            return output.get("code")
        viewer.received.append(output.get("text", ""))


def is_frame(text: str) -> bool:
    return frame_kind(text) == "frame"


async def test_who_may_open_the_socket(connect, shared_thread, alice, bob, carol, dave):
    for user, allowed in ((alice, True), (bob, True), (carol, True), (dave, False)):
        viewer = await connect(user, shared_thread)
        assert viewer.connected is allowed, user.username


@pytest.mark.parametrize("action", ["send", "regenerate", "edit", "switch", "stop"])
async def test_a_viewer_can_do_nothing_but_watch(
    connect, shared_thread, bob, carol, action
):
    sent = await finished_turn(shared_thread, bob)
    before = await roles_of(shared_thread)
    viewer = await connect(carol, shared_thread)
    await viewer.send(
        action=action,
        message="let me in",
        client_id="c1",
        reply=str(sent.reply.pk),
        target=str(sent.user_message.pk),
        to=str(sent.user_message.pk),
    )
    refusal = await viewer.receive()
    assert 'data-testid="composer-error"' in refusal
    assert str(consumers.NOT_ALLOWED) in refusal
    assert await roles_of(shared_thread) == before


async def test_an_outsiders_actions_never_reach_the_thread(
    connect, shared_thread, bob, dave
):
    await finished_turn(shared_thread, bob)
    viewer = await connect(dave, shared_thread)
    assert viewer.connected is False
    assert len(await roles_of(shared_thread)) == 2


async def test_everyone_watching_sees_a_teammates_message_and_the_reply_stream(
    connect, shared_thread, alice, bob, carol
):
    owner = await connect(alice, shared_thread)
    viewer = await connect(carol, shared_thread)
    teammate = await connect(bob, shared_thread)
    await teammate.send(
        action="send", message=f"Tell me about rivers {SLOW}", client_id="b1"
    )
    for watcher in (owner, viewer):
        first = await watcher.until(lambda t: 'data-role="user"' in t)
        assert 'data-testid="message-author">bob<' in first
        assert "Tell me about rivers" in first
        await watcher.until(is_frame)
        final = await watcher.until_final()
        assert 'data-status="completed"' in final
        # The reply grew frame by frame, in order, before it ended.
        seqs = [json.loads(t)["seq"] for t in watcher.received if is_frame(t)]
        assert len(seqs) >= 2
        assert seqs == sorted(seqs)
    assert await roles_of(shared_thread) == [("user", "bob"), ("assistant", "")]


async def test_a_teammate_regenerates_edits_switches_and_stops(
    connect, shared_thread, alice, bob
):
    sent = await finished_turn(shared_thread, alice)
    teammate = await connect(bob, shared_thread)
    await teammate.send(action="regenerate", reply=str(sent.reply.pk))
    await teammate.until_final()
    await teammate.send(
        action="edit",
        target=str(sent.user_message.pk),
        message=f"Hello again {SLOW}",
        client_id="b2",
    )
    await teammate.until(is_frame)
    streaming = (await roles_of(shared_thread))[-1]
    assert streaming == ("assistant", "")
    reply = await database_sync_to_async(
        lambda: shared_thread.messages.get(status="streaming")
    )()
    await teammate.send(action="stop", reply=str(reply.pk))
    final = await teammate.until_final()
    assert 'data-status="stopped"' in final
    await teammate.send(action="switch", to=str(sent.user_message.pk))
    switched = await teammate.until(lambda t: 'hx-swap-oob="innerHTML"' in t)
    assert "Hello there" in switched
    assert [r for r, _ in await roles_of(shared_thread)] == [
        "user",
        "assistant",
        "assistant",
        "user",
        "assistant",
    ]


async def test_a_second_send_while_a_reply_streams_is_refused(
    connect, shared_thread, alice, bob
):
    owner = await connect(alice, shared_thread)
    teammate = await connect(bob, shared_thread)
    await owner.send(action="send", message=f"First {SLOW}", client_id="a1")
    await teammate.until(is_frame)
    await teammate.send(action="send", message="Me too", client_id="b1")
    refusal = await teammate.until(lambda t: 'data-testid="composer-error"' in t)
    assert str(services.REPLY_IN_PROGRESS) in refusal
    await owner.until_final()
    assert await roles_of(shared_thread) == [("user", "alice"), ("assistant", "")]


async def test_a_teammate_joining_mid_stream_gets_the_reply_so_far_then_live(
    connect, shared_thread, alice, bob
):
    owner = await connect(alice, shared_thread)
    await owner.send(action="send", message=f"Go {SLOW}", client_id="a1")
    await owner.until(lambda t: is_frame(t) and json.loads(t)["seq"] >= 3)
    teammate = await connect(bob, shared_thread)
    await teammate.send(action="sync", after="")
    snap_text = await teammate.until(lambda t: frame_kind(t) == "snap")
    snap = json.loads(snap_text)
    assert snap["stable"] + snap["tail"]
    await teammate.until_final()
    after = teammate.received[teammate.received.index(snap_text) + 1 :]
    assert any(is_frame(t) and json.loads(t)["seq"] > snap["seq"] for t in after)


async def presence_until(viewer, predicate) -> str:
    """Read until the latest "who is viewing" update satisfies `predicate`."""
    while not (viewer.presence and predicate(viewer.presence[-1])):
        text = await viewer.ws.receive_from(timeout=10)
        if text.startswith('<div id="presence"'):
            viewer.presence.append(text)
        else:
            viewer.received.append(text)
    return viewer.presence[-1]


def names(presence: str) -> list[str]:
    return re.findall(r'data-testid="presence-user">([^<]*)<', presence)


async def test_presence_shows_who_is_viewing_now(connect, shared_thread, alice, carol):
    owner = await connect(alice, shared_thread)
    await presence_until(owner, lambda p: names(p) == ["alice"])
    viewer = await connect(carol, shared_thread)
    # Carol's first name is her display name.
    await presence_until(owner, lambda p: names(p) == ["alice", "Carol"])
    await presence_until(viewer, lambda p: names(p) == ["alice", "Carol"])
    # A second tab of the same person does not list them twice.
    second_tab = await connect(alice, shared_thread)
    await presence_until(second_tab, lambda p: names(p) == ["alice", "Carol"])
    await viewer.ws.disconnect()
    await presence_until(owner, lambda p: names(p) == ["alice"])


async def test_losing_membership_closes_the_live_socket(
    connect, shared_thread, team, alice, bob
):
    owner = await connect(alice, shared_thread)
    teammate = await connect(bob, shared_thread)
    await database_sync_to_async(
        lambda: teams.member_remove(
            team=team, actor=membership(team, alice), target=membership(team, bob)
        )
    )()
    assert await closed_code(teammate) == CLOSE_ACCESS_LOST
    assert any("You no longer have access" in t for t in teammate.received)
    # The owner keeps watching: a send still reaches them.
    await owner.send(action="send", message="Still here?", client_id="a1")
    await owner.until_final()
    again = await connect(bob, shared_thread)
    assert again.connected is False


async def test_making_a_thread_private_closes_teammates_sockets_only(
    connect, shared_thread, alice, bob, carol
):
    owner = await connect(alice, shared_thread)
    teammate = await connect(bob, shared_thread)
    viewer = await connect(carol, shared_thread)
    await database_sync_to_async(
        lambda: teams.thread_share(thread=shared_thread, owner=alice, team=None)
    )()
    assert await closed_code(teammate) == CLOSE_ACCESS_LOST
    assert await closed_code(viewer) == CLOSE_ACCESS_LOST
    await owner.send(action="send", message="Just me now", client_id="a1")
    await owner.until_final()


async def test_a_member_made_viewer_can_no_longer_post_on_an_open_socket(
    connect, shared_thread, team, alice, bob
):
    teammate = await connect(bob, shared_thread)
    await database_sync_to_async(
        lambda: teams.member_set_role(
            team=team,
            actor=membership(team, alice),
            target=membership(team, bob),
            role="viewer",
        )
    )()
    await teammate.send(action="send", message="Can I?", client_id="b1")
    refusal = await teammate.receive()
    assert str(consumers.NOT_ALLOWED) in refusal
    assert await roles_of(shared_thread) == []


async def test_deleting_a_shared_thread_closes_teammates_sockets(
    connect, shared_thread, bob
):
    teammate = await connect(bob, shared_thread)
    await database_sync_to_async(services.thread_delete)(thread=shared_thread)
    assert await closed_code(teammate) == CLOSE_ACCESS_LOST


async def test_a_reply_generated_in_another_process_is_snapshotted_over_there(
    connect, shared_thread, alice, bob, monkeypatch
):
    owner = await connect(alice, shared_thread)
    await owner.send(action="send", message=f"Go {SLOW}", client_id="a1")
    await owner.until(lambda t: is_frame(t) and json.loads(t)["seq"] >= 3)
    # The teammate's socket behaves as if in another process: the reply is
    # not live there, only in the owner's socket's process.
    monkeypatch.setattr(consumers, "live_reply", lambda reply_id: None)
    teammate = await connect(bob, shared_thread)
    await teammate.send(action="sync", after="")
    snap = json.loads(await teammate.until(lambda t: frame_kind(t) == "snap"))
    assert snap["stable"] + snap["tail"]
    await teammate.until_final()


async def test_stop_reaches_the_process_generating_the_reply(
    connect, shared_thread, alice, bob, monkeypatch
):
    owner = await connect(alice, shared_thread)
    teammate = await connect(bob, shared_thread)
    await owner.send(action="send", message=f"Go {SLOW}", client_id="a1")
    await teammate.until(is_frame)
    reply = await database_sync_to_async(
        lambda: shared_thread.messages.get(status="streaming")
    )()
    # The teammate's process is not generating it: a local stop finds nothing.
    real = consumers.generation
    monkeypatch.setattr(
        consumers,
        "generation",
        SimpleNamespace(
            reply_stop=lambda reply_id: False, reply_start=real.reply_start
        ),
    )
    await teammate.send(action="stop", reply=str(reply.pk))
    final = await owner.until_final()
    assert 'data-status="stopped"' in final


async def test_deleting_a_team_in_the_admin_closes_its_members_sockets(
    connect, shared_thread, team, alice, bob, django_user_model
):
    owner = await connect(alice, shared_thread)
    teammate = await connect(bob, shared_thread)

    def delete_in_admin() -> int:
        staff = django_user_model.objects.create_superuser("root", "r@x.org", None)
        client = Client()
        client.force_login(staff)
        url = reverse("admin:conversations_team_delete", args=[team.pk])
        return client.post(url, {"post": "yes"}).status_code

    assert await database_sync_to_async(delete_in_admin)() == 302
    assert await closed_code(teammate) == CLOSE_ACCESS_LOST
    # The owner's own thread is private now, and still theirs.
    await owner.send(action="send", message="Still mine", client_id="a1")
    await owner.until_final()

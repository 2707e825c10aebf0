"""Personas for teams and shared threads.

alice owns the thread and the team "Geography"; bob is a member (the
teammate), carol a viewer; dave is outside it all.
"""

import contextlib

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model

from chatsite.asgi import application
from conversations import services, teams
from conversations.models import Membership

# Re-exported so socket tests here can use the chat fixtures.
from tests.chat.conftest import Viewer, idle_generations, session_cookie  # noqa: F401


@pytest.fixture
async def connect():
    """Open thread sockets as the chat tests do, and close them all at the end.

    Closing matters with the Redis layer: a consumer left running keeps a
    receive pending that binds the layer to this test's event loop.
    """
    communicators: list[WebsocketCommunicator] = []

    async def open_socket(user, thread, *, origin: bytes = b"http://localhost"):
        cookie = await sync_to_async(session_cookie)(user)
        communicator = WebsocketCommunicator(
            application,
            f"/ws/threads/{thread.pk}/",
            headers=[(b"cookie", cookie), (b"origin", origin), (b"host", b"localhost")],
        )
        communicators.append(communicator)
        connected, _ = await communicator.connect(timeout=10)
        viewer = Viewer(communicator)
        viewer.connected = connected
        return viewer

    yield open_socket
    for communicator in communicators:
        with contextlib.suppress(Exception):
            await communicator.disconnect()


# No passwords: hashing one takes about a second, and these tests log in with
# force_login.
@pytest.fixture
def alice(db):
    return get_user_model().objects.create_user("alice")


@pytest.fixture
def bob(db):
    return get_user_model().objects.create_user("bob")


@pytest.fixture
def carol(db):
    return get_user_model().objects.create_user("carol", first_name="Carol")


@pytest.fixture
def dave(db):
    return get_user_model().objects.create_user("dave")


@pytest.fixture
def team(alice, bob, carol):
    team = teams.team_create(name="Geography", owner=alice)
    owner = team.memberships.get(user=alice)
    teams.member_add(team=team, actor=owner, username="bob", role="member")
    teams.member_add(team=team, actor=owner, username="carol", role="viewer")
    return team


@pytest.fixture
def shared_thread(alice, team):
    thread = services.thread_create(owner=alice)
    services.thread_rename(thread=thread, title="Rivers of Europe")
    return teams.thread_share(thread=thread, owner=alice, team=team)


def membership(team, user) -> Membership:
    return team.memberships.get(user=user)

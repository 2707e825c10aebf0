import contextlib
import json
from collections.abc import Callable

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from chatsite.asgi import application
from conversations import control, services
from conversations.hub import hub_close
from conversations.live import running

TERMINAL = ("completed", "stopped", "failed", "interrupted")
PRESENCE = '<div id="presence"'


def session_cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    name = settings.SESSION_COOKIE_NAME
    return f"{name}={client.cookies[name].value}".encode()


class Viewer:
    """A websocket client of a thread page, as the browser's htmx would be."""

    def __init__(self, communicator: WebsocketCommunicator) -> None:
        self.ws = communicator
        self.received: list[str] = []
        self.presence: list[str] = []

    async def send(self, **content) -> None:
        await self.ws.send_to(text_data=json.dumps(content))

    async def receive(self, wait: float = 10) -> str:
        while True:
            text = await self.ws.receive_from(timeout=wait)
            # "Who is viewing" updates come whenever a socket opens or closes;
            # they are kept aside so tests read the thread's own frames in order.
            if text.startswith(PRESENCE):
                self.presence.append(text)
                continue
            self.received.append(text)
            return text

    async def until(self, predicate: Callable[[str], bool], wait: float = 10) -> str:
        while True:
            text = await self.receive(wait)
            if predicate(text):
                return text

    async def until_final(self, wait: float = 10) -> str:
        return await self.until(
            lambda t: (
                'hx-swap-oob="outerHTML"' in t
                and any(f'data-status="{s}"' in t for s in TERMINAL)
            ),
            wait,
        )

    def frames(self) -> list[dict]:
        return [json.loads(t) for t in self.received if t.startswith("{")]


def frame_kind(text: str) -> str | None:
    """ "frame" or "snap" for a streamed frame or snapshot (JSON), else None
    (HTML swapped by htmx)."""
    return json.loads(text).get("t") if text.startswith("{") else None


def thread_socket(
    thread, cookie: bytes, *, origin: bytes = b"http://localhost"
) -> WebsocketCommunicator:
    """A thread page's socket, not yet connected, sending `cookie`."""
    return WebsocketCommunicator(
        application,
        f"/ws/threads/{thread.pk}/",
        headers=[(b"cookie", cookie), (b"origin", origin), (b"host", b"localhost")],
    )


@pytest.fixture
def connect():
    communicators = []

    async def open_socket(
        user, thread, *, origin: bytes = b"http://localhost"
    ) -> Viewer:
        cookie = await sync_to_async(session_cookie)(user)
        communicator = thread_socket(thread, cookie, origin=origin)
        communicators.append(communicator)
        connected, _ = await communicator.connect(timeout=10)
        viewer = Viewer(communicator)
        viewer.connected = connected
        return viewer

    yield open_socket


@pytest.fixture
async def idle_generations():
    """Wait for every generation a test started, so none outlives its database."""
    yield
    for live in list(running.values()):
        if live.task is not None:
            with contextlib.suppress(BaseException):
                await live.task
    # The control channel's listener (conversations/control.py) must not
    # outlive this test's event loop while it holds the layer's receive lock.
    await control.listener_stop()
    # Nor this loop's Redis connections of the broadcast hub.
    await hub_close()


@pytest.fixture
def thread(alice):
    return services.thread_create(owner=alice)

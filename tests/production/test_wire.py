"""Broadcast frames written straight to Daphne's connections (conversations/wire.py)."""

import json
import re
import struct
from collections.abc import Iterator
from functools import partial

import pytest
from autobahn.twisted.websocket import WebSocketServerProtocol

from conversations.wire import WireSocket, text_frame
from simulator import SimulatorServer
from tests.browser.liveserver import LiveServer, start_live_server
from tests.production.cluster import Client


@pytest.mark.parametrize(
    ("size", "header"),
    [
        (125, bytes((0x81, 125))),
        (126, struct.pack("!BBH", 0x81, 126, 126)),
        (65_535, struct.pack("!BBH", 0x81, 126, 65_535)),
        (65_536, struct.pack("!BBQ", 0x81, 127, 65_536)),
    ],
)
def test_a_frame_says_its_length_as_rfc_6455_does(size, header):
    frame = text_frame("x" * size)
    assert frame == header + b"x" * size


def test_a_frame_carries_text_as_utf8():
    assert text_frame("河流") == bytes((0x81, 6)) + "河流".encode()


class _Server:
    async def handle_reply(self, protocol, message):  # Daphne's name for it
        pass


def test_only_daphne_s_own_send_is_written_to_directly():
    protocol = WebSocketServerProtocol()
    assert isinstance(
        WireSocket.of(partial(_Server().handle_reply, protocol)), WireSocket
    )

    async def wrapped(message):  # middleware wrapping send hides the connection
        pass

    assert WireSocket.of(wrapped) is None
    assert WireSocket.of(partial(_Server().handle_reply, object())) is None


def test_a_socket_not_open_takes_the_ordinary_path():
    protocol = WebSocketServerProtocol()
    protocol.state = WebSocketServerProtocol.STATE_CONNECTING
    assert WireSocket(protocol).write(text_frame("early")) is False


@pytest.fixture(scope="module")
def app_server(upstream_server: SimulatorServer) -> Iterator[LiveServer]:
    server = start_live_server(upstream_url=upstream_server.base_url)
    yield server
    server.stop()


def _thread_of_alice(server: LiveServer) -> str:
    out = server.manage(
        "shell",
        "-c",
        "from django.contrib.auth import get_user_model; "
        "from conversations import services; "
        "u = get_user_model().objects.get(username='alice'); "
        "print(services.thread_create(owner=u).pk)",
    )
    return out.strip().splitlines()[-1]


async def test_frames_of_every_size_reach_a_real_client_whole_and_in_order(
    app_server,
):
    """Small frames, frames of a long paragraph, and a final reply of over
    64 KiB, through Daphne as deployed: a client's strict parser reads each."""
    words = 12_000
    client = await Client(app_server.url).login("alice")
    try:
        socket = await client.socket(_thread_of_alice(app_server))
        await socket.send(
            action="send",
            message=f"[[pace:ttft=0,tps=3000]] [[prose:{words}]] river",
            client_id="wire-1",
        )
        final = await socket.until_final(wait=60)
    finally:
        await client.close()

    frames = [json.loads(t) for t in socket.received if t.startswith("{")]
    seqs = [f["seq"] for f in frames if f["t"] == "frame"]
    assert len(seqs) > 10
    assert seqs == sorted(set(seqs))
    assert 'data-status="completed"' in final
    sizes = [len(t.encode()) for t in socket.received]
    assert min(sizes) < 126
    assert any(126 <= size < 65_536 for size in sizes)
    assert len(final.encode()) >= 65_536
    body = final.split('data-testid="message-body">', 1)[1].split("</div>", 1)[0]
    assert len(re.sub(r"<[^>]+>", " ", body).split()) == words

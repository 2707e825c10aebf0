"""Broadcast frames written straight to a websocket's connection under Daphne.

A frame sent the ordinary way passes Channels' send, Daphne's reply handler
and autobahn's framing, then Twisted's write, which only buffers it, registers
the socket with the event loop and writes it on the loop's next turn (an epoll
change to add the writer and another to drop it). A broadcast goes to every
viewer of a thread, tens of times a second for each reply being written, so a
process carrying hundreds of replies spent a third of its time there
(bench/concurrency.py, README "Benchmarks"). Here a broadcast is framed once
and written by each viewer's socket with one `send`, falling back to Twisted's
buffered write only when the socket is busy.

Anything but a plain TCP websocket of Daphne's in the open state (another ASGI
server, the test communicator, TLS served by Daphne itself, compression, a
socket accepting or closing) takes the ordinary path: `WireSocket.of`
returns None, or `write` returns False and the caller sends as usual.
"""

import functools
import struct
from functools import partial
from typing import Any

from autobahn.websocket.protocol import WebSocketProtocol

TEXT_FIN = 0x81  # a final frame (FIN) carrying text (opcode 1)


# Every viewer of a broadcast is handed the same text: it is framed once.
@functools.lru_cache(maxsize=1)
def text_frame(text: str) -> bytes:
    """One unmasked websocket frame holding `text` (servers do not mask)."""
    payload = text.encode()
    size = len(payload)
    if size < 126:
        header = bytes((TEXT_FIN, size))
    elif size < 1 << 16:
        header = struct.pack("!BBH", TEXT_FIN, 126, size)
    else:
        header = struct.pack("!BBQ", TEXT_FIN, 127, size)
    return header + payload


class WireSocket:
    """A Daphne websocket's connection, written to directly."""

    __slots__ = ("protocol",)

    def __init__(self, protocol: WebSocketProtocol) -> None:
        self.protocol = protocol

    @classmethod
    def of(cls, send: Any) -> "WireSocket | None":
        """The connection behind an ASGI `send`, if it is Daphne's own.

        Daphne hands each application `partial(server.handle_reply, protocol)`;
        middleware that wraps `send` hides it, and the caller keeps the
        ordinary path.
        """
        if not isinstance(send, partial) or len(send.args) != 1:
            return None
        if getattr(send.func, "__name__", "") != "handle_reply":
            return None
        protocol = send.args[0]
        if not isinstance(protocol, WebSocketProtocol):
            return None
        return cls(protocol)

    def write(self, frame: bytes) -> bool:
        """Write a ready frame; False if it must take the ordinary path."""
        protocol = self.protocol
        if (
            protocol.state != WebSocketProtocol.STATE_OPEN
            or protocol._perMessageCompress is not None
            or protocol.send_queue  # autobahn's own, which must stay in order
        ):
            return False
        transport = protocol.transport
        if transport is None or getattr(transport, "TLS", True):
            return False
        if (
            transport.connected
            and not transport.disconnecting
            and not transport.dataBuffer
            and not transport._tempDataBuffer
        ):
            # Nothing queued before it: write now, as asyncio's transports do.
            try:
                sent = transport.socket.send(frame)
            except OSError:  # full (BlockingIOError), or broken: Twisted's
                sent = 0  # write below waits, or meets the error and closes
            if sent == len(frame):
                return True
            frame = frame[sent:]
        transport.write(frame)
        return True

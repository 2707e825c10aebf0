"""Server-sent events to JSON payloads, without an SDK model per event.

The SDK builds a pydantic object for every streamed event; at 40 events a
second per reply that was a third of a busy process's time (bench/
concurrency.py). The request, its retries and its errors stay the SDK's; only
the body is read here, as the SSE specification says: lines end in LF, CRLF
or CR, `data:` lines of one event are joined by LF, a blank line ends an event,
and an event cut off by the end of the stream is dropped.

A busy process reads twelve thousand events a second, so this is plain
functions over each chunk, not a generator per stage, and a chunk without a
CR (every upstream's, in practice) is split on LF rather than matched line
by line (bench/concurrency.py, README "Benchmarks").
"""

import re
from typing import Any

import orjson

_LINE_END = re.compile(rb"\r\n|\r|\n")


class EventDecoder:
    """Chunks of a body in, the raw data of each complete event out."""

    def __init__(self) -> None:
        self.pending = b""
        self.data: list[bytes] = []

    def feed(self, chunk: bytes, *, final: bool = False) -> list[bytes]:
        pending = self.pending + chunk if self.pending else chunk
        if b"\r" in pending:
            return self._feed_any(pending, final)
        lines = pending.split(b"\n")
        # What follows the last LF is a line not yet ended.
        self.pending = lines.pop()
        return self._events(lines)

    def _feed_any(self, pending: bytes, final: bool) -> list[bytes]:
        # A CR at the end may be the first half of a CRLF: keep it for later.
        end = len(pending) - 1 if pending.endswith(b"\r") and not final else None
        lines: list[bytes] = []
        start = 0
        for match in _LINE_END.finditer(
            pending, 0, len(pending) if end is None else end
        ):
            lines.append(pending[start : match.start()])
            start = match.end()
        self.pending = pending[start:]
        return self._events(lines)

    def _events(self, lines: list[bytes]) -> list[bytes]:
        events: list[bytes] = []
        data = self.data
        for line in lines:
            if not line:
                if data:
                    events.append(b"\n".join(data))
                    data = self.data = []
            elif line.startswith(b"data:"):
                data.append(line[6:] if line[5:6] == b" " else line[5:])
            # `event:`, `id:`, `retry:` and comments carry nothing used here:
            # every payload names its own type.
        return events


class PayloadReader:
    """Each complete event's data, parsed as JSON; an OpenAI-style `[DONE]`
    ends the stream (`done`), and nothing after it is read."""

    def __init__(self) -> None:
        self.events = EventDecoder()
        self.done = False

    def feed(self, chunk: bytes, *, final: bool = False) -> list[Any]:
        payloads: list[Any] = []
        if self.done:
            return payloads
        for data in self.events.feed(chunk, final=final):
            if data.startswith(b"[DONE]"):
                self.done = True
                break
            payloads.append(orjson.loads(data))
        return payloads

"""Server-sent events to JSON payloads, without an SDK model per event.

The SDK builds a pydantic object for every streamed event; at 40 events a
second per reply that was a third of a busy process's time (bench/
concurrency.py). The request, its retries and its errors stay the SDK's; only
the body is read here, as the SSE specification says: lines end in LF, CRLF
or CR, `data:` lines of one event are joined by LF, a blank line ends an event,
and an event cut off by the end of the stream is dropped.
"""

import json
import re
from collections.abc import AsyncIterator
from typing import Any

_LINE_END = re.compile(rb"\r\n|\r|\n")


async def sse_payloads(chunks: AsyncIterator[bytes]) -> AsyncIterator[Any]:
    """Each event's data, parsed as JSON; an OpenAI-style `[DONE]` ends it."""
    async for data in sse_data(chunks):
        if data.startswith(b"[DONE]"):
            return
        yield json.loads(data)


async def sse_data(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """The raw data of each complete event, in order."""
    decoder = _Decoder()
    async for chunk in chunks:
        for data in decoder.feed(chunk):
            yield data
    for data in decoder.feed(b"", final=True):
        yield data


class _Decoder:
    def __init__(self) -> None:
        self.pending = b""
        self.data: list[bytes] = []

    def feed(self, chunk: bytes, *, final: bool = False) -> list[bytes]:
        pending = self.pending + chunk
        # A CR at the end may be the first half of a CRLF: keep it for later.
        cut = len(pending) - 1 if pending.endswith(b"\r") and not final else None
        events: list[bytes] = []
        start = 0
        for match in _LINE_END.finditer(
            pending, 0, len(pending) if cut is None else cut
        ):
            line = pending[start : match.start()]
            start = match.end()
            if not line:
                if self.data:
                    events.append(b"\n".join(self.data))
                    self.data = []
            elif line.startswith(b"data:"):
                value = line[5:]
                self.data.append(value[1:] if value.startswith(b" ") else value)
            # `event:`, `id:`, `retry:` and comments carry nothing used here:
            # every payload names its own type.
        self.pending = pending[start:]
        return events

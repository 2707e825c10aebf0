"""The gateway's own reading of server-sent events (the SDK's is bypassed)."""

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from conversations.gateway.sse import sse_data, sse_payloads

BODY = (
    b'event: response.created\ndata: {"type": "a"}\n\n'
    b'data: {"type":\ndata: "b"}\r\n\r\n'
    b": a comment\nid: 7\ndata: 3\r\r"
    b"data: cut off by the end of the stream\n"
)


async def collect(chunks: list[bytes]) -> list[bytes]:
    async def body():
        for chunk in chunks:
            yield chunk

    return [data async for data in sse_data(body())]


async def test_it_reads_events_as_the_specification_says():
    # LF, CRLF and CR line ends; data lines joined; fields other than data
    # ignored; an event the stream cut off before its blank line dropped.
    assert await collect([BODY]) == [b'{"type": "a"}', b'{"type":\n"b"}', b"3"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, len(BODY)), max_size=6))
async def test_it_reads_the_same_events_however_the_body_is_cut(cuts):
    edges = [0, *sorted(cuts), len(BODY)]
    chunks = [BODY[a:b] for a, b in itertools.pairwise(edges)]

    assert await collect(chunks) == [b'{"type": "a"}', b'{"type":\n"b"}', b"3"]


async def test_payloads_are_json_and_done_ends_them():
    async def body():
        yield b'data: {"type": "x"}\n\ndata: [DONE]\n\ndata: {"type": "y"}\n\n'

    assert [p async for p in sse_payloads(body())] == [{"type": "x"}]

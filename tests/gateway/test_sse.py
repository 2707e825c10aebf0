"""The gateway's own reading of server-sent events (the SDK's is bypassed)."""

import itertools
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from conversations.gateway.sse import EventDecoder, PayloadReader

BODY = (
    b'event: response.created\ndata: {"type": "a"}\n\n'
    b'data: {"type":\ndata: "b"}\r\n\r\n'
    b": a comment\nid: 7\ndata: 3\r\r"
    b"data: cut off by the end of the stream\n"
)


def collect(chunks: list[bytes]) -> list[bytes]:
    decoder = EventDecoder()
    events = [data for chunk in chunks for data in decoder.feed(chunk)]
    return events + decoder.feed(b"", final=True)


def cut(body: bytes, cuts: list[int]) -> list[bytes]:
    edges = [0, *sorted(cuts), len(body)]
    return [body[a:b] for a, b in itertools.pairwise(edges)]


def read_whole(body: bytes) -> list[bytes]:
    """The specification's reading of a whole body, line by line."""
    events, data = [], []
    for line in re.split(rb"\r\n|\r|\n", body)[:-1]:
        if not line:
            if data:
                events.append(b"\n".join(data))
            data = []
        elif line.startswith(b"data:"):
            data.append(line[5:].removeprefix(b" "))
    return events


def test_it_reads_events_as_the_specification_says():
    # LF, CRLF and CR line ends; data lines joined; fields other than data
    # ignored; an event the stream cut off before its blank line dropped.
    assert collect([BODY]) == [b'{"type": "a"}', b'{"type":\n"b"}', b"3"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, len(BODY)), max_size=6))
def test_it_reads_the_same_events_however_the_body_is_cut(cuts):
    assert collect(cut(BODY, cuts)) == [b'{"type": "a"}', b'{"type":\n"b"}', b"3"]


LINES = st.lists(
    st.tuples(
        st.sampled_from([b"", b"data:", b"data: ", b"event: x", b": note", b"id: 1"]),
        st.binary(max_size=6).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b"")),
        # Mostly LF, as upstreams send, so that chunks without a CR are read
        # the fast way beside chunks that have one.
        st.sampled_from([b"\n", b"\n", b"\n", b"\r\n", b"\r"]),
    ),
    max_size=12,
)


@settings(max_examples=300, deadline=None)
@given(LINES, st.lists(st.integers(0, 200), max_size=5))
def test_any_body_cut_anywhere_reads_as_the_whole_body_does(lines, cuts):
    body = b"".join(field + value + end for field, value, end in lines)

    assert collect(cut(body, [c for c in cuts if c <= len(body)])) == read_whole(body)


def test_payloads_are_json_and_done_ends_them():
    reader = PayloadReader()
    payloads = reader.feed(b'data: {"type": "x"}\n\ndata: [DONE]\n\n')

    assert payloads == [{"type": "x"}]
    assert reader.done
    assert reader.feed(b'data: {"type": "y"}\n\n') == []


def test_a_payload_split_across_chunks_arrives_once_whole():
    reader = PayloadReader()

    assert reader.feed(b'data: {"type": "response.output_text.delta", "del') == []
    assert reader.feed(b'ta": "h\\u00e9"}\n') == []
    assert reader.feed(b"\n") == [{"type": "response.output_text.delta", "delta": "hé"}]

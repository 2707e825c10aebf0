"""How the gateway reads a streamed body off the SDK's aiohttp transport."""

import gzip
import json

import openai
import pytest
from aiohttp import web

from conversations import gateway


def ask(text: str) -> gateway.ReplyRequest:
    return gateway.ReplyRequest(input=text, model="qwen3-max")


async def collect(request: gateway.ReplyRequest) -> list[gateway.Event]:
    return [event async for event in gateway.stream_reply(request)]


@pytest.mark.usefixtures("upstream")
async def test_a_streamed_body_is_read_off_aiohttp_not_through_the_sdk_layers(
    monkeypatch,
):
    # Four async generators per chunk were a fifth of reading an event.
    def through_the_sdk(self, chunk_size=None):
        raise AssertionError("read through the SDK's iter_bytes")

    monkeypatch.setattr(openai.AsyncAPIResponse, "iter_bytes", through_the_sdk)
    events = await collect(ask("[[tokens:40]] Tell me about rivers."))
    done = events[-1]
    assert isinstance(done, gateway.Completed)
    deltas = [e.text for e in events if isinstance(e, gateway.TextDelta)]
    assert len(deltas) > 5
    assert done.text == "".join(deltas)


def _sse(payload: dict) -> bytes:
    return f"event: {payload['type']}\ndata: {json.dumps(payload)}\n\n".encode()


@pytest.fixture
async def gzipped_upstream(settings):
    """An upstream that compresses its event stream (the SDK's path decodes it)."""
    words = ["Rivers", " run", " to", " the", " sea."]
    body = b"".join(
        [
            _sse({"type": "response.created", "response": {"id": "resp_gz"}}),
            *(
                _sse({"type": "response.output_text.delta", "delta": word})
                for word in words
            ),
            _sse(
                {
                    "type": "response.completed",
                    "response": {"id": "resp_gz", "output": [], "usage": None},
                }
            ),
        ]
    )

    async def respond(request: web.Request) -> web.Response:
        return web.Response(
            body=gzip.compress(body),
            headers={
                "Content-Type": "text/event-stream",
                "Content-Encoding": "gzip",
            },
        )

    app = web.Application()
    app.router.add_post("/v1/responses", respond)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    settings.DASHSCOPE_BASE_URL = f"http://127.0.0.1:{port}/v1"
    settings.DASHSCOPE_API_KEY = "sk-test"
    settings.UPSTREAM_MAX_RETRIES = 0
    yield "".join(words)
    await runner.cleanup()


async def test_a_compressed_body_is_decoded(gzipped_upstream):
    events = await collect(ask("Where do rivers go?"))
    deltas = [e.text for e in events if isinstance(e, gateway.TextDelta)]
    assert "".join(deltas) == gzipped_upstream
    assert isinstance(events[-1], gateway.Completed)
    assert events[-1].response_id == "resp_gz"

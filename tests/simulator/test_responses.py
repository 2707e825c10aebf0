"""The Responses API contract, driven through the real openai SDK."""

from __future__ import annotations

import json

import httpx2
import pytest
from openai import AsyncOpenAI, AuthenticationError, BadRequestError, NotFoundError

from simulator import MODELS, SimulatorServer

MODEL = "qwen3-max-2026-01-23"

PLAIN_SEQUENCE = [
    "response.created",
    "response.in_progress",
    "response.output_item.added",
    "response.content_part.added",
    # output_text.delta x N
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
    "response.completed",
]
RESPONSE_FIELDS = {
    "id", "created_at", "error", "incomplete_details", "instructions", "metadata",
    "model", "object", "output", "parallel_tool_calls", "temperature", "tool_choice",
    "tools", "top_p", "background", "completed_at", "conversation",
    "max_output_tokens", "max_tool_calls", "previous_response_id", "prompt",
    "prompt_cache_key", "prompt_cache_retention", "reasoning", "safety_identifier",
    "service_tier", "status", "text", "top_logprobs", "truncation", "usage", "user",
}  # fmt: skip


async def test_it_streams_the_recorded_event_sequence(client: AsyncOpenAI) -> None:
    stream = await client.responses.create(
        model=MODEL,
        input="Please briefly introduce artificial intelligence.",
        stream=True,
    )
    received = [event async for event in stream]

    kinds = [e.type for e in received]
    deltas = [e for e in received if e.type == "response.output_text.delta"]
    assert len(deltas) > 5
    assert [k for k in kinds if k != "response.output_text.delta"] == PLAIN_SEQUENCE
    assert kinds[4 : 4 + len(deltas)] == ["response.output_text.delta"] * len(deltas)
    assert [e.sequence_number for e in received] == list(range(len(received)))

    created, in_progress, completed = received[0], received[1], received[-1]
    assert created.response.status == "queued"
    assert created.response.model == ""
    assert in_progress.response.status == "in_progress"
    assert completed.response.status == "completed"
    assert completed.response.model == MODEL
    item_id = received[2].item.id
    assert item_id.startswith("msg_")
    assert received[2].item.status == "in_progress"
    assert received[2].item.content == []
    first = deltas[0]
    assert (first.item_id, first.output_index, first.content_index) == (item_id, 0, 0)
    assert first.logprobs == []
    text = "".join(d.delta for d in deltas)
    assert received[-4].text == text
    assert completed.response.output_text == text


async def test_it_shapes_the_response_object_like_dashscope(
    client: AsyncOpenAI,
) -> None:
    reply = await client.responses.with_raw_response.create(model=MODEL, input="Hello!")
    response = reply.parse()

    assert set(json.loads(reply.text)) == RESPONSE_FIELDS
    assert response.object == "response"
    assert response.status == "completed"
    assert isinstance(response.created_at, float)
    assert response.parallel_tool_calls is False
    assert response.tool_choice == "auto"
    assert response.tools == []
    assert len(response.id) == 36  # a UUID, no resp_ prefix
    usage = response.usage
    assert usage is not None
    assert usage.input_tokens > 0 and usage.output_tokens > 0
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens
    assert usage.input_tokens_details.cached_tokens == 0
    assert usage.output_tokens_details.reasoning_tokens == 0
    message = response.output[0]
    assert message.type == "message" and message.role == "assistant"
    assert message.content[0].annotations == []


async def test_the_stream_helper_accumulates_the_final_response(
    client: AsyncOpenAI,
) -> None:
    async with client.responses.stream(model=MODEL, input="Tell me a story") as stream:
        async for _ in stream:
            pass
        final = await stream.get_final_response()
    assert final.status == "completed"
    assert final.output_text


async def test_it_retrieves_a_stored_response(client: AsyncOpenAI) -> None:
    created = await client.responses.create(model=MODEL, input="Hello!")
    fetched = await client.responses.retrieve(created.id)
    assert fetched.id == created.id
    assert fetched.output_text == created.output_text


async def test_it_refuses_unknown_models_and_bad_sampling(client: AsyncOpenAI) -> None:
    assert "qwen3.6-plus" in MODELS
    with pytest.raises(NotFoundError) as not_found:
        await client.responses.create(model="gpt-4o", input="hi")
    assert not_found.value.code == "ModelNotFound"
    with pytest.raises(BadRequestError) as hot:
        await client.responses.create(model=MODEL, input="hi", temperature=2)
    assert hot.value.code == "InvalidParameter"
    with pytest.raises(BadRequestError):
        await client.responses.create(model=MODEL, input="hi", top_p=0)


async def test_it_rejects_a_wrong_api_key(simulator: SimulatorServer) -> None:
    async with AsyncOpenAI(
        base_url=simulator.base_url, api_key="sk-wrong", max_retries=0
    ) as sdk:
        with pytest.raises(AuthenticationError) as caught:
            await sdk.responses.create(model=MODEL, input="hi")
    assert caught.value.code == "InvalidApiKey"
    assert caught.value.message == "Error code: 401 - Invalid API-key provided."


async def test_echo_returns_markup_verbatim(client: AsyncOpenAI) -> None:
    response = await client.responses.create(
        model=MODEL, input="[[echo]] <script>alert(1)</script>"
    )
    assert response.output_text == "<script>alert(1)</script>"


async def test_tokens_directive_streams_exactly_n_deltas(client: AsyncOpenAI) -> None:
    stream = await client.responses.create(
        model=MODEL, input="[[tokens:25]] go", stream=True
    )
    events = [e async for e in stream]
    deltas = [e for e in events if e.type == "response.output_text.delta"]
    assert len(deltas) == 25
    assert events[-1].response.usage.output_tokens == 25


async def test_control_routes_expose_requests_without_the_key(
    client: AsyncOpenAI, simulator: SimulatorServer
) -> None:
    await client.responses.create(model=MODEL, input="Hello!", metadata={"k": "v"})
    async with httpx2.AsyncClient(base_url=simulator.url) as http:
        log = (await http.get("/_simulator/requests")).json()["data"]
    posted = [r for r in log if r["path"].endswith("/responses")][-1]
    assert posted["body"]["input"] == "Hello!"
    assert posted["headers"]["Authorization"] == "Bearer ***"

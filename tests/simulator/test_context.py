"""Server-side context: previous_response_id chains, conversations, expiry."""

from __future__ import annotations

import httpx2
import pytest
from openai import AsyncOpenAI, BadRequestError, NotFoundError

from simulator import SimulatorServer

MODEL = "qwen3-max-2026-01-23"
SEVEN_DAYS = 7 * 24 * 3600


async def test_john_is_remembered_through_previous_response_id(
    client: AsyncOpenAI,
) -> None:
    first = await client.responses.create(
        model=MODEL, input="My name is John, please remember it."
    )
    second = await client.responses.create(
        model=MODEL, input="Do you remember my name?", previous_response_id=first.id
    )
    assert "John" in second.output_text
    assert second.usage.input_tokens > first.usage.input_tokens
    assert second.previous_response_id == first.id


async def test_without_context_the_name_is_unknown(client: AsyncOpenAI) -> None:
    response = await client.responses.create(model=MODEL, input="What is my name?")
    assert "don't know your name" in response.output_text


async def test_john_is_remembered_through_a_conversation(client: AsyncOpenAI) -> None:
    conversation = await client.conversations.create(metadata={"topic": "names"})
    assert conversation.object == "conversation"
    assert conversation.id.startswith("conv_")
    first = await client.responses.create(
        model=MODEL,
        input="My name is John, please remember it.",
        conversation=conversation.id,
    )
    second = await client.responses.create(
        model=MODEL, input="Do you remember my name?", conversation=conversation.id
    )
    assert "John" in second.output_text
    assert second.usage.input_tokens > first.usage.input_tokens
    assert second.conversation.id == conversation.id

    items = [
        i async for i in client.conversations.items.list(conversation.id, order="asc")
    ]
    assert [(i.type, i.role) for i in items] == [
        ("message", "user"),
        ("message", "assistant"),
        ("message", "user"),
        ("message", "assistant"),
    ]
    assert items[0].content[0].type == "input_text"
    assert items[3].content[0].text == second.output_text


async def test_conversation_items_can_be_seeded_and_paginated(
    client: AsyncOpenAI,
) -> None:
    conversation = await client.conversations.create(
        items=[{"type": "message", "role": "user", "content": "My name is Ada."}]
    )
    added = await client.conversations.items.create(
        conversation.id,
        items=[
            {"type": "message", "role": "assistant", "content": "Hello Ada."},
            {"type": "message", "role": "user", "content": "Thanks."},
        ],
    )
    assert len(added.data) == 2
    page = await client.conversations.items.list(conversation.id, limit=2, order="asc")
    assert page.has_more is True
    everything = [
        i async for i in client.conversations.items.list(conversation.id, limit=2)
    ]
    assert [i.content[0].text for i in everything] == [
        "Thanks.",
        "Hello Ada.",
        "My name is Ada.",
    ]
    fetched = await client.conversations.retrieve(conversation.id)
    assert fetched.id == conversation.id

    answer = await client.responses.create(
        model=MODEL, input="What is my name?", conversation=conversation.id
    )
    assert "Ada" in answer.output_text


async def test_a_deleted_conversation_is_not_found(client: AsyncOpenAI) -> None:
    conversation = await client.conversations.create()
    deleted = await client.conversations.delete(conversation.id)
    assert deleted.deleted is True
    with pytest.raises(NotFoundError):
        await client.responses.create(
            model=MODEL, input="hi", conversation=conversation.id
        )


async def test_it_refuses_conversation_with_previous_response_id(
    client: AsyncOpenAI,
) -> None:
    first = await client.responses.create(model=MODEL, input="Hello")
    conversation = await client.conversations.create()
    with pytest.raises(BadRequestError) as caught:
        await client.responses.create(
            model=MODEL,
            input="Hi again",
            previous_response_id=first.id,
            conversation=conversation.id,
        )
    assert caught.value.code == "InvalidParameter"


async def test_unknown_previous_response_id_is_a_400(client: AsyncOpenAI) -> None:
    with pytest.raises(BadRequestError) as caught:
        await client.responses.create(
            model=MODEL, input="hi", previous_response_id="no-such-id"
        )
    assert caught.value.code == "InvalidParameter"
    assert caught.value.param == "previous_response_id"
    assert "not found" in caught.value.body["message"]


async def test_previous_response_expires_after_seven_days(
    client: AsyncOpenAI, simulator: SimulatorServer
) -> None:
    first = await client.responses.create(model=MODEL, input="My name is John.")
    async with httpx2.AsyncClient(base_url=simulator.url) as http:
        await http.post("/_simulator/clock", json={"advance_seconds": SEVEN_DAYS - 60})
    still = await client.responses.create(
        model=MODEL, input="What is my name?", previous_response_id=first.id
    )
    assert "John" in still.output_text

    simulator.state.clock_offset += 120
    with pytest.raises(BadRequestError) as caught:
        await client.responses.create(
            model=MODEL, input="What is my name?", previous_response_id=first.id
        )
    assert caught.value.code == "InvalidParameter"


async def test_forgotten_responses_cannot_be_continued(
    client: AsyncOpenAI, simulator: SimulatorServer
) -> None:
    first = await client.responses.create(model=MODEL, input="My name is John.")
    async with httpx2.AsyncClient(base_url=simulator.url) as http:
        await http.post("/_simulator/forget", json={"response_id": first.id})
    with pytest.raises(BadRequestError):
        await client.responses.create(
            model=MODEL, input="What is my name?", previous_response_id=first.id
        )


async def test_instructions_apply_to_one_turn_only(
    client: AsyncOpenAI, simulator: SimulatorServer
) -> None:
    first = await client.responses.create(
        model=MODEL,
        instructions="The user's name is Alice.",
        input="What is my name?",
    )
    assert "Alice" in first.output_text
    second = await client.responses.create(
        model=MODEL, input="What is my name?", previous_response_id=first.id
    )
    assert "Alice" not in second.output_text

    async with httpx2.AsyncClient(base_url=simulator.url) as http:
        seen = (await http.get(f"/_simulator/responses/{second.id}/context")).json()
    assert seen["instructions"] is None
    assert [m["role"] for m in seen["context"]] == ["user", "assistant", "user"]
    assert simulator.state.responses[first.id].context[0] == {
        "role": "system",
        "text": "The user's name is Alice.",
    }


async def test_message_array_input_and_directives_are_hidden_from_the_model(
    client: AsyncOpenAI, simulator: SimulatorServer
) -> None:
    response = await client.responses.create(
        model=MODEL,
        input=[
            {"role": "system", "content": "Be brief."},
            {
                "role": "user",
                "content": [{"type": "input_text", "text": "Hi [[tokens:3]]"}],
            },
        ],
    )
    assert simulator.state.responses[response.id].context == [
        {"role": "system", "text": "Be brief."},
        {"role": "user", "text": "Hi"},
    ]


async def test_session_cache_reports_a_reused_long_prefix(
    simulator: SimulatorServer,
) -> None:
    async with AsyncOpenAI(
        base_url=simulator.base_url,
        api_key="sk-simulator",
        max_retries=0,
        default_headers={"x-dashscope-session-cache": "enable"},
    ) as sdk:
        long_text = "Background facts about rivers and mountains. " * 120
        first = await sdk.responses.create(model=MODEL, input=long_text)
        second = await sdk.responses.create(
            model=MODEL, input="And then?", previous_response_id=first.id
        )
    assert first.usage.input_tokens_details.cached_tokens == 0
    cached = second.usage.input_tokens_details.cached_tokens
    assert cached >= 1024
    assert cached == first.usage.input_tokens


async def test_session_cache_is_off_without_the_header(client: AsyncOpenAI) -> None:
    long_text = "Background facts about rivers and mountains. " * 120
    first = await client.responses.create(model=MODEL, input=long_text)
    second = await client.responses.create(
        model=MODEL, input="And then?", previous_response_id=first.id
    )
    assert second.usage.input_tokens_details.cached_tokens == 0

"""Tool items, reasoning, and the function_call round trip."""

from __future__ import annotations

import json

from openai import AsyncOpenAI

MODEL = "qwen3-max-2026-01-23"
BUILTINS = [
    {"type": "web_search"},
    {"type": "code_interpreter"},
    {"type": "web_extractor"},
]
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Get weather information for a specified city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


async def test_builtin_tools_with_thinking_match_the_documented_response(
    client: AsyncOpenAI,
) -> None:
    response = await client.responses.create(
        model=MODEL,
        input="Find the Alibaba Cloud website and extract key information",
        tools=BUILTINS,
        extra_body={"enable_thinking": True},
    )
    assert [i.type for i in response.output] == [
        "reasoning",
        "web_search_call",
        "reasoning",
        "web_extractor_call",
        "message",
    ]
    assert response.output[0].summary[0].type == "summary_text"
    search = response.output[1]
    assert search.action.type == "search"
    assert search.action.sources[0].url.startswith("https://")
    # The SDK does not know web_extractor_call: read it raw (STACK-NOTES).
    extractor = response.output[3].to_dict()
    assert extractor["status"] == "completed"
    assert extractor["urls"] and extractor["goal"] and extractor["output"]
    usage = response.usage.to_dict()
    assert usage["x_tools"] == {
        "web_search": {"count": 1},
        "web_extractor": {"count": 1},
    }
    assert usage["output_tokens_details"]["reasoning_tokens"] > 0


async def test_reasoning_and_tool_items_stream_with_their_events(
    client: AsyncOpenAI,
) -> None:
    stream = await client.responses.create(
        model=MODEL,
        input="Please calculate 2 + 3",
        tools=BUILTINS,
        extra_body={"enable_thinking": True},
        stream=True,
    )
    events = [e async for e in stream]
    kinds = [e.type for e in events]
    assert kinds[:5] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.reasoning_summary_part.added",
        "response.reasoning_summary_text.delta",
    ]
    assert "response.reasoning_summary_text.done" in kinds
    assert "response.reasoning_summary_part.done" in kinds
    added = [e.item for e in events if e.type == "response.output_item.added"]
    tool_added = [i for i in added if i.type == "code_interpreter_call"]
    assert tool_added[0].status == "in_progress"
    done = [e.item for e in events if e.type == "response.output_item.done"]
    interpreter = next(i for i in done if i.type == "code_interpreter_call")
    assert interpreter.outputs[0].logs.strip() == "5"
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert kinds[-1] == "response.completed"


async def test_plain_questions_call_no_tools(client: AsyncOpenAI) -> None:
    response = await client.responses.create(
        model=MODEL, input="Hello there", tools=BUILTINS
    )
    assert [i.type for i in response.output] == ["message"]
    assert "x_tools" not in response.usage.to_dict()


async def test_function_call_round_trip(client: AsyncOpenAI) -> None:
    stream = await client.responses.create(
        model=MODEL, input="What's the weather in Paris?", tools=[WEATHER], stream=True
    )
    events = [e async for e in stream]
    kinds = [e.type for e in events]
    assert "response.function_call_arguments.delta" in kinds
    assert "response.output_text.delta" not in kinds
    completed = events[-1].response
    assert completed.status == "completed"
    [call] = completed.output
    assert call.type == "function_call" and call.name == "get_weather"
    assert json.loads(call.arguments) == {"city": "Paris"}
    args_done = next(
        e for e in events if e.type == "response.function_call_arguments.done"
    )
    assert args_done.arguments == call.arguments

    answer = await client.responses.create(
        model=MODEL,
        previous_response_id=completed.id,
        input=[
            {
                "type": "function_call_output",
                "call_id": call.call_id,
                "output": "Sunny, 24 C",
            }
        ],
        tools=[WEATHER],
    )
    assert "Sunny, 24 C" in answer.output_text
    assert answer.output[-1].type == "message"


async def test_tool_choice_required_forces_a_tool(client: AsyncOpenAI) -> None:
    response = await client.responses.create(
        model=MODEL, input="Hello", tools=[WEATHER], tool_choice="required"
    )
    assert response.output[0].type == "function_call"


async def test_mcp_tool_is_called_when_mentioned(client: AsyncOpenAI) -> None:
    response = await client.responses.create(
        model=MODEL,
        input="Use amap to plan a route",
        tools=[
            {
                "type": "mcp",
                "server_protocol": "sse",
                "server_label": "amap-maps",
                "server_url": "https://example.invalid/sse",
            }
        ],
    )
    call = response.output[0].to_dict()
    assert call["type"] == "mcp_call"
    assert call["server_label"] == "amap-maps"
    assert call["output"]


def _output(call) -> dict:
    return {"type": "function_call_output", "call_id": call.call_id, "output": "ok"}


async def test_tool_rounds_call_functions_again_before_answering(
    client: AsyncOpenAI,
) -> None:
    first = await client.responses.create(
        model=MODEL,
        input="[[tool_rounds:3]] weather in `Oslo`",
        tools=[WEATHER],
    )
    rounds = [first]
    while rounds[-1].output[-1].type == "function_call":
        rounds.append(
            await client.responses.create(
                model=MODEL,
                previous_response_id=rounds[-1].id,
                input=[_output(rounds[-1].output[-1])],
                tools=[WEATHER],
            )
        )
    assert len(rounds) == 4
    assert json.loads(first.output[0].arguments) == {"city": "Oslo"}
    assert rounds[-1].output[-1].type == "message"


async def test_tool_choice_none_answers_function_outputs_at_once(
    client: AsyncOpenAI,
) -> None:
    first = await client.responses.create(
        model=MODEL, input="[[tool_rounds:3]] weather in Rome", tools=[WEATHER]
    )
    answer = await client.responses.create(
        model=MODEL,
        previous_response_id=first.id,
        input=[_output(first.output[-1])],
        tools=[WEATHER],
        tool_choice="none",
    )
    assert answer.output[-1].type == "message"

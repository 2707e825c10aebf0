"""The gateway against the simulator, through the real SDK over real HTTP."""

import itertools
import time

import pytest

from conversations import gateway
from conversations.gateway import FailureCategory as Cat

pytestmark = pytest.mark.usefixtures("upstream")


def ask(text: str, **kwargs) -> gateway.ReplyRequest:
    return gateway.ReplyRequest(input=text, model="qwen3-max", **kwargs)


async def collect(request: gateway.ReplyRequest) -> list[gateway.Event]:
    return [event async for event in gateway.stream_reply(request)]


def text_of(events: list[gateway.Event]) -> str:
    return "".join(e.text for e in events if isinstance(e, gateway.TextDelta))


async def test_it_streams_a_reply_and_ends_with_usage():
    events = await collect(ask("Please briefly introduce artificial intelligence."))
    assert isinstance(events[0], gateway.Started)
    done = events[-1]
    assert isinstance(done, gateway.Completed)
    assert done.response_id == events[0].response_id
    assert done.text == text_of(events)
    assert len([e for e in events if isinstance(e, gateway.TextDelta)]) > 5
    assert done.usage.input_tokens > 0
    assert done.usage.output_tokens > 0
    assert done.usage.total_tokens == done.usage.input_tokens + done.usage.output_tokens


async def test_it_hands_on_each_delta_as_it_arrives(upstream):
    # 20 tokens per second: deltas must arrive spread out, not in one burst.
    arrivals = []
    async for event in gateway.stream_reply(
        ask("[[pace:ttft=0,tps=20]] [[tokens:12]] hi")
    ):
        if isinstance(event, gateway.TextDelta):
            arrivals.append(time.monotonic())
    assert len(arrivals) >= 10
    spread = arrivals[-1] - arrivals[0]
    assert spread > 0.3
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    assert sum(1 for gap in gaps if gap > 0.02) >= len(gaps) // 2


async def test_previous_response_id_carries_context():
    first = (await collect(ask("My name is John, please remember it.")))[-1]
    second = (
        await collect(
            ask("Do you remember my name?", previous_response_id=first.response_id)
        )
    )[-1]
    assert isinstance(second, gateway.Completed)
    assert "John" in second.text
    assert second.usage.input_tokens > first.usage.input_tokens


async def test_a_conversation_carries_context():
    conversation = await gateway.conversation_create(metadata={"thread": "t1"})
    await collect(
        ask("My name is John, please remember it.", conversation=conversation)
    )
    second = (
        await collect(ask("Do you remember my name?", conversation=conversation))
    )[-1]
    assert "John" in second.text
    items = await gateway.conversation_items(conversation)
    assert [item["role"] for item in items if item["type"] == "message"] == [
        "user",
        "assistant",
        "user",
        "assistant",
    ]


async def test_an_unknown_conversation_is_reported_gone():
    with pytest.raises(gateway.ConversationGone):
        await gateway.conversation_items("conv_does_not_exist")


async def test_tools_and_thinking_yield_items_the_sdk_does_not_model():
    events = await collect(
        ask(
            "Find the Alibaba Cloud website https://www.alibabacloud.com"
            " and extract key information",
            tools=[{"type": "web_search"}, {"type": "web_extractor"}],
            enable_thinking=True,
        )
    )
    added = [e.type for e in events if isinstance(e, gateway.ItemAdded)]
    assert "reasoning" in added
    assert "web_extractor_call" in added
    extractor = next(
        e.item
        for e in events
        if isinstance(e, gateway.ItemDone) and e.type == "web_extractor_call"
    )
    assert extractor["goal"]
    assert extractor["urls"]
    assert any(isinstance(e, gateway.ReasoningDelta) for e in events)
    done = events[-1]
    assert isinstance(done, gateway.Completed)
    assert done.usage.reasoning_tokens > 0
    assert done.usage.tool_counts.get("web_extractor") == 1


@pytest.mark.parametrize(
    ("fault", "category"),
    [
        ("401", Cat.AUTH),
        ("429", Cat.RATE_LIMIT),
        ("500", Cat.SERVER_ERROR),
        ("moderation", Cat.MODERATION),
        ("drop", Cat.NETWORK),
        ("stop", Cat.NO_TERMINAL_EVENT),
        ("failed", Cat.FAILED),
        ("incomplete", Cat.INCOMPLETE),
        ("moderation_output", Cat.MODERATION),
    ],
)
async def test_each_failure_ends_with_its_category(upstream, fault, category):
    upstream.faults.push(fault)
    events = await collect(ask("Tell me about rivers."))
    assert isinstance(events[-1], gateway.Failed)
    assert events[-1].category == category
    assert sum(isinstance(e, (gateway.Completed, gateway.Failed)) for e in events) == 1


async def test_a_cut_stream_keeps_the_text_sent_before_it():
    events = await collect(ask("[[fault:stop,after=4]] Tell me about rivers."))
    assert isinstance(events[-1], gateway.Failed)
    assert events[-1].category == Cat.NO_TERMINAL_EVENT
    assert len([e for e in events if isinstance(e, gateway.TextDelta)]) == 4
    assert events[-1].response_id


async def test_rate_limit_reports_retry_after(upstream):
    upstream.faults.push("429", retry_after=7)
    failure = (await collect(ask("hello")))[-1]
    assert failure.retry_after == 7


async def test_rate_limits_are_retried_with_backoff(upstream, settings):
    settings.UPSTREAM_MAX_RETRIES = 2
    upstream.faults.push("429", retry_after=0, times=2)
    done = (await collect(ask("hello")))[-1]
    assert isinstance(done, gateway.Completed)


async def test_an_unknown_previous_response_is_context_lost():
    failure = (await collect(ask("hello", previous_response_id="resp-unknown")))[-1]
    assert failure.category == Cat.CONTEXT_LOST


async def test_an_expired_previous_response_is_context_lost(upstream):
    first = (await collect(ask("My name is John.")))[-1]
    upstream.state.clock_offset += 8 * 24 * 3600
    try:
        failure = (await collect(ask("hello", previous_response_id=first.response_id)))[
            -1
        ]
    finally:
        upstream.state.clock_offset -= 8 * 24 * 3600
    assert failure.category == Cat.CONTEXT_LOST


async def test_a_wrong_key_is_an_auth_failure_and_logged(settings, caplog):
    settings.DASHSCOPE_API_KEY = "sk-wrong"
    failure = (await collect(ask("hello")))[-1]
    assert failure.category == Cat.AUTH
    assert "401" in caplog.text
    assert "sk-wrong" not in caplog.text


async def test_an_unreachable_upstream_is_a_network_failure(settings):
    settings.DASHSCOPE_BASE_URL = (
        "http://127.0.0.1:9/api/v2/apps/protocols/compatible-mode/v1"
    )
    failure = (await collect(ask("hello")))[-1]
    assert failure.category == Cat.NETWORK


async def test_a_hung_upstream_is_cut_by_the_read_timeout(settings):
    settings.UPSTREAM_TIMEOUT = 0.5
    failure = (await collect(ask("[[fault:hang]] hello")))[-1]
    assert failure.category == Cat.TIMEOUT


async def test_instructions_and_thinking_reach_the_request(upstream):
    done = (
        await collect(
            ask("hello", instructions="Answer like a pirate.", enable_thinking=False)
        )
    )[-1]
    record = upstream.state.responses[done.response_id]
    assert record.instructions == "Answer like a pirate."


async def test_function_arguments_stream_and_every_item_arrives_raw():
    weather = {
        "type": "function",
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    }
    events = await collect(
        ask(
            "What's the weather in `Lisbon`?",
            tools=[weather],
            tool_choice="auto",
            enable_thinking=True,
        )
    )
    arguments = "".join(e.text for e in events if isinstance(e, gateway.ArgumentsDelta))
    assert arguments == '{"city": "Lisbon"}'
    done = [e.item for e in events if isinstance(e, gateway.ItemDone)]
    assert [item["type"] for item in done] == ["reasoning", "function_call"]
    assert done[1]["arguments"] == arguments
    assert done[0]["summary"][0]["type"] == "summary_text"

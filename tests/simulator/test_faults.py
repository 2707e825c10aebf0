"""Each fault kind, and what the real SDK does with it."""

from __future__ import annotations

import time

import httpx2
import pytest
from openai import (
    APIConnectionError,
    APITimeoutError,
    AsyncOpenAI,
    AuthenticationError,
    BadRequestError,
    InternalServerError,
    RateLimitError,
)

from simulator import SimulatorServer

MODEL = "qwen3-max-2026-01-23"


async def _collect(client: AsyncOpenAI, text: str, **kwargs: object) -> list:
    stream = await client.responses.create(
        model=MODEL, input=text, stream=True, **kwargs
    )
    return [event async for event in stream]


@pytest.mark.parametrize(
    ("kind", "error", "code"),
    [
        ("401", AuthenticationError, "InvalidApiKey"),
        ("429", RateLimitError, "Throttling.RateQuota"),
        ("500", InternalServerError, "InternalError"),
        ("moderation", BadRequestError, "DataInspectionFailed"),
    ],
)
async def test_pre_stream_faults_raise_status_errors(
    client: AsyncOpenAI, kind: str, error: type[Exception], code: str
) -> None:
    with pytest.raises(error) as caught:
        await _collect(client, f"hello [[fault:{kind}]]")
    assert caught.value.code == code


async def test_429_carries_retry_after_and_the_sdk_retries_until_success(
    simulator: SimulatorServer,
) -> None:
    simulator.faults.push("429", times=2, retry_after=0)
    async with AsyncOpenAI(
        base_url=simulator.base_url, api_key="sk-simulator", max_retries=2
    ) as sdk:
        response = await sdk.responses.create(model=MODEL, input="Hello")
    assert response.status == "completed"
    posts = [r for r in simulator.state.requests if r["path"].endswith("/responses")]
    assert len(posts) == 3


async def test_500_twice_via_directive_then_success(simulator: SimulatorServer) -> None:
    async with AsyncOpenAI(
        base_url=simulator.base_url, api_key="sk-simulator", max_retries=0
    ) as sdk:
        for _ in range(2):
            with pytest.raises(InternalServerError):
                await sdk.responses.create(
                    model=MODEL, input="hi [[fault:500,times=2]]"
                )
        ok = await sdk.responses.create(model=MODEL, input="hi [[fault:500,times=2]]")
    assert ok.status == "completed"


async def test_429_exposes_the_retry_after_header(simulator: SimulatorServer) -> None:
    async with httpx2.AsyncClient() as http:
        reply = await http.post(
            f"{simulator.base_url}/responses",
            headers={"Authorization": "Bearer sk-simulator"},
            json={"model": MODEL, "input": "x [[fault:429,retry_after=7]]"},
        )
    assert reply.status_code == 429
    assert reply.headers["retry-after"] == "7"
    assert reply.json()["error"]["code"] == "Throttling.RateQuota"
    assert reply.json()["request_id"]


async def test_drop_raises_api_connection_error_mid_stream(client: AsyncOpenAI) -> None:
    received: list = []
    stream = await client.responses.create(
        model=MODEL, input="Tell me a story [[fault:drop,after=4]]", stream=True
    )
    with pytest.raises(APIConnectionError):
        async for event in stream:
            received.append(event)
    deltas = [e for e in received if e.type == "response.output_text.delta"]
    assert len(deltas) == 4


async def test_stop_ends_iteration_silently_without_a_terminal_event(
    client: AsyncOpenAI, simulator: SimulatorServer
) -> None:
    events = await _collect(client, "Tell me a story [[fault:stop,after=2]]")
    assert events[-1].type == "response.output_text.delta"
    assert sum(e.type == "response.output_text.delta" for e in events) == 2
    # Never finished upstream, so it cannot be continued.
    response_id = events[0].response.id
    with pytest.raises(BadRequestError):
        await client.responses.create(
            model=MODEL, input="go on", previous_response_id=response_id
        )


async def test_failed_is_yielded_not_raised(client: AsyncOpenAI) -> None:
    events = await _collect(client, "Story [[fault:failed,after=3,code=InternalError]]")
    last = events[-1]
    assert last.type == "response.failed"
    assert last.response.status == "failed"
    assert last.response.error.code == "InternalError"
    assert last.response.error.message


async def test_incomplete_reports_max_output_tokens(client: AsyncOpenAI) -> None:
    events = await _collect(client, "Story [[fault:incomplete,after=3]]")
    last = events[-1]
    assert last.type == "response.incomplete"
    assert last.response.incomplete_details.reason == "max_output_tokens"
    assert last.response.output[0].status == "incomplete"


async def test_max_output_tokens_truncates_for_real(client: AsyncOpenAI) -> None:
    events = await _collect(client, "[[tokens:50]] go", max_output_tokens=16)
    assert events[-1].type == "response.incomplete"
    assert sum(e.type == "response.output_text.delta" for e in events) == 16


async def test_output_moderation_fails_and_poisons_the_chain(
    client: AsyncOpenAI,
) -> None:
    events = await _collect(client, "Story [[fault:moderation_output,after=2]]")
    failed = events[-1]
    assert failed.type == "response.failed"
    assert failed.response.error.code == "DataInspectionFailed"
    with pytest.raises(BadRequestError) as caught:
        await client.responses.create(
            model=MODEL, input="go on", previous_response_id=failed.response.id
        )
    assert caught.value.code == "DataInspectionFailed"


async def test_error_event_is_yielded_then_the_stream_ends(client: AsyncOpenAI) -> None:
    events = await _collect(client, "Story [[fault:error_event,after=1]]")
    assert events[-1].type == "error"
    assert events[-1].code == "InternalError"


async def test_hang_times_out_and_the_stream_is_cancelled(
    simulator: SimulatorServer,
) -> None:
    async with AsyncOpenAI(
        base_url=simulator.base_url, api_key="sk-simulator", max_retries=0, timeout=0.3
    ) as sdk:
        with pytest.raises(APITimeoutError):
            await _collect(sdk, "x [[fault:hang]]")


async def test_queued_faults_match_by_text_and_are_consumed(
    client: AsyncOpenAI, simulator: SimulatorServer
) -> None:
    async with httpx2.AsyncClient(base_url=simulator.url) as http:
        pushed = await http.post(
            "/_simulator/faults", json={"kind": "failed", "after": 1, "match": "boom"}
        )
    assert pushed.status_code == 201
    assert (await _collect(client, "calm"))[-1].type == "response.completed"
    assert (await _collect(client, "boom"))[-1].type == "response.failed"
    assert (await _collect(client, "boom"))[-1].type == "response.completed"


async def test_slow_fault_delays_the_first_token(client: AsyncOpenAI) -> None:
    started = time.perf_counter()
    stream = await client.responses.create(
        model=MODEL, input="[[tokens:2]] [[fault:slow,ttft=0.3,tps=100]]", stream=True
    )
    async for event in stream:
        if event.type == "response.output_text.delta":
            break
    assert time.perf_counter() - started >= 0.3

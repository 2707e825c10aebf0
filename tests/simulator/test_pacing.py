"""Streaming is incremental and paced; the server runs on any loop."""

from __future__ import annotations

import asyncio
import time

from openai import AsyncOpenAI

from simulator import SimulatorServer

MODEL = "qwen3-max-2026-01-23"


async def _arrivals(client: AsyncOpenAI, text: str) -> tuple[float, list[float]]:
    started = time.perf_counter()
    stream = await client.responses.create(model=MODEL, input=text, stream=True)
    arrivals = [
        time.perf_counter() - started
        async for e in stream
        if e.type == "response.output_text.delta"
    ]
    return started, arrivals


async def test_deltas_arrive_spread_over_time_at_the_configured_pace(
    client: AsyncOpenAI, simulator: SimulatorServer
) -> None:
    simulator.record_timings = True
    _, arrivals = await _arrivals(client, "[[tokens:11]] [[pace:ttft=0.15,tps=50]]")

    assert len(arrivals) == 11
    assert arrivals[0] >= 0.15
    span = arrivals[-1] - arrivals[0]
    assert 0.17 <= span <= 0.5  # 10 intervals of 20 ms, plus scheduling slack
    log = simulator.state.delta_log
    assert len(log) == 11
    sent_span = log[-1].t_wall - log[0].t_wall
    assert abs(sent_span - 0.2) < 0.05


async def test_server_defaults_set_the_pace() -> None:
    async with (
        SimulatorServer(ttft=0.1, tps=100) as server,
        AsyncOpenAI(
            base_url=server.base_url, api_key="sk-simulator", max_retries=0
        ) as sdk,
    ):
        _, arrivals = await _arrivals(sdk, "[[tokens:6]]")
    assert arrivals[0] >= 0.1
    assert arrivals[-1] - arrivals[0] >= 0.045


async def test_many_concurrent_streams_all_complete(client: AsyncOpenAI) -> None:
    async def one(index: int) -> str:
        stream = await client.responses.create(
            model=MODEL,
            input=f"[[tokens:20]] [[pace:ttft=0,tps=400]] {index}",
            stream=True,
        )
        return [e.type async for e in stream][-1]

    results = await asyncio.gather(*(one(i) for i in range(50)))
    assert results == ["response.completed"] * 50

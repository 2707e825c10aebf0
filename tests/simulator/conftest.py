"""Fixtures for the simulator's tests: a real loopback server and the real SDK.

Nothing here touches Django or its database: the simulator runs alone.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from openai import AsyncOpenAI

from simulator import SimulatorServer


@pytest.fixture
def simulator() -> Iterator[SimulatorServer]:
    # Fast by default; tests about timing set their own pacing.
    server = SimulatorServer(ttft=0, tps=20_000).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def client(simulator: SimulatorServer) -> AsyncIterator[AsyncOpenAI]:
    # One client per test: a client is bound to the loop it first ran on.
    async with AsyncOpenAI(
        base_url=simulator.base_url, api_key="sk-simulator", max_retries=0
    ) as sdk:
        yield sdk

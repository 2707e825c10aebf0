"""Per-delta send times, readable by a benchmark in another process."""

import itertools

import aiohttp


async def test_the_send_time_of_each_delta_is_served(simulator, client):
    async with aiohttp.ClientSession(simulator.url) as http:
        async with http.post("/_simulator/timings", json={"record": True}) as r:
            assert (await r.json()) == {"recording": True}
        stream = await client.responses.create(
            model="qwen3-max", input="[[tokens:5]] hi", stream=True
        )
        deltas = [e async for e in stream if e.type == "response.output_text.delta"]
        async with http.get("/_simulator/timings") as r:
            log = (await r.json())["data"]
    assert [row[2] for row in log] == [d.delta for d in deltas]
    assert [row[1] for row in log] == [d.sequence_number for d in deltas]
    assert all(a[3] <= b[3] for a, b in itertools.pairwise(log))

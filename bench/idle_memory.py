"""Memory per open idle websocket: the app process's RSS before and after N
sockets connect to a thread page's websocket and stay quiet.

    .venv/bin/python bench/idle_memory.py [--sockets 1000] [--threads 1]

All on one thread by default: the worst case, every socket a viewer of the
same thread (presence is shown to each).
"""

from __future__ import annotations

import argparse
import asyncio
import gc

from common import rss_bytes, start_app, start_simulator

from tests.production.cluster import Client


async def measure(cluster, sockets: int, threads: int) -> tuple[int, int]:
    process = cluster.processes[0]
    ids = cluster.threads_create(threads)
    client = await Client(process.url).login("alice")
    warm = [await client.socket(ids[0]) for _ in range(10)]
    before = rss_bytes(process.process.pid)
    opened = []
    for i in range(sockets):
        opened.append(await client.socket(ids[i % threads]))
    await asyncio.sleep(2)  # let the process settle (not a synchronisation)
    after = rss_bytes(process.process.pid)
    for socket in opened + warm:
        await socket.close()
    await client.close()
    gc.collect()
    return before, after


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument(
        "--threads", type=int, default=1, help="spread over this many threads"
    )
    args = parser.parse_args()
    simulator = start_simulator()
    cluster = None
    try:
        cluster = start_app(simulator)
        cluster.start("app")
        before, after = asyncio.run(measure(cluster, args.sockets, args.threads))
    finally:
        if cluster is not None:
            cluster.stop()
        simulator.stop()
    per = (after - before) / args.sockets
    print(
        f"Idle websockets: {args.sockets} open on {args.threads} thread(s);"
        f" app RSS {before / 2**20:.1f} MiB ->"
        f" {after / 2**20:.1f} MiB; {per / 1024:.1f} KB per connection"
    )


if __name__ == "__main__":
    main()

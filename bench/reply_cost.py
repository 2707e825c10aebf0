"""Cost per reply: the app process's CPU seconds and database writes for one
streamed Markdown answer of 1, 2, 4 and 8 KB (headings, lists, code, a table),
at 40 deltas/s; both should grow linearly with the answer's length.

    .venv/bin/python bench/reply_cost.py

CPU is read from /proc for an otherwise idle process, less what it spends
idle over the same time (measured first); writes are counted from
the SQL log of a second process (DEBUG logging costs CPU, so not the same one).
"""

from __future__ import annotations

import asyncio
import re
import time

from common import cpu_seconds, start_app, start_simulator

from tests.production.cluster import Client

BLOCK = """## Section {n}

Some **bold** text, `inline code` and a [link](https://example.com/{n}) in a
paragraph that runs on for a while to look like an answer's prose, {n}.

- first point about {n}
- second point, with *emphasis*
- third point

```python
def answer_{n}(x: int) -> int:
    return x * {n}
```

| name | value |
|------|-------|
| a{n} | {n} |
| b{n} | {n}0 |

"""


IDLE_S = 10


def document(kb: int) -> str:
    text, n = "", 0
    while len(text.encode()) < kb * 1024:
        n += 1
        text += BLOCK.format(n=n)
    return text[: kb * 1024]


async def reply(client: Client, thread: str, text: str, via: str) -> None:
    socket = await client.socket(thread, via=via)
    await socket.send(action="send", message="[[echo]]" + text, client_id=thread[:8])
    final = await socket.until_final(wait=120)
    assert 'data-status="completed"' in final, final[:300]
    await socket.close()


async def run(cluster, sizes: list[int]) -> list[tuple[int, float, int]]:
    cpu_process, sql_process = cluster.processes
    threads = cluster.threads_create(2 * len(sizes) + 1)
    client = await Client(cpu_process.url).login("alice")
    await reply(client, threads.pop(), document(1), cpu_process.url)  # warm-up
    # What the process spends with nothing to do (heartbeats, sweeps, timers),
    # taken out of each reply's figure in proportion to how long it streamed.
    before, started = cpu_seconds(cpu_process.process.pid), time.monotonic()
    await asyncio.sleep(IDLE_S)
    idle_per_s = (cpu_seconds(cpu_process.process.pid) - before) / (
        time.monotonic() - started
    )
    print(f"idle process: {1000 * idle_per_s:.1f} ms of CPU per second (subtracted)")
    rows = []
    for kb in sizes:
        before, started = cpu_seconds(cpu_process.process.pid), time.monotonic()
        await reply(client, threads.pop(), document(kb), cpu_process.url)
        cpu = cpu_seconds(cpu_process.process.pid) - before
        cpu -= idle_per_s * (time.monotonic() - started)
        start = len(sql_process.log())
        await reply(client, threads.pop(), document(kb), sql_process.url)
        log = sql_process.log()[start:]
        writes = len(re.findall(r"\b(INSERT INTO|UPDATE|DELETE FROM)\b", log))
        rows.append((kb, cpu, writes))
    await client.close()
    return rows


def main() -> None:
    simulator = start_simulator(ttft=0.35, tps=40)
    cluster = None
    sizes = [1, 2, 4, 8]
    try:
        cluster = start_app(simulator)
        cluster.start("cpu")
        # Django logs queries only in debug mode.
        cluster.start("sql", {"DEBUG": "true", "LOG_LEVEL": "DEBUG", "LOG_SQL": "true"})
        rows = asyncio.run(run(cluster, sizes))
    finally:
        if cluster is not None:
            cluster.stop()
        simulator.stop()
    print("Cost per streamed Markdown reply at 40 deltas/s (one process)")
    print("   KB  app_cpu_s  cpu_ms_per_KB  db_writes  writes_per_KB")
    for kb, cpu, writes in rows:
        per_kb = 1000 * cpu / kb
        line = f"{kb:>5}  {cpu:>9.3f}  {per_kb:>13.1f}  {writes:>9}"
        print(f"{line}  {writes / kb:>13.1f}")


if __name__ == "__main__":
    main()

"""A send's database trip in worker processes (CHAT_SEND_WORKERS,
conversations/workers.py), on a real server process as production runs it.

What crosses from the worker is what the consumer had before: the stored turn,
a refusal in the sender's language, a refusal of rights. A worker that dies is
replaced without losing the send, and a server that dies takes its workers
with it.
"""

import asyncio
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.utils import translation
from django.utils.html import escape

from conversations.consumers import NOT_ALLOWED
from conversations.services import MESSAGE_TOO_LONG
from simulator import SimulatorServer
from simulator.answers import token_answer
from tests.production.cluster import (
    Client,
    Cluster,
    cluster_running,
    descendants,
    needs_production,
)

pytestmark = needs_production
LIMIT = 200
QUICK = "[[pace:ttft=0,tps=200]] [[tokens:30]] go"


@pytest.fixture(scope="module")
def cluster(upstream_server: SimulatorServer) -> Iterator[Cluster]:
    env = {"CHAT_SEND_WORKERS": "1", "CHAT_MAX_MESSAGE_CHARS": str(LIMIT)}
    with cluster_running(
        upstream_server.base_url, ["a"], suffix="workers", extra_env=env
    ) as cluster:
        yield cluster


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def niceness(pid: int) -> int | None:
    try:
        return os.getpriority(os.PRIO_PROCESS, pid)
    except ProcessLookupError:
        return None


async def send_workers(server_pid: int, count: int = 1) -> list[int]:
    """The server's send workers, once `count` of them run: the children
    that run below the server's CPU priority."""
    async with asyncio.timeout(30):
        while True:
            workers = [
                p
                for p in descendants(server_pid)
                if alive(p) and (niceness(p) or 0) > 0
            ]
            if len(workers) >= count:
                return workers
            await asyncio.sleep(0.05)


async def test_a_send_survives_its_worker_dying(cluster, alice):
    server = cluster.processes[0]
    thread = cluster.thread_create()
    socket = await alice.socket(thread)
    # The first connection starts them, below the priority of the streams.
    [worker] = await send_workers(server.process.pid)
    assert niceness(worker) == 10
    await socket.send(action="send", message=QUICK, client_id="c1")
    assert "".join(token_answer(30)) in await socket.until_final()

    os.kill(worker, signal.SIGKILL)
    await socket.send(action="send", message=QUICK + " again", client_id="c2")
    final = await socket.until_final()
    assert 'data-status="completed"' in final, server.log()[-3000:]
    assert "A worker process died; starting new ones." in server.log()
    [replacement] = await send_workers(server.process.pid)
    assert replacement != worker
    stored = cluster.shell(
        "from conversations.models import Message; "
        f"print(Message.objects.filter(thread_id={thread!r}, role='user').count())"
    )
    assert stored == "2"


async def test_a_refused_send_is_told_in_the_senders_language(cluster, alice):
    thread = cluster.thread_create()
    socket = await alice.socket(thread, language="zh-Hans")
    await socket.send(action="send", message="长" * (LIMIT + 1), client_id="c1")
    error = await socket.until(lambda t: 'id="composer-error"' in t)
    with translation.override("zh-hans"):
        told = MESSAGE_TOO_LONG.format(limit=LIMIT, length=LIMIT + 1)
    assert told != MESSAGE_TOO_LONG.format(limit=LIMIT, length=LIMIT + 1)
    assert escape(told) in error
    stored = cluster.shell(
        "from conversations.models import Message; "
        f"print(Message.objects.filter(thread_id={thread!r}).count())"
    )
    assert stored == "0"


async def test_a_teams_viewer_may_read_but_not_send(cluster):
    thread = cluster.thread_shared(role="viewer")
    bob = await Client(cluster.processes[0].url).login("bob")
    try:
        socket = await bob.socket(thread)
        await socket.send(action="send", message="may I?", client_id="c1")
        error = await socket.until(lambda t: 'id="composer-error"' in t)
        assert escape(str(NOT_ALLOWED)) in error
    finally:
        await bob.close()


async def test_a_killed_server_takes_its_workers_with_it(cluster, alice):
    doomed = cluster.start("doomed")
    await alice.socket(cluster.thread_create(), via=doomed.url)
    workers = await send_workers(doomed.process.pid)
    helpers = descendants(doomed.process.pid)  # the workers' forkserver too
    assert set(workers) < set(helpers)
    doomed.kill()
    async with asyncio.timeout(30):
        while True:
            if not any(alive(p) for p in helpers):
                break
            await asyncio.sleep(0.05)

"""Several Daphne processes sharing PostgreSQL and Redis, as production runs.

Real separate processes (tests/production/cluster.py): a reply generated on one
is watched live on another, stopped from another, and a process killed
mid-reply leaves that reply marked interrupted by another's sweep.
"""

import asyncio
import json
import re
from collections.abc import Iterator

import pytest
from redis.asyncio import Redis

from simulator import SimulatorServer
from simulator.answers import token_answer
from tests.production.cluster import (
    Client,
    Cluster,
    Socket,
    cluster_running,
    needs_production,
)

pytestmark = needs_production
SECRET_KEY = "cluster-test-secret-key-0123456789-abcdefghijklmnop"
# Short enough that a dead process's reply is swept within a test's patience,
# long enough that a process busy starting up is not taken for dead.
FAST_SWEEP = {
    # Viewers of a process that died are forgotten after this (seconds).
    "CHAT_PRESENCE_STALE_S": "6",
    "CHAT_SWEEP_INTERVAL_S": "0.5",
    "CHAT_STALE_AFTER_S": "5",
    "CHAT_SAVE_INTERVAL_MS": "100",
    "CHAT_FRAME_INTERVAL_MS": "30",
    "SECRET_KEY": SECRET_KEY,
}


@pytest.fixture(scope="module")
def cluster(upstream_server: SimulatorServer) -> Iterator[Cluster]:
    with cluster_running(
        upstream_server.base_url, ["a", "b"], extra_env=FAST_SWEEP
    ) as cluster:
        yield cluster


def is_frame(text: str) -> bool:
    return text.startswith("{") and json.loads(text).get("t") == "frame"


async def first_frame(socket: Socket) -> dict:
    return json.loads(await socket.until(is_frame))


async def test_a_viewer_on_another_process_sees_the_reply_live(cluster, alice):
    a, b = cluster.processes[:2]
    thread = cluster.thread_create()
    writer = await alice.socket(thread, via=a.url)
    viewer = await alice.socket(thread, via=b.url)
    await writer.send(
        action="send",
        message="[[pace:ttft=0,tps=100]] [[tokens:60]] go",
        client_id="c1",
    )
    final = await viewer.until_final()
    frames = [f for f in viewer.frames() if f["t"] == "frame"]
    # Frames came while the reply was written, in order, before its end.
    assert len(frames) > 1
    assert [f["seq"] for f in frames] == sorted(f["seq"] for f in frames)
    assert 'data-status="completed"' in final, final + a.log() + b.log()
    assert "".join(token_answer(60)) in final


async def test_stop_pressed_on_another_process_stops_the_generation(cluster, alice):
    a, b = cluster.processes[:2]
    thread = cluster.thread_create()
    writer = await alice.socket(thread, via=a.url)
    stopper = await alice.socket(thread, via=b.url)
    await writer.send(
        action="send",
        message="[[pace:ttft=0,tps=20]] [[tokens:400]] go",
        client_id="c1",
    )
    reply_id = (await first_frame(stopper))["id"]
    await stopper.send(action="stop", reply=str(reply_id))
    final = await stopper.until_final()
    assert 'data-status="stopped"' in final
    # The writer's process, not only the viewer's page, saw the stop.
    try:
        assert 'data-status="stopped"' in await writer.until_final()
    except TimeoutError:
        raise AssertionError(a.log()[-5000:] + str(writer.received[-3:])) from None
    state = cluster.reply_state(reply_id)
    assert state["status"] == "stopped"
    assert 0 < len(state["text"].split()) < 400


async def test_a_page_joining_another_process_mid_reply_follows_it_live(cluster, alice):
    a, b = cluster.processes[:2]
    thread = cluster.thread_create()
    writer = await alice.socket(thread, via=a.url)
    paragraphs = "\n\n".join(f"Paragraph {i} has five words." for i in range(80))
    await writer.send(
        action="send",
        message="[[echo]][[pace:ttft=0,tps=20]]" + paragraphs,
        client_id="c1",
    )
    # Once part of the reply is final (stable), a page rendered now is behind it.
    await writer.until(lambda t: is_frame(t) and json.loads(t)["add"] != "")
    late = await alice.socket(thread, via=b.url)
    await late.send(action="sync")  # what the page sends when its socket opens
    snap = json.loads(
        await late.until(lambda t: t.startswith("{") and json.loads(t)["t"] == "snap")
    )
    assert snap["n"] > 0
    assert "Paragraph 0 has five words." in snap["stable"]
    following = json.loads(await late.until(is_frame))
    assert following["seq"] > snap["seq"]
    assert following["at"] >= snap["n"]
    final = await late.until_final()
    assert 'data-status="completed"' in final
    assert "Paragraph 79 has five words." in final


async def test_a_killed_process_leaves_its_reply_interrupted_not_spinning(
    cluster, alice
):
    b = cluster.processes[1]
    doomed = cluster.start("doomed")
    thread = cluster.thread_create()
    writer = await alice.socket(thread, via=doomed.url)
    viewer = await alice.socket(thread, via=b.url)
    await writer.send(
        action="send",
        message="[[pace:ttft=0,tps=20]] [[tokens:2000]] go",
        client_id="c1",
    )
    reply_id = (await first_frame(viewer))["id"]
    # Until some partial text is stored (saved every 100 ms while it streams).
    while not cluster.reply_state(reply_id)["text"]:
        await viewer.until(is_frame)
    doomed.kill()
    try:
        final = await viewer.until_final(wait=60)
    except ConnectionError:
        raise AssertionError(b.log()) from None
    assert 'data-status="interrupted"' in final
    state = cluster.reply_state(reply_id)
    assert state["status"] == "interrupted"
    assert state["error_category"] == "process_lost"
    assert state["text"], "the partial text is kept"
    assert state["text"].split()[0] in final


async def published_until(listener, predicate, wait: float = 30) -> list[dict]:
    """What the processes published on a thread's Redis channel, up to and
    including the first event `predicate` accepts."""
    events: list[dict] = []
    async with asyncio.timeout(wait):
        while True:
            message = await listener.get_message(
                ignore_subscribe_messages=True, timeout=wait
            )
            if message is None:
                continue
            events.append(json.loads(message["data"]))
            if predicate(events[-1]):
                return events


def is_end(event: dict) -> bool:
    """The reply's final markup (a new turn's has its completed user message)."""
    return 'data-role="assistant" data-status="completed"' in event.get("text", "")


async def test_frames_go_through_redis_only_while_another_process_watches(
    cluster, alice
):
    a, b = cluster.processes[:2]
    thread = cluster.thread_create()
    redis = Redis.from_url(cluster.env["REDIS_URL"])
    listener = redis.pubsub()
    await listener.subscribe(f"qtc.thread.{thread}")
    try:
        writer = await alice.socket(thread, via=a.url)
        reply = "[[pace:ttft=0,tps=100]] [[tokens:60]] go"
        await writer.send(action="send", message=reply, client_id="c1")
        assert len(await _frames_until_final(writer)) > 1
        # The reply's end is published after all its frames, in order: none was.
        alone = await published_until(listener, is_end)
        assert not [e for e in alone if "reply" in e and not is_end(e)]
        assert any('data-role="user"' in e.get("text", "") for e in alone[:-1])

        viewer = await alice.socket(thread, via=b.url)
        # B announces its viewer; A's answer shows A has heard of it.
        announced = await published_until(listener, lambda e: "ask" in e)
        await published_until(listener, lambda e: "names" in e and "ask" not in e)
        assert announced[-1]["names"] == ["alice"]
        await writer.send(action="send", message=reply, client_id="c2")
        final = await viewer.until_final()
        assert "".join(token_answer(60)) in final
        live = [f for f in viewer.frames() if f["t"] == "frame"]
        assert len(live) > 1 and live[0]["at"] == 0, "followed from its first frame"
        watched = await published_until(listener, is_end)
        assert len([e for e in watched if e.get("reply") and not is_end(e)]) > 1
    finally:
        await listener.aclose()
        await redis.aclose()


async def _frames_until_final(socket: Socket) -> list[dict]:
    await socket.until_final()
    return [f for f in socket.frames() if f["t"] == "frame"]


def presence_names(text: str) -> list[str] | None:
    if not text.startswith('<div id="presence"'):
        return None
    return re.findall(r'data-testid="presence-user">([^<]*)<', text)


async def presence_becomes(socket: Socket, names: list[str], wait: float = 10) -> None:
    await socket.until(lambda t: presence_names(t) == names, wait=wait)


async def test_viewers_on_every_process_see_each_other_and_the_dead_go(cluster, alice):
    a = cluster.processes[0]
    doomed = cluster.start("presence-doomed")
    thread = cluster.thread_shared()
    bob = await Client(a.url).login("bob")
    try:
        alice_on_a = await alice.socket(thread, via=a.url)
        await presence_becomes(alice_on_a, ["alice"])
        bob_on_doomed = await bob.socket(thread, via=doomed.url)
        # Bob is on another process: each page hears of the other through Redis.
        await presence_becomes(alice_on_a, ["alice", "bob"])
        await presence_becomes(bob_on_doomed, ["alice", "bob"])
        doomed.kill()
        # No goodbye from a killed process: its viewers expire.
        await presence_becomes(alice_on_a, ["alice"], wait=30)
    finally:
        await bob.close()


def test_no_process_logged_a_secret(cluster):
    logs = "".join(process.log() for process in cluster.processes)
    assert "sk-simulator" not in logs
    assert SECRET_KEY not in logs

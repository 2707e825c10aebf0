"""Frames of every reply in a process, in rounds (conversations/flusher.py)."""

import asyncio
import json
import time
from unittest.mock import ANY

from conversations import flusher as flusher_module
from conversations.flusher import FrameFlusher
from conversations.live import LiveReply

ITEMS = 600


async def test_a_reply_with_expensive_frames_is_held_back_not_the_others(
    monkeypatch, settings
):
    """A long loose list being written is rendered whole on every frame: that reply
    gets fewer frames, a prose reply beside it gets one per round, and the
    list's last frame still shows all of it."""
    settings.CHAT_FRAME_INTERVAL_MS = 20
    sent: dict[int, list[dict]] = {1: [], 2: []}
    arrived = asyncio.Event()

    async def record(thread_id, text, *, reply_id=None, seq=0):
        sent[reply_id].append(json.loads(text))
        arrived.set()
        return True

    monkeypatch.setattr(flusher_module, "broadcast_quietly", record)
    frames = FrameFlusher()
    prose = LiveReply(1, "thread-a", text="Words")
    listing = LiveReply(2, "thread-b", text="Points:\n\n")
    listing.text += "".join(f"- point {n}, with *emphasis*\n\n" for n in range(ITEMS))

    for step in range(10):
        prose.text += f" word{step}"
        listing.text += f"- point {ITEMS + step}, with *emphasis*\n\n"
        frames.poke(prose)
        frames.poke(listing)
        while len(sent[1]) <= step:
            arrived.clear()
            await arrived.wait()

    assert len(sent[1]) == 10
    assert 1 <= len(sent[2]) < len(sent[1])
    while f"point {ITEMS + 9}," not in sent[2][-1]["tail"]:
        arrived.clear()
        await arrived.wait()
    assert frames.dirty == {}


async def test_a_discarded_reply_sends_no_frame_even_if_it_was_due_this_round(
    monkeypatch, settings
):
    settings.CHAT_FRAME_INTERVAL_MS = 20
    sent: list[int] = []
    first_sending = asyncio.Event()
    release = asyncio.Event()

    async def record(thread_id, text, *, reply_id=None, seq=0):
        sent.append(reply_id)
        first_sending.set()
        await release.wait()
        return True

    monkeypatch.setattr(flusher_module, "broadcast_quietly", record)
    frames = FrameFlusher()
    first, second = LiveReply(1, "t1", text="One"), LiveReply(2, "t2", text="Two")
    frames.poke(first)
    frames.poke(second)
    await first_sending.wait()
    # While the round sends the first, the second ends: its final state wins.
    rounds = frames.task
    await frames.discard(second)
    release.set()
    await rounds
    assert sent == [1]


async def test_a_finished_reply_sends_only_text_not_yet_shown(monkeypatch, settings):
    settings.CHAT_FRAME_INTERVAL_MS = 20
    sent: list[dict] = []

    async def record(thread_id, text, *, reply_id=None, seq=0):
        sent.append(json.loads(text))
        return True

    monkeypatch.setattr(flusher_module, "broadcast_quietly", record)
    frames = FrameFlusher()
    shown = LiveReply(1, "t1", text="Code:\n\n```python\nx = 1")
    frames.poke(shown)
    await frames.task
    assert len(sent) == 1

    html = await frames.finish(shown)

    # Nothing new to show: no frame; the reply's final rendering has colours.
    assert len(sent) == 1
    assert '<span class="mi">1</span>' in html
    unseen = LiveReply(2, "t2", text="The end")
    frames.poke(unseen)
    unseen.text += " of the river."
    await frames.finish(unseen)
    assert sent[1:] == [
        {"t": "frame", "id": 2, "seq": 1, "at": 0, "add": "", "tail": ANY}
    ]
    assert "The end of the river." in sent[1]["tail"]
    assert frames.dirty == {}


async def test_a_round_to_many_replies_is_followed_by_a_longer_pause(
    monkeypatch, settings
):
    """A frame costs the same whatever it carries: with hundreds of replies
    in a process, each gets fewer frames with more words in each."""
    settings.CHAT_FRAME_INTERVAL_MS = 20
    settings.CHAT_FRAME_RATE = 500
    sent_at: dict[int, list[float]] = {}
    all_sent = asyncio.Event()

    async def record(thread_id, text, *, reply_id=None, seq=0):
        sent_at.setdefault(reply_id, []).append(time.monotonic())
        if len(sent_at) == 50 and all(len(t) == 1 for t in sent_at.values()):
            all_sent.set()
        return True

    monkeypatch.setattr(flusher_module, "broadcast_quietly", record)
    frames = FrameFlusher()
    replies = [LiveReply(n, f"t{n}", text="Words") for n in range(50)]
    for live in replies:
        frames.poke(live)
    await all_sent.wait()
    for live in replies:
        live.text += " and more words"
        frames.poke(live)
    await frames.task

    first_round = min(times[0] for times in sent_at.values())
    second_round = min(times[1] for times in sent_at.values())
    # 50 frames at 500 a second: a tenth of a second, not the 20 ms interval.
    assert second_round - first_round >= 50 / 500

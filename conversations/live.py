"""Replies being generated in this process, and their rendered state."""

import asyncio
import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime

import orjson

from conversations.rendering import StreamingMarkdown


@dataclass
class LiveReply:
    """The state of a reply being generated in this process."""

    reply_id: int
    thread_id: str
    text: str = ""
    seq: int = 0
    # How many times the stable part grew: frames say which version they extend.
    stable_n: int = 0
    stable_html: str = ""
    tail_html: str = ""
    markdown: StreamingMarkdown = field(default_factory=StreamingMarkdown)
    task: asyncio.Task | None = None
    # The kept text of a cut reply being continued; new text is appended to it.
    prefix: str = ""
    first_token_at: datetime | None = None
    # When its text was last saved (conversations/checkpoints.py).
    saved_at: float = field(default_factory=time.monotonic)
    # The text it stored then (None: unknown); the next one appends to it.
    saved_text: str | None = None
    # What its frames cost lately (CPU seconds, smoothed), and no frame before
    # next_frame_at (time.monotonic()): see conversations/flusher.py.
    frame_cost: float = 0.0
    next_frame_at: float = 0.0
    # The text its last frame showed.
    framed_text: str = ""
    # Its message's only reply (a send's or an edit's): it stays so, as no
    # sibling can be added while it is written, so its end looks none up.
    lone: bool = False

    def render(self, *, final: bool = False) -> tuple[str, str]:
        """Advance the rendering to the current text; return (added stable, tail)."""
        self.framed_text = self.text
        frame = self.markdown.feed(self.text, final=final)
        previous = self.stable_html
        self.stable_html, self.tail_html = frame.stable_html, frame.tail_html
        self.seq += 1
        if frame.stable_html != previous:
            self.stable_n += 1
        if frame.stable_html.startswith(previous):
            return frame.stable_html[len(previous) :], frame.tail_html
        return "", frame.tail_html

    def snapshot(self) -> str:
        return orjson.dumps(
            {
                "t": "snap",
                "id": self.reply_id,
                "seq": self.seq,
                "n": self.stable_n,
                "stable": self.stable_html,
                "tail": self.tail_html,
            }
        ).decode()


# Strong references: a task nobody holds may be garbage-collected mid-reply.
running: dict[int, LiveReply] = {}


def live_reply(reply_id: int) -> LiveReply | None:
    return running.get(reply_id)


# The reply being written by the current task, for log lines (see chatsite.logs).
current_reply: ContextVar[str] = ContextVar("current_reply", default="")

"""Who is viewing a thread now, and closing sockets whose access is gone.

Presence lives in the sockets, not the database: a socket that opens announces
itself to the thread's group (`presence.join`), every other socket answers the
newcomer directly (`presence.here`), and a closing socket says goodbye
(`presence.leave`). Each socket keeps its own list and renders it for its page.
Everything travels through the channel layer, so it spans server processes.
A process that dies without goodbyes leaves stale names until the page reloads;
that is the price of keeping no shared state.
"""

from typing import Any

from channels.db import database_sync_to_async
from django.http import Http404
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _

from conversations import access, generation
from conversations.hub import hub
from conversations.live import live_reply
from conversations.notify import user_group
from conversations.people import display_name

ACCESS_LOST = _("You no longer have access to this thread.")
# A close code htmx does not reconnect on (it retries only 1006 and 1011-1013).
CLOSE_ACCESS_LOST = 4403


def presence_html(names: list[str], *, oob: bool = False) -> str:
    return render_to_string(
        "conversations/_presence.html", {"names": names, "oob": oob}
    )


def access_notice_html(text: str) -> str:
    return render_to_string(
        "conversations/_access_notice.html", {"notice": text, "oob": True}
    )


class CoViewing:
    """Mixed into the thread consumer: presence and access re-checks."""

    # Provided by the consumer.
    channel_layer: Any
    channel_name: str
    scope: dict[str, Any]
    group: str
    thread: Any
    snapshot_seq: dict[int, int]

    async def co_viewing_start(self) -> None:
        user = self.scope["user"]
        self.viewer_name = display_name(user)
        self.viewers: dict[str, str] = {self.channel_name: self.viewer_name}
        self.user_group = user_group(user.pk)
        await self.channel_layer.group_add(self.user_group, self.channel_name)
        await self.channel_layer.group_send(
            self.group,
            {
                "type": "presence.join",
                "channel": self.channel_name,
                "name": self.viewer_name,
            },
        )

    async def co_viewing_stop(self) -> None:
        if not hasattr(self, "user_group"):
            return
        await self.channel_layer.group_discard(self.user_group, self.channel_name)
        await self.channel_layer.group_send(
            self.group, {"type": "presence.leave", "channel": self.channel_name}
        )
        del self.user_group

    async def presence_join(self, event: dict[str, Any]) -> None:
        self.viewers[event["channel"]] = event["name"]
        if event["channel"] != self.channel_name:
            await self.channel_layer.send(
                event["channel"],
                {
                    "type": "presence.here",
                    "channel": self.channel_name,
                    "name": self.viewer_name,
                },
            )
        await self._presence_show()

    async def presence_here(self, event: dict[str, Any]) -> None:
        self.viewers[event["channel"]] = event["name"]
        await self._presence_show()

    async def presence_leave(self, event: dict[str, Any]) -> None:
        if self.viewers.pop(event["channel"], None) is not None:
            await self._presence_show()

    async def _presence_show(self) -> None:
        # One name per person, however many tabs they have open.
        names = sorted(set(self.viewers.values()), key=str.casefold)
        await self.send(text_data=presence_html(names, oob=True))

    async def access_check(self, event: dict[str, Any]) -> None:
        """Someone's access may have shrunk: ask again, close if it has."""
        try:
            await database_sync_to_async(access.thread_for_reader)(
                self.scope["user"], self.thread.pk
            )
        except Http404:
            # Nothing more of the thread reaches this socket from now on.
            await hub().leave(str(self.thread.pk), self)
            await self.send(text_data=access_notice_html(ACCESS_LOST))
            await self.channel_layer.group_discard(self.group, self.channel_name)
            await self.co_viewing_stop()
            await self.close(code=CLOSE_ACCESS_LOST)

    # --- replies generated in another server process -------------------------
    # Only the process running a generation holds its rendered state and its
    # task; the others reach it through the thread's group. Every socket in
    # that process answers; the newcomer keeps the first snapshot of each
    # sequence number and drops frames it already covers.

    async def ask_for_snapshot(self, reply_id: int) -> None:
        await self.channel_layer.group_send(
            self.group,
            {"type": "reply.snapshot", "reply": reply_id, "to": self.channel_name},
        )

    async def reply_snapshot(self, event: dict[str, Any]) -> None:
        live = live_reply(event["reply"])
        if live is not None and live.thread_id == str(self.thread.pk):
            await self.channel_layer.send(
                event["to"],
                {
                    "type": "snapshot.deliver",
                    "reply": live.reply_id,
                    "seq": live.seq,
                    "text": live.snapshot(),
                },
            )

    async def snapshot_deliver(self, event: dict[str, Any]) -> None:
        # Several sockets of the generating process may answer: keep the
        # newest, and let later frames it already covers be dropped.
        if event["seq"] <= self.snapshot_seq.get(event["reply"], 0):
            return
        self.snapshot_seq[event["reply"]] = event["seq"]
        await self.send(text_data=event["text"])

    async def ask_to_stop(self, reply_id: int) -> None:
        """Called only after this socket's user was authorised to stop it."""
        await self.channel_layer.group_send(
            self.group, {"type": "reply.stop", "reply": reply_id}
        )

    async def reply_stop(self, event: dict[str, Any]) -> None:
        live = live_reply(event["reply"])
        if live is not None and live.thread_id == str(self.thread.pk):
            generation.reply_stop(live.reply_id)

"""Who is viewing a thread now, and closing sockets whose access is gone.

Presence is kept by the process's hub (conversations/hub.py), which knows the
sockets of each thread on this process and hears of the others': a socket
joins it as it connects and leaves as it closes. Nothing is stored.
"""

from typing import Any

from channels.db import database_sync_to_async
from django.http import Http404
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from conversations import access
from conversations.hub import hub
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
        """Before the socket is accepted: from then on it gets the thread's
        broadcasts and counts as a viewer."""
        user = self.scope["user"]
        self.viewer_name = display_name(user)
        # Presence is rendered for each socket in its page's language.
        self.viewer_language = translation.get_language()
        self.presence_shown: list[str] | None = None
        self.user_group = user_group(user.pk)
        await self.channel_layer.group_add(self.user_group, self.channel_name)
        await hub().join(str(self.thread.pk), self)

    async def co_viewing_stop(self) -> None:
        if not hasattr(self, "user_group"):
            return
        await hub().leave(str(self.thread.pk), self)
        await self.channel_layer.group_discard(self.user_group, self.channel_name)
        del self.user_group

    async def access_check(self, event: dict[str, Any]) -> None:
        """Someone's access may have shrunk: ask again, close if it has."""
        try:
            await database_sync_to_async(access.thread_for_reader)(
                self.scope["user"], self.thread.pk
            )
        except Http404:
            # Nothing more of the thread reaches this socket from now on.
            await self.co_viewing_stop()
            await self.send(text_data=access_notice_html(ACCESS_LOST))
            await self.channel_layer.group_discard(self.group, self.channel_name)
            await self.close(code=CLOSE_ACCESS_LOST)

    # --- replies generated in another server process -------------------------
    # Only the process running a generation holds its rendered state; a page
    # on another process asks it for a snapshot through the reply's control
    # group (conversations/control.py), which answers here.

    async def snapshot_deliver(self, event: dict[str, Any]) -> None:
        # Keep the newest snapshot, and let later frames it covers be dropped.
        if event["seq"] <= self.snapshot_seq.get(event["reply"], 0):
            return
        self.snapshot_seq[event["reply"]] = event["seq"]
        await self.send(text_data=event["text"])

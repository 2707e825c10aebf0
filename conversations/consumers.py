"""The thread websocket: authorise on connect, validate each message, hand off."""

import json
import logging
from typing import Any

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from conversations import access, control, generation, ratelimit, sends, services
from conversations.broadcast import thread_broadcast, thread_group
from conversations.frames import (
    composer_error_html,
    messages_append_html,
    messages_replace_html,
    reply_final_html,
)
from conversations.live import live_reply
from conversations.models import Message, Thread
from conversations.presence import CoViewing
from conversations.resilience import TRANSIENT, with_db_retry
from conversations.selectors import thread_path
from conversations.wire import WireSocket, text_frame

logger = logging.getLogger(__name__)

MAX_FRAME_CHARS = 256 * 1024
UNKNOWN_ACTION = _("That action is not known.")
MALFORMED = _("That message could not be read.")
TOO_LARGE = _("That message is too large to send.")
NOT_ALLOWED = _("You cannot do that in this thread.")
NO_SUCH_REPLY = _("That reply is not in this thread.")
NO_SUCH_MESSAGE = _("That message is not in this thread.")
NOT_SAVED = _(
    "The server could not reach its database just now, so this was not done. "
    "Anything you typed is still in the box: try again in a moment."
)
INTERNAL = _("Something went wrong on the server; nothing was changed. Try again.")
# Actions that change the thread: a teammate with the viewer role may not.
POSTING_ACTIONS = frozenset(
    {"send", "stop", "regenerate", "edit", "switch", "continue"}
)
# Checked before the handler runs. A send checks as it stores, in the same
# trip to the database thread: the busiest action pays for one trip, not two.
CHECKED_FIRST = POSTING_ACTIONS - {"send"}


class ThreadConsumer(CoViewing, AsyncWebsocketConsumer):
    thread: Thread

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # reply id -> sequence number of the last snapshot sent to this page.
        self.snapshot_seq: dict[int, int] = {}
        self.wire: WireSocket | None = None

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels closes stale database connections before every message, a
        # hop through the one database thread: per streamed frame, per viewer,
        # that queue became the bottleneck of the whole process. Every query
        # here goes through database_sync_to_async, which does it anyway.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self) -> None:
        thread_id = self.scope["url_route"]["kwargs"]["thread_id"]
        try:
            self.thread = await database_sync_to_async(access.thread_for_reader)(
                self.scope["user"], thread_id
            )
        except Http404:
            await self.close()
            return
        self.group = thread_group(self.thread.pk)
        if not await self._join_group():
            # Refused: the page's socket retries with backoff (htmx reconnects).
            await self.close(code=1011)
            return
        await self.co_viewing_start()
        await self.accept()
        self.wire = WireSocket.of(self.base_send)

    async def _join_group(self) -> bool:
        # After a Redis restart the pool still holds dead connections: the
        # first command fails and drops one, so a second try usually succeeds.
        for attempt in range(2):
            try:
                await self.channel_layer.group_add(self.group, self.channel_name)
                return True
            except Exception as exc:
                logger.warning(
                    "Channel layer unavailable on connect (try %d): %r",
                    attempt + 1,
                    exc,
                )
        return False

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            try:
                await self.channel_layer.group_discard(self.group, self.channel_name)
            except Exception as exc:  # the group entry expires on its own
                logger.warning("Channel layer unavailable on disconnect: %r", exc)
            await self.co_viewing_stop()

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None
    ) -> None:
        if not ratelimit.frame_allowed(self.scope["user"].pk):
            # One notice per flood: answering every refused frame would let a
            # client turn the flood back on itself and on the server.
            if not getattr(self, "flood_noticed", False):
                self.flood_noticed = True
                await self._error(ratelimit.TOO_FAST)
            return
        self.flood_noticed = False
        try:
            await self._dispatch(text_data)
        except TRANSIENT as exc:
            logger.warning("Database unavailable for a websocket action: %s", exc)
            await self._error(NOT_SAVED)
        except Http404:
            await self._error(NOT_ALLOWED)
        except Exception:
            # The socket stays up and the client learns nothing of the
            # internals; the operator gets the traceback.
            logger.exception("Websocket action failed in thread %s.", self.thread.pk)
            await self._error(INTERNAL)

    async def _dispatch(self, text_data: str | None) -> None:
        if text_data is None or len(text_data) > MAX_FRAME_CHARS:
            await self._error(TOO_LARGE)
            return
        try:
            content = json.loads(text_data)
        except (ValueError, RecursionError):  # deep nesting is a hostile frame too
            await self._error(MALFORMED)
            return
        if not isinstance(content, dict):
            await self._error(MALFORMED)
            return
        action = content.get("action") or "send"
        handler = {
            "send": self._send_message,
            "stop": self._stop,
            "regenerate": self._regenerate,
            "edit": self._edit,
            "switch": self._switch,
            "sync": self._resync,
            "continue": self._continue,
        }.get(action if isinstance(action, str) else "")
        if handler is None:
            await self._error(UNKNOWN_ACTION)
            return
        # Rights are read fresh for every action: a role may have changed
        # since the socket opened (each handler checks again as it writes).
        if action in CHECKED_FIRST and not await self._may_post():
            await self._error(NOT_ALLOWED)
            return
        await handler(content)

    @database_sync_to_async
    def _may_post(self) -> bool:
        try:
            with_db_retry(
                lambda: access.thread_for_poster(self.scope["user"], self.thread.pk),
                what="checking a poster's rights",
            )
        except Http404:
            return False
        return True

    async def thread_send(self, event: dict[str, Any]) -> None:
        # Through Redis a frame broadcast before this socket's snapshot can
        # arrive after it: the snapshot already holds it, so it is dropped.
        reply = event.get("reply")
        if reply is not None and event["seq"] <= self.snapshot_seq.get(reply, 0):
            return
        if self.wire is not None and self.wire.write(text_frame(event["text"])):
            return
        try:
            await self.send(text_data=event["text"])
        except Exception as exc:
            # The socket closed between the broadcast and its delivery: the
            # page resyncs when it reconnects, so there is nothing to do.
            logger.debug("Frame for a closed socket dropped: %r", exc)

    async def _error(self, text: str) -> None:
        await self.send(text_data=composer_error_html(text))

    async def _broadcast(self, html: str) -> None:
        """To every viewer (what was stored must reach them all)."""
        await thread_broadcast(self.thread.pk, html)

    async def _send_message(self, content: dict[str, Any]) -> None:
        text, client_id = content.get("message"), content.get("client_id") or ""
        if not isinstance(text, str) or not isinstance(client_id, str):
            await self._error(MALFORMED)
            return
        try:
            sent, html, turn = await sends.message_send_trip(
                sends.Send(
                    author=self.scope["user"],
                    thread=self.thread,
                    text=text,
                    client_id=client_id,
                    attachment_ids=_attachment_ids(content.get("attachments")),
                )
            )
        except Http404:
            await self._error(NOT_ALLOWED)
            return
        except services.MessageInvalid as exc:
            await self._error(str(exc))
            return
        if not sent.created:
            # A replay (reconnect, double send): the turn exists; just resync.
            await self._resync({})
            return
        if html:
            await self._broadcast(html)
        await self.send(text_data=composer_error_html(""))
        generation.reply_start(sent.reply.pk, self.thread.pk, turn=turn, lone=True)

    def _reply_for(self, content: dict[str, Any]) -> Message:
        thread = access.thread_for_poster(self.scope["user"], self.thread.pk)
        return access.message_in_thread(thread, content.get("reply"))

    async def _stop(self, content: dict[str, Any]) -> None:
        try:
            reply = await database_sync_to_async(self._reply_for)(content)
        except Http404:
            await self._error(NO_SUCH_REPLY)
            return
        if not generation.reply_stop(reply.pk):
            # Not generated in this process: the one generating it stops it,
            # reached through the reply's group (conversations/control.py:
            # works with no socket open there).
            await control.reply_stop_anywhere(reply.pk)

    async def _regenerate(self, content: dict[str, Any]) -> None:
        try:
            reply, html = await database_sync_to_async(self._store_regenerate)(content)
        except Http404:
            await self._error(NO_SUCH_REPLY)
            return
        except services.MessageInvalid as exc:
            await self._error(str(exc))
            return
        await self._broadcast(html)
        generation.reply_start(reply.pk, self.thread.pk)

    def _store_regenerate(self, content: dict[str, Any]) -> tuple[Message, str]:
        reply = self._reply_for(content)
        new_reply = services.reply_regenerate(thread=reply.thread, reply=reply)
        return new_reply, messages_replace_html(thread_path(new_reply.thread))

    async def _edit(self, content: dict[str, Any]) -> None:
        text, client_id = content.get("message"), content.get("client_id") or ""
        if not isinstance(text, str) or not isinstance(client_id, str):
            await self._error(MALFORMED)
            return
        try:
            sent, html = await database_sync_to_async(self._store_edit)(
                content.get("target"), text, client_id
            )
        except Http404:
            await self._error(NO_SUCH_MESSAGE)
            return
        except services.MessageInvalid as exc:
            await self._error(str(exc))
            return
        if not sent.created:
            await self._resync({})
            return
        await self._broadcast(html)
        await self.send(text_data=composer_error_html(""))
        generation.reply_start(sent.reply.pk, self.thread.pk, lone=True)

    def _store_edit(
        self, target: object, text: str, client_id: str
    ) -> tuple[services.Sent, str]:
        thread = access.thread_for_poster(self.scope["user"], self.thread.pk)
        message = access.message_in_thread(thread, target)
        sent = services.message_edit(
            thread=thread,
            message=message,
            author=self.scope["user"],
            text=text,
            client_id=client_id,
        )
        return sent, messages_replace_html(thread_path(sent.reply.thread))

    async def _switch(self, content: dict[str, Any]) -> None:
        try:
            html = await database_sync_to_async(self._store_switch)(content.get("to"))
        except Http404:
            await self._error(NO_SUCH_MESSAGE)
            return
        except services.MessageInvalid as exc:
            await self._error(str(exc))
            return
        # The path is the thread's, so every viewer follows the switch.
        await self._broadcast(html)

    def _store_switch(self, target: object) -> str:
        thread = access.thread_for_poster(self.scope["user"], self.thread.pk)
        message = access.message_in_thread(thread, target)
        thread = services.thread_switch_branch(thread=thread, message=message)
        return messages_replace_html(thread_path(thread))

    async def _resync(self, content: dict[str, Any]) -> None:
        """Bring a (re)connected page up to date: missing messages, live replies."""
        try:
            html, streaming = await database_sync_to_async(self._resync_state)(
                content.get("after")
            )
        except Http404:
            await self.access_check({})
            return
        if html:
            await self.send(text_data=html)
        for reply in streaming:
            live = live_reply(reply.pk)
            if live is not None:
                self.snapshot_seq[live.reply_id] = live.seq
                await self.send(text_data=live.snapshot())
            else:
                # Being generated in another server process: ask over there
                # (it answers with `snapshot.deliver`).
                await control.reply_snapshot_request(reply.pk, self.channel_name)

    def _resync_state(self, after: object) -> tuple[str, list[Message]]:
        thread = access.thread_for_reader(self.scope["user"], self.thread.pk)
        path = thread_path(thread)
        ids = [str(m.pk) for m in path]
        streaming = [m for m in path if m.status == Message.Status.STREAMING]
        after = str(after) if after not in (None, "") else ""
        if after and after in ids:
            missing = path[ids.index(after) + 1 :]
            return (messages_append_html(missing) if missing else ""), streaming
        if not after and not path:
            return "", streaming
        return messages_replace_html(path), streaming

    async def _continue(self, content: dict[str, Any]) -> None:
        """Append to a cut reply (interrupted, stopped, cut short) in place."""
        try:
            reply = await database_sync_to_async(self._store_continue)(content)
        except Http404:
            await self._error(NO_SUCH_REPLY)
            return
        except services.MessageInvalid as exc:
            await self._error(str(exc))
            return
        # Started before the markup is rendered, so the markup shows the live
        # state (the kept text) that the first frame continues.
        generation.reply_start(reply.pk, self.thread.pk, continue_from=reply.text)
        html = await database_sync_to_async(reply_final_html)(reply)
        await self._broadcast(html)

    def _store_continue(self, content: dict[str, Any]) -> Message:
        reply = self._reply_for(content)
        return services.reply_continue(thread=reply.thread, reply=reply)


def _attachment_ids(raw: object) -> list[int]:
    """Ids of uploads sent with a message: "3,4" from the form, or a list."""
    parts = raw.split(",") if isinstance(raw, str) else raw
    if not isinstance(parts, list):
        return []
    ids = []
    for part in parts[:16]:
        try:
            ids.append(int(str(part).strip()))
        except ValueError:
            continue
    return ids

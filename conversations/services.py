"""Writes: every change to threads and messages goes through these functions."""

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from conversations import access
from conversations.models import (
    Message,
    Thread,
    ToolCall,
    ToolDefaults,
    UpstreamResponse,
)
from conversations.notify import thread_access_changed
from conversations.rendering import render_markdown
from conversations.selectors import latest_leaf_under

EMPTY_MESSAGE = _("Type a message before sending.")
MESSAGE_TOO_LONG = _(
    "Messages are limited to {limit:,} characters; this one has {length:,}."
)
REPLY_IN_PROGRESS = _(
    "A reply is still being written in this thread: wait for it or press Stop."
)
TITLE_TOO_LONG = _("Titles are limited to 200 characters.")
NOT_RETRYABLE = _("Only a finished reply can be generated again.")
NOT_EDITABLE = _("Only a user message can be edited; a reply can be regenerated.")
UNCHANGED_EDIT = _("The message is unchanged: edit its text, or press Regenerate.")
BUSY_SWITCH = _("Wait for the reply being written, or stop it, before switching.")


class MessageInvalid(ValueError):
    """A send the app refuses; the message is meant for the user."""


@dataclass(frozen=True, slots=True)
class Sent:
    user_message: Message
    reply: Message
    created: bool


def thread_create(*, owner: AbstractBaseUser, model: str = "") -> Thread:
    return Thread.objects.create(
        owner=owner,
        model=model or settings.QWEN_MODEL,
        session_cache=settings.QWEN_SESSION_CACHE,
        **tool_defaults(),
    )


def thread_rename(*, thread: Thread, title: str) -> Thread:
    title = " ".join(title.split())
    if len(title) > 200:
        raise MessageInvalid(TITLE_TOO_LONG)
    thread.title = title
    thread.save(update_fields=["title", "updated_at"])
    return thread


def thread_archive(*, thread: Thread, archived: bool) -> Thread:
    thread.archived = archived
    thread.save(update_fields=["archived", "updated_at"])
    return thread


def thread_delete(*, thread: Thread) -> None:
    # Teammates watching it lose access: their sockets re-check and close.
    thread_access_changed(thread.pk)
    # Avoids an import cycle (attachments reads the context module).
    from conversations.attachments import thread_attachments_purge

    thread_attachments_purge(thread=thread)
    thread.delete()


def thread_update_settings(
    *,
    thread: Thread,
    model: str,
    instructions: str,
    temperature: float | None,
    top_p: float | None,
    session_cache: bool | None = None,
) -> Thread:
    thread.model = model
    thread.instructions = instructions
    thread.temperature = temperature
    thread.top_p = top_p
    fields = ["model", "instructions", "temperature", "top_p", "updated_at"]
    if session_cache is not None:
        thread.session_cache = session_cache
        fields.append("session_cache")
    thread.save(update_fields=fields)
    return thread


def title_from(text: str, *, limit: int = 60) -> str:
    words = " ".join(re.sub(r"\[\[[^\]]*\]\]", " ", text).split())
    if len(words) <= limit:
        return words
    cut = words[:limit].rsplit(" ", 1)[0] or words[:limit]
    return cut + "…"


def validate_message_text(text: str) -> str:
    if not text.strip():
        raise MessageInvalid(EMPTY_MESSAGE)
    limit = settings.CHAT_MAX_MESSAGE_CHARS
    if len(text) > limit:
        raise MessageInvalid(MESSAGE_TOO_LONG.format(limit=limit, length=len(text)))
    return text.strip()


def _settings_snapshot(thread: Thread) -> dict[str, Any]:
    return {
        "model": thread.model,
        "instructions": thread.instructions,
        "temperature": thread.temperature,
        "top_p": thread.top_p,
        "enable_thinking": thread.enable_thinking,
        "tools": thread.tools,
        "tool_choice": thread.tool_choice,
        "session_cache": thread.session_cache,
        # Labels only: an MCP server's URL and headers stay in its own row.
        "mcp_servers": sorted(s.label for s in thread.mcp_servers.all()),
    }


def _reply_create(thread: Thread, *, parent: Message) -> Message:
    now = timezone.now()
    reply = Message.objects.create(
        thread=thread,
        parent=parent,
        role=Message.Role.ASSISTANT,
        status=Message.Status.STREAMING,
        settings_used=_settings_snapshot(thread),
        heartbeat_at=now,
    )
    thread.active_leaf = reply
    thread.last_activity_at = now
    return reply


def _ensure_idle(thread: Thread) -> None:
    busy = thread.messages.filter(
        role=Message.Role.ASSISTANT, status=Message.Status.STREAMING
    ).exists()
    if busy:
        raise MessageInvalid(REPLY_IN_PROGRESS)


def _existing_send(thread: Thread, client_id: str) -> Sent | None:
    if not client_id:
        return None
    user_message = thread.messages.filter(
        client_id=client_id, role=Message.Role.USER
    ).first()
    return _replay_of(user_message)


def _replay_of(user_message: Message | None) -> Sent | None:
    if user_message is None:
        return None
    reply = user_message.children.order_by("created_at").first()
    if reply is None:
        return None
    return Sent(user_message, reply, created=False)


def _replay_or_ensure_idle(thread: Thread, client_id: str) -> Sent | None:
    """The earlier send of `client_id`, if any; else refuse while a reply is
    being written. One query for both: every send asks (under the lock)."""
    wanted = Q(role=Message.Role.ASSISTANT, status=Message.Status.STREAMING)
    if client_id:
        wanted |= Q(role=Message.Role.USER, client_id=client_id)
    found = list(thread.messages.filter(wanted))
    replay = _replay_of(next((m for m in found if m.role == Message.Role.USER), None))
    if replay is not None:
        return replay
    if any(m.role == Message.Role.ASSISTANT for m in found):
        raise MessageInvalid(REPLY_IN_PROGRESS)
    return None


def message_send(
    *, thread: Thread, author: AbstractBaseUser, text: str, client_id: str = ""
) -> Sent:
    """Store the user's message and an empty reply, before any upstream call.

    A `client_id` seen before returns the earlier send instead of a second turn.
    Http404, as `access` answers, if `author` may not post in `thread`.
    """
    client_id = client_id[:64]
    text = validate_message_text(text)
    try:
        # A replay is found under the thread's lock, with no query before.
        return _message_send_atomic(thread, author, text, client_id)
    except IntegrityError:
        # Two sockets raced with the same client id: the other one won.
        if existing := _existing_send(thread, client_id):
            return existing
        raise


def message_edit(
    *,
    thread: Thread,
    message: Message,
    author: AbstractBaseUser,
    text: str,
    client_id: str = "",
) -> Sent:
    """A new branch from an earlier user message: its edited text, a new reply.

    The original stays in the tree as a sibling the user can switch back to.
    """
    client_id = client_id[:64]
    if existing := _existing_send(thread, client_id):
        return existing
    if message.role != Message.Role.USER:
        raise MessageInvalid(NOT_EDITABLE)
    text = validate_message_text(text)
    if text == message.text:
        raise MessageInvalid(UNCHANGED_EDIT)
    try:
        return _message_send_atomic(thread, author, text, client_id, edited=message)
    except IntegrityError:
        if existing := _existing_send(thread, client_id):
            return existing
        raise


@transaction.atomic
def _message_send_atomic(
    thread: Thread,
    author: AbstractBaseUser,
    text: str,
    client_id: str,
    *,
    edited: Message | None = None,
) -> Sent:
    # The row lock serialises sends to one thread, so two replies never
    # interleave in its lineage; whether the author may post is read with it.
    thread = access.thread_for_poster_locked(author, thread.pk)
    # Checked again under the lock: a replay that waited for it while the
    # first send committed must return that send, not be refused as busy.
    if existing := _replay_or_ensure_idle(thread, client_id):
        return existing
    user_message = Message.objects.create(
        thread=thread,
        # An edit branches beside the edited message; a send continues the path.
        parent_id=edited.parent_id if edited else thread.active_leaf_id,
        role=Message.Role.USER,
        author=author,
        text=text,
        html=render_markdown(text),
        client_id=client_id,
    )
    reply = _reply_create(thread, parent=user_message)
    fields = ["active_leaf", "last_activity_at", "updated_at"]
    if not thread.title:
        thread.title = title_from(text)
        fields.append("title")
    thread.save(update_fields=fields)
    return Sent(user_message, reply, created=True)


@transaction.atomic
def reply_regenerate(*, thread: Thread, reply: Message) -> Message:
    """A new sibling of `reply`: another answer to the same user message."""
    thread = Thread.objects.select_for_update().get(pk=thread.pk)
    if reply.role != Message.Role.ASSISTANT or not reply.is_terminal:
        raise MessageInvalid(NOT_RETRYABLE)
    _ensure_idle(thread)
    new_reply = _reply_create(thread, parent=reply.parent)
    thread.save(update_fields=["active_leaf", "last_activity_at", "updated_at"])
    return new_reply


@transaction.atomic
def thread_switch_branch(*, thread: Thread, message: Message) -> Thread:
    """Show the alternative `message` (and the branch below it as last left)."""
    thread = Thread.objects.select_for_update().get(pk=thread.pk)
    if thread.messages.filter(status=Message.Status.STREAMING).exists():
        raise MessageInvalid(BUSY_SWITCH)
    thread.active_leaf = latest_leaf_under(message)
    thread.save(update_fields=["active_leaf", "updated_at"])
    return thread


@dataclass(frozen=True, slots=True)
class Progress:
    reply_id: int
    text: str
    first_token_at: datetime | None
    # How much of `text` is stored already (an earlier checkpoint's text): only
    # the rest is sent. None: store it whole.
    stored: int | None = None


def replies_save_progress(*, progress: list[Progress]) -> int:
    """Save streaming replies' partial texts, all in one transaction.

    Replies that ended meanwhile are left alone: their final save is the truth.
    One statement run for each reply (psycopg pipelines them into one round
    trip): the ORM's CASE over 150 replies cost ~100 ms of CPU per save, most
    of it building expressions, and this costs ~8 ms (bench/concurrency.py).
    A reply whose start is stored gets only its new text appended: sending the
    whole text every second made a long reply's saves grow with its length,
    and 150 of them at 2,500 words held the event loop for 100 ms a second.
    """
    if not progress:
        return 0
    connection = transaction.get_connection()
    adapt = connection.ops.adapt_datetimefield_value
    table = connection.ops.quote_name(Message._meta.db_table)
    now = adapt(timezone.now())
    whole, added = [], []
    for p in progress:
        row = (
            p.text[p.stored :] if p.stored is not None else p.text,
            now,
            adapt(p.first_token_at),
            p.reply_id,
            Message.Status.STREAMING,
        )
        (whole if p.stored is None else added).append(row)
    saved = 0
    with transaction.atomic(), connection.cursor() as cursor:
        for rows, text in ((whole, "%s"), (added, "text || %s")):
            if rows:
                cursor.executemany(
                    f"UPDATE {table} SET text = {text}, heartbeat_at = %s,"
                    " first_token_at = %s"
                    " WHERE id = %s AND status = %s",
                    rows,
                )
                saved += cursor.rowcount
    return saved


@dataclass(frozen=True, slots=True)
class ResponseRecord:
    response_id: str
    model: str
    status: str
    previous_response_id: str = ""
    conversation_id: str = ""
    usage: Any = None
    error_code: str = ""
    api: str = "responses"


@transaction.atomic
def reply_finish(
    *,
    reply_id: int,
    text: str,
    status: str,
    first_token_at: datetime | None,
    context_mode: str,
    responses: list[ResponseRecord],
    error_category: str = "",
    error_message: str = "",
    moderated: bool = False,
    conversation_tip: bool = False,
    new_conversation: str = "",
    html: str | None = None,
) -> Message:
    """Store the end of a reply: its text, status, usage and lineage.

    `html`: the text's rendering, when the caller has it already (a streamed
    reply's last frame is a full rendering; re-rendering a long answer here
    would hold up every other stream of the process). `new_conversation`:
    a Conversation created upstream for this reply, now the thread's."""
    reply = Message.objects.select_related("thread", "parent").get(pk=reply_id)
    reply.text = text
    reply.html = render_markdown(text) if html is None else html
    reply.status = status
    reply.first_token_at = first_token_at
    reply.finished_at = timezone.now()
    reply.context_mode = context_mode
    reply.error_category = error_category
    reply.error_message = error_message
    reply.moderated = moderated
    # Not its settings and lineage, which its start wrote: every reply ends
    # here, queued on the database thread behind the others.
    reply.save(
        update_fields=[
            "text",
            "html",
            "status",
            "first_token_at",
            "finished_at",
            "context_mode",
            "error_category",
            "error_message",
            "moderated",
        ]
    )
    if moderated and reply.parent_id:
        Message.objects.filter(pk=reply.parent_id).update(moderated=True)
    charged_user_id = _charged_user_id(reply)
    UpstreamResponse.objects.bulk_create(
        UpstreamResponse(
            message=reply,
            user_id=charged_user_id,
            response_id=record.response_id,
            previous_response_id=record.previous_response_id,
            conversation_id=record.conversation_id,
            model=record.model,
            status=record.status,
            error_code=record.error_code,
            api=record.api,
            input_tokens=getattr(record.usage, "input_tokens", 0),
            output_tokens=getattr(record.usage, "output_tokens", 0),
            reasoning_tokens=getattr(record.usage, "reasoning_tokens", 0),
            cached_tokens=getattr(record.usage, "cached_tokens", 0),
            total_tokens=getattr(record.usage, "total_tokens", 0),
            tool_counts=getattr(record.usage, "tool_counts", {}) or {},
        )
        for record in responses
    )
    thread = reply.thread
    if new_conversation:
        thread.conversation_id = new_conversation
        thread.conversation_tip = None
    if conversation_tip:
        thread.conversation_tip = reply
    elif (
        thread.conversation_tip_id and context_mode == Message.ContextMode.CONVERSATION
    ):
        # A turn through the Conversation that did not complete leaves its
        # server-side state unknown: later turns must not rely on it.
        thread.conversation_tip = None
    thread.last_activity_at = timezone.now()
    fields = ["conversation_tip", "last_activity_at", "updated_at"]
    thread.save(
        update_fields=[*fields, "conversation_id"] if new_conversation else fields
    )
    return reply


def thread_set_conversation(*, thread_id: object, conversation_id: str) -> None:
    Thread.objects.filter(pk=thread_id).update(
        conversation_id=conversation_id, conversation_tip=None
    )


# --- Continuing a cut reply (issue #9) -------------------------------------------

NOT_CONTINUABLE = (
    "Only a reply that was cut off (interrupted, stopped or cut short) can be "
    "continued; use Retry for a fresh answer."
)
NOT_LAST_REPLY = (
    "This reply already has a follow-up: only the last reply of a branch "
    "can be continued."
)


def reply_is_continuable(reply: Message) -> bool:
    """A cut reply with text to continue: what the Continue button offers."""
    if reply.role != Message.Role.ASSISTANT or not reply.text:
        return False
    if reply.status in (Message.Status.INTERRUPTED, Message.Status.STOPPED):
        return True
    return reply.status == Message.Status.FAILED and reply.error_category == (
        "incomplete"
    )


@transaction.atomic
def reply_continue(*, thread: Thread, reply: Message) -> Message:
    """Reopen a cut reply so that new text is appended to what it kept.

    The same message goes back to `streaming`: its kept text stays in place
    and its earlier upstream responses (and their usage) stay recorded.
    """
    thread = Thread.objects.select_for_update().get(pk=thread.pk)
    reply = Message.objects.select_for_update().get(pk=reply.pk, thread=thread)
    if not reply_is_continuable(reply):
        raise MessageInvalid(NOT_CONTINUABLE)
    if reply.children.exists():
        raise MessageInvalid(NOT_LAST_REPLY)
    _ensure_idle(thread)
    now = timezone.now()
    Message.objects.filter(pk=reply.pk).update(
        status=Message.Status.STREAMING,
        error_category="",
        error_message="",
        finished_at=None,
        heartbeat_at=now,
    )
    reply.refresh_from_db()
    thread.active_leaf = reply
    thread.last_activity_at = now
    thread.save(update_fields=["active_leaf", "last_activity_at", "updated_at"])
    return reply


def _charged_user_id(reply: Message) -> int | None:
    """Who a reply's tokens are charged to: who asked, else the thread's owner
    (`reply` loaded with its parent and thread)."""
    author_id = reply.parent.author_id if reply.parent is not None else None
    return author_id or reply.thread.owner_id


# --- Tools (issue #5) ------------------------------------------------------------


def tool_defaults() -> dict[str, Any]:
    """Tool settings of a new thread: the admin's defaults row, else the env."""
    row = ToolDefaults.objects.order_by("pk").first()
    if row is not None:
        return {
            "tools": list(row.tools),
            "enable_thinking": row.enable_thinking,
            "tool_choice": row.tool_choice,
        }
    return {
        "tools": list(settings.QWEN_DEFAULT_TOOLS),
        "enable_thinking": settings.QWEN_ENABLE_THINKING,
        "tool_choice": "auto",
    }


def thread_update_tools(
    *,
    thread: Thread,
    tools: list[str],
    enable_thinking: bool,
    tool_choice: str,
    mcp_servers: list[Any],
) -> Thread:
    thread.tools = list(tools)
    thread.enable_thinking = enable_thinking
    thread.tool_choice = tool_choice
    thread.save(update_fields=["tools", "enable_thinking", "tool_choice", "updated_at"])
    thread.mcp_servers.set(mcp_servers)
    return thread


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def tool_call_fields(item: dict[str, Any]) -> dict[str, Any]:
    """The audit columns of one output item, whatever its type.

    Shapes from the API guide (qwen-api/001) and reference (002); unknown types
    keep everything in `raw` and whatever common fields they share.
    """
    kind = str(item.get("type") or "")
    raw_action = item.get("action")
    action: dict[str, Any] = raw_action if isinstance(raw_action, dict) else {}
    fields: dict[str, Any] = {
        "type": kind,
        "item_id": str(item.get("id") or ""),
        "status": str(item.get("status") or ""),
        "name": str(item.get("name") or ""),
        "server_label": str(item.get("server_label") or ""),
        "call_id": str(item.get("call_id") or ""),
        "arguments": _text(item.get("arguments")),
        "raw": item,
    }
    if kind == "reasoning":
        fields["output"] = "\n\n".join(
            str(part.get("text") or "")
            for part in item.get("summary") or []
            if isinstance(part, dict)
        )
    query = action.get("query") or item.get("query") or item.get("goal") or ""
    fields["query"] = _text(query)
    sources = action.get("sources") or item.get("sources") or []
    fields["sources"] = [
        s for s in sources if isinstance(s, dict) and isinstance(s.get("url"), str)
    ]
    urls = item.get("urls") or []
    fields["urls"] = [u for u in urls if isinstance(u, str)]
    fields["code"] = _text(item.get("code"))
    if kind == "code_interpreter_call":
        fields["output"] = "".join(
            str(o.get("logs") or "")
            for o in item.get("outputs") or []
            if isinstance(o, dict)
        )
    elif kind != "reasoning":
        fields["output"] = _text(item.get("output") or item.get("result"))
    fields["error"] = _text(item.get("error"))
    return fields


def tool_call_start(
    *, reply_id: int, position: int, response_id: str, item: dict[str, Any]
) -> ToolCall:
    """Log an output item as it starts (its card appears at the same time)."""
    fields = tool_call_fields(item)
    call, _ = ToolCall.objects.update_or_create(
        reply_id=reply_id,
        position=position,
        defaults={**fields, "response_id": response_id, "started_at": timezone.now()},
    )
    return call


def tool_call_finish(
    *,
    reply_id: int,
    position: int,
    response_id: str,
    item: dict[str, Any],
    output: str | None = None,
    error: str | None = None,
) -> ToolCall:
    """Complete an item's row with its final form (and a function's result)."""
    fields = tool_call_fields(item)
    if output is not None:
        fields["output"] = output
    if error is not None:
        fields["error"] = error
    now = timezone.now()
    call, created = ToolCall.objects.get_or_create(
        reply_id=reply_id,
        position=position,
        defaults={**fields, "response_id": response_id, "started_at": now},
    )
    if not created:
        for key, value in fields.items():
            # An item's done form may omit what its added form said.
            if value not in ("", [], None) or key in ("status", "raw"):
                setattr(call, key, value)
    call.response_id = response_id or call.response_id
    call.finished_at = now
    call.save()
    return call


def tool_calls_interrupt(*, reply_id: int) -> None:
    """Calls still open when a reply ends (stopped, failed) did not finish."""
    now = timezone.now()
    open_calls = ToolCall.objects.filter(reply_id=reply_id)
    open_calls.filter(finished_at__isnull=True).update(
        status="incomplete", finished_at=now
    )
    # A function call whose arguments arrived but that never ran.
    open_calls.filter(status="in_progress").update(status="incomplete")

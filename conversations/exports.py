"""A thread's visible path as Markdown or JSON, and a JSON export read back in.

The JSON carries the lineage (ids, parents, the response ids each reply
continued from), usage and the settings each reply was generated with, so an
export is an audit record as well as a backup. Importing keeps only what makes
a conversation: the texts, roles and thread settings. Imported replies have no
upstream responses here, so the next turn rebuilds its context from the stored
path, and no usage is counted that this installation did not spend.
"""

import json
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from conversations.models import Message, Thread, UpstreamResponse
from conversations.rendering import render_markdown
from conversations.selectors import thread_path
from conversations.services import MessageInvalid, thread_create, title_from

FORMAT = "qwen-team-chat/thread"
VERSION = 1
MAX_IMPORT_BYTES = 5 * 1024 * 1024
MAX_IMPORT_MESSAGES = 5000

NOT_AN_EXPORT = "That file is not a Qwen Team Chat thread export (JSON)."
TOO_BIG = "Exports up to 5 MB can be imported."
BAD_MESSAGE = "Message {n} of the export is not valid: {why}."

USAGE_FIELDS = (
    "input_tokens",
    "output_tokens",
    "reasoning_tokens",
    "cached_tokens",
    "total_tokens",
)


def _author(message: Message) -> str:
    if message.role == Message.Role.ASSISTANT:
        return "Qwen"
    if message.author is None:
        return "Someone"
    return message.author.get_short_name() or message.author.get_username()


def thread_markdown(thread: Thread) -> str:
    lines = [f"# {thread}", ""]
    if thread.instructions:
        lines += ["> Instructions: " + thread.instructions.replace("\n", "\n> "), ""]
    for message in thread_path(thread):
        stamp = timezone.localtime(message.created_at).strftime("%Y-%m-%d %H:%M")
        heading = f"## {_author(message)} · {stamp}"
        if message.status != Message.Status.COMPLETED and message.is_terminal:
            heading += f" ({message.get_status_display().lower()})"
        lines += [heading, "", message.text.rstrip(), ""]
    return "\n".join(lines).rstrip() + "\n"


def _response_json(response: Any) -> dict[str, Any]:
    return {
        "response_id": response.response_id,
        "previous_response_id": response.previous_response_id,
        "conversation_id": response.conversation_id,
        "model": response.model,
        "status": response.status,
        "created_at": response.created_at.isoformat(),
        "usage": {name: getattr(response, name) for name in USAGE_FIELDS},
        "tool_counts": response.tool_counts,
    }


def thread_json(thread: Thread) -> dict[str, Any]:
    path = thread_path(thread)
    # One query for the responses of the whole path, not one per message.
    responses: dict[int, list[dict[str, Any]]] = {m.pk: [] for m in path}
    for response in UpstreamResponse.objects.filter(message_id__in=responses).order_by(
        "created_at", "pk"
    ):
        responses[response.message_id].append(_response_json(response))
    return {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": timezone.now().isoformat(),
        "thread": {
            "id": str(thread.pk),
            "title": str(thread),
            "model": thread.model,
            "instructions": thread.instructions,
            "temperature": thread.temperature,
            "top_p": thread.top_p,
            "enable_thinking": thread.enable_thinking,
            "tools": thread.tools,
            "tool_choice": thread.tool_choice,
            "conversation_id": thread.conversation_id,
        },
        "messages": [
            {
                "id": message.pk,
                "parent_id": message.parent_id,
                "role": message.role,
                "author": _author(message),
                "text": message.text,
                "status": message.status,
                "created_at": message.created_at.isoformat(),
                "branch": {
                    "index": message.branch.index,
                    "count": message.branch.count,
                },
                "context_mode": message.context_mode,
                "error_message": message.error_message,
                "settings_used": message.settings_used,
                "responses": responses[message.pk],
            }
            for message in path
        ],
    }


def _messages_from(data: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    if (
        not isinstance(data, dict)
        or data.get("format") != FORMAT
        or not isinstance(data.get("messages"), list)
    ):
        raise MessageInvalid(NOT_AN_EXPORT)
    meta = data.get("thread") if isinstance(data.get("thread"), dict) else {}
    messages = data["messages"]
    if len(messages) > MAX_IMPORT_MESSAGES:
        raise MessageInvalid(
            f"Exports of up to {MAX_IMPORT_MESSAGES:,} messages can be imported."
        )
    for n, item in enumerate(messages, start=1):
        if not isinstance(item, dict):
            raise MessageInvalid(BAD_MESSAGE.format(n=n, why="not an object"))
        if item.get("role") not in Message.Role.values:
            raise MessageInvalid(BAD_MESSAGE.format(n=n, why="unknown role"))
        if not isinstance(item.get("text"), str):
            raise MessageInvalid(BAD_MESSAGE.format(n=n, why="no text"))
    return meta, messages


def _text(meta: dict[str, Any], key: str, limit: int) -> str:
    value = meta.get(key)
    return value[:limit] if isinstance(value, str) else ""


@transaction.atomic
def thread_import(*, owner: AbstractBaseUser, raw: bytes) -> Thread:
    """A new thread holding the exported path; raises MessageInvalid."""
    if len(raw) > MAX_IMPORT_BYTES:
        raise MessageInvalid(TOO_BIG)
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):  # deep nesting too
        raise MessageInvalid(NOT_AN_EXPORT) from None
    meta, items = _messages_from(data)
    thread = thread_create(owner=owner)
    thread.title = _text(meta, "title", 200) or title_from(
        next((i["text"] for i in items if i["role"] == "user"), "")
    )
    thread.instructions = _text(meta, "instructions", 20000)
    parent = None
    for item in items:
        status = item.get("status")
        if status not in Message.TERMINAL:
            # A reply that was still streaming when exported is what it was then.
            status = Message.Status.INTERRUPTED
        user = item["role"] == Message.Role.USER
        # Stored HTML is never imported: it is rendered here, from the text.
        parent = Message.objects.create(
            thread=thread,
            parent=parent,
            role=item["role"],
            author=owner if user else None,
            text=item["text"],
            html=render_markdown(item["text"]),
            status=Message.Status.COMPLETED if user else status,
            finished_at=None if user else timezone.now(),
        )
    thread.active_leaf = parent
    thread.save()
    return thread

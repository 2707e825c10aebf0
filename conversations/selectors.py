"""Reads: what the pages and the generation need, in few queries."""

from django.db.models import QuerySet

from conversations.access import AnyUser, threads_visible_to
from conversations.models import Message, Thread


def sidebar_threads(user: AnyUser, *, archived: bool = False) -> QuerySet[Thread]:
    return (
        threads_visible_to(user)
        .filter(archived=archived)
        .only("id", "title", "last_activity_at", "archived", "owner_id")
        .order_by("-last_activity_at")
    )


def path_to(thread_id: object, leaf_id: int | None) -> list[Message]:
    """The messages from the root to `leaf_id`, in order (one query)."""
    if leaf_id is None:
        return []
    by_id = {m.pk: m for m in Message.objects.filter(thread_id=thread_id)}
    path = []
    node = by_id.get(leaf_id)
    while node is not None:
        path.append(node)
        node = by_id.get(node.parent_id) if node.parent_id else None
    path.reverse()
    return path


def thread_path(thread: Thread) -> list[Message]:
    """The visible conversation: the path from the root to the active leaf."""
    return path_to(thread.pk, thread.active_leaf_id)


def streaming_reply(thread: Thread) -> Message | None:
    return (
        thread.messages.filter(
            role=Message.Role.ASSISTANT, status=Message.Status.STREAMING
        )
        .order_by("-created_at")
        .first()
    )

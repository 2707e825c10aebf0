"""Reads: what the pages and the generation need, in few queries."""

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import QuerySet

from conversations.access import AnyUser, threads_visible_to
from conversations.models import Message, Thread


def sidebar_threads(user: AnyUser, *, archived: bool = False) -> QuerySet[Thread]:
    return (
        threads_visible_to(user)
        .filter(archived=archived)
        .only("id", "title", "last_activity_at", "archived", "owner_id", "team_id")
        .order_by("-last_activity_at")
    )


@dataclass(frozen=True, slots=True)
class Branch:
    """Where a message sits among its siblings (the alternatives at its turn)."""

    index: int  # 1-based, as shown: "2/3"
    count: int
    prev_id: int | None
    next_id: int | None


def _branch(siblings: list[int], message_id: int) -> Branch:
    i = siblings.index(message_id)
    return Branch(
        index=i + 1,
        count=len(siblings),
        prev_id=siblings[i - 1] if i > 0 else None,
        next_id=siblings[i + 1] if i + 1 < len(siblings) else None,
    )


def path_to(thread_id: object, leaf_id: int | None) -> list[Message]:
    """The messages from the root to `leaf_id`, in order (one query).

    Each message gets a `branch` attribute: its place among its siblings.
    """
    if leaf_id is None:
        return []
    messages = Message.objects.filter(thread_id=thread_id).order_by("created_at", "pk")
    by_id = {m.pk: m for m in messages}
    path, children = _walk_to(((m.pk, m.parent_id) for m in by_id.values()), leaf_id)
    for pk, parent_id in path:
        by_id[pk].branch = _branch(children[parent_id], pk)
    return [by_id[pk] for pk, _ in path]


def thread_path(thread: Thread) -> list[Message]:
    """The visible conversation: the path from the root to the active leaf."""
    return path_to(thread.pk, thread.active_leaf_id)


def branch_of(message: Message) -> Branch:
    siblings = list(
        Message.objects.filter(thread_id=message.thread_id, parent_id=message.parent_id)
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)
    )
    return _branch(siblings, message.pk)


def latest_leaf_under(message: Message) -> Message:
    """The most recently created leaf in `message`'s subtree (one query).

    Switching to an alternative shows that branch as it was last left.
    """
    messages = list(
        Message.objects.filter(thread_id=message.thread_id).order_by("created_at", "pk")
    )
    children: dict[int | None, list[Message]] = {}
    for m in messages:
        children.setdefault(m.parent_id, []).append(m)
    # Descendants are newer than their ancestors, so the newest leaf wins.
    leaf, stack = message, [message]
    while stack:
        node = stack.pop()
        kids = children.get(node.pk, [])
        if not kids and (node.created_at, node.pk) > (leaf.created_at, leaf.pk):
            leaf = node
        stack.extend(kids)
    return leaf


def streaming_reply(thread: Thread) -> Message | None:
    return (
        thread.messages.filter(
            role=Message.Role.ASSISTANT, status=Message.Status.STREAMING
        )
        .order_by("-created_at")
        .first()
    )


def thread_path_window(
    thread: Thread, *, size: int, before: object = None, include: object = None
) -> tuple[list[Message], bool]:
    """The newest `size` messages of the visible path (before the message
    `before`, when given), reaching back far enough to show the message
    `include`; and whether older messages remain (three queries).

    The path is found from ids alone and only the window is loaded, with what
    its template shows (authors, tool calls): a thread of 1,000 turns loaded
    its 2,000 messages to show 40, then two more queries for each of those
    (bench/long_thread.py). An unknown `before` (the path changed since the
    page loaded) gives nothing.
    """
    path, children = _path_ids(thread.pk, thread.active_leaf_id)
    ids = [str(pk) for pk, _ in path]
    end = len(path)
    if before is not None:
        if str(before) not in ids:
            return [], False
        end = ids.index(str(before))
    start = max(0, end - size)
    if include is not None and str(include) in ids:
        start = min(start, ids.index(str(include)))
    window = path[start:end]
    rows = (
        Message.objects.select_related("author")
        .prefetch_related("tool_calls")
        .in_bulk([pk for pk, _ in window])
    )
    messages = []
    for pk, parent_id in window:
        message = rows[pk]
        message.branch = _branch(children[parent_id], pk)
        messages.append(message)
    return messages, start > 0


def _path_ids(
    thread_id: object, leaf_id: int | None
) -> tuple[list[tuple[int, int | None]], dict[int | None, list[int]]]:
    """`_walk_to` over the thread's (id, parent id) pairs alone (one query)."""
    if leaf_id is None:
        return [], {}
    rows = (
        Message.objects.filter(thread_id=thread_id)
        .order_by("created_at", "pk")
        .values_list("pk", "parent_id")
    )
    return _walk_to(rows, leaf_id)


def _walk_to(
    rows: Iterable[tuple[int, int | None]], leaf_id: int
) -> tuple[list[tuple[int, int | None]], dict[int | None, list[int]]]:
    """From (id, parent id) pairs in creation order: the pairs from the root
    to `leaf_id`, and every message's children in order."""
    parent_of: dict[int, int | None] = {}
    children: dict[int | None, list[int]] = {}
    for pk, parent_id in rows:
        parent_of[pk] = parent_id
        children.setdefault(parent_id, []).append(pk)
    path = []
    node: int | None = leaf_id if leaf_id in parent_of else None
    while node is not None:
        parent = parent_of[node]
        path.append((node, parent))
        node = parent if parent in parent_of else None
    path.reverse()
    return path, children

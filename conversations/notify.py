"""Telling open sockets that someone's access may have shrunk.

Sockets do not trust a message's claims: an `access.check` only makes each
receiving socket ask `access` again and close if the answer is now no. It is
sent after commit, so the re-check reads the new state, and through the
channel layer, so it reaches sockets in every server process.
"""

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from conversations.broadcast import thread_group


def user_group(user_id: object) -> str:
    return f"user.{user_id}"


def _send(group: str) -> None:
    layer = get_channel_layer()
    if layer is not None:
        async_to_sync(layer.group_send)(group, {"type": "access.check"})


def user_access_changed(user_id: object) -> None:
    """Every socket of this user re-checks (they left or lost a team)."""
    group = user_group(user_id)
    transaction.on_commit(lambda: _send(group))


def thread_access_changed(thread_id: object) -> None:
    """Every socket on this thread re-checks (it was unshared or moved)."""
    group = thread_group(thread_id)
    transaction.on_commit(lambda: _send(group))

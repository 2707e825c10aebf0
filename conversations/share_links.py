"""Read-only share links: a snapshot of a thread's path behind an unguessable token.

The token is `secrets.token_urlsafe(32)`: 256 bits, so guessing one is hopeless
and the database lookup needs no rate limit to stay safe. The snapshot holds
display names and sanitised HTML only: no settings, no ids, no other threads.
"""

import secrets
from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from conversations.models import Message, ShareLink, Thread
from conversations.people import display_name
from conversations.selectors import thread_path

# The choices the thread menu offers: label, lifetime (None: until revoked).
EXPIRY_CHOICES: dict[str, timedelta | None] = {
    "never": None,
    "1h": timedelta(hours=1),
    "1d": timedelta(days=1),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}
UNKNOWN_EXPIRY = _("Choose when the link expires.")
NOTHING_TO_SHARE = _("There is nothing to share yet: wait for a finished reply.")


class ShareLinkInvalid(ValueError):
    """A link the app refuses to make; the message is meant for the user."""


def _snapshot(thread: Thread) -> list[dict[str, str]]:
    # A reply still being written has no final text; it is left out, as are
    # the messages of other branches (only the visible path is shared).
    return [
        {
            "role": m.role,
            "author": display_name(m.author) if m.role == Message.Role.USER else "Qwen",
            "html": m.html,
            "status": m.status,
        }
        for m in thread_path(thread)
        if m.status != Message.Status.STREAMING
    ]


def share_link_create(
    *, thread: Thread, created_by: AbstractBaseUser, expiry: str = "never"
) -> ShareLink:
    if expiry not in EXPIRY_CHOICES:
        raise ShareLinkInvalid(UNKNOWN_EXPIRY)
    # The path on screen now, whatever the caller's copy of the thread says.
    thread.refresh_from_db(fields=["title", "active_leaf"])
    snapshot = _snapshot(thread)
    if not snapshot:
        raise ShareLinkInvalid(NOTHING_TO_SHARE)
    lifetime = EXPIRY_CHOICES[expiry]
    return ShareLink.objects.create(
        thread=thread,
        token=secrets.token_urlsafe(32),
        created_by=created_by,
        title=thread.title,
        snapshot=snapshot,
        expires_at=timezone.now() + lifetime if lifetime else None,
    )


def share_link_revoke(*, link: ShareLink) -> ShareLink:
    if link.revoked_at is None:
        link.revoked_at = timezone.now()
        link.save(update_fields=["revoked_at"])
    return link


def share_links_of(thread: Thread) -> list[ShareLink]:
    """The thread's links still working, newest first (for its owner's menu)."""
    now = timezone.now()
    return [
        link
        for link in thread.share_links.filter(revoked_at__isnull=True)
        if link.expires_at is None or link.expires_at > now
    ]

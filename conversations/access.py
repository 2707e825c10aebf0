"""Who may do what: the one place every page, socket, share page and admin action asks.

A thread is private to its owner, or shared with one team. On a shared thread
the team's owners, admins and members read and post (send, regenerate, edit,
switch branches, stop); its viewers only read. Managing the thread (rename,
archive, settings, delete, sharing, share links) stays with the thread's owner.
Anything a user may not read is a 404, the same as a thread that does not
exist, so a guessed id tells an outsider nothing.
"""

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from conversations.models import Membership, Message, ShareLink, Team, Thread

AnyUser = AbstractBaseUser | AnonymousUser
Role = Membership.Role

# Roles that may post in a team's shared threads (and share threads with it).
POSTING_ROLES = frozenset({Role.OWNER, Role.ADMIN, Role.MEMBER})
# Roles that manage a team's members.
MANAGING_ROLES = frozenset({Role.OWNER, Role.ADMIN})


@dataclass(frozen=True, slots=True)
class ThreadAccess:
    read: bool = False
    post: bool = False
    manage: bool = False


NO_ACCESS = ThreadAccess()


def _team_ids(user: AnyUser) -> QuerySet[Membership]:
    return Membership.objects.filter(user_id=user.pk).values("team_id")


def threads_visible_to(user: AnyUser) -> QuerySet[Thread]:
    if not user.is_authenticated:
        return Thread.objects.none()
    # A subquery rather than a join, so a thread is listed once.
    return Thread.objects.filter(Q(owner=user) | Q(team_id__in=_team_ids(user)))


def membership_of(user: AnyUser, team_id: int | None) -> Membership | None:
    if team_id is None or not user.is_authenticated:
        return None
    return Membership.objects.filter(team_id=team_id, user_id=user.pk).first()


def thread_access(user: AnyUser, thread: Thread) -> ThreadAccess:
    """What `user` may do with `thread`, read fresh from the database."""
    if not user.is_authenticated:
        return NO_ACCESS
    if thread.owner_id == user.pk:
        return ThreadAccess(read=True, post=True, manage=True)
    membership = membership_of(user, thread.team_id)
    if membership is None:
        return NO_ACCESS
    return ThreadAccess(read=True, post=membership.role in POSTING_ROLES)


def _not_found() -> Http404:
    return Http404("No such thread.")


def thread_for_reader(user: AnyUser, thread_id: object) -> Thread:
    """The thread if `user` may read it; otherwise 404, the same as a missing one."""
    try:
        return threads_visible_to(user).get(pk=thread_id)
    except (Thread.DoesNotExist, ValueError, TypeError, ValidationError):
        raise _not_found() from None


def can_post(user: AnyUser, thread: Thread) -> bool:
    """Send, regenerate, edit, switch branches, stop a reply."""
    return thread_access(user, thread).post


def can_manage(user: AnyUser, thread: Thread) -> bool:
    """Rename, archive, delete, change settings, share, make and revoke links."""
    return thread_access(user, thread).manage


def thread_for_poster(user: AnyUser, thread_id: object) -> Thread:
    thread = thread_for_reader(user, thread_id)
    if not can_post(user, thread):
        raise _not_found()
    return thread


def thread_for_poster_locked(user: AnyUser, thread_id: object) -> Thread:
    """`thread_for_poster`, read under the thread's row lock (in a transaction).

    A send locks the thread it writes to anyway: its rights are read there,
    at the moment it writes, in one query where the owner's send made two.
    """
    try:
        thread = Thread.objects.select_for_update().get(pk=thread_id)
    except (Thread.DoesNotExist, ValueError, TypeError, ValidationError):
        raise _not_found() from None
    if not can_post(user, thread):
        raise _not_found()
    return thread


def thread_for_manager(user: AnyUser, thread_id: object) -> Thread:
    thread = thread_for_reader(user, thread_id)
    if not can_manage(user, thread):
        raise _not_found()
    return thread


def message_in_thread(thread: Thread, message_id: object) -> Message:
    try:
        return thread.messages.get(pk=int(str(message_id)))
    except (Message.DoesNotExist, ValueError, TypeError):
        raise Http404("No such message.") from None


# --- teams -----------------------------------------------------------------


def teams_of(user: AnyUser) -> QuerySet[Team]:
    if not user.is_authenticated:
        return Team.objects.none()
    return Team.objects.filter(pk__in=_team_ids(user))


def team_for_member(user: AnyUser, team_id: object) -> tuple[Team, Membership]:
    """The team and `user`'s membership; 404 for anyone outside it."""
    try:
        membership = Membership.objects.select_related("team").get(
            team_id=int(str(team_id)), user_id=user.pk
        )
    except (Membership.DoesNotExist, ValueError, TypeError):
        raise Http404("No such team.") from None
    return membership.team, membership


def team_for_manager(user: AnyUser, team_id: object) -> tuple[Team, Membership]:
    team, membership = team_for_member(user, team_id)
    if membership.role not in MANAGING_ROLES:
        raise Http404("No such team.")
    return team, membership


def can_manage_members(membership: Membership | None) -> bool:
    return membership is not None and membership.role in MANAGING_ROLES


def can_change_member(actor: Membership, target: Membership, *, role: str) -> bool:
    """May `actor` give `target` the role `role` (or remove them, role="")?

    Owners manage everyone; admins manage members and viewers, and may not make
    anyone an owner or admin. Whether the team keeps an owner is the service's
    concern, since it needs a lock.
    """
    if actor.role == Role.OWNER:
        return True
    if actor.role != Role.ADMIN:
        return False
    return target.role in (Role.MEMBER, Role.VIEWER) and role in (
        "",
        Role.MEMBER,
        Role.VIEWER,
    )


def can_grant(actor: Membership, role: str) -> bool:
    """May `actor` add someone with `role`?"""
    if actor.role == Role.OWNER:
        return True
    return actor.role == Role.ADMIN and role in (Role.MEMBER, Role.VIEWER)


def teams_to_share_with(user: AnyUser) -> QuerySet[Team]:
    """Teams a thread owner may share with: those where they may post."""
    if not user.is_authenticated:
        return Team.objects.none()
    return Team.objects.filter(
        memberships__user_id=user.pk, memberships__role__in=POSTING_ROLES
    )


# --- share links ---------------------------------------------------------------


def share_link_live(token: object) -> ShareLink:
    """The link behind `token` if it is neither revoked nor expired; otherwise 404."""
    if not isinstance(token, str) or not token:
        raise Http404("No such link.")
    link = ShareLink.objects.filter(token=token, revoked_at__isnull=True).first()
    if link is None or (link.expires_at and link.expires_at <= timezone.now()):
        raise Http404("No such link.")
    return link


def share_link_for_manager(user: AnyUser, thread: Thread, link_id: object) -> ShareLink:
    if not can_manage(user, thread):
        raise Http404("No such link.")
    try:
        return thread.share_links.get(pk=int(str(link_id)))
    except (ShareLink.DoesNotExist, ValueError, TypeError):
        raise Http404("No such link.") from None


# --- the admin ---------------------------------------------------------------------


def admin_may(user: AnyUser, permission: str) -> bool:
    """Admin actions: an active staff user holding the model permission."""
    return bool(
        user.is_authenticated
        and user.is_active
        and user.is_staff
        and user.has_perm(permission)
    )


def can_view_usage(user: AnyUser) -> bool:
    """The usage dashboard (everyone's tokens and costs) is for staff only."""
    return bool(user.is_authenticated and user.is_active and user.is_staff)

"""Writes for teams, memberships and sharing a thread with a team.

Authorisation is `access`'s; these functions enforce what must hold whoever
asks (a team keeps an owner, a thread is shared only with a team its owner is
in) and tell open sockets when someone's access may have shrunk, after commit,
so a socket re-checks against what is stored.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from conversations import access
from conversations.models import Membership, Team, Thread
from conversations.notify import thread_access_changed, user_access_changed

Role = Membership.Role

TEAM_NAME_REQUIRED = _("Give the team a name (up to 100 characters).")
NO_SUCH_USER = _("There is no user called “{username}”.")
ALREADY_MEMBER = _("{username} is already in this team.")
UNKNOWN_ROLE = _("Choose one of: owner, admin, member, viewer.")
LAST_OWNER = _("A team needs an owner: make someone else owner first.")
NOT_ALLOWED = _("Your role in this team does not allow that.")
CANNOT_SHARE = _("You can share a thread only with a team in which you may post.")


class TeamInvalid(ValueError):
    """A change the app refuses; the message is meant for the user."""


def team_create(*, name: str, owner: AbstractBaseUser) -> Team:
    name = " ".join(name.split())
    if not name or len(name) > 100:
        raise TeamInvalid(TEAM_NAME_REQUIRED)
    with transaction.atomic():
        team = Team.objects.create(name=name, created_by=owner)
        Membership.objects.create(team=team, user=owner, role=Role.OWNER)
    return team


def _valid_role(role: str) -> str:
    if role not in Role.values:
        raise TeamInvalid(UNKNOWN_ROLE)
    return role


def member_add(
    *, team: Team, actor: Membership, username: str, role: str
) -> Membership:
    """Add an existing user to `team` by username."""
    role = _valid_role(role)
    if not access.can_grant(actor, role):
        raise TeamInvalid(NOT_ALLOWED)
    username = username.strip()
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise TeamInvalid(NO_SUCH_USER.format(username=username))
    try:
        with transaction.atomic():
            return Membership.objects.create(team=team, user=user, role=role)
    except IntegrityError:
        raise TeamInvalid(ALREADY_MEMBER.format(username=username)) from None


def _lock_members(team: Team) -> dict[int, Membership]:
    # Locking every membership row serialises changes to one team, so two
    # owners demoting each other at once cannot leave it without an owner.
    return {
        m.pk: m
        for m in Membership.objects.select_for_update().filter(team=team).order_by("pk")
    }


def _keeps_an_owner(members: dict[int, Membership], *, changed: int, role: str) -> bool:
    return any(
        (role if m.pk == changed else m.role) == Role.OWNER for m in members.values()
    )


@transaction.atomic
def member_set_role(
    *, team: Team, actor: Membership, target: Membership, role: str
) -> Membership:
    role = _valid_role(role)
    members = _lock_members(team)
    actor, target = members[actor.pk], members[target.pk]
    if not access.can_change_member(actor, target, role=role):
        raise TeamInvalid(NOT_ALLOWED)
    if not _keeps_an_owner(members, changed=target.pk, role=role):
        raise TeamInvalid(LAST_OWNER)
    target.role = role
    target.save(update_fields=["role"])
    # A viewer can no longer post: open sockets re-check on their next action,
    # and pages re-read their rights; nothing to close.
    return target


@transaction.atomic
def member_remove(*, team: Team, actor: Membership, target: Membership) -> None:
    """Remove `target` (or leave, when actor is target)."""
    members = _lock_members(team)
    actor, target = members[actor.pk], members[target.pk]
    if actor.pk != target.pk and not access.can_change_member(actor, target, role=""):
        raise TeamInvalid(NOT_ALLOWED)
    if not _keeps_an_owner(members, changed=target.pk, role=""):
        raise TeamInvalid(LAST_OWNER)
    user_id = target.user_id
    target.delete()
    # The leaver's own threads stop being shared with a team they are not in;
    # everyone watching those, and the leaver's own sockets, re-check access.
    unshared = list(
        Thread.objects.filter(owner_id=user_id, team=team).values_list("pk", flat=True)
    )
    Thread.objects.filter(pk__in=unshared).update(team=None)
    user_access_changed(user_id)
    for thread_id in unshared:
        thread_access_changed(thread_id)


def member_leave(*, team: Team, membership: Membership) -> None:
    member_remove(team=team, actor=membership, target=membership)


@transaction.atomic
def thread_share(
    *, thread: Thread, owner: AbstractBaseUser, team: Team | None
) -> Thread:
    """Share `thread` with `team`, or make it private (team=None)."""
    if (
        team is not None
        and not access.teams_to_share_with(owner).filter(pk=team.pk).exists()
    ):
        raise TeamInvalid(CANNOT_SHARE)
    thread = Thread.objects.select_for_update().get(pk=thread.pk)
    previous = thread.team_id
    thread.team = team
    thread.save(update_fields=["team", "updated_at"])
    if previous is not None and previous != thread.team_id:
        thread_access_changed(thread.pk)
    return thread


@transaction.atomic
def team_delete(*, team: Team) -> None:
    """Delete a team: its threads become private, its members' sockets re-check."""
    user_ids = list(team.memberships.values_list("user_id", flat=True))
    thread_ids = list(team.threads.values_list("pk", flat=True))
    team.delete()
    for user_id in user_ids:
        user_access_changed(user_id)
    for thread_id in thread_ids:
        thread_access_changed(thread_id)

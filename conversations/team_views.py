"""Pages for teams, sharing a thread, share links: authorise, hand off, render."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from conversations import access, selectors, share_links, teams
from conversations.models import Membership, Team, Thread


def _page(request: HttpRequest, **extra: object) -> dict:
    return {
        "thread": None,
        "threads": selectors.sidebar_threads(request.user),
        **extra,
    }


def thread_sharing_context(request: HttpRequest, thread: Thread) -> dict:
    """What the thread page shows about sharing (the menu only for its owner)."""
    context: dict = {"shared_team": thread.team if thread.team_id else None}
    if access.can_manage(request.user, thread):
        context.update(
            share_teams=access.teams_to_share_with(request.user),
            share_links=share_links.share_links_of(thread),
            expiry_choices=list(share_links.EXPIRY_CHOICES),
        )
    return context


@require_GET
@login_required
def team_list(request: HttpRequest) -> HttpResponse:
    mine = access.teams_of(request.user)
    return render(request, "teams/list.html", _page(request, teams=mine))


@require_POST
@login_required
def team_create(request: HttpRequest) -> HttpResponse:
    try:
        team = teams.team_create(name=request.POST.get("name", ""), owner=request.user)
    except teams.TeamInvalid as exc:
        messages.error(request, str(exc))
        return redirect("teams")
    messages.success(request, _("Team created."))
    return redirect(team)


@require_GET
@login_required
def team_detail(request: HttpRequest, team_id: int) -> HttpResponse:
    team, me = access.team_for_member(request.user, team_id)
    members = team.memberships.select_related("user").order_by("created_at", "pk")
    shared = access.threads_visible_to(request.user).filter(team=team, archived=False)
    context = _page(
        request,
        team=team,
        me=me,
        members=[
            (m, access.can_change_member(me, m, role=m.role) and m.pk != me.pk)
            for m in members
        ],
        manages=access.can_manage_members(me),
        roles=Membership.Role.choices,
        grantable=[
            (value, label)
            for value, label in Membership.Role.choices
            if access.can_grant(me, value)
        ],
        shared_threads=shared,
    )
    return render(request, "teams/detail.html", context)


def _membership(team: Team, membership_id: int) -> Membership:
    try:
        return team.memberships.get(pk=membership_id)
    except Membership.DoesNotExist:
        raise Http404("No such member.") from None


@require_POST
@login_required
def member_add(request: HttpRequest, team_id: int) -> HttpResponse:
    team, me = access.team_for_manager(request.user, team_id)
    try:
        added = teams.member_add(
            team=team,
            actor=me,
            username=request.POST.get("username", ""),
            role=request.POST.get("role", Membership.Role.MEMBER),
        )
    except teams.TeamInvalid as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, _("{name} added.").format(name=added.user.get_username())
        )
    return redirect(team)


@require_POST
@login_required
def member_role(request: HttpRequest, team_id: int, membership_id: int) -> HttpResponse:
    team, me = access.team_for_manager(request.user, team_id)
    target = _membership(team, membership_id)
    try:
        teams.member_set_role(
            team=team, actor=me, target=target, role=request.POST.get("role", "")
        )
    except teams.TeamInvalid as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Role changed."))
    return redirect(team)


@require_POST
@login_required
def member_remove(
    request: HttpRequest, team_id: int, membership_id: int
) -> HttpResponse:
    team, me = access.team_for_manager(request.user, team_id)
    target = _membership(team, membership_id)
    try:
        teams.member_remove(team=team, actor=me, target=target)
    except teams.TeamInvalid as exc:
        messages.error(request, str(exc))
        return redirect(team)
    messages.success(request, _("Member removed."))
    return redirect("teams" if target.pk == me.pk else team)


@require_POST
@login_required
def team_leave(request: HttpRequest, team_id: int) -> HttpResponse:
    team, me = access.team_for_member(request.user, team_id)
    try:
        teams.member_leave(team=team, membership=me)
    except teams.TeamInvalid as exc:
        messages.error(request, str(exc))
        return redirect(team)
    messages.success(request, _("You left {team}.").format(team=team.name))
    return redirect("teams")


@require_POST
@login_required
def thread_share(request: HttpRequest, thread_id: str) -> HttpResponse:
    thread = access.thread_for_manager(request.user, thread_id)
    team_id = request.POST.get("team", "")
    team = None
    if team_id:
        team = access.teams_to_share_with(request.user).filter(pk=team_id).first()
        if team is None:
            messages.error(request, teams.CANNOT_SHARE)
            return redirect(thread)
    teams.thread_share(thread=thread, owner=request.user, team=team)
    messages.success(
        request,
        _("Shared with {team}.").format(team=team.name)
        if team
        else _("The thread is private."),
    )
    return redirect(thread)


@require_POST
@login_required
def share_link_create(request: HttpRequest, thread_id: str) -> HttpResponse:
    thread = access.thread_for_manager(request.user, thread_id)
    try:
        share_links.share_link_create(
            thread=thread,
            created_by=request.user,
            expiry=request.POST.get("expiry", "never"),
        )
    except share_links.ShareLinkInvalid as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, _("Read-only link created: find it in the thread menu.")
        )
    return redirect(thread)


@require_POST
@login_required
def share_link_revoke(
    request: HttpRequest, thread_id: str, link_id: int
) -> HttpResponse:
    thread = access.thread_for_manager(request.user, thread_id)
    link = access.share_link_for_manager(request.user, thread, link_id)
    share_links.share_link_revoke(link=link)
    messages.success(request, _("Link revoked: it shows nothing now."))
    return redirect(thread)


@require_GET
def share_link_page(request: HttpRequest, token: str) -> HttpResponse:
    """The public, read-only snapshot. No login: the token is the credential."""
    try:
        link = access.share_link_live(token)
    except Http404:
        # Unknown, revoked and expired look the same, and show nothing.
        response = render(request, "share/page.html", {"link": None}, status=404)
    else:
        response = render(request, "share/page.html", {"link": link})
    response["X-Robots-Tag"] = "noindex, nofollow"
    # The token is in the URL: never send it onwards in a Referer.
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "private, no-store"
    return response

"""Teams: create, add by username, change a role, remove, leave; who may do which."""

import pytest
from django.test import Client
from django.urls import reverse

from conversations import services, teams
from conversations.models import Membership, Team
from tests.teams.conftest import membership

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_user(alice, bob, carol, dave):
    users = {u.username: u for u in (alice, bob, carol, dave)}

    def client_for(name: str) -> Client:
        client = Client()
        client.force_login(users[name])
        return client

    return client_for


def roles(team: Team) -> dict[str, str]:
    return {m.user.username: m.role for m in team.memberships.select_related("user")}


def test_creating_a_team_makes_its_creator_the_owner(as_user):
    client = as_user("dave")
    response = client.post(reverse("team-create"), {"name": "  Rowing   club "})
    team = Team.objects.get()
    assert response["Location"] == team.get_absolute_url()
    assert team.name == "Rowing club"
    assert roles(team) == {"dave": "owner"}
    assert 'data-testid="team-link"' in client.get(reverse("teams")).content.decode()


def test_a_team_needs_a_name(as_user):
    response = as_user("dave").post(reverse("team-create"), {"name": " "}, follow=True)
    assert str(teams.TEAM_NAME_REQUIRED) in response.content.decode()
    assert not Team.objects.exists()


def test_the_owner_adds_changes_and_removes_members(as_user, team, dave):
    client = as_user("alice")
    client.post(
        reverse("team-member-add", args=[team.pk]),
        {"username": "dave", "role": "viewer"},
    )
    assert roles(team)["dave"] == "viewer"
    target = membership(team, dave)
    client.post(
        reverse("team-member-role", args=[team.pk, target.pk]), {"role": "admin"}
    )
    assert roles(team)["dave"] == "admin"
    client.post(reverse("team-member-remove", args=[team.pk, target.pk]))
    assert "dave" not in roles(team)
    page = client.get(team.get_absolute_url()).content.decode()
    assert page.count('data-testid="member"') == 3


def test_adding_an_unknown_or_present_user_says_why(as_user, team):
    client = as_user("alice")
    url = reverse("team-member-add", args=[team.pk])
    unknown = client.post(url, {"username": "zed", "role": "member"}, follow=True)
    assert "There is no user called “zed”." in unknown.content.decode()
    again = client.post(url, {"username": "bob", "role": "member"}, follow=True)
    assert "bob is already in this team." in again.content.decode()


def test_the_last_owner_can_neither_leave_nor_be_demoted(as_user, team, alice):
    client = as_user("alice")
    left = client.post(reverse("team-leave", args=[team.pk]), follow=True)
    assert str(teams.LAST_OWNER) in left.content.decode()
    me = membership(team, alice)
    client.post(reverse("team-member-role", args=[team.pk, me.pk]), {"role": "member"})
    assert roles(team)["alice"] == "owner"


def test_an_admin_manages_members_and_viewers_only(as_user, team, alice, bob, carol):
    teams.member_set_role(
        team=team,
        actor=membership(team, alice),
        target=membership(team, bob),
        role="admin",
    )
    client = as_user("bob")
    # Promote a viewer to member: allowed. To owner: refused.
    target = membership(team, carol)
    client.post(
        reverse("team-member-role", args=[team.pk, target.pk]), {"role": "member"}
    )
    assert roles(team)["carol"] == "member"
    refused = client.post(
        reverse("team-member-role", args=[team.pk, target.pk]),
        {"role": "owner"},
        follow=True,
    )
    assert str(teams.NOT_ALLOWED) in refused.content.decode()
    assert roles(team)["carol"] == "member"
    # The owner cannot be removed by an admin.
    owner = membership(team, alice)
    client.post(reverse("team-member-remove", args=[team.pk, owner.pk]))
    assert roles(team)["alice"] == "owner"
    # Adding someone as admin is refused.
    client.post(
        reverse("team-member-add", args=[team.pk]),
        {"username": "dave", "role": "admin"},
    )
    assert "dave" not in roles(team)


@pytest.mark.parametrize("persona", ["bob", "carol"])
def test_members_and_viewers_cannot_manage_members(as_user, team, dave, persona):
    client = as_user(persona)
    page = client.get(team.get_absolute_url())
    assert page.status_code == 200
    assert 'data-testid="member-add"' not in page.content.decode()
    target = membership(team, Membership.objects.get(team=team, role="owner").user)
    for response in (
        client.post(
            reverse("team-member-add", args=[team.pk]),
            {"username": "dave", "role": "member"},
        ),
        client.post(
            reverse("team-member-role", args=[team.pk, target.pk]),
            {"role": "viewer"},
        ),
        client.post(reverse("team-member-remove", args=[team.pk, target.pk])),
    ):
        assert response.status_code == 404
    assert roles(team) == {"alice": "owner", "bob": "member", "carol": "viewer"}


def test_a_member_leaves(as_user, team):
    response = as_user("bob").post(reverse("team-leave", args=[team.pk]))
    assert response["Location"] == reverse("teams")
    assert "bob" not in roles(team)


def test_an_outsider_gets_404_for_every_team_page_existing_or_not(as_user, team):
    client = as_user("dave")
    owner = Membership.objects.get(team=team, role="owner")
    for team_id in (team.pk, team.pk + 1000):
        for name, method, args, data in [
            ("team", "get", [team_id], None),
            ("team-member-add", "post", [team_id], {"username": "dave"}),
            ("team-member-role", "post", [team_id, owner.pk], {"role": "viewer"}),
            ("team-member-remove", "post", [team_id, owner.pk], None),
            ("team-leave", "post", [team_id], None),
        ]:
            response = getattr(client, method)(reverse(name, args=args), data or {})
            assert response.status_code == 404
            assert b"Geography" not in response.content
    assert b"Geography" not in client.get(reverse("teams")).content
    assert roles(team) == {"alice": "owner", "bob": "member", "carol": "viewer"}


def test_leaving_unshares_ones_own_threads_and_hides_the_teams(
    as_user, team, bob, shared_thread
):
    bobs = services.thread_create(owner=bob)
    teams.thread_share(thread=bobs, owner=bob, team=team)
    as_user("bob").post(reverse("team-leave", args=[team.pk]))
    bobs.refresh_from_db()
    assert bobs.team_id is None
    assert as_user("alice").get(bobs.get_absolute_url()).status_code == 404
    assert as_user("bob").get(shared_thread.get_absolute_url()).status_code == 404


def test_a_viewer_cannot_share_into_the_team(carol, team):
    thread = services.thread_create(owner=carol)
    with pytest.raises(teams.TeamInvalid, match="only with a team in which"):
        teams.thread_share(thread=thread, owner=carol, team=team)


def test_the_admin_removes_a_membership_through_the_service(
    client, django_user_model, team, bob
):
    staff = django_user_model.objects.create_superuser("root", "r@example.com", None)
    client.force_login(staff)
    target = membership(team, bob)
    assert (
        client.get(
            reverse("admin:conversations_team_change", args=[team.pk])
        ).status_code
        == 200
    )
    client.post(
        reverse("admin:conversations_membership_changelist"),
        {"action": "remove_members", "_selected_action": [target.pk]},
    )
    assert "bob" not in roles(team)

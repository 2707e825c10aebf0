"""Personas for teams and shared threads.

alice owns the thread and the team "Geography"; bob is a member (the
teammate), carol a viewer; dave is outside it all.
"""

import pytest
from django.contrib.auth import get_user_model

from conversations import services, teams
from conversations.models import Membership

# Re-exported so socket tests here can use the chat fixtures.
from tests.chat.conftest import connect, idle_generations  # noqa: F401


# No passwords: hashing one takes about a second, and these tests log in with
# force_login.
@pytest.fixture
def alice(db):
    return get_user_model().objects.create_user("alice")


@pytest.fixture
def bob(db):
    return get_user_model().objects.create_user("bob")


@pytest.fixture
def carol(db):
    return get_user_model().objects.create_user("carol", first_name="Carol")


@pytest.fixture
def dave(db):
    return get_user_model().objects.create_user("dave")


@pytest.fixture
def team(alice, bob, carol):
    team = teams.team_create(name="Geography", owner=alice)
    owner = team.memberships.get(user=alice)
    teams.member_add(team=team, actor=owner, username="bob", role="member")
    teams.member_add(team=team, actor=owner, username="carol", role="viewer")
    return team


@pytest.fixture
def shared_thread(alice, team):
    thread = services.thread_create(owner=alice)
    services.thread_rename(thread=thread, title="Rivers of Europe")
    return teams.thread_share(thread=thread, owner=alice, team=team)


def membership(team, user) -> Membership:
    return team.memberships.get(user=user)

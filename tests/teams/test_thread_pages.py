"""Every thread page and action, for each persona: owner, teammate, viewer, outsider."""

import uuid

import pytest
from django.test import Client
from django.urls import reverse

from conversations import services, share_links
from conversations.models import ShareLink, Thread
from tests import turns

pytestmark = pytest.mark.django_db

OWNER, TEAMMATE, VIEWER, OUTSIDER = "alice", "bob", "carol", "dave"


@pytest.fixture
def as_user(alice, bob, carol, dave):
    users = {u.username: u for u in (alice, bob, carol, dave)}

    def client_for(name: str) -> Client:
        client = Client()
        client.force_login(users[name])
        return client

    return client_for


@pytest.fixture
def finished_turn(shared_thread, bob):
    """One finished turn by the teammate (no generation runs in these tests)."""
    return turns.finished_turn(shared_thread, bob, answer="General *Kenobi*.")


# (url name, method, post data, the personas allowed; everyone else gets 404)
READ = {OWNER, TEAMMATE, VIEWER}
MANAGE = {OWNER}
ACTIONS = [
    ("thread", "get", None, READ),
    ("thread-export-markdown", "get", None, READ),
    ("thread-export-json", "get", None, READ),
    ("thread-rename", "post", {"title": "Renamed"}, MANAGE),
    ("thread-archive", "post", {"archived": "true"}, MANAGE),
    ("thread-settings", "post", {"model": "qwen-plus", "instructions": ""}, MANAGE),
    ("thread-share", "post", {"team": ""}, MANAGE),
    ("share-link-create", "post", {"expiry": "never"}, MANAGE),
    ("thread-delete", "get", None, MANAGE),
    ("thread-delete", "post", None, MANAGE),
]


@pytest.mark.parametrize("persona", [OWNER, TEAMMATE, VIEWER, OUTSIDER])
@pytest.mark.parametrize(("name", "method", "data", "allowed"), ACTIONS)
def test_each_persona_may_do_exactly_what_its_role_allows(
    as_user, shared_thread, finished_turn, persona, name, method, data, allowed
):
    client = as_user(persona)
    url = reverse(name, args=[shared_thread.pk])
    response = getattr(client, method)(url, data or {})
    if persona in allowed:
        assert response.status_code in (200, 302)
    else:
        assert response.status_code == 404
        # Nothing of the thread leaks into the refusal, and nothing changed.
        assert b"Rivers of Europe" not in response.content
        thread = Thread.objects.get(pk=shared_thread.pk)
        assert (thread.title, thread.archived, thread.model, thread.team_id) == (
            "Rivers of Europe",
            False,
            shared_thread.model,
            shared_thread.team_id,
        )
        assert not ShareLink.objects.exists()


@pytest.mark.parametrize("persona", [OWNER, TEAMMATE, VIEWER, OUTSIDER])
def test_only_the_owner_may_revoke_a_link(
    as_user, shared_thread, finished_turn, alice, persona
):
    link = share_links.share_link_create(thread=shared_thread, created_by=alice)
    url = reverse("share-link-revoke", args=[shared_thread.pk, link.pk])
    response = as_user(persona).post(url)
    link.refresh_from_db()
    if persona == OWNER:
        assert response.status_code == 302
        assert link.revoked_at is not None
    else:
        assert response.status_code == 404
        assert link.revoked_at is None


def test_a_guessed_thread_id_looks_exactly_like_a_missing_one(as_user, shared_thread):
    client = as_user(OUTSIDER)
    real = client.get(reverse("thread", args=[shared_thread.pk]))
    made_up = client.get(reverse("thread", args=[uuid.uuid4()]))
    assert real.status_code == made_up.status_code == 404
    assert real.content == made_up.content


def test_a_link_of_another_thread_cannot_be_revoked_through_ones_own(
    as_user, shared_thread, finished_turn, alice, dave
):
    link = share_links.share_link_create(thread=shared_thread, created_by=alice)
    own = services.thread_create(owner=dave)
    response = as_user(OUTSIDER).post(
        reverse("share-link-revoke", args=[own.pk, link.pk])
    )
    assert response.status_code == 404
    link.refresh_from_db()
    assert link.revoked_at is None


def test_teammates_see_the_shared_thread_marked_in_their_sidebar(
    as_user, shared_thread, dave
):
    private = services.thread_create(owner=dave)
    services.thread_rename(thread=private, title="Dave's diary")
    for persona in (OWNER, TEAMMATE, VIEWER):
        html = as_user(persona).get(reverse("home")).content.decode()
        assert "Rivers of Europe" in html
        assert 'data-testid="shared-marker"' in html
        assert "Dave's diary" not in html
    assert (
        "Rivers of Europe"
        not in as_user(OUTSIDER).get(reverse("home")).content.decode()
    )


def test_a_shared_thread_shows_who_wrote_each_message(
    as_user, shared_thread, finished_turn
):
    html = as_user(VIEWER).get(shared_thread.get_absolute_url()).content.decode()
    assert 'data-testid="thread-shared"' in html
    assert 'data-testid="message-author">bob<' in html
    assert 'data-testid="presence"' in html


def test_a_viewer_gets_no_composer_and_no_owner_menu(as_user, shared_thread):
    html = as_user(VIEWER).get(shared_thread.get_absolute_url()).content.decode()
    assert 'data-testid="composer"' not in html
    assert 'data-can-post="false"' in html
    assert "You can read this thread but not post in it." in html
    assert 'data-testid="share-team"' not in html
    assert 'data-testid="rename"' not in html


def test_a_teammate_gets_the_composer_but_not_the_owner_menu(as_user, shared_thread):
    html = as_user(TEAMMATE).get(shared_thread.get_absolute_url()).content.decode()
    assert 'data-testid="composer"' in html
    assert 'data-testid="share-team"' not in html
    assert 'data-testid="settings-form"' not in html


def test_the_owner_shares_and_unshares(as_user, alice, team):
    thread = services.thread_create(owner=alice)
    client = as_user(OWNER)
    page = client.get(thread.get_absolute_url()).content.decode()
    assert f'<option value="{team.pk}">Geography</option>' in page
    client.post(reverse("thread-share", args=[thread.pk]), {"team": team.pk})
    thread.refresh_from_db()
    assert thread.team_id == team.pk
    assert as_user(TEAMMATE).get(thread.get_absolute_url()).status_code == 200
    client.post(reverse("thread-share", args=[thread.pk]), {"team": ""})
    thread.refresh_from_db()
    assert thread.team_id is None
    assert as_user(TEAMMATE).get(thread.get_absolute_url()).status_code == 404


def test_a_thread_cannot_be_shared_with_a_team_one_is_not_in(as_user, dave, team):
    thread = services.thread_create(owner=dave)
    response = as_user(OUTSIDER).post(
        reverse("thread-share", args=[thread.pk]), {"team": team.pk}, follow=True
    )
    assert "only with a team in which you may post" in response.content.decode()
    thread.refresh_from_db()
    assert thread.team_id is None

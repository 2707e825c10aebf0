"""Read-only share links: a snapshot, unguessable, revocable, expiring, noindex."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conversations import services, share_links
from conversations.models import ShareLink
from tests.turns import finish

pytestmark = pytest.mark.django_db


@pytest.fixture
def turn(shared_thread, carol, bob):
    sent = services.message_send(
        thread=shared_thread, author=bob, text="Which river is longest?"
    )
    finish(sent, "The **Volga**.")
    return sent


@pytest.fixture
def owner_client(alice):
    client = Client()
    client.force_login(alice)
    return client


def make_link(owner_client, thread, expiry: str = "never") -> ShareLink:
    response = owner_client.post(
        reverse("share-link-create", args=[thread.pk]), {"expiry": expiry}
    )
    assert response.status_code == 302
    return ShareLink.objects.get(thread=thread)


def test_the_owner_makes_a_link_anyone_can_read(owner_client, shared_thread, turn):
    link = make_link(owner_client, shared_thread)
    # At least 128 bits: 32 random bytes, URL-safe base64.
    assert len(link.token) >= 43
    page = owner_client.get(shared_thread.get_absolute_url()).content.decode()
    assert link.get_absolute_url() in page
    response = Client().get(link.get_absolute_url())
    html = response.content.decode()
    assert response.status_code == 200
    assert "Which river is longest?" in html
    assert "<strong>Volga</strong>" in html
    assert 'data-testid="message-author">bob<' in html
    assert 'data-testid="message-author">Qwen<' in html
    assert '<meta name="robots" content="noindex, nofollow">' in html
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert response["Referrer-Policy"] == "no-referrer"


def test_the_page_shows_the_snapshot_and_nothing_else(
    owner_client, alice, shared_thread, turn
):
    services.thread_update_settings(
        thread=shared_thread,
        model="qwen-plus",
        instructions="Secret system prompt",
        temperature=None,
        top_p=None,
    )
    other = services.thread_create(owner=alice)
    services.thread_rename(thread=other, title="Another private thread")
    link = make_link(owner_client, shared_thread)
    later = services.message_send(
        thread=shared_thread, author=alice, text="A later question"
    )
    finish(later, "A later answer")
    html = Client().get(link.get_absolute_url()).content.decode()
    assert "Which river is longest?" in html
    for absent in (
        "A later question",
        "A later answer",
        "Secret system prompt",
        "Another private thread",
        "Geography",
        "qwen-plus",
        str(shared_thread.pk),
        'data-testid="composer"',
        'data-testid="thread-link"',
        "ws-connect",
        "alice",
    ):
        assert absent not in html


def test_a_revoked_link_shows_nothing(owner_client, shared_thread, turn):
    link = make_link(owner_client, shared_thread)
    owner_client.post(reverse("share-link-revoke", args=[shared_thread.pk, link.pk]))
    response = Client().get(link.get_absolute_url())
    assert response.status_code == 404
    html = response.content.decode()
    assert "Which river is longest?" not in html
    assert "Rivers of Europe" not in html
    assert 'data-testid="share-missing"' in html
    page = owner_client.get(shared_thread.get_absolute_url()).content.decode()
    assert link.token not in page


def test_an_expired_link_shows_nothing(owner_client, shared_thread, turn):
    link = make_link(owner_client, shared_thread, expiry="1h")
    assert link.expires_at is not None
    assert Client().get(link.get_absolute_url()).status_code == 200
    ShareLink.objects.filter(pk=link.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    response = Client().get(link.get_absolute_url())
    assert response.status_code == 404
    assert b"Which river is longest?" not in response.content
    assert b"Rivers of Europe" not in response.content


def test_a_guessed_token_shows_nothing(client):
    response = client.get(reverse("share-link", args=["x" * 43]))
    assert response.status_code == 404
    assert response["X-Robots-Tag"] == "noindex, nofollow"


def test_a_link_to_an_empty_thread_is_refused(owner_client, shared_thread):
    response = owner_client.post(
        reverse("share-link-create", args=[shared_thread.pk]),
        {"expiry": "never"},
        follow=True,
    )
    assert str(share_links.NOTHING_TO_SHARE) in response.content.decode()
    assert not ShareLink.objects.exists()


def test_an_unknown_expiry_is_refused(owner_client, shared_thread, turn):
    response = owner_client.post(
        reverse("share-link-create", args=[shared_thread.pk]),
        {"expiry": "forever-and-a-day"},
        follow=True,
    )
    assert str(share_links.UNKNOWN_EXPIRY) in response.content.decode()
    assert not ShareLink.objects.exists()


def test_the_admin_revokes_links_and_never_shows_tokens(
    client, django_user_model, alice, shared_thread, turn
):
    link = share_links.share_link_create(thread=shared_thread, created_by=alice)
    staff = django_user_model.objects.create_superuser("root", "r@example.com", None)
    client.force_login(staff)
    page = client.get(reverse("admin:conversations_sharelink_change", args=[link.pk]))
    assert page.status_code == 200
    assert link.token not in page.content.decode()
    client.post(
        reverse("admin:conversations_sharelink_changelist"),
        {"action": "revoke", "_selected_action": [link.pk]},
    )
    link.refresh_from_db()
    assert link.revoked_at is not None
    assert Client().get(link.get_absolute_url()).status_code == 404

"""Pages: who may see what, and the thread actions."""

import pytest
from django.urls import reverse

from conversations import services
from conversations.models import Thread

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture
def bob_client(client, bob):
    client.force_login(bob)
    return client


@pytest.fixture
def thread(alice):
    thread = services.thread_create(owner=alice)
    services.thread_rename(thread=thread, title="Rivers of Europe")
    return thread


def test_it_requires_login(client, thread):
    for url in [reverse("home"), thread.get_absolute_url()]:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_the_owner_sees_the_thread_and_its_sidebar(alice_client, thread):
    response = alice_client.get(thread.get_absolute_url())
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="thread-link"' in html
    assert "Rivers of Europe" in html
    assert f'ws-connect="/ws/threads/{thread.pk}/"' in html


@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("thread", "get"),
        ("thread-rename", "post"),
        ("thread-archive", "post"),
        ("thread-delete", "get"),
        ("thread-delete", "post"),
        ("thread-settings", "post"),
        ("thread-export-markdown", "get"),
        ("thread-export-json", "get"),
    ],
)
def test_another_user_gets_404_everywhere(bob_client, thread, name, method):
    response = getattr(bob_client, method)(reverse(name, args=[thread.pk]))
    assert response.status_code == 404
    assert b"Rivers of Europe" not in response.content
    assert Thread.objects.filter(pk=thread.pk, title="Rivers of Europe").exists()


def test_the_sidebar_lists_newest_activity_first_and_only_ones_own(
    alice_client, alice, bob
):
    older = services.thread_create(owner=alice)
    services.thread_rename(thread=older, title="Older")
    newer = services.thread_create(owner=alice)
    services.thread_rename(thread=newer, title="Newer")
    services.message_send(thread=newer, author=alice, text="hi")
    theirs = services.thread_create(owner=bob)
    services.thread_rename(thread=theirs, title="Bob's secret")
    html = alice_client.get(reverse("home")).content.decode()
    assert html.index("Newer") < html.index("Older")
    assert "Bob's secret" not in html


def test_rename_archive_and_delete(alice_client, thread):
    alice_client.post(
        reverse("thread-rename", args=[thread.pk]), {"title": "  Lakes  "}
    )
    thread.refresh_from_db()
    assert thread.title == "Lakes"
    alice_client.post(reverse("thread-archive", args=[thread.pk]), {"archived": "true"})
    thread.refresh_from_db()
    assert thread.archived
    assert "Lakes" not in alice_client.get(reverse("home")).content.decode()
    assert "Lakes" in alice_client.get(reverse("archived")).content.decode()
    confirm = alice_client.get(reverse("thread-delete", args=[thread.pk]))
    assert b"cannot be undone" in confirm.content
    assert Thread.objects.filter(pk=thread.pk).exists()
    alice_client.post(reverse("thread-delete", args=[thread.pk]))
    assert not Thread.objects.filter(pk=thread.pk).exists()


def test_settings_are_saved_and_validated(alice_client, thread):
    url = reverse("thread-settings", args=[thread.pk])
    bad = alice_client.post(
        url, {"model": "gpt-4", "instructions": "", "temperature": "5"}
    )
    assert bad.status_code == 400
    ok = alice_client.post(
        url,
        {
            "model": "qwen-plus",
            "instructions": "Be brief.",
            "temperature": "0.3",
            "top_p": "",
        },
    )
    assert ok.status_code == 302
    thread.refresh_from_db()
    assert (thread.model, thread.instructions, thread.temperature, thread.top_p) == (
        "qwen-plus",
        "Be brief.",
        0.3,
        None,
    )


def test_a_first_message_gets_a_title_and_its_settings_recorded(alice, thread):
    thread.title = ""
    thread.instructions = "Be brief."
    thread.save()
    sent = services.message_send(
        thread=thread,
        author=alice,
        text="How long is the   Danube river in kilometres?",
    )
    thread.refresh_from_db()
    assert thread.title == "How long is the Danube river in kilometres?"
    assert sent.reply.settings_used["instructions"] == "Be brief."
    assert sent.reply.settings_used["model"] == thread.model


def test_a_new_thread_with_an_empty_message_is_refused(alice_client):
    response = alice_client.post(reverse("thread-new"), {"message": "   "})
    assert response.status_code == 400
    assert b"Type a message" in response.content
    assert Thread.objects.count() == 0


def test_signup_can_be_switched_off(client, settings):
    settings.SIGNUP_ENABLED = False
    assert client.get(reverse("signup")).status_code == 404
    settings.SIGNUP_ENABLED = True
    response = client.post(
        reverse("signup"),
        {
            "username": "carol",
            "password1": "a-long-pass-987",
            "password2": "a-long-pass-987",
        },
    )
    assert response.status_code == 302


def test_pages_carry_a_content_security_policy(alice_client, thread):
    policy = alice_client.get(thread.get_absolute_url())["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "img-src 'self' data:" in policy


def test_the_admin_shows_threads_and_lineage(client, alice, thread, django_user_model):
    staff = django_user_model.objects.create_superuser(
        "root", "r@example.com", "root-pass-1"
    )
    client.force_login(staff)
    sent = services.message_send(thread=thread, author=alice, text="hello")
    assert (
        client.get(reverse("admin:conversations_thread_changelist")).status_code == 200
    )
    page = client.get(reverse("admin:conversations_thread_change", args=[thread.pk]))
    assert page.status_code == 200
    detail = client.get(
        reverse("admin:conversations_message_change", args=[sent.reply.pk])
    )
    assert detail.status_code == 200


def test_new_threads_take_the_session_cache_default_and_can_change_it(
    alice, alice_client, settings
):
    settings.QWEN_SESSION_CACHE = True
    thread = services.thread_create(owner=alice)
    assert thread.session_cache is True
    url = reverse("thread-settings", args=[thread.pk])
    # An unticked checkbox is absent from the form: the thread opts out.
    alice_client.post(url, {"model": thread.model, "instructions": ""})
    thread.refresh_from_db()
    assert thread.session_cache is False
    sent = services.message_send(thread=thread, author=alice, text="Hi")
    assert sent.reply.settings_used["session_cache"] is False

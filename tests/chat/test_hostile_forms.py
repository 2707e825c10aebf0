"""Hostile form posts: generated fields on every form, another user's ids.

No answer is a server error, and nothing of another user's changes.
"""

import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from conversations import services
from conversations.models import Message, Thread

pytestmark = pytest.mark.django_db

FORMS = ["thread-rename", "thread-archive", "thread-settings"]
FIELDS = ["title", "archived", "model", "instructions", "temperature", "top_p",
          "session_cache", "message", "client_id", "csrfmiddlewaretoken"]  # fmt: skip
field_values = st.one_of(
    st.text(max_size=300),
    st.text(alphabet="0123456789.-eE", max_size=12),
    st.sampled_from(["true", "false", "qwen3-max", "nan", "inf", "-1", "1e308"]),
)


def bobs_rows(bob) -> list:
    return list(
        Thread.objects.filter(owner=bob).values_list(
            "pk", "title", "archived", "model", "instructions", "temperature", "top_p"
        )
    ) + list(
        Message.objects.filter(thread__owner=bob).values_list("pk", "status", "text")
    )


@pytest.fixture
def targets(alice, bob):
    mine = services.thread_create(owner=alice)
    theirs = services.thread_create(owner=bob)
    services.message_send(thread=theirs, author=bob, text="bob's", client_id="b")
    return {"mine": mine, "theirs": theirs}


@hsettings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    form=st.sampled_from(FORMS),
    whose=st.sampled_from(["mine", "theirs"]),
    data=st.dictionaries(st.sampled_from(FIELDS), field_values, max_size=6),
)
def test_generated_posts_never_error_or_touch_others_rows(
    alice, bob, targets, form, whose, data
):
    client = Client()
    client.force_login(alice)
    before = bobs_rows(bob)
    response = client.post(reverse(form, args=[targets[whose].pk]), data)
    assert response.status_code < 500
    if whose == "theirs":
        assert response.status_code == 404
    assert bobs_rows(bob) == before


@pytest.mark.parametrize(
    "content",
    [
        b"\x00\xff" * 100,
        b"[" * 50_000 + b"]" * 50_000,
        b'{"format": "qwen-team-chat/thread", "version": 1, "messages": "x"}',
        b'{"format": "qwen-team-chat/thread", "version": 1, "messages": [{"id": []}]}',
        b'{"format": "qwen-team-chat/thread", "version": "1", "messages": [null]}',
    ],
)
def test_a_hostile_import_is_refused_not_an_error(alice, content):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = Client()
    client.force_login(alice)
    upload = SimpleUploadedFile("x.json", content, content_type="application/json")
    response = client.post(reverse("thread-import"), {"file": upload})
    assert response.status_code in (200, 400)
    assert not Thread.objects.filter(owner=alice).exists()


def test_a_hostile_first_message_is_refused_and_kept(alice, settings):
    settings.CHAT_MAX_MESSAGE_CHARS = 50
    client = Client()
    client.force_login(alice)
    response = client.post(reverse("thread-new"), {"message": "<script>" * 20})
    assert response.status_code == 400
    assert "limited to 50 characters" in response.content.decode()
    assert not Thread.objects.filter(owner=alice).exists()

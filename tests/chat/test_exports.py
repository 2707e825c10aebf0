"""Export a thread's visible path as Markdown and JSON; import JSON back."""

import io
import json

import pytest
from django.urls import reverse

from conversations import context, exports, services
from conversations.models import Message, Thread, UpstreamResponse
from conversations.selectors import thread_path

pytestmark = pytest.mark.django_db


def finish(reply: Message, text: str, *, tokens: int = 0) -> None:
    services.reply_finish(
        reply_id=reply.pk,
        text=text,
        status="completed",
        first_token_at=None,
        context_mode="new",
        responses=[
            services.ResponseRecord(
                response_id=f"resp-{reply.pk}",
                model="qwen-plus",
                status="completed",
                usage=type(
                    "U", (), {"input_tokens": tokens, "output_tokens": tokens}
                )(),
            )
        ],
    )


@pytest.fixture
def thread(alice):
    """Two turns, the second answered twice; the second answer is on screen."""
    thread = services.thread_create(owner=alice)
    thread.instructions = "Answer in English."
    thread.save()
    first = services.message_send(thread=thread, author=alice, text="Name a river.")
    finish(first.reply, "The **Danube**.", tokens=10)
    second = services.message_send(thread=thread, author=alice, text="And a sea?")
    finish(second.reply, "The Black Sea.", tokens=20)
    again = services.reply_regenerate(
        thread=thread, reply=Message.objects.get(pk=second.reply.pk)
    )
    finish(again, "The Baltic Sea.", tokens=30)
    thread.refresh_from_db()
    return thread


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


def test_markdown_holds_the_visible_path_only(alice_client, thread):
    response = alice_client.get(reverse("thread-export-markdown", args=[thread.pk]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/markdown")
    assert 'filename="name-a-river.md"' in response["Content-Disposition"]
    text = response.content.decode()
    assert text.startswith("# Name a river.\n")
    assert "> Instructions: Answer in English." in text
    assert text.index("Name a river.", 5) < text.index("The **Danube**.")
    assert "The Baltic Sea." in text
    assert "The Black Sea." not in text


def test_json_carries_lineage_and_usage(alice_client, thread):
    response = alice_client.get(reverse("thread-export-json", args=[thread.pk]))
    data = json.loads(response.content)
    assert data["format"] == exports.FORMAT
    messages = data["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant"] * 2
    assert [m["parent_id"] for m in messages[1:]] == [m["id"] for m in messages[:-1]]
    last = messages[-1]
    assert last["text"] == "The Baltic Sea."
    assert last["branch"] == {"index": 2, "count": 2}
    assert last["responses"][0]["usage"]["input_tokens"] == 30
    assert last["responses"][0]["response_id"] == f"resp-{last['id']}"
    assert data["thread"]["instructions"] == "Answer in English."


def test_json_export_takes_constant_queries(
    alice_client, thread, django_assert_max_num_queries
):
    url = reverse("thread-export-json", args=[thread.pk])
    with django_assert_max_num_queries(8):
        alice_client.get(url)


def test_an_export_imports_back_as_a_new_thread(alice_client, thread, alice):
    exported = alice_client.get(reverse("thread-export-json", args=[thread.pk]))
    upload = io.BytesIO(exported.content)
    upload.name = "export.json"
    response = alice_client.post(reverse("thread-import"), {"file": upload})
    copy = Thread.objects.exclude(pk=thread.pk).get()
    assert response.status_code == 302
    assert response["Location"] == copy.get_absolute_url()
    assert [m.text for m in thread_path(copy)] == [
        "Name a river.",
        "The **Danube**.",
        "And a sea?",
        "The Baltic Sea.",
    ]
    assert copy.title == "Name a river."
    assert copy.instructions == "Answer in English."
    assert "<strong>Danube</strong>" in thread_path(copy)[1].html
    # No usage is counted for replies this installation did not pay for,
    # and the next turn rebuilds its context from the imported path.
    assert not UpstreamResponse.objects.filter(message__thread=copy).exists()
    sent = services.message_send(thread=copy, author=alice, text="And a lake?")
    plan = context.plan_context(sent.reply)
    assert plan.mode == "rebuilt"
    assert [item["content"] for item in plan.input][-2:] == [
        "The Baltic Sea.",
        "And a lake?",
    ]


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (b"not json", exports.NOT_AN_EXPORT),
        (b'{"format": "something else", "messages": []}', exports.NOT_AN_EXPORT),
        (
            b'{"format": "qwen-team-chat/thread", "messages": [{"role": "system", '
            b'"text": "x"}]}',
            "Message 1 of the export is not valid: unknown role.",
        ),
    ],
)
def test_a_bad_file_is_refused_with_a_reason(alice_client, content, error):
    upload = io.BytesIO(content)
    upload.name = "x.json"
    response = alice_client.post(reverse("thread-import"), {"file": upload})
    assert response.status_code == 400
    assert str(error) in response.content.decode()
    assert not Thread.objects.exists()


def test_imported_html_is_rendered_here_not_trusted(alice_client):
    data = {
        "format": exports.FORMAT,
        "messages": [
            {"role": "user", "text": "hi", "html": "<script>alert(1)</script>"},
            {"role": "assistant", "text": "<img src=x onerror=alert(1)>"},
        ],
    }
    upload = io.BytesIO(json.dumps(data).encode())
    upload.name = "x.json"
    alice_client.post(reverse("thread-import"), {"file": upload})
    html = "".join(m.html for m in Message.objects.all())
    assert "<script" not in html and "<img" not in html

"""Search by meaning: background embedding, the command, and outages."""

import asyncio
import threading

import pytest
from asgiref.sync import sync_to_async
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from conversations import gateway, semantic, services
from conversations.models import Message, MessageEmbedding

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("upstream")]


def say(thread, author, text: str) -> Message:
    sent = services.message_send(thread=thread, author=author, text=text)
    Message.objects.filter(pk=sent.reply.pk).update(
        status=Message.Status.COMPLETED, text="Noted."
    )
    return sent.user_message


@pytest.fixture
def messages(thread, alice):
    return [
        say(thread, alice, "My car makes a strange noise, who can fix it?"),
        say(thread, alice, "Suggest a recipe for a quick dinner"),
        say(thread, alice, "The weather forecast says rain tomorrow"),
    ]


def test_the_command_embeds_what_is_missing_and_is_idempotent(messages, capsys):
    call_command("embed_messages")
    assert MessageEmbedding.objects.count() == 6
    assert "Embedded 6 message(s); 0 left." in capsys.readouterr().out
    call_command("embed_messages")
    assert "Embedded 0 message(s); 0 left." in capsys.readouterr().out


def test_the_command_resumes_after_an_outage(messages, upstream, capsys):
    call_command("embed_messages", limit=2)
    upstream.compat.outages.add("embeddings")
    with pytest.raises(CommandError, match="Run the command again"):
        call_command("embed_messages")
    upstream.compat.outages.clear()
    call_command("embed_messages")
    assert "Embedded 4 message(s); 0 left." in capsys.readouterr().out


def test_a_query_sharing_no_words_finds_the_message_by_meaning(messages, alice, bob):
    call_command("embed_messages")
    found = semantic.messages_similar_to(alice, "automobile repair", 3)
    assert found[0].message == messages[0]
    assert "automobile" not in messages[0].text.lower()
    assert semantic.messages_similar_to(bob, "automobile repair", 3) == []


def test_an_embedding_outage_leaves_text_search_working(messages, alice, upstream):
    call_command("embed_messages")
    upstream.compat.outages.add("embeddings")
    client = Client()
    client.force_login(alice)
    page = client.get(reverse("search-similar"), {"q": "recipe"}).content.decode()
    assert page.count('data-testid="search-result"') == 1
    assert "Suggest a recipe for a quick dinner" in page
    assert 'data-testid="semantic-unavailable"' in page
    assert semantic.messages_similar_to(alice, "recipe") == []


def test_the_page_shows_similar_meaning_beside_exact_text(messages, alice):
    call_command("embed_messages")
    client = Client()
    client.force_login(alice)
    page = client.get(reverse("search-similar"), {"q": "automobile mechanic"})
    html = page.content.decode()
    assert 'data-testid="search-result"' not in html
    assert html.count('data-testid="semantic-result"') >= 1
    assert "My car makes a strange noise" in html


# The worker thread has its own connection: it sees committed rows only.
@pytest.mark.django_db(transaction=True)
def test_background_embedding_runs_after_commit(
    messages, settings, django_capture_on_commit_callbacks
):
    settings.EMBEDDINGS_AUTO = True
    with django_capture_on_commit_callbacks(execute=True):
        semantic.schedule_embedding([messages[1].pk])
    semantic.wait_for_background_embedding()
    assert list(MessageEmbedding.objects.values_list("message", flat=True)) == [
        messages[1].pk
    ]


@pytest.mark.django_db(transaction=True)
def test_replies_ending_while_the_worker_is_busy_are_embedded_together(
    thread, alice, settings, monkeypatch
):
    """One upstream call per ten texts queued meanwhile, all on one kept client
    (a client per call cost every reply ~20 ms of CPU under the GIL)."""
    settings.EMBEDDINGS_AUTO = True
    first = [say(thread, alice, "The first question, embedded alone")]
    later = [say(thread, alice, f"Question number {n} about cars") for n in range(6)]
    real = gateway.embed_texts
    started, release = threading.Event(), threading.Event()
    calls: list[tuple[int, asyncio.AbstractEventLoop]] = []

    async def embed_texts(texts):
        calls.append((len(texts), asyncio.get_running_loop()))
        if len(calls) == 1:
            started.set()
            release.wait(10)
        return await real(texts)

    monkeypatch.setattr(gateway, "embed_texts", embed_texts)
    semantic.schedule_embedding([m.pk for m in first])
    assert started.wait(10)
    for pair in (later[0:2], later[2:4], later[4:6]):
        semantic.schedule_embedding([m.pk for m in pair])
    release.set()
    semantic.wait_for_background_embedding()

    assert [size for size, _ in calls] == [1, 6]
    assert len({loop for _, loop in calls}) == 1
    embedded = set(MessageEmbedding.objects.values_list("message", flat=True))
    assert embedded == {m.pk for m in first + later}


@pytest.mark.django_db(transaction=True)
def test_replies_ending_a_moment_apart_share_one_call(
    thread, alice, settings, monkeypatch
):
    """Three hundred replies end within seconds under load: each one's two
    texts in a call of their own made the calls' fixed cost half of it."""
    settings.EMBEDDINGS_AUTO = True
    pairs = [
        [say(thread, alice, f"Question {n} about rivers").pk for _ in range(2)]
        for n in range(3)
    ]
    sizes: list[int] = []
    real = gateway.embed_texts

    async def embed_texts(texts):
        sizes.append(len(texts))
        return await real(texts)

    monkeypatch.setattr(gateway, "embed_texts", embed_texts)
    # A worker of its own: an earlier test's may be waiting on its queue.
    worker = semantic._Worker()
    monkeypatch.setattr(semantic, "_worker", worker)
    taken = threading.Event()
    real_get = worker.queue.get

    def get(*args, **kwargs):
        item = real_get(*args, **kwargs)
        taken.set()
        return item

    monkeypatch.setattr(worker.queue, "get", get)
    semantic.schedule_embedding(pairs[0])
    # The worker holds the first reply's texts before the others end.
    assert taken.wait(10)
    semantic.schedule_embedding(pairs[1])
    semantic.schedule_embedding(pairs[2])
    semantic.wait_for_background_embedding()

    assert sizes == [6]
    embedded = set(MessageEmbedding.objects.values_list("message", flat=True))
    assert embedded == {pk for pair in pairs for pk in pair}


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("idle_generations")
async def test_a_reply_written_live_is_embedded_with_its_question(
    connect, thread, alice, settings
):
    settings.EMBEDDINGS_AUTO = True
    viewer = await connect(alice, thread)
    await viewer.send(action="send", message="Which tyres suit snow?", client_id="e1")
    await viewer.until_final()

    def embedded() -> set[int]:
        semantic.wait_for_background_embedding()
        return set(MessageEmbedding.objects.values_list("message", flat=True))

    turn = await sync_to_async(
        lambda: set(thread.messages.values_list("pk", flat=True))
    )()
    assert await sync_to_async(embedded)() == turn

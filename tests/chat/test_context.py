"""How each turn continues upstream, checked against what the simulator saw."""

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from conversations import generation, services
from conversations.models import Message, Thread, UpstreamResponse

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("upstream", "idle_generations"),
]


def send(thread: Thread, text: str) -> services.Sent:
    thread = Thread.objects.select_related("owner").get(pk=thread.pk)
    return services.message_send(thread=thread, author=thread.owner, text=text)


async def turn(thread: Thread, text: str) -> Message:
    sent = await database_sync_to_async(send)(thread, text)
    await generation.reply_start(sent.reply.pk, thread.pk)
    return await database_sync_to_async(Message.objects.get)(pk=sent.reply.pk)


async def regenerate(thread: Thread, reply: Message) -> Message:
    new = await database_sync_to_async(services.reply_regenerate)(
        thread=thread, reply=reply
    )
    await generation.reply_start(new.pk, thread.pk)
    return await database_sync_to_async(Message.objects.get)(pk=new.pk)


@database_sync_to_async
def response_of(reply: Message) -> UpstreamResponse:
    return reply.responses.order_by("-id").first()


def seen(upstream, response: UpstreamResponse) -> list[tuple[str, str]]:
    record = upstream.state.responses[response.response_id]
    return [(item["role"], item["text"]) for item in record.context]


@pytest.fixture
def thread(alice):
    thread = services.thread_create(owner=alice)
    thread.instructions = "You are terse."
    thread.save()
    return thread


async def test_the_john_exchange_continues_the_threads_conversation(upstream, thread):
    first = await turn(thread, "My name is John, please remember it.")
    second = await turn(thread, "Do you remember my name?")
    await database_sync_to_async(thread.refresh_from_db)()
    assert thread.conversation_id
    assert (first.context_mode, second.context_mode) == ("new", "conversation")
    assert "John" in second.text
    assert (await response_of(second)).conversation_id == thread.conversation_id


async def test_instructions_reach_every_turn(upstream, thread):
    replies = [await turn(thread, f"Question {n}") for n in range(3)]
    for reply in replies:
        record = upstream.state.responses[(await response_of(reply)).response_id]
        assert record.instructions == "You are terse."


async def test_regenerated_siblings_saw_identical_context(upstream, thread):
    await turn(thread, "My name is John, please remember it.")
    original = await turn(thread, "Do you remember my name?")
    sibling = await regenerate(thread, original)
    assert sibling.parent_id == original.parent_id
    assert sibling.context_mode == "previous_response"
    assert "John" in sibling.text
    original_seen = seen(upstream, await response_of(original))
    sibling_seen = seen(upstream, await response_of(sibling))
    assert original_seen[:-1] == sibling_seen[:-1] or original_seen == sibling_seen


async def test_the_next_turn_continues_the_visible_branch(upstream, thread):
    await turn(thread, "My name is John, please remember it.")
    original = await turn(thread, "Tell me a fact [[tokens:5]]")
    sibling = await regenerate(thread, original)
    after = await turn(thread, "And another one?")
    response = await response_of(after)
    assert response.previous_response_id == (await response_of(sibling)).response_id
    context = seen(upstream, response)
    # One answer to "Tell me a fact": the visible sibling's, not both.
    assert [role for role, _ in context].count("assistant") == 2


async def test_an_expired_response_id_is_rebuilt_locally(upstream, thread):
    first = await turn(thread, "My name is John, please remember it.")
    await database_sync_to_async(thread.refresh_from_db)()
    # Leave the Conversation's main line, and age the only usable response.
    await database_sync_to_async(Thread.objects.filter(pk=thread.pk).update)(
        conversation_tip=None
    )
    await database_sync_to_async(UpstreamResponse.objects.filter(message=first).update)(
        created_at=timezone.now() - timedelta(days=8)
    )
    second = await turn(thread, "Do you remember my name?")
    assert second.status == "completed"
    assert second.context_mode == "rebuilt"
    assert "John" in second.text


async def test_a_forgotten_conversation_is_recovered_without_error(upstream, thread):
    await turn(thread, "My name is John, please remember it.")
    await database_sync_to_async(thread.refresh_from_db)()
    upstream.state.forget(conversation_id=thread.conversation_id)
    second = await turn(thread, "Do you remember my name?")
    assert second.status == "completed"
    assert second.context_mode == "rebuilt"
    assert "John" in second.text


async def test_a_moderated_turn_does_not_poison_later_ones(upstream, thread):
    await turn(thread, "My name is John, please remember it.")
    flagged = await turn(thread, "[[fault:moderation]] something flagged")
    assert flagged.status == "failed"
    assert flagged.moderated
    later = await turn(thread, "Do you remember my name?")
    assert later.status == "completed"
    assert "John" in later.text
    texts = [text for _, text in seen(upstream, await response_of(later))]
    assert not any("flagged" in text for text in texts)

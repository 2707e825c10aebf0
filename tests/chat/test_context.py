"""How each turn continues upstream, checked against what the simulator saw."""

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from conversations import generation, services
from conversations.context import Mode, plan_context
from conversations.models import Message, Thread, UpstreamResponse
from tests import turns as tests_turns

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


async def test_a_first_reply_that_fails_still_gives_its_thread_the_conversation(
    upstream, thread
):
    # The Conversation is stored with the reply's end, whatever the end.
    flagged = await turn(thread, "[[fault:moderation]] something flagged")
    await database_sync_to_async(thread.refresh_from_db)()
    assert flagged.status == "failed"
    assert thread.conversation_id in upstream.state.conversations
    assert thread.conversation_tip_id is None
    later = await turn(thread, "Something else, then.")
    assert later.status == "completed"
    assert later.context_mode == "rebuilt"


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


async def edit(thread: Thread, message: Message, text: str) -> Message:
    sent = await database_sync_to_async(services.message_edit)(
        thread=thread, message=message, author=thread.owner, text=text
    )
    await generation.reply_start(sent.reply.pk, thread.pk)
    return await database_sync_to_async(Message.objects.get)(pk=sent.reply.pk)


async def switch(thread: Thread, message: Message) -> Thread:
    return await database_sync_to_async(services.thread_switch_branch)(
        thread=thread, message=message
    )


@pytest.fixture
async def colours(thread):
    """A thread of three turns; the second states a favourite colour."""
    await turn(thread, "My name is John, please remember it.")
    said_blue = await turn(thread, "My favourite colour is blue.")
    third = await turn(thread, "Tell me a fact [[tokens:5]]")
    user_blue = await database_sync_to_async(Message.objects.get)(
        pk=said_blue.parent_id
    )
    return user_blue, third


async def test_an_edit_branches_and_its_context_leaves_out_the_old_branch(
    upstream, thread, colours
):
    user_blue, _ = colours
    reply = await edit(thread, user_blue, "My favourite colour is green.")
    edited = await database_sync_to_async(Message.objects.get)(pk=reply.parent_id)
    assert edited.parent_id == user_blue.parent_id
    assert reply.status == "completed"
    texts = [text for _, text in seen(upstream, await response_of(reply))]
    assert any("John" in text for text in texts)
    assert any("green" in text for text in texts)
    assert not any("blue" in text or "fact" in text for text in texts)


async def test_switching_back_and_sending_continues_the_path_on_screen(
    upstream, thread, colours
):
    user_blue, third = colours
    await edit(thread, user_blue, "My favourite colour is green.")
    switched = await switch(thread, user_blue)
    # The original branch comes back as it was left: down to its last reply.
    assert switched.active_leaf_id == third.pk
    after = await turn(thread, "And one more thing?")
    texts = [text for _, text in seen(upstream, await response_of(after))]
    assert any("blue" in text for text in texts)
    assert any("fact" in text for text in texts)
    assert not any("green" in text for text in texts)


async def test_an_id_the_upstream_refuses_by_age_is_rebuilt_transparently(
    upstream, thread
):
    await turn(thread, "My name is John, please remember it.")
    original = await turn(thread, "Do you remember my name?")
    # Our clock says the parent's response id is fresh; the upstream's says it
    # expired a day ago, and it refuses the id.
    upstream.state.clock_offset = timedelta(days=8).total_seconds()
    sibling = await regenerate(thread, original)
    assert sibling.status == "completed"
    assert sibling.context_mode == "rebuilt"
    assert sibling.error_message == ""
    assert "John" in sibling.text
    record = upstream.state.responses[(await response_of(sibling)).response_id]
    assert record.previous_response_id in ("", None)


@pytest.mark.parametrize("enabled", [True, False])
async def test_the_session_cache_choice_is_sent_and_cached_tokens_recorded(
    upstream, thread, enabled
):
    await database_sync_to_async(Thread.objects.filter(pk=thread.pk).update)(
        session_cache=enabled
    )
    # A long first turn: the upstream caches prefixes of 1,024 tokens or more.
    long_text = "Please keep this context in mind. " * 400
    await turn(thread, long_text + "[[tokens:3]]")
    second = await turn(thread, "And now? [[tokens:3]]")
    response = await response_of(second)
    assert second.settings_used["session_cache"] is enabled
    assert (response.cached_tokens > 1000) is enabled


def _conversation_thread(owner, turns: int) -> Message:
    """A thread of `turns` turns along its Conversation, and a new send's reply."""
    thread = Thread.objects.create(owner=owner, conversation_id="conv_long")
    for n in range(turns):
        sent = services.message_send(thread=thread, author=owner, text=f"Q{n}")
        tests_turns.finish(sent, f"A{n}")
    thread.refresh_from_db()
    thread.conversation_tip_id = thread.active_leaf_id
    thread.save(update_fields=["conversation_tip"])
    sent = services.message_send(thread=thread, author=owner, text="And rivers?")
    return Message.objects.select_related("thread", "parent").get(pk=sent.reply.pk)


@pytest.mark.django_db
def test_a_turn_along_the_conversation_is_planned_without_reading_the_path(
    alice, django_assert_num_queries
):
    # Every send plans its reply: a long thread's path (thousands of messages
    # with their text) is read only when it is to be sent.
    short, long = _conversation_thread(alice, 2), _conversation_thread(alice, 40)
    with django_assert_num_queries(0):
        plans = [plan_context(short), plan_context(long)]
    assert [p.mode for p in plans] == [Mode.CONVERSATION, Mode.CONVERSATION]
    assert plans[1].input == "And rivers?"
    assert plans[1].conversation == "conv_long"

"""Markup of messages for websocket frames (conversations/frames.py)."""

from conversations import attachments, services
from conversations.frames import (
    messages_append_html,
    reply_final_html,
    turn_append_html,
)
from conversations.models import Message
from tests import turns


def _fresh(message: Message) -> Message:
    return Message.objects.select_related("thread", "parent").get(pk=message.pk)


def test_a_new_turn_renders_as_any_turn_without_a_query(
    thread, alice, django_assert_num_queries
):
    turns.finished_turn(thread, alice)
    sent = services.message_send(thread=thread, author=alice, text="Rivers?")
    # Every send renders one, queued on the database thread: what the queries
    # would find is known. A send continues from the path's leaf, so its
    # message has no siblings; it was sent with nothing attached; its reply
    # has no siblings and has called no tools.
    attachments.known_none(sent.user_message)
    with django_assert_num_queries(0):
        new = turn_append_html(sent.user_message, sent.reply)
    fresh = [_fresh(sent.user_message), _fresh(sent.reply)]
    # Each one's attachments and siblings, and the reply's tool calls.
    with django_assert_num_queries(5):
        general = messages_append_html(fresh)
    assert new == general
    assert 'data-status="streaming"' in new


def test_a_finished_reply_that_called_no_tools_renders_without_looking_for_them(
    thread, alice, django_assert_num_queries
):
    sent = turns.finished_turn(thread, alice, answer="Rivers run to the sea.")
    replies = [_fresh(sent.reply) for _ in range(3)]
    # Its place among its siblings is looked up; its tool calls are not.
    with django_assert_num_queries(1):
        known = reply_final_html(replies[0], no_tool_calls=True)
    # A sent reply is its message's only one: nothing to look up at all.
    with django_assert_num_queries(0):
        lone = reply_final_html(replies[1], no_tool_calls=True, lone=True)
    with django_assert_num_queries(2):
        looked_up = reply_final_html(replies[2])
    assert known == looked_up == lone
    assert "Rivers run to the sea." in known

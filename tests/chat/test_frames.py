"""Markup of messages for websocket frames (conversations/frames.py)."""

from conversations import services
from conversations.frames import (
    messages_append_html,
    reply_final_html,
    turn_append_html,
)
from conversations.models import Message
from tests import turns


def test_a_new_turn_renders_as_any_turn_with_two_queries_fewer(
    thread, alice, django_assert_num_queries
):
    turns.finished_turn(thread, alice)
    sent = services.message_send(thread=thread, author=alice, text="Rivers?")
    # The message's place among its siblings and its attachments are looked
    # up; the new reply's siblings and tool calls are known to be none.
    with django_assert_num_queries(2):
        new = turn_append_html(sent.user_message, sent.reply)
    with django_assert_num_queries(4):
        general = messages_append_html([sent.user_message, sent.reply])
    assert new == general
    assert 'data-status="streaming"' in new


def test_a_finished_reply_that_called_no_tools_renders_without_looking_for_them(
    thread, alice, django_assert_num_queries
):
    sent = turns.finished_turn(thread, alice, answer="Rivers run to the sea.")
    reply = Message.objects.select_related("thread", "parent").get(pk=sent.reply.pk)
    # Its place among its siblings is looked up; its tool calls are not.
    with django_assert_num_queries(1):
        known = reply_final_html(reply, no_tool_calls=True)
    with django_assert_num_queries(2):
        looked_up = reply_final_html(reply)
    assert known == looked_up
    assert "Rivers run to the sea." in known

"""How a reply continues its thread on the server side, or rebuilds context.

The main line of a thread continues its server-side Conversation; a reply
whose parent is not the Conversation's last turn (a regenerated reply, an edit,
a switched branch) continues from its parent's response by
`previous_response_id`; when neither is usable (past the 7-day horizon, a
failed or stopped parent, an upstream that forgot) the app sends the path it
stored itself, minus anything flagged by moderation.
"""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.utils import timezone

from conversations.models import Message, UpstreamResponse
from conversations.selectors import path_to

# Response ids live 7 days upstream; an hour's margin avoids racing the expiry.
RESPONSE_ID_HORIZON = timedelta(days=7) - timedelta(hours=1)

Mode = Message.ContextMode


@dataclass(frozen=True, slots=True)
class ContextPlan:
    mode: str
    input: str | list[dict[str, Any]]
    previous_response_id: str = ""
    conversation: str = ""
    create_conversation: bool = False


def _last_good_response(message: Message) -> UpstreamResponse | None:
    return (
        message.responses.filter(status="completed", api="responses")
        .exclude(response_id="")
        .order_by("-created_at", "-id")
        .first()
    )


def rebuilt_input(path: list[Message]) -> list[dict[str, Any]]:
    """The stored path as a message list; moderated and empty turns left out."""
    return [
        {"role": message.role, "content": message.text}
        for message in path
        if message.text and not message.moderated
    ]


def plan_context(reply: Message, *, rebuild: bool = False) -> ContextPlan:
    thread = reply.thread
    user_message = reply.parent
    assert user_message is not None, "a reply always answers a user message"
    prior_id = user_message.parent_id
    # Every send plans its reply: the stored path is loaded only to be sent.
    # A long thread's path is thousands of messages with their text.
    if not rebuild:
        if prior_id is None:
            return ContextPlan(
                Mode.NEW,
                user_message.text,
                create_conversation=not thread.conversation_id,
            )
        if thread.conversation_id and thread.conversation_tip_id == prior_id:
            return ContextPlan(
                Mode.CONVERSATION,
                user_message.text,
                conversation=thread.conversation_id,
            )
        prior = user_message.parent
        if prior.status == Message.Status.COMPLETED and not prior.moderated:
            response = _last_good_response(prior)
            if response and timezone.now() - response.created_at < RESPONSE_ID_HORIZON:
                return ContextPlan(
                    Mode.PREVIOUS_RESPONSE,
                    user_message.text,
                    previous_response_id=response.response_id,
                )
    path = path_to(thread.pk, user_message.pk)
    return ContextPlan(Mode.REBUILT, rebuilt_input(path))


# Sent after the cut text: the Responses API has no "continue this message"
# mode, so the model is asked in words, with the cut text as its own turn.
CONTINUE_PROMPT = (
    "Your previous answer was cut off. Continue it exactly where it stopped, "
    "without repeating anything already written and without any preamble."
)


def plan_continuation(reply: Message) -> ContextPlan:
    """Context for continuing a cut reply: the stored path, its kept text, a nudge.

    Always rebuilt: the cut response never completed upstream, so neither its
    id nor the Conversation holds the text the reader saw.
    """
    user_message = reply.parent
    assert user_message is not None, "a reply always answers a user message"
    path = path_to(reply.thread_id, user_message.pk)
    messages = rebuilt_input(path)
    messages.append({"role": "assistant", "content": reply.text})
    messages.append({"role": "user", "content": CONTINUE_PROMPT})
    return ContextPlan(Mode.REBUILT, messages)

"""HTML for messages: one template for the page and for websocket frames,
so what a live viewer sees and what a reload shows are the same markup."""

from django.conf import settings
from django.template.loader import render_to_string

from conversations.live import live_reply
from conversations.models import Message
from conversations.rendering import StreamingMarkdown
from conversations.selectors import Branch, branch_of
from conversations.services import reply_is_continuable
from conversations.toolcards import tool_cards_for

LONE = Branch(index=1, count=1, prev_id=None, next_id=None)


def message_context(
    message: Message, *, new_reply: bool = False, no_tool_calls: bool = False
) -> dict:
    # Paths from the selectors carry their branch; a lone message looks it
    # up, but a reply just created is its message's only answer.
    branch = getattr(message, "branch", None) or (
        LONE if new_reply else branch_of(message)
    )
    context: dict = {
        "m": message,
        "streaming": message.status == Message.Status.STREAMING,
        "branch": branch if branch.count > 1 else None,
        "max_chars": settings.CHAT_MAX_MESSAGE_CHARS,
        "continuable": reply_is_continuable(message),
    }
    if message.role == Message.Role.ASSISTANT:
        live_now = live_reply(message.pk)
        # A reply not yet started has called no tools.
        context["tool_cards"] = (
            []
            if new_reply or no_tool_calls
            else tool_cards_for(message, live_text=live_now.text if live_now else "")
        )
    if context["streaming"]:
        live = live_reply(message.pk)
        if live is not None:
            context.update(
                stable=live.stable_html,
                tail=live.tail_html,
                seq=live.seq,
                stable_n=live.stable_n,
            )
        else:
            frame = StreamingMarkdown().feed(message.text)
            context.update(
                stable=frame.stable_html, tail=frame.tail_html, seq=0, stable_n=0
            )
    return context


def message_html(
    message: Message,
    *,
    oob: bool = False,
    new_reply: bool = False,
    no_tool_calls: bool = False,
) -> str:
    context = message_context(message, new_reply=new_reply, no_tool_calls=no_tool_calls)
    context["oob"] = oob
    return render_to_string("conversations/_message.html", context)


def messages_append_html(messages: list[Message]) -> str:
    return _appended("".join(message_html(m) for m in messages))


def turn_append_html(message: Message, reply: Message) -> str:
    """A turn just sent, its reply not yet started: what the queries for
    their siblings and the reply's tool calls would find is known (every send
    renders one, and they queue on the database thread). A send continues
    from the path's leaf, so its message is the leaf's only child."""
    message.branch = LONE
    return _appended(message_html(message) + message_html(reply, new_reply=True))


def _appended(body: str) -> str:
    return f'<div id="messages" hx-swap-oob="beforeend">{body}</div>'


def messages_replace_html(messages: list[Message]) -> str:
    body = "".join(message_html(m) for m in messages)
    return f'<div id="messages" hx-swap-oob="innerHTML">{body}</div>'


def reply_final_html(
    reply: Message, *, no_tool_calls: bool = False, lone: bool = False
) -> str:
    """`no_tool_calls`: the generation knows the reply called none (most
    replies: every one ending queued a query for them); `lone`: it knows the
    reply has no siblings (`LiveReply.lone`)."""
    if lone:
        reply.branch = LONE
    return message_html(reply, oob=True, no_tool_calls=no_tool_calls)


def composer_error_html(text: str) -> str:
    return render_to_string("conversations/_composer_error.html", {"error": text})

"""HTML for tool-call cards: one template for pages and live updates alike."""

from django.template.loader import render_to_string

from conversations.models import Message, ToolCall

# Tool cards stay open while the model works, and fold once the answer starts.


def tool_card_html(
    call: ToolCall,
    *,
    streaming_text: bool,
    live_text: str | None = None,
    oob: bool = False,
    reply_streaming: bool = True,
) -> str:
    return render_to_string(
        "conversations/_tool_call.html",
        {
            "call": call,
            "text": live_text if live_text is not None else call.output,
            "open": reply_streaming and not streaming_text,
            "oob": oob,
        },
    )


def tool_cards_append_html(reply_id: int, card_html: str) -> str:
    return f'<div id="tools-{reply_id}" hx-swap-oob="beforeend">{card_html}</div>'


def tool_cards_for(message: Message, *, live_text: str = "") -> list[str]:
    """The cards of a reply as a page shows them (mid-reply included)."""
    # Imported here: agent imports this module.
    from conversations.agent import live_reasoning

    streaming = message.status == Message.Status.STREAMING
    texts = live_reasoning.get(message.pk, {}) if streaming else {}
    return [
        tool_card_html(
            call,
            streaming_text=bool(message.text or live_text),
            live_text=texts.get(call.position),
            reply_streaming=streaming,
        )
        for call in message.tool_calls.all()
    ]

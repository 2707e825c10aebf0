"""Turns stored directly, for tests that need a thread's history but no generation."""

from conversations import services


def finished_turn(
    thread, author, *, text: str = "Hello there", answer: str = "General Kenobi."
) -> services.Sent:
    sent = services.message_send(thread=thread, author=author, text=text)
    finish(sent, answer)
    return sent


def finish(sent: services.Sent, answer: str) -> None:
    """End the turn's reply as completed with `answer`."""
    services.reply_finish(
        reply_id=sent.reply.pk,
        text=answer,
        status="completed",
        first_token_at=None,
        context_mode="new",
        responses=[],
    )

"""Usage histories made by hand: replies with known tokens at known times."""

from datetime import datetime

from django.utils import timezone

from conversations.models import Message, Thread, UpstreamResponse


def at(day: int, hour: int = 12) -> datetime:
    return timezone.make_aware(datetime(2025, 3, day, hour))


def turn(
    thread: Thread,
    *,
    author=None,
    when: datetime,
    model: str = "qwen3-max",
    text: str = "question",
    input: int = 0,
    output: int = 0,
    reasoning: int = 0,
    cached: int = 0,
    parent: Message | None = None,
    status: str = "completed",
) -> Message:
    """A user message and its reply with one upstream response, dated `when`."""
    question = Message.objects.create(
        thread=thread,
        parent=parent,
        role="user",
        author=author or thread.owner,
        text=text,
    )
    reply = Message.objects.create(
        thread=thread, parent=question, role="assistant", text="answer", status=status
    )
    response = UpstreamResponse.objects.create(
        message=reply,
        # As services.reply_finish charges it: to who asked.
        user=question.author,
        response_id=f"resp_{reply.pk}",
        model=model,
        status="completed",
        input_tokens=input,
        output_tokens=output,
        reasoning_tokens=reasoning,
        cached_tokens=cached,
        total_tokens=input + output,
    )
    # auto_now_add fields are set on insert; the history needs its own dates.
    Message.objects.filter(pk__in=[question.pk, reply.pk]).update(created_at=when)
    UpstreamResponse.objects.filter(pk=response.pk).update(created_at=when)
    Thread.objects.filter(pk=thread.pk).update(last_activity_at=when, active_leaf=reply)
    return reply

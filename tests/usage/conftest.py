"""Hand-made usage histories: replies with known tokens at known times."""

from datetime import datetime
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from conversations.models import Message, ModelPrice, Thread, UpstreamResponse


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


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_user(
        "olivia", password="olivia-pass-123", is_staff=True, is_superuser=True
    )


@pytest.fixture
def staff_client(staff) -> Client:
    client = Client()
    client.force_login(staff)
    return client


@pytest.fixture
def prices(db):
    """qwen3-max: 1.2 in / 6 out / 0.24 cached; qwen-plus: 0.4 in / 1.2 out / 4 reasoning."""
    return [
        ModelPrice.objects.create(
            model="qwen3-max",
            input_per_million=Decimal("1.2"),
            output_per_million=Decimal("6"),
            cached_input_per_million=Decimal("0.24"),
        ),
        ModelPrice.objects.create(
            model="qwen-plus",
            input_per_million=Decimal("0.4"),
            output_per_million=Decimal("1.2"),
            reasoning_per_million=Decimal("4"),
        ),
    ]


@pytest.fixture
def history(alice, bob, prices):
    """Two users, three threads, four replies over three days of March 2025.

    Hand-computed (tokens; cost = per-million prices above):
      r1 alice  qwen3-max  Nov 3: in 1000 (200 cached), out 500       -> 1500
         cost (800*1.2 + 200*0.24 + 500*6)/1e6 = 0.004008
      r2 alice  qwen-plus  Nov 3: in 2000, out 1000 (600 reasoning)   -> 3000
         cost (2000*0.4 + 400*1.2 + 600*4)/1e6 = 0.00368
      r3 bob    qwen3-max  Nov 4: in 400, out 100                     -> 500
         cost (400*1.2 + 100*6)/1e6 = 0.00108
      r4 bob    qwen-flash Nov 5: in 10000, out 10000 (no price)      -> 20000
         cost 0
    """
    a1 = Thread.objects.create(owner=alice, title="Rivers of Europe", model="qwen3-max")
    a2 = Thread.objects.create(owner=alice, title="Thinking hard", model="qwen-plus")
    b1 = Thread.objects.create(owner=bob, title="Bob's notes", model="qwen3-max")
    return {
        "threads": (a1, a2, b1),
        "r1": turn(a1, when=at(3), input=1000, cached=200, output=500),
        "r2": turn(a2, when=at(3, 15), model="qwen-plus", input=2000, output=1000, reasoning=600, text="the Danube delta"),
        "r3": turn(b1, when=at(4), input=400, output=100),
        "r4": turn(b1, when=at(5), model="qwen-flash", input=10000, output=10000),
    }

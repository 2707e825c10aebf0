"""Token budgets: checked before the upstream is called, through the real socket."""

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from conversations import quotas, services
from conversations.models import Message, Thread, UserQuota
from tests.usage.factories import turn

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("upstream", "idle_generations"),
]


@sync_to_async
def spend(user, tokens: int, *, when=None) -> None:
    thread = Thread.objects.create(owner=user, title="earlier", model="qwen3-max")
    turn(
        thread,
        when=when or timezone.now(),
        input=tokens - tokens // 2,
        output=tokens // 2,
    )


@sync_to_async
def turns_of(thread) -> list[Message]:
    return list(thread.messages.order_by("created_at", "id"))


@pytest.fixture
def fresh_thread(alice):
    return services.thread_create(owner=alice)


async def test_a_user_over_the_daily_budget_is_told_and_nothing_goes_upstream(
    connect, fresh_thread, alice, upstream
):
    await UserQuota.objects.acreate(user=alice, daily_tokens=1000)
    await spend(alice, 1200)
    upstream.state.requests.clear()
    viewer = await connect(alice, fresh_thread)
    await viewer.send(action="send", message="One more question", client_id="q1")
    final = await viewer.until_final()
    question, reply = await turns_of(fresh_thread)
    assert question.text == "One more question"
    assert reply.status == "failed"
    assert reply.error_category == "quota"
    assert reply.error_message == quotas.QUOTA_EXCEEDED.format(
        used=1200, limit=1000, period="daily", renews="at midnight"
    )
    assert "You have used 1,200 of your 1,000 daily tokens" in final
    assert list(upstream.state.requests) == []
    assert await reply.responses.acount() == 0


async def test_the_monthly_budget_counts_earlier_days_of_the_month(
    connect, fresh_thread, alice, upstream
):
    await UserQuota.objects.acreate(user=alice, daily_tokens=10_000, monthly_tokens=500)
    _, month_start = quotas.period_starts()
    # Earlier this month (today too, on the 1st: either way within the month).
    await spend(alice, 600, when=month_start + timezone.timedelta(minutes=1))
    upstream.state.requests.clear()
    viewer = await connect(alice, fresh_thread)
    await viewer.send(action="send", message="Still there?", client_id="q1")
    await viewer.until_final()
    _, reply = await turns_of(fresh_thread)
    assert reply.error_category == "quota"
    assert "of your 500 monthly tokens" in reply.error_message
    assert list(upstream.state.requests) == []


async def test_usage_before_today_does_not_count_against_the_daily_budget(
    connect, fresh_thread, alice
):
    await UserQuota.objects.acreate(user=alice, daily_tokens=1000)
    day_start, _ = quotas.period_starts()
    await spend(alice, 5000, when=day_start - timezone.timedelta(minutes=1))
    viewer = await connect(alice, fresh_thread)
    await viewer.send(action="send", message="Hello again", client_id="q1")
    await viewer.until_final()
    _, reply = await turns_of(fresh_thread)
    assert reply.status == "completed"
    assert await reply.responses.acount() == 1


async def test_a_user_without_a_quota_or_under_it_is_answered(
    connect, fresh_thread, alice, bob
):
    await UserQuota.objects.acreate(user=alice, daily_tokens=1000)
    await spend(alice, 900)
    # Someone else's spending is theirs.
    await spend(bob, 50_000)
    viewer = await connect(alice, fresh_thread)
    await viewer.send(action="send", message="Under budget", client_id="q1")
    await viewer.until_final()
    _, reply = await turns_of(fresh_thread)
    assert reply.status == "completed"


async def test_regenerate_over_budget_is_refused_too(
    connect, fresh_thread, alice, upstream
):
    viewer = await connect(alice, fresh_thread)
    await viewer.send(action="send", message="First", client_id="q1")
    await viewer.until_final()
    _, first = await turns_of(fresh_thread)
    await UserQuota.objects.acreate(user=alice, daily_tokens=1)
    upstream.state.requests.clear()
    await viewer.send(action="regenerate", reply=first.pk)
    await viewer.until_final()
    replies = [m for m in await turns_of(fresh_thread) if m.role == "assistant"]
    assert [r.status for r in replies] == ["completed", "failed"]
    assert replies[1].error_category == "quota"
    assert list(upstream.state.requests) == []

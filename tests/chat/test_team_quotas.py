"""Team token budgets: a shared thread's turn is checked against its team's budget.

Through the real socket and the simulator, as tests/chat/test_quotas.py does
for a user's own budget. alice owns the team "Hydrology" and a thread shared
with it; bob is a member who posts there.
"""

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from conversations import quotas, services
from conversations.models import Membership, Message, Team, TeamQuota, Thread
from tests.usage.factories import turn

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("upstream", "idle_generations"),
]


@pytest.fixture
def team(alice, bob):
    team = Team.objects.create(name="Hydrology", created_by=alice)
    Membership.objects.create(team=team, user=alice, role=Membership.Role.OWNER)
    Membership.objects.create(team=team, user=bob, role=Membership.Role.MEMBER)
    return team


@pytest.fixture
def shared_thread(alice, team):
    thread = services.thread_create(owner=alice)
    Thread.objects.filter(pk=thread.pk).update(team=team)
    thread.refresh_from_db()
    return thread


@sync_to_async
def spend_in(thread: Thread, author, tokens: int, *, when=None) -> None:
    """An earlier turn of `author` in `thread` that used `tokens`."""
    turn(
        thread,
        author=author,
        when=when or timezone.now(),
        input=tokens - tokens // 2,
        output=tokens // 2,
    )


@sync_to_async
def earlier_shared_thread(alice, team) -> Thread:
    return Thread.objects.create(
        owner=alice, title="earlier", model="qwen3-max", team=team
    )


@sync_to_async
def turns_of(thread) -> list[Message]:
    return list(thread.messages.order_by("created_at", "id"))


async def test_a_team_over_its_daily_budget_refuses_a_teammates_turn(
    connect, shared_thread, team, alice, bob, upstream
):
    await TeamQuota.objects.acreate(team=team, daily_tokens=1000)
    # alice's turns in another of the team's threads count against the team.
    await spend_in(await earlier_shared_thread(alice, team), alice, 1200)
    upstream.state.requests.clear()
    viewer = await connect(bob, shared_thread)
    assert viewer.connected
    await viewer.send(action="send", message="Can the team ask more?", client_id="q1")
    final = await viewer.until_final()
    question, reply = await turns_of(shared_thread)
    # bob's message is kept; the reply says why it was not written.
    assert (question.text, question.author_id) == ("Can the team ask more?", bob.pk)
    assert reply.status == "failed"
    assert reply.error_category == "quota"
    assert reply.error_message == quotas.TEAM_QUOTA_EXCEEDED.format(
        team="Hydrology", used=1200, limit=1000, period="daily", renews="at midnight"
    )
    assert "The team \u201cHydrology\u201d has used 1,200 of its 1,000 daily" in final
    assert list(upstream.state.requests) == []
    assert await reply.responses.acount() == 0


async def test_a_private_thread_of_the_same_user_is_not_affected(
    connect, team, alice, bob, upstream
):
    await TeamQuota.objects.acreate(team=team, daily_tokens=1000)
    await spend_in(await earlier_shared_thread(alice, team), bob, 5000)
    private = await sync_to_async(services.thread_create)(owner=bob)
    upstream.state.requests.clear()
    viewer = await connect(bob, private)
    await viewer.send(action="send", message="Just for me", client_id="q1")
    await viewer.until_final()
    _, reply = await turns_of(private)
    assert reply.status == "completed"
    assert await reply.responses.acount() == 1
    assert len(upstream.state.requests) >= 1


async def test_a_team_under_its_budget_is_answered(
    connect, shared_thread, team, alice, bob
):
    await TeamQuota.objects.acreate(team=team, daily_tokens=1000, monthly_tokens=2000)
    await spend_in(await earlier_shared_thread(alice, team), alice, 900)
    # Usage outside the team's threads is not the team's.
    await spend_in(
        await sync_to_async(Thread.objects.create)(
            owner=bob, title="mine", model="qwen3-max"
        ),
        bob,
        50_000,
    )
    viewer = await connect(bob, shared_thread)
    await viewer.send(action="send", message="Under budget", client_id="q1")
    await viewer.until_final()
    _, reply = await turns_of(shared_thread)
    assert reply.status == "completed"


async def test_the_team_monthly_budget_counts_earlier_days_of_the_month(
    connect, shared_thread, team, alice, bob, upstream
):
    await TeamQuota.objects.acreate(team=team, daily_tokens=10_000, monthly_tokens=500)
    _, month_start = quotas.period_starts()
    await spend_in(
        await earlier_shared_thread(alice, team),
        alice,
        600,
        when=month_start + timezone.timedelta(minutes=1),
    )
    upstream.state.requests.clear()
    viewer = await connect(bob, shared_thread)
    await viewer.send(action="send", message="Still there?", client_id="q1")
    await viewer.until_final()
    _, reply = await turns_of(shared_thread)
    assert reply.error_category == "quota"
    assert "of its 500 monthly tokens" in reply.error_message
    assert list(upstream.state.requests) == []

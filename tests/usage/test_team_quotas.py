"""Team budgets for operators: the near-limit list and the TeamQuota admin."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from conversations.models import Team, TeamQuota, Thread, UserQuota

from .factories import at, turn

pytestmark = pytest.mark.django_db

DASHBOARD = "/admin/usage/"
TEAM_QUOTAS = reverse("admin:conversations_teamquota_changelist")


def team_with_usage(name: str, owner, *, today: int, earlier: int = 0) -> Team:
    """A team whose shared thread used `today` tokens today, `earlier` on the 1st.

    The earlier turn is dated the first of this month, before today when today
    is not the 1st; either way inside the month.
    """
    team = Team.objects.create(name=name, created_by=owner)
    thread = Thread.objects.create(
        owner=owner, title=f"{name} notes", model="qwen3-max", team=team
    )
    now = timezone.localtime()
    if today:
        turn(thread, when=now, input=today - today // 2, output=today // 2)
    if earlier:
        first = now.replace(day=1, hour=0, minute=1, second=0, microsecond=0)
        turn(thread, when=first, input=earlier - earlier // 2, output=earlier // 2)
    return team


def test_teams_near_their_budget_are_listed_on_the_dashboard(staff_client, alice, bob):
    hydrology = team_with_usage("Hydrology", alice, today=900)
    TeamQuota.objects.create(team=hydrology, daily_tokens=1000)
    # Far from its budget: not listed.
    geology = team_with_usage("Geology", bob, today=100)
    TeamQuota.objects.create(team=geology, daily_tokens=1000, monthly_tokens=10_000)
    # alice asked Hydrology's turn, so it is hers too: 900 of her 2000 is not
    # near her own budget.
    UserQuota.objects.create(user=alice, daily_tokens=2000)
    response = staff_client.get(DASHBOARD)
    near = response.context["near_limit"]
    assert [
        (q.kind, q.username, q.period, q.used, q.limit, q.percent) for q in near
    ] == [
        ("team", "Hydrology", "daily", 900, 1000, 90),
    ]
    html = response.content.decode()
    assert (
        '<tr data-kind="team" data-key="team:Hydrology">'
        '<th scope="row">Hydrology (team)</th><td>daily</td><td>900</td>'
        "<td>1,000</td><td>90%</td></tr>"
    ) in html
    assert 'data-key="team:Geology"' not in html


def test_users_and_teams_are_listed_together_fullest_first(staff_client, alice, bob):
    TeamQuota.objects.create(
        team=team_with_usage("Hydrology", alice, today=850), monthly_tokens=1000
    )
    thread = Thread.objects.create(owner=bob, title="bob's", model="qwen3-max")
    turn(thread, when=timezone.now(), input=500, output=450)
    UserQuota.objects.create(user=bob, daily_tokens=1000)
    near = staff_client.get(DASHBOARD).context["near_limit"]
    assert [(q.kind, q.username, q.period, q.percent) for q in near] == [
        ("user", "bob", "daily", 95),
        ("team", "Hydrology", "monthly", 85),
    ]


def test_the_team_quota_admin_shows_used_today_and_this_month(staff_client, alice):
    today = timezone.localdate()
    earlier = 0 if today.day == 1 else 300
    team = team_with_usage("Hydrology", alice, today=400, earlier=earlier)
    # Other teams' usage and earlier months' are not this team's this month.
    other = team_with_usage("Geology", alice, today=7000)
    old = Thread.objects.create(owner=alice, title="old", model="qwen3-max", team=team)
    turn(old, when=at(3), input=5000, output=5000)  # March 2025
    TeamQuota.objects.create(team=team, daily_tokens=1000, monthly_tokens=50_000)
    TeamQuota.objects.create(team=other)
    response = staff_client.get(TEAM_QUOTAS)
    assert response.status_code == 200
    rows = {q.team.name: q for q in response.context["cl"].result_list}
    assert (rows["Hydrology"].used_today, rows["Hydrology"].used_this_month) == (
        400,
        400 + earlier,
    )
    assert (rows["Geology"].used_today, rows["Geology"].used_this_month) == (
        7000,
        7000,
    )
    html = response.content.decode()
    assert '<td class="field-used_today">400</td>' in html


def test_the_team_quota_admin_costs_the_same_queries_for_more_teams(
    staff_client, alice, django_assert_num_queries
):
    TeamQuota.objects.create(
        team=team_with_usage("Hydrology", alice, today=10), daily_tokens=5
    )
    staff_client.get(TEAM_QUOTAS)
    with CaptureQueriesContext(connection) as few:
        staff_client.get(TEAM_QUOTAS)
    for i in range(8):
        team = team_with_usage(f"Team {i}", alice, today=10 + i, earlier=5)
        TeamQuota.objects.create(team=team, daily_tokens=5, monthly_tokens=100)
    with django_assert_num_queries(len(few)):
        response = staff_client.get(TEAM_QUOTAS)
    assert len(response.context["cl"].result_list) == 9


def test_the_dashboard_costs_the_same_queries_for_more_team_quotas(
    staff_client, alice, django_assert_num_queries
):
    TeamQuota.objects.create(
        team=team_with_usage("Hydrology", alice, today=10), daily_tokens=5
    )
    staff_client.get(DASHBOARD)
    with CaptureQueriesContext(connection) as few:
        staff_client.get(DASHBOARD)
    for i in range(8):
        team = team_with_usage(f"Team {i}", alice, today=10 + i)
        TeamQuota.objects.create(team=team, daily_tokens=5)
    with django_assert_num_queries(len(few)):
        response = staff_client.get(DASHBOARD)
    assert len(response.context["near_limit"]) == 9
